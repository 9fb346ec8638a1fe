/* SPDX-License-Identifier: MIT */
/*
 * gdbstub.c - the GDB remote serial protocol (gdb's manual, "Remote Protocol").
 *
 * Each vCPU is a thread to gdb: thread N is vCPU N-1, every vCPU the VM has
 * listed from the start (an AP the guest has not started yet as well: its
 * qThreadExtraInfo says "not started"). All-stop: when one vCPU stops, they
 * all do (kr_vm_stop ends every vCPU's run). The stub runs the guest itself: it
 * waits for gdb before the first instruction, answers packets while the
 * guest is stopped, and on `c` or `s` calls kr_vm_run with the debug
 * registers set on every vCPU (KVM_SET_GUEST_DEBUG, x86/gdb.c; single step
 * only on the vCPUs gdb steps; those vCont leaves without an action are held,
 * see vm->held). The run ends at a
 * KVM_EXIT_DEBUG (a breakpoint, a watchpoint, a single step: this module's
 * on_debug_exit hook asks for the stop) or at a Ctrl-C, which a thread that
 * watches the socket during the run turns into kr_vm_stop. Any other stop is
 * the guest's own end: gdb hears W (exit status) or X (signal), and
 * kr_gdb_serve returns it to the caller as kr_vm_run would.
 *
 * Breakpoints, software (Z0) as well as hardware (Z1), live in the four debug
 * registers, never as int3 patched into the guest: the software back end
 * kvm_pvm cannot execute int3, and the guest's memory stays as it was. So
 * there are at most four breakpoints and watchpoints in all; gdb says so when
 * it cannot insert a fifth.
 *
 * Everything from gdb is untrusted: every length is bounded, every hex
 * digit checked, every address goes through kr_copy_from_gva/kr_copy_to_gva.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/vm.h"
#include "debug/gdbstub.h"
#include "x86/gdb.h"

/* ---- hex and framing ------------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static const char hexdig[] = "0123456789abcdef";

enum kr_gdb_frame kr_gdb_frame(const uint8_t *in, size_t n, size_t *used, char *pkt, size_t cap,
			       size_t *len)
{
	size_t i = 0;
	*len = 0;
	/* Acks and noise before a packet. */
	while (i < n && in[i] != '$') {
		uint8_t c = in[i++];
		if (c == 0x03) {
			*used = i;
			return KR_GDB_FRAME_INTERRUPT;
		}
		if (c == '-') {
			*used = i;
			return KR_GDB_FRAME_NACK;
		}
	}
	if (i == n) {
		*used = i;
		return KR_GDB_FRAME_MORE;
	}
	size_t start = i++; /* the '$' */
	uint8_t sum = 0;
	size_t k = 0;
	bool too_long = false;
	for (; i < n && in[i] != '#'; i++) {
		sum = (uint8_t)(sum + in[i]);
		if (k < cap)
			pkt[k++] = (char)in[i];
		else
			too_long = true;
	}
	if (i + 2 >= n) { /* no '#xx' yet: keep the packet's start */
		*used = start;
		return KR_GDB_FRAME_MORE;
	}
	int hi = hexval((char)in[i + 1]), lo = hexval((char)in[i + 2]);
	*used = i + 3;
	if (too_long)
		return KR_GDB_FRAME_TOO_LONG;
	if (hi < 0 || lo < 0 || (uint8_t)(hi << 4 | lo) != sum)
		return KR_GDB_FRAME_BAD_SUM;
	*len = k;
	return KR_GDB_FRAME_PACKET;
}

/* A hex number of at most 16 digits at *p (before end), ending at a char in `stops` or end. */
static bool parse_hex(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;
	int digits = 0;
	for (; s < end; s++) {
		int d = hexval(*s);
		if (d < 0)
			break;
		if (++digits > 16)
			return false;
		x = x << 4 | (uint64_t)d;
	}
	if (!digits)
		return false;
	*p = s;
	*v = x;
	return true;
}

static bool expect(const char **p, const char *end, char c)
{
	if (*p < end && **p == c) {
		(*p)++;
		return true;
	}
	return false;
}

