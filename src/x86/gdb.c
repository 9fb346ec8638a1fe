/* SPDX-License-Identifier: MIT */
/*
 * gdb.c - the x86 side of the gdb stub: registers in the order and format
 * gdb's target description gives them, and the debug registers.
 *
 * gdb's i386 and amd64 code accept a remote target only if its description
 * has the feature org.gnu.gdb.i386.core with every core register, the x87
 * ones included; so the x87 and SSE state (KVM_GET_FPU) is there too, real
 * values, although kvmrun's guests are built without floating point. The
 * segment bases (org.gnu.gdb.i386.segments) and the control registers and
 * EFER (a feature of kvmrun's own: gdb shows them as $cr0... and does not
 * interpret them) follow. The description is generated from the same table
 * that lays out the g packet, so the two cannot drift apart.
 */
#include <asm/processor-flags.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/error.h"
#include "core/run.h"
#include "core/vm.h"
#include "x86/gdb.h"
#include "x86/vcpu.h"

enum reg_kind {
	GPR,     /* arg: offset in struct kvm_regs */
	SEL,     /* arg: offset of a struct kvm_segment in struct kvm_sregs: its selector */
	SEGBASE, /* ... its base */
	SREG,    /* arg: offset of a u64 in struct kvm_sregs (cr0, efer...) */
	ST,      /* arg: x87 register 0..7 */
	FPU,     /* arg: one of the FPU_* below */
	XMM,     /* arg: 0..15 */
};

enum { FPU_FCW, FPU_FSW, FPU_FTAG, FPU_FISEG, FPU_FIOFF, FPU_FOSEG, FPU_FOOFF, FPU_FOP, FPU_MXCSR };

enum feature { F_CORE, F_SSE, F_SEGMENTS, F_SYS };

struct reg {
	const char *name;
	unsigned bits;
	const char *type;
	enum feature feature;
	enum reg_kind kind;
	size_t arg;
};

#define R(f) offsetof(struct kvm_regs, f)
#define S(f) offsetof(struct kvm_sregs, f)

#define X87                                                                                       \
	{"st0", 80, "i387_ext", F_CORE, ST, 0}, {"st1", 80, "i387_ext", F_CORE, ST, 1},          \
	{"st2", 80, "i387_ext", F_CORE, ST, 2}, {"st3", 80, "i387_ext", F_CORE, ST, 3},          \
	{"st4", 80, "i387_ext", F_CORE, ST, 4}, {"st5", 80, "i387_ext", F_CORE, ST, 5},          \
	{"st6", 80, "i387_ext", F_CORE, ST, 6}, {"st7", 80, "i387_ext", F_CORE, ST, 7},          \
	{"fctrl", 32, "int", F_CORE, FPU, FPU_FCW}, {"fstat", 32, "int", F_CORE, FPU, FPU_FSW},  \
	{"ftag", 32, "int", F_CORE, FPU, FPU_FTAG}, {"fiseg", 32, "int", F_CORE, FPU, FPU_FISEG}, \
	{"fioff", 32, "int", F_CORE, FPU, FPU_FIOFF}, {"foseg", 32, "int", F_CORE, FPU, FPU_FOSEG}, \
	{"fooff", 32, "int", F_CORE, FPU, FPU_FOOFF}, {"fop", 32, "int", F_CORE, FPU, FPU_FOP}

#define SEGS                                                                                      \
	{"cs", 32, "int32", F_CORE, SEL, S(cs)}, {"ss", 32, "int32", F_CORE, SEL, S(ss)},        \
	{"ds", 32, "int32", F_CORE, SEL, S(ds)}, {"es", 32, "int32", F_CORE, SEL, S(es)},        \
	{"fs", 32, "int32", F_CORE, SEL, S(fs)}, {"gs", 32, "int32", F_CORE, SEL, S(gs)}

#define XMM8                                                                                      \
	{"xmm0", 128, "vec128", F_SSE, XMM, 0}, {"xmm1", 128, "vec128", F_SSE, XMM, 1},          \
	{"xmm2", 128, "vec128", F_SSE, XMM, 2}, {"xmm3", 128, "vec128", F_SSE, XMM, 3},          \
	{"xmm4", 128, "vec128", F_SSE, XMM, 4}, {"xmm5", 128, "vec128", F_SSE, XMM, 5},          \
	{"xmm6", 128, "vec128", F_SSE, XMM, 6}, {"xmm7", 128, "vec128", F_SSE, XMM, 7}

