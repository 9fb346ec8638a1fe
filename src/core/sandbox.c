/* SPDX-License-Identifier: MIT */
/*
 * sandbox.c - after set-up, kvmrun needs only a handful of system calls to
 * run a guest. A seccomp filter (built with libseccomp) allows exactly those,
 * so a bug the guest might trigger in the run loop cannot open files, map
 * memory or start processes.
 *
 * A denied call raises SIGSYS (SCMP_ACT_TRAP). The handler names the call,
 * from a table generated from <asm/unistd_64.h> (no allocation, nothing that
 * is not async-signal-safe), then repeats the call: with SIGSYS blocked in
 * the handler the kernel forces the default action, and the process dies by
 * SIGSYS. A new libc making other system calls for the same function (a
 * different call behind printf, time or malloc) is how seccomp allowlists
 * break, in other VMMs too, and then only on the machines with that libc: so
 * the message names the call.
 */
#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/run.h"
#include "core/vm.h"
#include "syscall_names.h"

static void put(char **p, const char *end, const char *s)
{
	while (*s && *p < end)
		*(*p)++ = *s++;
}

static void put_num(char **p, const char *end, long v)
{
	char digits[24];
	int n = 0;
	unsigned long u = v < 0 ? 0ul - (unsigned long)v : (unsigned long)v;
	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10) && n < (int)sizeof(digits));
	if (v < 0 && *p < end)
		*(*p)++ = '-';
	while (n > 0 && *p < end)
		*(*p)++ = digits[--n];
}

static void on_denied_syscall(int sig, siginfo_t *info, void *uctx)
{
	(void)sig;
	(void)uctx;
	char msg[200], *p = msg, *end = msg + sizeof(msg);
	int nr = info->si_syscall;
	const char *name = nr >= 0 && (size_t)nr < sizeof(kr_syscall_names) / sizeof(kr_syscall_names[0]) &&
				   kr_syscall_names[nr]
			       ? kr_syscall_names[nr]
			       : "unknown";
	put(&p, end, "kvmrun: seccomp: system call ");
	put(&p, end, name);
	put(&p, end, " (");
	put_num(&p, end, nr);
	put(&p, end, ") is not allowed while the guest runs; killing the process\n");
	ssize_t ignored = write(STDERR_FILENO, msg, (size_t)(p - msg));
	(void)ignored;
	/* Denied again, now with SIGSYS blocked: the kernel kills us by SIGSYS. */
	syscall(nr, 0, 0, 0, 0, 0, 0);
	_exit(159); /* not reached */
}

/* Argument conditions, spelled out (libseccomp's SCMP_A0 leaves fields to zero-fill). */
static struct scmp_arg_cmp arg_eq(unsigned arg, scmp_datum_t value)
{
	return (struct scmp_arg_cmp){.arg = arg, .op = SCMP_CMP_EQ, .datum_a = value, .datum_b = 0};
}

static struct scmp_arg_cmp arg_low32_eq(unsigned arg, scmp_datum_t value)
{
	return (struct scmp_arg_cmp){
		.arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu, .datum_b = value};
}

static int allow(scmp_filter_ctx ctx, int nr, unsigned n, const struct scmp_arg_cmp *args)
{
	int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, args);
	if (rc < 0) {
		errno = -rc;
		return kr_err_sys("sandbox: seccomp_rule_add_array(syscall %d, %u conditions)", nr, n);
	}
	return 0;
}

/* The ioctls the run loop and the final report make, on the fd they use. */
static int allow_ioctls(scmp_filter_ctx ctx, const struct kr_vm *vm)
{
	static const unsigned long vcpu_ioctls[] = {
		KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_TRANSLATE,
	};
	/* On every vCPU's fd: each vCPU thread runs its own; an AP's start sets its registers. */
	for (unsigned id = 0; id < vm->ncpus; id++)
		for (size_t i = 0; i < sizeof(vcpu_ioctls) / sizeof(vcpu_ioctls[0]); i++) {
			/* The kernel reads the request as 32 bits; compare only those. */
			struct scmp_arg_cmp a[] = {arg_eq(0, (scmp_datum_t)vm->vcpus[id].fd),
						   arg_low32_eq(1, vcpu_ioctls[i])};
			if (allow(ctx, SCMP_SYS(ioctl), 2, a) < 0)
				return -1;
		}
	/*
	 * Memory slots may still change (kr_mem_add/kr_mem_remove from a
	 * device); devices raise and lower interrupt lines.
	 */
	static const unsigned long vm_ioctls[] = {KVM_SET_USER_MEMORY_REGION, KVM_IRQ_LINE};
	for (size_t i = 0; i < sizeof(vm_ioctls) / sizeof(vm_ioctls[0]); i++) {
		struct scmp_arg_cmp a[] = {arg_eq(0, (scmp_datum_t)vm->vm_fd),
					   arg_low32_eq(1, vm_ioctls[i])};
		if (allow(ctx, SCMP_SYS(ioctl), 2, a) < 0)
			return -1;
	}
	return 0;
}

static int allow_write(scmp_filter_ctx ctx, int fd)
{
	struct scmp_arg_cmp a[] = {arg_eq(0, (scmp_datum_t)fd)};
	return allow(ctx, SCMP_SYS(write), 1, a);
}

