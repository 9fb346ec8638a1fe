/* SPDX-License-Identifier: MIT */
/*
 * test_sandbox.c - the seccomp filter compiled at build time, with this
 * test's values patched in (kr_sandbox_filter_build), run in a small
 * classic-BPF interpreter that does what the kernel does with a seccomp
 * program. The expectations are written out here, independently of the
 * generator: every intended (call, arguments) is allowed, and every
 * neighbour is not — the next fd, the other fd kind, a set high half, the
 * next ioctl, every other system call, another architecture.
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>

#include "core/sandbox_filter.h"
#include "unit.h"

#define INTERP_BAD 0xdeadbeefu /* the program did something a seccomp program may not */

/* Run `prog` on `d` as the kernel would; INTERP_BAD for what the kernel's checker refuses. */
static uint32_t bpf_run(const struct sock_filter *prog, size_t len, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};
	for (size_t pc = 0; pc < len; pc++) {
		const struct sock_filter *in = &prog[pc];
		uint32_t src = BPF_SRC(in->code) == BPF_X ? x : in->k;
		switch (in->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			/* seccomp_data only, 32-bit aligned loads */
			if (in->k % 4 || in->k + 4 > sizeof(*d))
				return INTERP_BAD;
			memcpy(&a, (const uint8_t *)d + in->k, 4);
			continue;
		case BPF_LD | BPF_IMM: a = in->k; continue;
		case BPF_LDX | BPF_IMM: x = in->k; continue;
		case BPF_LD | BPF_MEM:
		case BPF_LDX | BPF_MEM:
			if (in->k >= BPF_MEMWORDS)
				return INTERP_BAD;
			*(BPF_CLASS(in->code) == BPF_LD ? &a : &x) = mem[in->k];
			continue;
		case BPF_ST:
		case BPF_STX:
			if (in->k >= BPF_MEMWORDS)
				return INTERP_BAD;
			mem[in->k] = in->code == BPF_ST ? a : x;
			continue;
		case BPF_MISC | BPF_TAX: x = a; continue;
		case BPF_MISC | BPF_TXA: a = x; continue;
		case BPF_RET | BPF_K: return in->k;
		case BPF_RET | BPF_A: return a;
		default: break;
		}
		if (BPF_CLASS(in->code) == BPF_ALU) {
			switch (BPF_OP(in->code)) {
			case BPF_ADD: a += src; break;
			case BPF_SUB: a -= src; break;
			case BPF_AND: a &= src; break;
			case BPF_OR: a |= src; break;
			case BPF_XOR: a ^= src; break;
			case BPF_LSH: a = src < 32 ? a << src : 0; break;
			case BPF_RSH: a = src < 32 ? a >> src : 0; break;
			case BPF_NEG: a = 0u - a; break;
			default: return INTERP_BAD;
			}
			continue;
		}
		if (BPF_CLASS(in->code) != BPF_JMP)
			return INTERP_BAD;
		if (BPF_OP(in->code) == BPF_JA) {
			pc += in->k;
			continue;
		}
		bool taken;
		switch (BPF_OP(in->code)) {
		case BPF_JEQ: taken = a == src; break;
		case BPF_JGT: taken = a > src; break;
		case BPF_JGE: taken = a >= src; break;
		case BPF_JSET: taken = (a & src) != 0; break;
		default: return INTERP_BAD;
		}
		pc += taken ? in->jt : in->jf;
	}
	return INTERP_BAD; /* ran off the end: the kernel's checker refuses such a program */
}

struct filter {
	struct sock_filter *prog;
	long len;
};

static struct filter build(const struct kr_sandbox_values *v)
{
	struct filter f = {malloc(kr_sandbox_filter_max_len() * sizeof(struct sock_filter)), -1};
	if (f.prog)
		f.len = kr_sandbox_filter_build(f.prog, kr_sandbox_filter_max_len(), v);
	if (f.len < 0)
		unit_fail(__FILE__, __LINE__, "kr_sandbox_filter_build: %s", kr_last_error());
	return f;
}

