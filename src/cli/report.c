/* SPDX-License-Identifier: MIT */
/*
 * report.c - what kvmrun shows when a guest stops: registers with the control
 * bits named, the segments, the bytes at RIP and the page walks of RIP and
 * RSP, as text on stderr or as JSON (--dump). Everything is read from the
 * state kept at the stop (struct kr_stop), through the library's checked
 * accessors, so a report on a hostile guest cannot crash kvmrun.
 */
#include <asm/processor-flags.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"

struct bit_name {
	uint64_t bit;
	const char *name;
};

#define BIT(prefix, n) {prefix##n, #n}

static const struct bit_name cr0_bits[] = {
	BIT(X86_CR0_, PE), BIT(X86_CR0_, MP), BIT(X86_CR0_, EM), BIT(X86_CR0_, TS),
	BIT(X86_CR0_, ET), BIT(X86_CR0_, NE), BIT(X86_CR0_, WP), BIT(X86_CR0_, AM),
	BIT(X86_CR0_, NW), BIT(X86_CR0_, CD), BIT(X86_CR0_, PG), {0, NULL},
};

static const struct bit_name cr4_bits[] = {
	BIT(X86_CR4_, VME),	   BIT(X86_CR4_, PVI),	  BIT(X86_CR4_, TSD),
	BIT(X86_CR4_, DE),	   BIT(X86_CR4_, PSE),	  BIT(X86_CR4_, PAE),
	BIT(X86_CR4_, MCE),	   BIT(X86_CR4_, PGE),	  BIT(X86_CR4_, PCE),
	BIT(X86_CR4_, OSFXSR),	   BIT(X86_CR4_, OSXMMEXCPT), BIT(X86_CR4_, UMIP),
	BIT(X86_CR4_, LA57),	   BIT(X86_CR4_, VMXE),	  BIT(X86_CR4_, SMXE),
	BIT(X86_CR4_, FSGSBASE),   BIT(X86_CR4_, PCIDE),	  BIT(X86_CR4_, OSXSAVE),
	BIT(X86_CR4_, SMEP),	   BIT(X86_CR4_, SMAP),	  BIT(X86_CR4_, PKE),
	{0, NULL},
};

/* EFER is an MSR: its bits are not in the uapi headers (AMD APM vol. 2, 3.1.7). */
static const struct bit_name efer_bits[] = {
	{1ull << 0, "SCE"}, {1ull << 8, "LME"}, {1ull << 10, "LMA"}, {1ull << 11, "NXE"},
	{1ull << 12, "SVME"}, {1ull << 13, "LMSLE"}, {1ull << 14, "FFXSR"}, {1ull << 15, "TCE"},
	{0, NULL},
};

/* "PE MP ET" for the set bits; sep between names, JSON quotes if json. */
static void print_bits(FILE *f, uint64_t v, const struct bit_name *t, bool json)
{
	bool first = true;
	for (; t->name; t++) {
		if (!(v & t->bit))
			continue;
		fprintf(f, json ? "%s\"%s\"" : "%s%s", first ? "" : json ? "," : " ", t->name);
		first = false;
	}
}

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
	const struct kvm_regs *r = &st->regs;
	const struct kvm_sregs *s = &st->sregs;
	fprintf(f,
		"rax=0x%016llx rbx=0x%016llx rcx=0x%016llx rdx=0x%016llx\n"
		"rsi=0x%016llx rdi=0x%016llx rsp=0x%016llx rbp=0x%016llx\n"
		"r8=0x%016llx r9=0x%016llx r10=0x%016llx r11=0x%016llx\n"
		"r12=0x%016llx r13=0x%016llx r14=0x%016llx r15=0x%016llx\n"
		"rip=0x%016llx rflags=0x%016llx\n",
		r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rsp, r->rbp, r->r8, r->r9, r->r10,
		r->r11, r->r12, r->r13, r->r14, r->r15, r->rip, r->rflags);
	fprintf(f, "cr0=0x%llx [", s->cr0);
	print_bits(f, s->cr0, cr0_bits, false);
	fprintf(f, "] cr2=0x%llx cr3=0x%llx\ncr4=0x%llx [", s->cr2, s->cr3, s->cr4);
	print_bits(f, s->cr4, cr4_bits, false);
	fprintf(f, "] efer=0x%llx [", s->efer);
	print_bits(f, s->efer, efer_bits, false);
	fprintf(f, "]\n");
	const struct kvm_segment *seg[] = {&s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss, &s->tr};
	const char *names[] = {"cs", "ds", "es", "fs", "gs", "ss", "tr"};
	for (size_t i = 0; i < 7; i++)
		fprintf(f, "%s=0x%04x base=0x%llx limit=0x%x type=0x%x dpl=%u l=%u db=%u present=%u\n",
			names[i], seg[i]->selector, seg[i]->base, seg[i]->limit, seg[i]->type,
			seg[i]->dpl, seg[i]->l, seg[i]->db, seg[i]->present);
	fprintf(f, "gdt base=0x%llx limit=0x%x, idt base=0x%llx limit=0x%x\n", s->gdt.base,
		s->gdt.limit, s->idt.base, s->idt.limit);
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

