/* SPDX-License-Identifier: MIT */
/*
 * fake_vcpu.h - a stand-in vCPU for the unit tests: KVM_GET_REGS and
 * KVM_GET_SREGS on it answer the registers the test chose, so code that
 * reads the guest's registers (the hypercall port, say) runs without KVM.
 */
#ifndef KVMRUN_FAKE_VCPU_H
#define KVMRUN_FAKE_VCPU_H

#include "unit.h"

/* Give vm a vCPU whose registers are *regs and *sregs (copied); one at a time. */
void fake_vcpu_attach(struct kr_vm *vm, const struct kvm_regs *regs, const struct kvm_sregs *sregs);
/* Close it; vm->vcpus[0].fd is -1 again. */
void fake_vcpu_detach(struct kr_vm *vm);

#endif
