/* SPDX-License-Identifier: MIT */
/*
 * smp.c - several vCPUs: the threads of the application processors.
 *
 * vCPU 0 runs on the thread that calls kr_vm_run. Each AP has a thread of
 * its own, created by kr_vcpu_prepare (before kr_sandbox_enter: no clone
 * under seccomp) and parked on a condition variable between runs. kr_vm_run
 * tells every started AP to go, runs vCPU 0 itself, and once vCPU 0's loop
 * has ended (every stop ends all loops: see kick in core/run.c) waits until
 * no AP is in its loop either, so when kr_vm_run returns nothing runs.
 *
 * The lock guards only what an AP is told (go, started) and the count of
 * APs that run: the exits themselves are handled without it, each on its
 * vCPU's thread. While parked, a thread makes no system call but futex;
 * in a run, those of the run loop (ioctl on its own vCPU fd, tgkill of the
 * kick, the devices' calls).
 *
 * Signals: an AP thread blocks all of them but the kick signal (and those a
 * thread raises itself, SIGSYS of the sandbox among them), so that a signal
 * meant for the process (SIGINT, SIGTERM, the caller's timers) goes to the
 * caller's threads, and the kick reaches the AP in KVM_RUN.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/run.h"
#include "core/smp.h"

static void *ap_thread(void *arg)
{
	struct kr_vcpu *v = arg;
	struct kr_smp *s = &v->vm->smp;
	pthread_mutex_lock(&s->lock);
	s->parked++; /* started: kr_smp_start_threads waits for this */
	pthread_cond_broadcast(&s->cond);
	for (;;) {
		while (!s->quit && !v->go)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->quit)
			break;
		v->go = false;
		pthread_mutex_unlock(&s->lock);

		int r = kr_run_ap(v);

		pthread_mutex_lock(&s->lock);
		if (r < 0 && !s->failed) {
			/* kr_err is per thread: keep it for kr_vm_run's caller. */
			s->failed = true;
			s->err_code = kr_last_error_code();
			s->err_errno = kr_last_errno();
			snprintf(s->err_msg, sizeof(s->err_msg), "vCPU %u: %s", v->id,
				 kr_last_error());
		}
		if (r == KR_EXIT_PARK)
			v->halted = true;
		v->active = false;
		s->active--;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int kr_smp_start_threads(struct kr_vm *vm, bool all_started)
{
	struct kr_smp *s = &vm->smp;
	if (vm->ncpus <= 1)
		return 0;
	int e = pthread_mutex_init(&s->lock, NULL);
	if (e == 0) {
		e = pthread_cond_init(&s->cond, NULL);
		if (e)
			pthread_mutex_destroy(&s->lock);
	}
	if (e) {
		errno = e;
		return kr_err_sys("vCPU threads: pthread_mutex_init/pthread_cond_init");
	}
	s->lock_ready = true;

	/*
	 * The threads inherit this mask: everything blocked but the kick and
	 * the signals a thread raises itself (a blocked one would kill the
	 * process unheard: the sandbox's SIGSYS names the denied call).
	 */
	static const int own[] = {SIGSYS, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT};
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, kr_kick_signal());
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		sigdelset(&all, own[i]);
	e = pthread_sigmask(SIG_SETMASK, &all, &old);
	if (e) {
		errno = e;
		return kr_err_sys("vCPU threads: pthread_sigmask(SIG_SETMASK, all but SIGRTMIN+3)");
	}
	int rc = 0;
	for (unsigned id = 1; id < vm->ncpus; id++) {
		struct kr_vcpu *v = &vm->vcpus[id];
		v->started = all_started;
		e = pthread_create(&v->thread, NULL, ap_thread, v);
		if (e) {
			errno = e;
			rc = kr_err_sys("vCPU threads: pthread_create for vCPU %u", id);
			break;
		}
		v->has_thread = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/*
	 * Return once every thread has started: a thread's start-up makes
	 * system calls (glibc's, a sanitizer's) that a sandbox entered right
	 * after this would kill it for.
	 */
	unsigned created = 0;
	for (unsigned id = 1; id < vm->ncpus; id++)
		created += vm->vcpus[id].has_thread;
	pthread_mutex_lock(&s->lock);
	while (s->parked < created)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void kr_smp_end_threads(struct kr_vm *vm)
{
	struct kr_smp *s = &vm->smp;
	if (!s->lock_ready)
		return;
	pthread_mutex_lock(&s->lock);
	s->quit = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	for (unsigned id = 1; id < vm->ncpus; id++) {
		struct kr_vcpu *v = &vm->vcpus[id];
		if (v->has_thread)
			pthread_join(v->thread, NULL);
		v->has_thread = false;
	}
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	s->lock_ready = false;
}

/* Tell AP v to enter its run loop (the lock held). */
static void go(struct kr_smp *s, struct kr_vcpu *v)
{
	v->go = v->active = true;
	s->active++;
	pthread_cond_broadcast(&s->cond);
}

_Static_assert(KR_MAX_CPUS <= 64, "vm->held has one bit per vCPU in a uint64_t");

/* Whether AP v runs in the next run: started, not halted, not held (the lock held). */
static bool can_go(const struct kr_vm *vm, const struct kr_vcpu *v)
{
	return v->has_thread && v->started && !v->halted && !(vm->held >> v->id & 1);
}

unsigned kr_smp_runnable(struct kr_vm *vm)
{
	struct kr_smp *s = &vm->smp;
	if (!s->lock_ready)
		return 0;
	unsigned n = 0;
	pthread_mutex_lock(&s->lock);
	for (unsigned id = 1; id < vm->ncpus; id++)
		n += can_go(vm, &vm->vcpus[id]);
	pthread_mutex_unlock(&s->lock);
	return n;
}

void kr_smp_run_begin(struct kr_vm *vm)
{
	struct kr_smp *s = &vm->smp;
	if (!s->lock_ready)
		return;
	pthread_mutex_lock(&s->lock);
	for (unsigned id = 1; id < vm->ncpus; id++) {
		struct kr_vcpu *v = &vm->vcpus[id];
		if (can_go(vm, v))
			go(s, v);
	}
	pthread_mutex_unlock(&s->lock);
}

bool kr_smp_wait_aps(struct kr_vm *vm, uint64_t deadline_ns)
{
	struct kr_smp *s = &vm->smp;
	if (!s->lock_ready)
		return true;
	struct timespec until = {.tv_sec = (time_t)(deadline_ns / 1000000000u),
				 .tv_nsec = (long)(deadline_ns % 1000000000u)};
	bool timed_out = false;
	pthread_mutex_lock(&s->lock);
	while (s->active && !timed_out) {
		if (!deadline_ns)
			pthread_cond_wait(&s->cond, &s->lock);
		else
			timed_out = pthread_cond_clockwait(&s->cond, &s->lock, CLOCK_MONOTONIC,
							   &until) == ETIMEDOUT;
	}
	bool none = s->active == 0;
	pthread_mutex_unlock(&s->lock);
	return none;
}

int kr_smp_run_end(struct kr_vm *vm, bool keep_error)
{
	struct kr_smp *s = &vm->smp;
	if (!s->lock_ready)
		return 0;
	pthread_mutex_lock(&s->lock);
	/* Every AP got the stop too (kick): this waits for the exits they are handling. */
	while (s->active)
		pthread_cond_wait(&s->cond, &s->lock);
	bool failed = s->failed;
	s->failed = false;
	if (failed && !keep_error)
		kr_err_restore(s->err_code, s->err_errno, s->err_msg);
	pthread_mutex_unlock(&s->lock);
	return failed ? -1 : 0;
}

int kr_smp_check_start(struct kr_vm *vm, uint64_t id)
{
	struct kr_smp *s = &vm->smp;
	if (id == 0)
		return kr_err("vCPU 0 is the boot processor: it is running already");
	if (vm->ncpus == 0)
		return kr_err("vCPU %llu does not exist (the VM has no vCPU)",
			      (unsigned long long)id);
	if (id >= vm->ncpus)
		return kr_err("vCPU %llu does not exist (the VM has %u: 0..%u)",
			      (unsigned long long)id, vm->ncpus, vm->ncpus - 1);
	struct kr_vcpu *v = &vm->vcpus[id];
	if (!s->lock_ready || !v->has_thread)
		return kr_err("vCPU %llu has no thread (kr_vcpu_prepare not done?)",
			      (unsigned long long)id);
	pthread_mutex_lock(&s->lock);
	bool started = v->started;
	pthread_mutex_unlock(&s->lock);
	if (started)
		return kr_err("vCPU %llu was started already (an AP is started once)",
			      (unsigned long long)id);
	return 0;
}

int kr_smp_start_cpu(struct kr_vm *vm, unsigned id)
{
	struct kr_smp *s = &vm->smp;
	struct kr_vcpu *v = &vm->vcpus[id];
	for (size_t i = 0; i < vm->nmodules; i++) {
		const struct kr_hooks *h = vm->modules[i].hooks;
		if (h->on_cpu_start && h->on_cpu_start(vm, vm->modules[i].opaque, id) < 0)
			return -1;
	}
	pthread_mutex_lock(&s->lock);
	v->started = true;
	/*
	 * Inside a run (a hypercall's exit): now, unless the run holds it (gdb
	 * steps another vCPU): then with the next run that does not. A stop
	 * already asked for ends it at once.
	 */
	if (!(vm->held >> id & 1))
		go(s, v);
	pthread_mutex_unlock(&s->lock);
	return 0;
}
