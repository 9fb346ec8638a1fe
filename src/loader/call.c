/* SPDX-License-Identifier: MIT */
/*
 * call.c - calling a function of a 64-bit guest by name (kr_vm_call).
 *
 * The System V x86-64 convention on a vCPU the guest's init left in long
 * mode: integer arguments in RDI, RSI, RDX, RCX, R8, R9, the result in RAX.
 * The call's stack and its buffers live in the guest's kr_call_area (the
 * SDK's, in its bss); the return address is the SDK's kr_call_return, a
 * HLT, so a function that returns stops the vCPU there with RSP back at the
 * top of the area, and nothing else looks like that. Every guest address is
 * written and read through kr_copy_to_gva/kr_copy_from_gva (page by page,
 * checked), and the symbols come from the checked copy in loader/symbols.c.
 *
 * What kvmrun writes into the area is zeroed after the call: KVM's dirty
 * log does not see the host's writes, so kr_vm_reset would not undo them,
 * and one request's buffers must not be readable by the next. A zeroing
 * that fails (the guest broke its page tables before crashing) is kept and
 * done before the next call, after the reset that call needs anyway.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/error.h"
#include "core/run.h"
#include "core/vm.h"
#include "loader/symbols.h"
#include "x86/x86.h"

#define RFLAGS_FIXED 0x2u /* bit 1 is always set; IF clear: no interrupts in a call */
#define HLT_OPCODE 0xf4u

/* A range of the call area kvmrun wrote and must zero again. */
struct scrub {
	uint64_t gva, len;
};

/* Per VM: what is still to be zeroed (KR_CALL_MAX_ARGS buffers and the return address). */
struct call_state {
	size_t nscrub;
	struct scrub scrub[KR_CALL_MAX_ARGS + 1];
};

static void call_destroy(struct kr_vm *vm, void *opaque)
{
	(void)vm;
	free(opaque);
}

static const struct kr_hooks call_hooks = {
	.name = "call",
	.on_destroy = call_destroy,
};

static struct call_state *call_state(struct kr_vm *vm)
{
	return kr_vm_module_state(vm, &call_hooks, sizeof(struct call_state));
}

static const uint8_t zeros[4096];

/* Write `len` zero bytes at gva. */
static int write_zeros(struct kr_vm *vm, uint64_t gva, uint64_t len)
{
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < sizeof(zeros) ? (size_t)(len - done) : sizeof(zeros);
		if (kr_copy_to_gva(vm, gva + done, zeros, n) < 0)
			return -1;
		done += n;
	}
	return 0;
}

/* Zero what earlier writes left; what fails stays listed for the next try. */
static int scrub(struct kr_vm *vm, struct call_state *cs)
{
	while (cs->nscrub > 0) {
		const struct scrub *s = &cs->scrub[cs->nscrub - 1];
		if (write_zeros(vm, s->gva, s->len) < 0)
			return kr_err_context("call: zeroing the %llu bytes at 0x%llx the last call "
					      "wrote into the call area (reset the VM first)",
					      (unsigned long long)s->len, (unsigned long long)s->gva);
		cs->nscrub--;
	}
	return 0;
}

/* After a failed call: zero what it wrote, but the error stays the call's. */
static void scrub_keeping_error(struct kr_vm *vm, struct call_state *cs)
{
	char msg[1024];
	int code = kr_last_error_code();
	snprintf(msg, sizeof(msg), "%s", kr_last_error());
	if (scrub(vm, cs) < 0)
		kr_err_code(code, "%s", msg); /* the list stays for the next call */
}

/* The function, the return HLT and the area, each checked. */
struct call_target {
	uint64_t fn, ret, area, area_size, top;
};

