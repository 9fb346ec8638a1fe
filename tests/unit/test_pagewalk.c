/* SPDX-License-Identifier: MIT */
/*
 * test_pagewalk.c - the software page walker on tables written into a fake
 * VM's RAM: kvmrun's own builder, hand-written tables for every mode and
 * page size, and hostile ones.
 */
#include <asm/processor-flags.h>
#include <string.h>

#include "unit.h"

#define RAM (8ull << 20)
#define PAGE 0x1000ull
#define ROOT 0x10000ull

/* Entry bits (Intel SDM vol. 3, 4.3-4.5). */
#define E_P (1ull << 0)
#define E_W (1ull << 1)
#define E_U (1ull << 2)
#define E_PS (1ull << 7)
#define E_PAT_LARGE (1ull << 12) /* PAT in a large-page entry: an attribute, not an address bit */
#define E_XD (1ull << 63)
#define E_ALL (E_P | E_W | E_U)

#define NOT_PRESENT "not present"
#define RESERVED "reserved bit set"
#define NON_CANONICAL "non-canonical address"
#define OUTSIDE "table outside guest memory"

static struct kvm_sregs sregs_for(enum kr_paging paging, uint64_t cr3, bool nxe)
{
	struct kvm_sregs s = {.cr0 = X86_CR0_PE, .cr3 = cr3};
	if (paging != KR_PAGING_NONE)
		s.cr0 |= X86_CR0_PG;
	if (paging == KR_PAGING_32)
		s.cr4 |= X86_CR4_PSE;
	if (paging >= KR_PAGING_PAE)
		s.cr4 |= X86_CR4_PAE;
	if (paging >= KR_PAGING_4LEVEL)
		s.efer |= KR_EFER_LME | KR_EFER_LMA;
	if (paging == KR_PAGING_5LEVEL)
		s.cr4 |= X86_CR4_LA57;
	if (nxe)
		s.efer |= KR_EFER_NXE;
	return s;
}

static void put(struct kr_vm *vm, uint64_t gpa, uint64_t value, unsigned size)
{
	memcpy(kr_gpa_ptr(vm, gpa, size), &value, size);
}

static uint64_t get64(struct kr_vm *vm, uint64_t gpa)
{
	uint64_t v;
	memcpy(&v, kr_gpa_ptr(vm, gpa, 8), 8);
	return v;
}

static struct kr_walk walk(struct kr_vm *vm, const struct kvm_sregs *s, unsigned maxphyaddr,
			   uint64_t gva)
{
	struct kr_walk w;
	memset(&w, 0x5a, sizeof(w)); /* kr_walk must set every field */
	CHECK_OK(kr_walk(vm, s, maxphyaddr, gva, &w));
	return w;
}

/* Walk `gva` with the 8-byte entry at `gpa` replaced by `value`, then put it back. */
static struct kr_walk walk_with(struct kr_vm *vm, const struct kvm_sregs *s, unsigned maxphyaddr,
				uint64_t gva, uint64_t gpa, uint64_t value)
{
	uint64_t old = get64(vm, gpa);
	put(vm, gpa, value, 8);
	struct kr_walk w = walk(vm, s, maxphyaddr, gva);
	put(vm, gpa, old, 8);
	return w;
}

#define CHECK_MAPS(w, gpa_, size_)                                                 \
	do {                                                                       \
		CHECK((w).ok);                                                     \
		CHECK_EQ((w).gpa, gpa_);                                           \
		CHECK_EQ((w).page_size, size_);                                    \
		CHECK((w).fail_reason == NULL);                                    \
	} while (0)

#define CHECK_PERMS(w, writable_, user_, nx_)                                      \
	do {                                                                       \
		CHECK_EQ((w).writable, writable_);                                 \
		CHECK_EQ((w).user, user_);                                         \
		CHECK_EQ((w).nx, nx_);                                             \
	} while (0)

#define CHECK_STOPS(w, level, reason)                                              \
	do {                                                                       \
		CHECK(!(w).ok);                                                    \
		CHECK_EQ((w).fail_level, level);                                   \
		if (!(w).fail_reason || strcmp((w).fail_reason, reason) != 0)      \
			unit_fail(__FILE__, __LINE__, "fail_reason \"%s\", want \"%s\"", \
				  (w).fail_reason ? (w).fail_reason : "(null)", reason); \
	} while (0)

/* Where chain() puts the entry of `level` for `va`: one table page per level below `root`. */
static uint64_t chain_entry(uint64_t root, int top, int level, uint64_t va)
{
	return root + (uint64_t)(top - level) * PAGE + ((va >> (12 + 9 * (level - 1))) & 511) * 8;
}

/*
 * Hand-write the 8-byte entries that map `va` from level `top` down to
 * `leaf`: bits[i] are the flags of the i-th entry from the top; each points
 * at the next table, the leaf at `page`.
 */
static void chain(struct kr_vm *vm, int top, int leaf, uint64_t root, uint64_t va, uint64_t page,
		  const uint64_t *bits)
{
	for (int level = top; level >= leaf; level--) {
		uint64_t next = level == leaf ? page : root + (uint64_t)(top - level + 1) * PAGE;
		put(vm, chain_entry(root, top, level, va), next | bits[top - level], 8);
	}
}

/* Every entry present, writable and user. */
static const uint64_t all_allowed[KR_WALK_MAX_LEVELS] = {E_ALL, E_ALL, E_ALL, E_ALL, E_ALL};

#define PAGE_AT 0x456000ull /* where the hand-written chains lead */

