/* SPDX-License-Identifier: MIT */
/*
 * crosscheck.c - KVM_TRANSLATE against the software walker.
 *
 * kr_translate (KVM_TRANSLATE behind kvmrun's canonical-address guard: what
 * kvmrun itself uses for hypercall buffers) and kr_walk (pagewalk.c) answer
 * the same question in two independent ways. Where they differ, one of them
 * is wrong about the guest's page tables; this file finds such addresses.
 *
 * kr_crosscheck_all() needs addresses worth asking about. It finds them by
 * walking the guest's tables itself, in guest memory through kr_gpa_ptr:
 *
 *   - Enumeration is lenient: every present entry is followed (reserved bits
 *     are not judged here: an address under a bad entry is a good question
 *     for the two translators, which must then both refuse it).
 *   - The tables may be hostile. Each table is expanded at most once per
 *     level (a set of (table address, level) pairs), so every table entry is
 *     read at most once per level; a table that points at itself (a loop, or
 *     the classic recursive self-map) costs one visit per level, and the depth
 *     is the mode's number of levels. At most MAX_TABLES tables are expanded.
 *     A table that is reached a second time at the same level (two entries
 *     sharing one table: an alias) is not expanded again: only the first and
 *     the last byte of the range it maps there are checked (each counts
 *     against max_pages). The cost stays linear in the size of the tables,
 *     not in the number of paths through them.
 *   - Each leaf is met once, at its own virtual address (a tree walk in
 *     index order meets every virtual address at most once, in increasing
 *     order, sign-extended in long mode).
 *
 * What is checked, each address costing one KVM_TRANSLATE and one kr_walk:
 *
 *   - Leaves of at most 4 MiB (4 KiB, 2 MiB, 4 MiB pages): the first byte of
 *     every 4 KiB page of the leaf.
 *   - Larger leaves (1 GiB): a sample of 2 + 2 * 18 addresses: the first and
 *     the last byte, and for every address bit k from 12 to 29 the offsets
 *     1 << k and (size - 1) ^ (1 << k). Inside one leaf both translators
 *     compute base + offset; this pattern catches a wrong base, a wrong page
 *     size (the offset cut at the wrong bit) and any offset bit that is lost
 *     or stuck, for 38 questions instead of 262144.
 *   - `max_pages` bounds the number of those page checks (a sampled 1 GiB
 *     address counts as one); when it runs out the enumeration stops.
 *   - Each contiguous mapped run (leaves that follow each other in virtual
 *     memory, wherever they are physically): its first and last byte and the
 *     bytes just before and after it; in long mode also its first byte with
 *     bit 63 flipped (non-canonical, same low bits: KVM_TRANSLATE by itself
 *     would translate it).
 *   - A table that is not wholly inside guest memory: the first byte of the
 *     range it would map (counts against max_pages); its entries that are
 *     inside are still followed.
 *   - Fixed addresses. Long mode: 0, 0x7ffffffff000, 0x00007fffffffffff,
 *     0x0000800000000000 (non-canonical with 4 levels), 0xffff800000000000
 *     and 0xffffffffffffffff (and the 57-bit boundaries with 5 levels).
 *     32-bit modes (no paging, 32-bit, PAE) have 32-bit linear addresses
 *     only: 0, 0xfffff000 and 0xffffffff.
 *   - No paging: every 2 MiB of each memory slot below 4 GiB, its last byte
 *     and the byte after it, and the fixed 32-bit addresses above; there,
 *     besides agreeing, both must also give physical == linear.
 *
 * Permissions are not compared: x86 KVM_TRANSLATE always reports
 * writeable = 1 and usermode = 0.
 */
#include <asm/processor-flags.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/error.h"
#include "core/vm.h"
#include "x86/x86.h"

#define LARGEST_FULLY_CHECKED (4ull << 20) /* leaves up to 4 MiB: every 4 KiB page */
#define NO_PAGING_STEP (2ull << 20)