static int find_target(struct kr_vm *vm, const char *name, struct call_target *t)
{
	const struct kr_symbol *fn = kr_symbols_find(vm, name);
	if (!fn)
		return kr_err_context("call %.*s", (int)KR_SYMBOL_NAME_MAX, name);
	if (fn->type == STT_OBJECT)
		return kr_err_code(KR_E_BAD_ARG, "call %s: the symbol is data (STT_OBJECT), not a "
						 "function", fn->name);
	const struct kr_symbol *ret = kr_symbols_find(vm, KR_CALL_RETURN_SYMBOL);
	const struct kr_symbol *area = ret ? kr_symbols_find(vm, KR_CALL_AREA_SYMBOL) : NULL;
	if (!ret || !area)
		return kr_err_context("call %s: the guest lacks what the SDK's crt0.S provides",
				      fn->name);
	if (!kr_canonical(fn->value, 48) || !kr_canonical(ret->value, 48))
		return kr_err_code(KR_E_BAD_IMAGE, "call %s: the function (0x%llx) or %s (0x%llx) "
						   "is not a canonical address",
				   fn->name, (unsigned long long)fn->value, KR_CALL_RETURN_SYMBOL,
				   (unsigned long long)ret->value);
	/* The area must hold a stack and not wrap; its top is where RSP starts. */
	if (area->size < KR_CALL_MIN_STACK + 16 || area->value > UINT64_MAX - area->size)
		return kr_err_code(KR_E_BAD_IMAGE, "call %s: %s (0x%llx, %llu bytes) is smaller "
						   "than %u bytes or wraps",
				   fn->name, KR_CALL_AREA_SYMBOL, (unsigned long long)area->value,
				   (unsigned long long)area->size, KR_CALL_MIN_STACK + 16);
	*t = (struct call_target){.fn = fn->value,
				  .ret = ret->value,
				  .area = area->value,
				  .area_size = area->size,
				  .top = (area->value + area->size) & ~(uint64_t)15};
	/* It must really be a HLT: a call returns there and is recognised by it. */
	uint8_t op = 0;
	if (kr_copy_from_gva(vm, t->ret, &op, 1) < 0)
		return kr_err_context("call %s: reading %s", fn->name, KR_CALL_RETURN_SYMBOL);
	if (op != HLT_OPCODE)
		return kr_err_code(KR_E_BAD_IMAGE, "call %s: %s at 0x%llx is byte 0x%02x, not HLT "
						   "(0xf4)",
				   fn->name, KR_CALL_RETURN_SYMBOL, (unsigned long long)t->ret, op);
	return 0;
}

static bool is_buffer(const struct kr_call_arg *a)
{
	return a->kind != KR_CALL_ARG_INT;
}

/* Each buffer's guest address, 16-byte aligned from the bottom of the area. */
static int place_buffers(const char *name, const struct kr_call_arg *args, size_t nargs,
			 const struct call_target *t, uint64_t *gva)
{
	uint64_t room = t->top - t->area - KR_CALL_MIN_STACK, off = 0;

	for (size_t i = 0; i < nargs; i++) {
		const struct kr_call_arg *a = &args[i];
		if (a->kind > KR_CALL_ARG_INOUT)
			return kr_err_code(KR_E_BAD_ARG, "call %s: argument %zu has kind %d, not a "
							 "kr_call_arg_kind",
					   name, i, (int)a->kind);
		if (!is_buffer(a))
			continue;
		if (!a->buf && a->len)
			return kr_err_code(KR_E_BAD_ARG, "call %s: argument %zu is a buffer of %zu "
							 "bytes at NULL",
					   name, i, a->len);
		off = (off + 15) & ~(uint64_t)15;
		if (off > room || a->len > room - off)
			return kr_err_code(KR_E_BAD_ARG, "call %s: the buffers (argument %zu: %zu "
							 "bytes) do not fit in the %llu bytes of %s "
							 "left beside the call's stack",
					   name, i, a->len, (unsigned long long)room,
					   KR_CALL_AREA_SYMBOL);
		gva[i] = t->area + off;
		off += a->len;
	}
	return 0;
}

