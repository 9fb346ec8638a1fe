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

#include "internal.h"

#define PAGE_SIZE 4096ull

/*
 * Whether the CPU could translate `gva` at all in the vCPU's current mode.
 * KVM_TRANSLATE drops the bits a mode does not use, which would let a guest
 * pass 0x8000000000000000 for 0. Every 48-bit canonical address passes at
 * once; only the rest costs a KVM_GET_SREGS to find the paging mode.
 */
static int address_exists(struct kr_vm *vm, uint64_t gva, bool *exists)
{
	*exists = true;
	if (kr_canonical(gva, 48) && (gva >> 32 == 0 || vm->cfg.mode == KR_MODE_LONG))
		return 0;
	struct kvm_sregs s;
	const struct kvm_sregs *sregs = vm->soft_sregs;
	if (!sregs) {
		if (kr_vcpu_get_sregs(vm, &s) < 0)
			return -1;
		sregs = &s;
	}
	switch (kr_paging_mode(sregs)) {
	case KR_PAGING_5LEVEL:
		*exists = kr_canonical(gva, 57);
		break;
	case KR_PAGING_4LEVEL:
		*exists = kr_canonical(gva, 48);
		break;
	default: /* 32-bit linear addresses */
		*exists = gva >> 32 == 0;
		break;
	}
	return 0;
}

int kr_translate(struct kr_vm *vm, uint64_t gva, struct kr_translation *t)
{
	bool exists;
	if (address_exists(vm, gva, &exists) < 0)
		return -1;
	if (!exists) {
		*t = (struct kr_translation){.gva = gva};
		return 0;
	}
	if (vm->soft_sregs) {
		struct kr_walk w;
		if (kr_walk(vm, vm->soft_sregs, 0, gva, &w) < 0)
			return -1;
		*t = (struct kr_translation){.gva = gva, .gpa = w.gpa, .valid = w.ok,
					     .writeable = w.writable, .usermode = w.user};
		return 0;
	}
	struct kvm_translation tr = {.linear_address = gva};
	if (ioctl(vm->vcpu_fd, KVM_TRANSLATE, &tr) < 0)
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

/*
 * Call `fn` for each piece of [gva, gva + len) that lies within one page,
 * with the host pointer of that piece; stop at the first failure. With fn ==
 * NULL it only checks that the whole buffer is mapped and inside guest memory.
 */
int kr_gva_for_each(struct kr_vm *vm, uint64_t gva, uint64_t len,
		    int (*fn)(void *ctx, const void *host, size_t n), void *ctx)
{
	if (gva + len < gva)
		return kr_err("guest buffer at 0x%llx, length 0x%llx wraps around the address space",
			      (unsigned long long)gva, (unsigned long long)len);
	while (len > 0) {
		uint64_t in_page = PAGE_SIZE - (gva & (PAGE_SIZE - 1));
		uint64_t n = len < in_page ? len : in_page;
		struct kr_translation t;
		if (kr_translate(vm, gva, &t) < 0)
			return -1;
		if (!t.valid)
			return kr_err("guest virtual address 0x%llx is not mapped",
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