/* A fresh VM whose `top`-level tables at ROOT map `va` to PAGE_AT; *s walks them (NXE on). */
static struct kr_vm *vm_with_chain(int top, uint64_t va, struct kvm_sregs *s)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, RAM);
	chain(vm, top, 1, ROOT, va, PAGE_AT, all_allowed);
	*s = sregs_for(top == 5 ? KR_PAGING_5LEVEL : KR_PAGING_4LEVEL, ROOT, true);
	return vm;
}

/*
 * Walk [va, va + len) page by page: each page must map to gpa + the same
 * offset, supervisor-only like all of kvmrun's own tables. Prints the first
 * page that does not.
 */
static bool maps_range(struct kr_vm *vm, const struct kvm_sregs *s, uint64_t va, uint64_t gpa,
		       uint64_t len, uint64_t page_size, bool writable, bool nx)
{
	for (uint64_t off = 0x123; off < len; off += PAGE) {
		struct kr_walk w = walk(vm, s, 0, va + off);
		if (!w.ok || w.gpa != gpa + off || w.page_size != page_size ||
		    w.writable != writable || w.user || w.nx != nx) {
			printf("    va 0x%llx: ok %d gpa 0x%llx size 0x%llx writable %d user %d "
			       "nx %d (%s)\n",
			       (unsigned long long)(va + off), w.ok, (unsigned long long)w.gpa,
			       (unsigned long long)w.page_size, w.writable, w.user, w.nx,
			       w.ok ? "mapped" : w.fail_reason);
			return false;
		}
	}
	return true;
}

/* kvmrun's special registers for `mode` with its tables at cr3 (NX on). */
static struct kvm_sregs kvmrun_sregs(enum kr_mode mode, uint64_t cr3)
{
	struct kr_mode_setup setup = {.cr3 = cr3, .nx = true};
	struct kvm_sregs s;
	memset(&s, 0, sizeof(s));
	kr_sregs_for_mode(mode, &setup, &s);
	return s;
}

/* ---- the walker agrees with kvmrun's page-table builder ---------------- */

/* A fresh VM and a builder taking its tables from [ROOT, 0x80000); NX in long mode. */
static struct kr_vm *vm_with_builder(enum kr_mode mode, struct kr_pt_builder *b)
{
	struct kr_vm *vm = unit_vm_new(mode, RAM);
	CHECK_OK(kr_pt_init(b, vm->ram, RAM, ROOT, 0x80000, mode == KR_MODE_LONG));
	return vm;
}

UNIT_TEST(walk_builder_identity_2m)
{
	struct kr_pt_builder b;
	struct kr_vm *vm = vm_with_builder(KR_MODE_LONG, &b);
	CHECK_OK(kr_pt64_map(&b, 0, 0, RAM, KR_MAP_WRITE | KR_MAP_EXEC));
	struct kvm_sregs s = kvmrun_sregs(KR_MODE_LONG, b.root);
	CHECK(maps_range(vm, &s, 0, 0, RAM, 0x200000, true, false));
	struct kr_walk w = walk(vm, &s, 0, 0x1234);
	CHECK_EQ(w.paging, KR_PAGING_4LEVEL);
	CHECK_EQ(w.nsteps, 3); /* PML4, PDPT, PD */
	CHECK_EQ(w.steps[0].entry_gpa, b.root);
	w = walk(vm, &s, 0, RAM);
	CHECK_STOPS(w, 2, NOT_PRESENT);
	kr_vm_destroy(vm);
}

UNIT_TEST(walk_builder_higher_half_4k)
{
	uint64_t hh = 0xffffffff80100000ull;
	struct kr_pt_builder b;
	struct kr_vm *vm = vm_with_builder(KR_MODE_LONG, &b);
	CHECK_OK(kr_pt64_map(&b, hh, 0x100000, 0x3000, KR_MAP_EXEC));
	CHECK_OK(kr_pt64_map(&b, hh + 0x3000, 0x200000, 0x1000, KR_MAP_WRITE));
	struct kvm_sregs s = kvmrun_sregs(KR_MODE_LONG, b.root);
	CHECK(maps_range(vm, &s, hh, 0x100000, 0x3000, PAGE, false, false));
	CHECK(maps_range(vm, &s, hh + 0x3000, 0x200000, PAGE, PAGE, true, true));
	struct kr_walk w = walk(vm, &s, 0, hh + 0x4000);
	CHECK_STOPS(w, 1, NOT_PRESENT);
	CHECK_EQ(w.nsteps, 4);
	w = walk(vm, &s, 0, 0xffff800000000000ull);
	CHECK_STOPS(w, 4, NOT_PRESENT);
	kr_vm_destroy(vm);
}

UNIT_TEST(walk_builder_split_large_page)
{
	struct kr_pt_builder b;
	struct kr_vm *vm = vm_with_builder(KR_MODE_LONG, &b);
	CHECK_OK(kr_pt64_map(&b, 0, 0, RAM, KR_MAP_WRITE | KR_MAP_EXEC));
	/* One read-only, no-execute 4 KiB page inside the second 2 MiB page. */
	CHECK_OK(kr_pt64_map(&b, 0x205000, 0x700000, PAGE, 0));
	struct kvm_sregs s = kvmrun_sregs(KR_MODE_LONG, b.root);
	CHECK(maps_range(vm, &s, 0, 0, 0x200000, 0x200000, true, false));
	CHECK(maps_range(vm, &s, 0x200000, 0x200000, 0x5000, PAGE, true, false));
	CHECK(maps_range(vm, &s, 0x205000, 0x700000, PAGE, PAGE, false, true));
	CHECK(maps_range(vm, &s, 0x206000, 0x206000, 0x1fa000, PAGE, true, false));
	CHECK(maps_range(vm, &s, 0x400000, 0x400000, RAM - 0x400000, 0x200000, true, false));
	kr_vm_destroy(vm);
}

