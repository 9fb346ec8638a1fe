/* SPDX-License-Identifier: MIT */
/* x86/vcpu.h - checks around KVM_SET_SREGS (x86/sregs_check.c, x86/vcpu.c). */
#ifndef KVMRUN_X86_VCPU_H
#define KVMRUN_X86_VCPU_H

#include "kvmrun.h"

/* Refuse inconsistent CR0/CR4/EFER/CS before KVM_SET_SREGS. */
int kr_sregs_check(struct kr_vm *vm, const struct kvm_sregs *sregs);
/* The mode bits of `want` that the vCPU did not keep, as an error. */
int kr_sregs_readback(struct kr_vm *vm, const struct kvm_sregs *want);

struct kr_vcpu;
/* kr_vcpu_set_sregs and kr_sregs_readback on one given vCPU (an AP). */
int kr_vcpu_set_sregs_of(struct kr_vcpu *v, const struct kvm_sregs *sregs);
int kr_sregs_readback_of(struct kr_vcpu *v, const struct kvm_sregs *want);

#endif
