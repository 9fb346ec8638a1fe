/* SPDX-License-Identifier: MIT */
/*
 * gen-seccomp-filter.c - compile the sandbox's seccomp rules to BPF when
 * kvmrun is built (see src/core/sandbox_filter.h). Run by the Makefile:
 *
 *   gen-seccomp-filter [--sanitizer] OUT.h
 *
 * writes the program, the placeholder slots and the libseccomp version to
 * OUT.h, included by src/core/sandbox.c alone. Starting kvmrun then loads a
 * finished program: building the rules with libseccomp at every start cost
 * about 130 us and 90 KiB, and a run-time dependency.
 *
 * Each runtime value is a rule argument equal to a distinct magic number.
 * After the export the generator finds every magic number and checks that it
 * sits exactly where the rule puts it: in one instruction only, a "jeq #k"
 * reached only with the accumulator holding the low half of the rule's
 * argument and only on the path where the system call number is the rule's.
 * Anything else (a libseccomp that merges, splits or reorders comparisons
 * differently) stops the build rather than leave a slot unpatched.
 */
#include <errno.h>
#include <stdarg.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/sandbox_filter.h"

static const char *out_path;
/* --sanitizer: the program is for a sanitizer build (see add_rules). */
static bool sanitizer_runtime;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "gen-seccomp-filter: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (out_path)
		unlink(out_path);
	exit(1);
}

/* ---- the rules -------------------------------------------------------------- */

/* The ioctls the run loop and the final report make on a vCPU fd. */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_TRANSLATE,
};
/*
 * On the VM fd: memory slots may still change (kr_mem_add/kr_mem_remove from
 * a device); devices raise and lower interrupt lines.
 */
static const unsigned long vm_ioctls[] = {KVM_SET_USER_MEMORY_REGION, KVM_IRQ_LINE};

/* What each placeholder compares: the system call and its argument. */
struct slot_rule {
	int nr;
	unsigned arg;
};

static struct slot_rule rule_of(int kind)
{
	switch (kind) {
	case KR_SLOT_VCPU_FD:
	case KR_SLOT_VM_FD: return (struct slot_rule){SCMP_SYS(ioctl), 0};
	case KR_SLOT_WRITE_FD: return (struct slot_rule){SCMP_SYS(write), 0};
	case KR_SLOT_READ_FD: return (struct slot_rule){SCMP_SYS(read), 0};
	case KR_SLOT_PID: return (struct slot_rule){SCMP_SYS(tgkill), 0};
	default: return (struct slot_rule){SCMP_SYS(tgkill), 2};
	}
}

/* The slots of each kind in the program being built (vCPU slots: per variant). */
static unsigned slots_of_kind[KR_SLOT_KINDS] = {
	[KR_SLOT_VCPU_FD] = KR_SANDBOX_MAX_VCPUS, [KR_SLOT_VM_FD] = 1,
	[KR_SLOT_WRITE_FD] = KR_SANDBOX_MAX_WRITE_FDS, [KR_SLOT_READ_FD] = KR_SANDBOX_MAX_READ_FDS,
	[KR_SLOT_PID] = 1, [KR_SLOT_KICK] = 1,
};

static struct scmp_arg_cmp arg_eq(unsigned arg, scmp_datum_t value)
{
	return (struct scmp_arg_cmp){.arg = arg, .op = SCMP_CMP_EQ, .datum_a = value, .datum_b = 0};
}

/* The kernel reads an ioctl's request as 32 bits: compare only those. */
static struct scmp_arg_cmp arg_low32_eq(unsigned arg, scmp_datum_t value)
{
	return (struct scmp_arg_cmp){
		.arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu, .datum_b = value};
}

static void allow(scmp_filter_ctx ctx, int nr, unsigned n, const struct scmp_arg_cmp *args)
{
	int rc = seccomp_rule_add_exact_array(ctx, SCMP_ACT_ALLOW, nr, n, args);
	if (rc < 0)
		die("seccomp_rule_add_exact_array(syscall %d, %u conditions): %s", nr, n, strerror(-rc));
}