UNIT_TEST(walk_builder_32bit_4m)
{
	struct kr_pt_builder b;
	struct kr_vm *vm = vm_with_builder(KR_MODE_PAGED32, &b);
	CHECK_OK(kr_pt32_map(&b, 0, 0, RAM, KR_MAP_WRITE | KR_MAP_EXEC));
	CHECK_OK(kr_pt32_map(&b, 0xc0000000u, 0x400000, 0x400000, KR_MAP_EXEC));
	struct kvm_sregs s = kvmrun_sregs(KR_MODE_PAGED32, b.root);
	CHECK(maps_range(vm, &s, 0, 0, RAM, 0x400000, true, false));
	CHECK(maps_range(vm, &s, 0xc0000000u, 0x400000, 0x400000, 0x400000, false, false));
	struct kr_walk w = walk(vm, &s, 0, RAM);
	CHECK_EQ(w.paging, KR_PAGING_32);
	CHECK_STOPS(w, 2, NOT_PRESENT);
	kr_vm_destroy(vm);
}

/* ---- hand-written tables, one test per mode ------------------------------ */

UNIT_TEST(walk_no_paging)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_PROTECTED, RAM);
	struct kvm_sregs s = sregs_for(KR_PAGING_NONE, 0xdead000, true);
	struct kr_walk w = walk(vm, &s, 0, 0x123456789ull);
	CHECK_EQ(w.paging, KR_PAGING_NONE);
	CHECK_EQ(w.gva, 0x123456789ull);
	CHECK_MAPS(w, 0x23456789, PAGE);
	CHECK_PERMS(w, true, true, false);
	CHECK_EQ(w.nsteps, 0);
	kr_vm_destroy(vm);
}

UNIT_TEST(walk_32bit_4k_and_4m)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_PAGED32, RAM);
	/* PWT and PCD in CR3 are not address bits. */
	struct kvm_sregs s = sregs_for(KR_PAGING_32, ROOT | 0x18, false);
	put(vm, ROOT, 0x11000 | E_ALL, 4);
	put(vm, 0x11000 + 5 * 4, 0x345000 | E_ALL, 4);
	struct kr_walk w = walk(vm, &s, 0, 0x5123);
	CHECK_MAPS(w, 0x345123, PAGE);
	CHECK_PERMS(w, true, true, false);
	CHECK_EQ(w.nsteps, 2);
	CHECK_EQ(w.steps[0].level, 2);
	CHECK_EQ(w.steps[0].entry_gpa, ROOT);
	CHECK_EQ(w.steps[0].entry, 0x11000 | E_ALL);
	CHECK_EQ(w.steps[1].level, 1);
	CHECK_EQ(w.steps[1].entry_gpa, 0x11014);
	CHECK_EQ(w.steps[1].entry, 0x345000 | E_ALL);
	/* Linear addresses are 32 bits: the upper half of gva is dropped. */
	w = walk(vm, &s, 0, 0xffffffff00005123ull);
	CHECK_MAPS(w, 0x345123, PAGE);
	CHECK_EQ(w.gva, 0xffffffff00005123ull);

	/* 4 MiB, read-only, user. */
	put(vm, ROOT + 1 * 4, 0xc00000 | E_PS | E_P | E_U, 4);
	w = walk(vm, &s, 0, 0x401234);
	CHECK_MAPS(w, 0xc01234, 0x400000);
	CHECK_PERMS(w, false, true, false);
	CHECK_EQ(w.nsteps, 1);
	/* PSE-36: bits 20:13 are address bits 39:32; bit 21 is reserved. */
	put(vm, ROOT + 2 * 4, 0x400000 | E_PS | E_P | (3u << 13), 4);
	w = walk(vm, &s, 36, 0x800010);
	CHECK_MAPS(w, 0x300400010ull, 0x400000);
	put(vm, ROOT + 3 * 4, 0x400000 | E_PS | E_P | (1u << 17), 4);
	w = walk(vm, &s, 0, 0xc00010);
	CHECK_MAPS(w, 0x1000400010ull, 0x400000);
	w = walk(vm, &s, 36, 0xc00010); /* bit 17 would be address bit 36 */
	CHECK_STOPS(w, 2, RESERVED);
	put(vm, ROOT + 4 * 4, 0x400000 | E_PS | E_P | (1u << 21), 4);
	w = walk(vm, &s, 0, 0x1000000);
	CHECK_STOPS(w, 2, RESERVED);

	/* Without CR4.PSE the PS bit is ignored: 0xc00000 is read as a page table. */
	s.cr4 &= ~(uint64_t)X86_CR4_PSE;
	w = walk(vm, &s, 0, 0x401234);
	CHECK_STOPS(w, 1, OUTSIDE);
	CHECK_EQ(w.nsteps, 1);
	kr_vm_destroy(vm);
}