static uint32_t call(const struct filter *f, uint32_t arch, int nr, uint64_t a0, uint64_t a1,
		     uint64_t a2)
{
	struct seccomp_data d = {.nr = nr, .arch = arch, .instruction_pointer = 0x401000,
				 .args = {a0, a1, a2, 0, 0, 0}};
	return f->len < 0 ? INTERP_BAD : bpf_run(f->prog, (size_t)f->len, &d);
}

#define ALLOW SECCOMP_RET_ALLOW
#define TRAP SECCOMP_RET_TRAP
#define KILL SECCOMP_RET_KILL_PROCESS

#define EXPECT_CALL(f, want, nr, a0, a1, a2)                                                   \
	do {                                                                                   \
		uint32_t got_ = call(f, AUDIT_ARCH_X86_64, nr, a0, a1, a2);                    \
		if (got_ != (want))                                                            \
			unit_fail(__FILE__, __LINE__,                                          \
				  "%s(0x%llx, 0x%llx, 0x%llx): action 0x%x, expected 0x%x", #nr, \
				  (unsigned long long)(a0), (unsigned long long)(a1),          \
				  (unsigned long long)(a2), got_, (unsigned)(want));           \
	} while (0)

/* The values of a VM with two vCPUs, as kr_sandbox_enter would gather them. */
static struct kr_sandbox_values sample_values(void)
{
	struct kr_sandbox_values v = {
		.vcpu_fds = {7, 9}, .nvcpus = 2, .vm_fd = 5,
		.write_fds = {1, 2, 11}, .nwrite = 3,
		.read_fds = {13}, .nread = 1,
		.pid = 4242, .kick_signal = 37,
	};
	return v;
}

static const unsigned long vcpu_ioctls[] = {KVM_RUN,       KVM_GET_REGS,  KVM_SET_REGS,
					    KVM_GET_SREGS, KVM_SET_SREGS, KVM_TRANSLATE};
static const unsigned long vm_ioctls[] = {KVM_SET_USER_MEMORY_REGION, KVM_IRQ_LINE};

/* The calls allowed whatever their arguments. */
static const int plain_calls[] = {
	SYS_rt_sigreturn, SYS_rt_sigprocmask, SYS_gettid, SYS_timer_settime, SYS_timer_delete,
	SYS_clock_gettime, SYS_munmap, SYS_close, SYS_madvise, SYS_brk, SYS_exit, SYS_exit_group,
	SYS_futex, SYS_poll, SYS_rseq, SYS_set_robust_list,
};

/*
 * What the sanitizer builds' filter allows besides (gen-seccomp-filter
 * --sanitizer: their runtimes' calls at thread end and in TSan's thread);
 * the release build's filter refuses them like any other call.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
static const int sanitizer_calls[] = {
	SYS_nanosleep, SYS_clock_nanosleep, SYS_gettimeofday, SYS_mmap,
	SYS_mprotect,  SYS_sched_yield,     SYS_sigaltstack,
};
#else
static const int sanitizer_calls[] = {-1};
#endif

UNIT_TEST(sandbox_filter_allows_the_run_loop_calls)
{
	struct kr_sandbox_values v = sample_values();
	struct filter f = build(&v);
	for (size_t i = 0; i < sizeof(vcpu_ioctls) / sizeof(vcpu_ioctls[0]); i++) {
		EXPECT_CALL(&f, ALLOW, SYS_ioctl, 7, vcpu_ioctls[i], 0);
		EXPECT_CALL(&f, ALLOW, SYS_ioctl, 9, vcpu_ioctls[i], 0);
	}
	/* The kernel reads the request as 32 bits: the high half does not matter. */
	EXPECT_CALL(&f, ALLOW, SYS_ioctl, 7, 0xdead000000000000ull | KVM_RUN, 0);
	for (size_t i = 0; i < sizeof(vm_ioctls) / sizeof(vm_ioctls[0]); i++)
		EXPECT_CALL(&f, ALLOW, SYS_ioctl, 5, vm_ioctls[i], 0);
	EXPECT_CALL(&f, ALLOW, SYS_write, 1, 0x1000, 10);
	EXPECT_CALL(&f, ALLOW, SYS_write, 2, 0x1000, 10);
	EXPECT_CALL(&f, ALLOW, SYS_write, 11, 0x1000, 10);
	EXPECT_CALL(&f, ALLOW, SYS_read, 13, 0x1000, 10);
	EXPECT_CALL(&f, ALLOW, SYS_timer_create, CLOCK_MONOTONIC, 0x1000, 0x2000);
	EXPECT_CALL(&f, ALLOW, SYS_tgkill, 4242, 4243, 37);
	EXPECT_CALL(&f, ALLOW, SYS_tgkill, 4242, 4242, 37);
	for (size_t i = 0; i < sizeof(plain_calls) / sizeof(plain_calls[0]); i++)
		EXPECT_CALL(&f, ALLOW, plain_calls[i], 3, 0xffffffffffffffffull, 99);
	free(f.prog);
}

