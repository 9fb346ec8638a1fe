/* SPDX-License-Identifier: MIT */
/*
 * gva_write.c - kr_copy_to_gva, the checked write into guest virtual memory.
 *
 * It goes through the same page-by-page translation as kr_copy_from_gva
 * (kr_gva_for_each) in two passes: the first checks every page (mapped,
 * inside a slot, the slot writable), the second writes. So a buffer that
 * ends on an unmapped page leaves the guest's memory as it was, instead of
 * half written. Nothing runs the guest between the passes (a VM is used by
 * one thread at a time) and the first pass writes nothing, so the second
 * pass writes where the first found the pieces, without translating again
 * (each translation is a vCPU ioctl), for buffers of up to WRITE_PIECES
 * pages: the pages written are the pages checked, even for a buffer that
 * lies over the page tables mapping it. Longer ones are translated twice.
 */
#include <string.h>

#include "core/bounds.h"
#include "core/error.h"
#include "core/memory.h"
#include "core/vm.h"
#include "x86/translate.h"

#define WRITE_PIECES 16

struct write_ctx {
	struct kr_vm *vm;
	uint64_t gva;      /* of the next piece, for messages */
	const uint8_t *src;
	bool write;        /* second pass */
	size_t npieces;    /* what the first pass found, while it fits */
	struct {
		void *host;
		size_t n;
	} pieces[WRITE_PIECES];
};

/* The slot whose host memory holds [host, host + n): kr_gpa_ptr found it in one. */
static const struct kr_slot *slot_of(const struct kr_vm *vm, const void *host, size_t n)
{
	uintptr_t h = (uintptr_t)host;
	for (int i = 0; i < KR_MAX_SLOTS; i++) {
		const struct kr_slot *s = &vm->slots[i];
		uintptr_t base = (uintptr_t)s->host;
		if (s->used && h >= base && kr_range_ok(h - base, n, s->size))
			return s;
	}
	return NULL;
}

static int piece(void *ctx, const void *host, size_t n)
{
	struct write_ctx *c = ctx;
	if (c->write) {
		/* Guest memory is the host's own read-write mapping (memory.c); the
		 * const is kr_gva_for_each's, which serves readers too. */
		memcpy((void *)(uintptr_t)host, c->src, n);
		c->src += n;
	} else {
		const struct kr_slot *s = slot_of(c->vm, host, n);
		if (!s)
			return kr_err_code(KR_E_GUEST_MEMORY,
					   "write to guest virtual 0x%llx: no slot holds its memory",
					   (unsigned long long)c->gva);
		if (s->flags & KR_MEM_READONLY)
			return kr_err_code(
				KR_E_GUEST_MEMORY,
				"write to guest virtual 0x%llx: guest physical 0x%llx lies in the "
				"read-only slot [0x%llx, 0x%llx)",
				(unsigned long long)c->gva,
				(unsigned long long)(s->gpa + ((uintptr_t)host - (uintptr_t)s->host)),
				(unsigned long long)s->gpa, (unsigned long long)(s->gpa + s->size));
		if (c->npieces < WRITE_PIECES) {
			/* Guest memory is the host's own read-write mapping (memory.c); the
			 * const is kr_gva_for_each's, which serves readers too. */
			c->pieces[c->npieces].host = (void *)(uintptr_t)host;
			c->pieces[c->npieces].n = n;
		}
		c->npieces++;
	}
	c->gva += n;
	return 0;
}

int kr_copy_to_gva(struct kr_vm *vm, uint64_t gva, const void *src, size_t len)
{
	if (!vm || (!src && len))
		return kr_err_code(KR_E_BAD_ARG, "kr_copy_to_gva needs a VM and a source buffer "
				   "(got NULL)");
	struct write_ctx c = {.vm = vm, .gva = gva, .src = src};
	if (kr_gva_for_each(vm, gva, len, piece, &c) < 0)
		return -1;
	if (c.npieces <= WRITE_PIECES) {
		const uint8_t *from = src;
		for (size_t i = 0; i < c.npieces; i++) {
			memcpy(c.pieces[i].host, from, c.pieces[i].n);
			from += c.pieces[i].n;
		}
		return 0;
	}
	c = (struct write_ctx){.vm = vm, .gva = gva, .src = src, .write = true};
	return kr_gva_for_each(vm, gva, len, piece, &c);
}
