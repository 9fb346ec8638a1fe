/* SPDX-License-Identifier: MIT */
/*
 * report.c - what kvmrun shows when a guest stops: registers with the control
 * bits named, the segments, the bytes at RIP and the page walks of RIP and
 * RSP, as text on stderr or as JSON (--dump). Everything is read from the
 * state kept at the stop (struct kr_stop), through the library's checked
 * accessors, so a report on a hostile guest cannot crash kvmrun.
 */
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "cli.h"
#include "json.h"

/* ---- what a report holds: one table each, for the text and the JSON ---------- */

/* The general registers, in the order both forms show them (text: 4 a line). */
static const struct {
	const char *name;
	size_t off;
} gp_regs[] = {
#define REG(r) {#r, offsetof(struct kvm_regs, r)}
	REG(rax), REG(rbx), REG(rcx), REG(rdx), REG(rsi), REG(rdi), REG(rsp), REG(rbp),
	REG(r8),  REG(r9),  REG(r10), REG(r11), REG(r12), REG(r13), REG(r14), REG(r15),
	REG(rip), REG(rflags),
#undef REG
};

/* Control registers and EFER; `bits`: their set bits are named (kr_x86_bit_names). */
static const struct {
	const char *name;
	size_t off;
	bool bits;
	bool line_end; /* text: a line ends after it */
} control_regs[] = {
#define CREG(r, bits, eol) {#r, offsetof(struct kvm_sregs, r), bits, eol}
	CREG(cr0, true, false), CREG(cr2, false, false), CREG(cr3, false, true),
	CREG(cr4, true, false), CREG(efer, true, true),
#undef CREG
};

static const struct {
	const char *name;
	size_t off;
} segments[] = {
#define SEG(r) {#r, offsetof(struct kvm_sregs, r)}
	SEG(cs), SEG(ds), SEG(es), SEG(fs), SEG(gs), SEG(ss), SEG(tr),
#undef SEG
};