UNIT_TEST(sandbox_filter_denies_the_neighbours)
{
	struct kr_sandbox_values v = sample_values();
	struct filter f = build(&v);
	/* ioctl: the neighbouring fds, the other kind's fd, fds with a high half, -1 */
	static const uint64_t not_vcpu[] = {0, 4, 5, 6, 8, 10, 0xffffffff, 0xffffffffffffffffull,
					    (1ull << 32) | 7, (1ull << 63) | 9};
	for (size_t i = 0; i < sizeof(not_vcpu) / sizeof(not_vcpu[0]); i++)
		EXPECT_CALL(&f, TRAP, SYS_ioctl, not_vcpu[i], KVM_RUN, 0);
	static const uint64_t not_vm[] = {0, 4, 6, 7, 9, 0xffffffff, (1ull << 32) | 5};
	for (size_t i = 0; i < sizeof(not_vm) / sizeof(not_vm[0]); i++)
		EXPECT_CALL(&f, TRAP, SYS_ioctl, not_vm[i], KVM_SET_USER_MEMORY_REGION, 0);
	/* other requests, on either fd */
	static const unsigned long other[] = {
		KVM_RUN + 1, KVM_CREATE_VCPU, KVM_GET_FPU, KVM_SET_MSRS, KVM_SET_CPUID2,
		KVM_CREATE_VM, KVM_GET_DIRTY_LOG, KVM_SET_GUEST_DEBUG, TIOCSTI, FIONREAD, 0};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		EXPECT_CALL(&f, TRAP, SYS_ioctl, 7, other[i], 0);
		EXPECT_CALL(&f, TRAP, SYS_ioctl, 5, other[i], 0);
		EXPECT_CALL(&f, TRAP, SYS_ioctl, 1, other[i], 0);
	}
	for (size_t i = 0; i < sizeof(vcpu_ioctls) / sizeof(vcpu_ioctls[0]); i++)
		EXPECT_CALL(&f, TRAP, SYS_ioctl, 5, vcpu_ioctls[i], 0);
	for (size_t i = 0; i < sizeof(vm_ioctls) / sizeof(vm_ioctls[0]); i++)
		EXPECT_CALL(&f, TRAP, SYS_ioctl, 7, vm_ioctls[i], 0);
	/* write and read: only their own fds, unused slots match nothing an fd can be */
	static const uint64_t not_written[] = {0, 3, 5, 7, 10, 12, 13, 0xffffffffffffffffull,
					       (1ull << 32) | 1};
	for (size_t i = 0; i < sizeof(not_written) / sizeof(not_written[0]); i++)
		EXPECT_CALL(&f, TRAP, SYS_write, not_written[i], 0x1000, 10);
	static const uint64_t not_read[] = {0, 1, 2, 11, 12, 14, 0xffffffffffffffffull,
					    (1ull << 32) | 13};
	for (size_t i = 0; i < sizeof(not_read) / sizeof(not_read[0]); i++)
		EXPECT_CALL(&f, TRAP, SYS_read, not_read[i], 0x1000, 10);
	/* writev, pwrite and friends are not write */
	EXPECT_CALL(&f, TRAP, SYS_writev, 1, 0x1000, 1);
	EXPECT_CALL(&f, TRAP, SYS_pwrite64, 1, 0x1000, 1);
	EXPECT_CALL(&f, TRAP, SYS_readv, 13, 0x1000, 1);
	/* the timer only on the monotonic clock */
	EXPECT_CALL(&f, TRAP, SYS_timer_create, CLOCK_REALTIME, 0x1000, 0x2000);
	EXPECT_CALL(&f, TRAP, SYS_timer_create, CLOCK_BOOTTIME, 0x1000, 0x2000);
	EXPECT_CALL(&f, TRAP, SYS_timer_create, (1ull << 32) | CLOCK_MONOTONIC, 0x1000, 0x2000);
	/* the kick signal, to this process only */
	EXPECT_CALL(&f, TRAP, SYS_tgkill, 4241, 4241, 37);
	EXPECT_CALL(&f, TRAP, SYS_tgkill, 4243, 4243, 37);
	EXPECT_CALL(&f, TRAP, SYS_tgkill, 4242, 4242, 36);
	EXPECT_CALL(&f, TRAP, SYS_tgkill, 4242, 4242, 38);
	EXPECT_CALL(&f, TRAP, SYS_tgkill, 4242, 4242, 9);
	EXPECT_CALL(&f, TRAP, SYS_tgkill, (1ull << 32) | 4242, 4242, 37);
	EXPECT_CALL(&f, TRAP, SYS_tkill, 4242, 37, 0);
	EXPECT_CALL(&f, TRAP, SYS_kill, 4242, 37, 0);
	/* every other system call, with arguments that would pass a rule */
	for (int nr = 0; nr < 512; nr++) {
		bool listed = nr == SYS_ioctl || nr == SYS_write || nr == SYS_read ||
			      nr == SYS_timer_create || nr == SYS_tgkill;
		for (size_t i = 0; i < sizeof(plain_calls) / sizeof(plain_calls[0]); i++)
			listed = listed || nr == plain_calls[i];
		bool sanitizer = false;
		for (size_t i = 0; i < sizeof(sanitizer_calls) / sizeof(sanitizer_calls[0]); i++)
			sanitizer = sanitizer || nr == sanitizer_calls[i];
		if (sanitizer)
			EXPECT_CALL(&f, ALLOW, nr, 7, KVM_RUN, 37);
		else if (!listed)
			EXPECT_CALL(&f, TRAP, nr, 7, KVM_RUN, 37);
	}
	/* another ABI: i386 (write is 4 there) and x32 numbers end the process */
	CHECK_EQ(call(&f, AUDIT_ARCH_I386, 4, 1, 0x1000, 10), KILL);
	CHECK_EQ(call(&f, AUDIT_ARCH_I386, SYS_write, 1, 0x1000, 10), KILL);
	CHECK_EQ(call(&f, AUDIT_ARCH_X86_64, 0x40000000 | SYS_write, 1, 0x1000, 10), KILL);
	CHECK_EQ(call(&f, AUDIT_ARCH_X86_64, 0x40000000 | SYS_ioctl, 7, KVM_RUN, 0), KILL);
	free(f.prog);
}