/* Copy the buffers in (OUT ones as zeros); listed for zeroing before they are written. */
static int copy_in(struct kr_vm *vm, struct call_state *cs, const char *name,
		   const struct kr_call_arg *args, size_t nargs, const uint64_t *gva)
{
	for (size_t i = 0; i < nargs; i++) {
		const struct kr_call_arg *a = &args[i];
		if (!is_buffer(a) || a->len == 0)
			continue;
		cs->scrub[cs->nscrub++] = (struct scrub){gva[i], a->len};
		int rc = a->kind == KR_CALL_ARG_OUT ? write_zeros(vm, gva[i], a->len) :
						      kr_copy_to_gva(vm, gva[i], a->buf, a->len);
		if (rc < 0)
			return kr_err_context("call %s: copying argument %zu (%zu bytes) to 0x%llx",
					      name, i, a->len, (unsigned long long)gva[i]);
	}
	return 0;
}

static int copy_out(struct kr_vm *vm, const char *name, const struct kr_call_arg *args,
		    size_t nargs, const uint64_t *gva)
{
	for (size_t i = 0; i < nargs; i++) {
		const struct kr_call_arg *a = &args[i];
		if ((a->kind != KR_CALL_ARG_OUT && a->kind != KR_CALL_ARG_INOUT) || a->len == 0)
			continue;
		if (kr_copy_from_gva(vm, gva[i], a->buf, a->len) < 0)
			return kr_err_context("call %s: copying argument %zu (%zu bytes) back from "
					      "0x%llx",
					      name, i, a->len, (unsigned long long)gva[i]);
	}
	return 0;
}

/*
 * An exit KVM has not completed (the OUT of the EXIT hypercall that ended
 * the guest's init, on hardware) is completed at the next KVM_RUN, over the
 * registers set here (an IN or MMIO read writes a register): finish it first.
 */
static int complete_pending_exit(struct kr_vm *vm)
{
	uint32_t why = kr_vcpu_current(vm)->run->exit_reason;
	if (why != KVM_EXIT_IO && why != KVM_EXIT_MMIO)
		return 0;
	if (kr_vcpu_complete_exit(vm, "call") < 0)
		return -1;
	/* So that the next call does not do it again (KVM leaves the field as it was). */
	kr_vcpu_current(vm)->run->exit_reason = KVM_EXIT_INTR;
	return 0;
}

/* The registers of the call: the guest's state at its stop, then the ABI's. */
static int set_call_regs(struct kr_vm *vm, const struct call_target *t,
			 const struct kr_call_arg *args, size_t nargs, const uint64_t *gva)
{
	struct kvm_regs r;
	if (kr_vcpu_get_regs(vm, &r) < 0)
		return -1;
	uint64_t v[KR_CALL_MAX_ARGS] = {0};
	for (size_t i = 0; i < nargs; i++)
		v[i] = is_buffer(&args[i]) ? gva[i] : args[i].value;
	r.rdi = v[0];
	r.rsi = v[1];
	r.rdx = v[2];
	r.rcx = v[3];
	r.r8 = v[4];
	r.r9 = v[5];
	r.rax = 0; /* for a variadic function: no vector registers used */
	r.rbp = 0; /* the end of the frame chain */
	r.rip = t->fn;
	r.rsp = t->top - 8; /* = 8 mod 16 at entry, as after a call instruction */
	r.rflags = RFLAGS_FIXED;
	return kr_vcpu_set_regs(vm, &r);
}

static int check_callable(struct kr_vm *vm, const char *name, const struct kr_call_arg *args,
			  size_t nargs)
{
	if (!vm || !name)
		return kr_err_code(KR_E_BAD_ARG, "call: kr_vm_call needs a VM and a name (got NULL)");
	if (nargs > KR_CALL_MAX_ARGS)
		return kr_err_code(KR_E_BAD_ARG, "call %.*s: %zu arguments, more than the %d that "
						 "go in registers (RDI, RSI, RDX, RCX, R8, R9)",
				   (int)KR_SYMBOL_NAME_MAX, name, nargs, KR_CALL_MAX_ARGS);
	if (nargs && !args)
		return kr_err_code(KR_E_BAD_ARG, "call %.*s: %zu arguments at NULL",
				   (int)KR_SYMBOL_NAME_MAX, name, nargs);
	if (vm->cfg.mode != KR_MODE_LONG)
		return kr_err_code(KR_E_BAD_ARG, "call %.*s: the VM is in %s mode; calls need long "
						 "mode (the System V x86-64 convention)",
				   (int)KR_SYMBOL_NAME_MAX, name, kr_mode_name(vm->cfg.mode));
	if (!vm->prepared)
		return kr_err("call %.*s: the vCPU was never prepared: load the guest, call "
			      "kr_vcpu_prepare() and run its init first",
			      (int)KR_SYMBOL_NAME_MAX, name);
	return 0;
}

