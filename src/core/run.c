/* SPDX-License-Identifier: MIT */
/*
 * run.c - step 8: the KVM_RUN loop.
 *
 * KVM_RUN returns whenever the guest does something the kernel leaves to
 * user space; kvm_run->exit_reason says what. Every exit is either handed to
 * a device on the bus or ends the run with a struct kr_stop that says why.
 * Nothing the guest does can make this loop touch memory outside the guest
 * or spin forever without a KVM_RUN in between.
 */
#define _GNU_SOURCE /* gettid, SIGEV_THREAD_ID, syscall */
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/bounds.h"
#include "core/bus.h"
#include "core/error.h"
#include "core/run.h"
#include "core/smp.h"
#include "core/vm.h"

/*
 * Stopping from any thread, or from a signal handler.
 *
 * A vCPU thread may be inside KVM_RUN, where only a signal reaches it:
 * KVM_RUN then returns EINTR. It may instead be handling an exit, about to
 * enter KVM_RUN again: kvm_run->immediate_exit makes that entry return EINTR
 * at once. kr_vm_stop sets both, in this order: the request (an atomic every
 * vCPU's loop reads before every KVM_RUN), then for each vCPU its
 * immediate_exit and a signal to the thread recorded in its tid. A loop
 * records its tid before it first reads the request, so (both sequentially
 * consistent) either the loop sees the request or kr_vm_stop sees the thread
 * and signals it: no wake-up is lost, on any vCPU. A stop that one vCPU's
 * exit causes (HLT, EXIT, a crash) goes the same way, so it ends every
 * vCPU's run at once. A signal that arrives after the run ended is harmless
 * (the handler does nothing then) and the next run may see one spurious EINTR.
 *
 * Everything here is async-signal-safe: atomics (lock-free for int), a plain
 * byte copy for the message, getpid-free tgkill with the pid recorded at
 * creation. The first request wins; a second one while the first is being
 * written returns at once, so a signal handler interrupting kr_vm_stop on the
 * same thread cannot deadlock.
 */
static int kick_signal; /* SIGRTMIN + 3, set once by kr_kick_signal_init */

/* This thread's vCPU if it is one of vm's, else NULL. */
static struct kr_vcpu *own_vcpu(const struct kr_vm *vm)
{
	struct kr_vcpu *v = kr_this_vcpu;
	return v && v->vm == vm ? v : NULL;
}

