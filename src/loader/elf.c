/* SPDX-License-Identifier: MIT */
/*
 * elf.c - ELF executables (ELFCLASS64 for long mode, ELFCLASS32 for the two
 * 32-bit modes).
 *
 * Only the program headers matter: each PT_LOAD segment puts p_filesz bytes
 * of the file at guest physical p_paddr and zeroes the rest of its p_memsz
 * bytes (the bss). A segment whose p_vaddr differs from p_paddr (a
 * higher-half kernel, say) becomes a struct kr_mapping in img->mappings that
 * the page table builder maps; the others run identity-mapped, and their
 * pages and permissions go to img->segments, so that long mode honours
 * PF_W and PF_X for them too.
 *
 * The file is untrusted. The loader reads it only through kr_span() (never a
 * pointer cast onto the buffer: it may be unaligned), checks every header
 * and segment before it writes anything, and writes only through
 * kr_gpa_ptr(). The caller's struct kr_image is filled only on success.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bounds.h"
#include "core/error.h"
#include "core/vm.h"
#include "loader/loader.h"
#include "loader/symbols.h"
#include "x86/memmap.h"
#include "x86/x86.h"

#define PAGE_MASK (KR_PAGE_4K - 1)

/* The ELF header fields the loader uses, widened from either class. */
struct elf_header {
	int cls; /* ELFCLASS32 or ELFCLASS64 */
	unsigned type, machine, phentsize, phnum;
	uint32_t version;
	uint64_t entry, phoff;
};

/* One non-empty PT_LOAD program header, widened from either class. */
struct elf_segment {
	size_t index; /* in the program header table, for messages */
	uint32_t flags;
	uint64_t offset, filesz, vaddr, paddr, memsz;
};

/* An inclusive range [first, last]: `last` never wraps, unlike an end would. */
struct elf_range {
	uint64_t first, last;
	size_t index;
};

/* ---- the identification and the header ----------------------------------- */

/* Check e_ident; on success *cls is ELFCLASS32 or ELFCLASS64. */
static int check_ident(const uint8_t *data, size_t size, int *cls)
{
	const uint8_t *id = kr_span(data, size, 0, EI_NIDENT);

	if (!id)
		return kr_err("ELF: the file is %zu bytes, too short for the ELF identification "
			      "(%d bytes)",
			      size, EI_NIDENT);
	if (memcmp(id, ELFMAG, SELFMAG) != 0)
		return kr_err("ELF: bad magic %02x %02x %02x %02x (expected 7f 45 4c 46, "
			      "\"\\177ELF\")",
			      id[0], id[1], id[2], id[3]);
	if (id[EI_CLASS] != ELFCLASS32 && id[EI_CLASS] != ELFCLASS64)
		return kr_err("ELF: unknown class %u in e_ident[EI_CLASS] (expected ELFCLASS32 "
			      "(1) or ELFCLASS64 (2))",
			      id[EI_CLASS]);
	if (id[EI_DATA] == ELFDATA2MSB)
		return kr_err("ELF: big-endian image (ELFDATA2MSB); x86 guests are little-endian "
			      "(ELFDATA2LSB)");
	if (id[EI_DATA] != ELFDATA2LSB)
		return kr_err("ELF: unknown data encoding %u in e_ident[EI_DATA] (expected "
			      "ELFDATA2LSB (1))",
			      id[EI_DATA]);
	if (id[EI_VERSION] != EV_CURRENT)
		return kr_err("ELF: e_ident[EI_VERSION] is %u, expected EV_CURRENT (%d)",
			      id[EI_VERSION], EV_CURRENT);
	*cls = id[EI_CLASS];
	return 0;
}

/* The class decides the CPU mode: 64-bit code needs long mode, and so on. */
static int check_class_for_mode(const struct kr_vm *vm, int cls)
{
	enum kr_mode mode = vm->cfg.mode;

	if (cls == ELFCLASS64 && mode != KR_MODE_LONG)
		return kr_err("ELF: a 64-bit ELF (ELFCLASS64) needs long mode, but the VM is in "
			      "%s mode",
			      kr_mode_name(mode));
	if (cls == ELFCLASS32 && mode != KR_MODE_PROTECTED && mode != KR_MODE_PAGED32)
		return kr_err("ELF: a 32-bit ELF (ELFCLASS32) needs protected or paged32 "
			      "mode, but the VM is in %s mode",
			      kr_mode_name(mode));
	return 0;
}