static const struct reg regs64[] = {
	{"rax", 64, "int64", F_CORE, GPR, R(rax)}, {"rbx", 64, "int64", F_CORE, GPR, R(rbx)},
	{"rcx", 64, "int64", F_CORE, GPR, R(rcx)}, {"rdx", 64, "int64", F_CORE, GPR, R(rdx)},
	{"rsi", 64, "int64", F_CORE, GPR, R(rsi)}, {"rdi", 64, "int64", F_CORE, GPR, R(rdi)},
	{"rbp", 64, "data_ptr", F_CORE, GPR, R(rbp)}, {"rsp", 64, "data_ptr", F_CORE, GPR, R(rsp)},
	{"r8", 64, "int64", F_CORE, GPR, R(r8)}, {"r9", 64, "int64", F_CORE, GPR, R(r9)},
	{"r10", 64, "int64", F_CORE, GPR, R(r10)}, {"r11", 64, "int64", F_CORE, GPR, R(r11)},
	{"r12", 64, "int64", F_CORE, GPR, R(r12)}, {"r13", 64, "int64", F_CORE, GPR, R(r13)},
	{"r14", 64, "int64", F_CORE, GPR, R(r14)}, {"r15", 64, "int64", F_CORE, GPR, R(r15)},
	{"rip", 64, "code_ptr", F_CORE, GPR, R(rip)},
	{"eflags", 32, "i386_eflags", F_CORE, GPR, R(rflags)},
	SEGS,
	X87,
	XMM8,
	{"xmm8", 128, "vec128", F_SSE, XMM, 8}, {"xmm9", 128, "vec128", F_SSE, XMM, 9},
	{"xmm10", 128, "vec128", F_SSE, XMM, 10}, {"xmm11", 128, "vec128", F_SSE, XMM, 11},
	{"xmm12", 128, "vec128", F_SSE, XMM, 12}, {"xmm13", 128, "vec128", F_SSE, XMM, 13},
	{"xmm14", 128, "vec128", F_SSE, XMM, 14}, {"xmm15", 128, "vec128", F_SSE, XMM, 15},
	{"mxcsr", 32, "int", F_SSE, FPU, FPU_MXCSR},
	{"fs_base", 64, "int", F_SEGMENTS, SEGBASE, S(fs)},
	{"gs_base", 64, "int", F_SEGMENTS, SEGBASE, S(gs)},
	{"cr0", 64, "int", F_SYS, SREG, S(cr0)}, {"cr2", 64, "int", F_SYS, SREG, S(cr2)},
	{"cr3", 64, "int", F_SYS, SREG, S(cr3)}, {"cr4", 64, "int", F_SYS, SREG, S(cr4)},
	{"cr8", 64, "int", F_SYS, SREG, S(cr8)}, {"efer", 64, "int", F_SYS, SREG, S(efer)},
};

static const struct reg regs32[] = {
	{"eax", 32, "int32", F_CORE, GPR, R(rax)}, {"ecx", 32, "int32", F_CORE, GPR, R(rcx)},
	{"edx", 32, "int32", F_CORE, GPR, R(rdx)}, {"ebx", 32, "int32", F_CORE, GPR, R(rbx)},
	{"esp", 32, "data_ptr", F_CORE, GPR, R(rsp)}, {"ebp", 32, "data_ptr", F_CORE, GPR, R(rbp)},
	{"esi", 32, "int32", F_CORE, GPR, R(rsi)}, {"edi", 32, "int32", F_CORE, GPR, R(rdi)},
	{"eip", 32, "code_ptr", F_CORE, GPR, R(rip)},
	{"eflags", 32, "i386_eflags", F_CORE, GPR, R(rflags)},
	SEGS,
	X87,
	XMM8,
	{"mxcsr", 32, "int", F_SSE, FPU, FPU_MXCSR},
	/* No org.gnu.gdb.i386.segments: gdb 13's i386 (not amd64) code asserts on it. */
	{"cr0", 32, "int", F_SYS, SREG, S(cr0)}, {"cr2", 32, "int", F_SYS, SREG, S(cr2)},
	{"cr3", 32, "int", F_SYS, SREG, S(cr3)}, {"cr4", 32, "int", F_SYS, SREG, S(cr4)},
	{"efer", 32, "int", F_SYS, SREG, S(efer)},
};

