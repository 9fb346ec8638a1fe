/* SPDX-License-Identifier: MIT */
/*
 * test_crosscheck.c - KVM_TRANSLATE against the software walker, on a real
 * /dev/kvm: kvmrun's own tables in every mode, extra mappings, and tables the
 * test edits in guest memory (a 1 GiB page, not-present entries, a recursive
 * self-map and aliased tables), each followed by a guest that uses them.
 *
 * The expected counts follow the sampling that src/x86/crosscheck.c
 * documents: every 4 KiB page of leaves up to 4 MiB, 38 addresses per 1 GiB
 * leaf, 4 per contiguous run, and the fixed boundary addresses of the mode.
 */
#include <asm/processor-flags.h>
#include <string.h>
#include <time.h>

#include "kvmtest.h"

#define MEM (32ull << 20)

#define PTE_P 1ull
#define PTE_RW 2ull
#define PTE_PS 0x80ull
#define PTE_AD 0x60ull /* accessed and dirty: the CPU and KVM_TRANSLATE may set them */
#define PTE_ADDR 0x000ffffffffff000ull

static struct kr_vm *cc_start(enum kr_mode mode)
{
	struct kr_vm_config cfg;
	struct kr_vm *vm;
	kr_vm_config_init(&cfg);
	cfg.mode = mode;
	cfg.mem_size = MEM;
	if (kr_vm_create(&vm, &cfg) < 0) {
		unit_fail(__FILE__, __LINE__, "kr_vm_create: %s", kr_last_error());
		return NULL;
	}
	return vm;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* kr_crosscheck_all, timed; unless `expected`, every disagreement is a test failure, described. */
static struct kr_crosscheck_report cc_check(struct kr_vm *vm, uint64_t max_pages, const char *what,
					    bool expected)
{
	struct kr_crosscheck_report r = {0};
	double t0 = now_ms();
	if (kr_crosscheck_all(vm, max_pages, &r) < 0)
		unit_fail(__FILE__, __LINE__, "kr_crosscheck_all: %s", kr_last_error());
	double ms = now_ms() - t0;
	printf("    # %s: %llu checked, %llu mapped, %llu disagreements in %.1f ms "
	       "(%.1f us per address)\n",
	       what, (unsigned long long)r.checked, (unsigned long long)r.mapped,
	       (unsigned long long)r.disagreements, ms, r.checked ? ms * 1e3 / (double)r.checked : 0);
	if (r.disagreements)
		printf("    # first disagreement: %s\n", r.first_bad);
	if (r.disagreements && !expected)
		unit_fail(__FILE__, __LINE__, "%s: %llu disagreements, first: %s", what,
			  (unsigned long long)r.disagreements, r.first_bad);
	return r;
}

static struct kr_crosscheck_report cc_all(struct kr_vm *vm, uint64_t max_pages, const char *what)
{
	return cc_check(vm, max_pages, what, false);
}

static const uint8_t hlt[] = {0xf4};

/* ---- kvmrun's own tables, every mode ------------------------------------------ */

/* A guest that halts at once, then the whole cross-check. */
static struct kr_crosscheck_report hlt_guest(enum kr_mode mode, const char *what)
{
	struct kr_crosscheck_report r = {0};
	struct kr_vm *vm = cc_start(mode);
	if (!vm)
		return r;
	if (kvmtest_load(vm, hlt, sizeof(hlt), NULL, 0)) {
		CHECK_EQ(kvmtest_run(vm).reason, KR_STOP_HLT);
		r = cc_all(vm, 1u << 20, what);
	}
	kr_vm_destroy(vm);
	return r;
}

UNIT_TEST(crosscheck_real_mode)
{
	/* No paging: 16 samples (every 2 MiB), the last byte of RAM and the one after, 0,
	 * 0xfffff000, 0xffffffff; all translate, to themselves. */
	struct kr_crosscheck_report r = hlt_guest(KR_MODE_REAL, "real mode");
	CHECK_EQ(r.checked, 16 + 2 + 3);
	CHECK_EQ(r.mapped, r.checked);
}

UNIT_TEST(crosscheck_protected_mode)
{
	struct kr_vm *vm = cc_start(KR_MODE_PROTECTED);
	int slot;
	if (!vm)
		return;
	/* Two more slots: 4 MiB at 1 GiB (sampled) and one above 4 GiB (no linear address). */
	CHECK_OK(kr_mem_add(vm, 0x40000000, 4u << 20, 0, &slot));
	CHECK_OK(kr_mem_add(vm, 0x100000000ull, 0x1000, 0, &slot));
	if (kvmtest_load(vm, hlt, sizeof(hlt), NULL, 0)) {
		CHECK_EQ(kvmtest_run(vm).reason, KR_STOP_HLT);
		struct kr_crosscheck_report r = cc_all(vm, 1u << 20, "protected mode, 3 slots");
		/* RAM: 16 + 2 as in real mode; the 4 MiB slot: 2 samples, its last byte and the
		 * one after; 3 fixed. */
		CHECK_EQ(r.checked, 16 + 2 + 4 + 3);
		CHECK_EQ(r.mapped, r.checked);
	}
	kr_vm_destroy(vm);
}

UNIT_TEST(crosscheck_paged32_mode)
{
	if (!kvmtest_needs("paged32"))
		return;
	/* 8 PDEs of 4 MiB: 8192 pages; the run [0, 32 MiB) gives 0 and 0x1ffffff (mapped),
	 * 0xffffffff and 0x2000000 (not); then 0 (mapped), 0xfffff000, 0xffffffff. */
	struct kr_crosscheck_report r = hlt_guest(KR_MODE_PAGED32, "paged32, 4 MiB pages");
	CHECK_EQ(r.checked, 8192 + 4 + 3);
	CHECK_EQ(r.mapped, 8192 + 2 + 1);
}

UNIT_TEST(crosscheck_long_mode)
{
	/* 16 PDEs of 2 MiB, the first split to leave page 0 out: 8191 pages; the run's 5
	 * addresses (first and last mapped; the bytes around it and its non-canonical alias
	 * not); 6 fixed (0 not mapped: NULL faults). */
	struct kr_crosscheck_report r = hlt_guest(KR_MODE_LONG, "long, 2 MiB pages");
	CHECK_EQ(r.checked, 8191 + 5 + 6);
	CHECK_EQ(r.mapped, 8191 + 2 + 0);
}

UNIT_TEST(crosscheck_long_mode_higher_half)
{
	/* mov rax,0xffffffff80000000 (sign-extended imm32); jmp rax -- to a hlt at 0x300000 */
	static const uint8_t code[] = {0x48, 0xc7, 0xc0, 0x00, 0x00, 0x00, 0x80, 0xff, 0xe0};
	const struct kr_mapping m = {.gva = 0xffffffff80000000ull, .gpa = 0x300000, .size = 0x4000,
				     .flags = KR_MAP_WRITE | KR_MAP_EXEC};
	struct kr_vm *vm = cc_start(KR_MODE_LONG);
	if (!vm)
		return;
	memcpy(kr_gpa_ptr(vm, 0x300000, 1), hlt, 1);
	if (kvmtest_load(vm, code, sizeof(code), &m, 1)) {
		struct kr_stop s = kvmtest_run(vm);
		CHECK_EQ(s.reason, KR_STOP_HLT);
		CHECK_EQ(s.rip, 0xffffffff80000001ull); /* the CPU went there too */
		struct kr_crosscheck_report r = cc_all(vm, 1u << 20, "long, higher half 4 KiB pages");
		/* 8191 + 4 pages (page 0 unmapped); two runs of 5 addresses (2 mapped each); 6
		 * fixed (none mapped). */
		CHECK_EQ(r.checked, 8191 + 4 + 10 + 6);
		CHECK_EQ(r.mapped, 8191 + 4 + 4 + 0);

		struct kr_translation t;
		struct kr_walk w;
		bool agree = false;
		CHECK_OK(kr_crosscheck(vm, 0xffffffff80002345ull, &t, &w, &agree));
		CHECK(agree && t.valid && w.ok);
		CHECK_EQ(t.gpa, 0x302345);
		CHECK_EQ(w.page_size, 0x1000);
		CHECK_OK(kr_crosscheck(vm, 0xffffffff80004000ull, &t, &w, &agree));
		CHECK(agree && !t.valid && !w.ok);
		CHECK_EQ(w.fail_level, 1);
	}
	kr_vm_destroy(vm);
}

UNIT_TEST(crosscheck_max_pages_bounds_the_work)
{
	struct kr_vm *vm = cc_start(KR_MODE_LONG);
	if (!vm)
		return;
	if (kvmtest_load(vm, hlt, sizeof(hlt), NULL, 0)) {
		CHECK_EQ(kvmtest_run(vm).reason, KR_STOP_HLT);
		/* 100 pages from 0x1000 (page 0 is unmapped), their run (first and last byte and
		 * the byte after it mapped; the byte before it, in page 0, not), 6 fixed (none
		 * mapped). */
		struct kr_crosscheck_report r = cc_all(vm, 100, "long, max_pages 100");
		CHECK_EQ(r.checked, 100 + 5 + 6);
		CHECK_EQ(r.mapped, 100 + 3 + 0);
		r = cc_all(vm, 0, "long, max_pages 0");
		CHECK_EQ(r.checked, 5 + 6);
	}
	kr_vm_destroy(vm);
}

/* ---- single addresses ---------------------------------------------------------- */

UNIT_TEST(crosscheck_single_addresses_long_mode)
{
	struct kr_vm *vm = cc_start(KR_MODE_LONG);
	if (!vm)
		return;
	if (kvmtest_load(vm, hlt, sizeof(hlt), NULL, 0)) {
		CHECK_EQ(kvmtest_run(vm).reason, KR_STOP_HLT);
		struct kr_translation t;
		struct kr_walk w;
		bool agree = false;

		CHECK_OK(kr_crosscheck(vm, 0x1ff1234, &t, &w, &agree));
		CHECK(agree && t.valid && w.ok);
		CHECK_EQ(t.gpa, 0x1ff1234);
		CHECK_EQ(w.gpa, 0x1ff1234);
		CHECK_EQ(w.page_size, 2u << 20);
		CHECK_EQ(w.paging, KR_PAGING_4LEVEL);

		CHECK_OK(kr_crosscheck(vm, 0x2000000, &t, &w, &agree)); /* past RAM: PDE absent */
		CHECK(agree && !t.valid && !w.ok);
		CHECK_EQ(w.fail_level, 2);
		CHECK(w.fail_reason && strcmp(w.fail_reason, "not present") == 0);

		CHECK_OK(kr_crosscheck(vm, 0xffff800000000000ull, &t, &w, &agree));
		CHECK(agree && !t.valid && !w.ok);
		CHECK_EQ(w.fail_level, 4);

		/* Non-canonical: the low 48 bits of each are mapped, yet neither translates. */
		static const uint64_t noncanonical[] = {0x8000000000000000ull, 0x0000800000000000ull,
							0x0001000000001000ull, 0xfff0000000001000ull};
		for (size_t i = 0; i < sizeof(noncanonical) / sizeof(noncanonical[0]); i++) {
			agree = false;
			CHECK_OK(kr_crosscheck(vm, noncanonical[i], &t, &w, &agree));
			CHECK(agree && !t.valid && !w.ok);
			CHECK(w.fail_reason && strcmp(w.fail_reason, "non-canonical address") == 0);
		}

		CHECK_FAILS_WITH(kr_crosscheck(vm, 0, NULL, &w, &agree), "NULL argument");
		CHECK_FAILS_WITH(kr_crosscheck_all(NULL, 1, NULL), "NULL argument");
	}
	kr_vm_destroy(vm);
}

UNIT_TEST(crosscheck_single_addresses_paged32)
{
	if (!kvmtest_needs("paged32"))
		return;
	struct kr_vm *vm = cc_start(KR_MODE_PAGED32);
	if (!vm)
		return;
	if (kvmtest_load(vm, hlt, sizeof(hlt), NULL, 0)) {
		CHECK_EQ(kvmtest_run(vm).reason, KR_STOP_HLT);
		struct kr_translation t;
		struct kr_walk w;
		bool agree = false;
		CHECK_OK(kr_crosscheck(vm, 0x1c23456, &t, &w, &agree));
		CHECK(agree && t.valid && w.ok);
		CHECK_EQ(t.gpa, 0x1c23456);
		CHECK_EQ(w.page_size, 4u << 20);
		CHECK_EQ(w.paging, KR_PAGING_32);
		CHECK_OK(kr_crosscheck(vm, 0x80000000, &t, &w, &agree));
		CHECK(agree && !t.valid && !w.ok);
		CHECK_EQ(w.fail_level, 2);
	}
	kr_vm_destroy(vm);
}

/* ---- tables edited by the test ------------------------------------------------ */

/* The PML4 kvmrun built, as the vCPU has it in CR3. */
static uint64_t *pml4_of(struct kr_vm *vm, uint64_t *cr3)
{
	struct kvm_sregs sregs;
	if (kr_vcpu_get_sregs(vm, &sregs) < 0) {
		unit_fail(__FILE__, __LINE__, "get sregs: %s", kr_last_error());
		return NULL;
	}
	*cr3 = sregs.cr3 & PTE_ADDR;
	uint64_t *pml4 = kr_gpa_ptr(vm, *cr3, 0x1000);
	if (!pml4)
		unit_fail(__FILE__, __LINE__, "PML4 at 0x%llx: %s", (unsigned long long)*cr3,
			  kr_last_error());
	return pml4;
}

/* A zeroed page of guest memory for a table (free RAM: the image is a few bytes at 1 MiB). */
static uint64_t *table_page(struct kr_vm *vm, uint64_t gpa)
{
	uint64_t *t = kr_gpa_ptr(vm, gpa, 0x1000);
	if (t)
		memset(t, 0, 0x1000);
	else
		unit_fail(__FILE__, __LINE__, "table page at 0x%llx: %s", (unsigned long long)gpa,
			  kr_last_error());
	return t;
}

#define GIB (1ull << 30)
#define SLOT1 0x8000000000ull /* PML4[1]: 512 GiB */

UNIT_TEST(crosscheck_1gib_pages_and_absent_entries)
{
	if (!kvmtest_needs("1g-pages"))
		return;
	/* mov rax,cr3; mov cr3,rax (flush the TLB); movabs rax,[SLOT1 + 0x500010]; hlt */
	static const uint8_t code[] = {0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8, 0x48, 0xa1, 0x10,
				       0x00, 0x50, 0x00, 0x80, 0x00, 0x00, 0x00, 0xf4};
	const uint64_t magic = 0x0123456789abcdefull;
	struct kr_vm *vm = cc_start(KR_MODE_LONG);
	if (!vm)
		return;
	/* The counts below include page 0, which kvmrun leaves unmapped by default. */
	vm->cfg.map_page0 = true;
	uint64_t cr3 = 0, *pml4 = NULL, *pdpt = NULL;
	if (kvmtest_load(vm, code, sizeof(code), NULL, 0) && (pml4 = pml4_of(vm, &cr3)) &&
	    (pdpt = table_page(vm, 0x400000))) {
		CHECK_EQ(pml4[1], 0);
		CHECK_EQ(pml4[2], 0);
		pml4[1] = 0x400000 | PTE_P | PTE_RW;
		pml4[2] = 0x400000 | PTE_RW;                /* not present, though it has an address */
		pdpt[0] = 0 | PTE_P | PTE_RW | PTE_PS;      /* SLOT1 + [0, 1 GiB) -> [0, 1 GiB) */
		pdpt[1] = GIB | PTE_P | PTE_PS;             /* -> [1 GiB, 2 GiB): no RAM there */
		pdpt[2] = 2 * GIB | PTE_RW | PTE_PS;        /* not present */
		memcpy(kr_gpa_ptr(vm, 0x500010, 8), &magic, 8);

		struct kr_stop s = kvmtest_run(vm);
		CHECK_EQ(s.reason, KR_STOP_HLT);
		struct kvm_regs regs;
		CHECK_OK(kr_vcpu_get_regs(vm, &regs));
		CHECK_EQ(regs.rax, magic); /* the CPU read through the 1 GiB page */

		struct kr_crosscheck_report r = cc_all(vm, 1u << 20, "long, two 1 GiB pages");
		/* 8192 pages + 2 x 38 samples; runs [0, 32 MiB) and [SLOT1, SLOT1 + 2 GiB)
		 * (5 addresses each, 2 mapped); 6 fixed (1 mapped). */
		CHECK_EQ(r.checked, 8192 + 76 + 10 + 6);
		CHECK_EQ(r.mapped, 8192 + 76 + 4 + 1);

		struct kr_translation t;
		struct kr_walk w;
		bool agree = false;
		CHECK_OK(kr_crosscheck(vm, SLOT1 + 0x3ffff123, &t, &w, &agree));
		CHECK(agree && t.valid && w.ok);
		CHECK_EQ(t.gpa, 0x3ffff123);
		CHECK_EQ(w.page_size, GIB);
		CHECK_OK(kr_crosscheck(vm, SLOT1 + GIB + 0x42, &t, &w, &agree));
		CHECK(agree && t.valid && w.ok);
		CHECK_EQ(t.gpa, GIB + 0x42);
		CHECK_OK(kr_crosscheck(vm, SLOT1 + 2 * GIB, &t, &w, &agree));
		CHECK(agree && !t.valid && !w.ok);
		CHECK_EQ(w.fail_level, 3);
		CHECK_OK(kr_crosscheck(vm, 2 * SLOT1, &t, &w, &agree));
		CHECK(agree && !t.valid && !w.ok);
		CHECK_EQ(w.fail_level, 4);
	}
	kr_vm_destroy(vm);
}

/*
 * The same PDPTE with PS set, on any back end: a 1 GiB page where the vCPU's
 * CPUID offers them, a reserved-bit fault where it does not (kvm_pvm). The
 * walker must follow the CPUID, so both answers agree either way.
 */
UNIT_TEST(crosscheck_1gib_entry_follows_the_cpuid)
{
	struct kr_backend b;
	if (kr_backend_probe(&b) < 0) {
		unit_fail(__FILE__, __LINE__, "kr_backend_probe: %s", kr_last_error());
		return;
	}
	struct kr_vm *vm = cc_start(KR_MODE_LONG);
	if (!vm)
		return;
	uint64_t cr3 = 0, *pml4 = NULL, *pdpt = NULL;
	if (kvmtest_load(vm, hlt, sizeof(hlt), NULL, 0) && (pml4 = pml4_of(vm, &cr3)) &&
	    (pdpt = table_page(vm, 0x400000))) {
		CHECK_EQ(kvmtest_run(vm).reason, KR_STOP_HLT);
		pml4[1] = 0x400000 | PTE_P | PTE_RW;
		pdpt[0] = 0 | PTE_P | PTE_RW | PTE_PS;
		struct kr_translation t;
		struct kr_walk w;
		bool agree = false;
		CHECK_OK(kr_crosscheck(vm, SLOT1 + 0x123456, &t, &w, &agree));
		CHECK(agree);
		CHECK_EQ(w.ok, b.gbpages);
		if (b.gbpages) {
			CHECK_EQ(w.gpa, 0x123456);
			CHECK_EQ(w.page_size, GIB);
		} else {
			CHECK_EQ(w.fail_level, 3);
			CHECK(w.fail_reason && strcmp(w.fail_reason, "reserved bit set") == 0);
		}
		struct kr_crosscheck_report r = cc_all(vm, 1u << 20, "long, a PS PDPTE");
		CHECK_EQ(r.disagreements, 0);
	}
	kr_vm_destroy(vm);
}

/* Virtual address of PML4 slot a, PDPT slot b, PD slot c, PT slot d. */
static uint64_t va4(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	return a << 39 | b << 30 | c << 21 | d << 12;
}

UNIT_TEST(crosscheck_self_map_and_aliased_tables)
{
	/* mov rax,cr3; mov cr3,rax; movabs rax,[va4(3,3,3,3) + 8*3]; hlt: PML4[3] through itself */
	static const uint8_t code[] = {0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8, 0x48, 0xa1, 0x18,
				       0x30, 0x60, 0xc0, 0x80, 0x01, 0x00, 0x00, 0xf4};
	CHECK_EQ(va4(3, 3, 3, 3) + 24, 0x180c0603018ull);
	struct kr_vm *vm = cc_start(KR_MODE_LONG);
	if (!vm)
		return;
	uint64_t cr3 = 0, *pml4 = NULL, *pdpt, *pd, *pt;
	if (kvmtest_load(vm, code, sizeof(code), NULL, 0) && (pml4 = pml4_of(vm, &cr3)) &&
	    (pdpt = table_page(vm, 0x401000)) && (pd = table_page(vm, 0x402000)) &&
	    (pt = table_page(vm, 0x403000))) {
		/* The recursive self-map: PML4[3] points at the PML4. */
		pml4[3] = cr3 | PTE_P | PTE_RW;
		/*
		 * Aliases: all 512 PDPTEs share one PD, whose 512 PDEs share one PT, whose
		 * 512 PTEs map one page: 2^27 virtual pages through 3 tables. Expanding
		 * each table once per level, the cross-check meets 512 leaves here.
		 */
		pml4[4] = 0x401000 | PTE_P | PTE_RW;
		pml4[5] = 0x80000000 | PTE_P | PTE_RW; /* a PDPT where there is no memory */
		for (int i = 0; i < 512; i++) {
			pdpt[i] = 0x402000 | PTE_P | PTE_RW;
			pd[i] = 0x403000 | PTE_P | PTE_RW;
			pt[i] = 0x404000 | PTE_P | PTE_RW;
		}

		struct kr_stop s = kvmtest_run(vm);
		CHECK_EQ(s.reason, KR_STOP_HLT);
		struct kvm_regs regs;
		CHECK_OK(kr_vcpu_get_regs(vm, &regs));
		CHECK_EQ(regs.rax & ~PTE_AD, cr3 | PTE_P | PTE_RW);

		struct kr_crosscheck_report r = cc_all(vm, 1u << 20, "long, self-map and aliases");
		CHECK(r.mapped >= 8192 + 512);
		CHECK(r.checked < 20000); /* bounded: not 2^27 */

		struct kr_translation t;
		struct kr_walk w;
		bool agree = false;
		/* Through the self-map three times: the PDPT kvmrun built, as a 4 KiB page. */
		CHECK_OK(kr_crosscheck(vm, va4(3, 3, 3, 0) + 8, &t, &w, &agree));
		CHECK(agree && t.valid && w.ok);
		CHECK_EQ(w.nsteps, 4);
		CHECK_EQ(t.gpa, (pml4[0] & PTE_ADDR) + 8);
		CHECK_OK(kr_crosscheck(vm, va4(5, 1, 2, 3), &t, &w, &agree));
		CHECK(agree && !t.valid && !w.ok);
		CHECK_EQ(w.fail_level, 3);
		CHECK(w.fail_reason && strcmp(w.fail_reason, "table outside guest memory") == 0);
		/* A far alias, never enumerated, still agrees. */
		CHECK_OK(kr_crosscheck(vm, va4(4, 511, 300, 7) + 5, &t, &w, &agree));
		CHECK(agree && t.valid && w.ok);
		CHECK_EQ(t.gpa, 0x404005);
	}
	kr_vm_destroy(vm);
}

UNIT_TEST(crosscheck_paged32_with_4k_pages)
{
	if (!kvmtest_needs("paged32"))
		return;
	struct kr_vm *vm = cc_start(KR_MODE_PAGED32);
	if (!vm)
		return;
	if (kvmtest_load(vm, hlt, sizeof(hlt), NULL, 0)) {
		struct kvm_sregs sregs;
		CHECK_OK(kr_vcpu_get_sregs(vm, &sregs));
		uint32_t *pd = kr_gpa_ptr(vm, sregs.cr3 & 0xfffff000u, 0x1000);
		uint32_t *pt = kr_gpa_ptr(vm, 0x400000, 0x1000);
		if (!pd || !pt) {
			unit_fail(__FILE__, __LINE__, "page directory or table: %s", kr_last_error());
		} else {
			/* VA 0x80000000: a page table of 16 pages, some with PAT (bit 7) or G (bit 8) */
			memset(pt, 0, 0x1000);
			for (uint32_t i = 0; i < 16; i++)
				pt[i] = (0x500000 + i * 0x1000) | 3 | (i & 1 ? 0x80 : 0) |
					(i & 2 ? 0x100 : 0);
			pt[20] = 0x600000 | 2; /* not present */
			pd[0x200] = 0x400000 | 3;
		}
		CHECK_EQ(kvmtest_run(vm).reason, KR_STOP_HLT);
		struct kr_crosscheck_report r = cc_all(vm, 1u << 20, "paged32, 4 MiB and 4 KiB pages");
		/* 8192 + 16 pages; runs [0, 32 MiB) (2 of 4 mapped) and [0x80000000, +64 KiB)
		 * (2 of 4); 0, 0xfffff000, 0xffffffff (1 of 3). */
		CHECK_EQ(r.checked, 8192 + 16 + 8 + 3);
		CHECK_EQ(r.mapped, 8192 + 16 + 4 + 1);
		struct kr_translation t;
		struct kr_walk w;
		bool agree = false;
		CHECK_OK(kr_crosscheck(vm, 0x80003abc, &t, &w, &agree));
		CHECK(agree && t.valid && w.ok);
		CHECK_EQ(t.gpa, 0x503abc);
		CHECK_EQ(w.page_size, 0x1000);
	}
	kr_vm_destroy(vm);
}

/*
 * PAE paging, which kvmrun never sets up itself: tables built here, CR3 at a
 * 32-byte aligned PDPT (not page aligned), 2 MiB pages, a page table of 4 KiB
 * pages, and a 2 MiB page at the top of the 4 GiB linear space.
 */
UNIT_TEST(crosscheck_pae_paging)
{
	if (!kvmtest_needs("pae32"))
		return;
	struct kr_vm *vm = cc_start(KR_MODE_PROTECTED);
	if (!vm)
		return;
	uint64_t *pdpt = NULL, *pd0 = NULL, *pd3 = NULL, *pt = NULL;
	struct kvm_sregs sregs;
	if (!kvmtest_load(vm, hlt, sizeof(hlt), NULL, 0) || !(pdpt = kr_gpa_ptr(vm, 0x400fe0, 32)) ||
	    !(pd0 = table_page(vm, 0x401000)) || !(pd3 = table_page(vm, 0x402000)) ||
	    !(pt = table_page(vm, 0x403000)) || kr_vcpu_get_sregs(vm, &sregs) < 0) {
		unit_fail(__FILE__, __LINE__, "setup: %s", kr_last_error());
		kr_vm_destroy(vm);
		return;
	}
	memset(pdpt, 0, 32);
	pdpt[0] = 0x401000 | PTE_P; /* PDPTEs have no R/W: bits 1-2 and 5-8 are reserved */
	pdpt[3] = 0x402000 | PTE_P;
	for (uint64_t i = 0; i < 16; i++)
		pd0[i] = i << 21 | PTE_P | PTE_RW | PTE_PS; /* [0, 32 MiB) identity */
	pd0[100] = 0x403000 | PTE_P | PTE_RW;            /* 0xc800000: 4 KiB pages */
	for (uint64_t i = 0; i < 512; i += 3)
		pt[i] = (0x600000 + i * 0x1000) | PTE_P | PTE_RW; /* every third page */
	pd3[511] = 0x1000000 | PTE_P | PTE_RW | PTE_PS;       /* 0xffe00000 -> 16 MiB */
	sregs.cr3 = 0x400fe0;
	sregs.cr4 |= X86_CR4_PAE;
	sregs.cr0 |= X86_CR0_PG | X86_CR0_WP;
	CHECK_OK(kr_vcpu_set_sregs(vm, &sregs));

	struct kr_crosscheck_report r = cc_all(vm, 1u << 20, "PAE, 2 MiB and 4 KiB pages");
	/*
	 * Pages: 8192 + 171 + 512. Runs: [0, 32 MiB): 0, 0x1ffffff and 0xffffffff mapped
	 * (the last one by pd3[511]), 0x2000000 not; each of the 171 single 4 KiB pages:
	 * 2 of 4; [0xffe00000, 4 GiB): 3 of 4 (after it, the linear address wraps to 0).
	 * Fixed: 0, 0xfffff000, 0xffffffff, all mapped.
	 */
	CHECK_EQ(r.checked, 8192 + 171 + 512 + 4 + 171 * 4 + 4 + 3);
	CHECK_EQ(r.mapped, 8192 + 171 + 512 + 3 + 171 * 2 + 3 + 3);

	/*
	 * The CPU reads the 4 PDPTEs into registers when CR3 is loaded (KVM_SET_SREGS
	 * here); KVM_TRANSLATE uses those, the walker reads memory. A PDPTE changed in
	 * memory without a CR3 reload is a real disagreement, which must be reported.
	 */
	struct kr_translation t;
	struct kr_walk w;
	bool agree = true;
	pdpt[1] = 0x401000 | PTE_P; /* [1 GiB, 2 GiB) aliases [0, 1 GiB): in memory only */
	CHECK_OK(kr_crosscheck(vm, 0x40000123, &t, &w, &agree));
	CHECK(!agree && !t.valid && w.ok);
	CHECK_EQ(w.gpa, 0x123);
	r = cc_check(vm, 1u << 20, "PAE, PDPTE changed in memory only", true);
	/* The alias PDPTE is sampled at its first byte (the disagreement) and its last. */
	CHECK_EQ(r.disagreements, 1);
	CHECK_EQ(r.first_bad_gva, 0x40000000);
	CHECK(strstr(r.first_bad, "gva 0x40000000 (PAE paging): KVM no translation; walker gpa "
				  "0x0 (2 MiB page)") != NULL);
	CHECK_OK(kr_vcpu_set_sregs(vm, &sregs)); /* as a MOV to CR3 would: both see it now */
	CHECK_OK(kr_crosscheck(vm, 0x40000123, &t, &w, &agree));
	CHECK(agree && t.valid && w.ok);
	CHECK_EQ(t.gpa, 0x123);
	pdpt[1] = 0;
	CHECK_OK(kr_vcpu_set_sregs(vm, &sregs));

	uint64_t before = pdpt[0];
	CHECK_EQ(kvmtest_run(vm).reason, KR_STOP_HLT); /* the CPU fetched through these tables */
	if (pdpt[0] != before) /* seen in the QEMU (TCG) test bed: an A bit in a PAE PDPTE */
		printf("    # note: running the guest changed PDPTE 0 from 0x%llx to 0x%llx\n",
		       (unsigned long long)before, (unsigned long long)pdpt[0]);
	kr_vm_destroy(vm);
}

/* Identity-map [0, 32 MiB) with 2 MiB pages in tables at 0x400000; returns the PML4 address. */
static uint64_t build_identity_4level(struct kr_vm *vm)
{
	uint64_t *l4 = table_page(vm, 0x400000), *l3 = table_page(vm, 0x401000),
		 *l2 = table_page(vm, 0x402000);
	if (!l4 || !l3 || !l2)
		return 0;
	l4[0] = 0x401000 | PTE_P | PTE_RW;
	l3[0] = 0x402000 | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 16; i++)
		l2[i] = i << 21 | PTE_P | PTE_RW | PTE_PS;
	return 0x400000;
}