static int header_too_short(size_t size, size_t need, int bits)
{
	return kr_err("ELF: the file is %zu bytes, too short for a %d-bit ELF header (%zu bytes)",
		      size, bits, need);
}

/* Copy out the ELF header of class `cls` (memcpy: the buffer may be unaligned). */
static int read_header(const uint8_t *data, size_t size, int cls, struct elf_header *h)
{
	if (cls == ELFCLASS64) {
		Elf64_Ehdr e;
		const void *p = kr_span(data, size, 0, sizeof(e));
		if (!p)
			return header_too_short(size, sizeof(e), 64);
		memcpy(&e, p, sizeof(e));
		*h = (struct elf_header){.cls = cls,
					 .type = e.e_type,
					 .machine = e.e_machine,
					 .phentsize = e.e_phentsize,
					 .phnum = e.e_phnum,
					 .version = e.e_version,
					 .entry = e.e_entry,
					 .phoff = e.e_phoff};
	} else {
		Elf32_Ehdr e;
		const void *p = kr_span(data, size, 0, sizeof(e));
		if (!p)
			return header_too_short(size, sizeof(e), 32);
		memcpy(&e, p, sizeof(e));
		*h = (struct elf_header){.cls = cls,
					 .type = e.e_type,
					 .machine = e.e_machine,
					 .phentsize = e.e_phentsize,
					 .phnum = e.e_phnum,
					 .version = e.e_version,
					 .entry = e.e_entry,
					 .phoff = e.e_phoff};
	}
	return 0;
}

static const char *type_name(unsigned type)
{
	switch (type) {
	case ET_NONE:
		return "ET_NONE";
	case ET_REL:
		return "ET_REL, a relocatable object";
	case ET_DYN:
		return "ET_DYN, a shared object or PIE";
	case ET_CORE:
		return "ET_CORE, a core dump";
	default:
		return "unknown";
	}
}

/* e_type, e_machine, e_version and where the program header table is. */
static int check_header(const struct elf_header *h, size_t size)
{
	bool is64 = h->cls == ELFCLASS64;
	unsigned machine = is64 ? EM_X86_64 : EM_386;
	size_t phentsize = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);

	if (h->type != ET_EXEC)
		return kr_err("ELF: e_type is %u (%s), expected ET_EXEC (%d): kvmrun loads "
			      "statically linked, position-dependent executables",
			      h->type, type_name(h->type), ET_EXEC);
	if (h->machine != machine)
		return kr_err("ELF: e_machine is %u, expected %s (%u) for a %d-bit ELF", h->machine,
			      is64 ? "EM_X86_64" : "EM_386", machine, is64 ? 64 : 32);
	if (h->version != EV_CURRENT)
		return kr_err("ELF: e_version is %u, expected EV_CURRENT (%d)", h->version,
			      EV_CURRENT);
	if (h->phnum == 0)
		return kr_err("ELF: no program headers (e_phnum is 0): nothing to load");
	/* With PN_XNUM the real count hides in section header 0; no linker makes
	 * that many segments for a guest, so refuse it rather than parse it. */
	if (h->phnum == PN_XNUM)
		return kr_err("ELF: e_phnum is PN_XNUM (0x%x, extended numbering), which kvmrun "
			      "does not support",
			      PN_XNUM);
	if (h->phentsize != phentsize)
		return kr_err("ELF: e_phentsize is %u, expected %zu (sizeof(Elf%d_Phdr))",
			      h->phentsize, phentsize, is64 ? 64 : 32);
	/* Both factors are 16-bit, so the product fits; the sum may not. */
	uint64_t table = (uint64_t)h->phnum * h->phentsize;
	if (!kr_range_ok(h->phoff, table, size))
		return kr_err("ELF: program header table (e_phoff 0x%llx + %u entries * %u bytes) "
			      "runs past the end of the file (0x%zx bytes)",
			      (unsigned long long)h->phoff, h->phnum, h->phentsize, size);
	return 0;
}

/* ---- program headers ------------------------------------------------------- */

