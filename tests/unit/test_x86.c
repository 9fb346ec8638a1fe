/* SPDX-License-Identifier: MIT */
/* test_x86.c - page-table builder, GDT encoding and per-mode sregs, without KVM. */
#include <asm/processor-flags.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define MEM (8u << 20)
#define AREA_START 0x11000u
#define AREA_END 0x80000u

struct walk {
	bool present, writable, nx;
	uint64_t gpa, page_size;
};

/* A deliberately plain 4-level walk, to check the builder against. */
static struct walk walk64(const uint8_t *mem, uint64_t cr3, uint64_t va)
{
	struct walk w = {.writable = true};
	uint64_t table = cr3;
	for (int level = 3; level >= 0; level--) {
		uint64_t e;
		memcpy(&e, mem + table + ((va >> (12 + 9 * level)) & 511) * 8, 8);
		if (!(e & 1))
			return (struct walk){0};
		w.writable &= (e >> 1) & 1;
		w.nx |= e >> 63;
		uint64_t addr = e & 0x000ffffffffff000ull;
		if (level == 0 || (level == 1 && (e & 0x80))) {
			w.page_size = 1ull << (12 + 9 * level);
			w.gpa = (addr & ~(w.page_size - 1)) | (va & (w.page_size - 1));
			w.present = true;
			return w;
		}
		table = addr;
	}
	return (struct walk){0};
}

static uint8_t *new_mem(void)
{
	uint8_t *m = malloc(MEM);
	memset(m, 0xAA, MEM); /* the builder must zero every table it takes */
	return m;
}

UNIT_TEST(pt64_identity_uses_2m_pages)
{
	uint8_t *mem = new_mem();
	struct kr_pt_builder b;
	CHECK_OK(kr_pt_init(&b, mem, MEM, AREA_START, AREA_END, true));
	CHECK_OK(kr_pt64_map(&b, 0, 0, MEM, KR_MAP_WRITE | KR_MAP_EXEC));
	CHECK_EQ(b.root, AREA_START);
	CHECK_EQ(b.next, AREA_START + 3 * 0x1000); /* PML4, PDPT, one PD */
	for (uint64_t va = 0; va < MEM; va += 0x1ff000) {
		struct walk w = walk64(mem, b.root, va + 0x123);
		CHECK(w.present && w.writable && !w.nx);
		CHECK_EQ(w.gpa, va + 0x123);
		CHECK_EQ(w.page_size, 0x200000);
	}
	CHECK(!walk64(mem, b.root, MEM).present);
	free(mem);
}

UNIT_TEST(pt64_higher_half_and_permissions)
{
	uint8_t *mem = new_mem();
	struct kr_pt_builder b;
	CHECK_OK(kr_pt_init(&b, mem, MEM, AREA_START, AREA_END, true));
	CHECK_OK(kr_pt64_map(&b, 0, 0, MEM, KR_MAP_WRITE | KR_MAP_EXEC));
	uint64_t hh = 0xffffffff80100000ull;
	CHECK_OK(kr_pt64_map(&b, hh, 0x100000, 0x3000, KR_MAP_EXEC));
	CHECK_OK(kr_pt64_map(&b, hh + 0x3000, 0x200000, 0x1000, KR_MAP_WRITE));
	struct walk t = walk64(mem, b.root, hh + 0x2abc);
	CHECK(t.present && !t.writable && !t.nx);
	CHECK_EQ(t.gpa, 0x102abc);
	CHECK_EQ(t.page_size, 0x1000);
	struct walk d = walk64(mem, b.root, hh + 0x3008);
	CHECK(d.present && d.writable && d.nx);
	CHECK_EQ(d.gpa, 0x200008);
	CHECK(!walk64(mem, b.root, hh + 0x4000).present);
	CHECK(!walk64(mem, b.root, hh - 0x1000).present);
	free(mem);
}

