/* SPDX-License-Identifier: MIT */
/*
 * test_smp.c - several vCPUs (cfg.cpus): APs started by the guest with
 * KVMRUN_HC_START_CPU, the first stop of any vCPU ending every vCPU's run,
 * an AP's crash or VMM failure reported for that AP, kr_vm_stop from another
 * thread, the hypercall's refusals, and what refuses more than one vCPU.
 *
 * Guests are hand-assembled 64-bit code at 1 MiB (the source beside each);
 * the VM has 8 MiB, the APs' stacks at 2 MiB + 4 KiB * index. A run that
 * must end is bounded: each test runs in a child the parent kills after
 * BOUND_SECONDS, which fails the test (a stop that never reached a vCPU).
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvmtest.h"

#define BOUND_SECONDS 30
#define LOAD 0x100000u

/*
 * count: vCPU 0 starts vCPUs 1..RDX-1 (RDX: the vCPU count at entry) at
 * `ap`, each adding 1 to `counter` and halting; vCPU 0 waits until
 * counter + 1 reaches the count and exits with it.
 *	mov r12, rdx; mov r13d, 1
 * 1:	cmp r13, r12; jae 2f
 *	mov edi, r13d; lea rsi, [rip+ap]; mov rcx, r13; shl rcx, 12; add rcx, 0x200000
 *	lea rbx, [rip+counter]; mov eax, 4; mov edx, 0x500; out dx, eax
 *	inc r13d; jmp 1b
 * 2:	mov rdi, [rip+counter]; inc rdi; cmp rdi, r12; jb 2b
 *	mov eax, 2; mov edx, 0x500; out dx, eax; hlt
 * ap:	lock inc qword ptr [rdi]; hlt
 * counter (offset 0x60): .quad 0
 */