/* ---- the same as JSON -------------------------------------------------------- */

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_walk(FILE *f, struct kr_vm *vm, const struct kvm_sregs *s, uint64_t gva)
{
	struct kr_walk w;
	if (kr_walk(vm, s, 0, gva, &w) < 0) {
		fprintf(f, "null");
		return;
	}
	fprintf(f, "{\"gva\":\"0x%" PRIx64 "\",\"paging\":\"%s\",\"steps\":[", gva,
		kr_paging_name(w.paging));
	for (int i = 0; i < w.nsteps; i++)
		fprintf(f, "%s{\"level\":%d,\"entry_gpa\":\"0x%" PRIx64 "\",\"entry\":\"0x%" PRIx64 "\"}",
			i ? "," : "", w.steps[i].level, w.steps[i].entry_gpa, w.steps[i].entry);
	if (w.ok)
		fprintf(f, "],\"ok\":true,\"gpa\":\"0x%" PRIx64 "\",\"page_size\":%" PRIu64
			   ",\"writable\":%s,\"user\":%s,\"nx\":%s}",
			w.gpa, w.page_size, w.writable ? "true" : "false", w.user ? "true" : "false",
			w.nx ? "true" : "false");
	else
		fprintf(f, "],\"ok\":false,\"fail_level\":%d,\"fail_reason\":\"%s\"}", w.fail_level,
			w.fail_reason);
}

static void json_segment(FILE *f, const char *name, const struct kvm_segment *g, bool last)
{
	fprintf(f, "\"%s\":{\"selector\":%u,\"base\":\"0x%llx\",\"limit\":\"0x%x\",\"type\":%u,"
		   "\"dpl\":%u,\"l\":%u,\"db\":%u,\"present\":%u}%s",
		name, g->selector, g->base, g->limit, g->type, g->dpl, g->l, g->db, g->present,
		last ? "" : ",");
}

void cli_write_json_report(FILE *f, struct kr_vm *vm, const struct kr_stop *st, int status)
{
	fprintf(f, "{\"status\":%d,\"reason\":\"%s\",\"kvm_exit\":\"%s\",\"message\":", status,
		kr_stop_reason_name(st->reason), kr_exit_name(st->kvm_exit));
	json_string(f, st->message);
	fprintf(f, ",\"cpu_was_reset\":%s", st->cpu_was_reset ? "true" : "false");
	if (st->have_exception)
		fprintf(f, ",\"exception\":{\"vector\":%u,\"name\":\"%s\",\"error_code\":\"0x%" PRIx64
			   "\",\"rip\":\"0x%" PRIx64 "\",\"rsp\":\"0x%" PRIx64 "\",\"cr2\":\"0x%" PRIx64
			   "\"}",
			st->exception.vector, st->exception.name, st->exception.error_code,
			st->exception.rip, st->exception.rsp, st->exception.cr2);
	if (!st->have_state) {
		fprintf(f, "}\n");
		return;
	}
	const struct kvm_regs *r = &st->regs;
	const struct kvm_sregs *s = &st->sregs;
	const char *rn[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8",
			    "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags"};
	const unsigned long long rv[] = {r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi,
					 r->rsp, r->rbp, r->r8,	 r->r9,	 r->r10, r->r11,
					 r->r12, r->r13, r->r14, r->r15, r->rip, r->rflags};
	fprintf(f, ",\"regs\":{");
	for (size_t i = 0; i < sizeof(rn) / sizeof(rn[0]); i++)
		fprintf(f, "%s\"%s\":\"0x%llx\"", i ? "," : "", rn[i], rv[i]);
	fprintf(f, "},\"sregs\":{\"cr0\":\"0x%llx\",\"cr0_bits\":[", s->cr0);
	print_bits(f, s->cr0, cr0_bits, true);
	fprintf(f, "],\"cr2\":\"0x%llx\",\"cr3\":\"0x%llx\",\"cr4\":\"0x%llx\",\"cr4_bits\":[",
		s->cr2, s->cr3, s->cr4);
	print_bits(f, s->cr4, cr4_bits, true);
	fprintf(f, "],\"efer\":\"0x%llx\",\"efer_bits\":[", s->efer);
	print_bits(f, s->efer, efer_bits, true);
	fprintf(f, "],");
	json_segment(f, "cs", &s->cs, false);
	json_segment(f, "ds", &s->ds, false);
	json_segment(f, "ss", &s->ss, false);
	json_segment(f, "tr", &s->tr, true);
	uint8_t code[16];
	size_t n = read_virtual(vm, s, code_address(st), code, sizeof(code));
	fprintf(f, "},\"bytes_at_rip\":\"");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", code[i]);
	fprintf(f, "\",\"walk_rip\":");
	json_walk(f, vm, s, code_address(st));
	fprintf(f, ",\"walk_rsp\":");
	json_walk(f, vm, s, s->ss.base + r->rsp);
	fprintf(f, "}\n");
}