#define NREGS(a) (sizeof(a) / sizeof((a)[0]))

static const struct reg *table(bool wide, unsigned *n)
{
	*n = wide ? NREGS(regs64) : NREGS(regs32);
	return wide ? regs64 : regs32;
}

unsigned kr_gdb_nregs(bool wide)
{
	unsigned n;
	table(wide, &n);
	return n;
}

size_t kr_gdb_reg_size(bool wide, unsigned i)
{
	unsigned n;
	const struct reg *t = table(wide, &n);
	return i < n ? t[i].bits / 8 : 0;
}

/* ---- the target description --------------------------------------------- */

static const char *const feature_names[] = {
	[F_CORE] = "org.gnu.gdb.i386.core",
	[F_SSE] = "org.gnu.gdb.i386.sse",
	[F_SEGMENTS] = "org.gnu.gdb.i386.segments",
	[F_SYS] = "org.kvmrun.x86.sys",
};

/* The flag and vector types the core and SSE features name. */
static const char eflags_type[] =
	"<flags id=\"i386_eflags\" size=\"4\">"
	"<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>"
	"<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>"
	"<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>"
	"<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>"
	"<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>"
	"<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>"
	"<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>"
	"<field name=\"VIF\" start=\"19\" end=\"19\"/><field name=\"VIP\" start=\"20\" end=\"20\"/>"
	"<field name=\"ID\" start=\"21\" end=\"21\"/></flags>";
static const char vec128_type[] =
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
	"<union id=\"vec128\"><field name=\"v4_int32\" type=\"v4i32\"/>"
	"<field name=\"v2_int64\" type=\"v2i64\"/><field name=\"v16_int8\" type=\"v16i8\"/>"
	"<field name=\"uint128\" type=\"uint128\"/></union>";

static char xml64[12288], xml32[12288];

static void build_xml(bool wide, char *out, size_t size)
{
	unsigned n;
	const struct reg *t = table(wide, &n);
	size_t used = (size_t)snprintf(out, size,
				       "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
				       "<target version=\"1.0\"><architecture>%s</architecture>",
				       wide ? "i386:x86-64" : "i386");
	int open = -1;
	for (unsigned i = 0; i < n && used < size; i++) {
		if ((int)t[i].feature != open) {
			if (open >= 0)
				used += (size_t)snprintf(out + used, size - used, "</feature>");
			open = (int)t[i].feature;
			if (used < size)
				used += (size_t)snprintf(out + used, size - used, "<feature name=\"%s\">%s",
							 feature_names[open],
							 open == F_CORE ? eflags_type :
							 open == F_SSE  ? vec128_type : "");
		}
		if (used < size)
			used += (size_t)snprintf(out + used, size - used,
						 "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\"%s/>",
						 t[i].name, t[i].bits, t[i].type,
						 t[i].feature == F_SYS ? " group=\"system\"" : "");
	}
	if (used < size)
		snprintf(out + used, size - used, "</feature></target>");
}

const char *kr_gdb_target_xml(bool wide)
{
	char *x = wide ? xml64 : xml32;
	if (!x[0]) /* the table is constant: the same text every time, also if two threads race */
		build_xml(wide, x, wide ? sizeof(xml64) : sizeof(xml32));
	return x;
}

/* ---- register values -------------------------------------------------------- */

struct state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
};

static int get_state(struct kr_vm *vm, struct state *s)
{
	if (kr_vcpu_get_regs(vm, &s->regs) < 0 || kr_vcpu_get_sregs(vm, &s->sregs) < 0)
		return -1;
	if (ioctl(kr_vcpu_current(vm)->fd, KVM_GET_FPU, &s->fpu) < 0)
		return kr_err_sys("gdb: ioctl KVM_GET_FPU");
	return 0;
}