static void copy_message(char *dst, size_t size, const char *src)
{
	size_t i = 0;
	for (; src[i] && i + 1 < size; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

/* Make every vCPU thread in its run loop leave KVM_RUN and look at the request. */
static void kick(struct kr_vm *vm)
{
	const struct kr_vcpu *self = own_vcpu(vm);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct kr_vcpu *v = &vm->vcpus[i];
		if (v->run)
			__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pid_t tid = atomic_load(&v->tid);
		/* On the vCPU's own thread we are not inside KVM_RUN: immediate_exit is enough. */
		if (tid > 0 && v != self)
			syscall(SYS_tgkill, vm->pid, tid, kick_signal); /* ESRCH: its run just ended */
	}
}

/* Fill pending_stop from `stop` (its kvm_exit replaced), unless a request came first. */
static void request_stop_with(struct kr_vm *vm, const struct kr_stop *stop, const char *message,
			      uint32_t kvm_exit)
{
	int saved_errno = errno; /* may run in a signal handler */
	int expected = KR_STOPPING_NONE;
	if (!atomic_compare_exchange_strong(&vm->stop_requested, &expected, KR_STOPPING_WRITING))
		return; /* the first reason wins */
	struct kr_stop *p = &vm->pending_stop;
	*p = *stop;
	p->kvm_exit = kvm_exit;
	const struct kr_vcpu *self = own_vcpu(vm);
	p->cpu = self ? self->id : 0; /* from outside the vCPU threads: the boot processor */
	copy_message(p->message, sizeof(p->message),
		     message ? message : kr_stop_reason_name(stop->reason));
	atomic_store(&vm->stop_requested, KR_STOPPING_READY);
	kick(vm);
	errno = saved_errno;
}

static void request_stop(struct kr_vm *vm, enum kr_stop_reason reason, int exit_code,
			 const char *message, uint32_t kvm_exit)
{
	struct kr_stop stop;
	memset(&stop, 0, sizeof(stop));
	stop.reason = reason;
	stop.exit_code = exit_code;
	request_stop_with(vm, &stop, message, kvm_exit);
}

/* On the vCPU thread a handler is dealing with this exit; elsewhere the
 * stop interrupts the run, as a signal does. */
static uint32_t stop_exit(const struct kr_vm *vm)
{
	const struct kr_vcpu *self = own_vcpu(vm);
	if (self)
		return self->run->exit_reason;
	if (vm->vcpus[0].run && atomic_load(&vm->running_tid) == 0)
		return vm->vcpus[0].run->exit_reason;
	return KVM_EXIT_INTR;
}

void kr_vm_stop(struct kr_vm *vm, enum kr_stop_reason reason, int exit_code, const char *message)
{
	request_stop(vm, reason, exit_code, message, stop_exit(vm));
}

void kr_vm_stop_with(struct kr_vm *vm, const struct kr_stop *stop)
{
	request_stop_with(vm, stop, stop->message, stop_exit(vm));
}

static void stopf(struct kr_vm *vm, enum kr_stop_reason reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void stopf(struct kr_vm *vm, enum kr_stop_reason reason, const char *fmt, ...)
{
	char msg[sizeof(vm->pending_stop.message)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kr_vm_stop(vm, reason, 0, msg);
}

static int handle_io(struct kr_vcpu *v)
{
	struct kr_vm *vm = v->vm;
	struct kvm_run *run = v->run;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	uint32_t size = run->io.size, count = run->io.count;
	/* The data lives inside the kvm_run mapping; check it really does. */
	uint64_t total = (uint64_t)size * count;
	if (!kr_range_ok(run->io.data_offset, total, (uint64_t)vm->run_size))
		return kr_err("run: KVM_EXIT_IO data at offset 0x%llx (%u x %u bytes) lies outside "
			      "the %d-byte kvm_run mapping",
			      (unsigned long long)run->io.data_offset, count, size, vm->run_size);
	uint8_t *data = (uint8_t *)run + run->io.data_offset;

	struct kr_device *dev = kr_bus_find(vm, KR_SPACE_PIO, run->io.port, size);
	if (!dev && vm->unclaimed_pio) {
		for (uint32_t i = 0; i < count; i++)
			if (vm->unclaimed_pio(vm, NULL, run->io.port, data + (size_t)i * size, size,
					      is_write) < 0)
				return -1;
		return 0;
	}
	if (!dev) {
		stopf(vm, KR_STOP_UNHANDLED, "unhandled port I/O: %s of %u byte%s %s port 0x%x",
		      is_write ? "write" : "read", size, size == 1 ? "" : "s",
		      is_write ? "to" : "from", run->io.port);
		return 0;
	}
	/* `rep outs`/`rep ins` may deliver several items in one exit. */
	for (uint32_t i = 0; i < count && !vm->stop_requested; i++)
		if (kr_bus_access(vm, dev, run->io.port, data + (size_t)i * size, size, is_write) < 0)
			return -1;
	return 0;
}

static bool in_readonly_slot(const struct kr_vm *vm, uint64_t gpa)
{
	for (int i = 0; i < KR_MAX_SLOTS; i++) {
		const struct kr_slot *s = &vm->slots[i];
		if (s->used && (s->flags & KR_MEM_READONLY) && gpa >= s->gpa && gpa - s->gpa < s->size)
			return true;
	}
	return false;
}

static int handle_mmio(struct kr_vcpu *v)
{
	struct kr_vm *vm = v->vm;
	struct kvm_run *run = v->run;
	uint64_t addr = run->mmio.phys_addr;
	uint32_t len = run->mmio.len;
	bool is_write = run->mmio.is_write;
	if (len == 0 || len > sizeof(run->mmio.data))
		return kr_err("run: KVM_EXIT_MMIO with length %u at 0x%llx", len,
			      (unsigned long long)addr);
	struct kr_device *dev = kr_bus_find(vm, KR_SPACE_MMIO, addr, len);
	if (dev)
		return kr_bus_access(vm, dev, addr, run->mmio.data, len, is_write);
	if (is_write && in_readonly_slot(vm, addr))
		stopf(vm, KR_STOP_UNHANDLED, "write of %u byte%s to read-only memory at 0x%llx", len,
		      len == 1 ? "" : "s", (unsigned long long)addr);
	else
		stopf(vm, KR_STOP_UNHANDLED, "unhandled MMIO %s of %u byte%s at 0x%llx",
		      is_write ? "write" : "read", len, len == 1 ? "" : "s",
		      (unsigned long long)addr);
	return 0;
}

static void internal_error(struct kr_vcpu *v)
{
	struct kr_vm *vm = v->vm;
	struct kvm_run *run = v->run;
	static const char *const sub[] = {
		[KVM_INTERNAL_ERROR_EMULATION] = "emulation failure",
		[KVM_INTERNAL_ERROR_SIMUL_EX] = "exception during exception delivery",
		[KVM_INTERNAL_ERROR_DELIVERY_EV] = "event delivery failed",
		[KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON] = "unexpected exit reason",
	};
	uint32_t s = run->internal.suberror;
	const char *what = s < sizeof(sub) / sizeof(sub[0]) && sub[s] ? sub[s] : "unknown";
	char data[128] = "";
	size_t used = 0;
	uint32_t n = run->internal.ndata;
	if (n > sizeof(run->internal.data) / sizeof(run->internal.data[0]))
		n = sizeof(run->internal.data) / sizeof(run->internal.data[0]);
	for (uint32_t i = 0; i < n && i < 4 && used < sizeof(data); i++)
		used += (size_t)snprintf(data + used, sizeof(data) - used, " 0x%llx",
					 (unsigned long long)run->internal.data[i]);
	stopf(vm, KR_STOP_INTERNAL_ERROR, "KVM_EXIT_INTERNAL_ERROR: suberror %u (%s), data:%s", s,
	      what, n ? data : " none");
}

static void system_event(struct kr_vcpu *v)
{
	struct kr_vm *vm = v->vm;
	static const char *const types[] = {
		[KVM_SYSTEM_EVENT_SHUTDOWN] = "shutdown",
		[KVM_SYSTEM_EVENT_RESET] = "reset",
		[KVM_SYSTEM_EVENT_CRASH] = "crash",
	};
	uint32_t t = v->run->system_event.type;
	const char *what = t < sizeof(types) / sizeof(types[0]) && types[t] ? types[t] : "other";
	stopf(vm, KR_STOP_SYSTEM_EVENT, "KVM_EXIT_SYSTEM_EVENT: type %u (%s)", t, what);
}

/* KVM_EXIT_DEBUG: for the module that set up guest debugging (see struct kr_hooks). */
static int debug_exit(struct kr_vcpu *v)
{
	struct kr_vm *vm = v->vm;
	for (size_t i = 0; i < vm->nmodules; i++) {
		const struct kr_hooks *h = vm->modules[i].hooks;
		int taken = h->on_debug_exit ? h->on_debug_exit(vm, vm->modules[i].opaque) : 0;
		if (taken != 0)
			return taken < 0 ? -1 : 0;
	}
	/* Nobody asked for guest debugging: an exit like any other nobody handles. */
	stopf(vm, KR_STOP_UNHANDLED, "unhandled exit %s (%u)", kr_exit_name(v->run->exit_reason),
	      v->run->exit_reason);
	return 0;
}

/* One exit of vCPU v: hand it to its device, or decide that the run is over. */
int kr_handle_exit(struct kr_vcpu *v)
{
	struct kr_vm *vm = v->vm;
	struct kvm_run *run = v->run;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(v);
	case KVM_EXIT_MMIO:
		return handle_mmio(v);
	case KVM_EXIT_HLT:
		/*
		 * Without the in-kernel LAPIC nothing would ever wake an AP from
		 * HLT: it parks (KVMRUN_HC_START_CPU), and the others run on.
		 */
		if (v->id != 0)
			return KR_EXIT_PARK;
		kr_vm_stop(vm, KR_STOP_HLT, 0, "guest halted (KVM_EXIT_HLT)");
		return 0;
	case KVM_EXIT_SHUTDOWN:
		stopf(vm, KR_STOP_SHUTDOWN, "triple fault (KVM_EXIT_SHUTDOWN): the guest hit an "
					    "exception it could not handle");
		return 0;
	case KVM_EXIT_FAIL_ENTRY:
		stopf(vm, KR_STOP_FAIL_ENTRY,
		      "KVM_EXIT_FAIL_ENTRY: the CPU refused to enter the guest, "
		      "hardware_entry_failure_reason 0x%llx on cpu %u",
		      (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
		      run->fail_entry.cpu);
		return 0;
	case KVM_EXIT_INTERNAL_ERROR:
		internal_error(v);
		return 0;
	case KVM_EXIT_SYSTEM_EVENT:
		system_event(v);
		return 0;
	case KVM_EXIT_DEBUG:
		return debug_exit(v);
	case KVM_EXIT_INTR:
		return 0; /* a signal arrived; the loop checks for a stop request */
	default:
		stopf(vm, KR_STOP_UNHANDLED, "unhandled exit %s (%u)", kr_exit_name(run->exit_reason),
		      run->exit_reason);
		return 0;
	}
}

/*
 * Keep the vCPU state of the stop, for crash reports, and add where the guest
 * was to the message. An exception report already holds the state at the
 * faulting instruction. The modules may add to what the stop says (the x86
 * board recognises a vCPU the CPU reset, whose RIP means nothing).
 */
static void finish_stop(struct kr_vm *vm, struct kr_stop *stop)
{
	if (stop->cpu >= vm->ncpus)
		stop->cpu = 0;
	struct kr_vcpu *v = &vm->vcpus[stop->cpu];
	if (kr_vm_smp(vm)) {
		/* Which vCPU, first: the rest of the message is about that one. */
		char msg[sizeof(stop->message)];
		int n = snprintf(msg, sizeof(msg), "vCPU %u: ", stop->cpu);
		copy_message(msg + n, sizeof(msg) - (size_t)n, stop->message);
		memcpy(stop->message, msg, sizeof(msg));
	}
	if (!stop->have_state)
		stop->have_state = kr_vcpu_get_regs_of(v, &stop->regs) == 0 &&
				   kr_vcpu_get_sregs_of(v, &stop->sregs) == 0;
	if (!stop->have_state)
		return;
	stop->rip = stop->regs.rip;
	for (size_t i = 0; i < vm->nmodules; i++)
		if (vm->modules[i].hooks->on_stop)
			vm->modules[i].hooks->on_stop(vm, vm->modules[i].opaque, stop);
	size_t len = strlen(stop->message);
	if (!stop->cpu_was_reset)
		snprintf(stop->message + len, sizeof(stop->message) - len, " (RIP=0x%llx)",
			 (unsigned long long)stop->rip);
}

/* The run is over: the modules push out what they hold (console output). */
static int end_run(struct kr_vm *vm)
{
	int rc = 0;
	for (size_t i = 0; i < vm->nmodules; i++)
		if (vm->modules[i].hooks->on_run_end &&
		    vm->modules[i].hooks->on_run_end(vm, vm->modules[i].opaque) < 0)
			rc = -1;
	return rc;
}

void kr_vm_observe_exits(struct kr_vm *vm, kr_exit_observer fn, void *opaque, bool want_rip)
{
	vm->observer = fn;
	vm->observer_opaque = opaque;
	vm->observer_wants_rip = want_rip;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Describe the exit of v just handled to the observer. */
static void observe_exit(struct kr_vcpu *v, uint64_t seq, uint64_t t0)
{
	struct kr_vm *vm = v->vm;
	struct kvm_run *run = v->run;
	struct kr_exit_record rec = {.seq = seq, .vcpu = v->id, .kvm_exit = run->exit_reason};
	if (run->exit_reason == KVM_EXIT_IO) {
		rec.has_access = true;
		rec.is_write = run->io.direction == KVM_EXIT_IO_OUT;
		rec.addr = run->io.port;
		rec.size = run->io.size;
		rec.count = run->io.count;
		/* handle_io checked that the data lies inside the mapping */
		if (kr_range_ok(run->io.data_offset, run->io.size, (uint64_t)vm->run_size))
			memcpy(rec.data, (uint8_t *)run + run->io.data_offset,
			       run->io.size < 8 ? run->io.size : 8);
	} else if (run->exit_reason == KVM_EXIT_MMIO) {
		rec.has_access = rec.is_mmio = true;
		rec.is_write = run->mmio.is_write;
		rec.addr = run->mmio.phys_addr;
		rec.size = run->mmio.len;
		rec.count = 1;
		memcpy(rec.data, run->mmio.data, rec.size < 8 ? rec.size : 8);
	}
	struct kvm_regs regs;
	if (vm->observer_wants_rip && kr_vcpu_get_regs_of(v, &regs) == 0) {
		rec.has_rip = true;
		rec.rip = regs.rip;
	}
	rec.host_ns = now_ns() - t0;
	/* The observer is the caller's code: with several vCPUs, one call at a time. */
	bool smp = kr_vm_smp(vm);
	if (smp)
		pthread_mutex_lock(&vm->observer_lock);
	vm->observer(vm, vm->observer_opaque, &rec);
	if (smp)
		pthread_mutex_unlock(&vm->observer_lock);
}

/*
 * The signal that interrupts KVM_RUN. Its handler does nothing but make the
 * next KVM_RUN of this thread's VM (if the thread is running one) return at
 * once, for a signal that lands while the thread is handling an exit. The
 * run loop finds out why by itself: a stop request, or the deadline passed.
 * SA_RESTART: any other system call it interrupts goes on.
 */
static void on_kick(int sig)
{
	(void)sig;
	struct kr_vcpu *v = kr_this_vcpu;
	if (v)
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

int kr_kick_signal(void)
{
	return kick_signal;
}

int kr_kick_signal_init(void)
{
	int sig = SIGRTMIN + 3;
	struct sigaction old;
	if (sigaction(sig, NULL, &old) < 0)
		return kr_err_sys("signals: sigaction(SIGRTMIN+3 = %d) to read the current handler", sig);
	/* Someone else's handler would be replaced silently: refuse instead. SIG_IGN
	 * would discard the signal, and KVM_RUN would never see it. */
	if ((old.sa_flags & SA_SIGINFO) || (old.sa_handler != SIG_DFL && old.sa_handler != on_kick))
		return kr_err("signals: SIGRTMIN+3 (%d) is taken (a handler or SIG_IGN); kvmrun needs "
			      "this signal to interrupt KVM_RUN (see kr_vm_stop in kvmrun.h)", sig);
	struct sigaction sa = {.sa_handler = on_kick, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) < 0)
		return kr_err_sys("signals: sigaction(SIGRTMIN+3 = %d, SA_RESTART)", sig);
	kick_signal = sig;
	return 0;
}

/*
 * The timeout: a POSIX timer created for each run, whose signal goes to the
 * thread running it (SIGEV_THREAD_ID), whichever thread created the VM. It
 * expires at the deadline on CLOCK_MONOTONIC, so after the EINTR it causes,
 * a clock read tells the loop the time is up.
 */
struct run_timer {
	bool armed;
	timer_t id;
	uint64_t deadline_ns;
};

static int timer_start(struct kr_vm *vm, pid_t tid, struct run_timer *t)
{
	t->armed = false;
	if (!vm->cfg.timeout_ns)
		return 0;
	struct sigevent ev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = kick_signal};
	ev._sigev_un._tid = tid;
	if (timer_create(CLOCK_MONOTONIC, &ev, &t->id) < 0)
		return kr_err_sys("timeout: timer_create(CLOCK_MONOTONIC, SIGEV_THREAD_ID tid %d)",
				  (int)tid);
	t->armed = true;
	uint64_t ns = now_ns() + vm->cfg.timeout_ns;
	if (ns < vm->cfg.timeout_ns)
		ns = UINT64_MAX; /* a timeout so long it never comes */
	t->deadline_ns = ns;
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)(ns / 1000000000u),
					      .tv_nsec = (long)(ns % 1000000000u)}};
	if (timer_settime(t->id, TIMER_ABSTIME, &its, NULL) < 0)
		return kr_err_sys("timeout: timer_settime(TIMER_ABSTIME, %llu ns)",
				  (unsigned long long)ns);
	return 0;
}

