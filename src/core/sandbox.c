/* SPDX-License-Identifier: MIT */
/*
 * sandbox.c - after set-up, kvmrun needs only a handful of system calls to
 * run a guest. A seccomp filter allows exactly those, so a bug the guest
 * might trigger in the run loop cannot open files, map memory or start
 * processes. The filter was compiled to BPF when kvmrun was built
 * (core/sandbox_filter.h, scripts/gen-seccomp-filter.c): here its slots get
 * this process's fds, pid and signal, and the kernel gets the program, for
 * every thread of the process (SECCOMP_FILTER_FLAG_TSYNC).
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
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/run.h"
#include "core/sandbox_filter.h"
#include "core/vm.h"
#include "seccomp_filter.h"
#include "syscall_names.h"

_Static_assert(KR_SANDBOX_MAX_VCPUS >= KR_MAX_CPUS, "the filter has a slot for every vCPU fd");

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

size_t kr_sandbox_filter_max_len(void)
{
	return KR_FILTER_MAX_LEN;
}

/* The value of one slot; false if an fd in `v` is out of range. */
static bool slot_value(const struct kr_sandbox_values *v, const struct kr_filter_slot *s,
		       uint32_t *value)
{
	const int *fds = NULL;
	size_t n = 0;
	switch (s->kind) {
	case KR_SLOT_VCPU_FD: fds = v->vcpu_fds, n = v->nvcpus; break;
	case KR_SLOT_VM_FD: fds = &v->vm_fd, n = 1; break;
	case KR_SLOT_WRITE_FD: fds = v->write_fds, n = v->nwrite; break;
	case KR_SLOT_READ_FD: fds = v->read_fds, n = v->nread; break;
	case KR_SLOT_PID: *value = (uint32_t)v->pid; return v->pid > 0;
	case KR_SLOT_KICK: *value = (uint32_t)v->kick_signal; return v->kick_signal > 0;
	default: return false;
	}
	if (s->index >= n) {
		*value = KR_FILTER_NO_FD;
		return true;
	}
	*value = (uint32_t)fds[s->index];
	return fds[s->index] >= 0;
}

long kr_sandbox_filter_build(struct sock_filter *prog, size_t max, const struct kr_sandbox_values *v)
{
	if (v->nvcpus < 1 || v->nvcpus > KR_SANDBOX_MAX_VCPUS)
		return kr_err("sandbox: %zu vCPUs, the filter has room for 1 to %d", v->nvcpus,
			      KR_SANDBOX_MAX_VCPUS);
	if (v->nwrite > KR_SANDBOX_MAX_WRITE_FDS)
		return kr_err("sandbox: %zu fds to write to, the filter has room for %d", v->nwrite,
			      KR_SANDBOX_MAX_WRITE_FDS);
	if (v->nread > KR_SANDBOX_MAX_READ_FDS)
		return kr_err("sandbox: %zu fds to read from, the filter has room for %d", v->nread,
			      KR_SANDBOX_MAX_READ_FDS);
	const struct kr_filter_variant *f = &kr_filter_variants[0];
	while (f->nvcpus < v->nvcpus)
		f++; /* the last has KR_SANDBOX_MAX_VCPUS */
	if (max < f->len)
		return kr_err("sandbox: the filter has %zu instructions, room for %zu given", f->len,
			      max);
	memcpy(prog, f->prog, f->len * sizeof(*prog));
	for (size_t i = 0; i < f->nslots; i++) {
		const struct kr_filter_slot *s = &f->slots[i];
		uint32_t value = 0;
		/* The slot must hold its placeholder: a program and slot table that disagree is a build bug. */
		if (s->insn >= f->len || prog[s->insn].k != KR_FILTER_MAGIC(s->kind, s->index))
			return kr_err("sandbox: filter slot %zu (kind %u, index %u) does not point at its "
				      "placeholder (instruction %u)",
				      i, s->kind, s->index, s->insn);
		if (!slot_value(v, s, &value))
			return kr_err("sandbox: filter slot kind %u, index %u: value %d is out of range",
				      s->kind, s->index, (int)value);
		prog[s->insn].k = value;
	}
	return (long)f->len;
}

/* Add fd to fds[0..*n) unless it is there; at most `max`. */
static int add_fd(int *fds, size_t *n, size_t max, int fd, const char *what, const char *whose)
{
	if (fd < 0)
		return kr_err("sandbox: %s fd %d of %s is not an fd", what, fd, whose);
	for (size_t i = 0; i < *n; i++)
		if (fds[i] == fd)
			return 0;
	if (*n == max)
		return kr_err("sandbox: more than %zu fds to %s: the filter has no slot for fd %d of %s",
			      max, what, fd, whose);
	fds[(*n)++] = fd;
	return 0;
}

/*
 * The slots' values: the vCPU and VM fds; the fds the modules write to
 * (console output), stderr (kvmrun's own messages, the SIGSYS handler's
 * among them) and the caller's report files; the fds module threads read
 * (the UART's input); the pid and the kick signal for kr_vm_stop's tgkill.
 */
