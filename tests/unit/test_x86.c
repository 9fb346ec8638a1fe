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
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, MEM);
	struct kvm_sregs s;
	memset(&s, 0, sizeof(s));
	struct kr_mode_setup ms = {.cr3 = 0x11000, .gdt_base = 0x10000, .nx = true};
	kr_sregs_for_mode(KR_MODE_LONG, &ms, &s);
	CHECK_OK(kr_sregs_check(vm, &s)); /* what kvmrun builds is consistent */
	mutate(&s);
	CHECK_FAILS_WITH(kr_sregs_check(vm, &s), needle);
	kr_vm_destroy(vm);
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
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, MEM);
	for (int m = KR_MODE_REAL; m <= KR_MODE_LONG; m++) {
		struct kvm_sregs s;
		memset(&s, 0, sizeof(s));
		struct kr_mode_setup ms = {.cr3 = 0x11000, .gdt_base = 0x10000};
		kr_sregs_for_mode((enum kr_mode)m, &ms, &s);
		CHECK_OK(kr_sregs_check(vm, &s));
	}
	kr_vm_destroy(vm);
}

/* ---- what a paged guest finds mapped (x86/memmap.c) ------------------------------ */

#define RW KR_MAP_WRITE
#define RX KR_MAP_EXEC

/* A present 4 KiB or 2 MiB identity page with exactly these permissions. */
static bool mapped_as(const uint8_t *mem, uint64_t cr3, uint64_t va, bool writable, bool nx,
		      uint64_t page_size)
{
	struct walk w = walk64(mem, cr3, va);
	return w.present && w.gpa == va && w.writable == writable && w.nx == nx &&
	       w.page_size == page_size;
}

/* An ELF-like image: text R+X, rodata R, data+bss RW, identity-mapped at 1 MiB. */
static const struct kr_image sdk_like = {
    .is_elf = true,
    .start = 0x100000,
    .end = 0x103800,
    .nsegments = 3,
    .segments = {{0x100000, 0x100000, 0x1000, RX},
		 {0x101000, 0x101000, 0x1000, 0},
		 {0x102000, 0x102000, 0x2000, RW}},
};

UNIT_TEST(memmap_long_segments_data_and_page0)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, MEM);
	uint64_t cr3 = 0;
	CHECK_OK(kr_page_tables_build(vm, &sdk_like, true, &cr3));
	const uint8_t *m = vm->ram;
	CHECK(!walk64(m, cr3, 0).present);              /* NULL faults */
	CHECK(!walk64(m, cr3, 0xfff).present);
	CHECK(mapped_as(m, cr3, 0x1000, true, true, 0x1000)); /* free low RAM: data */
	CHECK(mapped_as(m, cr3, KR_IDT_GPA, true, false, 0x1000)); /* kvmrun's area */
	CHECK(mapped_as(m, cr3, KR_STUBS_GPA, true, false, 0x1000));
	CHECK(mapped_as(m, cr3, KVMRUN_SYSTEM_AREA_END - 0x1000, true, false, 0x1000));
	CHECK(mapped_as(m, cr3, KVMRUN_SYSTEM_AREA_END, true, true, 0x1000));
	CHECK(mapped_as(m, cr3, 0x100000, false, false, 0x1000)); /* text */
	CHECK(mapped_as(m, cr3, 0x101000, false, true, 0x1000));  /* rodata */
	CHECK(mapped_as(m, cr3, 0x102000, true, true, 0x1000));   /* data */
	CHECK(mapped_as(m, cr3, 0x103000, true, true, 0x1000));   /* bss */
	CHECK(mapped_as(m, cr3, 0x104000, true, true, 0x1000));   /* the heap */
	CHECK(mapped_as(m, cr3, 0x200000, true, true, 0x200000)); /* the rest: 2 MiB pages */
	CHECK(mapped_as(m, cr3, MEM - 0x10, true, true, 0x200000)); /* the stack */
	CHECK(!walk64(m, cr3, MEM).present);
	kr_vm_destroy(vm);
}