/* Widen the program header at `p` (phentsize bytes, already bounds-checked). */
static void read_phdr(const void *p, int cls, uint32_t *type, struct elf_segment *s)
{
	if (cls == ELFCLASS64) {
		Elf64_Phdr ph;
		memcpy(&ph, p, sizeof(ph));
		*type = ph.p_type;
		s->flags = ph.p_flags;
		s->offset = ph.p_offset;
		s->filesz = ph.p_filesz;
		s->vaddr = ph.p_vaddr;
		s->paddr = ph.p_paddr;
		s->memsz = ph.p_memsz;
	} else {
		Elf32_Phdr ph;
		memcpy(&ph, p, sizeof(ph));
		*type = ph.p_type;
		s->flags = ph.p_flags;
		s->offset = ph.p_offset;
		s->filesz = ph.p_filesz;
		s->vaddr = ph.p_vaddr;
		s->paddr = ph.p_paddr;
		s->memsz = ph.p_memsz;
	}
}

/*
 * [addr, addr + len) with len > 0 is canonical: it does not wrap and its last
 * byte lies in the same canonical half as its first (bits 63..47 unchanged).
 */
static bool canonical_range(uint64_t addr, uint64_t len)
{
	if (len - 1 > UINT64_MAX - addr)
		return false;
	uint64_t last = addr + len - 1;
	return kr_canonical(addr, 48) && (addr >> 47) == (last >> 47);
}

/* The page size the mode's page tables map an image's segments with. */
static uint64_t mapping_page(const struct kr_vm *vm)
{
	return kr_memmap_mapping_page(vm->cfg.mode);
}

/*
 * The low memory kvmrun maps 1:1 in the paged modes (x86/memmap.c). A
 * segment that asks for other physical pages at those virtual addresses
 * would contradict it.
 */
static uint64_t identity_end(const struct kr_vm *vm)
{
	return kr_memmap_identity_end(vm->cfg.mode, vm->cfg.mem_size);
}

/* The mode-specific rules for a segment with p_vaddr != p_paddr. */
static int check_mode_mapping(const struct kr_vm *vm, const struct elf_segment *s)
{
	size_t i = s->index;
	unsigned long long vaddr = s->vaddr, paddr = s->paddr, memsz = s->memsz;

	switch (vm->cfg.mode) {
	case KR_MODE_PAGED32:
		if ((s->vaddr - s->paddr) & (mapping_page(vm) - 1))
			return kr_err("ELF: program header %zu: p_vaddr 0x%llx - p_paddr 0x%llx = "
				      "0x%llx is not a multiple of 4 MiB, the page size of paged32 "
				      "mode",
				      i, vaddr, paddr, (unsigned long long)(s->vaddr - s->paddr));
		if (!kr_range_ok(s->vaddr, s->memsz, KR_LIMIT_4G))
			return kr_err("ELF: program header %zu: p_vaddr 0x%llx + p_memsz 0x%llx "
				      "runs past 4 GiB, the end of 32-bit virtual addresses",
				      i, vaddr, memsz);
		return 0;
	case KR_MODE_LONG:
		if (!canonical_range(s->vaddr, s->memsz))
			return kr_err("ELF: program header %zu: p_vaddr 0x%llx + p_memsz 0x%llx is "
				      "not canonical (bits 63..47 of every address must be equal)",
				      i, vaddr, memsz);
		return 0;
	case KR_MODE_PROTECTED:
		return kr_err("ELF: program header %zu: p_vaddr 0x%llx differs from p_paddr "
			      "0x%llx, but protected mode has no paging; use paged32 mode or "
			      "link with p_vaddr == p_paddr",
			      i, vaddr, paddr);
	case KR_MODE_REAL:
	default:
		return kr_err("ELF: program header %zu: p_vaddr 0x%llx differs from p_paddr "
			      "0x%llx, which %s mode cannot map",
			      i, vaddr, paddr, kr_mode_name(vm->cfg.mode));
	}
}

/* Rules for every segment with p_vaddr != p_paddr, then the mode's own. */
static int check_mapping(const struct kr_vm *vm, const struct elf_segment *s)
{
	if ((s->vaddr ^ s->paddr) & PAGE_MASK)
		return kr_err("ELF: program header %zu: p_vaddr 0x%llx and p_paddr 0x%llx lie at "
			      "different offsets in a 4 KiB page, so no page mapping joins them",
			      s->index, (unsigned long long)s->vaddr, (unsigned long long)s->paddr);
	if (check_mode_mapping(vm, s) < 0)
		return -1;
	/* Passed the mode's checks, so vaddr + memsz - 1 does not wrap. */
	uint64_t low = identity_end(vm);
	if (s->vaddr < low)
		return kr_err("ELF: program header %zu: p_vaddr [0x%llx, 0x%llx) lies in the "
			      "identity-mapped low memory [0, 0x%llx), but p_paddr 0x%llx differs",
			      s->index, (unsigned long long)s->vaddr,
			      (unsigned long long)(s->vaddr + s->memsz), (unsigned long long)low,
			      (unsigned long long)s->paddr);
	return 0;
}