UNIT_TEST(crosscheck_long_mode_entered_by_a_protected_mode_vm)
{
	struct kr_vm *vm = cc_start(KR_MODE_PROTECTED);
	if (!vm)
		return;
	struct kvm_sregs sregs;
	uint64_t root = 0;
	if (kvmtest_load(vm, hlt, sizeof(hlt), NULL, 0) && (root = build_identity_4level(vm)) &&
	    kr_vcpu_get_sregs(vm, &sregs) == 0) {
		/* What the guest's own mode switch would do, done by KVM_SET_SREGS. */
		sregs.cr3 = root;
		sregs.cr4 |= X86_CR4_PAE;
		sregs.cr0 |= X86_CR0_PG;
		sregs.efer |= KR_EFER_LME | KR_EFER_LMA;
		kr_gdt_segment(KVMRUN_SEL_CODE64, &sregs.cs);
		CHECK_OK(kr_vcpu_set_sregs(vm, &sregs));
		CHECK_EQ(kvmtest_run(vm).reason, KR_STOP_HLT);

		/* kr_translate follows the vCPU's paging mode, not the configured one: the
		 * run's non-canonical alias is refused by both, so they agree everywhere. */
		struct kr_crosscheck_report r = cc_all(vm, 1u << 20, "long mode in a protected-mode VM");
		CHECK_EQ(r.checked, 8192 + 5 + 6);
	}
	kr_vm_destroy(vm);
}