/*
 * Tables expanded at most per kr_crosscheck_all (3 GiB mapped with 4 KiB
 * pages: ~1550). The set of expanded tables is a fixed array twice that big,
 * on the stack: the cross-check runs inside the sandbox, where malloc could
 * need an mmap that is not allowed.
 */
#define MAX_TABLES 4096u
#define SEEN_SLOTS (2 * MAX_TABLES)

/* ---- the guest's physical address width ---------------------------------- */

/*
 * MAXPHYADDR as KVM computes it for this vCPU (cpuid_query_maxphyaddr), kept
 * by kr_cpuid_setup when it set the vCPU's CPUID: KVM's walker treats the
 * bits above it as reserved; kr_walk must do the same. (Not read here with
 * KVM_GET_CPUID2: that would need an ioctl and an allocation the sandbox
 * does not allow.)
 */
static int guest_maxphyaddr(struct kr_vm *vm, unsigned *out)
{
	if (!vm->cpu.known)
		return kr_err("cross-check: the vCPU's CPUID is not set yet (kr_vcpu_prepare)");
	*out = vm->cpu.maxphyaddr;
	return 0;
}

/* ---- one address ------------------------------------------------------------ */

static const char *size_name(uint64_t size)
{
	switch (size) {
	case 1ull << 12:
		return "4 KiB";
	case 1ull << 21:
		return "2 MiB";
	case 1ull << 22:
		return "4 MiB";
	case 1ull << 30:
		return "1 GiB";
	default:
		return "?";
	}
}

static bool same_answer(const struct kr_translation *kvm, const struct kr_walk *walk)
{
	return kvm->valid == walk->ok && (!kvm->valid || kvm->gpa == walk->gpa);
}

static int compare(struct kr_vm *vm, const struct kvm_sregs *sregs, unsigned maxphyaddr,
		   uint64_t gva, struct kr_translation *kvm, struct kr_walk *walk, bool *agree)
{
	if (kr_translate(vm, gva, kvm) < 0 || kr_walk(vm, sregs, maxphyaddr, gva, walk) < 0)
		return -1;
	*agree = same_answer(kvm, walk);
	return 0;
}

/* kr_translate would walk in software (no vCPU): comparing the walker with itself says nothing. */
static int need_vcpu(struct kr_vm *vm)
{
	if (vm->soft_sregs)
		return kr_err("cross-check: this VM translates in software (no vCPU to ask KVM)");
	return 0;
}

int kr_crosscheck(struct kr_vm *vm, uint64_t gva, struct kr_translation *kvm,
		  struct kr_walk *walk, bool *agree)
{
	if (!vm || !kvm || !walk || !agree)
		return kr_err("cross-check: NULL argument (vm %p, kvm %p, walk %p, agree %p)",
			      (void *)vm, (void *)kvm, (void *)walk, (void *)agree);
	struct kvm_sregs sregs;
	unsigned maxphyaddr = 0;
	if (need_vcpu(vm) < 0 || kr_vcpu_get_sregs(vm, &sregs) < 0 ||
	    guest_maxphyaddr(vm, &maxphyaddr) < 0)
		return -1;
	return compare(vm, &sregs, maxphyaddr, gva, kvm, walk, agree);
}

/* ---- many addresses ---------------------------------------------------------- */

/* The shape of a paged mode's tables, as pagewalk.c sees them. */
struct shape {
	int top;             /* level of the table CR3 points at */
	unsigned entry_size; /* bytes */
	unsigned index_bits; /* linear-address bits each level consumes */
	unsigned top_entries;
	uint64_t cr3_mask, addr_mask;
	unsigned va_bits; /* canonical width; 32 for 32-bit linear addresses */
};

static const struct shape shapes[] = {
	[KR_PAGING_32] = {2, 4, 10, 1024, KR_PTE32_ADDR, KR_PTE32_ADDR, 32},
	[KR_PAGING_PAE] = {3, 8, 9, 4, 0xffffffe0ull, KR_PTE_ADDR, 32},
	[KR_PAGING_4LEVEL] = {4, 8, 9, 512, KR_PTE_ADDR, KR_PTE_ADDR, 48},
	[KR_PAGING_5LEVEL] = {5, 8, 9, 512, KR_PTE_ADDR, KR_PTE_ADDR, 57},
};

