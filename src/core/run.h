/* SPDX-License-Identifier: MIT */
/* core/run.h - step 8: the run loop's internals (kr_vm_run and kr_vm_stop are public). */
#ifndef KVMRUN_CORE_RUN_H
#define KVMRUN_CORE_RUN_H

#include "kvmrun.h"

struct kr_vcpu;

/*
 * Install the handler of the signal that interrupts KVM_RUN (KR_KICK_SIGNAL);
 * at VM creation, since sigaction is not allowed once sandboxed.
 */
int kr_kick_signal_init(void);
/* The number of that signal (SIGRTMIN + 3), for the sandbox's tgkill rule. */
int kr_kick_signal(void);

/*
 * Dispatch the exit in v->run: 0 to go on or stop (vm->stop_requested),
 * KR_EXIT_PARK when the guest halted an AP (its run ends, the others go on),
 * -1 on a VMM failure.
 */
int kr_handle_exit(struct kr_vcpu *v);
#define KR_EXIT_PARK 1

/* An AP's part of a run, on its own thread (core/smp.c): as kr_handle_exit's results. */
int kr_run_ap(struct kr_vcpu *v);

/*
 * Let KVM finish the exit it reported last (on hardware the OUT of a
 * hypercall is completed at the next KVM_RUN, over whatever registers were
 * set since): one KVM_RUN with immediate_exit, which enters no guest code.
 * `what` names the caller in the error.
 */
int kr_vcpu_complete_exit(struct kr_vm *vm, const char *what);

/*
 * kr_vm_stop with a whole description: `stop` gives the reason, exit code,
 * message and, if it has them, the vCPU state and the exception (a module
 * that knows the state at the fault, such as x86/exceptions.c, reports it
 * this way). The run loop fills in kvm_exit. The first request wins.
 */
void kr_vm_stop_with(struct kr_vm *vm, const struct kr_stop *stop);

/* The exit fast path (core/vcpu.c): ask KVM for KVM_CAP_SYNC_REGS if it has it. */
void kr_vcpu_sync_init(struct kr_vm *vm, struct kr_vcpu *v);

#endif
