/* SPDX-License-Identifier: MIT */
/*
 * libtest.c - the library API on a real /dev/kvm: memory slots, devices on
 * the bus, guest virtual buffers, and the page permissions kvmrun builds.
 * Guests are a few hand-assembled instructions, so each test shows exactly
 * which instruction causes which exit.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvmtest.h"




/* 32-bit: mov eax,[0x40000000]; out 0xe9,al; mov dword [0x40000000],0x12345678; hlt */
static const uint8_t read_then_write_slot[] = {
	0xa1, 0x00, 0x00, 0x00, 0x40, 0xe6, 0xe9, 0xc7, 0x05, 0x00, 0x00,
	0x00, 0x40, 0x78, 0x56, 0x34, 0x12, 0xf4,
};

UNIT_TEST(readonly_slot_is_readable_and_traps_writes)
{
	struct kvmtest_vm g;
	int slot;
	char out[64];
	if (!kvmtest_start(&g, KR_MODE_PROTECTED))
		return;
	CHECK_OK(kr_mem_add(g.vm, 0x40000000, 0x1000, KR_MEM_READONLY, &slot));
	uint8_t *rom = kr_gpa_ptr(g.vm, 0x40000000, 0x1000);
	CHECK(rom != NULL);
	if (rom)
		rom[0] = 'R';
	if (kvmtest_load(g.vm, read_then_write_slot, sizeof(read_then_write_slot), NULL, 0)) {
		struct kr_stop s = kvmtest_run(g.vm);
		CHECK_EQ(s.reason, KR_STOP_UNHANDLED);
		CHECK(strstr(s.message, "read-only memory at 0x40000000"));
		snprintf(out, sizeof(out), "%s", kvmtest_output(&g));
		CHECK(strcmp(out, "R") == 0);
	}
	kvmtest_end(&g);
}

struct captured {
	uint64_t addr;
	uint32_t value, size;
	int writes;
};

static int capture_write(struct kr_vm *vm, void *opaque, uint64_t addr, void *data, uint32_t size,
			 bool is_write)
{
	(void)vm;
	struct captured *c = opaque;
	if (is_write) {
		c->addr = addr;
		c->size = size;
		memcpy(&c->value, data, size < 4 ? size : 4);
		c->writes++;
	} else {
		memset(data, 0x5a, size); /* 'Z' */
	}
	return 0;
}

UNIT_TEST(readonly_slot_writes_reach_an_mmio_device)
{
	struct kvmtest_vm g;
	int slot;
	struct captured c = {0};
	if (!kvmtest_start(&g, KR_MODE_PROTECTED))
		return;
	CHECK_OK(kr_mem_add(g.vm, 0x40000000, 0x1000, KR_MEM_READONLY, &slot));
	CHECK_OK(kr_bus_register(g.vm, KR_SPACE_MMIO, 0x40000000, 0x1000, capture_write, &c));
	if (kvmtest_load(g.vm, read_then_write_slot, sizeof(read_then_write_slot), NULL, 0)) {
		struct kr_stop s = kvmtest_run(g.vm);
		CHECK_EQ(s.reason, KR_STOP_HLT);
		CHECK_EQ(c.writes, 1);
		CHECK_EQ(c.addr, 0x40000000);
		CHECK_EQ(c.size, 4);
		CHECK_EQ(c.value, 0x12345678);
	}
	kvmtest_end(&g);
}

UNIT_TEST(removed_slot_turns_into_mmio)
{
	struct kvmtest_vm g;
	int slot;
	if (!kvmtest_start(&g, KR_MODE_PROTECTED))
		return;
	CHECK_OK(kr_mem_add(g.vm, 0x40000000, 0x2000, 0, &slot));
	CHECK_FAILS_WITH(kr_mem_add(g.vm, 0x40001000, 0x1000, 0, &slot), "overlaps");
	CHECK_OK(kr_mem_remove(g.vm, slot));
	CHECK(kr_gpa_ptr(g.vm, 0x40000000, 1) == NULL);
	CHECK_FAILS_WITH(kr_mem_remove(g.vm, slot), "cannot remove");
	CHECK_FAILS_WITH(kr_mem_remove(g.vm, 0), "cannot remove");
	if (kvmtest_load(g.vm, read_then_write_slot, sizeof(read_then_write_slot), NULL, 0)) {
		struct kr_stop s = kvmtest_run(g.vm);
		CHECK_EQ(s.reason, KR_STOP_UNHANDLED);
		CHECK(strstr(s.message, "MMIO read of 4 bytes at 0x40000000"));
	}
	kvmtest_end(&g);
}

UNIT_TEST(port_read_comes_from_a_device)
{
	/* in al,0x60; out 0xe9,al; hlt */
	static const uint8_t code[] = {0xe4, 0x60, 0xe6, 0xe9, 0xf4};
	struct kvmtest_vm g;
	struct captured c = {0};
	char out[16];
	if (!kvmtest_start(&g, KR_MODE_REAL))
		return;
	CHECK_OK(kr_bus_register(g.vm, KR_SPACE_PIO, 0x60, 1, capture_write, &c));
	if (kvmtest_load(g.vm, code, sizeof(code), NULL, 0)) {
		struct kr_stop s = kvmtest_run(g.vm);
		CHECK_EQ(s.reason, KR_STOP_HLT);
		snprintf(out, sizeof(out), "%s", kvmtest_output(&g));
		CHECK(strcmp(out, "Z") == 0);
	}
	kvmtest_end(&g);
}

