/* SPDX-License-Identifier: MIT */
/*
 * memmap.c - what a paged guest finds mapped when it starts (step 6).
 *
 * pagetable.c knows how to write entries; this file decides which: RAM as
 * data, page 0 left out so that NULL faults, the slots and MMIO ranges the
 * host added, kvmrun's own system area, and the image with the permissions
 * its ELF segments ask for. The order of the steps is the precedence: a
 * later step overwrites the pages an earlier one mapped (kvmrun.h,
 * kr_vcpu_prepare, documents the result). Pure: it writes only guest memory
 * through the builder, so it is unit-tested on a fake VM.
 */
#include "core/error.h"
#include "core/vm.h"
#include "x86/memmap.h"
#include "x86/pagetable.h"
#include "x86/x86.h"

/* The first address above the lower canonical half of 4-level paging. */
#define LOWER_HALF_END (1ull << 47)

/* The whole pages of `page` bytes that [base, base + len) touches; len > 0, no wrap. */
static void page_span(uint64_t base, uint64_t len, uint64_t page, uint64_t *first, uint64_t *end)
{
	*first = KR_ALIGN_DOWN(base, page);
	uint64_t last = KR_ALIGN_DOWN(base + (len - 1), page);
	*end = last + page; /* 0 if the last page ends the address space: callers clip first */
}

/* ---- long mode ------------------------------------------------------------------- */

static int map64(struct kr_pt_builder *b, uint64_t gva, uint64_t gpa, uint64_t size,
		 unsigned flags, const char *what, uint64_t arg)
{
	if (size && kr_pt64_map(b, gva, gpa, size, flags) < 0)
		return kr_err_context("page tables: %s 0x%llx", what, (unsigned long long)arg);
	return 0;
}

/* Identity-map [first, end) clipped to what 4-level paging can map 1:1. */
static int map64_identity(struct kr_pt_builder *b, uint64_t first, uint64_t end, unsigned flags,
			  const char *what, uint64_t arg)
{
	/* A range at or above 128 TiB has no canonical virtual address equal to it. */
	if (first >= LOWER_HALF_END)
		return 0;
	if (end > LOWER_HALF_END || end == 0)
		end = LOWER_HALF_END;
	return map64(b, first, first, end - first, flags, what, arg);
}

/* Slots other than RAM: read-only ones stay read-only; memory is never code. */
static int map64_slots(struct kr_vm *vm, struct kr_pt_builder *b)
{
	for (int i = 1; i < KR_MAX_SLOTS; i++) {
		const struct kr_slot *s = &vm->slots[i];
		if (!s->used || s->size == 0)
			continue;
		unsigned flags = (s->flags & KR_MEM_READONLY) ? 0 : KR_MAP_WRITE;
		if (map64_identity(b, s->gpa, s->gpa + s->size, flags, "memory slot at", s->gpa) < 0)
			return -1;
	}
	return 0;
}

/*
 * MMIO ranges outside RAM (inside it KVM never exits, so there is nothing to
 * reach), in whole pages, writable: a device over a read-only slot takes the
 * guest's writes.
 */
static int map64_mmio(struct kr_vm *vm, struct kr_pt_builder *b)
{
	uint64_t ram = vm->cfg.mem_size;
	for (size_t i = 0; i < vm->ndevices; i++) {
		const struct kr_device *d = &vm->devices[i];
		if (d->space != KR_SPACE_MMIO || d->len == 0)
			continue;
		uint64_t first, end;
		page_span(d->base, d->len, KR_PAGE_4K, &first, &end);
		if (end != 0 && end <= ram)
			continue;
		if (first < ram)
			first = ram; /* RAM is a multiple of 4 KiB */
		if (map64_identity(b, first, end, KR_MAP_WRITE, "MMIO range at", d->base) < 0)
			return -1;
	}
	return 0;
}

/*
 * Two entries that share pages and send them to the same place (a linker
 * packs .text's tail and .data's head into one page): give those pages the
 * union of both permissions, or code or data there would fault. Entries
 * that disagree about the place keep the later one's mapping.
 */
static int merge_shared_pages(struct kr_pt_builder *b, const struct kr_mapping *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = i + 1; j < n; j++) {
			const struct kr_mapping *x = &m[i], *y = &m[j];
			if (x->gva - x->gpa != y->gva - y->gpa)
				continue;
			uint64_t lo = x->gva > y->gva ? x->gva : y->gva;
			uint64_t x_end = x->gva + x->size, y_end = y->gva + y->size;
			uint64_t hi = x_end < y_end ? x_end : y_end;
			if (lo >= hi || (x->flags | y->flags) == (x->flags & y->flags))
				continue;
			if (map64(b, lo, x->gpa + (lo - x->gva), hi - lo, x->flags | y->flags,
				  "pages shared by two segments at", lo) < 0)
				return -1;
		}
	}
	return 0;
}

/* The image: a raw one read-write-executable, an ELF one segment by segment. */
static int map64_image(struct kr_pt_builder *b, const struct kr_image *img)
{
	const unsigned rwx = KR_MAP_WRITE | KR_MAP_EXEC;
	if (!img->is_elf && img->end > img->start) {
		uint64_t first, end;
		page_span(img->start, img->end - img->start, KR_PAGE_4K, &first, &end);
		if (map64(b, first, first, end - first, rwx, "raw image at", img->start) < 0)
			return -1;
	}
	struct kr_mapping all[KR_MAX_SEGMENTS + KR_MAX_MAPPINGS];
	size_t n = 0;
	for (size_t i = 0; i < img->nsegments && i < KR_MAX_SEGMENTS; i++)
		all[n++] = img->segments[i];
	for (size_t i = 0; i < img->nmappings && i < KR_MAX_MAPPINGS; i++)
		all[n++] = img->mappings[i];
	for (size_t i = 0; i < n; i++) {
		if (map64(b, all[i].gva, all[i].gpa, all[i].size, all[i].flags,
			  "image mapping at virtual", all[i].gva) < 0)
			return -1;
	}
	return merge_shared_pages(b, all, n);
}

