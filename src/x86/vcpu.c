/* SPDX-License-Identifier: MIT */
/*
 * vcpu.c - steps 6 and 7: put the vCPU in its mode and at the guest's entry.
 *
 * Order matters: the page tables and GDT must be in guest memory before
 * KVM_SET_SREGS points CR3 and GDTR at them, and CPUID must be set before the
 * first KVM_RUN (KVM checks CPUID-dependent state such as EFER.NXE against it).
 */
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

int kr_vcpu_get_regs(struct kr_vm *vm, struct kvm_regs *regs)
{
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, regs) < 0)
		return kr_err_sys("vCPU: ioctl KVM_GET_REGS");
	return 0;
}

int kr_vcpu_set_regs(struct kr_vm *vm, const struct kvm_regs *regs)
{
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, regs) < 0)
		return kr_err_sys("vCPU: ioctl KVM_SET_REGS(rip=0x%llx, rsp=0x%llx)",
				  (unsigned long long)regs->rip, (unsigned long long)regs->rsp);
	return 0;
}

int kr_vcpu_get_sregs(struct kr_vm *vm, struct kvm_sregs *sregs)
{
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, sregs) < 0)
		return kr_err_sys("vCPU: ioctl KVM_GET_SREGS");
	return 0;
}

int kr_vcpu_set_sregs(struct kr_vm *vm, const struct kvm_sregs *sregs)
{
	if (kr_sregs_check(vm, sregs) < 0)
		return -1;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, sregs) < 0)
		return kr_err_sys("vCPU: ioctl KVM_SET_SREGS(cr0=0x%llx, cr3=0x%llx, cr4=0x%llx, "
				  "efer=0x%llx, cs.l=%u, cs.db=%u)",
				  (unsigned long long)sregs->cr0, (unsigned long long)sregs->cr3,
				  (unsigned long long)sregs->cr4, (unsigned long long)sregs->efer,
				  sregs->cs.l, sregs->cs.db);
	return 0;
}

/* The x87 control word and MXCSR the SDM gives as their reset values. */
static int setup_fpu(struct kr_vm *vm)
{
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	if (ioctl(vm->vcpu_fd, KVM_SET_FPU, &fpu) < 0)
		return kr_err_sys("vCPU: ioctl KVM_SET_FPU(fcw=0x37f, mxcsr=0x1f80)");
	return 0;
}

/* RAM, added memory, kvmrun's area and the image, as x86/memmap.c decides. */
static int build_page_tables(struct kr_vm *vm, const struct kr_image *img,
			     struct kr_mode_setup *ms)
{
	return kr_page_tables_build(vm, img, ms->nx, &ms->cr3);
}

static int set_entry_regs(struct kr_vm *vm, const struct kr_image *img, uint16_t real_cs)
{
	struct kvm_regs regs = {.rflags = 0x2}; /* bit 1 is reserved and always set */
	if (vm->cfg.mode == KR_MODE_REAL) {
		regs.rip = img->entry - ((uint64_t)real_cs << 4);
		regs.rsp = KVMRUN_REAL_MODE_LOAD_ADDR;
	} else {
		regs.rip = img->entry;
		regs.rsp = vm->cfg.mem_size & ~0xfull;
	}
	/* Arguments for the guest's entry point (see kvmrun_abi.h). */
	regs.rdi = vm->cfg.mem_size;
	regs.rsi = img->end;
	return kr_vcpu_set_regs(vm, &regs);
}

int kr_vcpu_prepare(struct kr_vm *vm, const struct kr_image *img)
{
	struct kr_mode_setup ms = {.gdt_base = KR_GDT_GPA};
	enum kr_mode mode = vm->cfg.mode;

	if (mode == KR_MODE_REAL) {
		if (img->entry >= 0x100000)
			return kr_err("vCPU: real-mode entry 0x%llx is above 1 MiB",
				      (unsigned long long)img->entry);
		ms.real_cs = (uint16_t)((img->entry >> 4) & 0xf000);
	}
	if (kr_cpuid_setup(vm, &ms.nx) < 0 || setup_fpu(vm) < 0)
		return -1;
	if (mode != KR_MODE_REAL &&
	    (kr_gdt_write(vm->ram, vm->cfg.mem_size, KR_GDT_GPA, KR_TSS_GPA) < 0 ||
	     kr_exceptions_install(vm, &ms) < 0))
		return -1;
	if ((mode == KR_MODE_PAGED32 || mode == KR_MODE_LONG) && build_page_tables(vm, img, &ms) < 0)
		return -1;

	struct kvm_sregs sregs;
	if (kr_vcpu_get_sregs(vm, &sregs) < 0)
		return -1;
	kr_sregs_for_mode(mode, &ms, &sregs);
	if (kr_vcpu_set_sregs(vm, &sregs) < 0)
		return -1;
	return set_entry_regs(vm, img, ms.real_cs);
}
