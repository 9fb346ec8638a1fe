/* SPDX-License-Identifier: MIT */
/*
 * test_elf_pairs.c - the ELF loader's overlap check over every pair of
 * segments, whatever their order in the program header table: an overlap
 * between two segments that are not neighbours in the table is refused, and
 * segments that only touch (one ends where the next begins) are not.
 */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define RAM (8ull << 20)

struct seg {
	uint32_t flags;
	uint64_t vaddr, paddr, memsz;
};

/* An ELF64 executable with one PT_LOAD per seg, 16 file bytes each (at most). */
static uint8_t *elf64(uint64_t entry, const struct seg *segs, size_t n, size_t *size)
{
	const size_t payload = sizeof(Elf64_Ehdr) + n * sizeof(Elf64_Phdr);
	*size = payload + 16;
	uint8_t *d = calloc(1, *size);
	if (!d)
		abort();
	Elf64_Ehdr eh = {.e_type = ET_EXEC,
			 .e_machine = EM_X86_64,
			 .e_version = EV_CURRENT,
			 .e_entry = entry,
			 .e_phoff = sizeof(Elf64_Ehdr),
			 .e_ehsize = sizeof(Elf64_Ehdr),
			 .e_phentsize = sizeof(Elf64_Phdr),
			 .e_phnum = (Elf64_Half)n};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(d, &eh, sizeof(eh));
	for (size_t i = 0; i < n; i++) {
		Elf64_Phdr ph = {.p_type = PT_LOAD,
				 .p_flags = segs[i].flags,
				 .p_offset = payload,
				 .p_vaddr = segs[i].vaddr,
				 .p_paddr = segs[i].paddr,
				 .p_filesz = segs[i].memsz < 16 ? segs[i].memsz : 16,
				 .p_memsz = segs[i].memsz};
		memcpy(d + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
	}
	return d;
}

static int load(const struct seg *segs, size_t n, uint64_t entry)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, RAM);
	size_t size;
	uint8_t *d = elf64(entry, segs, n, &size);
	struct kr_image img;
	int ret = kr_load_buffer(vm, d, size, NULL, &img);
	free(d);
	kr_vm_destroy(vm);
	return ret;
}

UNIT_TEST(elf_pairs_overlap_between_non_neighbours)
{
	/* 0 and 2 overlap physically; 1 lies between them in the table, apart from both. */
	const struct seg phys[] = {
	    {PF_R | PF_X, 0x100000, 0x100000, 0x2000},
	    {PF_R, 0x400000, 0x400000, 0x1000},
	    {PF_R, 0x101000, 0x101000, 0x2000},
	};
	CHECK_FAILS_WITH(load(phys, 3, 0x100000),
			 "program headers 0 and 2 overlap in guest physical memory: "
			 "[0x100000, 0x101fff] and [0x101000, 0x102fff]");

	/* The same in virtual memory only: 0 and 3 map over each other in the higher half. */
	const uint64_t high = 0xffffffff80000000ull;
	const struct seg virt[] = {
	    {PF_R | PF_X, high + 0x100000, 0x100000, 0x3000},
	    {PF_R, 0x400000, 0x400000, 0x1000},
	    {PF_R, 0x500000, 0x500000, 0x1000},
	    {PF_R, high + 0x102000, 0x200000, 0x1000},
	};
	CHECK_FAILS_WITH(load(virt, 4, high + 0x100000),
			 "program headers 0 and 3 overlap in guest virtual memory");

	/* One segment inside another, with a third sorted between their starts. */
	const struct seg inside[] = {
	    {PF_R, 0x180000, 0x180000, 0x1000},
	    {PF_R | PF_X, 0x100000, 0x100000, 0x100000},
	    {PF_R, 0x140000, 0x140000, 0x1000},
	};
	CHECK_FAILS_WITH(load(inside, 3, 0x100000), "overlap in guest physical memory");
}

UNIT_TEST(elf_pairs_touching_segments_load)
{
	/* In descending order, each ends exactly where the one before it in the table starts. */
	const struct seg segs[] = {
	    {PF_R | PF_W, 0x300000, 0x300000, 0x1000},
	    {PF_R, 0x200000, 0x200000, 0x100000},
	    {PF_R | PF_X, 0x100000, 0x100000, 0x100000},
	};
	if (load(segs, 3, 0x100000) < 0)
		unit_fail(__FILE__, __LINE__, "touching segments refused: %s", kr_last_error());

	/* One byte of overlap, in either order, is refused. */
	const struct seg one_byte[] = {
	    {PF_R, 0x1fffff, 0x1fffff, 0x1001},
	    {PF_R | PF_X, 0x100000, 0x100000, 0x100000},
	};
	CHECK_FAILS_WITH(load(one_byte, 2, 0x100000),
			 "program headers 0 and 1 overlap in guest physical memory: "
			 "[0x1fffff, 0x200fff] and [0x100000, 0x1fffff]");
}