struct cc {
	struct kr_vm *vm;
	const struct kvm_sregs *sregs;
	unsigned maxphyaddr;
	enum kr_paging paging;
	const struct shape *shape;
	struct kr_crosscheck_report *r;
	uint64_t pages_left; /* of max_pages */
	bool stop;           /* max_pages or MAX_TABLES reached */

	bool in_run; /* the mapped run being built: [run_first, run_last] */
	uint64_t run_first, run_last;

	uint64_t seen[SEEN_SLOTS]; /* open addressing, at most half full:
				      (table gpa | level) + 1, 0 = empty */
	uint32_t nseen;            /* tables expanded so far */
	bool failed; /* an allocation failed (kr_err set) */
};

/* Keep a linear address to the mode's width (32-bit modes wrap at 4 GiB). */
static uint64_t linear(const struct cc *c, uint64_t va)
{
	return c->paging == KR_PAGING_4LEVEL || c->paging == KR_PAGING_5LEVEL ? va
									     : va & 0xffffffffull;
}

static void describe(struct cc *c, uint64_t gva, const struct kr_translation *kvm,
		     const struct kr_walk *walk, const char *what)
{
	char k[64], w[128];
	if (kvm->valid)
		snprintf(k, sizeof(k), "gpa 0x%llx", (unsigned long long)kvm->gpa);
	else
		snprintf(k, sizeof(k), "no translation");
	if (walk->ok)
		snprintf(w, sizeof(w), "gpa 0x%llx (%s page)", (unsigned long long)walk->gpa,
			 size_name(walk->page_size));
	else
		snprintf(w, sizeof(w), "no translation (level %d: %s)", walk->fail_level,
			 walk->fail_reason ? walk->fail_reason : "?");
	snprintf(c->r->first_bad, sizeof(c->r->first_bad), "gva 0x%llx (%s paging)%s: KVM %s; walker %s",
		 (unsigned long long)gva, kr_paging_name(c->paging), what, k, w);
}

/* Ask both translators about one address and count the answer. */
static int check(struct cc *c, uint64_t gva)
{
	struct kr_translation kvm;
	struct kr_walk walk;
	bool agree;
	if (compare(c->vm, c->sregs, c->maxphyaddr, gva, &kvm, &walk, &agree) < 0)
		return -1;
	const char *what = "";
	/* Without paging there is a third opinion: the architecture's (physical == linear). */
	if (agree && c->paging == KR_PAGING_NONE && kvm.valid && kvm.gpa != (gva & 0xffffffffull)) {
		agree = false;
		what = ", physical != linear";
	}
	c->r->checked++;
	if (kvm.valid && walk.ok)
		c->r->mapped++;
	if (!agree) {
		if (c->r->disagreements++ == 0) {
			c->r->first_bad_gva = gva;
			describe(c, gva, &kvm, &walk, what);
		}
	}
	return 0;
}

/* Check a page of a leaf, one of max_pages: 0 done, 1 none left (stop), -1 an ioctl failed. */
static int check_page(struct cc *c, uint64_t gva)
{
	if (c->pages_left == 0) {
		c->stop = true;
		return 1;
	}
	c->pages_left--;
	return check(c, gva);
}

/* Check the run that just ended: its first and last byte, and the bytes around it. */
static int end_run(struct cc *c)
{
	if (!c->in_run)
		return 0;
	c->in_run = false;
	if (check(c, c->run_first) < 0 || check(c, c->run_last) < 0 ||
	    check(c, linear(c, c->run_first - 1)) < 0 || check(c, linear(c, c->run_last + 1)) < 0)
		return -1;
	/*
	 * Long mode: the run's first byte with bit 63 flipped, non-canonical with
	 * 4 or 5 levels but with the same low bits. KVM_TRANSLATE alone would
	 * translate it (it ignores the upper bits); the CPU faults.
	 */
	if (c->shape->va_bits > 32 && check(c, c->run_first ^ (1ull << 63)) < 0)
		return -1;
	return 0;
}

