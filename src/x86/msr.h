/* SPDX-License-Identifier: MIT */
/* x86/msr.h - the MSRs a Linux guest expects its firmware to have set (cfg.pc machines). */
#ifndef KVMRUN_X86_MSR_H
#define KVMRUN_X86_MSR_H

#include <stdint.h>

#include "kvmrun.h"

/* Architectural MSR numbers (Intel SDM vol. 4); <asm/msr-index.h> is kernel-internal. */
#define KR_MSR_IA32_MISC_ENABLE 0x1a0u
#define KR_MSR_MTRR_DEF_TYPE 0x2ffu
#define KR_MISC_ENABLE_FAST_STRING (1ull << 0)
#define KR_MTRR_DEF_TYPE_E (1ull << 11) /* MTRRs enabled */
#define KR_MTRR_TYPE_WB 6ull

/* KVM_SET_MSRS of the boot MSRs, every one checked (it stops at the first it rejects). */
int kr_msr_setup_boot(struct kr_vm *vm);

#endif
