/* SPDX-License-Identifier: MIT */
/* x86/modes.h - one function per CPU mode; pure, unit-tested. */
#ifndef KVMRUN_X86_MODES_H
#define KVMRUN_X86_MODES_H

#include <stdbool.h>
#include <stdint.h>

#include "kvmrun.h"

struct kr_mode_setup {
	uint64_t cr3;      /* page table root (paged modes) */
	uint64_t gdt_base; /* GDT guest physical address */
	bool nx;           /* enable EFER.NXE */
	uint16_t real_cs;  /* real mode: CS selector (entry and CS base meet there) */
	uint64_t idt_base; /* kvmrun's exception IDT (0: none) */
	uint16_t idt_limit;
	uint64_t tss_base; /* long mode: the TSS holding IST1 (0: none) */
};

void kr_sregs_for_mode(enum kr_mode mode, const struct kr_mode_setup *setup,
		       struct kvm_sregs *sregs);

#endif