/* Up to the library's bound of vCPUs, each vCPU fd gets the vCPU ioctls, and no other fd. */
UNIT_TEST(sandbox_filter_takes_every_vcpu)
{
	long len_one = -1;
	for (size_t n = 1; n <= KR_SANDBOX_MAX_VCPUS; n++) {
		struct kr_sandbox_values v = sample_values();
		v.nvcpus = n;
		for (size_t i = 0; i < n; i++)
			v.vcpu_fds[i] = 100 + (int)(3 * i); /* 100, 103, ...: gaps between them */
		struct filter f = build(&v);
		if (n == 1)
			len_one = f.len;
		for (size_t i = 0; i < n; i++) {
			uint64_t fd = 100 + 3 * i;
			EXPECT_CALL(&f, ALLOW, SYS_ioctl, fd, KVM_RUN, 0);
			EXPECT_CALL(&f, ALLOW, SYS_ioctl, fd, KVM_SET_SREGS, 0);
			EXPECT_CALL(&f, TRAP, SYS_ioctl, fd, KVM_SET_USER_MEMORY_REGION, 0);
			EXPECT_CALL(&f, TRAP, SYS_ioctl, fd + 1, KVM_RUN, 0);
			EXPECT_CALL(&f, TRAP, SYS_ioctl, fd - 1, KVM_RUN, 0);
			EXPECT_CALL(&f, TRAP, SYS_write, fd, 0x1000, 1);
		}
		EXPECT_CALL(&f, TRAP, SYS_ioctl, 100 + 3 * n, KVM_RUN, 0);
		/* Slots beyond n: the fds a VM of n vCPUs does not have stay closed. */
		EXPECT_CALL(&f, TRAP, SYS_ioctl, 0, KVM_RUN, 0);
		EXPECT_CALL(&f, ALLOW, SYS_ioctl, 5, KVM_IRQ_LINE, 0);
		EXPECT_CALL(&f, ALLOW, SYS_write, 11, 0x1000, 1);
		if (n == KR_SANDBOX_MAX_VCPUS)
			CHECK(f.len > len_one); /* one vCPU gets a shorter program */
		free(f.prog);
	}
}