static int build_long(struct kr_vm *vm, const struct kr_image *img, struct kr_pt_builder *b)
{
	/* The identity map of RAM ends on a 2 MiB page (the ELF loader checks against it). */
	uint64_t ram_end = kr_memmap_identity_end(KR_MODE_LONG, vm->cfg.mem_size);
	uint64_t low = vm->cfg.map_page0 ? 0 : KR_PAGE_4K;
	if (map64(b, low, low, ram_end - low, KR_MAP_WRITE, "RAM from", low) < 0 ||
	    map64_slots(vm, b) < 0 || map64_mmio(vm, b) < 0)
		return -1;
	/* Its GDT, IDT, TSS, stack and the stubs the IDT leads to: as kvmrun needs them. */
	if (map64(b, KVMRUN_SYSTEM_AREA_START, KVMRUN_SYSTEM_AREA_START,
		  KVMRUN_SYSTEM_AREA_END - KVMRUN_SYSTEM_AREA_START, KR_MAP_WRITE | KR_MAP_EXEC,
		  "kvmrun's system area at", KVMRUN_SYSTEM_AREA_START) < 0)
		return -1;
	return map64_image(b, img);
}

/* ---- 32-bit paging ----------------------------------------------------------------- */

static int map32(struct kr_pt_builder *b, uint64_t gva, uint64_t gpa, uint64_t size,
		 const char *what, uint64_t arg)
{
	/* No NX in 32-bit paging, and 4 MiB pages are too coarse for permissions. */
	if (size && kr_pt32_map(b, (uint32_t)gva, (uint32_t)gpa, size, KR_MAP_WRITE | KR_MAP_EXEC) < 0)
		return kr_err_context("page tables: %s 0x%llx", what, (unsigned long long)arg);
	return 0;
}

/* A slot or MMIO range, in 4 MiB pages, outside the RAM map and below 4 GiB. */
static int map32_range(struct kr_pt_builder *b, uint64_t ram_end, uint64_t base, uint64_t len,
		       const char *what)
{
	uint64_t first, end;
	if (len == 0 || base >= KR_LIMIT_4G)
		return 0;
	page_span(base, len, KR_PAGE_4M, &first, &end);
	if (end > KR_LIMIT_4G || end == 0)
		end = KR_LIMIT_4G;
	if (first < ram_end)
		first = ram_end;
	return first < end ? map32(b, first, first, end - first, what, base) : 0;
}

static int build_paged32(struct kr_vm *vm, const struct kr_image *img, struct kr_pt_builder *b)
{
	uint64_t ram_end = kr_memmap_identity_end(KR_MODE_PAGED32, vm->cfg.mem_size);
	if (map32(b, 0, 0, ram_end, "RAM from", 0) < 0)
		return -1;
	for (int i = 1; i < KR_MAX_SLOTS; i++) {
		const struct kr_slot *s = &vm->slots[i];
		if (s->used && map32_range(b, ram_end, s->gpa, s->size, "memory slot at") < 0)
			return -1;
	}
	for (size_t i = 0; i < vm->ndevices; i++) {
		const struct kr_device *d = &vm->devices[i];
		if (d->space == KR_SPACE_MMIO &&
		    map32_range(b, ram_end, d->base, d->len, "MMIO range at") < 0)
			return -1;
	}
	for (size_t i = 0; i < img->nmappings && i < KR_MAX_MAPPINGS; i++) {
		const struct kr_mapping *m = &img->mappings[i];
		uint64_t off = m->gva & (KR_PAGE_4M - 1);
		if (off != (m->gpa & (KR_PAGE_4M - 1)))
			return kr_err("page tables: 32-bit mapping 0x%llx -> 0x%llx must keep "
				      "the offset within a 4 MiB page",
				      (unsigned long long)m->gva, (unsigned long long)m->gpa);
		if (map32(b, m->gva - off, m->gpa - off, KR_ALIGN_UP(m->size + off, KR_PAGE_4M),
			  "image mapping at virtual", m->gva) < 0)
			return -1;
	}
	return 0;
}

int kr_page_tables_build(struct kr_vm *vm, const struct kr_image *img, bool nx, uint64_t *cr3)
{
	struct kr_pt_builder b;
	if (kr_pt_init(&b, vm->ram, vm->cfg.mem_size, KR_PAGE_TABLES_GPA, KR_PAGE_TABLES_END,
		       nx) < 0)
		return -1;
	int rc;
	if (vm->cfg.mode == KR_MODE_PAGED32)
		rc = build_paged32(vm, img, &b);
	else if (vm->cfg.mode == KR_MODE_LONG)
		rc = build_long(vm, img, &b);
	else
		rc = kr_err("page tables: %s mode has no paging", kr_mode_name(vm->cfg.mode));
	if (rc < 0)
		return -1;
	*cr3 = b.root;
	return 0;
}

uint64_t kr_memmap_mapping_page(enum kr_mode mode)
{
	return mode == KR_MODE_PAGED32 ? KR_PAGE_4M : KR_PAGE_4K;
}

uint64_t kr_memmap_identity_end(enum kr_mode mode, uint64_t mem_size)
{
	return KR_ALIGN_UP(mem_size, mode == KR_MODE_PAGED32 ? KR_PAGE_4M : KR_PAGE_2M);
}
