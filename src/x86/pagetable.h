/* SPDX-License-Identifier: MIT */
/*
 * x86/pagetable.h - builds page tables in guest memory. Table pages come
 * from [next, limit) of guest physical memory, which the builder zeroes as
 * it takes them. Works on any host buffer, so it is unit-tested without KVM.
 */
#ifndef KVMRUN_X86_PAGETABLE_H
#define KVMRUN_X86_PAGETABLE_H

#include <stdbool.h>
#include <stdint.h>

struct kr_pt_builder {
	uint8_t *mem;     /* host address of guest physical 0 */
	uint64_t mem_size;
	uint64_t next, limit; /* free table pages, guest physical */
	uint64_t root;        /* CR3 */
	bool nx;              /* may set the NX bit (EFER.NXE will be on) */
};

int kr_pt_init(struct kr_pt_builder *b, uint8_t *mem, uint64_t mem_size, uint64_t area_start,
	       uint64_t area_end, bool nx);
/* 4-level long mode: map [gva, gva + size) to gpa; 2 MiB pages where aligned. */
int kr_pt64_map(struct kr_pt_builder *b, uint64_t gva, uint64_t gpa, uint64_t size, unsigned flags);
/* 32-bit paging: map with 4 MiB pages (CR4.PSE); all three 4 MiB aligned. */
int kr_pt32_map(struct kr_pt_builder *b, uint32_t gva, uint32_t gpa, uint64_t size, unsigned flags);

#endif
