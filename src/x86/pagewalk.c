/* SPDX-License-Identifier: MIT */
/*
 * pagewalk.c - a software page walker, to see inside the guest.
 *
 * It translates a linear address the way the CPU does (Intel SDM vol. 3,
 * chapter 4; AMD APM vol. 2, chapter 5) and keeps every entry it read, so a
 * failed translation can say which level stopped it and why. The tables are
 * the guest's and may be hostile: every entry is read through kr_gpa_ptr,
 * and the walk takes one step per level, so it can neither leave guest
 * memory nor loop.
 *
 * All four paged modes share one loop; a table of formats gives each mode's
 * shape, and reserved_bits() holds what differs entry by entry.
 *
 * Permissions are the raw AND of R/W and U/S and the OR of XD over the
 * levels. CR0.WP, SMEP, SMAP and protection keys decide what a given access
 * may do with them; they are not modelled here.
 *
 * What is reserved depends on the CPU: once the vCPU's CPUID is known
 * (vm->cpu), the walker follows it as KVM does: without 1 GiB pages a PDPTE's
 * PS bit is reserved, and on AMD so is bit 8 of a PML4E or PML5E. A VM without
 * a vCPU (unit tests, fuzzers) gets a CPU that has every feature. PSE-36 is
 * assumed supported.
 */
#include <asm/processor-flags.h>
#include <string.h>

#include "core/error.h"
#include "core/vm.h"
#include "x86/x86.h"

/* Bits hi:lo set; empty when hi < lo. */
static uint64_t bit_range(unsigned hi, unsigned lo)
{
	return hi < lo ? 0 : (~0ull >> (63 - hi)) & (~0ull << lo);
}

/* The shape of each paged mode's tables. */
struct format {
	int top;             /* level of the table CR3 points at */
	unsigned entry_size; /* bytes */
	unsigned index_bits; /* linear-address bits each level consumes */
	uint64_t cr3_mask;   /* where CR3 keeps the root table's address */
	uint64_t addr_mask;  /* where an entry keeps the next table's address */
	unsigned va_bits;    /* canonical width; 0 for 32-bit linear addresses */
};

static const struct format formats[] = {
	[KR_PAGING_32] = {2, 4, 10, KR_PTE32_ADDR, KR_PTE32_ADDR, 0},
	/* The 4 PDPTEs are 32-byte aligned; 9-bit indexing of a 32-bit address gives 0..3. */
	[KR_PAGING_PAE] = {3, 8, 9, 0xffffffe0ull, KR_PTE_ADDR, 0},
	[KR_PAGING_4LEVEL] = {4, 8, 9, KR_PTE_ADDR, KR_PTE_ADDR, 48},
	[KR_PAGING_5LEVEL] = {5, 8, 9, KR_PTE_ADDR, KR_PTE_ADDR, 57},
};

/* What a walk needs besides the entry at hand. */
struct walker {
	enum kr_paging paging;
	unsigned maxphyaddr; /* 32..52 */
	bool pse, nxe;
	bool gbpages; /* 1 GiB pages exist */
	bool amd;     /* AMD reserves bit 8 of PML4Es and PML5Es */
};

enum kr_paging kr_paging_mode(const struct kvm_sregs *sregs)
{
	if (!(sregs->cr0 & X86_CR0_PG))
		return KR_PAGING_NONE;
	/*
	 * LMA is what the CPU sets once LME, PAE and PG are all on; accept the
	 * three without it too, as a KVM_SET_SREGS caller may not set LMA.
	 */
	bool pae = sregs->cr4 & X86_CR4_PAE;
	if ((sregs->efer & KR_EFER_LMA) || ((sregs->efer & KR_EFER_LME) && pae))
		return sregs->cr4 & X86_CR4_LA57 ? KR_PAGING_5LEVEL : KR_PAGING_4LEVEL;
	return pae ? KR_PAGING_PAE : KR_PAGING_32;
}

const char *kr_paging_name(enum kr_paging paging)
{
	static const char *const names[] = {
		[KR_PAGING_NONE] = "none",	   [KR_PAGING_32] = "32-bit",
		[KR_PAGING_PAE] = "PAE",	   [KR_PAGING_4LEVEL] = "4-level",
		[KR_PAGING_5LEVEL] = "5-level",
	};
	if ((unsigned)paging < sizeof(names) / sizeof(names[0]))
		return names[paging];
	return "unknown";
}

/* Does a PS bit at this level map a page (rather than being reserved or ignored)? */
static bool large_page_level(const struct walker *k, int level)
{
	switch (k->paging) {
	case KR_PAGING_32:
		return level == 2 && k->pse; /* without CR4.PSE the bit is ignored */
	case KR_PAGING_PAE:
		return level == 2;
	default:
		return level == 2 || level == 3; /* 2 MiB and 1 GiB (reserved_bits says where none) */
	}
}

/*
 * The bits an entry at `level` must have clear. `page_shift`: log2 of the
 * size of the page the entry maps when it is a leaf, 0 when it points at a table.
 */
