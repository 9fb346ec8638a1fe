/* SPDX-License-Identifier: MIT */
/*
 * callpool.c - serve requests from a pool of VMs, one per thread, by calling
 * a guest function (kr_vm_call) per request, and report calls per second.
 *
 *   build/callpool [--guest build/guests/calc.elf] [--threads 2] [--requests 20000]
 *                  [--no-reset]
 *
 * Each thread creates a VM, runs the guest's init, takes a snapshot and then
 * takes requests from a shared counter: a request is sum(buffer of 16
 * numbers, 16), with the VM reset to the snapshot before each call (every
 * request sees a fresh guest) unless --no-reset. Each result is checked.
 * Prints wall time, process CPU time and calls per second of each.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "kvmrun.h"

#define MAX_THREADS 64

static const char *guest = "build/guests/calc.elf";
static long requests = 20000;
static bool reset = true;
static atomic_long next_request;

struct worker {
	pthread_t th;
	long served;
	int failed;
	char error[512];
};

static int fail(struct worker *w, const char *what)
{
	snprintf(w->error, sizeof(w->error), "%s: %s", what, kr_last_error());
	w->failed = 1;
	return -1;
}

static int serve(struct worker *w)
{
	struct kr_vm_config cfg;
	struct kr_vm *vm = NULL;
	struct kr_image img;
	struct kr_stop stop;
	struct kr_snapshot *snap = NULL;
	int rc = 0;

	kr_vm_config_init(&cfg);
	cfg.mem_size = 8u << 20;
	cfg.timeout_ns = 5000000000ull; /* a request that hangs ends the run */
	cfg.console_fd = 2; /* the guest prints "calc ready" once per VM */
	if (kr_vm_create(&vm, &cfg) < 0 || kr_load_file(vm, guest, NULL, &img) < 0 ||
	    kr_vcpu_prepare(vm, &img) < 0 || kr_vm_run(vm, &stop) < 0)
		rc = fail(w, "the guest's init");
	else if (stop.reason != KR_STOP_EXIT && stop.reason != KR_STOP_HLT)
		rc = fail(w, stop.message);
	else if (reset && kr_snapshot_take(vm, &snap) < 0)
		rc = fail(w, "snapshot");
	struct kr_call_options opt = {.reset = snap};
	for (long r; rc == 0 && (r = atomic_fetch_add(&next_request, 1)) < requests;) {
		int64_t nums[16], want = 0;
		for (int i = 0; i < 16; i++)
			want += nums[i] = r * 16 + i;
		struct kr_call_arg args[] = {KR_CALL_IN(nums, sizeof(nums)), KR_CALL_INT(16)};
		uint64_t got = 0;
		if (kr_vm_call(vm, "sum", args, 2, &opt, &got, &stop) < 0)
			rc = fail(w, "call sum");
		else if ((int64_t)got != want) {
			snprintf(w->error, sizeof(w->error), "request %ld: sum %lld, expected %lld", r,
				 (long long)got, (long long)want);
			w->failed = 1;
			rc = -1;
		} else
			w->served++;
	}
	kr_snapshot_free(snap);
	kr_vm_destroy(vm);
	return rc;
}

static void *worker_main(void *arg)
{
	serve(arg);
	return NULL;
}

static double seconds(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	int nthreads = 2;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--guest") && i + 1 < argc)
			guest = argv[++i];
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nthreads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--requests") && i + 1 < argc)
			requests = atol(argv[++i]);
		else if (!strcmp(argv[i], "--no-reset"))
			reset = false;
		else {
			fprintf(stderr, "usage: %s [--guest ELF] [--threads N] [--requests N] "
					"[--no-reset]\n",
				argv[0]);
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > MAX_THREADS || requests < 1) {
		fprintf(stderr, "callpool: --threads 1..%d, --requests at least 1\n", MAX_THREADS);
		return 2;
	}
	static struct worker w[MAX_THREADS];
	struct timespec t0, t1;
	double c0 = cpu_seconds();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0) {
			fprintf(stderr, "callpool: pthread_create failed\n");
			return 1;
		}
	long served = 0;
	int failed = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(w[i].th, NULL);
		served += w[i].served;
		if (w[i].failed) {
			fprintf(stderr, "callpool: thread %d: %s\n", i, w[i].error);
			failed = 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double wall = seconds(&t0, &t1), cpu = cpu_seconds() - c0;
	printf("callpool: %ld of %ld requests (sum of 16 numbers) on %d VMs, %s\n", served,
	       requests, nthreads, reset ? "reset before each call" : "no reset");
	printf("callpool: wall %.3f s, %.0f calls/s; CPU %.3f s, %.0f calls per CPU second "
	       "(VM set-up included)\n",
	       wall, served / wall, cpu, cpu > 0 ? served / cpu : 0.0);
	return failed || served != requests;
}