/* Set back what gdb changed of `old` (only that: KVM_SET_SREGS is not free of side effects). */
static int set_state(struct kr_vm *vm, const struct state *old, const struct state *s)
{
	if (memcmp(&old->regs, &s->regs, sizeof(s->regs)) && kr_vcpu_set_regs(vm, &s->regs) < 0)
		return -1;
	/* KVM_SET_SREGS through the x86 checks: a mode the back end drops is refused. */
	if (memcmp(&old->sregs, &s->sregs, sizeof(s->sregs)) && kr_vcpu_set_sregs(vm, &s->sregs) < 0)
		return -1;
	if (memcmp(&old->fpu, &s->fpu, sizeof(s->fpu)) && ioctl(kr_vcpu_current(vm)->fd, KVM_SET_FPU, &s->fpu) < 0)
		return kr_err_sys("gdb: ioctl KVM_SET_FPU");
	return 0;
}

static uint64_t fpu_value(const struct kvm_fpu *f, size_t which)
{
	uint64_t tag = 0;
	switch (which) {
	case FPU_FCW:
		return f->fcw;
	case FPU_FSW:
		return f->fsw;
	case FPU_FTAG:
		/* The abridged tag (one bit per register, 1 = in use) as the full
		 * word gdb shows: 3 (empty) or 0 (valid) per register. */
		for (int i = 0; i < 8; i++)
			if (!(f->ftwx & (1u << i)))
				tag |= 3ull << (2 * i);
		return tag;
	case FPU_FISEG:
		return (f->last_ip >> 32) & 0xffff;
	case FPU_FIOFF:
		return (uint32_t)f->last_ip;
	case FPU_FOSEG:
		return (f->last_dp >> 32) & 0xffff;
	case FPU_FOOFF:
		return (uint32_t)f->last_dp;
	case FPU_FOP:
		return f->last_opcode;
	default:
		return f->mxcsr;
	}
}

static void set_fpu_value(struct kvm_fpu *f, size_t which, uint64_t v)
{
	switch (which) {
	case FPU_FCW:
		f->fcw = (uint16_t)v;
		break;
	case FPU_FSW:
		f->fsw = (uint16_t)v;
		break;
	case FPU_FTAG:
		f->ftwx = 0;
		for (int i = 0; i < 8; i++)
			if (((v >> (2 * i)) & 3) != 3)
				f->ftwx |= (uint8_t)(1u << i);
		break;
	case FPU_FISEG:
		f->last_ip = (f->last_ip & 0xffffffffull) | ((v & 0xffff) << 32);
		break;
	case FPU_FIOFF:
		f->last_ip = (f->last_ip & ~0xffffffffull) | (uint32_t)v;
		break;
	case FPU_FOSEG:
		f->last_dp = (f->last_dp & 0xffffffffull) | ((v & 0xffff) << 32);
		break;
	case FPU_FOOFF:
		f->last_dp = (f->last_dp & ~0xffffffffull) | (uint32_t)v;
		break;
	case FPU_FOP:
		f->last_opcode = (uint16_t)v;
		break;
	default:
		f->mxcsr = (uint32_t)v;
		break;
	}
}

/* Register r of state s into out (little-endian, r->bits / 8 bytes). */
static void get_reg(const struct state *s, const struct reg *r, uint8_t *out)
{
	size_t size = r->bits / 8;
	uint64_t v = 0;
	switch (r->kind) {
	case GPR:
		memcpy(&v, (const uint8_t *)&s->regs + r->arg, 8);
		break;
	case SEL:
		v = ((const struct kvm_segment *)((const uint8_t *)&s->sregs + r->arg))->selector;
		break;
	case SEGBASE:
		v = ((const struct kvm_segment *)((const uint8_t *)&s->sregs + r->arg))->base;
		break;
	case SREG:
		memcpy(&v, (const uint8_t *)&s->sregs + r->arg, 8);
		break;
	case ST:
		memcpy(out, s->fpu.fpr[r->arg], 10);
		return;
	case XMM:
		memcpy(out, s->fpu.xmm[r->arg], 16);
		return;
	case FPU:
		v = fpu_value(&s->fpu, r->arg);
		break;
	}
	memcpy(out, &v, size); /* x86 is little-endian, as gdb wants the bytes */
}

