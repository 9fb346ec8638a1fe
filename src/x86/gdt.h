/* SPDX-License-Identifier: MIT */
/* x86/gdt.h - the flat GDT in guest memory; entries 4-5 are the 64-bit TSS. */
#ifndef KVMRUN_X86_GDT_H
#define KVMRUN_X86_GDT_H

#include <stdint.h>

#include "kvmrun.h"

#define KR_GDT_ENTRIES 6
#define KR_SEL_TSS 0x20

int kr_gdt_write(uint8_t *mem, uint64_t mem_size, uint64_t gdt_gpa, uint64_t tss_gpa);
/* The segment register value kvmrun's GDT holds for `selector`. */
void kr_gdt_segment(unsigned selector, struct kvm_segment *seg);
/* The TR value for kvmrun's 64-bit TSS at tss_gpa. */
void kr_gdt_tss_segment(uint64_t tss_gpa, struct kvm_segment *seg);
/* The 8-byte descriptor for a kvm_segment (exposed for the unit tests). */
uint64_t kr_gdt_encode(const struct kvm_segment *seg);

#endif
