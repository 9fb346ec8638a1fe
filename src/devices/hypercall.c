/* SPDX-License-Identifier: MIT */
/*
 * hypercall.c - the guest's calls into kvmrun (the ABI is in kvmrun_abi.h).
 *
 * The port checks the call and dispatches it through a table the modules
 * fill (kr_hypercall_add): the console serves WRITE, the board EXIT. A
 * handler gets its arguments masked to the width of the calling code.
 * Everything here comes from the guest and is checked before use: the
 * number, the access size, and (in the handlers) every pointer and length.
 * A bad call stops the VM with KR_STOP_GUEST_ERROR; it never reaches memory
 * outside the guest.
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/vm.h"
#include "devices/hypercall.h"
#include "x86/x86.h"

struct hypercall_table {
	size_t n;
	struct {
		uint32_t nr;
		kr_hypercall_fn fn;
		void *opaque;
	} e[KR_MAX_HYPERCALLS];
};

static void on_destroy(struct kr_vm *vm, void *opaque)
{
	(void)vm;
	free(opaque);
}

static const struct kr_hooks hypercall_hooks = {.name = "hypercall port", .on_destroy = on_destroy};

int kr_hypercall_guest_error(struct kr_vm *vm, const char *msg)
{
	kr_vm_stop(vm, KR_STOP_GUEST_ERROR, 0, msg);
	return 0;
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
		return kr_hypercall_guest_error(vm, msg);
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
	const struct hypercall_table *t = kr_vm_module(vm, &hypercall_hooks);
	for (size_t i = 0; t && i < t->n; i++)
		if (t->e[i].nr == nr)
			return t->e[i].fn(vm, t->e[i].opaque, arg0, arg1);
	char msg[160];
	snprintf(msg, sizeof(msg), "unknown hypercall number %u (rdi=0x%llx rsi=0x%llx)", nr,
		 (unsigned long long)arg0, (unsigned long long)arg1);
	return kr_hypercall_guest_error(vm, msg);
}

int kr_hypercall_add(struct kr_vm *vm, uint32_t nr, kr_hypercall_fn fn, void *opaque)
{
	struct hypercall_table *t = kr_vm_module(vm, &hypercall_hooks);
	if (!t)
		return kr_err("hypercall %u: the VM has no hypercall port", nr);
	for (size_t i = 0; i < t->n; i++)
		if (t->e[i].nr == nr)
			return kr_err("hypercall %u: already served", nr);
	if (t->n == KR_MAX_HYPERCALLS)
		return kr_err("hypercall %u: all %d entries are in use", nr, KR_MAX_HYPERCALLS);
	t->e[t->n].nr = nr;
	t->e[t->n].fn = fn;
	t->e[t->n].opaque = opaque;
	t->n++;
	return 0;
}

int kr_hypercall_register(struct kr_vm *vm)
{
	struct hypercall_table *t = calloc(1, sizeof(*t));
	if (!t)
		return kr_err_sys("hypercall port: calloc(%zu)", sizeof(*t));
	if (kr_vm_add_module(vm, &hypercall_hooks, t) < 0) {
		free(t);
		return -1;
	}
	return kr_bus_register(vm, KR_SPACE_PIO, KVMRUN_HYPERCALL_PORT, 4, hypercall_port, t);
}
