/* SPDX-License-Identifier: MIT */
/*
 * fuzz_elf.c - the ELF loader on hostile files.
 *
 * Input: the file itself, unchanged (so real guest ELFs are the seeds). It is
 * loaded with kr_load_buffer() into a 5 MiB fake VM in long, protected and
 * paged32 mode in turn; the class check turns the wrong ones away quickly.
 * (Without the ELF magic it is loaded as a raw image, which is all checked
 * of it here.) Then once more with a load address, which an ELF must refuse.
 *
 * On success the image must be what the program headers say, read here
 * independently of the loader: every PT_LOAD's bytes at p_paddr and its bss
 * zeroed, the entry in an executable segment, the mappings page-aligned and
 * inside the image, img.end <= RAM, and the page tables kvmrun would build
 * from the mappings must translate the entry and each segment's ends to
 * where the bytes are. On failure guest RAM must be untouched.
 */
#include <elf.h>
#include <string.h>

#include "fuzz_common.h"

#define MEM (5ull << 20) /* not a multiple of 2 or 4 MiB: the identity map rounds up */
#define PAGE 0x1000ull
#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((uint64_t)(a)-1))
#define MAX_SEGS 4096 /* more than a -max_len=65536 file can hold */

/* A PT_LOAD as the oracle reads it. */
struct seg {
	uint64_t offset, filesz, vaddr, paddr, memsz;
	uint32_t flags;
};

static struct seg segs[MAX_SEGS];

/*
 * The PT_LOAD headers with p_memsz > 0, up to `max` of them, into segs[];
 * *all: none was left out. 0 if the header is unreadable.
 */
static size_t read_loads(const uint8_t *d, size_t n, size_t max, bool *all)
{
	struct seg *out = segs;
	uint64_t phoff;
	unsigned phnum, entsize;
	bool is64;

	if (n < EI_NIDENT)
		return 0;
	is64 = d[EI_CLASS] == ELFCLASS64;
	if (is64 && n >= sizeof(Elf64_Ehdr)) {
		Elf64_Ehdr e;
		memcpy(&e, d, sizeof(e));
		phoff = e.e_phoff, phnum = e.e_phnum, entsize = sizeof(Elf64_Phdr);
	} else if (!is64 && n >= sizeof(Elf32_Ehdr)) {
		Elf32_Ehdr e;
		memcpy(&e, d, sizeof(e));
		phoff = e.e_phoff, phnum = e.e_phnum, entsize = sizeof(Elf32_Phdr);
	} else {
		return 0;
	}
	size_t k = 0;
	*all = true;
	for (unsigned i = 0; i < phnum; i++) {
		uint64_t off = phoff + (uint64_t)i * entsize;
		if (off < phoff || off > n || n - off < entsize)
			break;
		struct seg s;
		uint32_t type;
		if (is64) {
			Elf64_Phdr p;
			memcpy(&p, d + off, sizeof(p));
			type = p.p_type;
			s = (struct seg){p.p_offset, p.p_filesz, p.p_vaddr,
					 p.p_paddr,  p.p_memsz,	 p.p_flags};
		} else {
			Elf32_Phdr p;
			memcpy(&p, d + off, sizeof(p));
			type = p.p_type;
			s = (struct seg){p.p_offset, p.p_filesz, p.p_vaddr,
					 p.p_paddr,  p.p_memsz,	 p.p_flags};
		}
		if (type == PT_LOAD && s.memsz) {
			if (k == max) {
				*all = false;
				break;
			}
			out[k++] = s;
		}
	}
	return k;
}