UNIT_TEST(pt64_splits_a_large_page_keeping_the_rest)
{
	uint8_t *mem = new_mem();
	struct kr_pt_builder b;
	CHECK_OK(kr_pt_init(&b, mem, MEM, AREA_START, AREA_END, true));
	CHECK_OK(kr_pt64_map(&b, 0, 0, MEM, KR_MAP_WRITE | KR_MAP_EXEC));
	/* Remap one 4 KiB page inside the second 2 MiB page elsewhere, read-only. */
	CHECK_OK(kr_pt64_map(&b, 0x205000, 0x600000, 0x1000, 0));
	struct walk moved = walk64(mem, b.root, 0x205010);
	CHECK(moved.present && !moved.writable && moved.nx);
	CHECK_EQ(moved.gpa, 0x600010);
	for (uint64_t va = 0x200000; va < 0x400000; va += 0x1000) {
		if (va == 0x205000)
			continue;
		struct walk w = walk64(mem, b.root, va);
		CHECK(w.present && w.writable && !w.nx && w.gpa == va && w.page_size == 0x1000);
	}
	CHECK_EQ(walk64(mem, b.root, 0x400000).page_size, 0x200000);
	free(mem);
}

UNIT_TEST(pt64_without_nx_never_sets_it)
{
	uint8_t *mem = new_mem();
	struct kr_pt_builder b;
	CHECK_OK(kr_pt_init(&b, mem, MEM, AREA_START, AREA_END, false));
	CHECK_OK(kr_pt64_map(&b, 0x400000, 0x400000, 0x1000, 0));
	CHECK(!walk64(mem, b.root, 0x400000).nx);
	free(mem);
}

UNIT_TEST(pt64_rejects_bad_requests)
{
	uint8_t *mem = new_mem();
	struct kr_pt_builder b;
	CHECK_FAILS_WITH(kr_pt_init(&b, mem, MEM, AREA_START, MEM + 0x1000, true), "area");
	CHECK_FAILS_WITH(kr_pt_init(&b, mem, MEM, AREA_START + 1, AREA_END, true), "area");
	CHECK_OK(kr_pt_init(&b, mem, MEM, AREA_START, AREA_START + 0x3000, true));
	CHECK_FAILS_WITH(kr_pt64_map(&b, 0x1001, 0x1000, 0x1000, 0), "aligned");
	CHECK_FAILS_WITH(kr_pt64_map(&b, 0xfffffffffffff000ull, 0, 0x2000, 0), "wraps");
	CHECK_FAILS_WITH(kr_pt64_map(&b, 0x0000800000000000ull, 0, 0x1000, 0), "canonical");
	CHECK_FAILS_WITH(kr_pt64_map(&b, 0x00007ffffffff000ull, 0, 0x2000, 0), "canonical");
	/* Three table pages: PML4, PDPT, PD; a PT no longer fits. */
	CHECK_OK(kr_pt64_map(&b, 0, 0, 0x200000, KR_MAP_WRITE));
	CHECK_FAILS_WITH(kr_pt64_map(&b, 0x200000, 0x200000, 0x1000, 0), "no room");
	free(mem);
}

UNIT_TEST(pt32_identity_with_4m_pages)
{
	uint8_t *mem = new_mem();
	struct kr_pt_builder b;
	CHECK_OK(kr_pt_init(&b, mem, MEM, AREA_START, AREA_END, false));
	CHECK_OK(kr_pt32_map(&b, 0, 0, 0x800000, KR_MAP_WRITE));
	CHECK_OK(kr_pt32_map(&b, 0xc0000000u, 0x400000, 0x400000, 0));
	uint32_t pde[1024];
	memcpy(pde, mem + b.root, sizeof(pde));
	CHECK_EQ(pde[0], 0x00000083u);
	CHECK_EQ(pde[1], 0x00400083u);
	CHECK_EQ(pde[0xc0000000u >> 22], 0x00400081u);
	CHECK_EQ(pde[2], 0);
	CHECK_FAILS_WITH(kr_pt32_map(&b, 0x1000, 0, 0x400000, 0), "4 MiB");
	CHECK_FAILS_WITH(kr_pt32_map(&b, 0xffc00000u, 0, 0x800000, 0), "4 GiB");
	free(mem);
}