/* Did the run end at kr_call_return, with the stack as the call left it? */
static bool returned(const struct kr_stop *stop, const struct call_target *t)
{
	return stop->reason == KR_STOP_HLT && stop->have_state && stop->regs.rip == t->ret + 1 &&
	       stop->regs.rsp == t->top;
}

int kr_vm_call(struct kr_vm *vm, const char *name, const struct kr_call_arg *args, size_t nargs,
	       const struct kr_call_options *opt, uint64_t *result, struct kr_stop *stop)
{
	struct kr_stop local;
	struct call_target t = {0};
	uint64_t gva[KR_CALL_MAX_ARGS] = {0};
	struct call_state *cs;

	if (!stop)
		stop = &local;
	memset(stop, 0, sizeof(*stop));
	stop->reason = KR_STOP_REQUESTED;
	/* The call runs on vCPU 0 alone and needs kr_vm_reset after a failure. */
	if (kr_vm_need_one_cpu(vm, "call") < 0)
		return -1;
	if (check_callable(vm, name, args, nargs) < 0 || !(cs = call_state(vm)))
		return -1;
	if (opt && opt->reset && kr_vm_reset(vm, opt->reset) < 0)
		return kr_err_context("call %s: reset before the call", name);
	if (scrub(vm, cs) < 0)
		return -1;
	if (vm->cannot_resume)
		return kr_err("call %s: the VM cannot run after %s; reset it (kr_vm_reset, or "
			      "kr_call_options.reset)",
			      name, vm->cannot_resume_why);
	if (find_target(vm, name, &t) < 0 || place_buffers(name, args, nargs, &t, gva) < 0)
		return -1;
	int rc = copy_in(vm, cs, name, args, nargs, gva);
	if (rc == 0) {
		uint64_t ret = t.ret;
		cs->scrub[cs->nscrub++] = (struct scrub){t.top - 8, 8};
		if (kr_copy_to_gva(vm, t.top - 8, &ret, sizeof(ret)) < 0)
			rc = kr_err_context("call %s: writing the return address", name);
	}
	if (rc == 0)
		rc = complete_pending_exit(vm);
	if (rc == 0)
		rc = set_call_regs(vm, &t, args, nargs, gva);
	if (rc == 0 && kr_vm_run(vm, stop) < 0)
		rc = kr_err_context("call %s", name);
	if (rc == 0 && !returned(stop, &t)) {
		/* Stopped mid-function: its state is no place to run or call from. */
		if (!vm->cannot_resume) {
			vm->cannot_resume = true;
			snprintf(vm->cannot_resume_why, sizeof(vm->cannot_resume_why),
				 "a call of %.40s that did not return (%s: %.100s)", name,
				 kr_stop_reason_name(stop->reason), stop->message);
		}
		rc = kr_err_code(KR_E_GUEST_STOPPED, "call %s: the function did not return: %s: %s",
				 name, kr_stop_reason_name(stop->reason), stop->message);
	}
	if (rc == 0)
		rc = copy_out(vm, name, args, nargs, gva);
	if (rc == 0 && result)
		*result = stop->regs.rax;
	if (rc == 0)
		return scrub(vm, cs);
	scrub_keeping_error(vm, cs);
	return -1;
}

int kr_vm_symbol(struct kr_vm *vm, const char *name, uint64_t *addr, uint64_t *size)
{
	if (!vm || !name)
		return kr_err_code(KR_E_BAD_ARG, "symbols: kr_vm_symbol needs a VM and a name");
	const struct kr_symbol *s = kr_symbols_find(vm, name);
	if (!s)
		return -1;
	if (addr)
		*addr = s->value;
	if (size)
		*size = s->size;
	return 0;
}
