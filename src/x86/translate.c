/* SPDX-License-Identifier: MIT */
/*
 * translate.c - step 9: guest virtual addresses.
 *
 * KVM_TRANSLATE walks the guest's page tables in the vCPU's current mode, as
 * the CPU would. A guest buffer is contiguous only in virtual memory, so it is
 * translated and checked one page at a time: the pages behind it may be
 * anywhere in guest physical memory, or absent.
 */
#include <string.h>
#include <sys/ioctl.h>

#include "core/error.h"
#include "core/vm.h"
#include "x86/translate.h"
#include "x86/x86.h"

/*
 * Linear addresses exist up to 4 GiB in every mode; above, only in long mode
 * (48-bit canonical, or 57-bit with LA57). KVM_TRANSLATE drops the bits a
 * mode does not use, which would let a guest pass 0x8000000000000000 for 0,
 * or 0x100000000 for 0 in a 32-bit mode. Which mode is the vCPU's current
 * one (the guest may have switched), not the configured one: it costs a
 * KVM_GET_SREGS, paid only for addresses at or above 4 GiB.
 */
static int current_paging(struct kr_vm *vm, enum kr_paging *paging)
{
	struct kvm_sregs s;
	const struct kvm_sregs *sregs = vm->soft_sregs;
	if (!sregs) { /* on the exit path: the copy KVM_CAP_SYNC_REGS left, no ioctl */
		if (kr_vcpu_get_sregs(vm, &s) < 0)
			return -1;
		sregs = &s;
	}
	*paging = kr_paging_mode(sregs);
	return 0;
}

static bool address_exists(enum kr_paging paging, uint64_t gva)
{
	switch (paging) {
	case KR_PAGING_5LEVEL:
		return kr_canonical(gva, 57);
	case KR_PAGING_4LEVEL:
		return kr_canonical(gva, 48);
	default: /* 32-bit linear addresses */
		return gva >> 32 == 0;
	}
}

/* Translate `gva`, which exists in the vCPU's current mode. */
static int translate_existing(struct kr_vm *vm, uint64_t gva, struct kr_translation *t)
{
	/*
	 * KVM_TRANSLATE, also for a hypercall's buffer on the exit path: the
	 * guest's tables as KVM itself reads them (one ioctl per page). Only a VM
	 * without a vCPU (unit tests, fuzzers) walks them in software.
	 */
	if (vm->soft_sregs) {
		struct kr_walk w;
		if (kr_walk(vm, vm->soft_sregs, 0, gva, &w) < 0)
			return -1;
		*t = (struct kr_translation){.gva = gva, .gpa = w.gpa, .valid = w.ok,
					     .writeable = w.writable, .usermode = w.user};
		return 0;
	}
	struct kvm_translation tr = {.linear_address = gva};
	if (ioctl(kr_vcpu_current(vm)->fd, KVM_TRANSLATE, &tr) < 0)
		return kr_err_sys("translate: ioctl KVM_TRANSLATE(gva=0x%llx)",
				  (unsigned long long)gva);
	*t = (struct kr_translation){
		.gva = gva,
		.gpa = tr.physical_address,
		.valid = tr.valid,
		.writeable = tr.writeable,
		.usermode = tr.usermode,
	};
	return 0;
}

int kr_translate(struct kr_vm *vm, uint64_t gva, struct kr_translation *t)
{
	enum kr_paging paging = KR_PAGING_NONE;
	if (gva >> 32 != 0 && current_paging(vm, &paging) < 0)
		return -1;
	if (!address_exists(paging, gva)) {
		*t = (struct kr_translation){.gva = gva};
		return 0;
	}
	return translate_existing(vm, gva, t);
}

/*
 * Call `fn` for each piece of [gva, gva + len) that lies within one page,
 * with the host pointer of that piece; stop at the first failure. With fn ==
 * NULL it only checks that the whole buffer is mapped and inside guest memory.
 */
int kr_gva_for_each(struct kr_vm *vm, uint64_t gva, uint64_t len,
		    int (*fn)(void *ctx, const void *host, size_t n), void *ctx)
{
	if (gva + len < gva)
		return kr_err_code(KR_E_GUEST_MEMORY,
				   "guest buffer at 0x%llx, length 0x%llx wraps around the "
				   "address space",
				   (unsigned long long)gva, (unsigned long long)len);
	/* The mode once per buffer, and only if it reaches 4 GiB. */
	enum kr_paging paging = KR_PAGING_NONE;
	if (len > 0 && (gva + len - 1) >> 32 != 0 && current_paging(vm, &paging) < 0)
		return -1;
	while (len > 0) {
		uint64_t in_page = KR_PAGE_4K - (gva & (KR_PAGE_4K - 1));
		uint64_t n = len < in_page ? len : in_page;
		struct kr_translation t = {.gva = gva};
		if (address_exists(paging, gva) && translate_existing(vm, gva, &t) < 0)
			return -1;
		if (!t.valid)
			return kr_err_code(KR_E_GUEST_MEMORY,
					   "guest virtual address 0x%llx is not mapped",
					   (unsigned long long)gva);
		const void *host = kr_gpa_ptr(vm, t.gpa, n);
		if (!host)
			return kr_err_context("guest virtual address 0x%llx (physical 0x%llx)",
					      (unsigned long long)gva, (unsigned long long)t.gpa);
		if (fn && fn(ctx, host, (size_t)n) < 0)
			return -1;
		gva += n;
		len -= n;
	}
	return 0;
}

struct copy_ctx {
	uint8_t *dst;
};

static int copy_piece(void *ctx, const void *host, size_t n)
{
	struct copy_ctx *c = ctx;
	memcpy(c->dst, host, n);
	c->dst += n;
	return 0;
}

int kr_copy_from_gva(struct kr_vm *vm, uint64_t gva, void *dst, size_t len)
{
	struct copy_ctx c = {dst};
	return kr_gva_for_each(vm, gva, len, copy_piece, &c);
}