UNIT_TEST(walk_pae_4k_and_2m)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_PAGED32, RAM);
	/* The PDPT need only be 32-byte aligned; CR3 bits 4:0 are not address bits. */
	uint64_t pdpt = ROOT + 0x20, pd = 0x11000, pt = 0x12000;
	struct kvm_sregs s = sregs_for(KR_PAGING_PAE, pdpt | 0x18, true);
	put(vm, pdpt + 3 * 8, pd | E_P, 8);
	put(vm, pd + 511 * 8, pt | E_ALL, 8);
	put(vm, pt + 511 * 8, 0x7ff000 | E_ALL | E_XD, 8);
	struct kr_walk w = walk(vm, &s, 0, 0xfffff123);
	CHECK_EQ(w.paging, KR_PAGING_PAE);
	CHECK_MAPS(w, 0x7ff123, PAGE);
	CHECK_PERMS(w, true, true, true);
	CHECK_EQ(w.nsteps, 3);
	CHECK_EQ(w.steps[0].level, 3);
	CHECK_EQ(w.steps[0].entry_gpa, pdpt + 3 * 8);

	/* 2 MiB, kernel only; bit 12 (PAT) is not part of the address. */
	put(vm, pd, 0x200000 | E_PS | E_P | E_W | E_PAT_LARGE, 8);
	w = walk(vm, &s, 0, 0xc0012345);
	CHECK_MAPS(w, 0x212345, 0x200000);
	CHECK_PERMS(w, true, false, false);
	CHECK_EQ(w.nsteps, 2);

	/* PDPTEs have no R/W, U/S, PS or XD: those bits are reserved. */
	w = walk_with(vm, &s, 0, 0xfffff123, pdpt + 3 * 8, pd | E_P | E_W);
	CHECK_STOPS(w, 3, RESERVED);
	w = walk_with(vm, &s, 0, 0xfffff123, pdpt + 3 * 8, pd | E_P | E_XD);
	CHECK_STOPS(w, 3, RESERVED);
	/* PAE reserves bits 62:52, which long mode leaves to software. */
	w = walk_with(vm, &s, 0, 0xc0012345, pd, get64(vm, pd) | (1ull << 52));
	CHECK_STOPS(w, 2, RESERVED);
	/* 2 MiB: bits 20:13 reserved. */
	w = walk_with(vm, &s, 0, 0xc0012345, pd, get64(vm, pd) | (1ull << 20));
	CHECK_STOPS(w, 2, RESERVED);
	/* XD without EFER.NXE. */
	s.efer &= ~KR_EFER_NXE;
	w = walk(vm, &s, 0, 0xfffff123);
	CHECK_STOPS(w, 1, RESERVED);
	CHECK_EQ(w.nsteps, 3);
	kr_vm_destroy(vm);
}

UNIT_TEST(walk_4level_all_page_sizes)
{
	struct kvm_sregs s;
	struct kr_vm *vm = vm_with_chain(4, 0x1abc, &s);
	struct kr_walk w = walk(vm, &s, 0, 0x1abc);
	CHECK_MAPS(w, (PAGE_AT | 0xabc), PAGE);
	CHECK_PERMS(w, true, true, false);
	CHECK_EQ(w.nsteps, 4);
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(w.steps[i].level, 4 - i);
		CHECK_EQ(w.steps[i].entry_gpa, chain_entry(ROOT, 4, 4 - i, 0x1abc));
	}
	/* 2 MiB in the same PD, 1 GiB in the same PDPT; PAT (bit 12) is no address bit. */
	put(vm, chain_entry(ROOT, 4, 2, 0x200000), 0x600000 | E_PS | E_ALL | E_PAT_LARGE, 8);
	w = walk(vm, &s, 0, 0x201234);
	CHECK_MAPS(w, 0x601234, 0x200000);
	CHECK_EQ(w.nsteps, 3);
	put(vm, chain_entry(ROOT, 4, 3, 0x40000000), 0xc0000000 | E_PS | E_ALL | E_PAT_LARGE, 8);
	w = walk(vm, &s, 0, 0x40123456);
	CHECK_MAPS(w, 0xc0123456ull, 0x40000000);
	CHECK_EQ(w.nsteps, 2);
	/* The page itself need not be RAM: only tables are read. */
	w = walk_with(vm, &s, 0, 0x1abc, chain_entry(ROOT, 4, 1, 0x1abc), (1ull << 45) | E_ALL);
	CHECK_MAPS(w, (1ull << 45) | 0xabc, PAGE);
	/* Long mode leaves bits 62:52 to software. */
	w = walk_with(vm, &s, 0, 0x1abc, chain_entry(ROOT, 4, 1, 0x1abc),
		      PAGE_AT | E_ALL | (1ull << 62) | (1ull << 52));
	CHECK_MAPS(w, (PAGE_AT | 0xabc), PAGE);
	kr_vm_destroy(vm);
}

UNIT_TEST(walk_5level_4k)
{
	uint64_t va = 1ull << 48 | 2ull << 39 | 3ull << 30 | 4ull << 21 | 5ull << 12 | 0x678;
	struct kvm_sregs s;
	struct kr_vm *vm = vm_with_chain(5, va, &s);
	struct kr_walk w = walk(vm, &s, 0, va);
	CHECK_EQ(w.paging, KR_PAGING_5LEVEL);
	CHECK_MAPS(w, (PAGE_AT | 0x678), PAGE);
	CHECK_EQ(w.nsteps, 5);
	CHECK_EQ(w.steps[0].level, 5);
	CHECK_EQ(w.steps[0].entry_gpa, ROOT + 8);
	CHECK_EQ(w.steps[4].level, 1);
	CHECK_EQ(w.steps[4].entry_gpa, ROOT + 4 * PAGE + 5 * 8);
	/* PS is reserved in PML5Es and PML4Es. */
	w = walk_with(vm, &s, 0, va, chain_entry(ROOT, 5, 5, va), (ROOT + PAGE) | E_ALL | E_PS);
	CHECK_STOPS(w, 5, RESERVED);
	w = walk_with(vm, &s, 0, va, chain_entry(ROOT, 5, 4, va), (ROOT + 2 * PAGE) | E_ALL | E_PS);
	CHECK_STOPS(w, 4, RESERVED);
	/* 57-bit addresses: canonical means bits 63:56 are equal. */
	w = walk(vm, &s, 0, 0x0000800000000000ull);
	CHECK_STOPS(w, 5, NOT_PRESENT);
	w = walk(vm, &s, 0, 0xff00000000000000ull);
	CHECK_STOPS(w, 5, NOT_PRESENT);
	w = walk(vm, &s, 0, 0x0100000000000000ull);
	CHECK_STOPS(w, 0, NON_CANONICAL);
	CHECK_EQ(w.nsteps, 0);
	/* The same address is not canonical with 4 levels. */
	s.cr4 &= ~(uint64_t)X86_CR4_LA57;
	w = walk(vm, &s, 0, va);
	CHECK_STOPS(w, 0, NON_CANONICAL);
	kr_vm_destroy(vm);
}

