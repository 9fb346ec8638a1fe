/* SPDX-License-Identifier: MIT */
/* core/kvm.h - step 1: /dev/kvm. */
#ifndef KVMRUN_CORE_KVM_H
#define KVMRUN_CORE_KVM_H

/* Open /dev/kvm, check the API version and the capabilities kvmrun needs. */
int kr_kvm_open(int *kvm_fd, int *vcpu_mmap_size);

#endif
