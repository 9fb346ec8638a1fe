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

#include "internal.h"

#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))

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
	return kr_sregs_readback(vm, sregs);
}

/*
 * A back end may accept KVM_SET_SREGS and quietly keep less of the mode than
 * asked: the software back end kvm_pvm runs paging only in long mode and
 * drops CR0.PG otherwise, and the guest's first instruction then triple
 * faults. Read the mode bits back, so such a guest never starts and the
 * message says what the back end refused, not that the guest crashed.
 */
int kr_sregs_readback(struct kr_vm *vm, const struct kvm_sregs *want)
{
	struct kvm_sregs got;
	if (kr_vcpu_get_sregs(vm, &got) < 0)
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
			return kr_err("vCPU: KVM_SET_SREGS(cr0=0x%llx, cr4=0x%llx, efer=0x%llx) "
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

/* The x87 control word and MXCSR the SDM gives as their reset values. */
static int setup_fpu(struct kr_vm *vm)
{
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	if (ioctl(vm->vcpu_fd, KVM_SET_FPU, &fpu) < 0)
		return kr_err_sys("vCPU: ioctl KVM_SET_FPU(fcw=0x37f, mxcsr=0x1f80)");
	return 0;
}

/*
 * A linker may end one segment and start the next in the same 4 KiB page
 * (text's tail, data's head). Each mapping wrote that page with its own
 * permissions; give it the union, or code or data there would fault.
 */
static int merge_shared_pages(struct kr_pt_builder *b, const struct kr_image *img)
{
	for (size_t i = 0; i < img->nmappings; i++) {
		for (size_t j = i + 1; j < img->nmappings; j++) {
			const struct kr_mapping *x = &img->mappings[i], *y = &img->mappings[j];
			uint64_t lo = x->gva > y->gva ? x->gva : y->gva;
			uint64_t x_end = x->gva + x->size, y_end = y->gva + y->size;
			uint64_t hi = x_end < y_end ? x_end : y_end;
			if (lo >= hi)
				continue;
			/* The loader guarantees both send the shared pages to the same place. */
			if (kr_pt64_map(b, lo, x->gpa + (lo - x->gva), hi - lo, x->flags | y->flags) < 0)
				return -1;
		}
	}
	return 0;
}

/* Identity-map RAM, then the image's own mappings (e.g. a higher-half kernel). */
static int build_page_tables(struct kr_vm *vm, const struct kr_image *img,
			     struct kr_mode_setup *ms)
{
	struct kr_pt_builder b;
	uint64_t mem = vm->cfg.mem_size;
	if (kr_pt_init(&b, vm->ram, mem, KR_PAGE_TABLES_GPA, KVMRUN_SYSTEM_AREA_END, ms->nx) < 0)
		return -1;
	const unsigned rwx = KR_MAP_WRITE | KR_MAP_EXEC;
	if (vm->cfg.mode == KR_MODE_PAGED32) {
		if (kr_pt32_map(&b, 0, 0, ALIGN_UP(mem, 0x400000), rwx) < 0)
			return -1;
		for (size_t i = 0; i < img->nmappings; i++) {
			const struct kr_mapping *m = &img->mappings[i];
			uint64_t off = m->gva & 0x3fffff;
			if (off != (m->gpa & 0x3fffff))
				return kr_err("page tables: 32-bit mapping 0x%llx -> 0x%llx must keep "
					      "the offset within a 4 MiB page",
					      (unsigned long long)m->gva, (unsigned long long)m->gpa);
			if (kr_pt32_map(&b, (uint32_t)(m->gva - off), (uint32_t)(m->gpa - off),
					ALIGN_UP(m->size + off, 0x400000), rwx) < 0)
				return -1;
		}
	} else {
		if (kr_pt64_map(&b, 0, 0, ALIGN_UP(mem, 0x200000), rwx) < 0)
			return -1;
		for (size_t i = 0; i < img->nmappings; i++) {
			const struct kr_mapping *m = &img->mappings[i];
			if (kr_pt64_map(&b, m->gva, m->gpa, m->size, m->flags) < 0)
				return -1;
		}
		if (merge_shared_pages(&b, img) < 0)
			return -1;
	}
	ms->cr3 = b.root;
	return 0;
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
	vm->prepared = true;
	return 0;
}