static int leaf(struct cc *c, uint64_t va, uint64_t size)
{
	uint64_t last = va + (size - 1);
	/* Leaves come in increasing virtual order: a run goes on if this one starts where it ends. */
	if (c->in_run && c->run_last + 1 == va) {
		c->run_last = last;
	} else {
		if (end_run(c) < 0)
			return -1;
		c->in_run = true;
		c->run_first = va;
		c->run_last = last;
	}
	int rc = 0;
	if (size <= LARGEST_FULLY_CHECKED) {
		for (uint64_t off = 0; off < size && rc == 0; off += KR_PAGE_4K)
			rc = check_page(c, va + off);
		return rc < 0 ? -1 : 0;
	}
	rc = check_page(c, va);
	if (rc == 0)
		rc = check_page(c, last);
	for (uint64_t bit = KR_PAGE_4K; bit < size && rc == 0; bit <<= 1) {
		rc = check_page(c, va + bit);
		if (rc == 0)
			rc = check_page(c, va + ((size - 1) ^ bit));
	}
	return rc < 0 ? -1 : 0;
}

static uint32_t seen_slot(const uint64_t *seen, uint64_t key)
{
	uint32_t i = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (SEEN_SLOTS - 1);
	while (seen[i] != 0 && seen[i] != key)
		i = (i + 1) & (SEEN_SLOTS - 1);
	return i;
}

/* Record (table, level); false if it was already expanded or the budget is spent. */
static bool first_visit(struct cc *c, uint64_t table, int level)
{
	uint64_t key = (table | (uint64_t)level) + 1; /* tables are 32-byte aligned at least */
	uint32_t i = seen_slot(c->seen, key);
	if (c->seen[i] == key)
		return false;
	if (c->nseen >= MAX_TABLES) {
		c->stop = true;
		return false;
	}
	c->seen[i] = key;
	c->nseen++;
	return true;
}

static bool is_leaf(const struct cc *c, int level, uint64_t e)
{
	if (level == 1)
		return true;
	if (!(e & KR_PTE_PS))
		return false;
	switch (c->paging) {
	case KR_PAGING_32:
		return level == 2 && (c->sregs->cr4 & X86_CR4_PSE);
	case KR_PAGING_PAE:
		return level == 2;
	default:
		return level == 2 || level == 3;
	}
}

static uint64_t sign_extend(uint64_t va, unsigned bits)
{
	unsigned shift = 64 - bits;
	return (uint64_t)((int64_t)(va << shift) >> shift);
}

