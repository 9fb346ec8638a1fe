/* SPDX-License-Identifier: MIT */
/* devices/i8042.h - the keyboard controller's reset line (ports 0x60, 0x64). */
#ifndef KVMRUN_DEVICES_I8042_H
#define KVMRUN_DEVICES_I8042_H

#include "kvmrun.h"

#define KR_I8042_DATA_PORT 0x60
#define KR_I8042_COMMAND_PORT 0x64
#define KR_I8042_CMD_RESET 0xfe /* pulse the output port's bit 0: the CPU reset line */

/* Status register: the self test passed (SYS), keyboard not inhibited; no data, input empty. */
#define KR_I8042_STATUS_SYS 0x04
#define KR_I8042_STATUS_UNLOCKED 0x10
#define KR_I8042_STATUS (KR_I8042_STATUS_SYS | KR_I8042_STATUS_UNLOCKED)

int kr_i8042_register(struct kr_vm *vm);

#endif