UNIT_TEST(gdt_descriptors_match_the_manual)
{
	struct kvm_segment code64, data, code32;
	kr_gdt_segment(KVMRUN_SEL_CODE64, &code64);
	kr_gdt_segment(KVMRUN_SEL_DATA, &data);
	kr_gdt_segment(KVMRUN_SEL_CODE32, &code32);
	/* The well-known flat descriptors every OS tutorial writes by hand. */
	CHECK_EQ(kr_gdt_encode(&code64), 0x00af9b000000ffffull);
	CHECK_EQ(kr_gdt_encode(&data), 0x00cf93000000ffffull);
	CHECK_EQ(kr_gdt_encode(&code32), 0x00cf9b000000ffffull);
	struct kvm_segment odd = {.base = 0x12345678, .limit = 0xabcde, .type = 0x2, .s = 1,
				  .dpl = 3, .present = 1};
	CHECK_EQ(kr_gdt_encode(&odd), 0x120af2345678bcdeull);

	uint8_t mem[0x2000] = {0};
	CHECK_OK(kr_gdt_write(mem, sizeof(mem), 0x1000, 0x1100));
	uint64_t e[KR_GDT_ENTRIES];
	memcpy(e, mem + 0x1000, sizeof(e));
	CHECK_EQ(e[0], 0);
	CHECK_EQ(e[KVMRUN_SEL_CODE64 / 8], 0x00af9b000000ffffull);
	/* 64-bit TSS: 16 bytes, base 0x1100, limit 0x67, type 9 (available) */
	CHECK_EQ(e[KR_SEL_TSS / 8], 0x0000890011000067ull);
	CHECK_EQ(e[KR_SEL_TSS / 8 + 1], 0);
	CHECK_FAILS_WITH(kr_gdt_write(mem, sizeof(mem), 0x1ff8, 0x1100), "outside");
}

static struct kvm_sregs sregs_for(enum kr_mode mode)
{
	struct kvm_sregs s;
	memset(&s, 0x5a, sizeof(s)); /* every field the mode needs must be set */
	struct kr_mode_setup ms = {.cr3 = 0x11000, .gdt_base = 0x10000, .nx = true};
	kr_sregs_for_mode(mode, &ms, &s);
	return s;
}

UNIT_TEST(sregs_real_mode)
{
	struct kvm_sregs s = sregs_for(KR_MODE_REAL);
	CHECK_EQ(s.cr0 & (X86_CR0_PE | X86_CR0_PG), 0);
	CHECK_EQ(s.efer, 0);
	CHECK_EQ(s.cs.base, 0);
	CHECK_EQ(s.cs.limit, 0xffff);
	CHECK_EQ(s.cs.db, 0);
	CHECK_EQ(s.ss.selector, 0);
	CHECK_EQ(s.idt.limit, 0x3ff);
	/* Real-mode segments' base must be selector * 16 */
	struct kr_mode_setup ms = {.real_cs = 0xf000};
	kr_sregs_for_mode(KR_MODE_REAL, &ms, &s);
	CHECK_EQ(s.cs.base, 0xf0000);
}

UNIT_TEST(sregs_protected_mode)
{
	struct kvm_sregs s = sregs_for(KR_MODE_PROTECTED);
	CHECK_EQ(s.cr0 & (X86_CR0_PE | X86_CR0_PG), X86_CR0_PE);
	CHECK_EQ(s.cs.selector, KVMRUN_SEL_CODE32);
	CHECK(s.cs.db && !s.cs.l && s.cs.g && s.cs.limit == 0xffffffff);
	CHECK_EQ(s.ds.selector, KVMRUN_SEL_DATA);
	CHECK_EQ(s.gdt.base, 0x10000);
	CHECK_EQ(s.gdt.limit, KR_GDT_ENTRIES * 8 - 1);
	CHECK_EQ(s.efer, 0);
	CHECK(s.cr4 & X86_CR4_OSFXSR);
}

UNIT_TEST(sregs_paged32_mode)
{
	struct kvm_sregs s = sregs_for(KR_MODE_PAGED32);
	CHECK_EQ(s.cr0 & (X86_CR0_PE | X86_CR0_PG), X86_CR0_PE | X86_CR0_PG);
	CHECK(s.cr4 & X86_CR4_PSE);
	CHECK(!(s.cr4 & X86_CR4_PAE));
	CHECK_EQ(s.cr3, 0x11000);
	CHECK_EQ(s.efer, 0);
}

