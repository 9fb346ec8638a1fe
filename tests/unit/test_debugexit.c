/* SPDX-License-Identifier: MIT */
/* test_debugexit.c - the isa-debug-exit port: (v << 1) | 1, whole. */
#include <string.h>

#include "devices/debugexit.h"
#include "fake_io.h"

static struct kr_stop exit_with(uint16_t port, uint8_t size, uint32_t v)
{
	struct kr_vm *vm = io_vm_new();
	io_out(vm, port, size, v);
	CHECK(vm->stop_requested);
	struct kr_stop s = vm->pending_stop;
	io_vm_free(vm);
	return s;
}

UNIT_TEST(debugexit_status_is_v_shifted_or_one)
{
	struct kr_stop s = exit_with(KR_DEBUGEXIT_PORT, 1, 0);
	CHECK_EQ(s.reason, KR_STOP_EXIT);
	CHECK_EQ(s.exit_code, 1);
	CHECK(strstr(s.message, "isa-debug-exit port 0xf4: exit status 1"));
	s = exit_with(KR_DEBUGEXIT_PORT + 3, 1, 1);
	CHECK_EQ(s.exit_code, 3);
	s = exit_with(KR_DEBUGEXIT_PORT, 2, 61);
	CHECK_EQ(s.exit_code, 123);
	/* Not cut to 8 bits as QEMU's exit() would: 0x80 -> 257, which kvmrun calls an ABI error. */
	s = exit_with(KR_DEBUGEXIT_PORT, 4, 0x80);
	CHECK_EQ(s.exit_code, 257);
	s = exit_with(KR_DEBUGEXIT_PORT, 4, 0xffffffff);
	CHECK_EQ(s.exit_code, 0x7fffffff);
	CHECK(strstr(s.message, "exit status 8589934591"));
}

UNIT_TEST(debugexit_reads_do_not_stop)
{
	struct kr_vm *vm = io_vm_new();
	CHECK_EQ(io_in(vm, KR_DEBUGEXIT_PORT, 4), 0xffffffff);
	CHECK(!vm->stop_requested);
	io_vm_free(vm);
}