static int timer_stop(struct run_timer *t)
{
	if (t->armed && timer_delete(t->id) < 0)
		return kr_err_sys("timeout: timer_delete");
	t->armed = false;
	return 0;
}

static bool timer_expired(const struct run_timer *t)
{
	return t && t->armed && now_ns() >= t->deadline_ns;
}

/*
 * A stop that leaves the vCPU in a state the guest cannot go on from: the
 * exit was not (or could not be) completed. The others (HLT, EXIT, a request,
 * the timeout, the output limit) leave it where it stopped, ready to resume.
 */
static bool stop_is_final(enum kr_stop_reason reason)
{
	switch (reason) {
	case KR_STOP_HLT:
	case KR_STOP_EXIT:
	case KR_STOP_REQUESTED:
	case KR_STOP_TIMEOUT:
	case KR_STOP_OUTPUT_LIMIT:
	case KR_STOP_SNAPSHOT:
		return false;
	default:
		return true;
	}
}

static int check_can_run(struct kr_vm *vm)
{
	if (!vm->prepared)
		return kr_err("run: the vCPU was never prepared: call kr_vcpu_prepare() (after "
			      "loading the image) before kr_vm_run()");
	if (vm->cannot_resume)
		return kr_err("run: the VM cannot be resumed after %s; create a new VM",
			      vm->cannot_resume_why);
	if (kr_this_vcpu)
		return kr_err("run: kr_vm_run called while this thread is already running a VM "
			      "(from a device handler or an observer?)");
	return 0;
}