static uint64_t reserved_bits(const struct walker *k, int level, unsigned page_shift)
{
	if (k->paging == KR_PAGING_32) {
		if (page_shift != 22)
			return 0; /* all 32 bits are flags or address */
		/* PSE-36: bits (M-20):13 hold address bits (M-1):32, M at most 40. */
		unsigned m = k->maxphyaddr < 40 ? k->maxphyaddr : 40;
		return bit_range(21, m - 19);
	}
	if (k->paging == KR_PAGING_PAE && level == 3)
		return bit_range(63, k->maxphyaddr) | KR_PAE_PDPTE_RSVD;
	/* PAE keeps bits 62:52 reserved; long mode leaves them to software. */
	uint64_t rsvd = bit_range(k->paging == KR_PAGING_PAE ? 62 : 51, k->maxphyaddr);
	if (!k->nxe)
		rsvd |= KR_PTE_NX;
	if (level >= 4)
		rsvd |= KR_PTE_PS | (k->amd ? KR_PTE_AMD_NONLEAF_G : 0); /* no 512 GiB pages */
	if (level == 3 && !k->gbpages)
		rsvd |= KR_PTE_PS; /* no 1 GiB pages on this CPU */
	if (page_shift > 12)
		rsvd |= bit_range(page_shift - 1, 13); /* bit 12 is PAT, the rest must be 0 */
	return rsvd;
}

/* The physical address of the page a leaf entry maps. */
static uint64_t page_base(const struct walker *k, uint64_t e, unsigned page_shift)
{
	if (k->paging != KR_PAGING_32)
		return e & KR_PTE_ADDR & ~bit_range(page_shift - 1, 0);
	if (page_shift == 12)
		return e & KR_PTE32_ADDR;
	/* 4 MiB: bits 31:22, and bits 20:13 as address bits 39:32 (PSE-36). */
	return (e & 0xffc00000ull) | ((e & bit_range(20, 13)) << (32 - 13));
}

static int walk_fail(struct kr_walk *w, int level, const char *reason)
{
	w->fail_level = level;
	w->fail_reason = reason;
	return 0;
}

static int walk_tables(struct kr_vm *vm, const struct walker *k, uint64_t cr3, uint64_t va,
		       struct kr_walk *w)
{
	const struct format *f = &formats[k->paging];
	if (f->va_bits && !kr_canonical(va, f->va_bits))
		return walk_fail(w, 0, "non-canonical address");
	if (!f->va_bits)
		va &= 0xffffffffull;

	bool writable = true, user = true, nx = false;
	uint64_t table = cr3 & f->cr3_mask;
	for (int level = f->top; level >= 1; level--) {
		unsigned shift = 12 + f->index_bits * (unsigned)(level - 1);
		uint64_t entry_gpa = table + ((va >> shift) & bit_range(f->index_bits - 1, 0)) *
						     f->entry_size;
		const void *p = kr_gpa_ptr(vm, entry_gpa, f->entry_size);
		if (!p)
			return walk_fail(w, level, "table outside guest memory");
		uint64_t e = 0;
		memcpy(&e, p, f->entry_size); /* x86 hosts only: little-endian */
		w->steps[w->nsteps++] = (struct kr_walk_step){level, entry_gpa, e};

		if (!(e & KR_PTE_PRESENT))
			return walk_fail(w, level, "not present");
		bool leaf = level == 1 || ((e & KR_PTE_PS) && large_page_level(k, level));
		unsigned page_shift = leaf ? shift : 0;
		if (e & reserved_bits(k, level, page_shift))
			return walk_fail(w, level, "reserved bit set");
		if (!(k->paging == KR_PAGING_PAE && level == 3)) { /* PDPTEs hold no permissions */
			writable = writable && (e & KR_PTE_WRITE);
			user = user && (e & KR_PTE_USER);
			nx = nx || (k->nxe && (e & KR_PTE_NX));
		}
		if (leaf) {
			w->ok = true;
			w->page_size = 1ull << shift;
			w->gpa = page_base(k, e, shift) | (va & (w->page_size - 1));
			w->writable = writable;
			w->user = user;
			w->nx = nx;
			return 0;
		}
		table = e & f->addr_mask;
	}
	return 0; /* not reached: level 1 is always a leaf */
}

int kr_walk(struct kr_vm *vm, const struct kvm_sregs *sregs, unsigned maxphyaddr, uint64_t gva,
	    struct kr_walk *w)
{
	if (!vm || !sregs || !w)
		return kr_err("page walk: NULL argument (vm %p, sregs %p, walk %p)", (void *)vm,
			      (const void *)sregs, (void *)w);
	*w = (struct kr_walk){.gva = gva, .paging = kr_paging_mode(sregs)};
	if (w->paging == KR_PAGING_NONE) {
		/* Linear = physical, and without long mode linear addresses have 32 bits. */
		w->ok = w->writable = w->user = true;
		w->gpa = gva & 0xffffffffull;
		w->page_size = 4096;
		return 0;
	}
	/*
	 * 0 means the vCPU's width, or 52 (the architectural limit) before its
	 * CPUID is set. Real CPUs have 36 or more; below 32 the PSE-36
	 * arithmetic would break, so such values are raised to 32.
	 */
	if (maxphyaddr == 0 && vm->cpu.known)
		maxphyaddr = vm->cpu.maxphyaddr;
	if (maxphyaddr == 0 || maxphyaddr > 52)
		maxphyaddr = 52;
	else if (maxphyaddr < 32)
		maxphyaddr = 32;
	struct walker k = {
		.paging = w->paging,
		.maxphyaddr = maxphyaddr,
		.pse = sregs->cr4 & X86_CR4_PSE,
		.nxe = sregs->efer & KR_EFER_NXE,
		.gbpages = !vm->cpu.known || (vm->cpu.features & KR_X86_CPU_GBPAGES),
		.amd = vm->cpu.known && (vm->cpu.features & KR_X86_CPU_AMD),
	};
	return walk_tables(vm, &k, sregs->cr3, gva, w);
}
