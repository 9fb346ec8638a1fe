/* SPDX-License-Identifier: MIT */
/*
 * smp.c - KVMRUN_HC_START_CPU: an application processor of a flat guest
 * (no in-kernel LAPIC, so no INIT/SIPI) starts where the guest says, in the
 * mode of the vCPU that starts it.
 *
 * The AP's special registers are the caller's, as KVM holds them at the
 * hypercall's exit (CR0, CR3, CR4, EFER, GDT, IDT, segments), except what
 * is each CPU's own: its TSS, hence its exception stack (long mode, while
 * the guest uses kvmrun's), the BSP flag of IA32_APIC_BASE, and pending
 * interrupts. Its registers are the entry's, with the argument in RDI and
 * its index in RSI: the System V order of `void ap(uint64_t arg, unsigned
 * index)`. The AP's thread is parked (core/smp.c), so its vCPU fd is free
 * for the ioctls.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/smp.h"
#include "core/vm.h"
#include "x86/smp.h"
#include "x86/vcpu.h"
#include "x86/x86.h"

#define APIC_BASE_BSP (1ull << 8) /* IA32_APIC_BASE bit 8: this is the boot processor */

static int refuse(struct kr_vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A bad call: the guest broke the ABI, the VM stops (returns 0, as a handled call). */
static int refuse(struct kr_vm *vm, const char *fmt, ...)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "KVMRUN_HC_START_CPU: ");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	kr_vm_stop(vm, KR_STOP_GUEST_ERROR, 0, msg);
	return 0;
}

int kr_x86_start_cpu(struct kr_vm *vm, uint64_t cpu, uint64_t entry)
{
	if (vm->cfg.pc)
		return refuse(vm,
			      "the VM has the PC platform: the guest starts vCPU %llu with "
			      "INIT and SIPI through its local APIC",
			      (unsigned long long)cpu);
	/* The index first: it needs no register, and a VM with one vCPU has no AP. */
	if (kr_smp_check_start(vm, cpu) < 0)
		return refuse(vm, "%s", kr_last_error());
	struct kr_vcpu *self = kr_vcpu_current(vm);
	struct kvm_regs caller;
	struct kvm_sregs s;
	if (kr_vcpu_get_regs_of(self, &caller) < 0 || kr_vcpu_get_sregs_of(self, &s) < 0)
		return -1;
	if (!(s.cr0 & X86_CR0_PE))
		return refuse(vm, "not from real mode (vCPU %llu)", (unsigned long long)cpu);
	bool wide = (s.efer & KR_EFER_LMA) && s.cs.l;
	uint64_t mask = wide ? UINT64_MAX : UINT32_MAX;
	uint64_t stack = caller.rcx & mask, arg = caller.rbx & mask;
	unsigned bits = s.cr4 & X86_CR4_LA57 ? 57 : 48;
	if (wide && !kr_canonical(entry, bits))
		return refuse(vm, "entry 0x%llx of vCPU %llu is not canonical",
			      (unsigned long long)entry, (unsigned long long)cpu);
	if (wide && !kr_canonical(stack, bits))
		return refuse(vm, "stack 0x%llx of vCPU %llu is not canonical",
			      (unsigned long long)stack, (unsigned long long)cpu);
	struct kr_vcpu *ap = &vm->vcpus[cpu];

	/*
	 * Its own TSS (IST1 stack) while the caller uses kvmrun's; the guest's
	 * own TSS is its business. TR keeps the selector of the GDT's one TSS
	 * descriptor (which describes vCPU 0's): in long mode the CPU finds
	 * the TSS through TR's base, and reads the descriptor only for LTR.
	 */
	if (wide && s.tr.base == KR_TSS_GPA)
		s.tr.base = KR_AP_TSS_GPA(cpu);
	s.apic_base &= ~APIC_BASE_BSP;
	memset(s.interrupt_bitmap, 0, sizeof(s.interrupt_bitmap));
	struct kvm_regs r = {.rip = entry, .rsp = stack, .rdi = arg, .rsi = cpu, .rflags = 0x2};
	if (kr_vcpu_set_sregs_of(ap, &s) < 0 || kr_vcpu_set_regs_of(ap, &r) < 0)
		return -1;
	return kr_smp_start_cpu(vm, (unsigned)cpu);
}
