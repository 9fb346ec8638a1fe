/* SPDX-License-Identifier: MIT */
/*
 * test_x86_edges.c - special-register checks in the 32-bit paging modes,
 * CR3's flag bits, PSE-36 address bits, descriptors the flat GDT does not
 * exercise, and the page-table builder's area and NX edges. Without KVM.
 */
#include <asm/processor-flags.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define MEM (8u << 20)

/* kvmrun's own registers for `mode`, with the top-level table at cr3. */
static struct kvm_sregs mode_sregs(enum kr_mode mode, uint64_t cr3)
{
	struct kvm_sregs s;
	memset(&s, 0, sizeof(s));
	struct kr_mode_setup ms = {.cr3 = cr3, .gdt_base = 0x10000, .nx = mode == KR_MODE_LONG};
	kr_sregs_for_mode(mode, &ms, &s);
	return s;
}

/* PAE paging without long mode: paged32's registers with CR4.PAE. */
static struct kvm_sregs pae_sregs(uint64_t cr3)
{
	struct kvm_sregs s = mode_sregs(KR_MODE_PAGED32, cr3);
	s.cr4 |= X86_CR4_PAE;
	return s;
}

static void expect_cr3_ok(struct kr_vm *vm, struct kvm_sregs s, const char *what)
{
	if (kr_sregs_check(vm, &s) < 0)
		unit_fail(__FILE__, __LINE__, "%s: cr3=0x%llx refused: %s", what,
			  (unsigned long long)s.cr3, kr_last_error());
}

static void expect_cr3_outside(struct kr_vm *vm, struct kvm_sregs s, const char *what)
{
	if (kr_sregs_check(vm, &s) == 0)
		unit_fail(__FILE__, __LINE__, "%s: cr3=0x%llx accepted", what,
			  (unsigned long long)s.cr3);
	else if (!strstr(kr_last_error(), "outside guest memory"))
		unit_fail(__FILE__, __LINE__, "%s: \"%s\" lacks \"outside guest memory\"", what,
			  kr_last_error());
}

UNIT_TEST(x86_sregs_cr3_in_paged32_and_pae)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_PAGED32, MEM);

	/* 32-bit paging: a 4 KiB directory. Bits 3 and 4 (PWT, PCD) are flags. */
	expect_cr3_ok(vm, mode_sregs(KR_MODE_PAGED32, 0x11000), "paged32");
	expect_cr3_ok(vm, mode_sregs(KR_MODE_PAGED32, MEM - 0x1000), "paged32, last page");
	expect_cr3_ok(vm, mode_sregs(KR_MODE_PAGED32, (MEM - 0x1000) | 0x18), "paged32, PWT|PCD");
	expect_cr3_outside(vm, mode_sregs(KR_MODE_PAGED32, MEM), "paged32, past RAM");
	expect_cr3_outside(vm, mode_sregs(KR_MODE_PAGED32, 0xfffff000), "paged32, at 4 GiB - 4 KiB");

	/*
	 * PAE: the PDPT is four 8-byte entries, 32-byte aligned; CR3 bits 4:0
	 * are ignored. So it may sit in the last 32 bytes of RAM, not page
	 * aligned, and CR3 may point into it.
	 */
	expect_cr3_ok(vm, pae_sregs(0x11000), "PAE");
	expect_cr3_ok(vm, pae_sregs(MEM - 0x20), "PAE, PDPT in the last 32 bytes");
	expect_cr3_ok(vm, pae_sregs(MEM - 0x20 + 0x18), "PAE, CR3 bits 4:0 set");
	expect_cr3_ok(vm, pae_sregs(0x11060), "PAE, PDPT not page aligned");
	expect_cr3_outside(vm, pae_sregs(MEM), "PAE, past RAM");
	expect_cr3_outside(vm, pae_sregs(0xffffffe0), "PAE, at 4 GiB - 32");

	/* Long mode: a 4 KiB PML4; bits 3 and 4 are flags there too. */
	expect_cr3_ok(vm, mode_sregs(KR_MODE_LONG, (MEM - 0x1000) | 0x18), "long, PWT|PCD");
	expect_cr3_outside(vm, mode_sregs(KR_MODE_LONG, MEM), "long, past RAM");

	/* Without paging CR3 means nothing and is not checked. */
	expect_cr3_ok(vm, mode_sregs(KR_MODE_PROTECTED, 0), "protected");
	struct kvm_sregs prot = mode_sregs(KR_MODE_PROTECTED, 0);
	prot.cr3 = 0xfffff000;
	expect_cr3_ok(vm, prot, "protected, cr3 outside RAM");
	kr_vm_destroy(vm);
}

UNIT_TEST(x86_sregs_compatibility_mode_is_fine)
{
	/* Long mode with a 32-bit code segment (CS.L = 0, CS.D = 1): compatibility mode. */
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, MEM);
	struct kvm_sregs s = mode_sregs(KR_MODE_LONG, 0x11000);
	kr_gdt_segment(KVMRUN_SEL_CODE32, &s.cs);
	CHECK(!s.cs.l && s.cs.db);
	CHECK_OK(kr_sregs_check(vm, &s));
	/* 16-bit compatibility mode too (CS.L = 0, CS.D = 0). */
	s.cs.db = 0;
	CHECK_OK(kr_sregs_check(vm, &s));
	/* Only L and D together are reserved. */
	s.cs.l = s.cs.db = 1;
	CHECK_FAILS_WITH(kr_sregs_check(vm, &s), "CS.L and CS.D");
	kr_vm_destroy(vm);
}