/* Let the kick signal through while this thread runs the VM, if it blocks it. */
static int unblock_kick(sigset_t *old, bool *changed)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, kick_signal);
	int e = pthread_sigmask(SIG_UNBLOCK, &set, old);
	if (e) {
		errno = e;
		return kr_err_sys("run: pthread_sigmask(SIG_UNBLOCK, SIGRTMIN+3)");
	}
	*changed = sigismember(old, kick_signal) == 1;
	return 0;
}

static void stop_for_timeout(struct kr_vm *vm)
{
	char msg[96];
	snprintf(msg, sizeof(msg), "the guest ran longer than the timeout of %llu ms",
		 (unsigned long long)(vm->cfg.timeout_ns / 1000000u));
	request_stop(vm, KR_STOP_TIMEOUT, 0, msg, KVM_EXIT_INTR);
}

/*
 * The KVM_RUN loop proper, of one vCPU on its own thread: returns 0 once a
 * stop is requested, KR_EXIT_PARK when the guest halted an AP, -1 on a VMM
 * failure. timer: the run's timeout (vCPU 0's thread only; NULL elsewhere).
 */
static int run_loop(struct kr_vcpu *v, const struct run_timer *timer)
{
	struct kr_vm *vm = v->vm;
	while (!atomic_load(&vm->stop_requested)) {
		uint64_t t0 = vm->observer ? now_ns() : 0;
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			/* only an exit surely refreshed run->s.regs */
			v->sync_fresh = v->regs_mirror = false;
			/*
			 * A signal (or immediate_exit) interrupted the run: not an exit.
			 * Clear immediate_exit before looking at why, so a request that
			 * comes after the look sets it again.
			 */
			if (errno == EINTR || errno == EAGAIN) {
				__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				if (timer_expired(timer))
					stop_for_timeout(vm);
				continue;
			}
			return kr_err_sys("run: ioctl KVM_RUN(vcpu %u fd %d)", v->id, v->fd);
		}
		v->sync_fresh = v->regs_mirror = vm->sync_regs;
		int r = kr_handle_exit(v);
		if (r < 0)
			return kr_err_context("run: handling %s", kr_exit_name(v->run->exit_reason));
		uint64_t seq = atomic_fetch_add_explicit(&vm->exit_seq, 1, memory_order_relaxed);
		if (vm->observer)
			observe_exit(v, seq, t0);
		if (r == KR_EXIT_PARK)
			return r;
	}
	return 0;
}

