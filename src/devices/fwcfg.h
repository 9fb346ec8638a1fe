/* SPDX-License-Identifier: MIT */
/* devices/fwcfg.h - QEMU's fw_cfg device, legacy I/O interface (ports 0x510, 0x511). */
#ifndef KVMRUN_DEVICES_FWCFG_H
#define KVMRUN_DEVICES_FWCFG_H

#include "kvmrun.h"

#define KR_FWCFG_PORT_SELECTOR 0x510
#define KR_FWCFG_PORT_DATA 0x511

/* Create the device: signature, ID, RAM size and CPU count of this VM; every other key reads zeros. */
int kr_fwcfg_register(struct kr_vm *vm);
/* Snapshots: whether saved state (from a file) makes sense, -1 naming why not. */
int kr_fwcfg_check_state(const void *buf, size_t len);

#endif