UNIT_TEST(memmap_long_map_page0_and_no_nx)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, MEM);
	uint64_t cr3 = 0;
	vm->cfg.map_page0 = true;
	CHECK_OK(kr_page_tables_build(vm, &sdk_like, true, &cr3));
	CHECK(mapped_as(vm->ram, cr3, 0, true, true, 0x1000));
	/* Without NX in the CPU nothing is no-execute; write protection stays. */
	vm->cfg.map_page0 = false;
	CHECK_OK(kr_page_tables_build(vm, &sdk_like, false, &cr3));
	CHECK(!walk64(vm->ram, cr3, 0).present);
	CHECK(mapped_as(vm->ram, cr3, 0x101000, false, false, 0x1000));
	CHECK(mapped_as(vm->ram, cr3, 0x102000, true, false, 0x1000));
	CHECK(mapped_as(vm->ram, cr3, 0x400000, true, false, 0x200000));
	kr_vm_destroy(vm);
}

UNIT_TEST(memmap_long_shared_page_gets_the_union)
{
	/* text ends and data starts in page 0x101000; a higher-half pair does the same */
	static const struct kr_image img = {
	    .is_elf = true,
	    .start = 0x100000,
	    .end = 0x103000,
	    .nsegments = 2,
	    .segments = {{0x100000, 0x100000, 0x2000, RX}, {0x101000, 0x101000, 0x2000, RW}},
	    .nmappings = 2,
	    .mappings = {{0xffffffff80100000ull, 0x100000, 0x2000, RX},
			 {0xffffffff80101000ull, 0x101000, 0x2000, RW}},
	};
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, MEM);
	uint64_t cr3 = 0;
	CHECK_OK(kr_page_tables_build(vm, &img, true, &cr3));
	CHECK(mapped_as(vm->ram, cr3, 0x100000, false, false, 0x1000));
	CHECK(mapped_as(vm->ram, cr3, 0x101000, true, false, 0x1000));
	CHECK(mapped_as(vm->ram, cr3, 0x102000, true, true, 0x1000));
	struct walk w = walk64(vm->ram, cr3, 0xffffffff80101000ull);
	CHECK(w.present && w.writable && !w.nx && w.gpa == 0x101000);
	w = walk64(vm->ram, cr3, 0xffffffff80100000ull);
	CHECK(w.present && !w.writable && !w.nx && w.gpa == 0x100000);
	kr_vm_destroy(vm);
}

UNIT_TEST(memmap_long_raw_image_is_rwx)
{
	static const struct kr_image raw = {.start = 0x100000, .end = 0x101008};
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, MEM);
	uint64_t cr3 = 0;
	CHECK_OK(kr_page_tables_build(vm, &raw, true, &cr3));
	CHECK(mapped_as(vm->ram, cr3, 0x100000, true, false, 0x1000));
	CHECK(mapped_as(vm->ram, cr3, 0x101000, true, false, 0x1000)); /* its last, partial page */
	CHECK(mapped_as(vm->ram, cr3, 0x102000, true, true, 0x1000));
	CHECK(!walk64(vm->ram, cr3, 0).present);
	kr_vm_destroy(vm);
}

static int no_io(struct kr_vm *vm, void *opaque, uint64_t addr, void *data, uint32_t size,
		 bool is_write)
{
	(void)vm, (void)opaque, (void)addr, (void)data, (void)size, (void)is_write;
	return 0;
}

/* Slots as kr_mem_add records them; the builder never touches their memory. */
static void fake_slot(struct kr_vm *vm, int i, uint64_t gpa, uint64_t size, unsigned flags)
{
	vm->slots[i] = (struct kr_slot){.used = true, .flags = flags, .gpa = gpa, .size = size};
}

/* Before kr_vm_destroy, which would munmap the slots' (NULL) host memory. */
static void destroy_with_fake_slots(struct kr_vm *vm)
{
	for (int i = 1; i < KR_MAX_SLOTS; i++)
		if (vm->slots[i].used && !vm->slots[i].host)
			vm->slots[i].used = false;
	kr_vm_destroy(vm);
}