/* Enumerate the table at `table` (guest physical), of `level`, covering `va_base`. */
static int walk_table(struct cc *c, uint64_t table, int level, uint64_t va_base)
{
	const struct shape *s = c->shape;
	unsigned n = level == s->top ? s->top_entries : 1u << s->index_bits;
	unsigned shift = 12 + s->index_bits * (unsigned)(level - 1);
	if (!first_visit(c, table, level)) {
		if (c->stop)
			return 0;
		/*
		 * An alias: this table was expanded already, at this level, for
		 * other addresses. Not walked again; the first and last byte of
		 * the range it maps here are asked about.
		 */
		uint64_t span = (uint64_t)n << shift; /* below the top level: at most 2^48 */
		int rc = check_page(c, va_base);
		if (rc == 0)
			rc = check_page(c, va_base + (span - 1));
		return rc < 0 ? -1 : 0;
	}
	/* The whole table at once if it lies in one slot, else entry by entry (hostile CR3). */
	const uint8_t *whole = kr_gpa_ptr(c->vm, table, (uint64_t)n * s->entry_size);
	if (!whole) {
		/* Not (wholly) in guest memory: ask about its first byte, which neither may map. */
		int rc = check_page(c, va_base);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
	}
	for (unsigned i = 0; i < n && !c->stop; i++) {
		uint64_t at = table + (uint64_t)i * s->entry_size;
		const uint8_t *p = whole ? whole + (uint64_t)i * s->entry_size
					 : kr_gpa_ptr(c->vm, at, s->entry_size);
		if (!p)
			continue;
		uint64_t e = 0;
		memcpy(&e, p, s->entry_size); /* x86 hosts only: little-endian */
		if (!(e & KR_PTE_PRESENT))
			continue;
		uint64_t va = va_base | ((uint64_t)i << shift);
		if (level == s->top && s->va_bits > 32)
			va = sign_extend(va, s->va_bits);
		int rc = is_leaf(c, level, e) ? leaf(c, va, 1ull << shift)
					      : walk_table(c, e & s->addr_mask, level - 1, va);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int check_list(struct cc *c, const uint64_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (check(c, list[i]) < 0)
			return -1;
	return 0;
}

static const uint64_t fixed32[] = {0, 0xfffff000ull, 0xffffffffull};
static const uint64_t fixed64[] = {
	0,
	0x7ffffffff000ull,
	0x00007fffffffffffull,
	0x0000800000000000ull, /* non-canonical with 4 levels */
	0xffff800000000000ull,
	0xffffffffffffffffull,
};
static const uint64_t fixed57[] = {
	0x00ffffffffffffffull,
	0x0100000000000000ull, /* non-canonical with 5 levels */
	0xff00000000000000ull,
};

/*
 * No paging: a sample of every memory slot, as far as linear addresses reach
 * (4 GiB); physical must equal linear.
 */
static int check_unpaged(struct cc *c)
{
	const uint64_t top = 1ull << 32;
	for (int i = 0; i < KR_MAX_SLOTS; i++) {
		const struct kr_slot *sl = &c->vm->slots[i];
		if (!sl->used || sl->size == 0 || sl->gpa >= top)
			continue;
		uint64_t end = sl->size < top - sl->gpa ? sl->gpa + sl->size : top;
		int rc = 0;
		for (uint64_t a = sl->gpa; a < end && rc == 0; a += NO_PAGING_STEP)
			rc = check_page(c, a);
		if (rc < 0)
			return -1;
		if (rc > 0)
			return 0;
		if (check(c, end - 1) < 0 || (end < top && check(c, end) < 0))
			return -1;
	}
	return 0;
}

int kr_crosscheck_all(struct kr_vm *vm, uint64_t max_pages, struct kr_crosscheck_report *r)
{
	if (!vm || !r)
		return kr_err("cross-check: NULL argument (vm %p, report %p)", (void *)vm, (void *)r);
	*r = (struct kr_crosscheck_report){0};
	struct kvm_sregs sregs;
	unsigned maxphyaddr = 0;
	if (need_vcpu(vm) < 0 || kr_vcpu_get_sregs(vm, &sregs) < 0 ||
	    guest_maxphyaddr(vm, &maxphyaddr) < 0)
		return -1;

	struct cc c = {
		.vm = vm,
		.sregs = &sregs,
		.maxphyaddr = maxphyaddr,
		.paging = kr_paging_mode(&sregs),
		.r = r,
		.pages_left = max_pages,
	};
	int rc;
	if (c.paging == KR_PAGING_NONE) {
		rc = check_unpaged(&c);
		if (rc == 0)
			rc = check_list(&c, fixed32, sizeof(fixed32) / sizeof(fixed32[0]));
		return rc;
	}

	c.shape = &shapes[c.paging];
	rc = walk_table(&c, sregs.cr3 & c.shape->cr3_mask, c.shape->top, 0);
	if (rc == 0 && !c.failed)
		rc = end_run(&c);
	if (rc < 0 || c.failed)
		return -1;
	if (c.shape->va_bits == 32)
		return check_list(&c, fixed32, sizeof(fixed32) / sizeof(fixed32[0]));
	if (check_list(&c, fixed64, sizeof(fixed64) / sizeof(fixed64[0])) < 0)
		return -1;
	if (c.paging == KR_PAGING_5LEVEL)
		return check_list(&c, fixed57, sizeof(fixed57) / sizeof(fixed57[0]));
	return 0;
}