/* Two virtual pages that follow each other, backed by physical pages that do not. */
static const struct kr_mapping split_pages[] = {
	{.gva = 0x40000000, .gpa = 0x300000, .size = 0x1000, .flags = KR_MAP_WRITE},
	{.gva = 0x40001000, .gpa = 0x280000, .size = 0x1000, .flags = KR_MAP_WRITE},
};

UNIT_TEST(guest_virtual_buffer_crosses_pages)
{
	/* movabs rdi,0x40000ff8; mov esi,16; mov eax,KVMRUN_HC_WRITE; mov dx,0x500; out dx,eax; hlt */
	static const uint8_t code[] = {0x48, 0xbf, 0xf8, 0x0f, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00,
				       0xbe, 0x10, 0x00, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00,
				       0x66, 0xba, 0x00, 0x05, 0xef, 0xf4};
	struct kvmtest_vm g;
	char out[64], copy[17] = {0};
	if (!kvmtest_start(&g, KR_MODE_LONG))
		return;
	if (!kvmtest_load(g.vm, code, sizeof(code), split_pages, 2)) {
		kvmtest_end(&g);
		return;
	}
	memcpy(kr_gpa_ptr(g.vm, 0x300ff8, 8), "ABCDEFGH", 8);
	memcpy(kr_gpa_ptr(g.vm, 0x280000, 8), "IJKLMNOP", 8);
	memcpy(kr_gpa_ptr(g.vm, 0x301000, 8), "wrongwro", 8); /* physically next: must not be read */

	CHECK_OK(kr_copy_from_gva(g.vm, 0x40000ff8, copy, 16));
	CHECK(strcmp(copy, "ABCDEFGHIJKLMNOP") == 0);
	struct kr_translation t;
	CHECK_OK(kr_translate(g.vm, 0x40001004, &t));
	CHECK(t.valid && t.writeable);
	CHECK_EQ(t.gpa, 0x280004);
	CHECK_OK(kr_translate(g.vm, 0x50000000, &t));
	CHECK(!t.valid);
	CHECK_FAILS_WITH(kr_copy_from_gva(g.vm, 0x40001ff8, copy, 16), "0x40002000 is not mapped");

	struct kr_stop s = kvmtest_run(g.vm);
	CHECK_EQ(s.reason, KR_STOP_HLT);
	snprintf(out, sizeof(out), "%s", kvmtest_output(&g));
	CHECK(strcmp(out, "ABCDEFGHIJKLMNOP") == 0);
	kvmtest_end(&g);
}

/* mov eax,0x40000000; jmp rax -- executes the page mapped at 0x40000000 */
static const uint8_t jump_to_mapping[] = {0xb8, 0x00, 0x00, 0x00, 0x40, 0xff, 0xe0};

static struct kr_stop run_mapped_page(unsigned flags, const uint8_t *page_code, size_t len)
{
	struct kvmtest_vm g;
	struct kr_stop s = {.reason = KR_STOP_REQUESTED};
	struct kr_mapping m = {.gva = 0x40000000, .gpa = 0x300000, .size = 0x1000, .flags = flags};
	if (!kvmtest_start(&g, KR_MODE_LONG))
		return s;
	memcpy(kr_gpa_ptr(g.vm, 0x300000, len), page_code, len);
	if (kvmtest_load(g.vm, jump_to_mapping, sizeof(jump_to_mapping), &m, 1))
		s = kvmtest_run(g.vm);
	kvmtest_end(&g);
	return s;
}

UNIT_TEST(nx_pages_do_not_execute)
{
	static const uint8_t hlt[] = {0xf4};
	CHECK_EQ(run_mapped_page(KR_MAP_EXEC, hlt, 1).reason, KR_STOP_HLT);
	/* Fetching from an NX page faults: #PF, error code 0x11 (present, fetch). */
	struct kr_stop s = run_mapped_page(KR_MAP_WRITE, hlt, 1);
	CHECK_EQ(s.reason, KR_STOP_EXCEPTION);
	CHECK_EQ(s.exception.vector, 14);
	CHECK_EQ(s.exception.error_code, 0x11);
	CHECK_EQ(s.exception.rip, 0x40000000);
}

UNIT_TEST(readonly_pages_do_not_take_writes)
{
	/* mov dword [rax+0x800],1; hlt  (rax = 0x40000000 from the jump) */
	static const uint8_t store[] = {0xc7, 0x80, 0x00, 0x08, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
					0xf4};
	CHECK_EQ(run_mapped_page(KR_MAP_EXEC | KR_MAP_WRITE, store, sizeof(store)).reason,
		 KR_STOP_HLT);
	/* CR0.WP makes ring 0 respect read-only pages too: #PF, present | write. */
	struct kr_stop s = run_mapped_page(KR_MAP_EXEC, store, sizeof(store));
	CHECK_EQ(s.reason, KR_STOP_EXCEPTION);
	CHECK_EQ(s.exception.vector, 14);
	CHECK_EQ(s.exception.error_code, 0x3);
	CHECK_EQ(s.exception.cr2, 0x40000800);
}