UNIT_TEST(memmap_long_maps_added_slots_and_mmio)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, MEM);
	uint64_t cr3 = 0;
	fake_slot(vm, 1, 0x100000000ull, 0x1000, KR_MEM_READONLY);
	fake_slot(vm, 2, 0x40000000, 0x200000, 0);
	fake_slot(vm, 3, 0x100002000ull, 0x1000, KR_MEM_READONLY);
	fake_slot(vm, 4, 1ull << 47, 0x1000, 0); /* no canonical identity address */
	CHECK_OK(kr_bus_register(vm, KR_SPACE_MMIO, 0xd0000010, 8, no_io, NULL));
	CHECK_OK(kr_bus_register(vm, KR_SPACE_MMIO, 0x100002000ull, 0x1000, no_io, NULL));
	CHECK_OK(kr_bus_register(vm, KR_SPACE_MMIO, 0, 0x10, no_io, NULL)); /* inside RAM */
	CHECK_OK(kr_bus_register(vm, KR_SPACE_MMIO, 0x300000, 0x10, no_io, NULL));
	CHECK_OK(kr_bus_register(vm, KR_SPACE_MMIO, 0xfffffffffffff000ull, 0x800, no_io, NULL));
	CHECK_OK(kr_bus_register(vm, KR_SPACE_PIO, 0x1000, 0x10, no_io, NULL));
	CHECK_OK(kr_page_tables_build(vm, &sdk_like, true, &cr3));
	const uint8_t *m = vm->ram;
	CHECK(mapped_as(m, cr3, 0x100000000ull, false, true, 0x1000)); /* read-only slot */
	CHECK(!walk64(m, cr3, 0x100001000ull).present);
	CHECK(mapped_as(m, cr3, 0x40000000, true, true, 0x200000));     /* RAM-like slot */
	CHECK(mapped_as(m, cr3, 0x100002000ull, true, true, 0x1000));   /* a device over a ROM */
	CHECK(mapped_as(m, cr3, 0xd0000000, true, true, 0x1000));       /* the MMIO page */
	CHECK(!walk64(m, cr3, 0xd0001000).present);
	CHECK(!walk64(m, cr3, 0).present);  /* MMIO inside RAM maps nothing */
	CHECK(mapped_as(m, cr3, 0x200000, true, true, 0x200000)); /* ... nor splits RAM's pages */
	CHECK(!walk64(m, cr3, 1ull << 47).present);
	destroy_with_fake_slots(vm);
}

UNIT_TEST(memmap_long_refuses_what_it_cannot_map)
{
	struct kr_image img = sdk_like;
	img.nmappings = 1;
	img.mappings[0] = (struct kr_mapping){0x0000800000000000ull, 0x100000, 0x1000, RX};
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, MEM);
	uint64_t cr3 = 0;
	CHECK_FAILS_WITH(kr_page_tables_build(vm, &img, true, &cr3),
			 "image mapping at virtual 0x800000000000");
	vm->cfg.mode = KR_MODE_PROTECTED;
	CHECK_FAILS_WITH(kr_page_tables_build(vm, &sdk_like, true, &cr3), "no paging");
	kr_vm_destroy(vm);
}