static void set_reg(struct state *s, const struct reg *r, const uint8_t *in)
{
	size_t size = r->bits / 8;
	uint64_t v = 0;
	if (r->kind == ST) {
		memcpy(s->fpu.fpr[r->arg], in, 10);
		return;
	}
	if (r->kind == XMM) {
		memcpy(s->fpu.xmm[r->arg], in, 16);
		return;
	}
	memcpy(&v, in, size);
	switch (r->kind) {
	case GPR:
		/* A 32-bit register set keeps the upper half (it belongs to no register gdb sees). */
		if (size < 8) {
			uint64_t old;
			memcpy(&old, (uint8_t *)&s->regs + r->arg, 8);
			v = (old & ~0xffffffffull) | (uint32_t)v;
		}
		memcpy((uint8_t *)&s->regs + r->arg, &v, 8);
		break;
	case SEL:
		/* Only the selector: the hidden part stays (gdb cannot load a descriptor). */
		((struct kvm_segment *)((uint8_t *)&s->sregs + r->arg))->selector = (uint16_t)v;
		break;
	case SEGBASE:
		((struct kvm_segment *)((uint8_t *)&s->sregs + r->arg))->base = v;
		break;
	case SREG:
		if (size < 8) {
			uint64_t old;
			memcpy(&old, (uint8_t *)&s->sregs + r->arg, 8);
			v = (old & ~0xffffffffull) | (uint32_t)v;
		}
		memcpy((uint8_t *)&s->sregs + r->arg, &v, 8);
		break;
	case FPU:
		set_fpu_value(&s->fpu, r->arg, v);
		break;
	default:
		break;
	}
}

static size_t regs_size(bool wide)
{
	unsigned n;
	const struct reg *t = table(wide, &n);
	size_t total = 0;
	for (unsigned i = 0; i < n; i++)
		total += t[i].bits / 8;
	return total;
}

int kr_gdb_read_regs(struct kr_vm *vm, bool wide, uint8_t *buf, size_t *len)
{
	unsigned n;
	const struct reg *t = table(wide, &n);
	struct state s;
	if (get_state(vm, &s) < 0)
		return -1;
	size_t off = 0;
	for (unsigned i = 0; i < n; i++) {
		get_reg(&s, &t[i], buf + off);
		off += t[i].bits / 8;
	}
	*len = off;
	return 0;
}

int kr_gdb_write_regs(struct kr_vm *vm, bool wide, const uint8_t *buf, size_t len)
{
	unsigned n;
	const struct reg *t = table(wide, &n);
	if (len != regs_size(wide))
		return kr_err_code(KR_E_BAD_ARG, "gdb: a register set of %zu bytes, expected %zu",
				   len, regs_size(wide));
	struct state old, s;
	if (get_state(vm, &old) < 0)
		return -1;
	s = old;
	size_t off = 0;
	for (unsigned i = 0; i < n; i++) {
		set_reg(&s, &t[i], buf + off);
		off += t[i].bits / 8;
	}
	return set_state(vm, &old, &s);
}

int kr_gdb_read_reg(struct kr_vm *vm, bool wide, unsigned i, uint8_t *buf, size_t *len)
{
	unsigned n;
	const struct reg *t = table(wide, &n);
	struct state s;
	if (i >= n)
		return kr_err_code(KR_E_BAD_ARG, "gdb: no register %u (there are %u)", i, n);
	if (get_state(vm, &s) < 0)
		return -1;
	get_reg(&s, &t[i], buf);
	*len = t[i].bits / 8;
	return 0;
}

int kr_gdb_write_reg(struct kr_vm *vm, bool wide, unsigned i, const uint8_t *buf, size_t len)
{
	unsigned n;
	const struct reg *t = table(wide, &n);
	struct state old, s;
	if (i >= n || len != t[i].bits / 8)
		return kr_err_code(KR_E_BAD_ARG, "gdb: register %u with %zu bytes", i, len);
	if (get_state(vm, &old) < 0)
		return -1;
	s = old;
	set_reg(&s, &t[i], buf);
	return set_state(vm, &old, &s);
}