static void add_rules(scmp_filter_ctx ctx)
{
	/*
	 * KVM_RUN is the call made at every exit: ioctl comes first in the
	 * program, then write (console output), then the rest.
	 */
	if (seccomp_syscall_priority(ctx, SCMP_SYS(ioctl), 255) < 0 ||
	    seccomp_syscall_priority(ctx, SCMP_SYS(write), 254) < 0)
		die("seccomp_syscall_priority failed");

	/*
	 * libseccomp 2.5 orders the comparisons of one argument by decreasing
	 * value: KR_FILTER_MAGIC gives the first vCPU the highest, so KVM_RUN on
	 * it costs the fewest instructions.
	 */
	for (unsigned i = 0; i < slots_of_kind[KR_SLOT_VCPU_FD]; i++)
		for (size_t j = 0; j < sizeof(vcpu_ioctls) / sizeof(vcpu_ioctls[0]); j++) {
			struct scmp_arg_cmp a[] = {arg_eq(0, KR_FILTER_MAGIC(KR_SLOT_VCPU_FD, i)),
						   arg_low32_eq(1, vcpu_ioctls[j])};
			allow(ctx, SCMP_SYS(ioctl), 2, a);
		}
	for (size_t j = 0; j < sizeof(vm_ioctls) / sizeof(vm_ioctls[0]); j++) {
		struct scmp_arg_cmp a[] = {arg_eq(0, KR_FILTER_MAGIC(KR_SLOT_VM_FD, 0)),
					   arg_low32_eq(1, vm_ioctls[j])};
		allow(ctx, SCMP_SYS(ioctl), 2, a);
	}
	/* What the modules write to (console output), kvmrun's own messages, the caller's report files. */
	for (unsigned i = 0; i < KR_SANDBOX_MAX_WRITE_FDS; i++) {
		struct scmp_arg_cmp a[] = {arg_eq(0, KR_FILTER_MAGIC(KR_SLOT_WRITE_FD, i))};
		allow(ctx, SCMP_SYS(write), 1, a);
	}
	/*
	 * The filter binds every thread of the process (TSYNC), so also a
	 * module's own thread (the UART's input): it polls and reads its fd.
	 */
	for (unsigned i = 0; i < KR_SANDBOX_MAX_READ_FDS; i++) {
		struct scmp_arg_cmp a[] = {arg_eq(0, KR_FILTER_MAGIC(KR_SLOT_READ_FD, i))};
		allow(ctx, SCMP_SYS(read), 1, a);
	}
	/*
	 * The run's signal and timeout timer (each run creates its timer for the
	 * thread that runs: gettid, timer_create; it lets the signal through with
	 * rt_sigprocmask), tear-down, and libc's heap trimming.
	 */
	static const int plain[] = {
		SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(gettid),
		SCMP_SYS(timer_settime), SCMP_SYS(timer_delete),  SCMP_SYS(clock_gettime),
		SCMP_SYS(munmap),        SCMP_SYS(close),         SCMP_SYS(madvise),
		SCMP_SYS(brk),           SCMP_SYS(exit),          SCMP_SYS(exit_group),
		/* Locks a device shares with a thread of its own (the UART's input). */
		SCMP_SYS(futex),
		/* That thread's wait for input or tear-down (glibc's poll()). */
		SCMP_SYS(poll),
		/*
		 * A thread still starting when the filter comes (TSYNC) registers
		 * its rseq area and robust futex list, with every signal blocked:
		 * denied there, it would die by SIGSYS without a word.
		 */
		SCMP_SYS(rseq), SCMP_SYS(set_robust_list),
	};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		allow(ctx, plain[i], 0, NULL);
	/*
	 * The sanitizer builds only (make SAN=1, make TSAN=1): the filter binds
	 * every thread, and the sanitizers' runtimes map memory and switch
	 * signal stacks when a thread ends (ASan), and run a thread of their
	 * own that sleeps and reads the clock (TSan).
	 */
	static const int sanitizer_calls[] = {
		SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(gettimeofday),
		SCMP_SYS(mmap),      SCMP_SYS(mprotect),        SCMP_SYS(sched_yield),
		SCMP_SYS(sigaltstack),
	};
	for (size_t i = 0; sanitizer_runtime && i < sizeof(sanitizer_calls) / sizeof(sanitizer_calls[0]); i++)
		allow(ctx, sanitizer_calls[i], 0, NULL);
	struct scmp_arg_cmp monotonic[] = {arg_eq(0, CLOCK_MONOTONIC)};
	allow(ctx, SCMP_SYS(timer_create), 1, monotonic);
	/* kr_vm_stop for a VM running on another thread: the kick signal, this process only. */
	struct scmp_arg_cmp kick[] = {arg_eq(0, KR_FILTER_MAGIC(KR_SLOT_PID, 0)),
				      arg_eq(2, KR_FILTER_MAGIC(KR_SLOT_KICK, 0))};
	allow(ctx, SCMP_SYS(tgkill), 2, kick);
}

/* ---- the exported program ---------------------------------------------------- */

