/* SPDX-License-Identifier: MIT */
/*
 * hypercall.c - the guest's calls into kvmrun (the ABI is in kvmrun_abi.h).
 *
 * Everything here comes from the guest and is checked before use: the
 * number, the access size, every pointer (translated page by page through
 * kr_gva_for_each) and every length. A bad call stops the VM with
 * KR_STOP_GUEST_ERROR; it never reaches memory outside the guest.
 */
#include <limits.h>
#include <stdio.h>

#include "internal.h"

/* The host pieces of a WRITE buffer: one per guest page it touches. */
#define MAX_PIECES (KVMRUN_HC_WRITE_MAX / 4096 + 1)

struct pieces {
	size_t n;
	struct {
		const void *host;
		size_t len;
	} p[MAX_PIECES];
};

static int collect_piece(void *ctx, const void *host, size_t n)
{
	struct pieces *ps = ctx;
	if (ps->n == MAX_PIECES)
		return kr_err("more than %d pages", MAX_PIECES);
	ps->p[ps->n].host = host;
	ps->p[ps->n].len = n;
	ps->n++;
	return 0;
}

static int guest_error(struct kr_vm *vm, const char *msg)
{
	kr_vm_stop(vm, KR_STOP_GUEST_ERROR, 0, msg);
	return 0;
}

static int hc_write(struct kr_vm *vm, uint64_t gva, uint64_t len)
{
	char msg[300];
	if (len > KVMRUN_HC_WRITE_MAX) {
		snprintf(msg, sizeof(msg),
			 "hypercall WRITE: length 0x%llx exceeds the limit of 0x%x bytes (buffer 0x%llx)",
			 (unsigned long long)len, KVMRUN_HC_WRITE_MAX, (unsigned long long)gva);
		return guest_error(vm, msg);
	}
	/*
	 * Translate and check the whole buffer first, so a bad one prints
	 * nothing at all; then write the pieces found (one KVM_TRANSLATE per page).
	 */
	struct pieces ps;
	ps.n = 0;
	if (kr_gva_for_each(vm, gva, len, collect_piece, &ps) < 0) {
		snprintf(msg, sizeof(msg), "hypercall WRITE(0x%llx, 0x%llx): %s",
			 (unsigned long long)gva, (unsigned long long)len, kr_last_error());
		return guest_error(vm, msg);
	}
	for (size_t i = 0; i < ps.n; i++)
		if (kr_console_write(vm, ps.p[i].host, ps.p[i].len) < 0)
			return -1;
	/* One hypercall is one message: show it now, even without a newline. */
	return kr_console_flush(vm);
}

/*
 * Whether the vCPU runs 64-bit code now: long mode active (EFER.LMA) and a
 * 64-bit code segment (CS.L). Not the configured mode: a guest may switch
 * modes itself, and compatibility mode (LMA, CS.L clear) is 32-bit code.
 */
static int running_64bit_code(struct kr_vm *vm, bool *wide)
{
	struct kvm_sregs s;
	const struct kvm_sregs *sregs = vm->soft_sregs;
	if (!sregs) {
		if (kr_vcpu_get_sregs(vm, &s) < 0)
			return -1;
		sregs = &s;
	}
	*wide = (sregs->efer & KR_EFER_LMA) && sregs->cs.l;
	return 0;
}

static int hypercall_port(struct kr_vm *vm, void *opaque, uint64_t port, void *data,
			  uint32_t size, bool is_write)
{
	(void)opaque;
	(void)port;
	char msg[160];
	if (!is_write || size != 4) {
		snprintf(msg, sizeof(msg), "hypercall port 0x%x: expected a 32-bit write, got a %u-byte %s",
			 KVMRUN_HYPERCALL_PORT, size, is_write ? "write" : "read");
		return guest_error(vm, msg);
	}
	uint32_t nr;
	__builtin_memcpy(&nr, data, 4);

	struct kvm_regs regs;
	bool wide;
	if (kr_vcpu_get_regs(vm, &regs) < 0 || running_64bit_code(vm, &wide) < 0)
		return -1;
	/* Outside 64-bit mode only the low 32 bits of a register are the guest's. */
	uint64_t mask = wide ? UINT64_MAX : UINT32_MAX;
	return kr_hypercall(vm, nr, regs.rdi & mask, regs.rsi & mask);
}

int kr_hypercall(struct kr_vm *vm, uint32_t nr, uint64_t arg0, uint64_t arg1)
{
	char msg[160];
	switch (nr) {
	case KVMRUN_HC_WRITE:
		return hc_write(vm, arg0, arg1);
	case KVMRUN_HC_EXIT:
		/*
		 * The whole status, not its low byte: cut to 8 bits, 256 would pass
		 * for success. The embedder decides what it accepts (kvmrun: 0..123).
		 */
		snprintf(msg, sizeof(msg), "guest exited with status %llu", (unsigned long long)arg0);
		kr_vm_stop(vm, KR_STOP_EXIT, arg0 > INT_MAX ? INT_MAX : (int)arg0, msg);
		return 0;
	default:
		snprintf(msg, sizeof(msg), "unknown hypercall number %u (rdi=0x%llx rsi=0x%llx)", nr,
			 (unsigned long long)arg0, (unsigned long long)arg1);
		return guest_error(vm, msg);
	}
}

int kr_hypercall_register(struct kr_vm *vm)
{
	return kr_bus_register(vm, KR_SPACE_PIO, KVMRUN_HYPERCALL_PORT, 4, hypercall_port, NULL);
}