UNIT_TEST(crosscheck_5level_paging)
{
	if (!kvmtest_needs("la57"))
		return;
	struct kr_vm *vm = cc_start(KR_MODE_LONG);
	if (!vm)
		return;
	/* The counts below include page 0, which kvmrun leaves unmapped by default. */
	vm->cfg.map_page0 = true;
	uint64_t cr3 = 0, *pml5 = NULL;
	struct kvm_sregs sregs;
	if (kvmtest_load(vm, hlt, sizeof(hlt), NULL, 0) && pml4_of(vm, &cr3) &&
	    (pml5 = table_page(vm, 0x400000)) && kr_vcpu_get_sregs(vm, &sregs) == 0) {
		/* kvmrun's PML4 three times: [0, 2^48), [2^48, 2^49), the top 2^48 bytes */
		pml5[0] = pml5[1] = pml5[511] = cr3 | PTE_P | PTE_RW;
		sregs.cr3 = 0x400000;
		sregs.cr4 |= X86_CR4_LA57;
		CHECK_OK(kr_vcpu_set_sregs(vm, &sregs));
		CHECK_EQ(kvmtest_run(vm).reason, KR_STOP_HLT);

		struct kr_translation t;
		struct kr_walk w;
		bool agree = false;
		CHECK_OK(kr_crosscheck(vm, 0x1ff1234, &t, &w, &agree)); /* pml5[0] */
		CHECK(agree && t.valid && w.ok);
		CHECK_EQ(t.gpa, 0x1ff1234);
		CHECK_EQ(w.paging, KR_PAGING_5LEVEL);
		CHECK_EQ(w.nsteps, 4);
		/* pml5[511]: canonical with 57 bits, not with 48 (bit 47 is 0, bit 48 is 1) */
		CHECK_OK(kr_crosscheck(vm, 0xffff000000001234ull, &t, &w, &agree));
		CHECK(w.ok);
		CHECK_EQ(w.gpa, 0x1234);
		CHECK(agree);

		/* PML4 expanded once: 8192 pages; the aliases pml5[1] and pml5[511] are sampled
		 * at their first and last byte; one run of 5; 6 + 3 fixed addresses. */
		struct kr_crosscheck_report r = cc_all(vm, 1u << 20, "5-level, 2 MiB pages");
		CHECK_EQ(r.checked, 8192 + 4 + 5 + 9);
	}
	kr_vm_destroy(vm);
}