static struct sock_filter *export_program(scmp_filter_ctx ctx, size_t *len)
{
	FILE *f = tmpfile();
	if (!f)
		die("tmpfile: %s", strerror(errno));
	int rc = seccomp_export_bpf(ctx, fileno(f));
	if (rc < 0)
		die("seccomp_export_bpf: %s", strerror(-rc));
	long size = lseek(fileno(f), 0, SEEK_END);
	if (size <= 0 || size % (long)sizeof(struct sock_filter))
		die("the exported program has %ld bytes, not a whole number of instructions", size);
	*len = (size_t)size / sizeof(struct sock_filter);
	if (*len > BPF_MAXINSNS)
		die("the program has %zu instructions, more than the kernel takes (%d)", *len,
		    BPF_MAXINSNS);
	struct sock_filter *prog = malloc((size_t)size);
	if (!prog || pread(fileno(f), prog, (size_t)size, 0) != size)
		die("reading the exported program back: %s", strerror(errno));
	fclose(f);
	return prog;
}

/*
 * What is known on entry to each instruction, over every path that reaches
 * it (the program only jumps forward): the seccomp_data offset the
 * accumulator was loaded from (ACC_MIXED: something else), and the system
 * call number if a comparison fixed it (NR_ANY: not known).
 */
#define ACC_NONE (-1)
#define ACC_MIXED (-2)
#define NR_ANY (-1)
#define NR_MIXED (-2)

struct state {
	bool reached;
	int acc; /* offset, ACC_NONE or ACC_MIXED */
	long nr; /* the call number, NR_ANY or NR_MIXED */
};

static void merge(struct state *into, struct state from)
{
	if (!into->reached) {
		*into = from;
		return;
	}
	if (into->acc != from.acc)
		into->acc = ACC_MIXED;
	if (into->nr != from.nr)
		into->nr = NR_MIXED;
}

static void analyse(const struct sock_filter *prog, size_t len, struct state *st)
{
	const int nr_off = (int)offsetof(struct seccomp_data, nr);
	memset(st, 0, len * sizeof(*st));
	st[0] = (struct state){.reached = true, .acc = ACC_NONE, .nr = NR_ANY};
	for (size_t i = 0; i < len; i++) {
		if (!st[i].reached)
			continue;
		struct state s = st[i];
		const struct sock_filter *in = &prog[i];
		switch (BPF_CLASS(in->code)) {
		case BPF_LD:
			s.acc = BPF_MODE(in->code) == BPF_ABS && BPF_SIZE(in->code) == BPF_W
					? (int)in->k
					: ACC_MIXED;
			break;
		case BPF_ALU:
		case BPF_MISC:
			s.acc = ACC_MIXED;
			break;
		case BPF_JMP:
			if (BPF_OP(in->code) == BPF_JA) {
				if (i + 1 + in->k >= len)
					die("instruction %zu jumps past the end", i);
				merge(&st[i + 1 + in->k], s);
			} else {
				if (i + 1 + in->jt >= len || i + 1 + in->jf >= len)
					die("instruction %zu jumps past the end", i);
				struct state t = s, f = s;
				/* "jeq #k" on the call number: where it is taken, the call is k. */
				if (BPF_OP(in->code) == BPF_JEQ && BPF_SRC(in->code) == BPF_K &&
				    s.acc == nr_off)
					t.nr = (long)in->k;
				merge(&st[i + 1 + in->jt], t);
				merge(&st[i + 1 + in->jf], f);
			}
			continue;
		case BPF_RET:
			continue;
		default:
			break; /* ST, STX, LDX: the accumulator stays */
		}
		if (i + 1 < len)
			merge(&st[i + 1], s);
	}
}

/* Find each placeholder and check that it is where its rule puts it. */
static size_t find_slots(const struct sock_filter *prog, size_t len, struct kr_filter_slot *slots)
{
	struct state *st = calloc(len, sizeof(*st));
	if (!st)
		die("calloc");
	analyse(prog, len, st);
	size_t n = 0;
	for (int kind = 0; kind < KR_SLOT_KINDS; kind++)
		for (unsigned index = 0; index < slots_of_kind[kind]; index++) {
			uint32_t magic = KR_FILTER_MAGIC(kind, index);
			struct slot_rule r = rule_of(kind);
			/* The low half of args[r.arg] (little-endian). */
			int want_acc = (int)offsetof(struct seccomp_data, args[r.arg]);
			long at = -1;
			for (size_t i = 0; i < len; i++) {
				if (prog[i].k != magic)
					continue;
				if (at >= 0)
					die("placeholder 0x%08x (slot %d/%u) is at instructions %ld and %zu",
					    magic, kind, index, at, i);
				at = (long)i;
			}
			if (at < 0)
				die("placeholder 0x%08x (slot %d/%u) is not in the program", magic, kind,
				    index);
			const struct sock_filter *in = &prog[at];
			if (in->code != (BPF_JMP | BPF_JEQ | BPF_K))
				die("placeholder 0x%08x is in instruction %ld, code 0x%04x, not jeq #k",
				    magic, at, in->code);
			if (!st[at].reached || st[at].acc != want_acc)
				die("placeholder 0x%08x at instruction %ld compares %s %d, not the low "
				    "half of argument %u (offset %d)",
				    magic, at, st[at].acc == ACC_MIXED ? "a mix of" : "offset",
				    st[at].acc, r.arg, want_acc);
			if (st[at].nr != r.nr)
				die("placeholder 0x%08x at instruction %ld is reached with system call %ld, "
				    "not %d only",
				    magic, at, st[at].nr, r.nr);
			slots[n++] = (struct kr_filter_slot){
				.insn = (uint16_t)at, .kind = (uint8_t)kind, .index = (uint8_t)index};
		}
	free(st);
	return n;
}

