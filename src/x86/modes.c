/* SPDX-License-Identifier: MIT */
/*
 * modes.c - step 6: the special registers for each CPU mode.
 *
 * KVM_SET_SREGS puts the vCPU straight into a mode without the code a real
 * machine would run to get there (no far jumps, no mode switch sequence).
 * Each function below sets what the manual asks of its mode; the values must
 * agree with each other or the CPU refuses to enter the guest.
 */
#include <asm/processor-flags.h>
#include <string.h>

#include "x86/gdt.h"
#include "x86/modes.h"
#include "x86/x86.h"

/* In every mode: FPU and SSE usable, as gcc-compiled code expects. */
#define CR0_BASE (X86_CR0_ET | X86_CR0_NE | X86_CR0_MP)
#define CR4_SSE (X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT)

/* Real-mode segment: base = selector * 16, 64 KiB limit, present, DPL 0. */
static struct kvm_segment real_segment(uint16_t selector, uint8_t type)
{
	return (struct kvm_segment){.selector = selector, .base = (uint64_t)selector << 4,
				    .limit = 0xffff, .type = type, .present = 1, .s = 1};
}

static void set_data_segments(struct kvm_sregs *s, const struct kvm_segment *data)
{
	s->ds = s->es = s->fs = s->gs = s->ss = *data;
}

/* The LDT is unused, TR names a busy TSS: what VM entry insists on. */
static void set_system_segments(struct kvm_sregs *s)
{
	s->ldt = (struct kvm_segment){.limit = 0xffff, .type = 2, .present = 1, .unusable = 1};
	s->tr = (struct kvm_segment){.limit = 0xffff, .type = 0xb, .present = 1};
}

/* 16-bit real mode: no GDT, the interrupt vector table at 0. */
static void setup_real_mode(struct kvm_sregs *s, const struct kr_mode_setup *m)
{
	s->cs = real_segment(m->real_cs, 0xb);
	struct kvm_segment data = real_segment(0, 0x3);
	set_data_segments(s, &data);
	s->idt = (struct kvm_dtable){.base = 0, .limit = 0x3ff};
	s->gdt = (struct kvm_dtable){0};
	s->cr0 = CR0_BASE;
	s->cr3 = 0;
	s->cr4 = CR4_SSE;
	s->efer = 0;
}

/* Flat 32-bit protected mode: CR0.PE and 4 GiB code and data segments. */
static void setup_protected_mode(struct kvm_sregs *s, const struct kr_mode_setup *m)
{
	struct kvm_segment data;
	kr_gdt_segment(KVMRUN_SEL_CODE32, &s->cs);
	kr_gdt_segment(KVMRUN_SEL_DATA, &data);
	set_data_segments(s, &data);
	s->gdt = (struct kvm_dtable){.base = m->gdt_base, .limit = KR_GDT_ENTRIES * 8 - 1};
	/* kvmrun's exception IDT if there is one; else empty: any exception is a triple fault. */
	s->idt = (struct kvm_dtable){.base = m->idt_base, .limit = m->idt_base ? m->idt_limit : 0};
	s->cr0 = CR0_BASE | X86_CR0_PE;
	s->cr3 = 0;
	s->cr4 = CR4_SSE;
	s->efer = 0;
}

/* 32-bit paging: protected mode plus CR0.PG, CR3 and 4 MiB pages (CR4.PSE). */
static void setup_paged32_mode(struct kvm_sregs *s, const struct kr_mode_setup *m)
{
	setup_protected_mode(s, m);
	s->cr3 = m->cr3;
	s->cr4 |= X86_CR4_PSE;
	s->cr0 |= X86_CR0_PG | X86_CR0_WP;
}

/*
 * 64-bit long mode: PAE paging with CR3 at a PML4, EFER.LME (enable) and
 * EFER.LMA (active; the CPU would set it itself when paging comes on, but
 * KVM_SET_SREGS skips that moment, so it is set here), and a code segment
 * with L=1, D=0.
 */
static void setup_long_mode(struct kvm_sregs *s, const struct kr_mode_setup *m)
{
	setup_protected_mode(s, m);
	kr_gdt_segment(KVMRUN_SEL_CODE64, &s->cs);
	s->cr3 = m->cr3;
	s->cr4 |= X86_CR4_PAE;
	s->cr0 |= X86_CR0_PG | X86_CR0_WP;
	s->efer = KR_EFER_LME | KR_EFER_LMA | (m->nx ? KR_EFER_NXE : 0);
	if (m->tss_base)
		kr_gdt_tss_segment(m->tss_base, &s->tr); /* IST1 for the exception handlers */
}

void kr_sregs_for_mode(enum kr_mode mode, const struct kr_mode_setup *setup, struct kvm_sregs *s)
{
	set_system_segments(s);
	switch (mode) {
	case KR_MODE_REAL:
		setup_real_mode(s, setup);
		break;
	case KR_MODE_PROTECTED:
		setup_protected_mode(s, setup);
		break;
	case KR_MODE_PAGED32:
		setup_paged32_mode(s, setup);
		break;
	case KR_MODE_LONG:
		setup_long_mode(s, setup);
		break;
	}
}