static int stop_now(struct kr_vm *vm, void *opaque, uint64_t addr, void *data, uint32_t size,
		    bool is_write)
{
	(void)opaque, (void)addr, (void)data, (void)size, (void)is_write;
	kr_vm_stop(vm, KR_STOP_REQUESTED, 0, "device asked to stop");
	return 0;
}

UNIT_TEST(a_device_can_stop_the_vm)
{
	/* out 0x80,al; hlt */
	static const uint8_t code[] = {0xe6, 0x80, 0xf4};
	struct kvmtest_vm g;
	if (!kvmtest_start(&g, KR_MODE_REAL))
		return;
	CHECK_OK(kr_bus_register(g.vm, KR_SPACE_PIO, 0x80, 1, stop_now, NULL));
	if (kvmtest_load(g.vm, code, sizeof(code), NULL, 0)) {
		struct kr_stop s = kvmtest_run(g.vm);
		CHECK_EQ(s.reason, KR_STOP_REQUESTED);
		CHECK(strstr(s.message, "device asked to stop"));
		/* Running again goes on after the OUT, to the HLT. */
		s = kvmtest_run(g.vm);
		CHECK_EQ(s.reason, KR_STOP_HLT);
	}
	kvmtest_end(&g);
}

UNIT_TEST(kvm_info_reports_api_12)
{
	struct kr_kvm_info info;
	CHECK_OK(kr_kvm_info(&info));
	CHECK_EQ(info.api_version, 12);
	CHECK(info.vcpu_mmap_size >= (int)sizeof(struct kvm_run));
	CHECK(info.ncaps > 4);
}

/* out 0x99,al; hlt -- the device on port 0x99 decides what happens */
static const uint8_t poke_device[] = {0xe6, 0x99, 0xf4};

static int forbidden_syscall(struct kr_vm *vm, void *opaque, uint64_t addr, void *data,
			     uint32_t size, bool is_write)
{
	(void)vm, (void)opaque, (void)addr, (void)data, (void)size, (void)is_write;
	int fd = open("/dev/null", O_RDONLY); /* openat: not on the allowlist */
	if (fd >= 0)
		close(fd);
	return 0;
}

/*
 * The child leaves with the raw system call: the sanitizers' _exit hooks make
 * calls of their own (sigaltstack) that the filter rightly refuses.
 */
static void child_exit(int status)
{
	syscall(SYS_exit_group, status);
}

/*
 * Run a sandboxed VM in a child whose device makes a system call (or not);
 * return the child's wait status and what it wrote to stderr.
 */
static int run_sandboxed_child(bool misbehave, char *err, size_t errsize)
{
	int pipefd[2];
	if (pipe(pipefd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		struct kvmtest_vm g;
		struct captured c = {0};
		dup2(pipefd[1], STDERR_FILENO);
		if (!kvmtest_start(&g, KR_MODE_REAL))
			child_exit(2);
		if (misbehave && kr_bus_register(g.vm, KR_SPACE_PIO, 0x99, 1, forbidden_syscall,
						 NULL) < 0)
			child_exit(3);
		if (!misbehave && kr_bus_register(g.vm, KR_SPACE_PIO, 0x99, 1, capture_write, &c) < 0)
			child_exit(3);
		if (!kvmtest_load(g.vm, poke_device, sizeof(poke_device), NULL, 0))
			child_exit(4);
		if (kr_sandbox_enter(g.vm, NULL, 0) < 0)
			child_exit(5);
		struct kr_stop s;
		int rc = kr_vm_run(g.vm, &s);
		kr_vm_destroy(g.vm); /* tear-down must be allowed too */
		child_exit(rc == 0 && s.reason == KR_STOP_HLT ? 0 : 6);
	}
	close(pipefd[1]);
	size_t used = 0;
	ssize_t n;
	while (used + 1 < errsize && (n = read(pipefd[0], err + used, errsize - 1 - used)) > 0)
		used += (size_t)n;
	err[used] = '\0';
	close(pipefd[0]);
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return status;
}

UNIT_TEST(sandboxed_run_loop_works)
{
	char err[512];
	int status = run_sandboxed_child(false, err, sizeof(err));
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
	if (err[0])
		unit_fail(__FILE__, __LINE__, "child said: %s", err);
}

UNIT_TEST(seccomp_kills_a_forbidden_syscall)
{
	char err[512];
	int status = run_sandboxed_child(true, err, sizeof(err));
	CHECK(WIFSIGNALED(status));
	CHECK_EQ(WIFSIGNALED(status) ? WTERMSIG(status) : 0, SIGSYS);
	if (!strstr(err, "system call openat (257) is not allowed"))
		unit_fail(__FILE__, __LINE__, "stderr: \"%s\"", err);
}