/* Walk `va` under 32-bit paging with PSE whose directory entry for it is `pde`. */
static struct kr_walk walk_pde32(struct kr_vm *vm, unsigned maxphyaddr, uint32_t va, uint32_t pde)
{
	struct kvm_sregs s = mode_sregs(KR_MODE_PAGED32, 0x20000);
	memset(vm->ram + 0x20000, 0, 0x1000);
	memcpy(vm->ram + 0x20000 + (va >> 22) * 4, &pde, 4);
	struct kr_walk w;
	CHECK_OK(kr_walk(vm, &s, maxphyaddr, va, &w));
	return w;
}

UNIT_TEST(x86_walk_pse36_address_bits)
{
	/*
	 * A 4 MiB page's PDE keeps physical address bits (M-1):32 in bits
	 * (M-20):13, M = MAXPHYADDR capped at 40; bits 21:(M-19) are reserved.
	 */
	struct kr_vm *vm = unit_vm_new(KR_MODE_PAGED32, MEM);
	const uint32_t va = 0x00c01234, big = 0x00c00000u | 0x83; /* P, W, PS */

	/* M = 40: bit 20 is address bit 39, bit 21 reserved. */
	struct kr_walk w = walk_pde32(vm, 40, va, big | (1u << 20));
	CHECK(w.ok);
	CHECK_EQ(w.gpa, (1ull << 39) | 0x00c01234);
	w = walk_pde32(vm, 40, va, big | (1u << 13));
	CHECK(w.ok);
	CHECK_EQ(w.gpa, (1ull << 32) | 0x00c01234);
	w = walk_pde32(vm, 40, va, big | (1u << 21));
	CHECK(!w.ok && w.fail_level == 2 && strcmp(w.fail_reason, "reserved bit set") == 0);
	/* 52 (and 0, meaning 52) still cap at 40. */
	w = walk_pde32(vm, 0, va, big | (1u << 20));
	CHECK(w.ok);
	CHECK_EQ(w.gpa, (1ull << 39) | 0x00c01234);

	/* M = 36: bit 16 is address bit 35, bit 17 reserved. */
	w = walk_pde32(vm, 36, va, big | (1u << 16));
	CHECK(w.ok);
	CHECK_EQ(w.gpa, (1ull << 35) | 0x00c01234);
	w = walk_pde32(vm, 36, va, big | (1u << 17));
	CHECK(!w.ok && w.fail_level == 2 && strcmp(w.fail_reason, "reserved bit set") == 0);
	kr_vm_destroy(vm);
}

UNIT_TEST(x86_gdt_granularity_and_tss_above_4g)
{
	/* G = 1: the limit is kept in 4 KiB units; 16 MiB - 1 is 0xfff of them. */
	struct kvm_segment seg = {.limit = 0x00ffffff, .type = 0xb, .s = 1, .present = 1,
				  .db = 1, .g = 1};
	CHECK_EQ(kr_gdt_encode(&seg), 0x00c09b0000000fffull);
	seg.g = 0;
	seg.limit = 0xfffff; /* G = 0: in bytes, 20 bits */
	CHECK_EQ(kr_gdt_encode(&seg), 0x004f9b000000ffffull);

	/* The 64-bit TSS descriptor keeps base bits 63:32 in its second half. */
	uint8_t mem[0x2000] = {0};
	const uint64_t tss = 0x123401100ull;
	CHECK_OK(kr_gdt_write(mem, sizeof(mem), 0x1000, tss));
	uint64_t e[KR_GDT_ENTRIES];
	memcpy(e, mem + 0x1000, sizeof(e));
	CHECK_EQ(e[KR_SEL_TSS / 8], 0x67 | (0x401100ull << 16) | (0x89ull << 40) | (0x23ull << 56));
	CHECK_EQ(e[KR_SEL_TSS / 8 + 1], 0x1);
	/* The last byte of the GDT may be the last byte of memory, not one more. */
	CHECK_OK(kr_gdt_write(mem, sizeof(mem), sizeof(mem) - KR_GDT_ENTRIES * 8, tss));
	CHECK_FAILS_WITH(kr_gdt_write(mem, sizeof(mem), sizeof(mem) - KR_GDT_ENTRIES * 8 + 1, tss),
			 "outside");
}

UNIT_TEST(x86_pt_area_partial_page_and_split_nx)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, MEM);
	struct kr_pt_builder b;

	/* An area of 2.5 pages holds 2 tables, not 3: the half page is not a table. */
	CHECK_OK(kr_pt_init(&b, vm->ram, MEM, 0x11000, 0x13800, true));
	CHECK_FAILS_WITH(kr_pt64_map(&b, 0, 0, 0x200000, KR_MAP_WRITE), "no room");
	CHECK_OK(kr_pt_init(&b, vm->ram, MEM, 0x11000, 0x14000, true));
	CHECK_OK(kr_pt64_map(&b, 0, 0, 0x200000, KR_MAP_WRITE));

	/*
	 * Splitting a 2 MiB no-execute page for one 4 KiB mapping keeps the
	 * rest of it no-execute (and read-only stays read-only).
	 */
	CHECK_OK(kr_pt_init(&b, vm->ram, MEM, 0x11000, 0x80000, true));
	CHECK_OK(kr_pt64_map(&b, 0x200000, 0x200000, 0x200000, 0)); /* R, NX */
	CHECK_OK(kr_pt64_map(&b, 0x205000, 0x205000, 0x1000, KR_MAP_EXEC | KR_MAP_WRITE));
	struct kvm_sregs s = mode_sregs(KR_MODE_LONG, b.root);
	struct kr_walk w;
	CHECK_OK(kr_walk(vm, &s, 0, 0x206000, &w));
	CHECK(w.ok && w.nx && !w.writable);
	CHECK_EQ(w.page_size, 0x1000);
	CHECK_OK(kr_walk(vm, &s, 0, 0x205000, &w));
	CHECK(w.ok && !w.nx && w.writable);
	kr_vm_destroy(vm);
}
