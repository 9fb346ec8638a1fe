/* SPDX-License-Identifier: MIT */
/*
 * gdt.c - the Global Descriptor Table kvmrun puts in guest memory.
 *
 * KVM_SET_SREGS loads the hidden parts of the segment registers directly, so
 * a guest runs without any GDT at all until it reloads a segment register
 * (an interrupt return, a far jump, `mov ds, ax`). Then the CPU reads the GDT,
 * so it must hold exactly the descriptors the registers were loaded with.
 * Both come from one table below.
 */
#include <string.h>

#include "core/bounds.h"
#include "core/error.h"
#include "x86/gdt.h"

/* Flat 4 GiB segments; the index is selector / 8. */
static const struct kvm_segment gdt_segments[KR_SEL_TSS / 8] = {
	[KVMRUN_SEL_CODE64 / 8] = {.selector = KVMRUN_SEL_CODE64, .limit = 0xffffffff, .type = 0xb,
				   .present = 1, .s = 1, .l = 1, .g = 1},
	[KVMRUN_SEL_DATA / 8] = {.selector = KVMRUN_SEL_DATA, .limit = 0xffffffff, .type = 0x3,
				 .present = 1, .s = 1, .db = 1, .g = 1},
	[KVMRUN_SEL_CODE32 / 8] = {.selector = KVMRUN_SEL_CODE32, .limit = 0xffffffff, .type = 0xb,
				   .present = 1, .s = 1, .db = 1, .g = 1},
};

void kr_gdt_segment(unsigned selector, struct kvm_segment *seg)
{
	*seg = gdt_segments[(selector / 8) % (KR_SEL_TSS / 8)];
}

uint64_t kr_gdt_encode(const struct kvm_segment *seg)
{
	uint64_t limit = seg->g ? seg->limit >> 12 : seg->limit;
	uint64_t base = seg->base;
	return (limit & 0xffff) | (base & 0xffffff) << 16 | (uint64_t)(seg->type & 0xf) << 40 |
	       (uint64_t)(seg->s & 1) << 44 | (uint64_t)(seg->dpl & 3) << 45 |
	       (uint64_t)(seg->present & 1) << 47 | ((limit >> 16) & 0xf) << 48 |
	       (uint64_t)(seg->avl & 1) << 52 | (uint64_t)(seg->l & 1) << 53 |
	       (uint64_t)(seg->db & 1) << 54 | (uint64_t)(seg->g & 1) << 55 |
	       ((base >> 24) & 0xff) << 56;
}

/*
 * The 64-bit TSS descriptor is a 16-byte system descriptor: the usual 8
 * bytes (type 9, available 64-bit TSS) and then bits 63..32 of the base.
 */
void kr_gdt_tss_segment(uint64_t tss_gpa, struct kvm_segment *seg)
{
	*seg = (struct kvm_segment){.selector = KR_SEL_TSS, .base = tss_gpa, .limit = 0x67,
				    .type = 0xb /* busy, as TR holds it */, .present = 1};
}

int kr_gdt_write(uint8_t *mem, uint64_t mem_size, uint64_t gdt_gpa, uint64_t tss_gpa)
{
	if (!kr_range_ok(gdt_gpa, KR_GDT_ENTRIES * 8, mem_size))
		return kr_err("GDT: 0x%llx is outside guest memory", (unsigned long long)gdt_gpa);
	uint64_t desc[KR_GDT_ENTRIES] = {0};
	for (unsigned i = 1; i < KR_SEL_TSS / 8; i++)
		desc[i] = kr_gdt_encode(&gdt_segments[i]);
	struct kvm_segment tss;
	kr_gdt_tss_segment(tss_gpa, &tss);
	tss.type = 0x9; /* in the GDT it is available; loading TR marks it busy */
	desc[KR_SEL_TSS / 8] = kr_gdt_encode(&tss);
	desc[KR_SEL_TSS / 8 + 1] = tss_gpa >> 32;
	memcpy(mem + gdt_gpa, desc, sizeof(desc));
	return 0;
}