/* n bytes as 2n hex digits into out (room for 2n + 1). */
static void to_hex(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[b[i] >> 4];
		out[2 * i + 1] = hexdig[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Exactly 2n hex digits at s into b[0..n). */
static bool from_hex(const char *s, size_t digits, uint8_t *b, size_t n)
{
	if (digits != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* ---- packets ------------------------------------------------------------------- */

void kr_gdb_init(struct kr_gdb *g, struct kr_vm *vm, int fd)
{
	memset(g, 0, sizeof(*g));
	g->vm = vm;
	g->fd = fd;
	g->wide = vm->cfg.mode == KR_MODE_LONG;
	atomic_init(&g->interrupted, false);
	atomic_init(&g->conn_lost, false);
	atomic_init(&g->hit_claimed, false);
	g->c_cpu = -1;
	snprintf(g->stop_reply, sizeof(g->stop_reply), "T05thread:01;");
}

#define REPLY(...) (snprintf(reply, KR_GDB_REPLY_MAX + 1, __VA_ARGS__), KR_GDB_REPLY)
#define ERR(n) REPLY("E%02x", (unsigned)(n))
enum { E_SYNTAX = 1, E_RANGE = 2, E_VCPU = 3, E_THREAD = 4, E_NOSPC = 0x1c, E_FAULT = 0x0e };

/* Set RIP for `c addr` / `s addr`. */
static bool resume_at(struct kr_gdb *g, const char *p, const char *end)
{
	if (p == end)
		return true;
	uint64_t addr;
	if (!parse_hex(&p, end, &addr) || p != end)
		return false;
	struct kvm_regs regs;
	if (kr_vcpu_get_regs(g->vm, &regs) < 0)
		return false;
	regs.rip = addr;
	return kr_vcpu_set_regs(g->vm, &regs) == 0;
}

/* m addr,len: as many bytes as translate, from the start (gdb reads near unmapped pages). */
static enum kr_gdb_action read_memory(struct kr_gdb *g, const char *p, const char *end,
				      char *reply)
{
	uint64_t addr, len;
	if (!parse_hex(&p, end, &addr) || !expect(&p, end, ',') || !parse_hex(&p, end, &len) ||
	    p != end)
		return ERR(E_SYNTAX);
	if (len > (KR_GDB_REPLY_MAX - 8) / 2)
		len = (KR_GDB_REPLY_MAX - 8) / 2; /* a short read: gdb asks for the rest */
	static uint8_t buf[KR_GDB_REPLY_MAX / 2];
	size_t got = 0;
	while (got < len) {
		uint64_t a = addr + got;
		if (a < addr)
			break; /* wrapped around the address space */
		uint64_t chunk = 0x1000 - (a & 0xfff);
		if (chunk > len - got)
			chunk = len - got;
		if (kr_copy_from_gva(g->vm, a, buf + got, chunk) < 0)
			break;
		got += chunk;
	}
	if (!got && len)
		return ERR(E_FAULT);
	to_hex(reply, buf, got);
	return KR_GDB_REPLY;
}

/* M addr,len:hex and X addr,len:binary */
static enum kr_gdb_action write_memory(struct kr_gdb *g, const char *p, const char *end,
				       bool binary, char *reply)
{
	uint64_t addr, len;
	if (!parse_hex(&p, end, &addr) || !expect(&p, end, ',') || !parse_hex(&p, end, &len) ||
	    !expect(&p, end, ':'))
		return ERR(E_SYNTAX);
	static uint8_t buf[KR_GDB_PACKET_MAX];
	if (len > sizeof(buf))
		return ERR(E_RANGE);
	size_t n = 0;
	if (binary) {
		for (; p < end && n < len; p++) {
			uint8_t c = (uint8_t)*p;
			if (c == '}') { /* escaped: the next byte XOR 0x20 */
				if (++p == end)
					return ERR(E_SYNTAX);
				c = (uint8_t)*p ^ 0x20;
			}
			buf[n++] = c;
		}
		if (n != len || p != end)
			return ERR(E_SYNTAX);
	} else if (!from_hex(p, (size_t)(end - p), buf, (size_t)len)) {
		return ERR(E_SYNTAX);
	}
	if (len && kr_copy_to_gva(g->vm, addr, buf, (size_t)len) < 0)
		return ERR(E_FAULT);
	return REPLY("OK");
}

/* Z/z type,addr,kind */
static enum kr_gdb_action breakpoint(struct kr_gdb *g, bool insert, const char *p,
				     const char *end, char *reply)
{
	uint64_t type, addr, kind;
	if (!parse_hex(&p, end, &type) || !expect(&p, end, ',') || !parse_hex(&p, end, &addr) ||
	    !expect(&p, end, ',') || !parse_hex(&p, end, &kind))
		return ERR(E_SYNTAX);
	/* Conditions and commands (";X...") are gdb's to evaluate: not offered, not taken. */
	if (p != end)
		return ERR(E_SYNTAX);
	enum kr_gdb_bp_kind k;
	unsigned len = 1;
	switch (type) {
	case 0:
	case 1:
		/* Without debug registers, by single-stepping (see run_to_breakpoint). */
		if (!g->can_hw_bp && !g->can_step)
			return (reply[0] = 0, KR_GDB_REPLY); /* unsupported: gdb says it cannot insert it */
		k = KR_GDB_BP_EXEC;
		break;
	case 2:
	case 4:
		if (!g->can_watch)
			return (reply[0] = 0, KR_GDB_REPLY);
		if (!kr_gdb_watch_ok(addr, kind))
			return ERR(E_RANGE);
		k = type == 2 ? KR_GDB_BP_WRITE : KR_GDB_BP_ACCESS;
		len = (unsigned)kind;
		break;
	default:
		return (reply[0] = 0, KR_GDB_REPLY); /* read watchpoints: x86 watches reads only with writes */
	}
	int found = -1, free_slot = -1;
	for (int i = 0; i < KR_GDB_MAX_BPS; i++) {
		const struct kr_gdb_bp *b = &g->bps[i];
		if (b->used && b->kind == k && b->addr == addr && b->len == len &&
		    g->bp_is_sw[i] == (type == 0))
			found = i;
		else if (!b->used && free_slot < 0)
			free_slot = i;
	}
	if (!insert) {
		if (found >= 0)
			g->bps[found].used = false;
		return REPLY("OK");
	}
	if (found >= 0)
		return REPLY("OK");
	if (free_slot < 0)
		return ERR(E_NOSPC); /* four debug registers, all taken */
	g->bps[free_slot] = (struct kr_gdb_bp){.used = true, .kind = k, .addr = addr, .len = len};
	g->bp_is_sw[free_slot] = type == 0;
	return REPLY("OK");
}

/* qXfer:features:read:ANNEX:offset,length */
static enum kr_gdb_action xfer_features(struct kr_gdb *g, const char *p, const char *end,
					char *reply)
{
	static const char annex[] = "target.xml:";
	size_t an = sizeof(annex) - 1;
	if ((size_t)(end - p) < an || memcmp(p, annex, an) != 0)
		return ERR(0); /* E00: no such annex */
	p += an;
	uint64_t off, len;
	if (!parse_hex(&p, end, &off) || !expect(&p, end, ',') || !parse_hex(&p, end, &len) ||
	    p != end)
		return ERR(E_SYNTAX);
	const char *xml = kr_gdb_target_xml(g->wide);
	size_t total = strlen(xml);
	if (off >= total)
		return REPLY("l");
	size_t n = total - (size_t)off;
	if (n > len)
		n = (size_t)len;
	if (n > KR_GDB_REPLY_MAX - 2)
		n = KR_GDB_REPLY_MAX - 2;
	reply[0] = (size_t)off + n < total ? 'm' : 'l';
	memcpy(reply + 1, xml + off, n);
	reply[1 + n] = '\0';
	return KR_GDB_REPLY;
}

static bool starts(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);
	return (size_t)(end - p) >= n && memcmp(p, s, n) == 0;
}

/* ---- threads: thread N is vCPU N-1 ------------------------------------------------ */

enum { TID_ALL = -1, TID_ANY = -2, TID_BAD = -3 };

/*
 * The thread id p[0..end): "-1" (all threads: TID_ALL), "0" (any: TID_ANY)
 * or a thread of ours, given as its vCPU (0..ncpus-1); else TID_BAD (a
 * thread that does not exist, or no thread id: the multiprocess "pP.T" form
 * is not offered, so not taken).
 */
static int parse_thread(const struct kr_gdb *g, const char *p, const char *end)
{
	if (end - p == 2 && p[0] == '-' && p[1] == '1')
		return TID_ALL;
	uint64_t t;
	if (!parse_hex(&p, end, &t) || p != end)
		return TID_BAD;
	if (t == 0)
		return TID_ANY;
	return t <= g->vm->ncpus ? (int)(t - 1) : TID_BAD;
}

/*
 * Whether vCPU `cpu` can run: the boot processor, or an AP started and not
 * halted, which KVM does not hold until an INIT/SIPI (the PC platform's APs
 * before the guest wakes them, see kr_gdb_cpu_waits_for_sipi).
 */
static bool can_run(const struct kr_gdb *g, unsigned cpu)
{
	const struct kr_vcpu *v = &g->vm->vcpus[cpu];
	return cpu == 0 ||
	       (v->started && !v->halted && !kr_gdb_cpu_waits_for_sipi(g->vm, cpu));
}

/* What qThreadExtraInfo says of vCPU `cpu`'s state. */
static const char *cpu_state(const struct kr_gdb *g, unsigned cpu)
{
	const struct kr_vcpu *v = &g->vm->vcpus[cpu];
	if (can_run(g, cpu))
		return "running"; /* it runs when gdb resumes it */
	if (v->halted)
		return "halted";
	return v->started ? "waiting for INIT/SIPI" : "not started";
}

/*
 * The plan is in g->resume: check that it can run. Every vCPU to step must
 * be able to (a step of a vCPU that does not run would never end), and at
 * least one vCPU must run. KR_GDB_STEP if one steps, else KR_GDB_CONTINUE.
 */
static enum kr_gdb_action check_plan(struct kr_gdb *g, char *reply)
{
	bool runs = false, steps = false;
	for (unsigned i = 0; i < g->vm->ncpus; i++) {
		if (g->resume[i] == KR_GDB_HOLD)
			continue;
		if (g->resume[i] == KR_GDB_STEP1 && !can_run(g, i))
			return ERR(E_THREAD);
		runs |= can_run(g, i);
		steps |= g->resume[i] == KR_GDB_STEP1;
	}
	if (steps && !g->can_step)
		return ERR(E_VCPU);
	/* No vCPU at all (a VM without KVM behind it, the fuzzer's): nothing to check. */
	if (!runs && g->vm->ncpus)
		return ERR(E_THREAD);
	return steps ? KR_GDB_STEP : KR_GDB_CONTINUE;
}

/*
 * c and s (and C, S), for a gdb that does not use vCont: c runs every vCPU;
 * s steps the vCPU Hc chose (else the last stop's) and holds the others.
 */
static enum kr_gdb_action plain_resume(struct kr_gdb *g, bool step, char *reply)
{
	unsigned target = g->c_cpu >= 0 ? (unsigned)g->c_cpu : g->stop_cpu;
	for (unsigned i = 0; i < g->vm->ncpus; i++)
		g->resume[i] = !step ? KR_GDB_RUN : i == target ? KR_GDB_STEP1 : KR_GDB_HOLD;
	return check_plan(g, reply);
}

/*
 * vCont;ACTION[:thread][;ACTION[:thread]]...: each vCPU takes the leftmost
 * action that names its thread (or names none); a vCPU no action names is
 * held. Actions: c, s, C sig, S sig (no signals to deliver in a VM).
 */
static enum kr_gdb_action vcont(struct kr_gdb *g, const char *p, const char *end, char *reply)
{
	unsigned n = g->vm->ncpus;
	bool decided[KR_MAX_CPUS] = {false};
	bool any = false;
	while (p < end) {
		if (!expect(&p, end, ';') || p == end)
			return ERR(E_SYNTAX);
		char a = *p++;
		if (a == 'C' || a == 'S') {
			uint64_t sig;
			if (!parse_hex(&p, end, &sig))
				return ERR(E_SYNTAX);
		} else if (a != 'c' && a != 's') {
			return ERR(E_SYNTAX); /* t, r: not offered by vCont? */
		}
		int tid = TID_ALL;
		if (expect(&p, end, ':')) {
			const char *t = p;
			while (p < end && *p != ';')
				p++;
			tid = parse_thread(g, t, p);
			if (tid == TID_BAD)
				return ERR(E_THREAD);
			if (tid == TID_ANY)
				tid = (int)g->stop_cpu;
		}
		if (p < end && *p != ';')
			return ERR(E_SYNTAX);
		any = true;
		enum kr_gdb_resume r = a == 's' || a == 'S' ? KR_GDB_STEP1 : KR_GDB_RUN;
		for (unsigned i = 0; i < n; i++)
			if (!decided[i] && (tid == TID_ALL || (unsigned)tid == i)) {
				decided[i] = true;
				g->resume[i] = r;
			}
	}
	if (!any)
		return ERR(E_SYNTAX);
	for (unsigned i = 0; i < n; i++)
		if (!decided[i])
			g->resume[i] = KR_GDB_HOLD;
	return check_plan(g, reply);
}

/* qfThreadInfo: every vCPU's thread, in hex: "m1,2,3". */
static enum kr_gdb_action thread_list(const struct kr_gdb *g, char *reply)
{
	if (g->vm->ncpus == 0)
		return REPLY("l"); /* no vCPU (a VM without KVM behind it): no thread */
	size_t used = 0;
	reply[used++] = 'm';
	for (unsigned i = 0; i < g->vm->ncpus; i++)
		used += (size_t)snprintf(reply + used, KR_GDB_REPLY_MAX + 1 - used, "%s%x",
					 i ? "," : "", i + 1);
	return KR_GDB_REPLY;
}

/* qThreadExtraInfo,thread: "vCPU 1, halted", hex-encoded. */
static enum kr_gdb_action thread_info(const struct kr_gdb *g, const char *p, const char *end,
				      char *reply)
{
	int cpu = parse_thread(g, p, end);
	if (cpu < 0)
		return ERR(E_THREAD);
	char what[48];
	int n = snprintf(what, sizeof(what), "vCPU %d, %s", cpu, cpu_state(g, (unsigned)cpu));
	to_hex(reply, (const uint8_t *)what, (size_t)n);
	return KR_GDB_REPLY;
}

/* Hg (registers and memory) and Hc (plain c and s). */
static enum kr_gdb_action set_thread(struct kr_gdb *g, const char *p, const char *end, char *reply)
{
	if (p == end || (*p != 'g' && *p != 'c'))
		return ERR(E_SYNTAX);
	bool general = *p++ == 'g';
	int cpu = parse_thread(g, p, end);
	if (cpu == TID_BAD)
		return ERR(E_THREAD);
	if (general) {
		if (cpu == TID_ALL)
			return ERR(E_THREAD); /* the registers of every thread at once: no */
		if (cpu >= 0)
			g->g_cpu = (unsigned)cpu;
		return REPLY("OK"); /* 0, any thread: the one selected stays */
	}
	g->c_cpu = cpu >= 0 ? cpu : -1;
	return REPLY("OK");
}

static enum kr_gdb_action handle(struct kr_gdb *g, const char *pkt, size_t len, char *reply)
{
	const char *p = pkt, *end = pkt + len;
	static uint8_t regs[KR_GDB_REGS_MAX];
	size_t n;
	uint64_t v;
	reply[0] = '\0';
	if (len == 0)
		return KR_GDB_REPLY;
	char cmd = *p++;
	switch (cmd) {
	case '?':
		return REPLY("%s", g->stop_reply);
	case 'g':
		if (p != end)
			return ERR(E_SYNTAX);
		if (kr_gdb_read_regs(g->vm, g->wide, regs, &n) < 0)
			return ERR(E_VCPU);
		to_hex(reply, regs, n);
		return KR_GDB_REPLY;
	case 'G':
		if (kr_gdb_read_regs(g->vm, g->wide, regs, &n) < 0)
			return ERR(E_VCPU);
		if (!from_hex(p, (size_t)(end - p), regs, n))
			return ERR(E_SYNTAX);
		return kr_gdb_write_regs(g->vm, g->wide, regs, n) < 0 ? ERR(E_VCPU) : REPLY("OK");
	case 'p':
		if (!parse_hex(&p, end, &v) || p != end)
			return ERR(E_SYNTAX);
		if (v >= kr_gdb_nregs(g->wide))
			return ERR(E_RANGE);
		if (kr_gdb_read_reg(g->vm, g->wide, (unsigned)v, regs, &n) < 0)
			return ERR(E_VCPU);
		to_hex(reply, regs, n);
		return KR_GDB_REPLY;
	case 'P':
		if (!parse_hex(&p, end, &v) || !expect(&p, end, '='))
			return ERR(E_SYNTAX);
		if (v >= kr_gdb_nregs(g->wide))
			return ERR(E_RANGE);
		n = kr_gdb_reg_size(g->wide, (unsigned)v);
		if (!from_hex(p, (size_t)(end - p), regs, n))
			return ERR(E_SYNTAX);
		return kr_gdb_write_reg(g->vm, g->wide, (unsigned)v, regs, n) < 0 ? ERR(E_VCPU)
										      : REPLY("OK");
	case 'm':
		return read_memory(g, p, end, reply);
	case 'M':
		return write_memory(g, p, end, false, reply);
	case 'X':
		return write_memory(g, p, end, true, reply);
	case 'c':
	case 's':
	case 'C':
	case 'S': { /* [sig;][addr]: no signals to deliver to a VM */
		if (cmd == 'C' || cmd == 'S') {
			if (!parse_hex(&p, end, &v))
				return ERR(E_SYNTAX);
			if (p < end && !expect(&p, end, ';'))
				return ERR(E_SYNTAX);
		}
		bool step = cmd == 's' || cmd == 'S';
		if (step && !g->can_step)
			return ERR(E_VCPU);
		enum kr_gdb_action a = plain_resume(g, step, reply);
		if (a == KR_GDB_REPLY)
			return a;
		/* The address is for the thread that steps (or, for c, the last stop's). */
		kr_vcpu_focus(g->vm, g->c_cpu >= 0 ? (unsigned)g->c_cpu : g->stop_cpu);
		if (!resume_at(g, p, end))
			return ERR(E_SYNTAX);
		return a;
	}
	case 'Z':
	case 'z':
		return breakpoint(g, cmd == 'Z', p, end, reply);
	case 'H':
		return set_thread(g, p, end, reply);
	case 'T': /* is the thread alive: every vCPU is, for as long as the VM lives */
		return parse_thread(g, p, end) >= 0 ? REPLY("OK") : ERR(E_THREAD);
	case 'k':
		return KR_GDB_KILL;
	case 'D':
		return KR_GDB_DETACH;
	case 'v':
		if (starts(p, end, "Cont?"))
			return g->can_step ? REPLY("vCont;c;C;s;S") : REPLY("vCont;c;C");
		if (starts(p, end, "Cont;") || (starts(p, end, "Cont") && end - p == 4))
			return vcont(g, p + 4, end, reply);
		if (starts(p, end, "Kill"))
			return KR_GDB_KILL;
		return (reply[0] = 0, KR_GDB_REPLY); /* vMustReplyEmpty, vFile...: not here */
	case 'q':
		if (starts(p, end, "Supported"))
			return REPLY("PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;"
				     "vContSupported+",
				     KR_GDB_PACKET_MAX);
		if (starts(p, end, "Xfer:features:read:"))
			return xfer_features(g, p + 19, end, reply);
		if (starts(p, end, "Attached"))
			return REPLY("1"); /* the guest existed before gdb: detach, not kill */
		if (end - p == 1 && *p == 'C')
			return REPLY("QC%x", g->stop_cpu + 1);
		if (starts(p, end, "fThreadInfo"))
			return thread_list(g, reply);
		if (starts(p, end, "sThreadInfo"))
			return REPLY("l"); /* all of them came with qfThreadInfo */
		if (starts(p, end, "ThreadExtraInfo,"))
			return thread_info(g, p + 16, end, reply);
		if (starts(p, end, "Symbol::"))
			return REPLY("OK");
		return (reply[0] = 0, KR_GDB_REPLY);
	default:
		return (reply[0] = 0, KR_GDB_REPLY);
	}
}

enum kr_gdb_action kr_gdb_handle(struct kr_gdb *g, const char *pkt, size_t len, char *reply)
{
	/* Registers, memory by virtual address: of (and through the page tables of) Hg's vCPU. */
	kr_vcpu_focus(g->vm, g->g_cpu);
	enum kr_gdb_action a = handle(g, pkt, len, reply);
	kr_vcpu_focus(NULL, 0);
	return a;
}

/* ---- the connection -------------------------------------------------------------- */

static int write_all(int fd, const char *buf, size_t n)
{
	while (n) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return kr_err_sys("gdb: write(fd %d, %zu bytes)", fd, n);
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* $reply#sum, escaping what would end or confuse the packet. */
static int send_packet(struct kr_gdb *g, const char *reply)
{
	char *o = g->last;
	size_t k = 0;
	uint8_t sum = 0;
	o[k++] = '$';
	for (const char *r = reply; *r && k < sizeof(g->last) - 4; r++) {
		char c = *r;
		if (c == '$' || c == '#' || c == '}' || c == '*') {
			o[k++] = '}';
			sum = (uint8_t)(sum + '}');
			c ^= 0x20;
		}
		o[k++] = c;
		sum = (uint8_t)(sum + (uint8_t)c);
	}
	o[k++] = '#';
	o[k++] = hexdig[sum >> 4];
	o[k++] = hexdig[sum & 15];
	g->last_len = k;
	return write_all(g->fd, o, k);
}

/* Read what the socket has into g->in; 0 at EOF. */
static ssize_t fill(struct kr_gdb *g)
{
	if (g->in_len == sizeof(g->in))
		g->in_len = 0; /* garbage that frames nothing: drop it */
	for (;;) {
		ssize_t r = read(g->fd, g->in + g->in_len, sizeof(g->in) - g->in_len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == ECONNRESET)
			return 0; /* gdb went away without closing: the same as EOF */
		if (r < 0)
			return kr_err_sys("gdb: read(fd %d)", g->fd);
		g->in_len += (size_t)r;
		return r;
	}
}

static void consume(struct kr_gdb *g, size_t used)
{
	memmove(g->in, g->in + used, g->in_len - used);
	g->in_len -= used;
}

enum { GOT_PACKET, GOT_EOF, GOT_ERROR, GOT_TOO_LONG };

/* The next packet from gdb, acknowledged. Ctrl-C while stopped changes nothing. */
static int next_packet(struct kr_gdb *g, char *pkt, size_t *len)
{
	for (;;) {
		size_t used;
		enum kr_gdb_frame f = kr_gdb_frame(g->in, g->in_len, &used, pkt, KR_GDB_PACKET_MAX, len);
		consume(g, used);
		switch (f) {
		case KR_GDB_FRAME_PACKET:
			return write_all(g->fd, "+", 1) < 0 ? GOT_ERROR : GOT_PACKET;
		case KR_GDB_FRAME_TOO_LONG:
			return write_all(g->fd, "+", 1) < 0 ? GOT_ERROR : GOT_TOO_LONG;
		case KR_GDB_FRAME_BAD_SUM:
			if (write_all(g->fd, "-", 1) < 0)
				return GOT_ERROR;
			continue;
		case KR_GDB_FRAME_NACK:
			if (g->last_len && write_all(g->fd, g->last, g->last_len) < 0)
				return GOT_ERROR;
			continue;
		case KR_GDB_FRAME_INTERRUPT:
			continue;
		case KR_GDB_FRAME_MORE:
			break;
		}
		ssize_t r = fill(g);
		if (r < 0)
			return GOT_ERROR;
		if (r == 0)
			return GOT_EOF;
	}
}

/* ---- running under gdb ------------------------------------------------------------ */

/* The execution breakpoint at pc, or -1. */
static int exec_bp_at(const struct kr_gdb *g, uint64_t pc)
{
	for (int i = 0; i < KR_GDB_MAX_BPS; i++)
		if (g->bps[i].used && g->bps[i].kind == KR_GDB_BP_EXEC && g->bps[i].addr == pc)
			return i;
	return -1;
}

/* vCPU `cpu` stopped for gdb: the first to stop claims the stop reply; every vCPU stops. */
static void stop_for(struct kr_gdb *g, unsigned cpu, const struct kr_gdb_debug_exit *d)
{
	if (!atomic_exchange(&g->hit_claimed, true)) {
		g->dbg = *d;
		g->hit_cpu = cpu;
		g->debug_hit = true;
	}
	kr_vm_stop(g->vm, KR_STOP_REQUESTED, 0, "gdb: a breakpoint, watchpoint or single step");
}

/*
 * KVM_EXIT_DEBUG, on the thread of the vCPU that took it (several at once
 * with several vCPUs). Where the back end ignores the debug registers but
 * steps (the QEMU test bed's nested SVM), a vCPU that continues with
 * breakpoints set single-steps (g->emulate): each step lands here, and a
 * RIP that is no breakpoint lets the vCPU go on at once, without a stop.
 * One exit per instruction, slow, but it stops where gdb asked. The first
 * vCPU to stop claims the stop; kr_vm_stop ends every vCPU's run.
 */
static int on_debug_exit(struct kr_vm *vm, void *opaque)
{
	struct kr_gdb *g = opaque;
	if (!g)
		return 0;
	const struct kr_vcpu *v = kr_vcpu_current(vm);
	struct kr_gdb_debug_exit d;
	kr_gdb_decode_debug_exit(v->run, &d);
	if (g->emulate && g->resume[v->id] != KR_GDB_STEP1) {
		int hit = exec_bp_at(g, d.pc);
		if (hit < 0)
			return 1; /* a step between breakpoints: on */
		d.slot = hit;
	}
	stop_for(g, v->id, &d);
	return 1;
}

/*
 * The guest starts an AP in the middle of a run. KVM ties a single step's
 * TF to the RIP at KVM_SET_GUEST_DEBUG, which the start just changed: set
 * it again. And where breakpoints are emulated by stepping, no step lands
 * on the AP's first instruction: a breakpoint there is checked here.
 */
static int on_cpu_start(struct kr_vm *vm, void *opaque, unsigned cpu)
{
	struct kr_gdb *g = opaque;
	if (!g)
		return 0;
	if (kr_gdb_debug_again(vm, cpu) < 0)
		return -1;
	if (!g->emulate || g->resume[cpu] != KR_GDB_RUN)
		return 0;
	struct kvm_regs regs;
	if (kr_vcpu_get_regs_of(&vm->vcpus[cpu], &regs) < 0)
		return -1;
	int hit = exec_bp_at(g, regs.rip);
	if (hit >= 0)
		stop_for(g, cpu, &(struct kr_gdb_debug_exit){.pc = regs.rip, .slot = hit});
	return 0;
}

/* The hooks stay registered for the VM's life; opaque is the stub of the serve in progress. */
static const struct kr_hooks gdb_hooks = {
	.name = "gdb", .on_debug_exit = on_debug_exit, .on_cpu_start = on_cpu_start};

/*
 * While the guest runs: a Ctrl-C from gdb (or the connection going away)
 * stops it. The vCPU threads are inside KVM_RUN, so this thread watches the
 * socket, and `quit` (a pipe) tells it the run is over.
 */
struct watcher {
	struct kr_gdb *g;
	int quit;
};

static void *watch_socket(void *arg)
{
	struct watcher *w = arg;
	struct kr_gdb *g = w->g;
	struct pollfd p[2] = {{.fd = g->fd, .events = POLLIN}, {.fd = w->quit, .events = POLLIN}};
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			return NULL;
		if (!p[0].revents)
			continue;
		if (g->in_len == sizeof(g->in))
			g->in_len = 0;
		ssize_t r = read(g->fd, g->in + g->in_len, sizeof(g->in) - g->in_len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			atomic_store(&g->conn_lost, true);
			kr_vm_stop(g->vm, KR_STOP_REQUESTED, 0, "gdb: the connection was closed");
			return NULL;
		}
		g->in_len += (size_t)r;
		if (memchr(g->in + g->in_len - r, 0x03, (size_t)r)) {
			atomic_store(&g->interrupted, true);
			kr_vm_stop(g->vm, KR_STOP_REQUESTED, 0, "gdb: interrupted (Ctrl-C)");
		}
	}
	return NULL;
}

/* One kr_vm_run with the socket watched; the watcher is gone when this returns. */
static int run_watched(struct kr_gdb *g, struct kr_stop *stop)
{
	int quit[2];
	if (pipe2(quit, O_CLOEXEC) < 0)
		return kr_err_sys("gdb: pipe2 for the socket watcher");
	struct watcher w = {.g = g, .quit = quit[0]};
	pthread_t t;
	int e = pthread_create(&t, NULL, watch_socket, &w);
	if (e) {
		close(quit[0]);
		close(quit[1]);
		errno = e;
		return kr_err_sys("gdb: pthread_create for the socket watcher");
	}
	int rc = kr_vm_run(g->vm, stop);
	char c = 'q';
	while (write(quit[1], &c, 1) < 0 && errno == EINTR)
		;
	pthread_join(t, NULL);
	close(quit[0]);
	close(quit[1]);
	return rc;
}

/*
 * A vCPU that continues while it sits on an execution breakpoint stops
 * there at once, as it would on hardware: gdb steps the thread it stopped
 * last over its breakpoint before it continues, but knows nothing of
 * another vCPU that reached a breakpoint in the same moment and whose stop
 * was dropped (one stop per run). On a back end that emulates breakpoints
 * that vCPU would otherwise run past it. -1 if none, else the vCPU (its
 * breakpoint in *slot).
 */
static int waiting_at_breakpoint(struct kr_gdb *g, int *slot)
{
	for (unsigned i = 0; i < g->vm->ncpus; i++) {
		struct kvm_regs regs;
		if (g->resume[i] != KR_GDB_RUN || !can_run(g, i) ||
		    kr_vcpu_get_regs_of(&g->vm->vcpus[i], &regs) < 0)
			continue;
		int hit = exec_bp_at(g, regs.rip);
		if (hit >= 0) {
			*slot = hit;
			return (int)i;
		}
	}
	return -1;
}

/* The stop reply for a run that ended at gdb's request (debug exit or Ctrl-C). */
static void stop_reply_for(struct kr_gdb *g, unsigned cpu)
{
	unsigned t = cpu + 1;
	g->stop_cpu = g->g_cpu = cpu; /* as gdbserver: the event's thread is the current one */
	g->c_cpu = -1;
	if (!g->debug_hit) {
		snprintf(g->stop_reply, sizeof(g->stop_reply), "T02thread:%02x;", t);
		return;
	}
	const struct kr_gdb_debug_exit *d = &g->dbg;
	if (d->slot >= 0 && g->bps[d->slot].used) {
		const struct kr_gdb_bp *b = &g->bps[d->slot];
		if (b->kind == KR_GDB_BP_EXEC)
			snprintf(g->stop_reply, sizeof(g->stop_reply), "T05thread:%02x;%s:;", t,
				 g->bp_is_sw[d->slot] ? "swbreak" : "hwbreak");
		else
			snprintf(g->stop_reply, sizeof(g->stop_reply), "T05thread:%02x;%swatch:%llx;",
				 t, b->kind == KR_GDB_BP_ACCESS ? "a" : "",
				 (unsigned long long)b->addr);
		return;
	}
	snprintf(g->stop_reply, sizeof(g->stop_reply), "T05thread:%02x;", t);
}

/*
 * Run for a c, s or vCont as g->resume plans it: the debug registers and
 * single step set on every vCPU, the vCPUs without an action held. The stop
 * reply is ready in g->stop_reply if the run ended for gdb (*for_gdb).
 */
static int run_for_gdb(struct kr_gdb *g, struct kr_stop *stop, bool *for_gdb)
{
	static const struct kr_gdb_bp none[KR_GDB_MAX_BPS];
	struct kr_vm *vm = g->vm;
	*for_gdb = false;
	bool any_exec = false;
	for (int i = 0; i < KR_GDB_MAX_BPS; i++)
		any_exec |= g->bps[i].used && g->bps[i].kind == KR_GDB_BP_EXEC;
	g->debug_hit = false;
	atomic_store(&g->hit_claimed, false);
	atomic_store(&g->interrupted, false);

	int slot, waiting = waiting_at_breakpoint(g, &slot);
	if (waiting >= 0) {
		memset(&g->dbg, 0, sizeof(g->dbg));
		g->dbg.slot = slot;
		g->debug_hit = *for_gdb = true;
		stop_reply_for(g, (unsigned)waiting);
		return 0;
	}

	g->emulate = !g->can_hw_bp && g->can_step && any_exec;
	uint64_t held = 0;
	int first = -1; /* the first vCPU that runs: a Ctrl-C stop names it */
	for (unsigned i = 0; i < vm->ncpus; i++) {
		enum kr_gdb_resume r = g->resume[i];
		if (r == KR_GDB_HOLD)
			held |= 1ull << i;
		else if (first < 0 && can_run(g, i))
			first = (int)i;
		bool step = r == KR_GDB_STEP1 || (r == KR_GDB_RUN && g->emulate);
		if (kr_gdb_set_debug(vm, i, g->can_hw_bp ? g->bps : none, step) < 0)
			return -1;
	}
	vm->held = held;
	int rc = run_watched(g, stop);
	vm->held = 0;
	if (rc < 0)
		return -1;
	if (atomic_load(&g->conn_lost))
		return 0;
	if (g->debug_hit) {
		*for_gdb = stop->reason == KR_STOP_REQUESTED;
		if (*for_gdb)
			stop_reply_for(g, g->hit_cpu);
		return 0;
	}
	if (stop->reason != KR_STOP_REQUESTED)
		return 0; /* the guest's own end */
	if (atomic_load(&g->interrupted)) {
		*for_gdb = true;
		stop_reply_for(g, first >= 0 ? (unsigned)first : 0);
		return 0;
	}
	/*
	 * vCPU 0 held, and the APs that ran halted before their step ended (a
	 * flat guest's AP that returns): the step is over, the vCPU halted.
	 */
	if ((held & 1) && first > 0 && vm->vcpus[first].halted) {
		*for_gdb = true;
		stop_reply_for(g, (unsigned)first);
		snprintf(g->stop_reply, sizeof(g->stop_reply), "T05thread:%02x;", first + 1);
	}
	return 0;
}

/* The guest ended by itself: W with its status, or X with a signal that says how. */
static void final_reply(const struct kr_stop *stop, char *out, size_t size)
{
	switch (stop->reason) {
	case KR_STOP_EXIT:
		snprintf(out, size, "W%02x", (unsigned)stop->exit_code & 0xff);
		break;
	case KR_STOP_HLT:
		snprintf(out, size, "W00");
		break;
	case KR_STOP_TIMEOUT:
		snprintf(out, size, "X0e"); /* SIGALRM */
		break;
	case KR_STOP_REQUESTED:
		snprintf(out, size, "X0f"); /* SIGTERM: stopped from outside */
		break;
	default:
		snprintf(out, size, "X0b"); /* SIGSEGV: the guest crashed */
		break;
	}
}

/*
 * After a detach (or the guest's end), gdb acknowledges our last packet and
 * closes the connection: give it
 * a second to, so that a guest that ends at once does not close the socket
 * under gdb's feet (gdb would call that a communication error).
 */
static void linger(struct kr_gdb *g)
{
	struct pollfd p = {.fd = g->fd, .events = POLLIN};
	uint8_t buf[256];
	while (poll(&p, 1, 1000) > 0 && read(g->fd, buf, sizeof(buf)) > 0)
		;
}

/* Without gdb: the debug registers off on every vCPU, the guest to its end. */
static int run_free(struct kr_gdb *g, struct kr_stop *stop)
{
	static const struct kr_gdb_bp none[KR_GDB_MAX_BPS];
	g->vm->held = 0;
	for (unsigned i = 0; i < g->vm->ncpus; i++)
		if (kr_gdb_set_debug(g->vm, i, none, false) < 0)
			return -1;
	/* Off for good: a KVM_EXIT_DEBUG now is nobody's (see debug_exit in core/run.c). */
	return kr_vm_run(g->vm, stop);
}

int kr_gdb_serve(struct kr_vm *vm, int fd, struct kr_stop *stop)
{
	memset(stop, 0, sizeof(*stop));
	if (!vm->prepared)
		return kr_err_code(KR_E_BAD_ARG, "gdb: the vCPU was never prepared: call "
						 "kr_vcpu_prepare() before kr_gdb_serve()");
	struct kr_backend be;
	if (kr_backend_probe(&be) < 0)
		return kr_err_context("gdb: what this KVM back end can debug");
	static struct kr_gdb stub; /* 50 KiB of buffers; one session at a time per process */
	static atomic_flag busy = ATOMIC_FLAG_INIT;
	if (atomic_flag_test_and_set(&busy))
		return kr_err("gdb: another kr_gdb_serve is in progress in this process");
	struct kr_gdb *g = &stub;
	kr_gdb_init(g, vm, fd);
	g->can_step = be.debug_singlestep;
	g->can_hw_bp = be.debug_hw_breakpoints;
	g->can_watch = be.debug_watchpoints;

	int rc = -1;
	if (!kr_vm_module(vm, &gdb_hooks) && kr_vm_add_module(vm, &gdb_hooks, g) < 0)
		goto out;
	/* The hooks' opaque is this stub for as long as it serves (see below). */
	for (size_t i = 0; i < vm->nmodules; i++)
		if (vm->modules[i].hooks == &gdb_hooks)
			vm->modules[i].opaque = g;

	static char pkt[KR_GDB_PACKET_MAX + 1], reply[KR_GDB_REPLY_MAX + 1];
	for (;;) {
		size_t len;
		int got = next_packet(g, pkt, &len);
		if (got == GOT_ERROR)
			goto out;
		if (got == GOT_EOF) { /* gdb went away: the guest runs on without it */
			rc = run_free(g, stop);
			goto out;
		}
		enum kr_gdb_action a = KR_GDB_REPLY;
		if (got == GOT_TOO_LONG)
			snprintf(reply, sizeof(reply), "E%02x", (unsigned)E_RANGE);
		else
			a = kr_gdb_handle(g, pkt, len, reply);
		if (a == KR_GDB_REPLY) {
			if (send_packet(g, reply) < 0)
				goto out;
			continue;
		}
		if (a == KR_GDB_KILL) {
			stop->reason = KR_STOP_REQUESTED;
			snprintf(stop->message, sizeof(stop->message), "killed by gdb");
			rc = 0;
			goto out;
		}
		if (a == KR_GDB_DETACH) {
			if (send_packet(g, "OK") < 0)
				goto out;
			linger(g);
			rc = run_free(g, stop);
			goto out;
		}
		/* Continue or step, as g->resume says. */
		bool for_gdb;
		if (run_for_gdb(g, stop, &for_gdb) < 0)
			goto out;
		if (atomic_load(&g->conn_lost)) {
			rc = run_free(g, stop);
			goto out;
		}
		if (!for_gdb) {
			char fin[16];
			final_reply(stop, fin, sizeof(fin));
			/* gdb may be gone already: the guest's end counts, not the reply's. */
			if (send_packet(g, fin) == 0)
				linger(g);
			rc = 0;
			goto out;
		}
		if (send_packet(g, g->stop_reply) < 0)
			goto out;
	}
out:
	/* The stub's state dies with this call: a later debug exit finds no stub. */
	for (size_t i = 0; i < vm->nmodules; i++)
		if (vm->modules[i].hooks == &gdb_hooks)
			vm->modules[i].opaque = NULL;
	vm->held = 0;
	atomic_flag_clear(&busy);
	return rc;
}