static int build_filter(scmp_filter_ctx ctx, struct kr_vm *vm, const int *write_fds,
			size_t nwrite_fds)
{
	/* What the modules write to (console output), kvmrun's own messages, the caller's report files. */
	bool stderr_allowed = false;
	for (size_t m = 0; m < vm->nmodules; m++) {
		const struct kr_module *mod = &vm->modules[m];
		int fds[8];
		size_t n = mod->hooks->write_fds ?
				   mod->hooks->write_fds(vm, mod->opaque, fds, 8) : 0;
		for (size_t i = 0; i < n && i < 8; i++) {
			if (allow_write(ctx, fds[i]) < 0)
				return -1;
			stderr_allowed = stderr_allowed || fds[i] == STDERR_FILENO;
		}
	}
	if (!stderr_allowed && allow_write(ctx, STDERR_FILENO) < 0)
		return -1;
	for (size_t i = 0; i < nwrite_fds; i++)
		if (allow_write(ctx, write_fds[i]) < 0)
			return -1;
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
		/*
		 * The filter binds all threads (TSYNC), a thread still starting
		 * or ending too (the vCPU threads end in kr_vm_destroy): glibc's
		 * thread start, and the sanitizers' alternate signal stack.
		 */
		SCMP_SYS(rseq), SCMP_SYS(set_robust_list), SCMP_SYS(sigaltstack),
	};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (allow(ctx, plain[i], 0, NULL) < 0)
			return -1;
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
	/*
	 * The sanitizer builds only (make SAN=1, make TSAN=1): the filter binds
	 * every thread, and the sanitizers' runtimes map memory when a thread
	 * ends (ASan) and have a thread of their own that sleeps and reads the
	 * clock (TSan).
	 */
	static const int tsan_runtime[] = {
		SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(gettimeofday),
		SCMP_SYS(mmap),      SCMP_SYS(mprotect),        SCMP_SYS(sched_yield),
	};
	for (size_t i = 0; i < sizeof(tsan_runtime) / sizeof(tsan_runtime[0]); i++)
		if (allow(ctx, tsan_runtime[i], 0, NULL) < 0)
			return -1;
#endif
	/*
	 * The UART's input thread exists before the sandbox, and the filter
	 * binds every thread (TSYNC): its poll and reads of cfg.serial_in_fd.
	 */
	if (vm->cfg.serial_in_fd >= 0) {
		struct scmp_arg_cmp in[] = {arg_eq(0, (scmp_datum_t)vm->cfg.serial_in_fd)};
		if (allow(ctx, SCMP_SYS(read), 1, in) < 0 || allow(ctx, SCMP_SYS(poll), 0, NULL) < 0 ||
		    allow(ctx, SCMP_SYS(ppoll), 0, NULL) < 0)
			return -1;
	}
	struct scmp_arg_cmp monotonic[] = {arg_eq(0, CLOCK_MONOTONIC)};
	if (allow(ctx, SCMP_SYS(timer_create), 1, monotonic) < 0)
		return -1;
	/* kr_vm_stop for a VM running on another thread: the kick signal, this process only. */
	struct scmp_arg_cmp kick[] = {arg_eq(0, (scmp_datum_t)vm->pid),
				      arg_eq(2, (scmp_datum_t)kr_kick_signal())};
	if (allow(ctx, SCMP_SYS(tgkill), 2, kick) < 0)
		return -1;
	return allow_ioctls(ctx, vm);
}

int kr_sandbox_enter(struct kr_vm *vm, const int *write_fds, size_t nwrite_fds)
{
	/* /dev/kvm itself is needed only to create things; close it. */
	if (vm->kvm_fd >= 0) {
		close(vm->kvm_fd);
		vm->kvm_fd = -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return kr_err_sys("sandbox: prctl(PR_SET_NO_NEW_PRIVS, 1)");

	struct sigaction sa = {.sa_sigaction = on_denied_syscall, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return kr_err_sys("sandbox: sigaction(SIGSYS)");

	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return kr_err("sandbox: seccomp_init(SCMP_ACT_TRAP) failed");
	/*
	 * Every thread of the process, not only this one: the vCPU threads of
	 * the APs (and the UART's input thread) were created before, in
	 * kr_vcpu_prepare, so that no thread is created under the filter.
	 */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc < 0) {
		errno = -rc;
		rc = kr_err_sys("sandbox: seccomp_attr_set(SCMP_FLTATR_CTL_TSYNC, 1)");
	} else
		rc = build_filter(ctx, vm, write_fds, nwrite_fds);
	if (rc == 0) {
		int e = seccomp_load(ctx);
		if (e < 0) {
			errno = -e;
			rc = kr_err_sys("sandbox: seccomp_load");
		}
	}
	seccomp_release(ctx);
	return rc;
}

bool kr_sandbox_available(char *detail, size_t size)
{
	const struct scmp_version *v = seccomp_version();
	/* PR_GET_SECCOMP fails with EINVAL on kernels built without seccomp. */
	bool kernel = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
	int api = seccomp_api_get();
	snprintf(detail, size, "libseccomp %u.%u.%u, kernel seccomp %s, API level %d", v->major,
		 v->minor, v->micro, kernel ? "yes" : "no", api);
	return kernel && api >= 1;
}