static const uint8_t count_code[] = {
	0x49, 0x89, 0xd4, 0x41, 0xbd, 0x01, 0x00, 0x00, 0x00, 0x4d, 0x39, 0xe5, 0x73,
	0x2f, 0x44, 0x89, 0xef, 0x48, 0x8d, 0x35, 0x40, 0x00, 0x00, 0x00, 0x4c, 0x89,
	0xe9, 0x48, 0xc1, 0xe1, 0x0c, 0x48, 0x81, 0xc1, 0x00, 0x00, 0x20, 0x00, 0x48,
	0x8d, 0x1d, 0x33, 0x00, 0x00, 0x00, 0xb8, 0x04, 0x00, 0x00, 0x00, 0xba, 0x00,
	0x05, 0x00, 0x00, 0xef, 0x41, 0xff, 0xc5, 0xeb, 0xcc, 0x48, 0x8b, 0x3d, 0x1c,
	0x00, 0x00, 0x00, 0x48, 0xff, 0xc7, 0x4c, 0x39, 0xe7, 0x72, 0xf1, 0xb8, 0x02,
	0x00, 0x00, 0x00, 0xba, 0x00, 0x05, 0x00, 0x00, 0xef, 0xf4, 0xf0, 0x48, 0xff,
	0x07, 0xf4, 0x0f, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
#define COUNT_COUNTER 0x60

/*
 * crash: vCPU 0 starts vCPU 1 at `ap` and spins; vCPU 1 executes ud2.
 *	mov edi, 1; lea rsi, [rip+ap]; mov ecx, 0x201000; xor ebx, ebx
 *	mov eax, 4; mov edx, 0x500; out dx, eax; jmp $
 * ap:	ud2 (offset 0x20)
 */
static const uint8_t crash_code[] = {
	0xbf, 0x01, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x35, 0x14, 0x00, 0x00, 0x00, 0xb9,
	0x00, 0x10, 0x20, 0x00, 0x31, 0xdb, 0xb8, 0x04, 0x00, 0x00, 0x00, 0xba, 0x00,
	0x05, 0x00, 0x00, 0xef, 0xeb, 0xfe, 0x0f, 0x0b,
};

/*
 * exit7: vCPU 0 starts vCPU 1 at `ap`, which sets `flag` and spins; vCPU 0
 * waits for the flag (vCPU 1 is running then) and exits with status 7.
 *	mov edi, 1; lea rsi, [rip+ap]; mov ecx, 0x201000; lea rbx, [rip+flag]
 *	mov eax, 4; mov edx, 0x500; out dx, eax
 * 1:	cmp byte ptr [rip+flag], 0; je 1b
 *	mov edi, 7; mov eax, 2; out dx, eax; hlt
 * ap:	mov byte ptr [rdi], 1; jmp $
 * flag: .byte 0
 */
static const uint8_t exit7_code[] = {
	0xbf, 0x01, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x35, 0x2c, 0x00, 0x00, 0x00, 0xb9,
	0x00, 0x10, 0x20, 0x00, 0x48, 0x8d, 0x1d, 0x25, 0x00, 0x00, 0x00, 0xb8, 0x04,
	0x00, 0x00, 0x00, 0xba, 0x00, 0x05, 0x00, 0x00, 0xef, 0x80, 0x3d, 0x13, 0x00,
	0x00, 0x00, 0x00, 0x74, 0xf7, 0xbf, 0x07, 0x00, 0x00, 0x00, 0xb8, 0x02, 0x00,
	0x00, 0x00, 0xef, 0xf4, 0xc6, 0x07, 0x01, 0xeb, 0xfe, 0x00,
};

/*
 * spin2: vCPU 0 starts vCPU 1 at `ap`, which sets the byte at 3 MiB and
 * spins; vCPU 0 spins too. Only a stop from outside ends it.
 *	mov edi, 1; lea rsi, [rip+ap]; mov ecx, 0x201000; mov ebx, 0x300000
 *	mov eax, 4; mov edx, 0x500; out dx, eax; jmp $
 * ap:	mov byte ptr [rdi], 1; jmp $
 */
static const uint8_t spin2_code[] = {
	0xbf, 0x01, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x35, 0x17, 0x00, 0x00, 0x00, 0xb9,
	0x00, 0x10, 0x20, 0x00, 0xbb, 0x00, 0x00, 0x30, 0x00, 0xb8, 0x04, 0x00, 0x00,
	0x00, 0xba, 0x00, 0x05, 0x00, 0x00, 0xef, 0xeb, 0xfe, 0xc6, 0x07, 0x01, 0xeb,
	0xfe,
};
#define SPIN2_FLAG 0x300000u

/*
 * startq: two KVMRUN_HC_START_CPU calls, their RDI, RSI, RCX from the table
 * at offset 0x40 (three quads each, filled in by the test), then EXIT(42).
 *	lea r13, [rip+table]; mov r12d, 2
 * 1:	mov rdi, [r13]; mov rsi, [r13+8]; mov rcx, [r13+16]; xor ebx, ebx
 *	mov eax, 4; mov edx, 0x500; out dx, eax
 *	add r13, 24; dec r12d; jnz 1b
 *	mov edi, 42; mov eax, 2; out dx, eax; hlt
 * ap (offset 0x3b): hlt
 */
static const uint8_t startq_code[] = {
	0x4c, 0x8d, 0x2d, 0x39, 0x00, 0x00, 0x00, 0x41, 0xbc, 0x02, 0x00, 0x00, 0x00,
	0x49, 0x8b, 0x7d, 0x00, 0x49, 0x8b, 0x75, 0x08, 0x49, 0x8b, 0x4d, 0x10, 0x31,
	0xdb, 0xb8, 0x04, 0x00, 0x00, 0x00, 0xba, 0x00, 0x05, 0x00, 0x00, 0xef, 0x49,
	0x83, 0xc5, 0x18, 0x41, 0xff, 0xcc, 0x75, 0xde, 0xbf, 0x2a, 0x00, 0x00, 0x00,
	0xb8, 0x02, 0x00, 0x00, 0x00, 0xef, 0xf4, 0xf4, 0x0f, 0x1f, 0x40, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
#define STARTQ_AP (LOAD + 0x3b)
#define STARTQ_TABLE 0x40

/* ---- the child's side ---------------------------------------------------------- */


static int devnull(void)
{
	static int fd = -1;
	if (fd < 0)
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	return fd;
}

/* A long-mode VM of 8 MiB with `cpus` vCPUs and `code` loaded and prepared, or NULL. */
static struct kr_vm *smp_vm(unsigned cpus, const uint8_t *code, size_t len)
{
	struct kr_vm_config cfg;
	struct kr_vm *vm;
	struct kr_image img;
	kr_vm_config_init(&cfg);
	cfg.mem_size = 8u << 20;
	cfg.cpus = cpus;
	cfg.console_fd = devnull();
	if (kr_vm_create(&vm, &cfg) < 0)
		return kvmtest_fail("kr_vm_create(cpus=%u): %s", cpus, kr_last_error()), NULL;
	if (kr_load_buffer(vm, code, len, NULL, &img) < 0 || kr_vcpu_prepare(vm, &img) < 0) {
		kvmtest_fail("load and prepare: %s", kr_last_error());
		kr_vm_destroy(vm);
		return NULL;
	}
	return vm;
}

/* Run; the stop in *s. False (with the failure) if kr_vm_run failed. */
static bool run(struct kr_vm *vm, struct kr_stop *s)
{
	if (kr_vm_run(vm, s) < 0)
		return kvmtest_fail("kr_vm_run: %s", kr_last_error());
	return true;
}

static bool stopped_as(const struct kr_stop *s, enum kr_stop_reason reason, unsigned cpu,
		       const char *needle)
{
	return KT_EXPECT(s->reason == reason, "stopped for %s (%s), expected %s",
		      kr_stop_reason_name(s->reason), s->message, kr_stop_reason_name(reason)) &&
	       KT_EXPECT(s->cpu == cpu, "the stop names vCPU %u (%s), expected %u", s->cpu, s->message,
		      cpu) &&
	       KT_EXPECT(strstr(s->message, needle), "message \"%s\" lacks \"%s\"", s->message,
		      needle);
}

/* ---- the parent's side: a child per test, bounded in time ---------------------- */

#define RUN_BOUNDED(fn) \
	kvmtest_bounded(__FILE__, __LINE__, fn, BOUND_SECONDS, true, \
			"a stop that never reached every vCPU?")

/* ---- APs started by the guest count themselves ---------------------------------- */

static bool count_with(unsigned cpus)
{
	struct kr_vm *vm = smp_vm(cpus, count_code, sizeof(count_code));
	struct kr_stop s;
	bool ok = vm && run(vm, &s) && stopped_as(&s, KR_STOP_EXIT, 0, "status") &&
		  KT_EXPECT(s.exit_code == (int)cpus, "%u vCPUs counted %d", cpus, s.exit_code);
	if (ok) {
		uint64_t *counter = kr_gpa_ptr(vm, LOAD + COUNT_COUNTER, 8);
		ok = KT_EXPECT(counter && *counter == cpus - 1, "the APs counted %llu, expected %u",
			    counter ? (unsigned long long)*counter : 0ull, cpus - 1);
	}
	kr_vm_destroy(vm);
	return ok;
}

static bool count_1_2_4(void)
{
	return count_with(1) && count_with(2) && count_with(4);
}

UNIT_TEST(smp_aps_started_by_the_guest_count_themselves)
{
	RUN_BOUNDED(count_1_2_4);
}

/* A VM destroyed with AP threads that never ran: they end with it. */
static bool destroy_unstarted(void)
{
	for (int i = 0; i < 3; i++) {
		struct kr_vm *vm = smp_vm(4, count_code, sizeof(count_code));
		if (!vm)
			return false;
		kr_vm_destroy(vm);
	}
	return true;
}

UNIT_TEST(smp_destroy_ends_parked_ap_threads)
{
	RUN_BOUNDED(destroy_unstarted);
}

/* ---- the first stop of any vCPU ends every vCPU ---------------------------------- */

static bool ap_crash(void)
{
	struct kr_vm *vm = smp_vm(2, crash_code, sizeof(crash_code));
	struct kr_stop s;
	bool ok = vm && run(vm, &s) &&
		  stopped_as(&s, KR_STOP_EXCEPTION, 1, "#UD (invalid opcode)") &&
		  KT_EXPECT(strncmp(s.message, "vCPU 1: ", 8) == 0, "message \"%s\" does not start "
			 "with \"vCPU 1: \"", s.message) &&
		  KT_EXPECT(s.have_state && s.regs.rip == LOAD + 0x20, "state of vCPU 1: rip 0x%llx",
			 (unsigned long long)s.regs.rip) &&
		  /* vCPU 1's own TSS, so its exception stack is its own (IST1). */
		  KT_EXPECT(s.sregs.tr.base == KR_AP_TSS_GPA(1), "vCPU 1's TR base 0x%llx",
			 (unsigned long long)s.sregs.tr.base) &&
		  KT_EXPECT(s.exception.rsp == 0x201000, "the frame's RSP 0x%llx (vCPU 1's stack)",
			 (unsigned long long)s.exception.rsp) &&
		  KT_EXPECT(kr_vm_run(vm, &s) < 0 && strstr(kr_last_error(), "cannot be resumed"),
			 "a run after the crash: %s", kr_last_error());
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(smp_ap_crash_ends_the_spinning_bsp)
{
	RUN_BOUNDED(ap_crash);
}

static bool ap_spins_bsp_exits(void)
{
	struct kr_vm *vm = smp_vm(2, exit7_code, sizeof(exit7_code));
	struct kr_stop s;
	bool ok = vm && run(vm, &s) && stopped_as(&s, KR_STOP_EXIT, 0, "status 7") &&
		  KT_EXPECT(s.exit_code == 7, "exit code %d", s.exit_code);
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(smp_bsp_exit_ends_the_spinning_ap)
{
	RUN_BOUNDED(ap_spins_bsp_exits);
}

struct stopper {
	struct kr_vm *vm;
	volatile uint8_t *flag;
};

static void *stop_once_ap_runs(void *arg)
{
	struct stopper *st = arg;
	while (!__atomic_load_n(st->flag, __ATOMIC_SEQ_CST))
		sched_yield();
	struct timespec ts = {0, 20 * 1000000}; /* both vCPUs in the guest, surely */
	nanosleep(&ts, NULL);
	kr_vm_stop(st->vm, KR_STOP_REQUESTED, 0, "stopped by another thread");
	return NULL;
}

/* Two spinning vCPUs, stopped from another thread; twice, as a stopped run resumes. */
static bool stop_two_spinning(void)
{
	struct kr_vm *vm = smp_vm(2, spin2_code, sizeof(spin2_code));
	if (!vm)
		return false;
	struct stopper st = {vm, kr_gpa_ptr(vm, SPIN2_FLAG, 1)};
	bool ok = true;
	for (int round = 0; round < 2 && ok; round++) {
		pthread_t t;
		if (pthread_create(&t, NULL, stop_once_ap_runs, &st) != 0) {
			kr_vm_destroy(vm);
			return kvmtest_fail("pthread_create");
		}
		struct kr_stop s;
		ok = run(vm, &s) && stopped_as(&s, KR_STOP_REQUESTED, 0, "another thread");
		pthread_join(t, NULL);
	}
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(smp_stop_from_another_thread_ends_both_vcpus)
{
	RUN_BOUNDED(stop_two_spinning);
}

/* ---- an AP's VMM failure reaches kr_vm_run's caller -------------------------------- */

static int fail_on_ap(struct kr_vm *vm, void *opaque, uint64_t port, void *data, uint32_t size,
		      bool is_write)
{
	(void)vm, (void)opaque, (void)port, (void)data, (void)size, (void)is_write;
	return -1; /* a device's own failure */
}

/*
 * vCPU 1 writes to port 0x99, whose device fails; vCPU 0 spins.
 *	mov edi, 1; lea rsi, [rip+ap]; mov ecx, 0x201000; xor ebx, ebx
 *	mov eax, 4; mov edx, 0x500; out dx, eax; jmp $
 * ap:	out 0x99, al; hlt
 */
static const uint8_t ap_port_code[] = {
	0xbf, 0x01, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x35, 0x14, 0x00, 0x00, 0x00, 0xb9,
	0x00, 0x10, 0x20, 0x00, 0x31, 0xdb, 0xb8, 0x04, 0x00, 0x00, 0x00, 0xba, 0x00,
	0x05, 0x00, 0x00, 0xef, 0xeb, 0xfe, 0xe6, 0x99, 0xf4,
};

static bool ap_vmm_failure(void)
{
	struct kr_vm_config cfg;
	struct kr_vm *vm;
	struct kr_image img;
	kr_vm_config_init(&cfg);
	cfg.mem_size = 8u << 20;
	cfg.cpus = 2;
	cfg.console_fd = devnull();
	if (kr_vm_create(&vm, &cfg) < 0)
		return kvmtest_fail("kr_vm_create: %s", kr_last_error());
	bool ok = KT_EXPECT(kr_bus_register(vm, KR_SPACE_PIO, 0x99, 1, fail_on_ap, NULL) == 0, "bus") &&
		  KT_EXPECT(kr_load_buffer(vm, ap_port_code, sizeof(ap_port_code), NULL, &img) == 0 &&
				 kr_vcpu_prepare(vm, &img) == 0,
			 "prepare: %s", kr_last_error());
	struct kr_stop s;
	ok = ok && KT_EXPECT(kr_vm_run(vm, &s) < 0, "kr_vm_run succeeded (%s)", s.message) &&
	     KT_EXPECT(strstr(kr_last_error(), "vCPU 1: run: handling KVM_EXIT_IO"),
		    "the caller's error is \"%s\"", kr_last_error());
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(smp_ap_vmm_failure_reaches_the_caller)
{
	RUN_BOUNDED(ap_vmm_failure);
}

/* ---- memory slots stay as they are while several vCPUs run --------------------------- */

struct slot_change {
	int slot;
	int removed, added;
	char why[256];
};

/* Port 0x99 (written by vCPU 1 while vCPU 0 spins): try to change the slots, then stop. */
static int change_slots(struct kr_vm *vm, void *opaque, uint64_t port, void *data, uint32_t size,
			bool is_write)
{
	(void)port, (void)data, (void)size, (void)is_write;
	struct slot_change *c = opaque;
	c->removed = kr_mem_remove(vm, c->slot);
	snprintf(c->why, sizeof(c->why), "%s", kr_last_error());
	c->added = kr_mem_add(vm, 1ull << 32, 4096, 0, NULL);
	kr_vm_stop(vm, KR_STOP_REQUESTED, 0, "slots tried");
	return 0;
}

static bool slots_fixed_in_a_run(void)
{
	struct kr_vm_config cfg;
	struct kr_vm *vm;
	struct kr_image img;
	kr_vm_config_init(&cfg);
	cfg.mem_size = 8u << 20;
	cfg.cpus = 2;
	cfg.console_fd = devnull();
	if (kr_vm_create(&vm, &cfg) < 0)
		return kvmtest_fail("kr_vm_create: %s", kr_last_error());
	struct slot_change c = {.slot = -1};
	bool ok = KT_EXPECT(kr_mem_add(vm, 0x40000000, 4096, 0, &c.slot) == 0, "kr_mem_add: %s",
			 kr_last_error()) &&
		  KT_EXPECT(kr_bus_register(vm, KR_SPACE_PIO, 0x99, 1, change_slots, &c) == 0, "bus") &&
		  KT_EXPECT(kr_load_buffer(vm, ap_port_code, sizeof(ap_port_code), NULL, &img) == 0 &&
				 kr_vcpu_prepare(vm, &img) == 0,
			 "prepare: %s", kr_last_error());
	struct kr_stop s;
	ok = ok && KT_EXPECT(kr_vm_run(vm, &s) == 0 && s.reason == KR_STOP_REQUESTED, "run: %s",
			  kr_last_error()) &&
	     KT_EXPECT(c.removed < 0 && c.added < 0, "a slot changed in the run (%d, %d)", c.removed,
		    c.added) &&
	     KT_EXPECT(strstr(c.why, "while the VM's 2 vCPUs run"), "the refusal says \"%s\"", c.why) &&
	     /* between runs it may */
	     KT_EXPECT(kr_mem_remove(vm, c.slot) == 0, "kr_mem_remove after the run: %s",
		    kr_last_error());
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(smp_slots_do_not_change_while_vcpus_run)
{
	RUN_BOUNDED(slots_fixed_in_a_run);
}

/* ---- KVMRUN_HC_START_CPU's refusals ------------------------------------------------- */

/* startq with its table: two calls (cpu, entry, stack), on `cpus` vCPUs. */
static bool startq(unsigned cpus, const uint64_t call[6], enum kr_stop_reason reason,
		   const char *needle)
{
	uint8_t code[STARTQ_TABLE + 48];
	memset(code, 0, sizeof(code));
	memcpy(code, startq_code, sizeof(startq_code));
	memcpy(code + STARTQ_TABLE, call, 48);
	struct kr_vm *vm = smp_vm(cpus, code, sizeof(code));
	struct kr_stop s;
	bool ok = vm && run(vm, &s) && stopped_as(&s, reason, 0, needle);
	kr_vm_destroy(vm);
	return ok;
}

static bool start_refusals(void)
{
	const uint64_t stack = 0x201000, ap = STARTQ_AP;
	/* Both good (vCPUs 1 and 2 halt at once): the guest exits with 42. */
	return startq(3, (const uint64_t[]){1, ap, stack, 2, ap, stack + 0x1000}, KR_STOP_EXIT,
		      "status 42") &&
	       startq(2, (const uint64_t[]){0, ap, stack, 1, ap, stack}, KR_STOP_GUEST_ERROR,
		      "vCPU 0 is the boot processor") &&
	       startq(2, (const uint64_t[]){2, ap, stack, 1, ap, stack}, KR_STOP_GUEST_ERROR,
		      "vCPU 2 does not exist") &&
	       startq(1, (const uint64_t[]){1, ap, stack, 1, ap, stack}, KR_STOP_GUEST_ERROR,
		      "vCPU 1 does not exist") &&
	       startq(2, (const uint64_t[]){1ull << 32, ap, stack, 1, ap, stack},
		      KR_STOP_GUEST_ERROR, "does not exist") &&
	       startq(2, (const uint64_t[]){1, ap, stack, 1, ap, stack}, KR_STOP_GUEST_ERROR,
		      "vCPU 1 was started already") &&
	       startq(2, (const uint64_t[]){1, 0x0000800000000000ull, stack, 1, ap, stack},
		      KR_STOP_GUEST_ERROR, "entry 0x800000000000 of vCPU 1 is not canonical") &&
	       startq(2, (const uint64_t[]){1, ap, 0xffff700000000000ull, 1, ap, stack},
		      KR_STOP_GUEST_ERROR, "stack 0xffff700000000000 of vCPU 1 is not canonical");
}

UNIT_TEST(smp_start_cpu_refuses_bad_arguments)
{
	RUN_BOUNDED(start_refusals);
}

/* ---- the count, and what does not take several vCPUs yet ---------------------------- */

UNIT_TEST(smp_cpus_count_is_checked)
{
	struct kr_vm_config cfg;
	struct kr_vm *vm = NULL;
	kr_vm_config_init(&cfg);
	CHECK_EQ(cfg.cpus, 1);
	cfg.cpus = 0;
	CHECK_FAILS_WITH(kr_vm_create(&vm, &cfg), "0 vCPUs: the count must be between 1 and 64");
	CHECK_EQ(kr_last_error_code(), KR_E_BAD_ARG);
	cfg.cpus = KR_MAX_CPUS + 1;
	CHECK_FAILS_WITH(kr_vm_create(&vm, &cfg), "65 vCPUs");
	CHECK_EQ(kr_last_error_code(), KR_E_BAD_ARG);
	CHECK(vm == NULL);
}

UNIT_TEST(smp_features_of_one_vcpu_refuse_several)
{
	struct kvmtest_vm one;
	struct kr_snapshot *snap = NULL;
	if (!kvmtest_start(&one, KR_MODE_LONG))
		return;
	static const uint8_t hlt[] = {0xf4};
	if (!kvmtest_load(one.vm, hlt, sizeof(hlt), NULL, 0) || kr_snapshot_take(one.vm, &snap) < 0) {
		unit_fail(__FILE__, __LINE__, "snapshot of one vCPU: %s", kr_last_error());
		kvmtest_end(&one);
		return;
	}
	struct kr_vm *vm = smp_vm(2, hlt, sizeof(hlt));
	CHECK(vm != NULL);
	if (vm) {
		struct kr_snapshot *s2 = NULL;
		CHECK_FAILS_WITH(kr_snapshot_take(vm, &s2), "snapshot: not with 2 vCPUs");
		CHECK_EQ(kr_last_error_code(), KR_E_BAD_ARG);
		CHECK_FAILS_WITH(kr_vm_reset(vm, snap), "reset: not with 2 vCPUs");
		CHECK_FAILS_WITH(kr_vm_reset_full(vm, snap), "reset: not with 2 vCPUs");
		uint64_t result;
		CHECK_FAILS_WITH(kr_vm_call(vm, "f", NULL, 0, NULL, &result, NULL),
				 "call: not with 2 vCPUs");
		CHECK_EQ(kr_last_error_code(), KR_E_BAD_ARG);
		kr_vm_destroy(vm);
	}
	struct kr_vm_config cfg;
	struct kr_vm *restored = NULL;
	kr_vm_config_init(&cfg);
	cfg.cpus = 2;
	CHECK_FAILS_WITH(kr_vm_restore(&restored, snap, &cfg), "restore: not with 2 vCPUs");
	CHECK(restored == NULL);
	kr_snapshot_free(snap);
	kvmtest_end(&one);
}

/* ---- the PC platform: the APs wait in KVM for INIT/SIPI ------------------------------ */

/*
 * With the in-kernel LAPIC (cfg.pc) every AP thread enters KVM_RUN at once,
 * where KVM holds the AP (it waits for the guest's INIT and SIPI, which this
 * guest never sends). vCPU 0 spins a while, then exits: the stop must reach
 * the APs blocked in the kernel, or the run never returns.
 *	mov ecx, 100000
 * 1:	dec ecx; jnz 1b
 *	mov edi, 5; mov eax, 2; mov edx, 0x500; out dx, eax; hlt
 */
static const uint8_t pc_exit5_code[] = {
	0xb9, 0xa0, 0x86, 0x01, 0x00, 0xff, 0xc9, 0x75, 0xfc, 0xbf, 0x05, 0x00, 0x00,
	0x00, 0xb8, 0x02, 0x00, 0x00, 0x00, 0xba, 0x00, 0x05, 0x00, 0x00, 0xef, 0xf4,
};

static bool pc_aps_wait_in_kvm(void)
{
	struct kr_vm_config cfg;
	struct kr_vm *vm;
	struct kr_image img;
	kr_vm_config_init(&cfg);
	cfg.mem_size = 8u << 20;
	cfg.cpus = 3;
	cfg.pc = true;
	cfg.console_fd = devnull();
	if (kr_vm_create(&vm, &cfg) < 0)
		return kvmtest_fail("kr_vm_create(pc, 3 vCPUs): %s", kr_last_error());
	struct kr_stop s;
	bool ok = KT_EXPECT(kr_load_buffer(vm, pc_exit5_code, sizeof(pc_exit5_code), NULL, &img) == 0 &&
				 kr_vcpu_prepare(vm, &img) == 0,
			 "prepare: %s", kr_last_error()) &&
		  run(vm, &s) && stopped_as(&s, KR_STOP_EXIT, 0, "status 5");
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(smp_pc_aps_blocked_in_kvm_stop_with_the_run)
{
	RUN_BOUNDED(pc_aps_wait_in_kvm);
}

/* ---- 32-bit code: the argument in EBX, the entry and stack as 32-bit values --------- */

/*
 * prot32, protected mode (no paging): vCPU 0 starts vCPU 1 at `ap` with
 * the address of `flag` as the argument; vCPU 1 checks that its index (ESI)
 * is 1, sets the flag to 0x5a and halts; vCPU 0 waits for it, EXIT(9).
 *	call 1f; 1: pop ebp
 *	mov edi, 1; lea esi, [ebp+ap-1b]; mov ecx, 0x201000; lea ebx, [ebp+flag-1b]
 *	mov eax, 4; mov edx, 0x500; out dx, eax
 * 2:	cmp byte ptr [ebp+flag-1b], 0; je 2b
 *	mov edi, 9; mov eax, 2; out dx, eax; hlt
 * ap:	cmp esi, 1; jne 3f; push 0x5a; pop eax; mov [edi], al
 * 3:	hlt
 * flag (offset 0x47): .byte 0
 */
static const uint8_t prot32_code[] = {
	0xe8, 0x00, 0x00, 0x00, 0x00, 0x5d, 0xbf, 0x01, 0x00, 0x00, 0x00, 0x8d, 0xb5,
	0x37, 0x00, 0x00, 0x00, 0xb9, 0x00, 0x10, 0x20, 0x00, 0x8d, 0x9d, 0x42, 0x00,
	0x00, 0x00, 0xb8, 0x04, 0x00, 0x00, 0x00, 0xba, 0x00, 0x05, 0x00, 0x00, 0xef,
	0x80, 0xbd, 0x42, 0x00, 0x00, 0x00, 0x00, 0x74, 0xf7, 0xbf, 0x09, 0x00, 0x00,
	0x00, 0xb8, 0x02, 0x00, 0x00, 0x00, 0xef, 0xf4, 0x83, 0xfe, 0x01, 0x75, 0x05,
	0x6a, 0x5a, 0x58, 0x88, 0x07, 0xf4, 0x00,
};

static bool protected_mode_start(void)
{
	struct kr_vm_config cfg;
	struct kr_vm *vm;
	struct kr_image img;
	kr_vm_config_init(&cfg);
	cfg.mode = KR_MODE_PROTECTED;
	cfg.mem_size = 8u << 20;
	cfg.cpus = 2;
	cfg.console_fd = devnull();
	if (kr_vm_create(&vm, &cfg) < 0)
		return kvmtest_fail("kr_vm_create: %s", kr_last_error());
	struct kr_stop s;
	bool ok = KT_EXPECT(kr_load_buffer(vm, prot32_code, sizeof(prot32_code), NULL, &img) == 0 &&
				 kr_vcpu_prepare(vm, &img) == 0,
			 "prepare: %s", kr_last_error()) &&
		  run(vm, &s) && stopped_as(&s, KR_STOP_EXIT, 0, "status 9");
	if (ok) {
		uint8_t *flag = kr_gpa_ptr(vm, LOAD + 0x47, 1);
		ok = KT_EXPECT(flag && *flag == 0x5a, "the flag is 0x%x", flag ? *flag : 0);
	}
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(smp_start_cpu_in_protected_mode)
{
	RUN_BOUNDED(protected_mode_start);
}

/* ---- the exit observer, called from every vCPU's thread -------------------------------- */

struct seen {
	uint64_t exits[4]; /* by vCPU: plain counters, the library calls one at a time */
	uint64_t last_seq;
	bool seq_unique;
};

static void observe(struct kr_vm *vm, void *opaque, const struct kr_exit_record *rec)
{
	(void)vm;
	struct seen *s = opaque;
	if (rec->vcpu < 4)
		s->exits[rec->vcpu]++;
	if (s->exits[0] + s->exits[1] + s->exits[2] + s->exits[3] > 1 && rec->seq == s->last_seq)
		s->seq_unique = false;
	s->last_seq = rec->seq;
}

static bool observer_on_four(void)
{
	struct kr_vm *vm = smp_vm(4, count_code, sizeof(count_code));
	if (!vm)
		return false;
	struct seen seen = {.seq_unique = true};
	kr_vm_observe_exits(vm, observe, &seen, true);
	struct kr_stop s;
	/* vCPU 0: 3 starts and the EXIT; each AP: its HLT. */
	bool ok = run(vm, &s) && stopped_as(&s, KR_STOP_EXIT, 0, "status 4") &&
		  KT_EXPECT(seen.exits[0] == 4 && seen.exits[1] == 1 && seen.exits[2] == 1 &&
				 seen.exits[3] == 1,
			 "exits by vCPU: %llu %llu %llu %llu", (unsigned long long)seen.exits[0],
			 (unsigned long long)seen.exits[1], (unsigned long long)seen.exits[2],
			 (unsigned long long)seen.exits[3]) &&
		  KT_EXPECT(seen.seq_unique, "two exits with one sequence number");
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(smp_observer_sees_each_vcpu_one_call_at_a_time)
{
	RUN_BOUNDED(observer_on_four);
}

/* ---- console output: lines stay whole -------------------------------------------------- */

/*
 * lines: vCPU 0 starts vCPUs 1 and 2 with the letters 'B' and 'C'; every
 * vCPU prints 20 lines of 30 times its letter ('A' for vCPU 0), byte by
 * byte on port 0xE9; vCPU 0 waits for the others and exits with 0.
 *	mov edi, 1; lea rsi, [rip+ap]; mov ecx, 0x201000; mov ebx, 'B'
 *	mov eax, 4; mov edx, 0x500; out dx, eax
 *	mov edi, 2; mov ecx, 0x202000; mov ebx, 'C'; mov eax, 4; out dx, eax
 *	mov edi, 'A'; call lines
 * 1:	cmp qword ptr [rip+done], 2; jne 1b
 *	xor edi, edi; mov eax, 2; mov edx, 0x500; out dx, eax; hlt
 * ap:	call lines; lock inc qword ptr [rip+done]; hlt
 * lines: mov r9d, 20
 * 2:	mov ecx, 30
 * 3:	mov eax, edi; out 0xe9, al; dec ecx; jnz 3b
 *	mov al, 10; out 0xe9, al; dec r9d; jnz 2b; ret
 * done (offset 0x88): .quad 0
 */
static const uint8_t lines_code[] = {
	0xbf, 0x01, 0x00, 0x00, 0x00, 0x48, 0x8d, 0x35, 0x4c, 0x00, 0x00, 0x00, 0xb9,
	0x00, 0x10, 0x20, 0x00, 0xbb, 0x42, 0x00, 0x00, 0x00, 0xb8, 0x04, 0x00, 0x00,
	0x00, 0xba, 0x00, 0x05, 0x00, 0x00, 0xef, 0xbf, 0x02, 0x00, 0x00, 0x00, 0xb9,
	0x00, 0x20, 0x20, 0x00, 0xbb, 0x43, 0x00, 0x00, 0x00, 0xb8, 0x04, 0x00, 0x00,
	0x00, 0xef, 0xbf, 0x41, 0x00, 0x00, 0x00, 0xe8, 0x26, 0x00, 0x00, 0x00, 0x48,
	0x83, 0x3d, 0x40, 0x00, 0x00, 0x00, 0x02, 0x75, 0xf6, 0x31, 0xff, 0xb8, 0x02,
	0x00, 0x00, 0x00, 0xba, 0x00, 0x05, 0x00, 0x00, 0xef, 0xf4, 0xe8, 0x09, 0x00,
	0x00, 0x00, 0xf0, 0x48, 0xff, 0x05, 0x23, 0x00, 0x00, 0x00, 0xf4, 0x41, 0xb9,
	0x14, 0x00, 0x00, 0x00, 0xb9, 0x1e, 0x00, 0x00, 0x00, 0x89, 0xf8, 0xe6, 0xe9,
	0xff, 0xc9, 0x75, 0xf8, 0xb0, 0x0a, 0xe6, 0xe9, 0x41, 0xff, 0xc9, 0x75, 0xea,
	0xc3, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00,
};

static bool whole_lines(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return kvmtest_fail("pipe2");
	struct kr_vm_config cfg;
	struct kr_vm *vm;
	struct kr_image img;
	kr_vm_config_init(&cfg);
	cfg.mem_size = 8u << 20;
	cfg.cpus = 3;
	cfg.console_fd = p[1];
	if (kr_vm_create(&vm, &cfg) < 0)
		return kvmtest_fail("kr_vm_create: %s", kr_last_error());
	struct kr_stop s;
	bool ok = KT_EXPECT(kr_load_buffer(vm, lines_code, sizeof(lines_code), NULL, &img) == 0 &&
				 kr_vcpu_prepare(vm, &img) == 0,
			 "prepare: %s", kr_last_error()) &&
		  run(vm, &s) && stopped_as(&s, KR_STOP_EXIT, 0, "status 0");
	kr_vm_destroy(vm);
	close(p[1]);
	/* 60 lines of 31 bytes fit in the pipe's 64 KiB: read them all now. */
	static char out[4096];
	size_t used = 0;
	ssize_t n;
	while ((n = read(p[0], out + used, sizeof(out) - 1 - used)) > 0)
		used += (size_t)n;
	close(p[0]);
	out[used] = '\0';
	int counts[3] = {0};
	for (char *line = out; ok && *line;) {
		char *nl = strchr(line, '\n');
		ok = KT_EXPECT(nl && nl - line == 30 && line[0] >= 'A' && line[0] <= 'C' &&
				    strspn(line, (char[]){line[0], 0}) == 30,
			    "a mixed line: \"%.40s\"", line);
		if (ok)
			counts[line[0] - 'A']++;
		line = nl ? nl + 1 : line + strlen(line);
	}
	return ok && KT_EXPECT(counts[0] == 20 && counts[1] == 20 && counts[2] == 20,
			    "lines by vCPU: %d %d %d", counts[0], counts[1], counts[2]);
}

UNIT_TEST(smp_console_lines_of_two_vcpus_do_not_mix)
{
	RUN_BOUNDED(whole_lines);
}

/* ---- the timeout: its signal goes to vCPU 0's thread, the stop to every vCPU ------------ */

static bool timeout_two_spinning(void)
{
	struct kr_vm_config cfg;
	struct kr_vm *vm;
	struct kr_image img;
	kr_vm_config_init(&cfg);
	cfg.mem_size = 8u << 20;
	cfg.cpus = 2;
	cfg.timeout_ns = 1000 * 1000000ull; /* generous: vCPU 1 must have run by then */
	cfg.console_fd = devnull();
	if (kr_vm_create(&vm, &cfg) < 0)
		return kvmtest_fail("kr_vm_create: %s", kr_last_error());
	struct kr_stop s;
	bool ok = KT_EXPECT(kr_load_buffer(vm, spin2_code, sizeof(spin2_code), NULL, &img) == 0 &&
				 kr_vcpu_prepare(vm, &img) == 0,
			 "prepare: %s", kr_last_error()) &&
		  run(vm, &s) && stopped_as(&s, KR_STOP_TIMEOUT, 0, "timeout of 1000 ms");
	if (ok) {
		uint8_t *flag = kr_gpa_ptr(vm, SPIN2_FLAG, 1);
		ok = KT_EXPECT(flag && *flag == 1, "vCPU 1 never ran");
	}
	/* Resumable: a second run times out the same way, both vCPUs running again. */
	ok = ok && run(vm, &s) && stopped_as(&s, KR_STOP_TIMEOUT, 0, "timeout of 1000 ms");
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(smp_timeout_ends_two_spinning_vcpus)
{
	RUN_BOUNDED(timeout_two_spinning);
}

/* Each AP's TSS names an exception stack (IST1) of its own, apart from vCPU 0's. */
UNIT_TEST(smp_each_ap_has_its_own_exception_stack)
{
	static const uint8_t hlt[] = {0xf4};
	struct kr_vm_config cfg;
	struct kr_vm *vm;
	struct kr_image img;
	kr_vm_config_init(&cfg);
	cfg.mem_size = 8u << 20;
	cfg.cpus = 3;
	CHECK_OK(kr_vm_create(&vm, &cfg));
	if (!vm)
		return;
	CHECK_OK(kr_load_buffer(vm, hlt, sizeof(hlt), NULL, &img));
	CHECK_OK(kr_vcpu_prepare(vm, &img));
	uint64_t ist[3];
	for (unsigned id = 0; id < 3; id++) {
		uint64_t tss = id ? KR_AP_TSS_GPA(id) : KR_TSS_GPA;
		const uint8_t *p = kr_gpa_ptr(vm, tss + offsetof(struct kr_tss64, ist), 8);
		CHECK(p != NULL);
		ist[id] = 0;
		if (p)
			memcpy(&ist[id], p, 8);
	}
	CHECK_EQ(ist[0], KR_EXCEPTION_STACK_TOP);
	CHECK_EQ(ist[1], KR_AP_STACK_TOP(1));
	CHECK_EQ(ist[2], KR_AP_STACK_TOP(2));
	CHECK(ist[1] != ist[0] && ist[2] != ist[1]);
	/* The slots lie in kvmrun's system area, past the page tables. */
	CHECK(KR_AP_TSS_GPA(1) >= KR_PAGE_TABLES_END && KR_AP_STACK_TOP(KR_MAX_CPUS - 1) <= KVMRUN_SYSTEM_AREA_END);
	kr_vm_destroy(vm);
}

/* ---- held vCPUs (vm->held: the gdb stub steps one vCPU and holds the others) ---------- */

/*
 * count with 2 vCPUs: the AP held, vCPU 0 starts it and waits for it in
 * vain until the timeout (however long: the AP never runs); then vCPU 0
 * held, only the AP runs, counts and halts, which ends the run; nothing is
 * left to run with vCPU 0 held; and no longer held, vCPU 0 finds the count.
 */
static bool held_count(void)
{
	struct kr_vm *vm = smp_vm(2, count_code, sizeof(count_code));
	if (!vm)
		return false;
	vm->cfg.timeout_ns = 300 * 1000000ull;
	uint64_t *counter = kr_gpa_ptr(vm, LOAD + COUNT_COUNTER, 8);
	struct kr_stop s;
	struct kvm_regs before, after;
	vm->held = 1u << 1;
	bool ok = run(vm, &s) && stopped_as(&s, KR_STOP_TIMEOUT, 0, "timeout") &&
		  KT_EXPECT(*counter == 0, "the held AP counted %llu", (unsigned long long)*counter) &&
		  KT_EXPECT(vm->vcpus[1].started, "vCPU 0 did not start vCPU 1");
	vm->held = 1u << 0;
	ok = ok && KT_EXPECT(kr_vcpu_get_regs_of(&vm->vcpus[0], &before) == 0, "regs: %s",
			  kr_last_error()) &&
	     run(vm, &s) && stopped_as(&s, KR_STOP_REQUESTED, 0, "every vCPU that ran halted") &&
	     KT_EXPECT(*counter == 1, "the AP counted %llu", (unsigned long long)*counter) &&
	     KT_EXPECT(kr_vcpu_get_regs_of(&vm->vcpus[0], &after) == 0, "regs: %s", kr_last_error()) &&
	     KT_EXPECT(after.rip == before.rip && after.rdi == before.rdi,
		    "held vCPU 0 moved: rip 0x%llx -> 0x%llx", (unsigned long long)before.rip,
		    (unsigned long long)after.rip);
	ok = ok && KT_EXPECT(kr_vm_run(vm, &s) < 0 && strstr(kr_last_error(), "no vCPU to run"),
			  "a run with vCPU 0 held and the AP halted: %s", kr_last_error());
	vm->held = 0;
	ok = ok && run(vm, &s) && stopped_as(&s, KR_STOP_EXIT, 0, "status") &&
	     KT_EXPECT(s.exit_code == 2, "status %d", s.exit_code);
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(smp_held_vcpus_stay_where_they_are)
{
	RUN_BOUNDED(held_count);
}

/*
 * spin2: with vCPU 0 held, the thread of kr_vm_run runs no vCPU, yet the
 * timeout and a kr_vm_stop from another thread end the AP's run.
 */
static void *stop_in_the_run(void *arg)
{
	struct kr_vm *vm = arg;
	while (atomic_load(&vm->running_tid) == 0)
		sched_yield();
	kr_vm_stop(vm, KR_STOP_REQUESTED, 0, "stopped from another thread");
	return NULL;
}

static bool held_bsp_stops(void)
{
	struct kr_vm *vm = smp_vm(2, spin2_code, sizeof(spin2_code));
	if (!vm)
		return false;
	vm->cfg.timeout_ns = 1000 * 1000000ull; /* generous: vCPU 1 must have run by then */
	uint8_t *flag = kr_gpa_ptr(vm, SPIN2_FLAG, 1);
	struct kr_stop s;
	bool ok = run(vm, &s) && stopped_as(&s, KR_STOP_TIMEOUT, 0, "timeout") &&
		  KT_EXPECT(*flag == 1, "vCPU 1 never ran");
	vm->held = 1u << 0;
	ok = ok && run(vm, &s) && stopped_as(&s, KR_STOP_TIMEOUT, 0, "timeout of 1000 ms");
	pthread_t t;
	ok = ok && KT_EXPECT(pthread_create(&t, NULL, stop_in_the_run, vm) == 0, "pthread_create");
	if (ok) {
		vm->cfg.timeout_ns = 0;
		ok = run(vm, &s) && stopped_as(&s, KR_STOP_REQUESTED, 0, "from another thread");
		pthread_join(t, NULL);
	}
	vm->held = 0;
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(smp_held_bsp_run_ends_at_timeout_and_stop)
{
	RUN_BOUNDED(held_bsp_stops);
}

/* ---- gdb over a socket pair, two vCPUs: the protocol as the stub serves it ---------------- */

#define COUNT_AP (LOAD + 0x58) /* count_code's `ap`: lock inc qword [rdi]; hlt */

/* The debugger's end: one packet out (framed), its ack in. */
static bool gdb_put(int fd, const char *p)
{
	char out[600];
	unsigned sum = 0;
	for (const char *c = p; *c; c++)
		sum += (unsigned char)*c;
	int n = snprintf(out, sizeof(out), "$%s#%02x", p, sum & 0xff);
	char ack;
	return write(fd, out, (size_t)n) == n && read(fd, &ack, 1) == 1 && ack == '+';
}

/* One packet in (its payload into buf), acknowledged. */
static bool gdb_get(int fd, char *buf, size_t cap)
{
	char c;
	size_t n = 0;
	do
		if (read(fd, &c, 1) != 1)
			return false;
	while (c != '$');
	for (;;) {
		if (read(fd, &c, 1) != 1)
			return false;
		if (c == '#')
			break;
		if (n + 1 < cap)
			buf[n++] = c;
	}
	buf[n] = '\0';
	char sum[2];
	return read(fd, sum, 2) == 2 && write(fd, "+", 1) == 1;
}

struct gdb_script {
	int fd;
	bool ok;
	char failure[400];
};

/* Send `pkt`; the reply must be `want` (NULL: any, left in reply). */
static bool gdb_ask(struct gdb_script *sc, const char *pkt, const char *want, char *reply,
		    size_t cap)
{
	if (!gdb_put(sc->fd, pkt) || !gdb_get(sc->fd, reply, cap)) {
		snprintf(sc->failure, sizeof(sc->failure), "'%s': the connection failed", pkt);
		return false;
	}
	if (want && strcmp(reply, want) != 0) {
		snprintf(sc->failure, sizeof(sc->failure), "'%s' -> '%.200s', expected '%s'", pkt,
			 reply, want);
		return false;
	}
	return true;
}

/* RIP from a g reply of the x86-64 set: the 17th register, little-endian hex. */
static uint64_t g_rip(const char *g)
{
	uint64_t rip = 0;
	if (strlen(g) < 16 * 16 + 16)
		return 0;
	for (int i = 7; i >= 0; i--) {
		unsigned b;
		if (sscanf(g + 16 * 16 + 2 * i, "%2x", &b) != 1)
			return 0;
		rip = rip << 8 | b;
	}
	return rip;
}

static void *gdb_session(void *arg)
{
	struct gdb_script *sc = arg;
	static char r[8192];
	char pkt[64], hex_ns[64] = "", hex_run[64] = "";
	const char *ns = "vCPU 1, not started", *rn = "vCPU 1, running";
	for (size_t i = 0; ns[i]; i++)
		snprintf(hex_ns + 2 * i, 3, "%02x", (unsigned char)ns[i]);
	for (size_t i = 0; rn[i]; i++)
		snprintf(hex_run + 2 * i, 3, "%02x", (unsigned char)rn[i]);
	snprintf(pkt, sizeof(pkt), "Z1,%x,1", COUNT_AP);
	char unbreak[64];
	snprintf(unbreak, sizeof(unbreak), "z1,%x,1", COUNT_AP);
	uint64_t rip;
	sc->ok = gdb_ask(sc, "qfThreadInfo", "m1,2", r, sizeof(r)) &&
		 gdb_ask(sc, "qThreadExtraInfo,2", hex_ns, r, sizeof(r)) &&
		 gdb_ask(sc, pkt, "OK", r, sizeof(r)) &&
		 /* vCPU 1 reaches the breakpoint, vCPU 0 waits for it: thread 2 stops */
		 gdb_ask(sc, "vCont;c", "T05thread:02;hwbreak:;", r, sizeof(r)) &&
		 gdb_ask(sc, "qC", "QC2", r, sizeof(r)) &&
		 gdb_ask(sc, "qThreadExtraInfo,2", hex_run, r, sizeof(r)) &&
		 gdb_ask(sc, "g", NULL, r, sizeof(r));
	if (sc->ok && (rip = g_rip(r)) != COUNT_AP) {
		snprintf(sc->failure, sizeof(sc->failure), "thread 2's rip 0x%llx, expected 0x%x",
			 (unsigned long long)rip, COUNT_AP);
		sc->ok = false;
	}
	sc->ok = sc->ok && gdb_ask(sc, "Hg1", "OK", r, sizeof(r)) && gdb_ask(sc, "g", NULL, r, sizeof(r));
	if (sc->ok && ((rip = g_rip(r)) < LOAD || rip >= COUNT_AP)) {
		snprintf(sc->failure, sizeof(sc->failure), "thread 1's rip 0x%llx, not vCPU 0's",
			 (unsigned long long)rip);
		sc->ok = false;
	}
	/*
	 * Memory by virtual address goes through the selected thread's page
	 * tables: vCPU 1's CR3 (register 0x3d) pointed at zeroed memory, its
	 * thread finds nothing mapped at the code while vCPU 0's reads it.
	 */
	char cr3[32] = "", set_cr3[48];
	sc->ok = sc->ok && gdb_ask(sc, "Hg2", "OK", r, sizeof(r)) && gdb_ask(sc, "p3d", NULL, r, sizeof(r));
	if (sc->ok)
		snprintf(cr3, sizeof(cr3), "%.16s", r);
	snprintf(set_cr3, sizeof(set_cr3), "P3d=%s", cr3);
	sc->ok = sc->ok && gdb_ask(sc, "P3d=0000600000000000", "OK", r, sizeof(r)) &&
		 gdb_ask(sc, "m100000,4", "E0e", r, sizeof(r)) &&
		 gdb_ask(sc, "Hg1", "OK", r, sizeof(r)) &&
		 gdb_ask(sc, "m100000,4", "4989d441", r, sizeof(r)) &&
		 gdb_ask(sc, "Hg2", "OK", r, sizeof(r)) && gdb_ask(sc, set_cr3, "OK", r, sizeof(r)) &&
		 gdb_ask(sc, "m100000,4", "4989d441", r, sizeof(r));
	/*
	 * Continued while it sits on the breakpoint, vCPU 1 stops there at once
	 * (gdb steps the thread it stopped over first; this is the one gdb
	 * knows nothing of, whose stop another vCPU's took the place of).
	 */
	sc->ok = sc->ok && gdb_ask(sc, "vCont;c", "T05thread:02;hwbreak:;", r, sizeof(r));
	/* vCPU 1 alone steps over its lock inc (vCPU 0 held), then both run to the end. */
	sc->ok = sc->ok && gdb_ask(sc, unbreak, "OK", r, sizeof(r)) &&
		 gdb_ask(sc, "vCont;s:2", "T05thread:02;", r, sizeof(r)) &&
		 gdb_ask(sc, "Hg2", "OK", r, sizeof(r)) && gdb_ask(sc, "g", NULL, r, sizeof(r));
	if (sc->ok && (rip = g_rip(r)) != COUNT_AP + 4) {
		snprintf(sc->failure, sizeof(sc->failure), "after the step thread 2's rip 0x%llx",
			 (unsigned long long)rip);
		sc->ok = false;
	}
	sc->ok = sc->ok && gdb_ask(sc, "vCont;c", "W02", r, sizeof(r));
	shutdown(sc->fd, SHUT_WR); /* as gdb closes: the stub lingers no longer */
	return NULL;
}

static bool gdb_two_vcpus(void)
{
	struct kr_vm *vm = smp_vm(2, count_code, sizeof(count_code));
	if (!vm)
		return false;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		kr_vm_destroy(vm);
		return kvmtest_fail("socketpair: %s", strerror(errno));
	}
	struct gdb_script sc = {.fd = sv[1]};
	pthread_t t;
	bool ok = KT_EXPECT(pthread_create(&t, NULL, gdb_session, &sc) == 0, "pthread_create");
	struct kr_stop s;
	if (ok) {
		int rc = kr_gdb_serve(vm, sv[0], &s);
		shutdown(sv[0], SHUT_RDWR); /* a script that failed half-way stops waiting */
		pthread_join(t, NULL);
		ok = KT_EXPECT(sc.ok, "%s", sc.failure) &&
		     KT_EXPECT(rc == 0, "kr_gdb_serve: %s", kr_last_error()) &&
		     stopped_as(&s, KR_STOP_EXIT, 0, "status") &&
		     KT_EXPECT(s.exit_code == 2, "status %d", s.exit_code);
	}
	close(sv[0]);
	close(sv[1]);
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(smp_gdb_sees_each_vcpu_as_a_thread)
{
	if (!kvmtest_needs("gdb-singlestep"))
		return;
	RUN_BOUNDED(gdb_two_vcpus);
}

/* spin2 under gdb: a Ctrl-C stops both spinning vCPUs, each thread's registers are its own. */
#define SPIN2_AP_LOOP (LOAD + 0x26) /* vCPU 1's jmp $ */

struct ctrl_c_script {
	struct gdb_script sc;
	struct kr_vm *vm;
};

static void *gdb_ctrl_c(void *arg)
{
	struct ctrl_c_script *cs = arg;
	struct gdb_script *sc = &cs->sc;
	static char r[8192];
	const uint8_t *flag = kr_gpa_ptr(cs->vm, SPIN2_FLAG, 1);
	sc->ok = gdb_put(sc->fd, "vCont;c");
	while (sc->ok && __atomic_load_n(flag, __ATOMIC_SEQ_CST) == 0) /* vCPU 1 runs */
		sched_yield();
	sc->ok = sc->ok && write(sc->fd, "\x03", 1) == 1 && gdb_get(sc->fd, r, sizeof(r));
	if (sc->ok && strcmp(r, "T02thread:01;") != 0) {
		snprintf(sc->failure, sizeof(sc->failure), "Ctrl-C -> '%.100s'", r);
		sc->ok = false;
	}
	uint64_t rip;
	sc->ok = sc->ok && gdb_ask(sc, "Hg2", "OK", r, sizeof(r)) && gdb_ask(sc, "g", NULL, r, sizeof(r));
	if (sc->ok && (rip = g_rip(r)) != SPIN2_AP_LOOP) {
		snprintf(sc->failure, sizeof(sc->failure), "thread 2's rip 0x%llx, expected 0x%x",
			 (unsigned long long)rip, SPIN2_AP_LOOP);
		sc->ok = false;
	}
	/*
	 * vCPU 0 at its jmp $ (0x21), or still at the out that started vCPU 1
	 * (0x20) where the back end completes an out only at the next KVM_RUN
	 * (nested KVM) and the stop came first.
	 */
	sc->ok = sc->ok && gdb_ask(sc, "Hg1", "OK", r, sizeof(r)) && gdb_ask(sc, "g", NULL, r, sizeof(r));
	if (sc->ok && (rip = g_rip(r)) != LOAD + 0x21 && rip != LOAD + 0x20) {
		snprintf(sc->failure, sizeof(sc->failure), "thread 1's rip 0x%llx, expected 0x%x",
			 (unsigned long long)rip, LOAD + 0x21);
		sc->ok = false;
	}
	/* Killed whatever happened: the guest spins, and gdb's going away would let it run on. */
	sc->ok = gdb_put(sc->fd, "k") && sc->ok;
	shutdown(sc->fd, SHUT_WR);
	return NULL;
}

static bool gdb_ctrl_c_two_vcpus(void)
{
	struct kr_vm *vm = smp_vm(2, spin2_code, sizeof(spin2_code));
	if (!vm)
		return false;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		kr_vm_destroy(vm);
		return kvmtest_fail("socketpair: %s", strerror(errno));
	}
	struct ctrl_c_script cs = {.sc = {.fd = sv[1]}, .vm = vm};
	pthread_t t;
	bool ok = KT_EXPECT(pthread_create(&t, NULL, gdb_ctrl_c, &cs) == 0, "pthread_create");
	struct kr_stop s;
	if (ok) {
		int rc = kr_gdb_serve(vm, sv[0], &s);
		shutdown(sv[0], SHUT_RDWR);
		pthread_join(t, NULL);
		ok = KT_EXPECT(cs.sc.ok, "%s", cs.sc.failure) &&
		     KT_EXPECT(rc == 0, "kr_gdb_serve: %s", kr_last_error()) &&
		     KT_EXPECT(s.reason == KR_STOP_REQUESTED && strstr(s.message, "killed by gdb"),
			    "stop: %s", s.message);
	}
	close(sv[0]);
	close(sv[1]);
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(smp_gdb_ctrl_c_stops_every_vcpu)
{
	if (!kvmtest_needs("gdb"))
		return;
	RUN_BOUNDED(gdb_ctrl_c_two_vcpus);
}

/* pc_exit5 under gdb: KVM holds the PC platform's APs until INIT/SIPI, and gdb is told so. */
static void *gdb_pc_session(void *arg)
{
	struct gdb_script *sc = arg;
	static char r[512];
	char waits[96] = "";
	const char *text = "vCPU 2, waiting for INIT/SIPI";
	for (size_t i = 0; text[i]; i++)
		snprintf(waits + 2 * i, 3, "%02x", (unsigned char)text[i]);
	sc->ok = gdb_ask(sc, "qfThreadInfo", "m1,2,3", r, sizeof(r)) &&
		 gdb_ask(sc, "qThreadExtraInfo,3", waits, r, sizeof(r)) &&
		 /* a step of it alone would wait in KVM_RUN for a SIPI that never comes */
		 gdb_ask(sc, "vCont;s:3", "E04", r, sizeof(r)) &&
		 gdb_ask(sc, "vCont;c", "W05", r, sizeof(r));
	shutdown(sc->fd, SHUT_WR);
	return NULL;
}

static bool gdb_pc_aps(void)
{
	struct kr_vm_config cfg;
	struct kr_vm *vm;
	struct kr_image img;
	kr_vm_config_init(&cfg);
	cfg.mem_size = 8u << 20;
	cfg.cpus = 3;
	cfg.pc = true;
	cfg.console_fd = devnull();
	if (kr_vm_create(&vm, &cfg) < 0)
		return kvmtest_fail("kr_vm_create(pc, 3 vCPUs): %s", kr_last_error());
	int sv[2] = {-1, -1};
	bool ok = KT_EXPECT(kr_load_buffer(vm, pc_exit5_code, sizeof(pc_exit5_code), NULL, &img) == 0 &&
				 kr_vcpu_prepare(vm, &img) == 0,
			 "prepare: %s", kr_last_error()) &&
		  KT_EXPECT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	struct gdb_script sc = {.fd = sv[1]};
	pthread_t t;
	ok = ok && KT_EXPECT(pthread_create(&t, NULL, gdb_pc_session, &sc) == 0, "pthread_create");
	if (ok) {
		struct kr_stop s;
		int rc = kr_gdb_serve(vm, sv[0], &s);
		shutdown(sv[0], SHUT_RDWR);
		pthread_join(t, NULL);
		ok = KT_EXPECT(sc.ok, "%s", sc.failure) &&
		     KT_EXPECT(rc == 0, "kr_gdb_serve: %s", kr_last_error()) &&
		     stopped_as(&s, KR_STOP_EXIT, 0, "status 5");
	}
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(smp_gdb_pc_aps_wait_for_sipi)
{
	if (!kvmtest_needs("gdb"))
		return;
	RUN_BOUNDED(gdb_pc_aps);
}
