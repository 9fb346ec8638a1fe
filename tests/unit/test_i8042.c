/* SPDX-License-Identifier: MIT */
/* test_i8042.c - the keyboard controller (no keyboard, no mouse), and port 0x80. */
#include <string.h>

#include "devices/i8042.h"
#include "devices/postcode.h"
#include "fake_io.h"

static uint8_t status(struct kr_vm *vm)
{
	return (uint8_t)io_in(vm, KR_I8042_COMMAND_PORT, 1);
}

/* A command with no data byte, then the one byte it answers (OBF must be set). */
static uint8_t ask(struct kr_vm *vm, uint8_t cmd)
{
	io_out(vm, KR_I8042_COMMAND_PORT, 1, cmd);
	CHECK(status(vm) & KR_I8042_STR_OBF);
	return (uint8_t)io_in(vm, KR_I8042_DATA_PORT, 1);
}

static void cmd_with_data(struct kr_vm *vm, uint8_t cmd, uint8_t data)
{
	io_out(vm, KR_I8042_COMMAND_PORT, 1, cmd);
	io_out(vm, KR_I8042_DATA_PORT, 1, data);
}

UNIT_TEST(i8042_reset_command_stops_with_reset)
{
	struct kr_vm *vm = io_vm_new();
	/* What Linux does: wait for an empty input buffer, then 0xfe. */
	CHECK_EQ(status(vm), KR_I8042_STR_SYS | KR_I8042_STR_UNLOCKED);
	io_out(vm, KR_I8042_COMMAND_PORT, 1, KR_I8042_CMD_KBD_DISABLE);
	io_out(vm, KR_I8042_DATA_PORT, 1, 0xfe);    /* 0xfe as data is no reset */
	io_out(vm, KR_I8042_COMMAND_PORT, 1, 0xff); /* pulses no line */
	CHECK(!vm->stop_requested);
	io_out(vm, KR_I8042_COMMAND_PORT, 1, KR_I8042_CMD_RESET);
	CHECK(vm->stop_requested);
	CHECK_EQ(vm->pending_stop.reason, KR_STOP_RESET);
	CHECK(strstr(vm->pending_stop.message,
		     "guest requested a reset (0xfe to the keyboard controller, port 0x64)"));
	CHECK(strcmp(kr_stop_reason_name(KR_STOP_RESET), "reset") == 0);
	io_vm_free(vm);
}

UNIT_TEST(i8042_output_port_bit0_clear_resets)
{
	struct kr_vm *vm = io_vm_new();
	CHECK_EQ(ask(vm, KR_I8042_CMD_READ_OUTPUT), KR_I8042_OUTPUT_INIT);
	cmd_with_data(vm, KR_I8042_CMD_WRITE_OUTPUT, 0x03); /* A20 on, reset line high */
	CHECK(!vm->stop_requested);
	CHECK_EQ(ask(vm, KR_I8042_CMD_READ_OUTPUT), 0x03);
	cmd_with_data(vm, KR_I8042_CMD_WRITE_OUTPUT, 0x02);
	CHECK(vm->stop_requested);
	CHECK_EQ(vm->pending_stop.reason, KR_STOP_RESET);
	CHECK(strstr(vm->pending_stop.message, "output port 0x02"));
	io_vm_free(vm);

	vm = io_vm_new();
	io_out(vm, KR_I8042_COMMAND_PORT, 1, 0xf0); /* pulse every line: bit 0 too */
	CHECK_EQ(vm->pending_stop.reason, KR_STOP_RESET);
	io_vm_free(vm);
}

/* What Linux's i8042 driver asks at boot, and the answers that make it go on at once. */
UNIT_TEST(i8042_configuration_byte_self_test_and_port_enables)
{
	struct kr_vm *vm = io_vm_new();
	CHECK_EQ(ask(vm, KR_I8042_CMD_READ_RAM), KR_I8042_CTR_INIT);
	CHECK_EQ(status(vm) & KR_I8042_STR_OBF, 0);		       /* the read took the byte */
	CHECK_EQ(io_in(vm, KR_I8042_DATA_PORT, 1), KR_I8042_CTR_INIT); /* again: the last byte */
	cmd_with_data(vm, KR_I8042_CMD_WRITE_RAM, 0x56);
	CHECK_EQ(status(vm) & KR_I8042_STR_OBF, 0);
	CHECK_EQ(ask(vm, KR_I8042_CMD_READ_RAM), 0x56);
	CHECK_EQ(status(vm) & KR_I8042_STR_SYS, KR_I8042_STR_SYS); /* CTR bit 2 */
	cmd_with_data(vm, KR_I8042_CMD_WRITE_RAM, 0);
	CHECK_EQ(status(vm) & KR_I8042_STR_SYS, 0);
	/* Other RAM bytes. */
	cmd_with_data(vm, KR_I8042_CMD_WRITE_RAM + 31, 0x77);
	CHECK_EQ(ask(vm, KR_I8042_CMD_READ_RAM + 31), 0x77);
	CHECK_EQ(ask(vm, KR_I8042_CMD_SELF_TEST), KR_I8042_SELF_TEST_OK);
	CHECK_EQ(ask(vm, KR_I8042_CMD_KBD_TEST), KR_I8042_PORT_EMPTY);
	CHECK_EQ(ask(vm, KR_I8042_CMD_AUX_TEST), KR_I8042_PORT_EMPTY);
	io_out(vm, KR_I8042_COMMAND_PORT, 1, KR_I8042_CMD_AUX_DISABLE);
	io_out(vm, KR_I8042_COMMAND_PORT, 1, KR_I8042_CMD_KBD_DISABLE);
	CHECK_EQ(status(vm) & KR_I8042_STR_CMD, KR_I8042_STR_CMD);
	CHECK_EQ(ask(vm, KR_I8042_CMD_READ_RAM), KR_I8042_CTR_AUXDIS | KR_I8042_CTR_KBDDIS);
	io_out(vm, KR_I8042_COMMAND_PORT, 1, KR_I8042_CMD_AUX_ENABLE);
	CHECK_EQ(ask(vm, KR_I8042_CMD_READ_RAM), KR_I8042_CTR_KBDDIS);
	io_out(vm, KR_I8042_COMMAND_PORT, 1, KR_I8042_CMD_KBD_ENABLE);
	CHECK_EQ(ask(vm, KR_I8042_CMD_READ_RAM), 0);
	/* A command with no answer leaves the output buffer empty. */
	io_out(vm, KR_I8042_COMMAND_PORT, 1, 0xc0);
	CHECK_EQ(status(vm) & KR_I8042_STR_OBF, 0);
	CHECK(!vm->stop_requested);
	io_vm_free(vm);
}