UNIT_TEST(walk_permissions_combine_over_levels)
{
	static const struct {
		uint64_t bits[4]; /* PML4E, PDPTE, PDE, PTE */
		bool writable, user, nx;
	} cases[] = {
		{{E_ALL, E_ALL, E_ALL, E_ALL}, true, true, false},
		{{E_ALL, E_ALL, E_P | E_U, E_ALL}, false, true, false}, /* read-only PDE */
		{{E_ALL, E_P | E_W, E_ALL, E_ALL}, true, false, false}, /* kernel PDPTE */
		{{E_ALL | E_XD, E_ALL, E_ALL, E_ALL}, true, true, true}, /* XD at the top */
		{{E_ALL, E_ALL, E_ALL, E_ALL | E_XD}, true, true, true},
		{{E_P, E_ALL, E_ALL, E_ALL}, false, false, false},
	};
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, RAM);
	uint64_t va = 0x7f1234567abcull;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t root = ROOT + i * 4 * PAGE;
		chain(vm, 4, 1, root, va, PAGE_AT, cases[i].bits);
		struct kvm_sregs s = sregs_for(KR_PAGING_4LEVEL, root, true);
		struct kr_walk w = walk(vm, &s, 0, va);
		CHECK_MAPS(w, (PAGE_AT | 0xabc), PAGE);
		CHECK_PERMS(w, cases[i].writable, cases[i].user, cases[i].nx);
	}
	kr_vm_destroy(vm);
}

/* ---- failures ----------------------------------------------------------------- */

/* Clearing P in each entry of a good walk stops the walk at that entry's level. */
static void check_not_present_at_each_level(struct kr_vm *vm, const struct kvm_sregs *s,
					    uint64_t va, int top)
{
	struct kr_walk good = walk(vm, s, 0, va);
	CHECK(good.ok);
	CHECK_EQ(good.nsteps, top);
	for (int i = 0; i < good.nsteps; i++) {
		uint8_t *low_byte = kr_gpa_ptr(vm, good.steps[i].entry_gpa, 1);
		*low_byte &= (uint8_t)~E_P;
		struct kr_walk w = walk(vm, s, 0, va);
		CHECK_STOPS(w, top - i, NOT_PRESENT);
		CHECK_EQ(w.nsteps, i + 1);
		CHECK_EQ(w.steps[i].entry, good.steps[i].entry & ~E_P);
		*low_byte |= (uint8_t)E_P;
	}
}

UNIT_TEST(walk_not_present_at_each_level)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, RAM);
	const uint64_t pae[] = {E_P, E_ALL, E_ALL}; /* PDPTEs: P only */

	put(vm, ROOT + 4, 0x11000 | E_ALL, 4);
	put(vm, 0x11000 + 4, 0x22000 | E_ALL, 4);
	struct kvm_sregs s = sregs_for(KR_PAGING_32, ROOT, false);
	check_not_present_at_each_level(vm, &s, 0x401000, 2);

	chain(vm, 3, 1, 0x20000, 0x80201000, 0x22000, pae);
	s = sregs_for(KR_PAGING_PAE, 0x20000, true);
	check_not_present_at_each_level(vm, &s, 0x80201000, 3);

	chain(vm, 4, 1, 0x30000, 0xffff808040201000ull, 0x22000, all_allowed);
	s = sregs_for(KR_PAGING_4LEVEL, 0x30000, true);
	check_not_present_at_each_level(vm, &s, 0xffff808040201000ull, 4);

	chain(vm, 5, 1, 0x40000, 0x00ff808040201000ull, 0x22000, all_allowed);
	s = sregs_for(KR_PAGING_5LEVEL, 0x40000, true);
	check_not_present_at_each_level(vm, &s, 0x00ff808040201000ull, 5);
	kr_vm_destroy(vm);
}

