/* SPDX-License-Identifier: MIT */
/*
 * sregs_check.c - refuse special-register combinations the CPU refuses.
 *
 * KVM_SET_SREGS answers an inconsistent state with a bare EINVAL, or accepts
 * it and the first KVM_RUN ends in an entry failure or a triple fault. Both
 * leave the user guessing. These checks name the bits instead (Intel SDM
 * vol. 3, 2.5 and 9.8.5; AMD APM vol. 2, 14.6).
 */
#include <asm/processor-flags.h>

#include "core/error.h"
#include "x86/vcpu.h"
#include "x86/x86.h"

/* Where the top-level table lives, and how big it is, in each paging mode. */
static void paging_root(const struct kvm_sregs *s, uint64_t *root, uint64_t *size)
{
	if (s->efer & KR_EFER_LMA) {
		*root = s->cr3 & 0x000ffffffffff000ull;
		*size = 4096;
	} else if (s->cr4 & X86_CR4_PAE) {
		*root = s->cr3 & 0xffffffe0ull; /* four 8-byte PDPTEs */
		*size = 32;
	} else {
		*root = s->cr3 & 0xfffff000ull;
		*size = 4096;
	}
}

int kr_sregs_check(struct kr_vm *vm, const struct kvm_sregs *s)
{
	bool pe = s->cr0 & X86_CR0_PE, pg = s->cr0 & X86_CR0_PG;
	bool lme = s->efer & KR_EFER_LME, lma = s->efer & KR_EFER_LMA;

	if (pg && !pe)
		return kr_err("sregs: CR0.PG (paging) is set without CR0.PE (protected mode); "
			      "cr0=0x%llx",
			      (unsigned long long)s->cr0);
	if ((s->cr0 & X86_CR0_NW) && !(s->cr0 & X86_CR0_CD))
		return kr_err("sregs: CR0.NW is set without CR0.CD; cr0=0x%llx",
			      (unsigned long long)s->cr0);
	if (lme && pg && !(s->cr4 & X86_CR4_PAE))
		return kr_err("sregs: EFER.LME with CR0.PG needs CR4.PAE (long mode uses PAE "
			      "tables); cr4=0x%llx efer=0x%llx",
			      (unsigned long long)s->cr4, (unsigned long long)s->efer);
	if (lma != (lme && pg))
		return kr_err("sregs: EFER.LMA must be set exactly when EFER.LME and CR0.PG are "
			      "(long mode is active only when enabled with paging on); "
			      "cr0=0x%llx efer=0x%llx",
			      (unsigned long long)s->cr0, (unsigned long long)s->efer);
	if (lma && s->cs.l && s->cs.db)
		return kr_err("sregs: CS.L and CS.D are both set, a reserved combination in long "
			      "mode (64-bit code needs CS.D = 0)");
	if (!lma && s->cs.l && pe)
		return kr_err("sregs: CS.L (64-bit code) is set but long mode is not active "
			      "(EFER.LMA = 0)");
	if (pg) {
		uint64_t root, size;
		paging_root(s, &root, &size);
		if (!kr_gpa_ptr(vm, root, size))
			return kr_err("sregs: CR3=0x%llx puts the top-level page table at 0x%llx, "
				      "outside guest memory",
				      (unsigned long long)s->cr3, (unsigned long long)root);
	}
	return 0;
}
