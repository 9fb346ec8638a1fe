/* SPDX-License-Identifier: MIT */
/*
 * test_hypercall.c - hypercall argument checking without KVM: the page
 * tables kvmrun builds are walked in software (vm->soft_sregs).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#define MEM (8u << 20)

struct hc_vm {
	struct kr_vm *vm;
	struct kvm_sregs sregs;
	char path[32];
};

/* Long mode, RAM identity-mapped, one higher-half page, console to a temp file. */
static void hc_vm_init(struct hc_vm *h)
{
	struct kr_pt_builder b;
	h->vm = unit_vm_new(KR_MODE_LONG, MEM);
	CHECK_OK(kr_pt_init(&b, h->vm->ram, MEM, 0x11000, 0x80000, true));
	CHECK_OK(kr_pt64_map(&b, 0, 0, MEM, KR_MAP_WRITE | KR_MAP_EXEC));
	CHECK_OK(kr_pt64_map(&b, 0xffffffff80000000ull, 0x300000, 0x1000, 0));
	memset(&h->sregs, 0, sizeof(h->sregs));
	struct kr_mode_setup ms = {.cr3 = b.root, .gdt_base = 0x10000, .nx = true};
	kr_sregs_for_mode(KR_MODE_LONG, &ms, &h->sregs);
	h->vm->soft_sregs = &h->sregs;
	strcpy(h->path, "/tmp/kvmrun-hc-XXXXXX");
	kr_console_get(h->vm)->fd = mkstemp(h->path);
	CHECK(kr_console_get(h->vm)->fd >= 0);
}

static size_t hc_output(struct hc_vm *h, char *buf, size_t size)
{
	CHECK_OK(kr_console_flush(h->vm));
	ssize_t n = pread(kr_console_get(h->vm)->fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	return n > 0 ? (size_t)n : 0;
}

static void hc_vm_free(struct hc_vm *h)
{
	int fd = kr_console_get(h->vm)->fd;
	kr_vm_destroy(h->vm); /* it flushes the console: before the close */
	close(fd);
	unlink(h->path);
}

UNIT_TEST(hypercall_write_reads_guest_virtual_memory)
{
	struct hc_vm h;
	char out[64];
	hc_vm_init(&h);
	memcpy(h.vm->ram + 0x200ffd, "hello", 5); /* crosses a page */
	memcpy(h.vm->ram + 0x300100, "upper", 5);
	CHECK_OK(kr_hypercall(h.vm, KVMRUN_HC_WRITE, 0x200ffd, 5));
	CHECK_OK(kr_hypercall(h.vm, KVMRUN_HC_WRITE, 0xffffffff80000100ull, 5));
	CHECK_OK(kr_hypercall(h.vm, KVMRUN_HC_WRITE, 0x12345, 0)); /* empty: fine */
	CHECK(!h.vm->stop_requested);
	hc_output(&h, out, sizeof(out));
	CHECK(strcmp(out, "helloupper") == 0);
	hc_vm_free(&h);
}

static void check_refused(uint32_t nr, uint64_t a0, uint64_t a1, const char *needle)
{
	struct hc_vm h;
	char out[64];
	hc_vm_init(&h);
	CHECK_OK(kr_hypercall(h.vm, nr, a0, a1));
	CHECK(h.vm->stop_requested);
	CHECK_EQ(h.vm->pending_stop.reason, KR_STOP_GUEST_ERROR);
	if (!strstr(h.vm->pending_stop.message, needle))
		unit_fail(__FILE__, __LINE__, "\"%s\" lacks \"%s\"", h.vm->pending_stop.message,
			  needle);
	CHECK_EQ(hc_output(&h, out, sizeof(out)), 0); /* nothing half-written */
	hc_vm_free(&h);
}

UNIT_TEST(hypercall_write_refuses_bad_buffers)
{
	check_refused(KVMRUN_HC_WRITE, 0x7ff00000000ull, 16, "0x7ff00000000 is not mapped");
	check_refused(KVMRUN_HC_WRITE, 0x8000000000000000ull, 16, "0x8000000000000000 is not mapped");
	check_refused(KVMRUN_HC_WRITE, 0x100000, 0xffffffffull, "exceeds the limit");
	check_refused(KVMRUN_HC_WRITE, MEM - 8, 16, "is not mapped"); /* runs off RAM's mapping */
	check_refused(KVMRUN_HC_WRITE, 0xffffffff80000ff0ull, 32, "0xffffffff80001000 is not mapped");
	check_refused(KVMRUN_HC_WRITE, UINT64_MAX - 3, 8, "wraps");
	check_refused(99, 1, 2, "unknown hypercall number 99");
}

/* One WRITE is one message: written at the end of the call, newline or not. */
UNIT_TEST(hypercall_write_is_written_at_once)
{
	struct hc_vm h;
	hc_vm_init(&h);
	memcpy(h.vm->ram + 0x200000, "prompt> ", 8);
	CHECK_OK(kr_hypercall(h.vm, KVMRUN_HC_WRITE, 0x200000, 8));
	CHECK_EQ(kr_console_get(h.vm)->used, 0);
	CHECK_EQ(lseek(kr_console_get(h.vm)->fd, 0, SEEK_END), 8);
	hc_vm_free(&h);
}

/* Not the low byte: 256 would pass for 0 (success), 300 for 44. */
UNIT_TEST(hypercall_exit_keeps_the_whole_status)
{
	static const struct {
		uint64_t rdi;
		int code;
		const char *msg;
	} cases[] = {
		{0, 0, "guest exited with status 0"},
		{123, 123, "guest exited with status 123"},
		{256, 256, "guest exited with status 256"},
		{0x1234, 0x1234, "guest exited with status 4660"},
		{0xffffffffull, INT32_MAX, "guest exited with status 4294967295"},
		{UINT64_MAX, INT32_MAX, "guest exited with status 18446744073709551615"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hc_vm h;
		hc_vm_init(&h);
		CHECK_OK(kr_hypercall(h.vm, KVMRUN_HC_EXIT, cases[i].rdi, 0));
		CHECK_EQ(h.vm->pending_stop.reason, KR_STOP_EXIT);
		CHECK_EQ(h.vm->pending_stop.exit_code, cases[i].code);
		if (strcmp(h.vm->pending_stop.message, cases[i].msg) != 0)
			unit_fail(__FILE__, __LINE__, "\"%s\", expected \"%s\"",
				  h.vm->pending_stop.message, cases[i].msg);
		hc_vm_free(&h);
	}
}