UNIT_TEST(i8042_loopbacks_and_absent_devices_answer_at_once_with_their_irqs)
{
	struct kr_vm *vm = io_vm_new();
	/* Interrupts off (the CTR as firmware leaves it): no line, whatever waits. */
	cmd_with_data(vm, KR_I8042_CMD_AUX_LOOP, 0x5a);
	CHECK_EQ(status(vm) & (KR_I8042_STR_OBF | KR_I8042_STR_AUXDATA),
		 KR_I8042_STR_OBF | KR_I8042_STR_AUXDATA);
	CHECK_EQ(kr_i8042_irq_lines(vm), 0);
	CHECK_EQ(io_in(vm, KR_I8042_DATA_PORT, 1), 0x5a);
	CHECK_EQ(status(vm) & (KR_I8042_STR_OBF | KR_I8042_STR_AUXDATA), 0);

	cmd_with_data(vm, KR_I8042_CMD_WRITE_RAM, KR_I8042_CTR_KBDINT | KR_I8042_CTR_AUXINT);
	cmd_with_data(vm, KR_I8042_CMD_AUX_LOOP, 0xa5);
	CHECK_EQ(kr_i8042_irq_lines(vm), 1u << KR_I8042_AUX_IRQ);
	CHECK_EQ(io_in(vm, KR_I8042_DATA_PORT, 1), 0xa5);
	CHECK_EQ(kr_i8042_irq_lines(vm), 0);
	cmd_with_data(vm, KR_I8042_CMD_KBD_LOOP, 0x11);
	CHECK_EQ(status(vm) & (KR_I8042_STR_OBF | KR_I8042_STR_AUXDATA), KR_I8042_STR_OBF);
	CHECK_EQ(kr_i8042_irq_lines(vm), 1u << KR_I8042_KBD_IRQ);
	CHECK_EQ(io_in(vm, KR_I8042_DATA_PORT, 1), 0x11);

	/* A byte for the keyboard (atkbd's GETID): no keyboard, 0xfe with the time-out bit. */
	io_out(vm, KR_I8042_DATA_PORT, 1, 0xf2);
	CHECK_EQ(status(vm) & (KR_I8042_STR_OBF | KR_I8042_STR_AUXDATA | KR_I8042_STR_TIMEOUT),
		 KR_I8042_STR_OBF | KR_I8042_STR_TIMEOUT);
	CHECK_EQ(kr_i8042_irq_lines(vm), 1u << KR_I8042_KBD_IRQ);
	CHECK_EQ(io_in(vm, KR_I8042_DATA_PORT, 1), KR_I8042_NO_DEVICE);
	CHECK_EQ(status(vm) & KR_I8042_STR_TIMEOUT, 0);
	/* A byte for the mouse: the same from the AUX side. */
	cmd_with_data(vm, KR_I8042_CMD_AUX_SEND, 0xf2);
	CHECK_EQ(status(vm) & (KR_I8042_STR_OBF | KR_I8042_STR_AUXDATA | KR_I8042_STR_TIMEOUT),
		 KR_I8042_STR_OBF | KR_I8042_STR_AUXDATA | KR_I8042_STR_TIMEOUT);
	CHECK_EQ(kr_i8042_irq_lines(vm), 1u << KR_I8042_AUX_IRQ);
	/* Turning the interrupt off in the CTR lowers the line (the byte still waits). */
	cmd_with_data(vm, KR_I8042_CMD_WRITE_RAM, 0);
	CHECK_EQ(kr_i8042_irq_lines(vm), 0);
	CHECK_EQ(status(vm) & KR_I8042_STR_OBF, KR_I8042_STR_OBF);
	CHECK_EQ(io_in(vm, KR_I8042_DATA_PORT, 1), KR_I8042_NO_DEVICE);
	CHECK(!vm->stop_requested);
	io_vm_free(vm);
}

UNIT_TEST(postcode_port_is_accepted_and_ignored)
{
	struct kr_vm *vm = io_vm_new();
	io_out(vm, KR_POSTCODE_PORT, 1, 0x12);
	CHECK_EQ(io_in(vm, KR_POSTCODE_PORT, 1), 0xff);
	CHECK(!vm->stop_requested);
	io_vm_free(vm);
}