/* Everything one PT_LOAD must satisfy on its own; `low`: the lowest physical address allowed. */
static int check_segment(struct kr_vm *vm, const struct elf_segment *s, size_t size, uint64_t low)
{
	char what[64];

	if (!kr_range_ok(s->offset, s->filesz, size))
		return kr_err("ELF: program header %zu: p_offset 0x%llx + p_filesz 0x%llx runs "
			      "past the end of the file (0x%zx bytes)",
			      s->index, (unsigned long long)s->offset,
			      (unsigned long long)s->filesz, size);
	if (s->filesz > s->memsz)
		return kr_err("ELF: program header %zu: p_filesz 0x%llx is larger than p_memsz "
			      "0x%llx",
			      s->index, (unsigned long long)s->filesz,
			      (unsigned long long)s->memsz);
	if (s->memsz == 0)
		return 0; /* occupies nothing: nothing more to check */
	if (s->paddr < low)
		return kr_err("ELF: program header %zu: p_paddr 0x%llx is below 0x%llx, the lowest "
			      "address this kind of image may load at",
			      s->index, (unsigned long long)s->paddr, (unsigned long long)low);
	snprintf(what, sizeof(what), "ELF: program header %zu (PT_LOAD)", s->index);
	if (kr_load_check_range(vm, s->paddr, s->memsz, what) < 0)
		return -1;
	if (s->vaddr != s->paddr)
		return check_mapping(vm, s);
	return 0;
}

/*
 * Check every PT_LOAD and collect the non-empty ones into *out (malloc'd,
 * *n entries; the caller frees it).
 */
static int collect_segments(struct kr_vm *vm, const uint8_t *data, size_t size,
			    const struct elf_header *h, uint64_t low, struct elf_segment **out,
			    size_t *n)
{
	struct elf_segment *segs = calloc(h->phnum, sizeof(*segs));
	size_t nloads = 0, nsegs = 0;

	if (!segs)
		return kr_err_sys("ELF: calloc(%u, %zu) for the program headers", h->phnum,
				  sizeof(*segs));
	for (size_t i = 0; i < h->phnum; i++) {
		/* check_header() proved the table lies inside the file. */
		const void *p = kr_span(data, size, h->phoff + i * h->phentsize, h->phentsize);
		struct elf_segment s = {.index = i};
		uint32_t type;

		if (!p) {
			free(segs);
			return kr_err("ELF: program header %zu lies outside the file", i);
		}
		read_phdr(p, h->cls, &type, &s);
		if (type != PT_LOAD)
			continue;
		nloads++;
		if (check_segment(vm, &s, size, low) < 0) {
			free(segs);
			return -1;
		}
		if (s.memsz)
			segs[nsegs++] = s;
	}
	if (nloads == 0) {
		free(segs);
		return kr_err("ELF: none of the %u program headers is PT_LOAD: nothing to load",
			      h->phnum);
	}
	*out = segs;
	*n = nsegs;
	return 0;
}

/* ---- the segments together -------------------------------------------------- */

static int range_cmp(const void *a, const void *b)
{
	const struct elf_range *x = a, *y = b;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return 0;
}

/*
 * No two ranges may overlap. Sorted by start, if any two overlap then some
 * neighbours do (the one right after the earlier of the two starts inside
 * it), so checking neighbours is enough; O(n log n), so that a file with
 * thousands of headers cannot make this slow. The ranges are non-empty.
 */
static int check_overlaps(struct elf_range *r, size_t n, const char *space)
{
	qsort(r, n, sizeof(*r), range_cmp);
	for (size_t i = 1; i < n; i++) {
		if (r[i].first > r[i - 1].last)
			continue;
		/* Name the two in program header order. */
		const struct elf_range *x = &r[i - 1], *y = &r[i];
		if (x->index > y->index) {
			x = &r[i];
			y = &r[i - 1];
		}
		return kr_err("ELF: program headers %zu and %zu overlap in guest %s memory: "
			      "[0x%llx, 0x%llx] and [0x%llx, 0x%llx]",
			      x->index, y->index, space, (unsigned long long)x->first,
			      (unsigned long long)x->last, (unsigned long long)y->first,
			      (unsigned long long)y->last);
	}
	return 0;
}

