/* SPDX-License-Identifier: MIT */
/* devices/i8042.h - the PS/2 keyboard controller, with no keyboard or mouse behind it (0x60, 0x64).
 */
#ifndef KVMRUN_DEVICES_I8042_H
#define KVMRUN_DEVICES_I8042_H

#include "kvmrun.h"

#define KR_I8042_DATA_PORT 0x60
#define KR_I8042_COMMAND_PORT 0x64
#define KR_I8042_KBD_IRQ 1
#define KR_I8042_AUX_IRQ 12

/* Status register (port 0x64, read). */
#define KR_I8042_STR_OBF 0x01	   /* a byte waits in the output buffer */
#define KR_I8042_STR_IBF 0x02	   /* never set: a write is taken at once */
#define KR_I8042_STR_SYS 0x04	   /* the system flag, CTR bit 2 */
#define KR_I8042_STR_CMD 0x08	   /* the last write was to the command port */
#define KR_I8042_STR_UNLOCKED 0x10 /* keyboard not inhibited (no key lock) */
#define KR_I8042_STR_AUXDATA 0x20  /* the byte came from the AUX (mouse) port */
#define KR_I8042_STR_TIMEOUT 0x40  /* the device did not answer a byte sent to it */

/* Controller configuration byte (CTR, internal RAM byte 0). */
#define KR_I8042_CTR_KBDINT 0x01
#define KR_I8042_CTR_AUXINT 0x02
#define KR_I8042_CTR_SYS 0x04
#define KR_I8042_CTR_KBDDIS 0x10
#define KR_I8042_CTR_AUXDIS 0x20
#define KR_I8042_CTR_XLATE 0x40
/* As firmware leaves it: self test passed, scan code translation, interrupts off. */
#define KR_I8042_CTR_INIT (KR_I8042_CTR_SYS | KR_I8042_CTR_XLATE)

/* Commands (port 0x64). */
#define KR_I8042_CMD_READ_RAM 0x20  /* 0x20..0x3f: internal RAM byte n; byte 0 is the CTR */
#define KR_I8042_CMD_WRITE_RAM 0x60 /* 0x60..0x7f: the next data byte into RAM byte n */
#define KR_I8042_CMD_AUX_DISABLE 0xa7
#define KR_I8042_CMD_AUX_ENABLE 0xa8
#define KR_I8042_CMD_AUX_TEST 0xa9
#define KR_I8042_CMD_SELF_TEST 0xaa
#define KR_I8042_CMD_KBD_TEST 0xab
#define KR_I8042_CMD_KBD_DISABLE 0xad
#define KR_I8042_CMD_KBD_ENABLE 0xae
#define KR_I8042_CMD_READ_OUTPUT 0xd0
#define KR_I8042_CMD_WRITE_OUTPUT 0xd1
#define KR_I8042_CMD_KBD_LOOP 0xd2 /* the next data byte comes back as from the keyboard */
#define KR_I8042_CMD_AUX_LOOP 0xd3 /* ... as from the mouse */
#define KR_I8042_CMD_AUX_SEND 0xd4 /* the next data byte goes to the mouse */
#define KR_I8042_CMD_RESET 0xfe	   /* pulse the output port's bit 0: the CPU reset line */

#define KR_I8042_SELF_TEST_OK 0x55
/* Interface test result for a port with nothing plugged in: the pulled-up clock line reads high. */
#define KR_I8042_PORT_EMPTY 0x02
/* What the controller hands back for a byte no device took (after its transmit time-out). */
#define KR_I8042_NO_DEVICE 0xfe
/* Output port: bit 0 the CPU reset line (low resets), bit 1 the A20 gate. */
#define KR_I8042_OUTPUT_INIT 0x03

int kr_i8042_register(struct kr_vm *vm);
/* Snapshots: whether saved state (from a file) makes sense, -1 naming why not. */
int kr_i8042_check_state(const void *buf, size_t len);
/* The interrupt lines the controller drives: bit KR_I8042_KBD_IRQ and bit KR_I8042_AUX_IRQ. */
unsigned kr_i8042_irq_lines(struct kr_vm *vm);

#endif
