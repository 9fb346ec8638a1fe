/* SPDX-License-Identifier: MIT */
/* x86/smp.h - starting an application processor of a flat guest (KVMRUN_HC_START_CPU). */
#ifndef KVMRUN_X86_SMP_H
#define KVMRUN_X86_SMP_H

#include <stdint.h>

#include "kvmrun.h"

/*
 * The hypercall, made by the calling vCPU (kr_vcpu_current): start AP `cpu`
 * at `entry` with RSP and the argument from the caller's RCX and RBX (see
 * kvmrun_abi.h). A bad call stops the VM with KR_STOP_GUEST_ERROR and
 * returns 0; -1 only on a VMM failure (an ioctl).
 */
int kr_x86_start_cpu(struct kr_vm *vm, uint64_t cpu, uint64_t entry);

#endif