/* Segments may share neither physical bytes nor virtual addresses. */
static int check_segments_apart(const struct elf_segment *segs, size_t n)
{
	struct elf_range *r;
	int ret;

	if (n < 2)
		return 0;
	r = calloc(n, sizeof(*r));
	if (!r)
		return kr_err_sys("ELF: calloc(%zu, %zu) for the overlap check", n, sizeof(*r));
	/* memsz > 0 and the ranges were checked not to wrap. */
	for (size_t i = 0; i < n; i++)
		r[i] = (struct elf_range){segs[i].paddr, segs[i].paddr + segs[i].memsz - 1,
					  segs[i].index};
	ret = check_overlaps(r, n, "physical");
	for (size_t i = 0; ret == 0 && i < n; i++)
		r[i] = (struct elf_range){segs[i].vaddr, segs[i].vaddr + segs[i].memsz - 1,
					  segs[i].index};
	if (ret == 0)
		ret = check_overlaps(r, n, "virtual");
	free(r);
	return ret;
}

/*
 * Do two non-empty mappings touch a common page of `page` bytes? Compared as
 * page numbers of the first and last byte, so that no end can wrap.
 */
static bool share_page(const struct kr_mapping *a, const struct kr_mapping *b, uint64_t page)
{
	uint64_t a_first = a->gva / page, a_last = (a->gva + (a->size - 1)) / page;
	uint64_t b_first = b->gva / page, b_last = (b->gva + (b->size - 1)) / page;
	return a_first <= b_last && b_first <= a_last;
}

/*
 * Two mappings may share a virtual page (a linker packs .text's tail and
 * .data's head into one) only if they send it to the same physical page;
 * else the page tables could honour only one of them. In paged32 mode a page
 * is 4 MiB, so segments far apart can still collide.
 */
static int check_shared_pages(const struct kr_image *img, const struct kr_mapping *m,
			      const struct elf_segment *s, uint64_t page)
{
	for (size_t i = 0; i < img->nmappings; i++) {
		const struct kr_mapping *o = &img->mappings[i];
		if (share_page(o, m, page) && o->gva - o->gpa != m->gva - m->gpa)
			return kr_err(
			    "ELF: program header %zu: its mapping at virtual 0x%llx "
			    "(0x%llx bytes) shares a 0x%llx-byte page with the mapping at "
			    "0x%llx but maps it to other physical memory",
			    s->index, (unsigned long long)m->gva, (unsigned long long)m->size,
			    (unsigned long long)page, (unsigned long long)o->gva);
	}
	return 0;
}

/* The whole pages a segment occupies, with its permissions (PF_R is implied). */
static struct kr_mapping segment_pages(const struct elf_segment *s)
{
	/* memsz is at most the RAM size, so the rounding cannot overflow. */
	return (struct kr_mapping){
	    .gva = s->vaddr & ~PAGE_MASK,
	    .gpa = s->paddr & ~PAGE_MASK,
	    .size = ((s->vaddr & PAGE_MASK) + s->memsz + PAGE_MASK) & ~PAGE_MASK,
	    .flags = ((s->flags & PF_W) ? KR_MAP_WRITE : 0) | ((s->flags & PF_X) ? KR_MAP_EXEC : 0),
	};
}

/*
 * A page-granular mapping for each segment that is not identity-mapped, and
 * the pages and permissions of each that is: the page tables honour both.
 */
static int record_mappings(const struct kr_vm *vm, const struct elf_segment *segs, size_t n,
			   struct kr_image *img)
{
	for (size_t i = 0; i < n; i++) {
		const struct elf_segment *s = &segs[i];
		struct kr_mapping m = segment_pages(s);
		if (s->vaddr == s->paddr) {
			if (img->nsegments == KR_MAX_SEGMENTS)
				return kr_err("ELF: program header %zu: more than %d identity-mapped "
					      "segments; kvmrun keeps the permissions of at most %d",
					      s->index, KR_MAX_SEGMENTS, KR_MAX_SEGMENTS);
			img->segments[img->nsegments++] = m;
			continue;
		}
		if (img->nmappings == KR_MAX_MAPPINGS)
			return kr_err("ELF: program header %zu: more than %d segments have p_vaddr "
				      "!= p_paddr; kvmrun maps at most %d",
				      s->index, KR_MAX_MAPPINGS, KR_MAX_MAPPINGS);
		if (check_shared_pages(img, &m, s, mapping_page(vm)) < 0)
			return -1;
		img->mappings[img->nmappings++] = m;
	}
	return 0;
}