static bool all_zero(const uint8_t *p, uint64_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Where the oracle says `gva` lands: identity or through the segment holding it. */
static bool expected_gpa(size_t n, uint64_t gva, uint64_t *gpa)
{
	for (size_t i = 0; i < n; i++) {
		if (gva >= segs[i].vaddr && gva - segs[i].vaddr < segs[i].memsz) {
			*gpa = segs[i].paddr + (gva - segs[i].vaddr);
			return true;
		}
	}
	return false;
}

/*
 * The tables kvmrun's vCPU set-up would build from img (RAM identity-mapped,
 * then each mapping) in the system area; sregs selects them. false if the
 * builder ran out of table pages, which a hostile image may cause.
 */
static bool build_tables(struct kr_vm *vm, const struct kr_image *img, struct kvm_sregs *sregs,
			 uint64_t *tables_end)
{
	struct kr_pt_builder b;
	bool long_mode = vm->cfg.mode == KR_MODE_LONG;
	FUZZ_CHECK(kr_pt_init(&b, vm->ram, MEM, KVMRUN_SYSTEM_AREA_START + PAGE,
			      KVMRUN_SYSTEM_AREA_END, long_mode) == 0,
		   "kr_pt_init");
	bool ok;
	if (long_mode) {
		ok = kr_pt64_map(&b, 0, 0, ALIGN_UP(MEM, 2ull << 20), KR_MAP_WRITE | KR_MAP_EXEC) ==
		     0;
		for (size_t i = 0; ok && i < img->nmappings; i++) {
			const struct kr_mapping *m = &img->mappings[i];
			ok = kr_pt64_map(&b, m->gva, m->gpa, m->size, m->flags) == 0;
		}
	} else {
		ok = kr_pt32_map(&b, 0, 0, ALIGN_UP(MEM, 4ull << 20), KR_MAP_WRITE) == 0;
		for (size_t i = 0; ok && i < img->nmappings; i++) {
			const struct kr_mapping *m = &img->mappings[i];
			uint64_t off = m->gva & 0x3fffff;
			FUZZ_CHECK(off == (m->gpa & 0x3fffff),
				   "mapping %zu: 0x%llx -> 0x%llx moves "
				   "within a 4 MiB page",
				   i, (unsigned long long)m->gva, (unsigned long long)m->gpa);
			ok = kr_pt32_map(&b, (uint32_t)(m->gva - off), (uint32_t)(m->gpa - off),
					 ALIGN_UP(m->size + off, 4ull << 20), KR_MAP_WRITE) == 0;
		}
	}
	*tables_end = b.next;
	if (!ok)
		return false;
	struct kr_mode_setup ms = {.cr3 = b.root, .gdt_base = KVMRUN_SYSTEM_AREA_START, .nx = true};
	memset(sregs, 0, sizeof(*sregs));
	kr_sregs_for_mode(vm->cfg.mode, &ms, sregs);
	return true;
}

static void check_translates(struct kr_vm *vm, const struct kvm_sregs *sregs, size_t n,
			     uint64_t gva)
{
	uint64_t want;
	struct kr_walk w;
	FUZZ_CHECK(expected_gpa(n, gva, &want), "0x%llx in no segment", (unsigned long long)gva);
	FUZZ_CHECK(kr_walk(vm, sregs, 0, gva, &w) == 0, "kr_walk(0x%llx)", (unsigned long long)gva);
	FUZZ_CHECK(w.ok && w.gpa == want,
		   "the %s-mode page tables send 0x%llx to 0x%llx (%s), the ELF says 0x%llx",
		   kr_mode_name(vm->cfg.mode), (unsigned long long)gva, (unsigned long long)w.gpa,
		   w.ok ? "mapped" : w.fail_reason, (unsigned long long)want);
}

static void check_image(struct kr_vm *vm, const uint8_t *d, size_t n, const struct kr_image *img)
{
	bool all;
	size_t nsegs = read_loads(d, n, MAX_SEGS, &all);
	enum kr_mode mode = vm->cfg.mode;

	FUZZ_CHECK(img->is_elf && img->elf_class == d[EI_CLASS], "class %d", img->elf_class);
	FUZZ_CHECK(img->start < img->end && img->end <= MEM, "image [0x%llx, 0x%llx) in 0x%llx",
		   (unsigned long long)img->start, (unsigned long long)img->end, MEM);
	FUZZ_CHECK(nsegs > 0, "loaded with no non-empty PT_LOAD");

	/* The bytes, from the oracle's own reading of the headers. */
	bool entry_ok = false;
	size_t nmapped = 0;
	for (size_t i = 0; i < nsegs; i++) {
		const struct seg *s = &segs[i];
		FUZZ_CHECK(s->filesz <= s->memsz && s->offset <= n && s->filesz <= n - s->offset,
			   "segment %zu: file bytes [0x%llx, +0x%llx) outside the 0x%zx-byte file",
			   i, (unsigned long long)s->offset, (unsigned long long)s->filesz, n);
		FUZZ_CHECK(s->paddr >= img->start && s->paddr <= img->end &&
			       s->memsz <= img->end - s->paddr,
			   "segment %zu: [0x%llx, +0x%llx) outside the image", i,
			   (unsigned long long)s->paddr, (unsigned long long)s->memsz);
		/* The span [start, end) may straddle it; no segment may. */
		FUZZ_CHECK(s->paddr + s->memsz <= KVMRUN_SYSTEM_AREA_START ||
			       s->paddr >= KVMRUN_SYSTEM_AREA_END,
			   "segment %zu: [0x%llx, +0x%llx) overlaps the system area", i,
			   (unsigned long long)s->paddr, (unsigned long long)s->memsz);
		FUZZ_CHECK(memcmp(vm->ram + s->paddr, d + s->offset, s->filesz) == 0,
			   "segment %zu: bytes at 0x%llx differ from the file", i,
			   (unsigned long long)s->paddr);
		FUZZ_CHECK(all_zero(vm->ram + s->paddr + s->filesz, s->memsz - s->filesz),
			   "segment %zu: bss at 0x%llx not zeroed", i,
			   (unsigned long long)(s->paddr + s->filesz));
		if ((s->flags & PF_X) && img->entry >= s->vaddr && img->entry - s->vaddr < s->memsz)
			entry_ok = true;
		nmapped += s->vaddr != s->paddr;
	}
	FUZZ_CHECK(entry_ok || !all, "entry 0x%llx in no executable segment",
		   (unsigned long long)img->entry);

	/* The mappings: one per segment that is not identity-mapped, page-aligned, in the image. */
	uint64_t low = ALIGN_UP(MEM, mode == KR_MODE_PAGED32 ? 4ull << 20 : 2ull << 20);
	FUZZ_CHECK(img->nmappings <= KR_MAX_MAPPINGS, "%zu mappings", img->nmappings);
	if (all)
		FUZZ_CHECK(img->nmappings == nmapped, "%zu mappings for %zu mapped segments",
			   img->nmappings, nmapped);
	FUZZ_CHECK(mode != KR_MODE_PROTECTED || img->nmappings == 0, "mappings without paging");
	for (size_t i = 0; i < img->nmappings; i++) {
		const struct kr_mapping *m = &img->mappings[i];
		unsigned long long gva = m->gva, gpa = m->gpa, size = m->size;
		FUZZ_CHECK(!((gva | gpa | size) & (PAGE - 1)) && size > 0,
			   "mapping %zu: 0x%llx -> 0x%llx (0x%llx bytes) not page-aligned", i, gva,
			   gpa, size);
		FUZZ_CHECK(gpa >= (img->start & ~(PAGE - 1)) && gpa + size >= gpa &&
			       gpa + size <= ALIGN_UP(img->end, PAGE),
			   "mapping %zu: physical [0x%llx, +0x%llx) outside the image", i, gpa,
			   size);
		FUZZ_CHECK(gva >= low && gva + size - 1 >= gva,
			   "mapping %zu: virtual 0x%llx (+0x%llx) "
			   "in the identity-mapped [0, 0x%llx) or wraps",
			   i, gva, size, (unsigned long long)low);
		if (mode == KR_MODE_LONG)
			FUZZ_CHECK(kr_canonical(gva, 48) && (gva >> 47) == ((gva + size - 1) >> 47),
				   "mapping %zu: 0x%llx (+0x%llx) not canonical", i, gva, size);
		else
			FUZZ_CHECK(gva + size <= (1ull << 32) && !((gva - gpa) & 0x3fffff),
				   "mapping %zu: 0x%llx -> 0x%llx (+0x%llx) unfit for paged32", i,
				   gva, gpa, size);
	}

	/* The tables the vCPU would get take the entry and each segment's ends to its bytes. */
	struct kvm_sregs sregs;
	uint64_t tables_end = KVMRUN_SYSTEM_AREA_START;
	if (all && mode != KR_MODE_PROTECTED && build_tables(vm, img, &sregs, &tables_end)) {
		check_translates(vm, &sregs, nsegs, img->entry);
		for (size_t i = 0; i < nsegs; i++) {
			check_translates(vm, &sregs, nsegs, segs[i].vaddr);
			check_translates(vm, &sregs, nsegs, segs[i].vaddr + segs[i].memsz - 1);
		}
	}
	fuzz_ram_restore(vm, KVMRUN_SYSTEM_AREA_START, tables_end - KVMRUN_SYSTEM_AREA_START);
}

/* A refused image left RAM as it was (checked at each segment's ends: cheap). */
static void check_untouched(struct kr_vm *vm, const uint8_t *d, size_t n)
{
	bool all;
	size_t nsegs = read_loads(d, n, 16, &all);
	for (size_t i = 0; i < nsegs; i++) {
		const struct seg *s = &segs[i];
		uint64_t len = s->memsz < 256 ? s->memsz : 256;
		FUZZ_CHECK(fuzz_ram_untouched(vm, s->paddr, len) &&
			       fuzz_ram_untouched(vm, s->paddr + s->memsz - len, len),
			   "refused image (%s) wrote guest RAM near segment %zu at 0x%llx",
			   kr_last_error(), i, (unsigned long long)s->paddr);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum kr_mode modes[] = {KR_MODE_LONG, KR_MODE_PROTECTED, KR_MODE_PAGED32};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct kr_vm *vm = fuzz_vm(modes[i], MEM);
		struct kr_image img;
		memset(&img, 0, sizeof(img));
		int ret = kr_load_buffer(vm, data, size, NULL, &img);
		fuzz_log("elf %s: %s", kr_mode_name(modes[i]),
			 ret == 0 ? "loaded" : kr_last_error());
		bool is_elf = size >= SELFMAG && memcmp(data, ELFMAG, SELFMAG) == 0;
		if (ret == 0) {
			/* Without the magic it is a raw image: fuzz_raw checks those. */
			FUZZ_CHECK(img.is_elf == is_elf, "magic %d, loaded as ELF %d", is_elf,
				   img.is_elf);
			if (is_elf)
				check_image(vm, data, size, &img);
			fuzz_ram_restore(vm, img.start, img.end - img.start);
		} else {
			FUZZ_CHECK(kr_last_error()[0] != '\0', "failed without a message");
			check_untouched(vm, data, size);
		}
	}

	/* A load address is for raw images: an ELF must refuse one, and write nothing. */
	if (size >= SELFMAG && memcmp(data, ELFMAG, SELFMAG) == 0) {
		struct kr_vm *vm = fuzz_vm(KR_MODE_LONG, MEM);
		struct kr_load_options opt = {.has_load_addr = true, .load_addr = 0x100000};
		struct kr_image img;
		FUZZ_CHECK(kr_load_buffer(vm, data, size, &opt, &img) < 0,
			   "an ELF loaded with a load address");
		check_untouched(vm, data, size);
	}
	return 0;
}
