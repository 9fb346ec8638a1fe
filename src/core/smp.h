/* SPDX-License-Identifier: MIT */
/*
 * core/smp.h - the threads of the application processors (APs): vCPUs
 * 1..cfg.cpus-1, each on a thread of its own, parked between runs.
 */
#ifndef KVMRUN_CORE_SMP_H
#define KVMRUN_CORE_SMP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/vm.h"

/*
 * Create the AP threads, parked (kr_vcpu_prepare: before the sandbox, so
 * that no thread is created under seccomp). `all_started`: every AP runs
 * with each kr_vm_run (the in-kernel LAPIC holds it until INIT/SIPI);
 * false: each waits for kr_smp_start_cpu. No-op with one vCPU.
 */
int kr_smp_start_threads(struct kr_vm *vm, bool all_started);
/* kr_vm_destroy: end the threads (no run is in progress) and free what they share. */
void kr_smp_end_threads(struct kr_vm *vm);

/* How many APs the next kr_smp_run_begin would start (started, not halted, not held). */
unsigned kr_smp_runnable(struct kr_vm *vm);
/* kr_vm_run: every started AP that did not halt and is not held enters its run loop. */
void kr_smp_run_begin(struct kr_vm *vm);
/*
 * kr_vm_run with vCPU 0 held: wait until no AP runs (their loops end at a
 * stop, or when the guest halts them). deadline_ns (CLOCK_MONOTONIC, 0:
 * none): false if it passed first, APs still running.
 */
bool kr_smp_wait_aps(struct kr_vm *vm, uint64_t deadline_ns);
/*
 * kr_vm_run, once vCPU 0's loop ended (a stop was requested): wait until no
 * AP runs. -1 if an AP's loop failed, with that thread's error set on this
 * one (unless keep_error: this thread's own failure comes first).
 */
int kr_smp_run_end(struct kr_vm *vm, bool keep_error);

/*
 * Whether AP `id` can be started: 0, or -1 with an error saying why not
 * (vCPU 0, out of range, already started, no such thread).
 */
int kr_smp_check_start(struct kr_vm *vm, uint64_t id);
/*
 * Start AP `id` (its registers set, kr_smp_check_start passed): the
 * modules' on_cpu_start first, then it runs at once. -1 if a hook failed.
 */
int kr_smp_start_cpu(struct kr_vm *vm, unsigned id);

#endif
