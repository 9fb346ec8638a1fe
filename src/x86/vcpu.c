/* SPDX-License-Identifier: MIT */
/*
 * vcpu.c - steps 6 and 7: put the vCPU in its mode and at the guest's entry.
 *
 * Order matters: the page tables and GDT must be in guest memory before
 * KVM_SET_SREGS points CR3 and GDTR at them, and CPUID must be set before the
 * first KVM_RUN (KVM checks CPUID-dependent state such as EFER.NXE against it).
 */
#include <asm/processor-flags.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/error.h"
#include "core/smp.h"
#include "core/vm.h"
#include "x86/cpuid.h"
#include "x86/exceptions.h"
#include "x86/gdt.h"
#include "x86/memmap.h"
#include "x86/modes.h"
#include "x86/msr.h"
#include "x86/vcpu.h"
#include "x86/x86.h"

int kr_vcpu_set_sregs_of(struct kr_vcpu *v, const struct kvm_sregs *sregs)
{
	if (kr_sregs_check(v->vm, sregs) < 0)
		return -1;
	v->sync_fresh = false; /* run->s.regs no longer says what the vCPU holds */
	if (ioctl(v->fd, KVM_SET_SREGS, sregs) < 0)
		return kr_err_sys("vCPU %u: ioctl KVM_SET_SREGS(cr0=0x%llx, cr3=0x%llx, "
				  "cr4=0x%llx, efer=0x%llx, cs.l=%u, cs.db=%u)", v->id,
				  (unsigned long long)sregs->cr0, (unsigned long long)sregs->cr3,
				  (unsigned long long)sregs->cr4, (unsigned long long)sregs->efer,
				  sregs->cs.l, sregs->cs.db);
	return kr_sregs_readback_of(v, sregs);
}

int kr_vcpu_set_sregs(struct kr_vm *vm, const struct kvm_sregs *sregs)
{
	return kr_vcpu_set_sregs_of(kr_vcpu_current(vm), sregs);
}

int kr_sregs_readback(struct kr_vm *vm, const struct kvm_sregs *want)
{
	return kr_sregs_readback_of(kr_vcpu_current(vm), want);
}

/*
 * A back end may accept KVM_SET_SREGS and quietly keep less of the mode than
 * asked: the software back end kvm_pvm runs paging only in long mode and
 * drops CR0.PG otherwise, and the guest's first instruction then triple
 * faults. Read the mode bits back, so such a guest never starts and the
 * message says what the back end refused, not that the guest crashed.
 */
int kr_sregs_readback_of(struct kr_vcpu *v, const struct kvm_sregs *want)
{
	struct kvm_sregs got;
	if (kr_vcpu_get_sregs_of(v, &got) < 0)
		return kr_err_context("vCPU: reading back KVM_SET_SREGS");
	static const struct {
		const char *reg, *bit;
		size_t off;
		uint64_t mask;
	} mode_bits[] = {
		{"cr0", "PE", offsetof(struct kvm_sregs, cr0), X86_CR0_PE},
		{"cr0", "PG", offsetof(struct kvm_sregs, cr0), X86_CR0_PG},
		{"cr4", "PSE", offsetof(struct kvm_sregs, cr4), X86_CR4_PSE},
		{"cr4", "PAE", offsetof(struct kvm_sregs, cr4), X86_CR4_PAE},
		{"cr4", "LA57", offsetof(struct kvm_sregs, cr4), X86_CR4_LA57},
		{"efer", "LME", offsetof(struct kvm_sregs, efer), KR_EFER_LME},
	};
	for (size_t i = 0; i < sizeof(mode_bits) / sizeof(mode_bits[0]); i++) {
		uint64_t w, g;
		memcpy(&w, (const char *)want + mode_bits[i].off, sizeof(w));
		memcpy(&g, (const char *)&got + mode_bits[i].off, sizeof(g));
		if ((w & mode_bits[i].mask) && !(g & mode_bits[i].mask))
			return kr_err_code(KR_E_UNSUPPORTED,
				"vCPU: KVM_SET_SREGS(cr0=0x%llx, cr4=0x%llx, efer=0x%llx) "
				      "succeeded, but the vCPU reads back %s=0x%llx: this KVM back "
				      "end drops %s.%s, so it cannot run %s paging (`kvmrun info` "
				      "says what it runs)",
				      (unsigned long long)want->cr0, (unsigned long long)want->cr4,
				      (unsigned long long)want->efer, mode_bits[i].reg,
				      (unsigned long long)g, mode_bits[i].reg, mode_bits[i].bit,
				      kr_paging_name(kr_paging_mode(want)));
	}
	return 0;
}

/* The x87 control word and MXCSR the SDM gives as their reset values, on every vCPU. */
static int setup_fpu(struct kr_vm *vm)
{
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (ioctl(vm->vcpus[i].fd, KVM_SET_FPU, &fpu) < 0)
			return kr_err_sys("vCPU %u: ioctl KVM_SET_FPU(fcw=0x37f, mxcsr=0x1f80)", i);
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
	regs.rdx = vm->ncpus;
	/* The Multiboot spec's machine state instead: the magic and the information. */
	if (img->multiboot) {
		regs.rax = 0x2BADB002; /* MULTIBOOT_BOOTLOADER_MAGIC (loader/multiboot.h) */
		regs.rbx = img->multiboot_info;
	}
	return kr_vcpu_set_regs(vm, &regs);
}

/*
 * Whether KVM holds the APs until the guest's INIT and SIPI: it creates them
 * in KVM_MP_STATE_UNINITIALIZED when the VM has the in-kernel LAPIC
 * (KVM_CREATE_IRQCHIP, cfg.pc), runnable from the reset state otherwise.
 * Asked of KVM, so that whatever created the irqchip, the threads follow.
 */
static bool aps_wait_in_kvm(struct kr_vm *vm)
{
	struct kvm_mp_state mp;
	if (vm->ncpus < 2 || ioctl(vm->vcpus[1].fd, KVM_GET_MP_STATE, &mp) < 0)
		return vm->cfg.pc;
	return mp.mp_state == KVM_MP_STATE_UNINITIALIZED;
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
	/*
	 * Once only: KVM refuses a second, different KVM_SET_CPUID2 after the
	 * first KVM_RUN, and a half-done earlier attempt leaves state behind.
	 */
	if (vm->prepare_started)
		return kr_err("vCPU: kr_vcpu_prepare was already called for this VM%s; it may be "
			      "called once (to start over, create a new VM)",
			      vm->prepared ? "" : " (and failed)");
	vm->prepare_started = true;
	if (kr_cpuid_setup(vm, &ms.nx) < 0 || setup_fpu(vm) < 0)
		return -1;
	/* What a PC's firmware leaves set for the kernel it starts. */
	if (vm->cfg.pc && kr_msr_setup_boot(vm) < 0)
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
	if (kr_vcpu_set_sregs(vm, &sregs) < 0 || set_entry_regs(vm, img, ms.real_cs) < 0)
		return -1;
	/*
	 * The APs' threads, parked: with the in-kernel LAPIC each AP waits in
	 * KVM for the guest's INIT/SIPI, so it runs with every run; otherwise
	 * it waits for KVMRUN_HC_START_CPU (x86/smp.c).
	 */
	if (kr_smp_start_threads(vm, aps_wait_in_kvm(vm)) < 0)
		return -1;
	vm->prepared = true;
	return 0;
}
