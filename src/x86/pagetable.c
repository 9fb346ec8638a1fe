/* SPDX-License-Identifier: MIT */
/*
 * pagetable.c - page tables built by the host in guest memory (step 6).
 *
 * Long mode cannot run without paging, so the VMM writes the guest's first
 * page tables: a 4-level hierarchy (PML4 -> PDPT -> PD -> PT) in which a PD
 * entry with PS set maps 2 MiB at once and a PT entry maps 4 KiB. 32-bit
 * paging has two levels and, with CR4.PSE, 4 MiB pages in the directory.
 * Table pages are taken from a range of guest memory that the VMM owns.
 */
#include <string.h>

#include "core/bounds.h"
#include "core/error.h"
#include "kvmrun.h"
#include "x86/pagetable.h"
#include "x86/x86.h"

int kr_pt_init(struct kr_pt_builder *b, uint8_t *mem, uint64_t mem_size, uint64_t area_start,
	       uint64_t area_end, bool nx)
{
	if ((area_start & (KR_PAGE_4K - 1)) || area_end < area_start ||
	    !kr_range_ok(area_start, area_end - area_start, mem_size))
		return kr_err("page tables: area [0x%llx, 0x%llx) is not page aligned inside %llu "
			      "bytes of RAM",
			      (unsigned long long)area_start, (unsigned long long)area_end,
			      (unsigned long long)mem_size);
	*b = (struct kr_pt_builder){
		.mem = mem, .mem_size = mem_size, .next = area_start, .limit = area_end, .nx = nx};
	return 0;
}

/* A zeroed table page from the builder's area, or 0 when it is used up. */
static uint64_t alloc_table(struct kr_pt_builder *b)
{
	if (b->limit - b->next < KR_PAGE_4K) {
		kr_err("page tables: no room left for another table in [.., 0x%llx)",
		       (unsigned long long)b->limit);
		return 0;
	}
	uint64_t gpa = b->next;
	b->next += KR_PAGE_4K;
	memset(b->mem + gpa, 0, KR_PAGE_4K);
	return gpa;
}

static uint64_t *table_at(struct kr_pt_builder *b, uint64_t gpa)
{
	/* Our own tables, but still checked: an entry is an address in guest memory. */
	if (!kr_range_ok(gpa, KR_PAGE_4K, b->mem_size)) {
		kr_err("page tables: table at 0x%llx is outside guest memory",
		       (unsigned long long)gpa);
		return NULL;
	}
	return (uint64_t *)(b->mem + gpa);
}

static uint64_t leaf_bits(const struct kr_pt_builder *b, unsigned flags)
{
	uint64_t bits = KR_PTE_PRESENT;
	if (flags & KR_MAP_WRITE)
		bits |= KR_PTE_WRITE;
	if (!(flags & KR_MAP_EXEC) && b->nx)
		bits |= KR_PTE_NX;
	return bits;
}

/* Replace a 2 MiB page by a table of 512 4 KiB pages with the same mapping. */
static int split_large_page(struct kr_pt_builder *b, uint64_t *pde)
{
	uint64_t pt_gpa = alloc_table(b);
	uint64_t *pt = pt_gpa ? table_at(b, pt_gpa) : NULL;
	if (!pt)
		return -1;
	uint64_t base = *pde & KR_PTE_ADDR & ~(KR_PAGE_2M - 1);
	uint64_t bits = *pde & (KR_PTE_PRESENT | KR_PTE_WRITE | KR_PTE_NX);
	for (uint64_t i = 0; i < 512; i++)
		pt[i] = (base + i * KR_PAGE_4K) | bits;
	*pde = pt_gpa | KR_PTE_PRESENT | KR_PTE_WRITE;
	return 0;
}

/*
 * The next-level table under `*entry`, created if absent. Intermediate
 * entries allow everything; the leaf decides write and execute.
 */
static uint64_t *next_table(struct kr_pt_builder *b, uint64_t *entry)
{
	if (!(*entry & KR_PTE_PRESENT)) {
		uint64_t gpa = alloc_table(b);
		if (!gpa)
			return NULL;
		*entry = gpa | KR_PTE_PRESENT | KR_PTE_WRITE;
	}
	return table_at(b, *entry & KR_PTE_ADDR);
}

int kr_pt64_map(struct kr_pt_builder *b, uint64_t gva, uint64_t gpa, uint64_t size, unsigned flags)
{
	if (((gva | gpa | size) & (KR_PAGE_4K - 1)) || gva + size < gva || gpa + size < gpa)
		return kr_err("page tables: mapping 0x%llx -> 0x%llx (0x%llx bytes) is not 4 KiB "
			      "aligned or wraps",
			      (unsigned long long)gva, (unsigned long long)gpa, (unsigned long long)size);
	if (!kr_canonical(gva, 48) || (size && !kr_canonical(gva + size - 1, 48)))
		return kr_err("page tables: 0x%llx (+0x%llx) is not a canonical address",
			      (unsigned long long)gva, (unsigned long long)size);
	if (!b->root && !(b->root = alloc_table(b)))
		return -1;
	while (size > 0) {
		uint64_t *pml4 = table_at(b, b->root);
		uint64_t *pdpt = pml4 ? next_table(b, &pml4[(gva >> 39) & 511]) : NULL;
		uint64_t *pd = pdpt ? next_table(b, &pdpt[(gva >> 30) & 511]) : NULL;
		if (!pd)
			return -1;
		uint64_t *pde = &pd[(gva >> 21) & 511];
		bool pde_is_table = (*pde & KR_PTE_PRESENT) && !(*pde & KR_PTE_PS);
		if (!((gva | gpa) & (KR_PAGE_2M - 1)) && size >= KR_PAGE_2M && !pde_is_table) {
			*pde = gpa | KR_PTE_PS | leaf_bits(b, flags);
			gva += KR_PAGE_2M, gpa += KR_PAGE_2M, size -= KR_PAGE_2M;
			continue;
		}
		if ((*pde & KR_PTE_PRESENT) && (*pde & KR_PTE_PS) && split_large_page(b, pde) < 0)
			return -1;
		uint64_t *pt = next_table(b, pde);
		if (!pt)
			return -1;
		pt[(gva >> 12) & 511] = gpa | leaf_bits(b, flags);
		gva += KR_PAGE_4K, gpa += KR_PAGE_4K, size -= KR_PAGE_4K;
	}
	return 0;
}

int kr_pt32_map(struct kr_pt_builder *b, uint32_t gva, uint32_t gpa, uint64_t size, unsigned flags)
{
	if (((gva | gpa) & (KR_PAGE_4M - 1)) || (size & (KR_PAGE_4M - 1)) ||
	    (uint64_t)gva + size > (1ull << 32) || (uint64_t)gpa + size > (1ull << 32))
		return kr_err("page tables: 32-bit mapping 0x%x -> 0x%x (0x%llx bytes) must use "
			      "4 MiB aligned addresses below 4 GiB",
			      gva, gpa, (unsigned long long)size);
	if (!b->root && !(b->root = alloc_table(b)))
		return -1;
	uint32_t *pd = (uint32_t *)table_at(b, b->root);
	if (!pd)
		return -1;
	/* 32-bit paging has no NX bit: execute permission cannot be taken away. */
	uint32_t bits = (uint32_t)(KR_PTE_PRESENT | KR_PTE_PS) | (flags & KR_MAP_WRITE ? KR_PTE_WRITE : 0);
	for (uint64_t off = 0; off < size; off += KR_PAGE_4M)
		pd[(gva + off) >> 22] = (uint32_t)(gpa + off) | bits;
	return 0;
}
