/* SPDX-License-Identifier: MIT */
/*
 * test_threads.c - stopping a guest that never exits, from any thread: a
 * kr_vm_stop from a second thread or a signal handler, and the timeout of a
 * VM run on another thread than the one that created it, also inside the
 * sandbox. The guest is `jmp $`: nothing but a signal gets the vCPU thread
 * out of KVM_RUN.
 *
 * Each test runs in a child process that the parent kills after
 * BOUND_SECONDS: a stop that never arrives fails the test, never hangs the
 * suite. The child reports its first failed expectation on its stderr, a
 * pipe to the parent.
 */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvmtest.h"

#define BOUND_SECONDS 20
#define STOP_WITHIN_NS (5 * 1000000000ull) /* generous: the test bed is slow */
#define TIMEOUT_NS (300 * 1000000ull)

static const uint8_t spin[] = {0xeb, 0xfe}; /* jmp $ */

/* ---- the child's side: expectations that end it with a message ------------- */


static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Busy-wait: the only way to wait that a sandboxed thread is allowed. */
static void spin_for(uint64_t ns)
{
	uint64_t end = now_ns() + ns;
	while (now_ns() < end)
		;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A long-mode VM with the spinning guest loaded and prepared, or NULL. */
static struct kr_vm *spinning_vm(uint64_t timeout_ns)
{
	struct kr_vm_config cfg;
	struct kr_vm *vm;
	struct kr_image img;
	kr_vm_config_init(&cfg);
	cfg.mem_size = 8u << 20;
	cfg.timeout_ns = timeout_ns;
	if (kr_vm_create(&vm, &cfg) < 0)
		return kvmtest_fail("kr_vm_create: %s", kr_last_error()), NULL;
	if (kr_load_buffer(vm, spin, sizeof(spin), NULL, &img) < 0 ||
	    kr_vcpu_prepare(vm, &img) < 0) {
		kvmtest_fail("load and prepare: %s", kr_last_error());
		kr_vm_destroy(vm);
		return NULL;
	}
	return vm;
}

/* Run, and check the run ended for `reason` with `needle` in its message. */
static bool run_expect(struct kr_vm *vm, enum kr_stop_reason reason, const char *needle)
{
	struct kr_stop s;
	uint64_t t0 = now_ns();
	if (kr_vm_run(vm, &s) < 0)
		return kvmtest_fail("kr_vm_run: %s", kr_last_error());
	uint64_t ms = (now_ns() - t0) / 1000000u;
	return KT_EXPECT(s.reason == reason, "stopped for %s after %llu ms, expected %s: %s",
		      kr_stop_reason_name(s.reason), (unsigned long long)ms,
		      kr_stop_reason_name(reason), s.message) &&
	       KT_EXPECT(strstr(s.message, needle), "message \"%s\" lacks \"%s\"", s.message, needle);
}

/* ---- the parent's side: a child per test, bounded in time ------------------- */

/* Run `fn` in a child; its failure, or its still running after BOUND_SECONDS, fails the test. */
#define RUN_BOUNDED(fn) \
	kvmtest_bounded(__FILE__, __LINE__, fn, BOUND_SECONDS, false, "a stop that never arrived")

/* ---- kr_vm_stop from a second thread ----------------------------------------- */

struct stopper {
	struct kr_vm *vm;
	long delay_ms;
	uint64_t stopped_at;
};

static void *stop_later(void *arg)
{
	struct stopper *s = arg;
	sleep_ms(s->delay_ms);
	s->stopped_at = now_ns();
	kr_vm_stop(s->vm, KR_STOP_REQUESTED, 0, "stopped by the second thread");
	return NULL;
}

/* Time from the stop request to kr_vm_run returning. */
static bool stopped_in_time(const struct stopper *s, uint64_t returned_at)
{
	return KT_EXPECT(s->stopped_at && returned_at - s->stopped_at < STOP_WITHIN_NS,
		      "kr_vm_run returned %llu ms after the stop request",
		      (unsigned long long)((returned_at - s->stopped_at) / 1000000u));
}

static bool stop_from_second_thread(void)
{
	struct kr_vm *vm = spinning_vm(0);
	if (!vm)
		return false;
	struct stopper st = {.vm = vm, .delay_ms = 200};
	pthread_t t;
	bool ok = KT_EXPECT(pthread_create(&t, NULL, stop_later, &st) == 0, "pthread_create");
	if (ok) {
		ok = run_expect(vm, KR_STOP_REQUESTED, "stopped by the second thread");
		uint64_t returned_at = now_ns();
		pthread_join(t, NULL);
		ok = ok && stopped_in_time(&st, returned_at);
	}
	/* A stop is not final: the guest spins on, and stops again. */
	if (ok && pthread_create(&t, NULL, stop_later, &st) == 0) {
		ok = run_expect(vm, KR_STOP_REQUESTED, "stopped by the second thread");
		pthread_join(t, NULL);
	}
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(threads_stop_from_a_second_thread_ends_a_spinning_guest)
{
	RUN_BOUNDED(stop_from_second_thread);
}

/* ---- kr_vm_stop from a signal handler, on the vCPU thread and elsewhere ------ */

static struct kr_vm *signal_vm;

static void stop_from_handler(int sig)
{
	(void)sig;
	kr_vm_stop(signal_vm, KR_STOP_REQUESTED, 0, "stopped by a signal handler");
}

struct signaller {
	pthread_t target; /* the thread to signal; itself if it is this thread */
};

static void *signal_later(void *arg)
{
	struct signaller *s = arg;
	sleep_ms(200);
	pthread_kill(s->target, SIGUSR1);
	return NULL;
}

static void *raise_later(void *arg)
{
	(void)arg;
	sleep_ms(200);
	raise(SIGUSR1); /* a thread-directed signal: the handler runs here, not on the vCPU */
	return NULL;
}

static bool stop_from_signal_handler(void)
{
	struct sigaction sa = {.sa_handler = stop_from_handler, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return kvmtest_fail("sigaction: %s", strerror(errno));
	struct kr_vm *vm = signal_vm = spinning_vm(0);
	if (!vm)
		return false;
	struct signaller sg = {.target = pthread_self()};
	pthread_t t;
	/* The handler interrupts the vCPU thread itself (in KVM_RUN or not). */
	bool ok = KT_EXPECT(pthread_create(&t, NULL, signal_later, &sg) == 0, "pthread_create");
	if (ok) {
		ok = run_expect(vm, KR_STOP_REQUESTED, "stopped by a signal handler");
		pthread_join(t, NULL);
	}
	/* The handler runs on another thread, which must signal the vCPU thread. */
	if (ok && KT_EXPECT(pthread_create(&t, NULL, raise_later, NULL) == 0, "pthread_create")) {
		ok = run_expect(vm, KR_STOP_REQUESTED, "stopped by a signal handler");
		pthread_join(t, NULL);
	}
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(threads_stop_from_a_signal_handler)
{
	RUN_BOUNDED(stop_from_signal_handler);
}

/* ---- a stop asked for between runs is not lost ------------------------------- */

static bool stop_before_run(void)
{
	struct kr_vm *vm = spinning_vm(TIMEOUT_NS);
	if (!vm)
		return false;
	kr_vm_stop(vm, KR_STOP_REQUESTED, 0, "asked before the run");
	/* The request ends the next run at once; it is used up by it. */
	bool ok = run_expect(vm, KR_STOP_REQUESTED, "asked before the run") &&
		  run_expect(vm, KR_STOP_TIMEOUT, "timeout of 300 ms");
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(threads_stop_before_the_run_ends_the_next_run)
{
	RUN_BOUNDED(stop_before_run);
}

/* ---- the timeout reaches the running thread, not the creating one ------------ */

struct creation {
	struct kr_vm *vm;
	bool ok;
};

static void *create_vm(void *arg)
{
	struct creation *c = arg;
	c->vm = spinning_vm(TIMEOUT_NS);
	return NULL;
}

static void *run_vm(void *arg)
{
	struct creation *c = arg;
	c->ok = run_expect(c->vm, KR_STOP_TIMEOUT, "timeout of 300 ms");
	return NULL;
}

static bool timeout_on_another_thread(void)
{
	struct creation c = {0};
	pthread_t creator, runner;
	/* Created on a thread that is gone by the time the VM runs. */
	if (pthread_create(&creator, NULL, create_vm, &c) != 0)
		return kvmtest_fail("pthread_create");
	pthread_join(creator, NULL);
	if (!c.vm)
		return false;
	/* Run on a second thread while this one waits... */
	bool ok = KT_EXPECT(pthread_create(&runner, NULL, run_vm, &c) == 0, "pthread_create");
	if (ok) {
		pthread_join(runner, NULL);
		ok = c.ok;
	}
	/* ...and then on this one: each run's timer follows its thread. */
	ok = ok && run_expect(c.vm, KR_STOP_TIMEOUT, "timeout of 300 ms");
	kr_vm_destroy(c.vm);
	return ok;
}

UNIT_TEST(threads_timeout_reaches_the_thread_that_runs)
{
	RUN_BOUNDED(timeout_on_another_thread);
}

/* ---- the same inside the sandbox ----------------------------------------------- */

/* The run loop's timer, signal mask and thread id calls pass the seccomp filter. */
static bool sandboxed_timeout(void)
{
	struct kr_vm *vm = spinning_vm(TIMEOUT_NS);
	if (!vm)
		return false;
	if (kr_sandbox_enter(vm, NULL, 0) < 0)
		return kvmtest_fail("kr_sandbox_enter: %s", kr_last_error());
	bool ok = run_expect(vm, KR_STOP_TIMEOUT, "timeout of 300 ms");
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(threads_timeout_inside_the_sandbox)
{
	RUN_BOUNDED(sandboxed_timeout);
}

struct sandboxed_run {
	struct kr_vm *vm;
	_Atomic bool started, done;
	bool ok;
};

static void *run_until_stopped(void *arg)
{
	struct sandboxed_run *r = arg;
	atomic_store(&r->started, true);
	r->ok = run_expect(r->vm, KR_STOP_REQUESTED, "stopped from the sandbox");
	atomic_store(&r->done, true);
	/*
	 * Filtered too (TSYNC), this thread does not end: the sanitizers'
	 * thread exit calls sigaltstack. The process ends with exit_group.
	 */
	for (;;)
		;
	return NULL;
}

/*
 * The filter binds the thread that enters the sandbox (and every other):
 * its kr_vm_stop must be allowed to signal the vCPU thread (tgkill). It may
 * not even sleep, so it busy-waits, and leaves with exit_group.
 */
static bool sandboxed_stop_of_another_thread(void)
{
	static struct sandboxed_run r;
	r.vm = spinning_vm(0);
	if (!r.vm)
		return false;
	pthread_t t;
	if (pthread_create(&t, NULL, run_until_stopped, &r) != 0)
		return kvmtest_fail("pthread_create");
	/*
	 * The filter binds the thread too (TSYNC): let it finish starting
	 * first (with the sanitizers, a starting thread makes calls of theirs).
	 */
	while (!atomic_load(&r.started))
		;
	if (kr_sandbox_enter(r.vm, NULL, 0) < 0)
		return kvmtest_fail("kr_sandbox_enter: %s", kr_last_error());
	spin_for(200 * 1000000ull);
	kr_vm_stop(r.vm, KR_STOP_REQUESTED, 0, "stopped from the sandbox");
	uint64_t deadline = now_ns() + STOP_WITHIN_NS;
	while (!atomic_load(&r.done) && now_ns() < deadline)
		;
	if (!atomic_load(&r.done))
		return kvmtest_fail("kr_vm_run still running 5 s after the stop");
	return r.ok; /* the VM and the thread go with the process */
}

UNIT_TEST(threads_stop_from_a_sandboxed_thread)
{
	RUN_BOUNDED(sandboxed_stop_of_another_thread);
}

/* ---- the signal: taken only where free, let through only for the run ---------- */

static void someone_elses_handler(int sig)
{
	(void)sig;
}

UNIT_TEST(threads_vm_create_refuses_a_taken_signal)
{
	struct sigaction mine = {.sa_handler = someone_elses_handler}, old;
	sigemptyset(&mine.sa_mask);
	if (sigaction(SIGRTMIN + 3, &mine, &old) < 0) {
		unit_fail(__FILE__, __LINE__, "sigaction: %s", strerror(errno));
		return;
	}
	struct kr_vm_config cfg;
	struct kr_vm *vm = NULL;
	kr_vm_config_init(&cfg);
	CHECK_FAILS_WITH(kr_vm_create(&vm, &cfg), "SIGRTMIN+3");
	CHECK(vm == NULL);
	struct sigaction now;
	sigaction(SIGRTMIN + 3, NULL, &now);
	CHECK(now.sa_handler == someone_elses_handler); /* left as it was */
	sigaction(SIGRTMIN + 3, &old, NULL);
}

/* A thread that blocks every signal still gets its timeout; its mask comes back. */
static bool timeout_with_signals_blocked(void)
{
	sigset_t all, after;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	struct kr_vm *vm = spinning_vm(TIMEOUT_NS);
	if (!vm)
		return false;
	bool ok = run_expect(vm, KR_STOP_TIMEOUT, "timeout of 300 ms");
	pthread_sigmask(SIG_SETMASK, NULL, &after);
	ok = ok && KT_EXPECT(sigismember(&after, SIGRTMIN + 3) == 1, "SIGRTMIN+3 unblocked after the run");
	kr_vm_destroy(vm);
	return ok;
}

UNIT_TEST(threads_timeout_with_all_signals_blocked)
{
	RUN_BOUNDED(timeout_with_signals_blocked);
}