UNIT_TEST(walk_reserved_bits_4level)
{
	uint64_t va = 0x40201abc;
	struct kvm_sregs s;
	struct kr_vm *vm = vm_with_chain(4, va, &s);
	uint64_t pml4e = chain_entry(ROOT, 4, 4, va), pdpte = chain_entry(ROOT, 4, 3, va);
	uint64_t pde = chain_entry(ROOT, 4, 2, va), pte = chain_entry(ROOT, 4, 1, va);

	/* No 512 GiB pages. */
	struct kr_walk w = walk_with(vm, &s, 0, va, pml4e, (ROOT + PAGE) | E_ALL | E_PS);
	CHECK_STOPS(w, 4, RESERVED);
	CHECK_EQ(w.nsteps, 1);

	/* Address bits at and above maxphyaddr, in a page and in a table address. */
	uint64_t high_page = (1ull << 40) | E_ALL;
	w = walk_with(vm, &s, 40, va, pte, high_page);
	CHECK_STOPS(w, 1, RESERVED);
	w = walk_with(vm, &s, 41, va, pte, high_page);
	CHECK_MAPS(w, (1ull << 40) | 0xabc, PAGE);
	w = walk_with(vm, &s, 0, va, pte, high_page); /* 0: 52 bits */
	CHECK(w.ok);
	w = walk_with(vm, &s, 40, va, pdpte, (1ull << 45) | (ROOT + 2 * PAGE) | E_ALL);
	CHECK_STOPS(w, 3, RESERVED);
	w = walk_with(vm, &s, 52, va, pdpte, (1ull << 45) | (ROOT + 2 * PAGE) | E_ALL);
	CHECK_STOPS(w, 2, OUTSIDE);

	/* XD is reserved without EFER.NXE, at any level. */
	struct kvm_sregs no_nxe = sregs_for(KR_PAGING_4LEVEL, ROOT, false);
	w = walk_with(vm, &no_nxe, 0, va, pte, PAGE_AT | E_ALL | E_XD);
	CHECK_STOPS(w, 1, RESERVED);
	w = walk_with(vm, &no_nxe, 0, va, pml4e, (ROOT + PAGE) | E_ALL | E_XD);
	CHECK_STOPS(w, 4, RESERVED);
	w = walk_with(vm, &s, 0, va, pte, PAGE_AT | E_ALL | E_XD);
	CHECK(w.ok && w.nx);

	/* Large pages: 2 MiB bits 20:13 and 1 GiB bits 29:13 are reserved. */
	w = walk_with(vm, &s, 0, va, pde, 0x600000 | E_PS | E_ALL | (1ull << 13));
	CHECK_STOPS(w, 2, RESERVED);
	w = walk_with(vm, &s, 0, va, pde, 0x600000 | E_PS | E_ALL | (1ull << 20));
	CHECK_STOPS(w, 2, RESERVED);
	w = walk_with(vm, &s, 0, va, pdpte, 0x40000000 | E_PS | E_ALL | (1ull << 21));
	CHECK_STOPS(w, 3, RESERVED);
	w = walk_with(vm, &s, 0, va, pdpte, 0x40000000 | E_PS | E_ALL | (1ull << 29));
	CHECK_STOPS(w, 3, RESERVED);
	w = walk_with(vm, &s, 0, va, pdpte, 0x40000000 | E_PS | E_ALL);
	CHECK_MAPS(w, 0x40201abc, 0x40000000);
	kr_vm_destroy(vm);
}

UNIT_TEST(walk_non_canonical_4level)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, RAM);
	struct kvm_sregs s = sregs_for(KR_PAGING_4LEVEL, ROOT, true);
	struct kr_walk w = walk(vm, &s, 0, 0x0000800000000000ull);
	CHECK_STOPS(w, 0, NON_CANONICAL);
	CHECK_EQ(w.nsteps, 0);
	w = walk(vm, &s, 0, 0xfffe800000000000ull);
	CHECK_STOPS(w, 0, NON_CANONICAL);
	w = walk(vm, &s, 0, 0xffff800000000000ull);
	CHECK_STOPS(w, 4, NOT_PRESENT);
	w = walk(vm, &s, 0, 0x00007fffffffffffull);
	CHECK_STOPS(w, 4, NOT_PRESENT);
	kr_vm_destroy(vm);
}

UNIT_TEST(walk_table_outside_guest_memory)
{
	uint64_t va = 0x1000;
	struct kvm_sregs s;
	struct kr_vm *vm = vm_with_chain(4, va, &s);
	struct kr_walk w = walk_with(vm, &s, 0, va, chain_entry(ROOT, 4, 3, va), RAM | E_ALL);
	CHECK_STOPS(w, 2, OUTSIDE);
	CHECK_EQ(w.nsteps, 2);
	w = walk_with(vm, &s, 0, va, chain_entry(ROOT, 4, 2, va), 0xfffffffff000ull | E_ALL);
	CHECK_STOPS(w, 1, OUTSIDE);
	CHECK_EQ(w.nsteps, 3);

	/* CR3 itself outside RAM, in every mode. */
	static const struct {
		enum kr_paging paging;
		uint64_t cr3;
		int top;
	} roots[] = {
		{KR_PAGING_4LEVEL, RAM, 4},
		{KR_PAGING_4LEVEL, ~0ull, 4},
		{KR_PAGING_5LEVEL, 0x000ffffffffff000ull, 5},
		{KR_PAGING_PAE, 0xffffffe0, 3},
		{KR_PAGING_32, 0xfffff000, 2},
	};
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		s = sregs_for(roots[i].paging, roots[i].cr3, true);
		w = walk(vm, &s, 0, 0x1000);
		CHECK_STOPS(w, roots[i].top, OUTSIDE);
		CHECK_EQ(w.nsteps, 0);
	}
	kr_vm_destroy(vm);
}

/* ---- hostile tables ----------------------------------------------------------- */

static const struct paged_mode {
	enum kr_paging paging;
	int top;             /* levels */
	unsigned entry_size; /* bytes */
} paged_modes[] = {
	{KR_PAGING_32, 2, 4},
	{KR_PAGING_PAE, 3, 8},
	{KR_PAGING_4LEVEL, 4, 8},
	{KR_PAGING_5LEVEL, 5, 8},
};
#define NMODES (sizeof(paged_modes) / sizeof(paged_modes[0]))

