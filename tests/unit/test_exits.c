/* SPDX-License-Identifier: MIT */
/*
 * test_exits.c - the run loop's exit dispatch, fed synthetic kvm_run
 * structures. Exits a guest cannot be made to cause on demand (entry failure,
 * internal errors, system events) are covered here; the KVM tests cover the
 * ones a guest can cause.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#define RUN_SIZE 8192

static struct kr_vm *exit_vm(void)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, 2u << 20);
	vm->vcpus[0].run = calloc(1, RUN_SIZE);
	vm->ncpus = 1; /* a vCPU with its kvm_run, but no fd */
	vm->run_size = RUN_SIZE;
	kr_console_get(vm)->fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	return vm;
}

static void exit_vm_free(struct kr_vm *vm)
{
	int fd = kr_console_get(vm)->fd;
	free(vm->vcpus[0].run);
	vm->vcpus[0].run = NULL; /* not KVM's mapping: kr_vm_destroy must not munmap it */
	kr_vm_destroy(vm); /* it flushes the console: before the close */
	close(fd);
}

static void set_io(struct kr_vm *vm, uint8_t dir, uint16_t port, uint8_t size, uint32_t count,
		   uint64_t offset)
{
	vm->vcpus[0].run->exit_reason = KVM_EXIT_IO;
	vm->vcpus[0].run->io.direction = dir;
	vm->vcpus[0].run->io.port = port;
	vm->vcpus[0].run->io.size = size;
	vm->vcpus[0].run->io.count = count;
	vm->vcpus[0].run->io.data_offset = offset;
}

UNIT_TEST(exit_io_debug_console_takes_rep_outsb)
{
	struct kr_vm *vm = exit_vm();
	set_io(vm, KVM_EXIT_IO_OUT, KVMRUN_DEBUG_CONSOLE_PORT, 1, 3, 4096);
	memcpy((char *)vm->vcpus[0].run + 4096, "abc", 3);
	CHECK_OK(kr_handle_exit(&vm->vcpus[0]));
	CHECK(!vm->stop_requested);
	CHECK_EQ(kr_console_get(vm)->used, 3);
	CHECK(memcmp(kr_console_get(vm)->buf, "abc", 3) == 0);
	/* A read of port 0xE9 answers 0xE9, as Bochs does. */
	set_io(vm, KVM_EXIT_IO_IN, KVMRUN_DEBUG_CONSOLE_PORT, 1, 1, 4096);
	CHECK_OK(kr_handle_exit(&vm->vcpus[0]));
	CHECK_EQ(*((uint8_t *)vm->vcpus[0].run + 4096), 0xE9);
	exit_vm_free(vm);
}

UNIT_TEST(exit_io_unknown_port_stops_with_its_number)
{
	struct kr_vm *vm = exit_vm();
	set_io(vm, KVM_EXIT_IO_OUT, 0x1234, 2, 1, 4096);
	CHECK_OK(kr_handle_exit(&vm->vcpus[0]));
	CHECK(vm->stop_requested);
	CHECK_EQ(vm->pending_stop.reason, KR_STOP_UNHANDLED);
	CHECK(strstr(vm->pending_stop.message, "write of 2 bytes to port 0x1234"));
	exit_vm_free(vm);
}

UNIT_TEST(exit_io_data_outside_kvm_run_is_refused)
{
	struct kr_vm *vm = exit_vm();
	set_io(vm, KVM_EXIT_IO_OUT, KVMRUN_DEBUG_CONSOLE_PORT, 1, 2, RUN_SIZE - 1);
	CHECK_FAILS_WITH(kr_handle_exit(&vm->vcpus[0]), "outside");
	set_io(vm, KVM_EXIT_IO_OUT, KVMRUN_DEBUG_CONSOLE_PORT, 4, UINT32_MAX, 4096);
	CHECK_FAILS_WITH(kr_handle_exit(&vm->vcpus[0]), "outside");
	exit_vm_free(vm);
}

UNIT_TEST(exit_hypercall_port_wants_32_bit_writes)
{
	struct kr_vm *vm = exit_vm();
	set_io(vm, KVM_EXIT_IO_OUT, KVMRUN_HYPERCALL_PORT, 1, 1, 4096);
	CHECK_OK(kr_handle_exit(&vm->vcpus[0]));
	CHECK_EQ(vm->pending_stop.reason, KR_STOP_GUEST_ERROR);
	CHECK(strstr(vm->pending_stop.message, "32-bit write"));
	exit_vm_free(vm);
}

