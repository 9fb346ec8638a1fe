/* SPDX-License-Identifier: MIT */
/* x86/cpuid.h - what the vCPU's CPUID promises. */
#ifndef KVMRUN_X86_CPUID_H
#define KVMRUN_X86_CPUID_H

#include <stdbool.h>

#include "kvmrun.h"

/* KVM_GET_SUPPORTED_CPUID filtered, then KVM_SET_CPUID2; fills vm->cpu. */
int kr_cpuid_setup(struct kr_vm *vm, bool *nx_supported);
/* The host's physical address width (CPUID 0x80000008 EAX[7:0]); 36 without the leaf. */
unsigned kr_cpuid_host_phys_bits(void);

#endif