UNIT_TEST(sregs_long_mode_is_consistent)
{
	struct kvm_sregs s = sregs_for(KR_MODE_LONG);
	CHECK_EQ(s.cr0 & (X86_CR0_PE | X86_CR0_PG), X86_CR0_PE | X86_CR0_PG);
	CHECK(s.cr4 & X86_CR4_PAE);
	CHECK_EQ(s.efer & (KR_EFER_LME | KR_EFER_LMA | KR_EFER_NXE),
		 KR_EFER_LME | KR_EFER_LMA | KR_EFER_NXE);
	CHECK(s.cs.l && !s.cs.db);
	CHECK_EQ(s.cs.selector, KVMRUN_SEL_CODE64);
	CHECK_EQ(s.cr3, 0x11000);
	CHECK(s.tr.present && s.tr.type == 0xb);
	CHECK(s.ldt.unusable);
	struct kr_mode_setup no_nx = {.cr3 = 0x11000};
	kr_sregs_for_mode(KR_MODE_LONG, &no_nx, &s);
	CHECK_EQ(s.efer & KR_EFER_NXE, 0);
}

static void check_sregs_refused(void (*mutate)(struct kvm_sregs *), const char *needle)
{
	struct kr_vm *vm = fake_vm_new(KR_MODE_LONG, MEM);
	struct kvm_sregs s;
	memset(&s, 0, sizeof(s));
	struct kr_mode_setup ms = {.cr3 = 0x11000, .gdt_base = 0x10000, .nx = true};
	kr_sregs_for_mode(KR_MODE_LONG, &ms, &s);
	CHECK_OK(kr_sregs_check(vm, &s)); /* what kvmrun builds is consistent */
	mutate(&s);
	CHECK_FAILS_WITH(kr_sregs_check(vm, &s), needle);
	fake_vm_free(vm);
}

static void lme_without_pae(struct kvm_sregs *s) { s->cr4 &= ~(uint64_t)X86_CR4_PAE; }
static void no_lma(struct kvm_sregs *s) { s->efer &= ~KR_EFER_LMA; }
static void lma_without_paging(struct kvm_sregs *s)
{
	s->cr0 &= ~(uint64_t)X86_CR0_PG;
}
static void cs_l_and_d(struct kvm_sregs *s) { s->cs.db = 1; }
static void paging_without_pe(struct kvm_sregs *s) { s->cr0 &= ~(uint64_t)X86_CR0_PE; }
static void cr3_outside(struct kvm_sregs *s) { s->cr3 = MEM; }
static void nw_without_cd(struct kvm_sregs *s) { s->cr0 |= X86_CR0_NW; }
static void cs_l_in_32bit(struct kvm_sregs *s)
{
	s->efer = 0;
	s->cr0 &= ~(uint64_t)X86_CR0_PG;
}

UNIT_TEST(sregs_check_names_the_bits)
{
	check_sregs_refused(lme_without_pae, "EFER.LME with CR0.PG needs CR4.PAE");
	check_sregs_refused(no_lma, "EFER.LMA must be set");
	check_sregs_refused(lma_without_paging, "EFER.LMA must be set");
	check_sregs_refused(cs_l_and_d, "CS.L and CS.D");
	check_sregs_refused(paging_without_pe, "CR0.PG (paging) is set without CR0.PE");
	check_sregs_refused(cr3_outside, "outside guest memory");
	check_sregs_refused(nw_without_cd, "CR0.NW");
	check_sregs_refused(cs_l_in_32bit, "CS.L (64-bit code)");
}

UNIT_TEST(sregs_check_accepts_every_mode)
{
	struct kr_vm *vm = fake_vm_new(KR_MODE_LONG, MEM);
	for (int m = KR_MODE_REAL; m <= KR_MODE_LONG; m++) {
		struct kvm_sregs s;
		memset(&s, 0, sizeof(s));
		struct kr_mode_setup ms = {.cr3 = 0x11000, .gdt_base = 0x10000};
		kr_sregs_for_mode((enum kr_mode)m, &ms, &s);
		CHECK_OK(kr_sregs_check(vm, &s));
	}
	fake_vm_free(vm);
}