UNIT_TEST(memmap_paged32_maps_slots_and_mmio_with_4m_pages)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_PAGED32, MEM);
	uint64_t cr3 = 0;
	fake_slot(vm, 1, 0x40000000, 0x1000, KR_MEM_READONLY);
	fake_slot(vm, 2, 0x100000000ull, 0x1000, 0); /* above 4 GiB: no 32-bit address */
	CHECK_OK(kr_bus_register(vm, KR_SPACE_MMIO, 0xd03ff000, 0x2000, no_io, NULL));
	CHECK_OK(kr_bus_register(vm, KR_SPACE_MMIO, 0xfffff000, 0x1000, no_io, NULL));
	CHECK_OK(kr_page_tables_build(vm, &sdk_like, false, &cr3));
	uint32_t pde[1024];
	memcpy(pde, vm->ram + cr3, sizeof(pde));
	CHECK_EQ(pde[0], 0x00000083u); /* page 0 too: 4 MiB pages, RWX */
	CHECK_EQ(pde[1], 0x00400083u);
	CHECK_EQ(pde[2], 0);
	CHECK_EQ(pde[0x40000000u >> 22], 0x40000083u); /* writes to a ROM become MMIO exits */
	CHECK_EQ(pde[0xd0000000u >> 22], 0xd0000083u); /* a range across two 4 MiB pages */
	CHECK_EQ(pde[0xd0400000u >> 22], 0xd0400083u);
	CHECK_EQ(pde[0xd0800000u >> 22], 0);
	CHECK_EQ(pde[1023], 0xffc00083u);
	CHECK_EQ(pde[0x100000000ull >> 22 & 1023], 0x00000083u); /* wraps to 0: untouched */
	destroy_with_fake_slots(vm);
}

/* exception_stubs.S assembles to what the IDT's gates expect (x86/exceptions.c reads the frame). */
UNIT_TEST(exception_stubs_push_the_vector_and_report_on_the_fault_port)
{
	for (unsigned v = 0; v < 32; v++) {
		const uint8_t *p = kr_exception_stubs[v];
		size_t at = 0;
		if (!kr_exception_has_error_code(v)) {
			CHECK(p[0] == 0x6a && p[1] == 0); /* push $0 for the missing error code */
			at = 2;
		}
		const uint8_t want[] = {0x6a, (uint8_t)v, 0x52, /* push $v; push %rdx */
					0x66, 0xba, KVMRUN_FAULT_PORT & 0xff, KVMRUN_FAULT_PORT >> 8,
					0xee, 0xf4, 0xeb, 0xfd}; /* out %al,%dx; hlt; jmp .-1 */
		if (memcmp(p + at, want, sizeof(want)) != 0)
			unit_fail(__FILE__, __LINE__, "the stub of vector %u is not as expected", v);
		for (size_t i = at + sizeof(want); i < KR_EXCEPTION_STUB_SIZE; i++)
			CHECK_EQ(p[i], 0);
	}
	CHECK(kr_exception_has_error_code(14) && kr_exception_has_error_code(8));
	CHECK(!kr_exception_has_error_code(6) && !kr_exception_has_error_code(3));
}

/* The 64-bit TSS holds IST1 and no I/O bitmap, at the offsets the CPU reads. */
UNIT_TEST(exceptions_install_writes_the_tss_and_stubs)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, 2u << 20);
	struct kr_mode_setup ms = {0};
	CHECK_OK(kr_exceptions_install(vm, &ms));
	CHECK_EQ(ms.tss_base, KR_TSS_GPA);
	CHECK_EQ(ms.idt_base, KR_IDT_GPA);
	uint64_t ist1;
	uint16_t iomap;
	memcpy(&ist1, vm->ram + KR_TSS_GPA + 36, 8);
	memcpy(&iomap, vm->ram + KR_TSS_GPA + 102, 2);
	CHECK_EQ(ist1, KR_EXCEPTION_STACK_TOP);
	CHECK_EQ(iomap, 104);
	CHECK(memcmp(vm->ram + KR_STUBS_GPA, kr_exception_stubs, sizeof(kr_exception_stubs)) == 0);
	/* Gate 14 leads to stub 14, through the 64-bit code selector and IST1. */
	uint8_t gate[16];
	memcpy(gate, vm->ram + KR_IDT_GPA + 14 * 16, 16);
	uint64_t handler = KR_STUBS_GPA + 14 * KR_EXCEPTION_STUB_SIZE;
	CHECK_EQ(gate[0] | gate[1] << 8 | (uint64_t)gate[6] << 16 | (uint64_t)gate[7] << 24, handler);
	CHECK_EQ(gate[2], KVMRUN_SEL_CODE64);
	CHECK_EQ(gate[4], 1);
	kr_vm_destroy(vm);
}