static int collect_values(struct kr_vm *vm, const int *write_fds, size_t nwrite_fds,
			  struct kr_sandbox_values *v)
{
	memset(v, 0, sizeof(*v));
	for (unsigned i = 0; i < vm->ncpus; i++)
		v->vcpu_fds[i] = vm->vcpus[i].fd;
	v->nvcpus = vm->ncpus;
	v->vm_fd = vm->vm_fd;
	v->pid = vm->pid;
	v->kick_signal = kr_kick_signal();
	for (size_t m = 0; m < vm->nmodules; m++) {
		const struct kr_module *mod = &vm->modules[m];
		int fds[8];
		size_t n = mod->hooks->write_fds ? mod->hooks->write_fds(vm, mod->opaque, fds, 8) : 0;
		for (size_t i = 0; i < n && i < 8; i++)
			if (add_fd(v->write_fds, &v->nwrite, KR_SANDBOX_MAX_WRITE_FDS, fds[i],
				   "write to", mod->hooks->name) < 0)
				return -1;
		n = mod->hooks->read_fds ? mod->hooks->read_fds(vm, mod->opaque, fds, 8) : 0;
		for (size_t i = 0; i < n && i < 8; i++)
			if (add_fd(v->read_fds, &v->nread, KR_SANDBOX_MAX_READ_FDS, fds[i], "read from",
				   mod->hooks->name) < 0)
				return -1;
	}
	if (add_fd(v->write_fds, &v->nwrite, KR_SANDBOX_MAX_WRITE_FDS, STDERR_FILENO, "write to",
		   "kvmrun's messages") < 0)
		return -1;
	for (size_t i = 0; i < nwrite_fds; i++)
		if (add_fd(v->write_fds, &v->nwrite, KR_SANDBOX_MAX_WRITE_FDS, write_fds[i],
			   "write to", "the caller's write_fds") < 0)
			return -1;
	return 0;
}

int kr_sandbox_enter(struct kr_vm *vm, const int *write_fds, size_t nwrite_fds)
{
	struct kr_sandbox_values v;
	if (collect_values(vm, write_fds, nwrite_fds, &v) < 0)
		return -1;
	struct sock_filter *prog = malloc(KR_FILTER_MAX_LEN * sizeof(*prog));
	if (!prog)
		return kr_err_sys("sandbox: malloc(%zu) for the filter",
				  KR_FILTER_MAX_LEN * sizeof(*prog));
	long len = kr_sandbox_filter_build(prog, KR_FILTER_MAX_LEN, &v);
	if (len < 0) {
		free(prog);
		return -1;
	}

	/* /dev/kvm itself is needed only to create things; close it. */
	if (vm->kvm_fd >= 0) {
		close(vm->kvm_fd);
		vm->kvm_fd = -1;
	}
	int rc = -1;
	struct sigaction sa = {.sa_sigaction = on_denied_syscall, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	struct sock_fprog fprog = {.len = (unsigned short)len, .filter = prog};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		kr_err_sys("sandbox: prctl(PR_SET_NO_NEW_PRIVS, 1)");
	} else if (sigaction(SIGSYS, &sa, NULL) < 0) {
		kr_err_sys("sandbox: sigaction(SIGSYS)");
	} else {
		/*
		 * TSYNC: every thread of the process gets the filter (vCPU threads,
		 * a device's input thread, the caller's), or none does. It fails
		 * with the id of a thread that cannot take it (one whose own
		 * seccomp filters this one does not descend from).
		 */
		long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
				 &fprog);
		if (r < 0)
			kr_err_sys("sandbox: seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, "
				   "%ld instructions)",
				   len);
		else if (r > 0)
			kr_err("sandbox: seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC): "
			       "thread %ld of this process cannot take the filter (it has seccomp "
			       "filters of its own); no thread is filtered",
			       r);
		else
			rc = 0;
	}
	free(prog);
	return rc;
}

bool kr_sandbox_available(char *detail, size_t size)
{
	/* PR_GET_SECCOMP fails with EINVAL on kernels built without seccomp. */
	bool kernel = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
	/* The action a denied call gets: SIGSYS, which the handler turns into a message. */
	uint32_t trap = SECCOMP_RET_TRAP;
	bool traps = kernel && syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &trap) == 0;
	/*
	 * A flag the kernel knows passes the flag check, and then the NULL
	 * program fails with EFAULT; an unknown one fails with EINVAL.
	 */
	bool tsync = kernel &&
		     syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, NULL) < 0 &&
		     errno == EFAULT;
	snprintf(detail, size,
		 "kernel filters %s, trap %s, thread sync %s; filter compiled at build time, "
		 "libseccomp " KR_FILTER_LIBSECCOMP,
		 kernel ? "yes" : "no", traps ? "yes" : "no", tsync ? "yes" : "no");
	return kernel && traps && tsync;
}
