/* SPDX-License-Identifier: MIT */
/*
 * core/sandbox_filter.h - the seccomp filter, compiled when kvmrun is built.
 *
 * scripts/gen-seccomp-filter.c (linked with libseccomp, run by the Makefile)
 * compiles the sandbox's rules to a classic BPF program and writes it to
 * $(BUILD)/gen/seccomp_filter.h. What only the running process knows (its
 * fds, its pid, the kick signal) is in the program as placeholders: the
 * generator writes a distinct magic value into each rule, finds each one in
 * the exported program (once, in a comparison of the low half of the
 * argument the rule names, on the path of the rule's system call) and
 * records where; kr_sandbox_enter writes the real values there and loads the
 * program. So starting kvmrun costs no rule compiling and no libseccomp.
 *
 * libseccomp compares a 64-bit argument as two 32-bit halves; every runtime
 * value here is below 2^31 (fds, pids, signal numbers), so the high half is
 * compared against 0 and only the low half is a placeholder. An unused fd
 * slot gets KR_FILTER_NO_FD: as an fd (the kernel reads it as an unsigned
 * int) it is beyond any fd table, so it matches nothing that could succeed.
 */
#ifndef KVMRUN_CORE_SANDBOX_FILTER_H
#define KVMRUN_CORE_SANDBOX_FILTER_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

/* Slots in the program: vCPUs of one VM, fds written to, fds read by module threads. */
#define KR_SANDBOX_MAX_VCPUS 64
#define KR_SANDBOX_MAX_WRITE_FDS 16
#define KR_SANDBOX_MAX_READ_FDS 4

/* What a placeholder stands for; `index` numbers the slots of one kind. */
enum kr_filter_slot_kind {
	KR_SLOT_VM_FD,    /* ioctl arg 0: the VM ioctls */
	KR_SLOT_VCPU_FD,  /* ioctl arg 0: the vCPU ioctls, one slot per vCPU */
	KR_SLOT_WRITE_FD, /* write arg 0 */
	KR_SLOT_READ_FD,  /* read arg 0 (a module's input thread) */
	KR_SLOT_PID,      /* tgkill arg 0: this process */
	KR_SLOT_KICK,     /* tgkill arg 2: the signal that interrupts KVM_RUN */
	KR_SLOT_KINDS
};

/*
 * The placeholder the generator puts in slot (kind, index): "KR", the kind,
 * 255 - index. Higher values come first in libseccomp's comparisons, so the
 * first vCPU (the only one of most VMs) is checked first.
 */
#define KR_FILTER_MAGIC(kind, index) \
	(0x4b520000u | ((uint32_t)(kind) << 8) | (255u - (uint32_t)(index)))

/* The value of an fd slot nobody uses (see above). */
#define KR_FILTER_NO_FD 0xffffffffu

struct kr_filter_slot {
	uint16_t insn; /* the instruction whose k is the low half of the value */
	uint8_t kind;  /* enum kr_filter_slot_kind */
	uint8_t index;
};

/*
 * One compiled program: for up to `nvcpus` vCPUs (the kernel takes a short
 * program faster, so the generator compiles one per power of two).
 */
struct kr_filter_variant {
	unsigned nvcpus;
	const struct sock_filter *prog;
	size_t len;
	const struct kr_filter_slot *slots;
	size_t nslots;
};

/* What kr_sandbox_enter fills the slots with. */
struct kr_sandbox_values {
	int vcpu_fds[KR_SANDBOX_MAX_VCPUS];
	size_t nvcpus;
	int vm_fd;
	int write_fds[KR_SANDBOX_MAX_WRITE_FDS];
	size_t nwrite;
	int read_fds[KR_SANDBOX_MAX_READ_FDS];
	size_t nread;
	int pid;
	int kick_signal;
};

/* The most instructions kr_sandbox_filter_build writes (the program for the most vCPUs). */
size_t kr_sandbox_filter_max_len(void);

/*
 * The smallest built-in program for v->nvcpus with `v` written into its
 * slots, into prog[0..max). Returns the number of instructions, or -1 (an
 * error) when a value is out of range or there are more fds than slots.
 * Exposed for the unit tests, which run the result in an interpreter.
 */
long kr_sandbox_filter_build(struct sock_filter *prog, size_t max, const struct kr_sandbox_values *v);

#endif
