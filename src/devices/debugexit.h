/* SPDX-License-Identifier: MIT */
/* devices/debugexit.h - an exit device compatible with QEMU's isa-debug-exit (port 0xf4). */
#ifndef KVMRUN_DEVICES_DEBUGEXIT_H
#define KVMRUN_DEVICES_DEBUGEXIT_H

#include "kvmrun.h"

/* QEMU's defaults for -device isa-debug-exit: iobase 0xf4, iosize 4. */
#define KR_DEBUGEXIT_PORT 0xf4
#define KR_DEBUGEXIT_SIZE 4

int kr_debugexit_register(struct kr_vm *vm);

#endif
