/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pagewalk.c - the software page walker on hostile tables.
 *
 * Input: a 19-byte header, then up to 64 KiB of RAM contents at GPA 0 (the
 * rest of RAM holds the fake VM's fill pattern).
 *   byte 0      bit 0 CR0.PG, bit 1 CR4.PAE, bit 2 CR4.PSE, bit 3 CR4.LA57,
 *               bit 4 EFER.LME, bit 5 EFER.LMA, bit 6 EFER.NXE
 *   bytes 1-8   CR3
 *   byte 9      maxphyaddr (0 and > 52 mean 52, < 32 means 32)
 *   byte 10     RAM size: 2 MiB * (1 + value % 8)
 *   bytes 11-18 the GVA to walk
 *
 * kr_walk must return 0 and describe a walk that agrees with RAM: steps one
 * per level from the top, each entry the bytes at its GPA inside RAM. A
 * translation must have the page size of its last level, keep the offset in
 * the page, stay below 2^maxphyaddr, come from present entries only and have
 * the permissions the entries give. Reads outside RAM are ASan reports.
 */
#include <asm/processor-flags.h>
#include <string.h>

#include "fuzz_common.h"

#define HEADER 19
#define REGION (64u << 10)

static const char *const reasons[] = {"not present", "reserved bit set", "non-canonical address",
				      "table outside guest memory"};

/* The paging mode the registers select (Intel SDM vol. 3, 4.1.1), written out independently. */
static enum kr_paging paging_of(uint8_t bits)
{
	if (!(bits & 1))
		return KR_PAGING_NONE;
	if ((bits & 0x20) || ((bits & 0x10) && (bits & 2)))
		return bits & 8 ? KR_PAGING_5LEVEL : KR_PAGING_4LEVEL;
	return bits & 2 ? KR_PAGING_PAE : KR_PAGING_32;
}

static void check_walk(struct kr_vm *vm, uint8_t bits, unsigned maxphy, const struct kr_walk *w)
{
	static const int tops[] = {[KR_PAGING_32] = 2,
				   [KR_PAGING_PAE] = 3,
				   [KR_PAGING_4LEVEL] = 4,
				   [KR_PAGING_5LEVEL] = 5};
	enum kr_paging paging = paging_of(bits);
	uint64_t gva = w->gva, mem = vm->cfg.mem_size;

	FUZZ_CHECK(w->paging == paging, "paging %d, expected %d", w->paging, paging);
	if (paging == KR_PAGING_NONE) {
		FUZZ_CHECK(w->ok && w->gpa == (gva & 0xffffffffull) && w->nsteps == 0,
			   "unpaged 0x%llx -> 0x%llx", (unsigned long long)gva,
			   (unsigned long long)w->gpa);
		return;
	}
	int top = tops[paging];
	unsigned esize = paging == KR_PAGING_32 ? 4 : 8;
	unsigned m = maxphy == 0 || maxphy > 52 ? 52 : maxphy < 32 ? 32 : maxphy;

	FUZZ_CHECK(w->nsteps >= 0 && w->nsteps <= top, "%d steps, %d levels", w->nsteps, top);
	bool writable = true, user = true, nx = false;
	for (int i = 0; i < w->nsteps; i++) {
		const struct kr_walk_step *s = &w->steps[i];
		uint64_t e = 0;
		FUZZ_CHECK(s->level == top - i, "step %d is level %d", i, s->level);
		FUZZ_CHECK(s->entry_gpa <= mem - esize && !(s->entry_gpa & (esize - 1)),
			   "step %d: entry at 0x%llx", i, (unsigned long long)s->entry_gpa);
		memcpy(&e, vm->ram + s->entry_gpa, esize);
		FUZZ_CHECK(e == s->entry, "step %d: entry 0x%llx, RAM has 0x%llx", i,
			   (unsigned long long)s->entry, (unsigned long long)e);
		if (i < w->nsteps - 1 || w->ok)
			FUZZ_CHECK(e & 1, "step %d: walked through a non-present entry", i);
		if (!(paging == KR_PAGING_PAE && s->level == 3)) {
			writable = writable && (e & 2);
			user = user && (e & 4);
			nx = nx || ((bits & 0x40) && (e >> 63));
		}
	}

	if (!w->ok) {
		bool known = false;
		for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
			known = known || (w->fail_reason && !strcmp(w->fail_reason, reasons[i]));
		FUZZ_CHECK(known, "fail_reason \"%s\"", w->fail_reason ? w->fail_reason : "(null)");
		FUZZ_CHECK(w->fail_level >= 0 && w->fail_level <= top, "fail_level %d",
			   w->fail_level);
		if (!strcmp(w->fail_reason, "not present"))
			FUZZ_CHECK(w->nsteps > 0 && !(w->steps[w->nsteps - 1].entry & 1) &&
				       w->fail_level == w->steps[w->nsteps - 1].level,
				   "not present at level %d", w->fail_level);
		if (!strcmp(w->fail_reason, "non-canonical address")) {
			unsigned va_bits = paging == KR_PAGING_5LEVEL ? 57 : 48;
			FUZZ_CHECK(paging >= KR_PAGING_4LEVEL && w->nsteps == 0 &&
				       !kr_canonical(gva, va_bits),
				   "0x%llx called non-canonical", (unsigned long long)gva);
		}
		if (!strcmp(w->fail_reason, "table outside guest memory"))
			FUZZ_CHECK(w->fail_level == top - w->nsteps,
				   "outside memory at level %d after "
				   "%d steps",
				   w->fail_level, w->nsteps);
		return;
	}

	FUZZ_CHECK(w->fail_reason == NULL && w->nsteps > 0, "ok with reason or no steps");
	int leaf = w->steps[w->nsteps - 1].level;
	uint64_t ps = w->page_size;
	bool size_ok;
	switch (leaf) {
	case 1:
		size_ok = ps == 0x1000;
		break;
	case 2:
		size_ok = ps == (paging == KR_PAGING_32 ? 4ull << 20 : 2ull << 20);
		break;
	case 3:
		size_ok = paging >= KR_PAGING_4LEVEL && ps == 1ull << 30;
		break;
	default:
		size_ok = false;
	}
	FUZZ_CHECK(size_ok, "page size 0x%llx from a level-%d entry (%s)", (unsigned long long)ps,
		   leaf, kr_paging_name(paging));
	FUZZ_CHECK((w->gpa & (ps - 1)) == (gva & (ps - 1)),
		   "0x%llx -> 0x%llx moves within its 0x%llx-byte page", (unsigned long long)gva,
		   (unsigned long long)w->gpa, (unsigned long long)ps);
	unsigned width = paging != KR_PAGING_32 ? m : ps == 0x1000 ? 32 : m < 40 ? m : 40;
	FUZZ_CHECK(w->gpa >> width == 0, "gpa 0x%llx has more than %u bits",
		   (unsigned long long)w->gpa, width);
	FUZZ_CHECK(w->writable == writable && w->user == user && w->nx == nx,
		   "permissions w%d u%d nx%d, entries give w%d u%d nx%d", w->writable, w->user,
		   w->nx, writable, user, nx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t bits = fuzz_u8(&in);
	struct kvm_sregs sregs;
	memset(&sregs, 0, sizeof(sregs));
	sregs.cr0 = X86_CR0_PE | (bits & 1 ? X86_CR0_PG : 0);
	sregs.cr4 = (bits & 2 ? X86_CR4_PAE : 0) | (bits & 4 ? X86_CR4_PSE : 0) |
		    (bits & 8 ? X86_CR4_LA57 : 0);
	sregs.efer = (bits & 0x10 ? KR_EFER_LME : 0) | (bits & 0x20 ? KR_EFER_LMA : 0) |
		     (bits & 0x40 ? KR_EFER_NXE : 0);
	sregs.cr3 = fuzz_u64(&in);
	unsigned maxphy = fuzz_u8(&in);
	uint64_t mem = (2ull << 20) * (1 + fuzz_u8(&in) % 8);
	uint64_t gva = fuzz_u64(&in);
	size_t n = in.n < REGION ? in.n : REGION;

	struct kr_vm *vm = fuzz_vm(KR_MODE_LONG, mem);
	memcpy(vm->ram, in.p, n);

	struct kr_walk w;
	memset(&w, 0x5a, sizeof(w)); /* kr_walk must set every field */
	FUZZ_CHECK(kr_walk(vm, &sregs, maxphy, gva, &w) == 0, "kr_walk returned -1");
	fuzz_log("walk %s 0x%llx: %s 0x%llx (page 0x%llx, w%d u%d nx%d), %d steps",
		 kr_paging_name(w.paging), (unsigned long long)gva, w.ok ? "->" : w.fail_reason,
		 (unsigned long long)w.gpa, (unsigned long long)w.page_size, w.writable, w.user,
		 w.nx, w.nsteps);
	FUZZ_CHECK(w.gva == gva, "gva 0x%llx", (unsigned long long)w.gva);
	check_walk(vm, bits, maxphy, &w);

	fuzz_ram_restore(vm, 0, n);
	return 0;
}