/* ---- debug registers ------------------------------------------------------- */

bool kr_gdb_watch_ok(uint64_t addr, uint64_t len)
{
	return (len == 1 || len == 2 || len == 4 || len == 8) && (addr & (len - 1)) == 0;
}

/* DR7's R/W and LEN fields of one slot (Intel SDM 17.2.4). */
static uint64_t dr7_slot(const struct kr_gdb_bp *bp, int i)
{
	uint64_t rw = bp->kind == KR_GDB_BP_EXEC ? 0 : bp->kind == KR_GDB_BP_WRITE ? 1 : 3;
	uint64_t len = bp->kind == KR_GDB_BP_EXEC ? 0 :
		       bp->len == 1 ? 0 : bp->len == 2 ? 1 : bp->len == 8 ? 2 : 3;
	return (1ull << (2 * i)) /* L<i> */ | (rw << (16 + 4 * i)) | (len << (18 + 4 * i));
}

int kr_gdb_set_debug(struct kr_vm *vm, unsigned cpu, const struct kr_gdb_bp bps[KR_GDB_MAX_BPS],
		     bool step)
{
	if (cpu >= vm->ncpus)
		return kr_err_code(KR_E_BAD_ARG, "gdb: no vCPU %u (the VM has %u)", cpu, vm->ncpus);
	struct kvm_guest_debug d;
	memset(&d, 0, sizeof(d));
	d.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
	if (step)
		d.control |= KVM_GUESTDBG_SINGLESTEP;
	uint64_t dr7 = 0x400; /* bit 10 reads as 1 */
	for (int i = 0; i < KR_GDB_MAX_BPS; i++) {
		if (!bps[i].used)
			continue;
		d.arch.debugreg[i] = bps[i].addr;
		dr7 |= dr7_slot(&bps[i], i);
	}
	d.arch.debugreg[7] = dr7;
	struct kr_vcpu *v = &vm->vcpus[cpu];
	/* single-stepping starts from the RIP the vCPU holds: set what waits for the run first */
	if (kr_vcpu_flush_of(v, "gdb") < 0)
		return -1;
	v->has_guest_debug = false;
	if (ioctl(v->fd, KVM_SET_GUEST_DEBUG, &d) < 0)
		return kr_err_sys("gdb: ioctl KVM_SET_GUEST_DEBUG(vCPU %u, control 0x%x, dr7 0x%llx)",
				  cpu, d.control, (unsigned long long)dr7);
	v->guest_debug = d;
	v->has_guest_debug = true;
	return 0;
}

int kr_gdb_debug_again(struct kr_vm *vm, unsigned cpu)
{
	struct kr_vcpu *v = &vm->vcpus[cpu];
	if (!v->has_guest_debug)
		return 0;
	if (ioctl(v->fd, KVM_SET_GUEST_DEBUG, &v->guest_debug) < 0)
		return kr_err_sys("gdb: ioctl KVM_SET_GUEST_DEBUG(vCPU %u, control 0x%x) again, "
				  "after its registers were set",
				  cpu, v->guest_debug.control);
	return 0;
}

bool kr_gdb_cpu_waits_for_sipi(struct kr_vm *vm, unsigned cpu)
{
	struct kvm_mp_state mp;
	if (cpu == 0 || cpu >= vm->ncpus || vm->vcpus[cpu].fd < 0 ||
	    ioctl(vm->vcpus[cpu].fd, KVM_GET_MP_STATE, &mp) < 0)
		return false;
	return mp.mp_state == KVM_MP_STATE_UNINITIALIZED ||
	       mp.mp_state == KVM_MP_STATE_INIT_RECEIVED;
}

void kr_gdb_decode_debug_exit(const struct kvm_run *run, struct kr_gdb_debug_exit *d)
{
	d->exception = run->debug.arch.exception;
	d->pc = run->debug.arch.pc;
	d->dr6 = run->debug.arch.dr6;
	d->slot = -1;
	for (int i = 0; i < KR_GDB_MAX_BPS; i++)
		if (d->dr6 & (1ull << i)) {
			d->slot = i;
			break;
		}
	d->step = (d->dr6 & (1ull << 14)) != 0; /* DR6.BS */
}