/*
 * One vCPU's part of a run, on its thread `tid`: the loop, between the
 * marks that let a stop find it (kr_this_vcpu for the signal handler, the
 * tid for kick). A VMM failure stops the other vCPUs too.
 */
static int run_vcpu(struct kr_vcpu *v, pid_t tid, const struct run_timer *timer)
{
	struct kr_vm *vm = v->vm;
	v->sync_fresh = false;
	kr_this_vcpu = v;
	atomic_store(&v->tid, tid);
	int rc = run_loop(v, timer);
	if (rc < 0) {
		int saved = errno;
		request_stop(vm, KR_STOP_REQUESTED, 0, "a vCPU thread failed", KVM_EXIT_INTR);
		errno = saved;
	}
	/*
	 * From here on a kick is not for this vCPU: a late signal finds
	 * kr_this_vcpu NULL. immediate_exit, maybe set by a kick, starts clear
	 * at the next run (or makes its first KVM_RUN return EINTR: harmless).
	 */
	atomic_store(&v->tid, 0);
	kr_this_vcpu = NULL;
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	return rc;
}

int kr_run_ap(struct kr_vcpu *v)
{
	int rc = run_vcpu(v, gettid(), NULL);
	v->sync_fresh = false; /* outside its run, another thread may read or change the vCPU */
	return rc;
}