UNIT_TEST(walk_self_referencing_tables)
{
	static const uint64_t vas[] = {0, 0x12345678, 0xdeadbeef, 0xffffffff80001234ull,
				       0x00007fffffffffffull};
	for (const struct paged_mode *pm = paged_modes; pm < paged_modes + NMODES; pm++) {
		struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, RAM);
		/* Every entry points at the table it is in: the walk goes round and round. */
		for (uint64_t off = 0; off < PAGE; off += pm->entry_size)
			put(vm, ROOT + off, ROOT | E_P, pm->entry_size);
		struct kvm_sregs s = sregs_for(pm->paging, ROOT, true);
		for (size_t i = 0; i < sizeof(vas) / sizeof(vas[0]); i++) {
			struct kr_walk w = walk(vm, &s, 0, vas[i]);
			CHECK_MAPS(w, ROOT | (vas[i] & 0xfff), PAGE);
			CHECK_PERMS(w, false, false, false);
			CHECK_EQ(w.nsteps, pm->top);
			for (int j = 0; j < w.nsteps; j++) /* every read inside the one table */
				CHECK(kr_range_ok(w.steps[j].entry_gpa - ROOT, pm->entry_size,
						  PAGE));
		}
		kr_vm_destroy(vm);
	}
}

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* What any walk must look like, whatever the tables hold. */
static bool walk_is_sane(const struct kr_walk *w, int top, unsigned entry_size)
{
	if (w->nsteps < 0 || w->nsteps > top)
		return false;
	for (int i = 0; i < w->nsteps; i++)
		if (w->steps[i].level != top - i ||
		    !kr_range_ok(w->steps[i].entry_gpa, entry_size, RAM))
			return false;
	if (w->ok) {
		bool known_size = w->page_size == PAGE || w->page_size == 0x200000 ||
				  w->page_size == 0x400000 || w->page_size == 0x40000000;
		return w->nsteps > 0 && !w->fail_reason && known_size &&
		       !((w->gpa ^ w->gva) & (w->page_size - 1));
	}
	if (!w->fail_reason)
		return false;
	if (w->fail_level == 0)
		return w->nsteps == 0 && !strcmp(w->fail_reason, NON_CANONICAL);
	/* The failing entry is the last step, unless it could not be read at all. */
	bool unread = !strcmp(w->fail_reason, OUTSIDE);
	return w->fail_level <= top && w->nsteps == top - w->fail_level + (unread ? 0 : 1);
}

/* Fill the last page of RAM with random entries, most of them present. */
static void fill_hostile_page(struct kr_vm *vm, uint64_t *x)
{
	/* Mostly back into the same page, else anywhere: RAM start, just past it, far off. */
	static const uint64_t targets[] = {RAM - PAGE, RAM - PAGE, RAM - PAGE, 0, RAM,
					   0xfffffffff000ull, 1ull << 40};
	for (uint64_t off = 0; off < PAGE; off += 8) {
		uint64_t r = xorshift(x);
		uint64_t e = targets[r % 7] | (r & 0xffe) | ((r >> 12) & 7 ? E_P : 0);
		if (!((r >> 15) & 3))
			e |= r & 0xfff0000000000000ull; /* XD, ignored or reserved high bits */
		put(vm, RAM - PAGE + off, e, 8);
	}
}

UNIT_TEST(walk_hostile_tables_at_ram_end)
{
	static const unsigned maxphyaddrs[] = {0, 36, 40, 46, 52};
	/* Every outcome must occur, or the tables are not hostile enough. */
	static const char *const outcomes[] = {NOT_PRESENT, RESERVED, NON_CANONICAL, OUTSIDE};
	int seen[5] = {0}, insane = 0;
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, RAM);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int round = 0; round < 8; round++) {
		fill_hostile_page(vm, &x);
		for (const struct paged_mode *pm = paged_modes; pm < paged_modes + NMODES; pm++) {
			for (int i = 0; i < 500; i++) {
				uint64_t r = xorshift(&x);
				/* Half of the addresses canonical for either long mode. */
				uint64_t gva = r & 1 ? (uint64_t)((int64_t)(r << 17) >> 17) : r;
				bool nxe = (r >> 1) & 1;
				struct kvm_sregs s = sregs_for(pm->paging, RAM - PAGE, nxe);
				struct kr_walk w = walk(vm, &s, maxphyaddrs[(r >> 2) % 5], gva);
				seen[4] += w.ok;
				for (int o = 0; o < 4 && !w.ok && w.fail_reason; o++)
					seen[o] += !strcmp(w.fail_reason, outcomes[o]);
				if (!walk_is_sane(&w, pm->top, pm->entry_size) && !insane++)
					printf("    first insane walk: %s gva 0x%llx\n",
					       kr_paging_name(pm->paging), (unsigned long long)gva);
			}
		}
	}
	CHECK_EQ(insane, 0);
	for (int o = 0; o < 5; o++)
		CHECK(seen[o] > 0);
	kr_vm_destroy(vm);
}

/* ---- modes and arguments ------------------------------------------------------ */