/* The first instruction must be in an executable segment, by virtual address. */
static int check_entry(const struct elf_segment *segs, size_t n, uint64_t entry, const char *source)
{
	const struct elf_segment *inside = NULL;

	for (size_t i = 0; i < n; i++) {
		const struct elf_segment *s = &segs[i];
		if (entry >= s->vaddr && entry - s->vaddr < s->memsz) {
			if (s->flags & PF_X)
				return 0;
			inside = s;
		}
	}
	if (inside)
		return kr_err("ELF: entry point 0x%llx (%s) lies in program header %zu, which is "
			      "not executable (no PF_X)",
			      (unsigned long long)entry, source, inside->index);
	return kr_err("ELF: entry point 0x%llx (%s) is not inside any PT_LOAD segment",
		      (unsigned long long)entry, source);
}

/* Copy the file bytes of each segment and zero its bss. Everything is checked. */
static int copy_segments(struct kr_vm *vm, const uint8_t *data, size_t size,
			 const struct elf_segment *segs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct elf_segment *s = &segs[i];
		uint8_t *dst = kr_gpa_ptr(vm, s->paddr, s->memsz);
		const void *src = kr_span(data, size, s->offset, s->filesz);
		if (!dst)
			return kr_err_context("ELF: program header %zu", s->index);
		if (s->filesz)
			memcpy(dst, src, (size_t)s->filesz);
		memset(dst + s->filesz, 0, (size_t)(s->memsz - s->filesz));
	}
	return 0;
}

/* The guest physical span of all segments (n > 0). */
static void image_span(const struct elf_segment *segs, size_t n, struct kr_image *img)
{
	img->start = UINT64_MAX;
	img->end = 0;
	for (size_t i = 0; i < n; i++) {
		if (segs[i].paddr < img->start)
			img->start = segs[i].paddr;
		if (segs[i].paddr + segs[i].memsz > img->end)
			img->end = segs[i].paddr + segs[i].memsz;
	}
}

int kr_load_elf(struct kr_vm *vm, const uint8_t *data, size_t size,
		const struct kr_load_options *opt, struct kr_image *img)
{
	return kr_load_elf_above(vm, data, size, opt, 0, img);
}

int kr_load_elf_above(struct kr_vm *vm, const uint8_t *data, size_t size,
		      const struct kr_load_options *opt, uint64_t low, struct kr_image *img)
{
	struct elf_header h = {0}; /* set by read_header(); quiets -Wmaybe-uninitialized */
	struct elf_segment *segs = NULL;
	struct kr_image out = {.is_elf = true};
	size_t n = 0;
	int cls = 0;

	if (check_ident(data, size, &cls) < 0 || check_class_for_mode(vm, cls) < 0)
		return -1;
	if (opt->has_load_addr)
		return kr_err("ELF: a load address (kr_load_options.load_addr) is for raw images; "
			      "an ELF's program headers say where each segment goes");
	if (read_header(data, size, cls, &h) < 0 || check_header(&h, size) < 0 ||
	    collect_segments(vm, data, size, &h, low, &segs, &n) < 0)
		return -1;

	out.elf_class = cls;
	out.entry = opt->has_entry ? opt->entry : h.entry;
	int ret = check_segments_apart(segs, n);
	if (ret == 0)
		ret = check_entry(segs, n, out.entry, opt->has_entry ? "the entry override (kr_load_options.entry)" : "e_entry");
	if (ret == 0)
		ret = record_mappings(vm, segs, n, &out);
	/* Only now, with every check passed, touch guest memory. */
	if (ret == 0)
		ret = copy_segments(vm, data, size, segs, n);
	if (ret == 0) {
		image_span(segs, n, &out);
		*img = out;
		/* For kr_vm_call: the names of a 64-bit guest's functions. */
		if (cls == ELFCLASS64)
			kr_symbols_load(vm, data, size);
	}
	free(segs);
	return ret;
}
