/* SPDX-License-Identifier: MIT */
/* test_i8042.c - the keyboard controller's reset, and port 0x80. */
#include <string.h>

#include "devices/i8042.h"
#include "devices/postcode.h"
#include "fake_io.h"

UNIT_TEST(i8042_reset_command_stops_with_reset)
{
	struct kr_vm *vm = io_vm_new();
	/* What Linux does: wait for an empty input buffer, then 0xfe. */
	CHECK_EQ(io_in(vm, KR_I8042_COMMAND_PORT, 1), KR_I8042_STATUS);
	CHECK_EQ(io_in(vm, KR_I8042_COMMAND_PORT, 1) & 3, 0); /* no data, input buffer empty */
	io_out(vm, KR_I8042_COMMAND_PORT, 1, 0xad); /* other commands: ignored */
	io_out(vm, KR_I8042_DATA_PORT, 1, 0xfe);    /* 0xfe as data is no reset */
	CHECK_EQ(io_in(vm, KR_I8042_DATA_PORT, 1), 0);
	CHECK(!vm->stop_requested);
	io_out(vm, KR_I8042_COMMAND_PORT, 1, KR_I8042_CMD_RESET);
	CHECK(vm->stop_requested);
	CHECK_EQ(vm->pending_stop.reason, KR_STOP_RESET);
	CHECK(strstr(vm->pending_stop.message, "guest requested a reset"));
	CHECK(strcmp(kr_stop_reason_name(KR_STOP_RESET), "reset") == 0);
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