/*
 * kr_vm_run with vCPU 0 held (vm->held: the gdb stub steps an AP alone):
 * this thread runs no vCPU but waits until the APs' loops end, at a stop
 * (which ends them all) or when each one that ran halted, which ends the
 * run too, as nothing would run on. The timeout is this thread's to keep.
 */
static void hold_boot_vcpu(struct kr_vm *vm, const struct run_timer *timer)
{
	uint64_t deadline = timer->armed ? timer->deadline_ns : 0;
	while (!kr_smp_wait_aps(vm, deadline)) {
		stop_for_timeout(vm);
		deadline = 0; /* the APs leave at the kick: wait for them */
	}
	if (!atomic_load(&vm->stop_requested))
		request_stop(vm, KR_STOP_REQUESTED, 0, "every vCPU that ran halted (vCPU 0 held)",
			     KVM_EXIT_INTR);
	/* A kick set it for vCPU 0 too, which did not run: its next KVM_RUN starts clean. */
	__atomic_store_n(&vm->vcpus[0].run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

/* Take the request that ended the run (waiting out a kr_vm_stop still writing it). */
static void take_stop(struct kr_vm *vm, struct kr_stop *out)
{
	while (atomic_load(&vm->stop_requested) == KR_STOPPING_WRITING)
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause(); /* another thread is copying a message: nanoseconds */
#endif
	if (out)
		*out = vm->pending_stop;
	atomic_store(&vm->stop_requested, KR_STOPPING_NONE);
}

int kr_vm_run(struct kr_vm *vm, struct kr_stop *stop)
{
	memset(stop, 0, sizeof(*stop));
	if (check_can_run(vm) < 0)
		return -1;
	pid_t tid = gettid();
	pid_t none = 0;
	if (!atomic_compare_exchange_strong(&vm->running_tid, &none, tid))
		return kr_err("run: the VM is already running on thread %d", (int)none);

	sigset_t old_mask;
	bool mask_changed = false, ran = false, loop_failed = false;
	struct run_timer timer = {0};
	int rc = unblock_kick(&old_mask, &mask_changed);
	if (rc == 0)
		rc = timer_start(vm, tid, &timer);
	if (rc == 0 && (vm->held & 1) && kr_smp_runnable(vm) == 0)
		rc = kr_err_code(KR_E_BAD_ARG, "run: no vCPU to run (vCPU 0 held, and no AP "
					       "started that is neither halted nor held)");
	if (rc == 0) {
		ran = true;
		kr_smp_run_begin(vm); /* the APs go */
		if (vm->held & 1)
			hold_boot_vcpu(vm, &timer);
		else
			rc = run_vcpu(&vm->vcpus[0], tid, &timer);
		/* kr_vm_run returns once no vCPU runs; an AP's failure fails it. */
		if (kr_smp_run_end(vm, rc < 0) < 0)
			rc = -1;
		loop_failed = rc < 0;
	}
	if (timer_stop(&timer) < 0 && rc == 0)
		rc = -1;
	if (mask_changed)
		pthread_sigmask(SIG_SETMASK, &old_mask, NULL);

	/* From here on a kr_vm_stop is for the next run. */
	atomic_store(&vm->running_tid, 0);
	if (!ran)
		return rc; /* the guest did not run: a request still waits for it */
	take_stop(vm, rc == 0 ? stop : NULL);
	if (loop_failed) {
		/* The exit in hand was not completed: the guest cannot go on from it. */
		vm->cannot_resume = true;
		snprintf(vm->cannot_resume_why, sizeof(vm->cannot_resume_why),
			 "a failed kr_vm_run (a VMM error, not a guest stop)");
	} else if (rc == 0) {
		finish_stop(vm, stop);
		if (stop_is_final(stop->reason)) {
			vm->cannot_resume = true;
			snprintf(vm->cannot_resume_why, sizeof(vm->cannot_resume_why),
				 "its %s stop (%.150s)", kr_stop_reason_name(stop->reason),
				 stop->message);
		}
	}
	if (end_run(vm) < 0 && rc == 0)
		rc = -1;
	/*
	 * Only now: the stop's state came from vCPU 0's run->s.regs if fresh
	 * (no ioctl); outside a run, the caller may change the vCPU.
	 */
	vm->vcpus[0].sync_fresh = false;
	return rc;
}

int kr_vcpu_complete_exit(struct kr_vm *vm, const char *what)
{
	struct kr_vcpu *v = kr_vcpu_current(vm);
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	int r = ioctl(v->fd, KVM_RUN, 0);
	int e = errno;
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	v->regs_mirror = false; /* completing may move RIP or write RAX */
	if (r == 0 || e != EINTR) {
		errno = r == 0 ? EPROTO : e;
		return kr_err_sys("%s: ioctl KVM_RUN(immediate_exit=1) to complete the last exit",
				  what);
	}
	/* Done: no one completes it again (KVM leaves the field as it was). */
	v->run->exit_reason = KVM_EXIT_INTR;
	return 0;
}