/* Compile the rules for `nvcpus` vCPU slots; write the program and its slots as variant `v`. */
static void write_variant(FILE *out, unsigned v, unsigned nvcpus, size_t *len_out)
{
	slots_of_kind[KR_SLOT_VCPU_FD] = nvcpus;
	/* A denied call traps to the handler that names it (src/core/sandbox.c). */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		die("seccomp_init(SCMP_ACT_TRAP) failed");
	/* A call through another ABI (int 0x80, x32) kills the whole process, not one thread. */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc < 0)
		die("seccomp_attr_set(SCMP_FLTATR_ACT_BADARCH): %s", strerror(-rc));
	/*
	 * A binary tree of system call numbers instead of a list: the kernel
	 * runs the program once per call number when it takes it (its cache of
	 * calls always allowed), with interrupts off, and at every call after.
	 */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (rc < 0)
		die("seccomp_attr_set(SCMP_FLTATR_CTL_OPTIMIZE, 2): %s", strerror(-rc));
	add_rules(ctx);

	size_t len;
	struct sock_filter *prog = export_program(ctx, &len);
	seccomp_release(ctx);
	size_t nslots_max = 0;
	for (int k = 0; k < KR_SLOT_KINDS; k++)
		nslots_max += slots_of_kind[k];
	struct kr_filter_slot *slots = calloc(nslots_max, sizeof(*slots));
	if (!slots)
		die("calloc");
	size_t nslots = find_slots(prog, len, slots);

	fprintf(out, "\n/* %u vCPU slots: %zu instructions. */\n", nvcpus, len);
	fprintf(out, "static const struct sock_filter kr_filter_prog%u[%zu] = {\n", v, len);
	for (size_t i = 0; i < len; i++)
		fprintf(out, "\t{0x%04x, %u, %u, 0x%08x},\n", prog[i].code, prog[i].jt, prog[i].jf,
			prog[i].k);
	fprintf(out, "};\nstatic const struct kr_filter_slot kr_filter_slots%u[%zu] = {\n", v, nslots);
	for (size_t i = 0; i < nslots; i++)
		fprintf(out, "\t{%u, %u, %u},\n", slots[i].insn, slots[i].kind, slots[i].index);
	fprintf(out, "};\n");
	free(prog);
	free(slots);
	*len_out = len;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--sanitizer") == 0) {
		sanitizer_runtime = true;
		argv++, argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: gen-seccomp-filter [--sanitizer] OUT.h\n");
		return 2;
	}
	out_path = argv[1];
	FILE *out = fopen(out_path, "w");
	if (!out)
		die("%s: %s", out_path, strerror(errno));
	const struct scmp_version *ver = seccomp_version();
	fprintf(out,
		"/* Generated by scripts/gen-seccomp-filter.c with libseccomp %u.%u.%u: do not edit. */\n"
		"#define KR_FILTER_LIBSECCOMP \"%u.%u.%u\"\n",
		ver->major, ver->minor, ver->micro, ver->major, ver->minor, ver->micro);
	/*
	 * The kernel's time to take a program grows with its length (about
	 * 60 us for 64 instructions, 210 us for 850 here): one program per
	 * power of two of vCPUs, and a VM gets the smallest that fits it.
	 */
	unsigned nvariants = 0;
	size_t lens[16], max_len = 0;
	for (unsigned n = 1; n <= KR_SANDBOX_MAX_VCPUS; n *= 2) {
		write_variant(out, nvariants, n, &lens[nvariants]);
		if (lens[nvariants] > max_len)
			max_len = lens[nvariants];
		nvariants++;
	}
	fprintf(out, "\n#define KR_FILTER_MAX_LEN %zu\n", max_len);
	fprintf(out, "static const struct kr_filter_variant kr_filter_variants[%u] = {\n", nvariants);
	for (unsigned v = 0; v < nvariants; v++)
		fprintf(out,
			"\t{%u, kr_filter_prog%u, %zu, kr_filter_slots%u, "
			"sizeof(kr_filter_slots%u) / sizeof(kr_filter_slots%u[0])},\n",
			1u << v, v, lens[v], v, v, v);
	fprintf(out, "};\n");
	if (fclose(out) != 0)
		die("%s: %s", out_path, strerror(errno));
	return 0;
}