UNIT_TEST(walk_paging_mode)
{
	static const struct {
		uint64_t cr0, cr4, efer;
		enum kr_paging want;
	} cases[] = {
		{0, 0, 0, KR_PAGING_NONE},
		{X86_CR0_PE, X86_CR4_PAE | X86_CR4_LA57, KR_EFER_LME | KR_EFER_LMA, KR_PAGING_NONE},
		{X86_CR0_PE | X86_CR0_PG, 0, 0, KR_PAGING_32},
		{X86_CR0_PE | X86_CR0_PG, X86_CR4_PSE, KR_EFER_NXE, KR_PAGING_32},
		{X86_CR0_PE | X86_CR0_PG, X86_CR4_LA57, 0, KR_PAGING_32},
		{X86_CR0_PE | X86_CR0_PG, 0, KR_EFER_LME, KR_PAGING_32}, /* LME needs PAE */
		{X86_CR0_PE | X86_CR0_PG, X86_CR4_PAE, 0, KR_PAGING_PAE},
		{X86_CR0_PE | X86_CR0_PG, X86_CR4_PAE | X86_CR4_LA57, KR_EFER_NXE, KR_PAGING_PAE},
		{X86_CR0_PE | X86_CR0_PG, X86_CR4_PAE, KR_EFER_LME, KR_PAGING_4LEVEL},
		{X86_CR0_PE | X86_CR0_PG, X86_CR4_PAE, KR_EFER_LMA, KR_PAGING_4LEVEL},
		{X86_CR0_PE | X86_CR0_PG, X86_CR4_PAE, KR_EFER_LME | KR_EFER_LMA, KR_PAGING_4LEVEL},
		{X86_CR0_PE | X86_CR0_PG, X86_CR4_PAE | X86_CR4_LA57, KR_EFER_LME | KR_EFER_LMA,
		 KR_PAGING_5LEVEL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kvm_sregs s = {
			.cr0 = cases[i].cr0, .cr4 = cases[i].cr4, .efer = cases[i].efer};
		CHECK_EQ(kr_paging_mode(&s), cases[i].want);
	}
	/* What kvmrun itself sets up for each CPU mode. */
	static const enum kr_paging by_mode[] = {
		[KR_MODE_REAL] = KR_PAGING_NONE,
		[KR_MODE_PROTECTED] = KR_PAGING_NONE,
		[KR_MODE_PAGED32] = KR_PAGING_32,
		[KR_MODE_LONG] = KR_PAGING_4LEVEL,
	};
	for (int mode = KR_MODE_REAL; mode <= KR_MODE_LONG; mode++) {
		struct kvm_sregs s = kvmrun_sregs((enum kr_mode)mode, ROOT);
		CHECK_EQ(kr_paging_mode(&s), by_mode[mode]);
	}
}

UNIT_TEST(walk_paging_names)
{
	CHECK(!strcmp(kr_paging_name(KR_PAGING_NONE), "none"));
	CHECK(!strcmp(kr_paging_name(KR_PAGING_32), "32-bit"));
	CHECK(!strcmp(kr_paging_name(KR_PAGING_PAE), "PAE"));
	CHECK(!strcmp(kr_paging_name(KR_PAGING_4LEVEL), "4-level"));
	CHECK(!strcmp(kr_paging_name(KR_PAGING_5LEVEL), "5-level"));
	CHECK(!strcmp(kr_paging_name((enum kr_paging)99), "unknown"));
}

UNIT_TEST(walk_bad_arguments)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, RAM);
	struct kvm_sregs s = sregs_for(KR_PAGING_4LEVEL, ROOT, true);
	struct kr_walk w;
	CHECK_FAILS_WITH(kr_walk(NULL, &s, 0, 0, &w), "NULL");
	CHECK_FAILS_WITH(kr_walk(vm, NULL, 0, 0, &w), "NULL");
	CHECK_FAILS_WITH(kr_walk(vm, &s, 0, 0, NULL), "NULL");
	kr_vm_destroy(vm);
}

/*
 * Once the vCPU's CPUID is known (vm->cpu), the walker treats as reserved
 * what that CPU lacks, as KVM's walker does: without 1 GiB pages a PDPTE's
 * PS bit is a reserved-bit fault; an AMD CPU reserves bit 8 of a PML4E.
 */
UNIT_TEST(walk_follows_the_vcpu_cpuid)
{
	struct kvm_sregs s;
	struct kr_vm *vm = vm_with_chain(4, 0x1abc, &s);
	uint64_t pdpte = chain_entry(ROOT, 4, 3, 0x40000000);
	uint64_t pml4e = chain_entry(ROOT, 4, 4, 0x1abc);
	put(vm, pdpte, 0xc0000000 | E_PS | E_ALL, 8);

	vm->cpu = (struct kr_guest_cpu){.known = true, .maxphyaddr = 48, .features = KR_X86_CPU_GBPAGES};
	struct kr_walk w = walk(vm, &s, 0, 0x40123456);
	CHECK_MAPS(w, 0xc0123456ull, 0x40000000);
	vm->cpu.features &= ~KR_X86_CPU_GBPAGES;
	w = walk(vm, &s, 0, 0x40123456);
	CHECK(!w.ok);
	CHECK_EQ(w.fail_level, 3);
	CHECK(w.fail_reason && strcmp(w.fail_reason, RESERVED) == 0);

	/* Bit 8 of a PML4E: ignored on Intel, reserved on AMD. */
	uint64_t e = get64(vm, pml4e) | (1ull << 8);
	w = walk_with(vm, &s, 0, 0x1abc, pml4e, e);
	CHECK_MAPS(w, (PAGE_AT | 0xabc), PAGE);
	vm->cpu.features |= KR_X86_CPU_AMD;
	w = walk_with(vm, &s, 0, 0x1abc, pml4e, e);
	CHECK(!w.ok);
	CHECK_EQ(w.fail_level, 4);
	CHECK(w.fail_reason && strcmp(w.fail_reason, RESERVED) == 0);

	/* maxphyaddr 0 means the vCPU's width: bit 40 is reserved with 40 bits. */
	vm->cpu = (struct kr_guest_cpu){.known = true, .maxphyaddr = 40, .features = KR_X86_CPU_GBPAGES};
	w = walk_with(vm, &s, 0, 0x1abc, chain_entry(ROOT, 4, 1, 0x1abc), (1ull << 40) | E_ALL);
	CHECK(!w.ok);
	CHECK(w.fail_reason && strcmp(w.fail_reason, RESERVED) == 0);
	kr_vm_destroy(vm);
}