/* With nothing but stderr, no other fd is written; no read fd, nothing is read. */
UNIT_TEST(sandbox_filter_unused_slots_match_no_fd)
{
	struct kr_sandbox_values v = {.vcpu_fds = {3}, .nvcpus = 1, .vm_fd = 4,
				      .write_fds = {2}, .nwrite = 1, .pid = 77, .kick_signal = 37};
	struct filter f = build(&v);
	for (uint64_t fd = 0; fd < 64; fd++) {
		EXPECT_CALL(&f, fd == 2 ? ALLOW : TRAP, SYS_write, fd, 0x1000, 1);
		EXPECT_CALL(&f, TRAP, SYS_read, fd, 0x1000, 1);
		EXPECT_CALL(&f, fd == 3 ? ALLOW : TRAP, SYS_ioctl, fd, KVM_RUN, 0);
	}
	free(f.prog);
}

UNIT_TEST(sandbox_filter_refuses_values_it_has_no_slot_for)
{
	struct sock_filter *prog = malloc(kr_sandbox_filter_max_len() * sizeof(*prog));
	size_t max = kr_sandbox_filter_max_len();
	struct kr_sandbox_values v = sample_values();
	v.nvcpus = KR_SANDBOX_MAX_VCPUS + 1;
	CHECK_FAILS_WITH(kr_sandbox_filter_build(prog, max, &v), "65 vCPUs");
	v = sample_values();
	v.nvcpus = 0;
	CHECK_FAILS_WITH(kr_sandbox_filter_build(prog, max, &v), "0 vCPUs");
	v = sample_values();
	v.nwrite = KR_SANDBOX_MAX_WRITE_FDS + 1;
	CHECK_FAILS_WITH(kr_sandbox_filter_build(prog, max, &v), "fds to write to");
	v = sample_values();
	v.nread = KR_SANDBOX_MAX_READ_FDS + 1;
	CHECK_FAILS_WITH(kr_sandbox_filter_build(prog, max, &v), "fds to read from");
	v = sample_values();
	v.vcpu_fds[1] = -1;
	CHECK_FAILS_WITH(kr_sandbox_filter_build(prog, max, &v), "out of range");
	v = sample_values();
	v.write_fds[2] = -3;
	CHECK_FAILS_WITH(kr_sandbox_filter_build(prog, max, &v), "out of range");
	v = sample_values();
	v.pid = 0;
	CHECK_FAILS_WITH(kr_sandbox_filter_build(prog, max, &v), "out of range");
	v = sample_values();
	CHECK_FAILS_WITH(kr_sandbox_filter_build(prog, 10, &v), "room for 10 given");
	free(prog);
}
