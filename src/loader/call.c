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
 * written and read page by page, checked as kr_copy_to_gva/kr_copy_from_gva
 * do (area_copy), and the symbols come from the checked copy in
 * loader/symbols.c.
 *
 * What kvmrun writes into the area is zeroed after the call: KVM's dirty
 * log does not see the host's writes, so kr_vm_reset would not undo them,
 * and one request's buffers must not be readable by the next. The zeroing
 * goes to the guest physical bytes the writes went to (noted as they were
 * written), not to wherever the area is mapped after the run. Where those
 * were not all noted it goes through the area's virtual addresses, and if
 * that fails (the guest broke its page tables before crashing) it is kept
 * and done before the next call, after the reset that call needs anyway.
 *
 * Calls with a reset (the pool's case) translate nothing after the first:
 * - kvmrun notes the guest physical pages it writes, and after the reset of
 *   the next call copies them back from the snapshot, so that then all of
 *   RAM is the snapshot's (the rest is KVM's dirty log), and with it the
 *   special registers: the state the first call after a reset to this
 *   snapshot saw.
 * - A translation is a function of that state (CR0, CR3, CR4, EFER and the
 *   page-table entries the walk reads), so those made between a reset to a
 *   snapshot and the run hold after every later reset to it. They are kept
 *   per snapshot id, with the table pages the walk read (kr_walk under the
 *   snapshot's special registers, where it agrees with KVM_TRANSLATE): a
 *   write of kvmrun's own into one of those drops them all, since it
 *   changed the tables (the guest is free to map the call area over its
 *   page tables). Between a run and the next reset nothing is kept: the
 *   guest may have changed its tables.
 * The guest can change its page tables (they are in RAM, mapped writable
 * like the rest), so nothing is kept across runs without a reset.
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
#include "x86/snapshot.h"
#include "x86/x86.h"

#define RFLAGS_FIXED 0x2u /* bit 1 is always set; IF clear: no interrupts in a call */
#define HLT_OPCODE 0xf4u

#define SCRUB_PIECES 17 /* a buffer of up to 16 pages, not page aligned */

/*
 * A range of the call area kvmrun wrote and must zero again, and where the
 * write went (placed: all of it, in pieces of guest physical memory), so
 * that the zeroing goes to the same bytes without translating again, even
 * if the guest mapped the area elsewhere meanwhile.
 */
struct scrub {
	uint64_t gva, len;
	bool placed;
	size_t npieces;
	struct {
		uint64_t gpa, n;
	} pieces[SCRUB_PIECES];
};

#define CACHE_PAGES 32 /* translations kept per snapshot */
#define HOST_PAGES 64  /* guest pages kvmrun wrote that a reset puts back */
#define CACHE_TABLES (CACHE_PAGES * KR_WALK_MAX_LEVELS)

/* A guest virtual page and the guest physical page it maps to. */
struct page_map {
	uint64_t gva, gpa;
};

/*
 * Per VM: what is still to be zeroed (KR_CALL_MAX_ARGS buffers and the
 * return address); the translations kept for snapshot snap_id (0: none) and
 * the table pages they read; the guest physical pages written since the
 * last reset (host_lost: more than fit, or not RAM).
 */
struct call_state {
	size_t nscrub;
	struct scrub scrub[KR_CALL_MAX_ARGS + 1];
	uint64_t snap_id;
	size_t nmap, ntables;
	struct page_map map[CACHE_PAGES];
	uint64_t tables[CACHE_TABLES];
	size_t nhost;
	bool host_lost;
	uint64_t host[HOST_PAGES];
	uint64_t no_cache_id; /* a snapshot some of whose pages kvmrun overwrote without note */
	/* this call: the snapshot the VM was just reset to, until the run (NULL: none) */
	const struct kr_snapshot *at;
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

/* ---- the call area: guest virtual memory as the call sees it ----------------- */

static void cache_drop(struct call_state *cs)
{
	cs->snap_id = 0;
	cs->nmap = cs->ntables = 0;
}

/*
 * Keep the translation of page gva -> gpa for the snapshot the VM was reset
 * to, with the table pages the walk reads; not if the software walk does
 * not reach the same page as KVM did, or there is no room.
 */
static void cache_add(struct kr_vm *vm, struct call_state *cs, uint64_t gva, uint64_t gpa)
{
	struct kr_walk w;
	if (cs->nmap >= CACHE_PAGES || cs->ntables + KR_WALK_MAX_LEVELS > CACHE_TABLES ||
	    kr_walk(vm, kr_snapshot_sregs(cs->at), 0, gva, &w) < 0 || !w.ok ||
	    (w.gpa & ~(uint64_t)(KR_PAGE_4K - 1)) != gpa)
		return;
	for (int i = 0; i < w.nsteps; i++)
		cs->tables[cs->ntables++] = w.steps[i].entry_gpa & ~(uint64_t)(KR_PAGE_4K - 1);
	cs->map[cs->nmap++] = (struct page_map){gva, gpa};
}

/* The guest physical page of virtual page gva: kept, or KVM_TRANSLATE. */
static int page_gpa(struct kr_vm *vm, struct call_state *cs, uint64_t gva, uint64_t *gpa)
{
	for (size_t i = 0; cs->at && i < cs->nmap; i++)
		if (cs->map[i].gva == gva) {
			*gpa = cs->map[i].gpa;
			return 0;
		}
	struct kr_translation t;
	if (kr_translate(vm, gva, &t) < 0)
		return -1;
	if (!t.valid)
		return kr_err_code(KR_E_GUEST_MEMORY, "guest virtual address 0x%llx is not mapped",
				   (unsigned long long)gva);
	*gpa = t.gpa & ~(uint64_t)(KR_PAGE_4K - 1);
	if (cs->at)
		cache_add(vm, cs, gva, *gpa);
	return 0;
}

/* kvmrun is about to write guest physical page gpa: note it, drop what it invalidates. */
static void host_writes(struct kr_vm *vm, struct call_state *cs, uint64_t gpa)
{
	bool known = false;
	for (size_t i = 0; i < cs->nhost && !known; i++)
		known = cs->host[i] == gpa;
	if (!known) {
		if (cs->nhost < HOST_PAGES && gpa < vm->slots[0].size)
			cs->host[cs->nhost++] = gpa;
		else
			cs->host_lost = true;
	}
	for (size_t i = 0; i < cs->ntables; i++)
		if (cs->tables[i] == gpa) {
			cache_drop(cs); /* a page table: the walks kept may differ now */
			return;
		}
}

enum area_op { AREA_READ, AREA_WRITE, AREA_ZERO };

/*
 * Copy between host buf and guest virtual [gva, gva + len), page by page;
 * a write checks every page (mapped, in guest memory, not a read-only slot)
 * before it writes any, as kr_copy_to_gva does.
 */
static int area_copy(struct kr_vm *vm, struct call_state *cs, uint64_t gva, void *buf,
		     uint64_t len, enum area_op op, struct scrub *rec)
{
	bool lost = false;
	if (gva + len < gva)
		return kr_err_code(KR_E_GUEST_MEMORY, "guest buffer at 0x%llx, length 0x%llx wraps "
				   "around the address space",
				   (unsigned long long)gva, (unsigned long long)len);
	/* the writing pass uses what the checking pass found: nothing ran in between */
	uint64_t found[16];
	for (int pass = op == AREA_READ ? 1 : 0; pass < 2; pass++) {
		uint8_t *p = buf;
		size_t k = 0;
		for (uint64_t at = gva, left = len; left > 0; k++) {
			uint64_t page = at & ~(uint64_t)(KR_PAGE_4K - 1), off = at - page;
			uint64_t n = left < KR_PAGE_4K - off ? left : KR_PAGE_4K - off;
			uint64_t gpa = 0;
			if (pass == 1 && op != AREA_READ && k < 16)
				gpa = found[k];
			else if (page_gpa(vm, cs, page, &gpa) < 0)
				return -1;
			if (pass == 0 && k < 16)
				found[k] = gpa;
			uint8_t *host = kr_gpa_ptr(vm, gpa + off, n);
			if (!host)
				return kr_err_context(
					"guest virtual address 0x%llx (physical 0x%llx)",
					(unsigned long long)at, (unsigned long long)(gpa + off));
			if (op != AREA_READ && pass == 0) {
				for (int i = 0; i < KR_MAX_SLOTS; i++) {
					const struct kr_slot *sl = &vm->slots[i];
					if (sl->used && (sl->flags & KR_MEM_READONLY) &&
					    gpa >= sl->gpa && gpa - sl->gpa < sl->size)
						return kr_err_code(KR_E_GUEST_MEMORY,
								   "write to guest virtual 0x%llx: "
								   "guest physical 0x%llx lies in a "
								   "read-only slot",
								   (unsigned long long)at,
								   (unsigned long long)gpa);
				}
			} else if (op == AREA_READ) {
				memcpy(p, host, n);
			} else {
				host_writes(vm, cs, gpa);
				memcpy(host, op == AREA_ZERO ? zeros : p, n);
				if (rec && rec->npieces < SCRUB_PIECES)
					rec->pieces[rec->npieces].gpa = gpa + off,
					rec->pieces[rec->npieces++].n = n;
				else
					lost = true;
			}
			if (op != AREA_ZERO)
				p += n;
			at += n;
			left -= n;
		}
	}
	if (rec && op != AREA_READ)
		rec->placed = !lost;
	return 0;
}

/*
 * After the reset of this call to s: put back from s the pages kvmrun wrote
 * since the last reset, and keep the translations of s from now on (if
 * nothing was lost, else start them again).
 */
static void after_reset(struct kr_vm *vm, struct call_state *cs, const struct kr_snapshot *s)
{
	uint64_t size;
	const uint8_t *ram = kr_snapshot_ram(s, &size);
	for (size_t i = 0; i < cs->nhost; i++) {
		uint8_t *host = cs->host[i] < size ? kr_gpa_ptr(vm, cs->host[i], KR_PAGE_4K) : NULL;
		if (host)
			memcpy(host, ram + cs->host[i], KR_PAGE_4K);
	}
	if (cs->host_lost)
		cs->no_cache_id = kr_snapshot_id(s); /* RAM stays unlike it: keep nothing for it */
	if (cs->host_lost || cs->snap_id != kr_snapshot_id(s)) {
		cache_drop(cs);
		cs->snap_id = kr_snapshot_id(s);
	}
	cs->nhost = 0;
	cs->host_lost = false;
	cs->at = cs->no_cache_id == kr_snapshot_id(s) ? NULL : s;
}

/* Write `len` zero bytes at gva. */
static int write_zeros(struct kr_vm *vm, struct call_state *cs, uint64_t gva, uint64_t len)
{
	return area_copy(vm, cs, gva, NULL, len, AREA_ZERO, NULL);
}

/* Zero the bytes an earlier write went to, where it noted them all. */
static bool zero_where_written(struct kr_vm *vm, struct call_state *cs, const struct scrub *s)
{
	if (!s->placed)
		return false;
	for (size_t i = 0; i < s->npieces; i++)
		if (!kr_gpa_ptr(vm, s->pieces[i].gpa, s->pieces[i].n))
			return false;
	for (size_t i = 0; i < s->npieces; i++) {
		host_writes(vm, cs, s->pieces[i].gpa & ~(uint64_t)(KR_PAGE_4K - 1));
		memset(kr_gpa_ptr(vm, s->pieces[i].gpa, s->pieces[i].n), 0, s->pieces[i].n);
	}
	return true;
}

/* Zero what earlier writes left; what fails stays listed for the next try. */
static int scrub(struct kr_vm *vm, struct call_state *cs)
{
	while (cs->nscrub > 0) {
		const struct scrub *s = &cs->scrub[cs->nscrub - 1];
		if (!zero_where_written(vm, cs, s) && write_zeros(vm, cs, s->gva, s->len) < 0)
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

static int find_target(struct kr_vm *vm, struct call_state *cs, const char *name,
		       struct call_target *t)
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
	if (area_copy(vm, cs, t->ret, &op, 1, AREA_READ, NULL) < 0)
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
		struct scrub *rec = &cs->scrub[cs->nscrub++];
		*rec = (struct scrub){.gva = gva[i], .len = a->len};
		bool out = a->kind == KR_CALL_ARG_OUT;
		int rc = area_copy(vm, cs, gva[i], out ? NULL : a->buf, a->len,
				   out ? AREA_ZERO : AREA_WRITE, rec);
		if (rc < 0)
			return kr_err_context("call %s: copying argument %zu (%zu bytes) to 0x%llx",
					      name, i, a->len, (unsigned long long)gva[i]);
	}
	return 0;
}

static int copy_out(struct kr_vm *vm, struct call_state *cs, const char *name,
		    const struct kr_call_arg *args, size_t nargs, const uint64_t *gva)
{
	for (size_t i = 0; i < nargs; i++) {
		const struct kr_call_arg *a = &args[i];
		if ((a->kind != KR_CALL_ARG_OUT && a->kind != KR_CALL_ARG_INOUT) || a->len == 0)
			continue;
		if (area_copy(vm, cs, gva[i], a->buf, a->len, AREA_READ, NULL) < 0)
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
	return kr_vcpu_set_regs_at_run(vm, &r); /* applied by the call's KVM_RUN */
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
	cs->at = NULL;
	if (opt && opt->reset) {
		if (kr_vm_reset(vm, opt->reset) < 0)
			return kr_err_context("call %s: reset before the call", name);
		after_reset(vm, cs, opt->reset);
	}
	if (scrub(vm, cs) < 0)
		return -1;
	if (vm->cannot_resume)
		return kr_err("call %s: the VM cannot run after %s; reset it (kr_vm_reset, or "
			      "kr_call_options.reset)",
			      name, vm->cannot_resume_why);
	if (find_target(vm, cs, name, &t) < 0 || place_buffers(name, args, nargs, &t, gva) < 0)
		return -1;
	int rc = copy_in(vm, cs, name, args, nargs, gva);
	if (rc == 0) {
		uint64_t ret = t.ret;
		struct scrub *rec = &cs->scrub[cs->nscrub++];
		*rec = (struct scrub){.gva = t.top - 8, .len = 8};
		if (area_copy(vm, cs, t.top - 8, &ret, sizeof(ret), AREA_WRITE, rec) < 0)
			rc = kr_err_context("call %s: writing the return address", name);
	}
	if (rc == 0)
		rc = complete_pending_exit(vm);
	if (rc == 0)
		rc = set_call_regs(vm, &t, args, nargs, gva);
	cs->at = NULL; /* from the run on, the guest's tables may differ from the snapshot's */
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
		rc = copy_out(vm, cs, name, args, nargs, gva);
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