UNIT_TEST(exit_mmio_unhandled_and_readonly)
{
	struct kr_vm *vm = exit_vm();
	vm->vcpus[0].run->exit_reason = KVM_EXIT_MMIO;
	vm->vcpus[0].run->mmio.phys_addr = 0xd0000000;
	vm->vcpus[0].run->mmio.len = 4;
	vm->vcpus[0].run->mmio.is_write = 1;
	CHECK_OK(kr_handle_exit(&vm->vcpus[0]));
	CHECK_EQ(vm->pending_stop.reason, KR_STOP_UNHANDLED);
	CHECK(strstr(vm->pending_stop.message, "MMIO write of 4 bytes at 0xd0000000"));

	vm->stop_requested = false;
	vm->slots[1] = (struct kr_slot){.used = true, .flags = KR_MEM_READONLY,
					.gpa = 0x40000000, .size = 0x1000};
	vm->vcpus[0].run->mmio.phys_addr = 0x40000010;
	CHECK_OK(kr_handle_exit(&vm->vcpus[0]));
	CHECK(strstr(vm->pending_stop.message, "read-only memory at 0x40000010"));
	vm->slots[1].used = false;

	vm->vcpus[0].run->mmio.len = 0;
	CHECK_FAILS_WITH(kr_handle_exit(&vm->vcpus[0]), "length 0");
	vm->vcpus[0].run->mmio.len = 9;
	CHECK_FAILS_WITH(kr_handle_exit(&vm->vcpus[0]), "length 9");
	exit_vm_free(vm);
}

static struct kr_stop one_exit(uint32_t reason, void (*fill)(struct kvm_run *))
{
	struct kr_vm *vm = exit_vm();
	vm->vcpus[0].run->exit_reason = reason;
	if (fill)
		fill(vm->vcpus[0].run);
	CHECK_OK(kr_handle_exit(&vm->vcpus[0]));
	CHECK(vm->stop_requested);
	struct kr_stop s = vm->pending_stop;
	exit_vm_free(vm);
	return s;
}

static void fill_fail_entry(struct kvm_run *r)
{
	r->fail_entry.hardware_entry_failure_reason = 0x80000021;
	r->fail_entry.cpu = 1;
}

static void fill_internal(struct kvm_run *r)
{
	r->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	r->internal.ndata = 1000; /* more than the array holds: must be clamped */
	r->internal.data[0] = 0xabc;
}

static void fill_reset(struct kvm_run *r)
{
	r->system_event.type = KVM_SYSTEM_EVENT_RESET;
}

UNIT_TEST(exit_reasons_become_stops)
{
	struct kr_stop s = one_exit(KVM_EXIT_HLT, NULL);
	CHECK_EQ(s.reason, KR_STOP_HLT);
	s = one_exit(KVM_EXIT_SHUTDOWN, NULL);
	CHECK_EQ(s.reason, KR_STOP_SHUTDOWN);
	CHECK(strstr(s.message, "triple fault (KVM_EXIT_SHUTDOWN)"));
	s = one_exit(KVM_EXIT_FAIL_ENTRY, fill_fail_entry);
	CHECK_EQ(s.reason, KR_STOP_FAIL_ENTRY);
	CHECK(strstr(s.message, "hardware_entry_failure_reason 0x80000021 on cpu 1"));
	s = one_exit(KVM_EXIT_INTERNAL_ERROR, fill_internal);
	CHECK_EQ(s.reason, KR_STOP_INTERNAL_ERROR);
	CHECK(strstr(s.message, "suberror 1 (emulation failure), data: 0xabc"));
	s = one_exit(KVM_EXIT_SYSTEM_EVENT, fill_reset);
	CHECK_EQ(s.reason, KR_STOP_SYSTEM_EVENT);
	CHECK(strstr(s.message, "(reset)"));
	s = one_exit(KVM_EXIT_DEBUG, NULL);
	CHECK_EQ(s.reason, KR_STOP_UNHANDLED);
	CHECK(strstr(s.message, "unhandled exit KVM_EXIT_DEBUG (4)"));
	s = one_exit(9999, NULL);
	CHECK(strstr(s.message, "KVM_EXIT_(unknown) (9999)"));
}

UNIT_TEST(exit_intr_is_not_a_stop)
{
	struct kr_vm *vm = exit_vm();
	vm->vcpus[0].run->exit_reason = KVM_EXIT_INTR;
	CHECK_OK(kr_handle_exit(&vm->vcpus[0]));
	CHECK(!vm->stop_requested);
	exit_vm_free(vm);
}

UNIT_TEST(first_stop_reason_wins)
{
	struct kr_vm *vm = exit_vm();
	kr_vm_stop(vm, KR_STOP_EXIT, 7, "first");
	kr_vm_stop(vm, KR_STOP_HLT, 0, "second");
	CHECK_EQ(vm->pending_stop.reason, KR_STOP_EXIT);
	CHECK_EQ(vm->pending_stop.exit_code, 7);
	CHECK(vm->vcpus[0].run->immediate_exit == 1);
	exit_vm_free(vm);
}