static const struct {
	const char *name;
	size_t off;
} dtables[] = {
	{"gdt", offsetof(struct kvm_sregs, gdt)},
	{"idt", offsetof(struct kvm_sregs, idt)},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t reg_at(const void *base, size_t off)
{
	uint64_t v;
	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

static const struct kvm_segment *segment_at(const struct kvm_sregs *s, size_t off)
{
	return (const struct kvm_segment *)((const char *)s + off);
}

static const struct kvm_dtable *dtable_at(const struct kvm_sregs *s, size_t off)
{
	return (const struct kvm_dtable *)((const char *)s + off);
}

#define MAX_BITS 64

/* Up to `len` bytes at guest virtual `gva`, walked under the stop's registers. */
static size_t read_virtual(struct kr_vm *vm, const struct kvm_sregs *s, uint64_t gva, uint8_t *out,
			   size_t len)
{
	size_t got = 0;
	while (got < len) {
		struct kr_walk w;
		if (kr_walk(vm, s, 0, gva + got, &w) < 0 || !w.ok)
			break;
		size_t in_page = 4096 - ((gva + got) & 4095), n = len - got < in_page ? len - got : in_page;
		const uint8_t *p = kr_gpa_ptr(vm, w.gpa, n);
		if (!p)
			break;
		memcpy(out + got, p, n);
		got += n;
	}
	return got;
}

static uint64_t code_address(const struct kr_stop *st)
{
	return st->sregs.cs.base + st->regs.rip; /* linear: real mode has a CS base */
}

static void print_walk(FILE *f, struct kr_vm *vm, const struct kvm_sregs *s, const char *what,
		       uint64_t gva)
{
	struct kr_walk w;
	if (kr_walk(vm, s, 0, gva, &w) < 0)
		return;
	fprintf(f, "page walk of %s 0x%" PRIx64 " (%s paging):", what, gva, kr_paging_name(w.paging));
	for (int i = 0; i < w.nsteps; i++)
		fprintf(f, "\n  level %d entry at 0x%" PRIx64 " = 0x%" PRIx64, w.steps[i].level,
			w.steps[i].entry_gpa, w.steps[i].entry);
	if (w.ok)
		fprintf(f, "\n  -> 0x%" PRIx64 " (%" PRIu64 " KiB page%s%s%s)\n", w.gpa,
			w.page_size >> 10, w.writable ? ", writable" : ", read-only",
			w.user ? ", user" : "", w.nx ? ", no-execute" : "");
	else
		fprintf(f, "\n  fails at level %d: %s\n", w.fail_level, w.fail_reason);
}

void cli_print_state(FILE *f, const struct kr_stop *st)
{
	for (size_t i = 0; i < COUNT(gp_regs); i++)
		fprintf(f, "%s=0x%016" PRIx64 "%c", gp_regs[i].name, reg_at(&st->regs, gp_regs[i].off),
			i % 4 == 3 || i + 1 == COUNT(gp_regs) ? '\n' : ' ');
	for (size_t i = 0; i < COUNT(control_regs); i++) {
		uint64_t v = reg_at(&st->sregs, control_regs[i].off);
		fprintf(f, "%s=0x%" PRIx64, control_regs[i].name, v);
		if (control_regs[i].bits) {
			const char *names[MAX_BITS];
			size_t n = kr_x86_bit_names(control_regs[i].name, v, names, MAX_BITS);
			fprintf(f, " [");
			for (size_t b = 0; b < n && b < MAX_BITS; b++)
				fprintf(f, "%s%s", b ? " " : "", names[b]);
			fprintf(f, "]");
		}
		fputc(control_regs[i].line_end ? '\n' : ' ', f);
	}
	for (size_t i = 0; i < COUNT(segments); i++) {
		const struct kvm_segment *g = segment_at(&st->sregs, segments[i].off);
		fprintf(f, "%s=0x%04x base=0x%llx limit=0x%x type=0x%x dpl=%u l=%u db=%u present=%u\n",
			segments[i].name, g->selector, g->base, g->limit, g->type, g->dpl, g->l, g->db,
			g->present);
	}
	for (size_t i = 0; i < COUNT(dtables); i++) {
		const struct kvm_dtable *d = dtable_at(&st->sregs, dtables[i].off);
		fprintf(f, "%s base=0x%llx limit=0x%x%s", dtables[i].name, d->base, d->limit,
			i + 1 == COUNT(dtables) ? "\n" : ", ");
	}
}

void cli_print_crash_report(FILE *f, struct kr_vm *vm, const struct kr_stop *st)
{
	fprintf(f, "--- crash report: %s, last exit %s ---\n", kr_stop_reason_name(st->reason),
		kr_exit_name(st->kvm_exit));
	if (!st->have_state) {
		fprintf(f, "(the vCPU state could not be read)\n");
		return;
	}
	if (st->have_exception)
		fprintf(f, "exception %s (vector %u), error code 0x%" PRIx64 ", at rip=0x%" PRIx64
			   " cs=0x%x rsp=0x%" PRIx64 " cr2=0x%" PRIx64 "\n",
			st->exception.name, st->exception.vector, st->exception.error_code,
			st->exception.rip, st->exception.cs, st->exception.rsp, st->exception.cr2);
	if (st->cpu_was_reset)
		fprintf(f, "note: the CPU reset the vCPU before KVM reported the triple fault (AMD "
			   "does); the registers below are the reset state, not the crash\n");
	cli_print_state(f, st);
	uint8_t code[16];
	size_t n = read_virtual(vm, &st->sregs, code_address(st), code, sizeof(code));
	fprintf(f, "bytes at rip:");
	for (size_t i = 0; i < n; i++)
		fprintf(f, " %02x", code[i]);
	fprintf(f, n ? "\n" : " (not mapped)\n");
	print_walk(f, vm, &st->sregs, "rip", code_address(st));
	print_walk(f, vm, &st->sregs, "rsp", st->sregs.ss.base + st->regs.rsp);
}

/* ---- the same as JSON ------------------------------------------------------- */

static void json_walk(struct json *j, const char *key, struct kr_vm *vm,
		      const struct kvm_sregs *s, uint64_t gva)
{
	struct kr_walk w;
	if (kr_walk(vm, s, 0, gva, &w) < 0) {
		json_null(j, key);
		return;
	}
	json_object_begin(j, key);
	json_hex(j, "gva", gva);
	json_string(j, "paging", kr_paging_name(w.paging));
	json_array_begin(j, "steps");
	for (int i = 0; i < w.nsteps; i++) {
		json_object_begin(j, NULL);
		json_int(j, "level", w.steps[i].level);
		json_hex(j, "entry_gpa", w.steps[i].entry_gpa);
		json_hex(j, "entry", w.steps[i].entry);
		json_object_end(j);
	}
	json_array_end(j);
	json_bool(j, "ok", w.ok);
	if (w.ok) {
		json_hex(j, "gpa", w.gpa);
		json_uint(j, "page_size", w.page_size);
		json_bool(j, "writable", w.writable);
		json_bool(j, "user", w.user);
		json_bool(j, "nx", w.nx);
	} else {
		json_int(j, "fail_level", w.fail_level);
		json_string(j, "fail_reason", w.fail_reason);
	}
	json_object_end(j);
}

static void json_state(struct json *j, const struct kr_stop *st)
{
	json_object_begin(j, "regs");
	for (size_t i = 0; i < COUNT(gp_regs); i++)
		json_hex(j, gp_regs[i].name, reg_at(&st->regs, gp_regs[i].off));
	json_object_end(j);
	json_object_begin(j, "sregs");
	for (size_t i = 0; i < COUNT(control_regs); i++) {
		uint64_t v = reg_at(&st->sregs, control_regs[i].off);
		json_hex(j, control_regs[i].name, v);
		if (!control_regs[i].bits)
			continue;
		char key[16];
		snprintf(key, sizeof(key), "%s_bits", control_regs[i].name);
		const char *names[MAX_BITS];
		size_t n = kr_x86_bit_names(control_regs[i].name, v, names, MAX_BITS);
		json_array_begin(j, key);
		for (size_t b = 0; b < n && b < MAX_BITS; b++)
			json_string(j, NULL, names[b]);
		json_array_end(j);
	}
	for (size_t i = 0; i < COUNT(segments); i++) {
		const struct kvm_segment *g = segment_at(&st->sregs, segments[i].off);
		json_object_begin(j, segments[i].name);
		json_uint(j, "selector", g->selector);
		json_hex(j, "base", g->base);
		json_hex(j, "limit", g->limit);
		json_uint(j, "type", g->type);
		json_uint(j, "dpl", g->dpl);
		json_uint(j, "l", g->l);
		json_uint(j, "db", g->db);
		json_uint(j, "present", g->present);
		json_object_end(j);
	}
	for (size_t i = 0; i < COUNT(dtables); i++) {
		const struct kvm_dtable *d = dtable_at(&st->sregs, dtables[i].off);
		json_object_begin(j, dtables[i].name);
		json_hex(j, "base", d->base);
		json_hex(j, "limit", d->limit);
		json_object_end(j);
	}
	json_object_end(j);
}

void cli_write_json_report(FILE *f, struct kr_vm *vm, const struct kr_stop *st, int status)
{
	struct json j;
	json_init(&j, f);
	json_object_begin(&j, NULL);
	json_int(&j, "status", status);
	json_string(&j, "reason", kr_stop_reason_name(st->reason));
	json_string(&j, "kvm_exit", kr_exit_name(st->kvm_exit));
	json_string(&j, "message", st->message);
	json_bool(&j, "cpu_was_reset", st->cpu_was_reset);
	if (st->have_exception) {
		const struct kr_exception *e = &st->exception;
		json_object_begin(&j, "exception");
		json_uint(&j, "vector", e->vector);
		json_string(&j, "name", e->name);
		json_hex(&j, "error_code", e->error_code);
		json_hex(&j, "rip", e->rip);
		json_hex(&j, "cs", e->cs);
		json_hex(&j, "rsp", e->rsp);
		json_hex(&j, "ss", e->ss);
		json_hex(&j, "cr2", e->cr2);
		json_object_end(&j);
	}
	if (st->have_state) {
		json_state(&j, st);
		uint8_t code[16];
		size_t n = read_virtual(vm, &st->sregs, code_address(st), code, sizeof(code));
		json_hex_bytes(&j, "bytes_at_rip", code, n);
		json_walk(&j, "walk_rip", vm, &st->sregs, code_address(st));
		json_walk(&j, "walk_rsp", vm, &st->sregs, st->sregs.ss.base + st->regs.rsp);
	}
	json_object_end(&j);
	fputc('\n', f);
}
