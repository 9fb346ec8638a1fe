/* SPDX-License-Identifier: MIT */
/*
 * bench.c - kvmrun against the ioctl floor, in one run.
 *
 * Every case runs the same guest bytes twice per round, once through
 * libkvmrun and once through bare ioctls (bare.h), the order alternating
 * from round to round, pinned to one CPU. Each side keeps wall time and CPU
 * time (CLOCK_PROCESS_CPUTIME_ID; wait4's rusage for processes): on a shared
 * host wall times wander by half, CPU time much less. Reported per case:
 * min, median, spread ((p75 - p25) / median) and the ratio of the medians,
 * kvmrun over bare. A readable table on stdout, everything in a JSON file.
 *
 *   build/bench [--rounds N] [--exits N] [--ops N] [--proc-rounds N] [--json FILE]
 *               [--kvmrun PATH] [--bare PATH] [--guests DIR] [--old-kvmrun PATH]
 *               [--cpu N] [--case NAME]
 *   build/bench --validate-json FILE
 *
 * --case runs one in-process case alone (no processes): for measuring one
 * change; its JSON has that case only.
 *
 * --old-kvmrun adds `kvmrun run` of another build (say main's, built beside)
 * to the process-level rounds, interleaved with the others.
 *
 * Reset, snapshot, restore and call rounds do --ops operations each (the
 * guest runs between two resets are not counted). Where no bare sequence
 * does the same work (taking a snapshot) the figure stands alone, without
 * a ratio. The call rows call calc.elf's sum() from --guests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bare.h"
#include "kvmrun.h"

#define MEM_SIZE (16u << 20)
#define PIO_PORT 0x600
#define MMIO_ADDR 0x2000000ull /* above the 16 MiB of RAM, inside bare's identity map */
#define HC_BUF 0x200000u
#define HC_LEN 64u
#define DIRTY_A 0x300000u /* the two pages the reset guest writes */
#define DIRTY_B 0x301000u
#define SUM_N 16u         /* the call: sum() of 16 numbers, as bench/callpool.c does */

/* ---- the guests ------------------------------------------------------------ */

enum op { OP_NONE, OP_PIO, OP_MMIO, OP_HC, OP_HLT, OP_DIRTY, OP_SUM };

struct code {
	uint8_t b[128];
	size_t n;
};

static void emit(struct code *c, const void *bytes, size_t n)
{
	memcpy(c->b + c->n, bytes, n);
	c->n += n;
}

static void emit32(struct code *c, uint8_t opcode, uint32_t imm)
{
	uint8_t b[5] = {opcode, (uint8_t)imm, (uint8_t)(imm >> 8), (uint8_t)(imm >> 16),
			(uint8_t)(imm >> 24)};
	emit(c, b, 5);
}

/*
 * 64-bit code, loaded at 1 MiB:
 *   top:  mov ecx, K
 *   loop: <op>; dec ecx; jnz loop      (left out for OP_NONE)
 *         EXIT hypercall, status 0; jmp top
 * so each run is K operations and one EXIT, and the next run goes on from
 * there. OP_HLT is `hlt; jmp back`: each run is one HLT.
 */
static struct code guest_code(enum op op, uint32_t k)
{
	struct code c = {.n = 0};
	if (op == OP_DIRTY) { /* top: mov [A], eax; mov [B], eax; hlt; jmp top */
		emit(&c, (const uint8_t[]){0x89, 0x04, 0x25}, 3);
		emit(&c, &(uint32_t){DIRTY_A}, 4);
		emit(&c, (const uint8_t[]){0x89, 0x04, 0x25}, 3);
		emit(&c, &(uint32_t){DIRTY_B}, 4);
		emit(&c, (const uint8_t[]){0xf4, 0xeb, (uint8_t)(0 - (c.n + 3))}, 3);
		return c;
	}
	if (op == OP_SUM) {
		/* RAX = the sum of RSI 64-bit numbers at RDI, then HLT (calc.c's sum) */
		emit(&c, (const uint8_t[]){0x31, 0xc0,             /* xor eax, eax */
					   0x48, 0x85, 0xf6,       /* test rsi, rsi */
					   0x74, 0x0c,             /* jz done */
					   0x48, 0x03, 0x07,       /* loop: add rax, [rdi] */
					   0x48, 0x83, 0xc7, 0x08, /* add rdi, 8 */
					   0x48, 0xff, 0xce,       /* dec rsi */
					   0x75, 0xf4,             /* jnz loop */
					   0xf4},                  /* done: hlt */
		     20);
		return c;
	}
	if (op == OP_HLT) {
		emit(&c, (const uint8_t[]){0xf4, 0xeb, 0xfd}, 3);
		return c;
	}
	if (op != OP_NONE) {
		emit32(&c, 0xb9, k); /* mov ecx, k */
		size_t loop = c.n;
		switch (op) {
		case OP_PIO:
			emit32(&c, 0xba, PIO_PORT);                  /* mov edx, port */
			emit(&c, (const uint8_t[]){0xb0, 0x2a, 0xee}, 3); /* mov al, 42; out dx, al */
			break;
		case OP_MMIO:
			emit32(&c, 0xbb, (uint32_t)MMIO_ADDR);      /* mov ebx, addr */
			emit(&c, (const uint8_t[]){0x89, 0x03}, 2); /* mov [rbx], eax */
			break;
		default: /* OP_HC */
			emit32(&c, 0xbf, HC_BUF);               /* mov edi, buf */
			emit32(&c, 0xbe, HC_LEN);               /* mov esi, len */
			emit32(&c, 0xb8, KVMRUN_HC_WRITE);      /* mov eax, WRITE */
			emit32(&c, 0xba, KVMRUN_HYPERCALL_PORT); /* mov edx, port */
			emit(&c, (const uint8_t[]){0xef}, 1);   /* out dx, eax */
			break;
		}
		emit(&c, (const uint8_t[]){0xff, 0xc9, 0x75}, 3); /* dec ecx; jnz */
		emit(&c, (const uint8_t[]){(uint8_t)(loop - (c.n + 1))}, 1);
	}
	emit32(&c, 0xba, KVMRUN_HYPERCALL_PORT);
	emit32(&c, 0xb8, KVMRUN_HC_EXIT);
	emit(&c, (const uint8_t[]){0x31, 0xff, 0xef, 0xeb}, 4); /* xor edi, edi; out; jmp */
	emit(&c, (const uint8_t[]){(uint8_t)(0 - (c.n + 1))}, 1);
	return c;
}

/* ---- measuring ----------------------------------------------------------------- */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct sample {
	double wall, cpu; /* ns per operation */
	double rss;       /* KiB, processes only */
};

#define SIDES 3 /* kvmrun, bare, (process level) kvmrun without seccomp / another build */

struct series {
	size_t n;
	struct sample *s;
};

struct stats {
	double min, median, p25, p75;
};

struct bench;

/*
 * A case. In-process cases have a round function per side; one round may
 * yield two measurements (create, then destroy). per_op divides a round's
 * time by the operations it did.
 */
struct bcase {
	const char *name, *what;
	int (*lib_round)(struct bench *b, struct sample out[2]);
	int (*bare_round)(struct bench *b, struct sample out[2]); /* NULL: no baseline */
	const char *second;   /* name of the second measurement, or NULL */
	bool per_exit;
	enum op op;           /* the guest of per-exit and reset cases */
	int (*setup)(struct bench *b, struct bcase *c); /* NULL: the per-exit VMs */
	struct series res[2][2]; /* [measurement][side] */
};

struct bench {
	unsigned rounds, exits, ops, proc_rounds, cpu;
	const char *json_path, *kvmrun, *bare, *old_kvmrun, *image, *guests;
	const char *only; /* --case: this in-process case alone, no processes */
	int devnull;
	struct bare_proc proc;
	/* the VMs of the per-exit cases, made before their rounds */
	struct kr_vm *vm;
	struct bare_vm *bvm;
	/* create/destroy: the VM the create round leaves for destroy */
	struct kr_vm *made;
	uint64_t dev_sum;
	/* reset, snapshot, restore and call: the snapshot of b->vm, bare's of b->bvm */
	struct kr_snapshot *snap;
	struct bare_snap bsnap;
	uint64_t *bpages, nbpages; /* bsnap's non-zero pages, for bare's restore */
	int64_t nums[SUM_N];
	int64_t want;
};

static int lib_io(struct kr_vm *vm, void *opaque, uint64_t addr, void *data, uint32_t size,
		  bool is_write)
{
	(void)vm, (void)addr, (void)size, (void)is_write;
	struct bench *b = opaque;
	b->dev_sum += *(uint8_t *)data;
	return 0;
}

static int lib_make(struct bench *b, const struct code *c, bool devices, struct kr_vm **out)
{
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.mem_size = MEM_SIZE;
	cfg.console_fd = b->devnull;
	cfg.max_output = 0;
	struct kr_image img;
	struct kr_vm *vm;
	if (kr_vm_create(&vm, &cfg) < 0)
		return -1;
	if ((devices && (kr_bus_register(vm, KR_SPACE_PIO, PIO_PORT, 1, lib_io, b) < 0 ||
			 kr_bus_register(vm, KR_SPACE_MMIO, MMIO_ADDR, 4096, lib_io, b) < 0)) ||
	    kr_load_buffer(vm, c->b, c->n, NULL, &img) < 0 || kr_vcpu_prepare(vm, &img) < 0) {
		kr_vm_destroy(vm);
		return -1;
	}
	*out = vm;
	return 0;
}

static int lib_run_expect(struct kr_vm *vm, enum kr_stop_reason want)
{
	struct kr_stop stop;
	if (kr_vm_run(vm, &stop) < 0)
		return -1;
	if (stop.reason != want) {
		fprintf(stderr, "bench: the guest stopped with %s: %s\n",
			kr_stop_reason_name(stop.reason), stop.message);
		return -1;
	}
	return 0;
}

static void stamp(uint64_t *w, uint64_t *c)
{
	*w = clock_ns(CLOCK_MONOTONIC);
	*c = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

static struct sample since(uint64_t w0, uint64_t c0, double per)
{
	return (struct sample){.wall = (double)(clock_ns(CLOCK_MONOTONIC) - w0) / per,
			       .cpu = (double)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0) / per};
}

/* create (to the first exit), then destroy */
static int lib_create(struct bench *b, struct sample out[2])
{
	struct code c = guest_code(OP_NONE, 0);
	uint64_t w, t;
	stamp(&w, &t);
	struct kr_vm *vm;
	if (lib_make(b, &c, false, &vm) < 0)
		return -1;
	int rc = lib_run_expect(vm, KR_STOP_EXIT);
	out[0] = since(w, t, 1);
	stamp(&w, &t);
	kr_vm_destroy(vm);
	out[1] = since(w, t, 1);
	return rc;
}

static int bare_create_round(struct bench *b, struct sample out[2])
{
	struct code c = guest_code(OP_NONE, 0);
	uint64_t w, t;
	stamp(&w, &t);
	int rc = bare_create(&b->proc, b->bvm, c.b, c.n, MEM_SIZE, b->devnull);
	if (rc == 0 && bare_run(&b->proc, b->bvm) != 0)
		rc = -1;
	out[0] = since(w, t, 1);
	stamp(&w, &t);
	bare_destroy(&b->proc, b->bvm);
	out[1] = since(w, t, 1);
	return rc;
}

/* A per-exit round: one run of the case's guest (set up by prepare_case). */
static int lib_exits(struct bench *b, struct sample out[2])
{
	uint64_t w, t;
	stamp(&w, &t);
	int rc = lib_run_expect(b->vm, KR_STOP_EXIT);
	out[0] = since(w, t, b->exits);
	return rc;
}

static int bare_exits(struct bench *b, struct sample out[2])
{
	uint64_t w, t;
	stamp(&w, &t);
	int rc = bare_run(&b->proc, b->bvm) == 0 ? 0 : -1;
	out[0] = since(w, t, b->exits);
	return rc;
}

/* HLT: `exits` runs that each end in one HLT. */
static int lib_hlt(struct bench *b, struct sample out[2])
{
	uint64_t w, t;
	stamp(&w, &t);
	for (unsigned i = 0; i < b->exits; i++)
		if (lib_run_expect(b->vm, KR_STOP_HLT) < 0)
			return -1;
	out[0] = since(w, t, b->exits);
	return 0;
}

static int bare_hlt(struct bench *b, struct sample out[2])
{
	uint64_t w, t;
	stamp(&w, &t);
	for (unsigned i = 0; i < b->exits; i++)
		if (bare_run(&b->proc, b->bvm) != BARE_HLT)
			return -1;
	out[0] = since(w, t, b->exits);
	return 0;
}

/* ---- reset, snapshot, restore, call ------------------------------------------------- */

/* Time summed over the measured parts of a round only. */
struct clock_sum {
	uint64_t wall, cpu, w0, c0;
};

static void sum_start(struct clock_sum *t)
{
	stamp(&t->w0, &t->c0);
}

static void sum_stop(struct clock_sum *t)
{
	uint64_t w, c;
	stamp(&w, &c);
	t->wall += w - t->w0;
	t->cpu += c - t->c0;
}

static struct sample sum_per(const struct clock_sum *t, unsigned n)
{
	return (struct sample){.wall = (double)t->wall / n, .cpu = (double)t->cpu / n};
}

/* reset: the guest runs (writes its pages, or nothing, and halts), then the measured reset */
static int lib_reset(struct bench *b, struct sample out[2])
{
	struct clock_sum t = {0};
	for (unsigned i = 0; i < b->ops; i++) {
		if (lib_run_expect(b->vm, KR_STOP_HLT) < 0)
			return -1;
		sum_start(&t);
		int rc = kr_vm_reset(b->vm, b->snap);
		sum_stop(&t);
		if (rc < 0)
			return -1;
	}
	out[0] = sum_per(&t, b->ops);
	return 0;
}

static int bare_reset_round(struct bench *b, struct sample out[2])
{
	struct clock_sum t = {0};
	for (unsigned i = 0; i < b->ops; i++) {
		if (bare_run(&b->proc, b->bvm) != BARE_HLT)
			return -1;
		sum_start(&t);
		int rc = bare_reset(b->bvm, &b->bsnap);
		sum_stop(&t);
		if (rc < 0)
			return -1;
	}
	out[0] = sum_per(&t, b->ops);
	return 0;
}

/* Both sides' VM with the case's guest, run once to its HLT, and a snapshot of each. */
static int setup_snap(struct bench *b, struct bcase *c)
{
	struct code code = guest_code(c->op, 0);
	if (lib_make(b, &code, false, &b->vm) < 0 || lib_run_expect(b->vm, KR_STOP_HLT) < 0 ||
	    kr_snapshot_take(b->vm, &b->snap) < 0)
		return -1;
	if (bare_create(&b->proc, b->bvm, code.b, code.n, MEM_SIZE, b->devnull) < 0 ||
	    bare_run(&b->proc, b->bvm) != BARE_HLT || bare_snap_take(b->bvm, &b->bsnap) < 0)
		return -1;
	/* bare's restore copies the pages a snapshot file would hold: the non-zero ones */
	b->bpages = malloc(MEM_SIZE / 4096 * sizeof(*b->bpages));
	if (!b->bpages)
		return -1;
	b->nbpages = 0;
	static const uint8_t zero[4096];
	for (uint64_t pg = 0; pg < MEM_SIZE / 4096; pg++)
		if (memcmp(b->bsnap.mem + pg * 4096, zero, 4096) != 0)
			b->bpages[b->nbpages++] = pg;
	return 0;
}

/* snapshot: kr_snapshot_take of the halted guest (no baseline: no bare sequence does that) */
static int lib_snapshot(struct bench *b, struct sample out[2])
{
	struct clock_sum t = {0};
	for (unsigned i = 0; i < b->ops; i++) {
		struct kr_snapshot *s;
		sum_start(&t);
		int rc = kr_snapshot_take(b->vm, &s);
		sum_stop(&t);
		if (rc < 0)
			return -1;
		kr_snapshot_free(s);
	}
	out[0] = sum_per(&t, b->ops);
	return 0;
}

/* restore: a new VM from the snapshot, ready to run (destroyed unmeasured) */
static int lib_restore(struct bench *b, struct sample out[2])
{
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.console_fd = b->devnull;
	cfg.max_output = 0;
	struct clock_sum t = {0};
	for (unsigned i = 0; i < b->ops; i++) {
		struct kr_vm *vm;
		sum_start(&t);
		int rc = kr_vm_restore(&vm, b->snap, &cfg);
		sum_stop(&t);
		if (rc < 0)
			return -1;
		kr_vm_destroy(vm);
	}
	out[0] = sum_per(&t, b->ops);
	return 0;
}

/* bare's: a new VM set up as bare_create does, and the snapshot's non-zero pages copied in */
static int bare_restore(struct bench *b, struct sample out[2])
{
	struct code code = guest_code(OP_DIRTY, 0);
	struct bare_vm *v = malloc(sizeof(*v));
	if (!v)
		return -1;
	struct clock_sum t = {0};
	int rc = 0;
	for (unsigned i = 0; i < b->ops && rc == 0; i++) {
		sum_start(&t);
		rc = bare_create(&b->proc, v, code.b, code.n, MEM_SIZE, b->devnull);
		for (uint64_t k = 0; rc == 0 && k < b->nbpages; k++)
			memcpy(v->mem + b->bpages[k] * 4096, b->bsnap.mem + b->bpages[k] * 4096,
			       4096);
		sum_stop(&t);
		bare_destroy(&b->proc, v);
	}
	free(v);
	out[0] = sum_per(&t, b->ops);
	return rc;
}

/* call: calc.elf's sum() of 16 numbers by kr_vm_call, without and with a reset before */
static int lib_call_n(struct bench *b, struct sample out[2], const struct kr_snapshot *reset)
{
	struct kr_call_arg args[] = {KR_CALL_IN(b->nums, sizeof(b->nums)), KR_CALL_INT(SUM_N)};
	struct kr_call_options opt = {.reset = reset};
	struct clock_sum t = {0};
	sum_start(&t);
	for (unsigned i = 0; i < b->ops; i++) {
		uint64_t got = 0;
		if (kr_vm_call(b->vm, "sum", args, 2, &opt, &got, NULL) < 0)
			return -1;
		if ((int64_t)got != b->want) {
			fprintf(stderr, "bench: sum() gave %lld, not %lld\n", (long long)got,
				(long long)b->want);
			return -1;
		}
	}
	sum_stop(&t);
	out[0] = sum_per(&t, b->ops);
	return 0;
}

static int lib_call(struct bench *b, struct sample out[2])
{
	return lib_call_n(b, out, NULL);
}

static int lib_call_reset(struct bench *b, struct sample out[2])
{
	return lib_call_n(b, out, b->snap);
}

/* bare's: the numbers copied to guest physical HC_BUF, KVM_SET_REGS, KVM_RUN to the HLT */
static int bare_call_n(struct bench *b, struct sample out[2], bool reset)
{
	struct clock_sum t = {0};
	sum_start(&t);
	for (unsigned i = 0; i < b->ops; i++) {
		uint64_t got = 0;
		if (reset && bare_reset(b->bvm, &b->bsnap) < 0)
			return -1;
		memcpy(b->bvm->mem + HC_BUF, b->nums, sizeof(b->nums));
		if (bare_call(&b->proc, b->bvm, KVMRUN_DEFAULT_LOAD_ADDR, HC_BUF, SUM_N, &got) < 0)
			return -1;
		if ((int64_t)got != b->want)
			return fprintf(stderr, "bare: sum gave %lld\n", (long long)got), -1;
	}
	sum_stop(&t);
	out[0] = sum_per(&t, b->ops);
	return 0;
}

static int bare_call_plain(struct bench *b, struct sample out[2])
{
	return bare_call_n(b, out, false);
}

static int bare_call_reset(struct bench *b, struct sample out[2])
{
	return bare_call_n(b, out, true);
}

static int setup_call(struct bench *b, struct bcase *c)
{
	(void)c;
	char path[4096];
	snprintf(path, sizeof(path), "%s/calc.elf", b->guests);
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.mem_size = MEM_SIZE;
	cfg.console_fd = b->devnull;
	cfg.max_output = 0;
	struct kr_image img;
	struct kr_stop stop;
	if (kr_vm_create(&b->vm, &cfg) < 0 || kr_load_file(b->vm, path, NULL, &img) < 0 ||
	    kr_vcpu_prepare(b->vm, &img) < 0 || kr_vm_run(b->vm, &stop) < 0 ||
	    kr_snapshot_take(b->vm, &b->snap) < 0)
		return -1;
	b->want = 0;
	for (unsigned i = 0; i < SUM_N; i++)
		b->want += b->nums[i] = 1000 + i;
	struct code code = guest_code(OP_SUM, 0);
	if (bare_create(&b->proc, b->bvm, code.b, code.n, MEM_SIZE, b->devnull) < 0 ||
	    bare_snap_take(b->bvm, &b->bsnap) < 0)
		return -1;
	return 0;
}

static int make_exit_vms(struct bench *b, const struct bcase *c);

/* pio-4k: the per-exit VMs, the baseline's code on 4 KiB pages. */
static int setup_code_4k(struct bench *b, struct bcase *c)
{
	if (make_exit_vms(b, c) < 0)
		return -1;
	bare_code_4k(b->bvm);
	return 0;
}

enum {
	C_CREATE,
	C_PIO,
	C_PIO_4K,
	C_MMIO,
	C_HC,
	C_HLT,
	C_RESET,
	C_RESET_CLEAN,
	C_SNAPSHOT,
	C_RESTORE,
	C_CALL,
	C_CALL_RESET,
	NCASES
};

static struct bcase cases[NCASES] = {
	[C_CREATE] = {"create", "create, load, prepare, run to the first exit (16 MiB guest)",
		      lib_create, bare_create_round, "destroy", false, OP_NONE, NULL, {{{0}}}},
	[C_PIO] = {"pio", "port-I/O write round trip (per exit)", lib_exits, bare_exits, NULL,
		   true, OP_PIO, NULL, {{{0}}}},
	[C_PIO_4K] = {"pio-4k", "as pio, the baseline's code mapped with 4 KiB pages as kvmrun's W^X "
				"maps it (per exit)",
		      lib_exits, bare_exits, NULL, true, OP_PIO, setup_code_4k, {{{0}}}},
	[C_MMIO] = {"mmio", "MMIO write round trip (per exit)", lib_exits, bare_exits, NULL, true,
		    OP_MMIO, NULL, {{{0}}}},
	[C_HC] = {"hypercall", "KVMRUN_HC_WRITE of 64 bytes (per exit)", lib_exits, bare_exits,
		  NULL, true, OP_HC, NULL, {{{0}}}},
	[C_HLT] = {"hlt", "a run that ends in HLT, resumed (per run)", lib_hlt, bare_hlt, NULL,
		   true, OP_HLT, NULL, {{{0}}}},
	[C_RESET] = {"reset", "kr_vm_reset after the guest wrote 2 pages and halted; bare: "
			      "KVM_GET_DIRTY_LOG, the pages copied, KVM_SET_SREGS, KVM_SET_REGS",
		     lib_reset, bare_reset_round, NULL, false, OP_DIRTY, setup_snap, {{{0}}}},
	[C_RESET_CLEAN] = {"reset-clean", "kr_vm_reset after the guest halted writing nothing; "
					  "bare as for reset",
			   lib_reset, bare_reset_round, NULL, false, OP_HLT, setup_snap, {{{0}}}},
	[C_SNAPSHOT] = {"snapshot", "kr_snapshot_take of a halted 16 MiB guest (no baseline)",
			lib_snapshot, NULL, NULL, false, OP_DIRTY, setup_snap, {{{0}}}},
	[C_RESTORE] = {"restore", "kr_vm_restore of a 16 MiB snapshot into a new VM; bare: a new "
				  "VM as at create and the snapshot's non-zero pages copied in",
		       lib_restore, bare_restore, NULL, false, OP_DIRTY, setup_snap, {{{0}}}},
	[C_CALL] = {"call", "kr_vm_call of calc.elf's sum() with a 128-byte buffer; bare: the "
			    "buffer copied, KVM_SET_REGS, KVM_RUN to a HLT",
		    lib_call, bare_call_plain, NULL, false, OP_SUM, setup_call, {{{0}}}},
	[C_CALL_RESET] = {"call-reset", "as call, with kr_vm_reset before each call (bare: its "
					"reset first)",
			  lib_call_reset, bare_call_reset, NULL, false, OP_SUM, setup_call, {{{0}}}},
};

/* Both sides' VMs of a per-exit case, made once, outside the rounds. */
static int make_exit_vms(struct bench *b, const struct bcase *c)
{
	struct code code = guest_code(c->op, b->exits);
	if (lib_make(b, &code, true, &b->vm) < 0)
		return -1;
	if (bare_create(&b->proc, b->bvm, code.b, code.n, MEM_SIZE, b->devnull) < 0)
		return -1;
	if (c->op == OP_HC) /* the buffer the guest writes */
		memset(b->bvm->mem + HC_BUF, 'x', HC_LEN), memset(kr_gpa_ptr(b->vm, HC_BUF, HC_LEN), 'x', HC_LEN);
	return 0;
}

static int prepare_case(struct bench *b, size_t i)
{
	struct bcase *c = &cases[i];
	return c->setup ? c->setup(b, c) : make_exit_vms(b, c);
}

static void finish_case(struct bench *b)
{
	kr_vm_destroy(b->vm);
	b->vm = NULL;
	bare_destroy(&b->proc, b->bvm);
	kr_snapshot_free(b->snap);
	b->snap = NULL;
	bare_snap_free(&b->bsnap);
	memset(&b->bsnap, 0, sizeof(b->bsnap));
	free(b->bpages);
	b->bpages = NULL;
}

static int push(struct series *s, struct sample v)
{
	struct sample *n = realloc(s->s, (s->n + 1) * sizeof(*n));
	if (!n)
		return -1;
	s->s = n;
	s->s[s->n++] = v;
	return 0;
}

static int run_case(struct bench *b, size_t i)
{
	struct bcase *c = &cases[i];
	bool own_vms = i != C_CREATE;
	if (own_vms && prepare_case(b, i) < 0)
		return -1;
	/* One unmeasured round each: page faults of first use, caches. */
	struct sample out[2];
	if (c->lib_round(b, out) < 0 || (c->bare_round && c->bare_round(b, out) < 0))
		return -1;
	for (unsigned r = 0; r < b->rounds; r++) {
		for (int k = 0; k < 2; k++) {
			int side = (int)((r + (unsigned)k) % 2); /* alternate who goes first */
			struct sample o[2];
			if (side == 1 && !c->bare_round)
				continue;
			if ((side == 0 ? c->lib_round : c->bare_round)(b, o) < 0)
				return -1;
			if (push(&c->res[0][side], o[0]) < 0 ||
			    (c->second && push(&c->res[1][side], o[1]) < 0))
				return -1;
		}
	}
	if (own_vms)
		finish_case(b);
	return 0;
}

/* ---- processes -------------------------------------------------------------------- */

struct pcase {
	const char *name;
	char *argv[8];
	struct series res;
};

static int exec_once(struct bench *b, struct pcase *p, struct sample *out)
{
	uint64_t w0 = clock_ns(CLOCK_MONOTONIC);
	pid_t pid = fork();
	if (pid < 0)
		return perror("bench: fork"), -1;
	if (pid == 0) {
		dup2(b->devnull, STDOUT_FILENO);
		execv(p->argv[0], p->argv);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0)
		return perror("bench: wait4"), -1;
	uint64_t w1 = clock_ns(CLOCK_MONOTONIC);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench: %s exited with status 0x%x\n", p->argv[0], status);
		return -1;
	}
	out->wall = (double)(w1 - w0);
	out->cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
		   (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
	out->rss = (double)ru.ru_maxrss;
	return 0;
}

/* ---- statistics and output --------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static struct stats stats_of(const struct series *s, int field)
{
	struct stats st = {0};
	if (!s->n)
		return st;
	double *v = malloc(s->n * sizeof(*v));
	if (!v)
		return st;
	for (size_t i = 0; i < s->n; i++)
		v[i] = field == 0 ? s->s[i].wall : field == 1 ? s->s[i].cpu : s->s[i].rss;
	qsort(v, s->n, sizeof(*v), cmp_double);
	st.min = v[0];
	st.median = s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
	st.p25 = v[s->n / 4];
	st.p75 = v[(s->n * 3) / 4 < s->n ? (s->n * 3) / 4 : s->n - 1];
	free(v);
	return st;
}

static double spread(struct stats s)
{
	return s.median > 0 ? (s.p75 - s.p25) / s.median : 0;
}

static void json_stats(FILE *f, const char *key, struct stats s)
{
	fprintf(f, "\"%s\": {\"min\": %.1f, \"median\": %.1f, \"p25\": %.1f, \"p75\": %.1f, "
		   "\"spread\": %.4f}",
		key, s.min, s.median, s.p25, s.p75, spread(s));
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void host_cpu(char *out, size_t size)
{
	snprintf(out, size, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return;
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && colon) {
			snprintf(out, size, "%s", colon + 2);
			out[strcspn(out, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static void print_row(const char *name, const char *unit, double scale, const struct series *lib,
		      const struct series *bare)
{
	struct stats lw = stats_of(lib, 0), lc = stats_of(lib, 1), bw = stats_of(bare, 0),
		     bc = stats_of(bare, 1);
	printf("%-22s %9.2f %9.2f %6.1f%% | %9.2f %9.2f | %5.3fx %5.3fx  %s\n", name,
	       lc.median / scale, lc.min / scale, 100 * spread(lc), bc.median / scale,
	       bc.min / scale, ratio(lc.median, bc.median), ratio(lw.median, bw.median), unit);
}

static void json_pair(FILE *f, const struct series *lib, const struct series *bare, bool rss)
{
	struct stats lw = stats_of(lib, 0), lc = stats_of(lib, 1), bw = stats_of(bare, 0),
		     bc = stats_of(bare, 1);
	fprintf(f, "{\"kvmrun\": {");
	json_stats(f, "wall_ns", lw);
	fprintf(f, ", ");
	json_stats(f, "cpu_ns", lc);
	if (rss) {
		fprintf(f, ", ");
		json_stats(f, "maxrss_kib", stats_of(lib, 2));
	}
	fprintf(f, "}, \"bare\": {");
	json_stats(f, "wall_ns", bw);
	fprintf(f, ", ");
	json_stats(f, "cpu_ns", bc);
	if (rss) {
		fprintf(f, ", ");
		json_stats(f, "maxrss_kib", stats_of(bare, 2));
	}
	fprintf(f, "}, \"ratio_wall\": %.4f, \"ratio_cpu\": %.4f", ratio(lw.median, bw.median),
		ratio(lc.median, bc.median));
	if (rss)
		fprintf(f, ", \"extra_rss_kib\": %.0f",
			stats_of(lib, 2).median - stats_of(bare, 2).median);
	fprintf(f, ", \"rounds\": %zu}", lib->n);
}

/* ---- --validate-json FILE: a strict JSON reader, for the test bed's smoke test
 * (busybox has no JSON tool). Accepts exactly RFC 8259 values. ------------- */

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *value(const char *p, int depth);

static const char *string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
						return NULL;
				p += 4;
			} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
	}
	return p + 1;
}

static const char *number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return NULL;
	if (*p == '.') {
		if (!(*++p >= '0' && *p <= '9'))
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		if (*++p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return NULL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return p;
}

static const char *container(const char *p, int depth, char close, bool keys)
{
	p = ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (keys) {
			if (!(p = string(ws(p))) || *(p = ws(p)) != ':')
				return NULL;
			p++;
		}
		if (!(p = value(p, depth + 1)))
			return NULL;
		p = ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *value(const char *p, int depth)
{
	p = ws(p);
	if (depth > 64)
		return NULL;
	switch (*p) {
	case '{':
		return container(p, depth, '}', true);
	case '[':
		return container(p, depth, ']', false);
	case '"':
		return string(p);
	case 't':
		return strncmp(p, "true", 4) ? NULL : p + 4;
	case 'f':
		return strncmp(p, "false", 5) ? NULL : p + 5;
	case 'n':
		return strncmp(p, "null", 4) ? NULL : p + 4;
	default:
		return number(p);
	}
}

static int validate_json(const char *path)
{
	static char text[1 << 20];
	FILE *f = fopen(path, "r");
	if (!f)
		return perror(path), 1;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	const char *end = value(text, 0);
	if (!end || *ws(end) || strlen(text) != n) {
		fprintf(stderr, "bench: %s is not valid JSON (at byte %td)\n", path,
			end ? ws(end) - text : (ptrdiff_t)-1);
		return 1;
	}
	printf("%s: valid JSON\n", path);
	return 0;
}

static unsigned parse_uint(const char *s, const char *flag)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || v == 0 || v > 10000000) {
		fprintf(stderr, "bench: %s wants a positive number, got '%s'\n", flag, s);
		exit(2);
	}
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	struct bench b = {.rounds = 30, .exits = 2000, .ops = 20, .proc_rounds = 30, .cpu = 0,
			  .json_path = "bench.json", .kvmrun = "build/kvmrun",
			  .bare = "build/bench-bare", .guests = "build/guests"};
	bool cpu_given = false;
	if (argc == 3 && !strcmp(argv[1], "--validate-json"))
		return validate_json(argv[2]);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			fprintf(stderr, "usage: %s [--rounds N] [--exits N] [--ops N] "
					"[--proc-rounds N] [--json FILE] [--kvmrun PATH] [--bare PATH] "
					"[--guests DIR] [--old-kvmrun PATH] [--cpu N] [--case NAME]\n",
				argv[0]);
			return 2;
		}
		i++;
		if (!strcmp(a, "--rounds"))
			b.rounds = parse_uint(v, a);
		else if (!strcmp(a, "--exits"))
			b.exits = parse_uint(v, a);
		else if (!strcmp(a, "--ops"))
			b.ops = parse_uint(v, a);
		else if (!strcmp(a, "--case"))
			b.only = v;
		else if (!strcmp(a, "--guests"))
			b.guests = v;
		else if (!strcmp(a, "--proc-rounds"))
			b.proc_rounds = parse_uint(v, a);
		else if (!strcmp(a, "--json"))
			b.json_path = v;
		else if (!strcmp(a, "--kvmrun"))
			b.kvmrun = v;
		else if (!strcmp(a, "--bare"))
			b.bare = v;
		else if (!strcmp(a, "--old-kvmrun"))
			b.old_kvmrun = v;
		else if (!strcmp(a, "--cpu"))
			b.cpu = (unsigned)strtoul(v, NULL, 10), cpu_given = true;
		else {
			fprintf(stderr, "bench: unknown option %s\n", a);
			return 2;
		}
	}

	/* Pinned: the rounds of both sides on the same CPU, the children too. */
	if (!cpu_given) {
		int c = sched_getcpu();
		b.cpu = c < 0 ? 0 : (unsigned)c;
	}
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(b.cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return perror("bench: sched_setaffinity"), 1;

	b.devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	b.bvm = malloc(sizeof(*b.bvm));
	if (b.devnull < 0 || !b.bvm || bare_proc_init(&b.proc) < 0)
		return 1;

	struct kr_backend be;
	if (kr_backend_probe(&be) < 0) {
		fprintf(stderr, "bench: kr_backend_probe: %s\n", kr_last_error());
		return 1;
	}
	char cpu[128];
	host_cpu(cpu, sizeof(cpu));
	struct utsname u;
	uname(&u);

	for (size_t i = 0; i < NCASES; i++) {
		if (b.only && strcmp(b.only, cases[i].name) != 0)
			continue;
		if (run_case(&b, i) < 0) {
			fprintf(stderr, "bench: case %s failed: %s\n", cases[i].name, kr_last_error());
			return 1;
		}
	}

	/* The one-exit guest as a file, for `kvmrun run` and bench-bare. */
	char image[] = "/tmp/kvmrun-bench-XXXXXX";
	int fd = mkstemp(image);
	struct code one = guest_code(OP_NONE, 0);
	if (fd < 0 || write(fd, one.b, one.n) != (ssize_t)one.n || close(fd) < 0)
		return perror("bench: the guest image"), 1;
	struct pcase pc[] = {
		{"kvmrun run", {(char *)b.kvmrun, "run", "--mem", "16M", image, NULL}, {0, NULL}},
		{"bare", {(char *)b.bare, image, NULL}, {0, NULL}},
		{"kvmrun run --no-seccomp",
		 {(char *)b.kvmrun, "run", "--no-seccomp", "--mem", "16M", image, NULL},
		 {0, NULL}},
		{"old kvmrun run", {(char *)b.old_kvmrun, "run", "--mem", "16M", image, NULL}, {0, NULL}},
	};
	size_t npc = b.old_kvmrun ? 4 : 3;
	int rc = 0;
	for (unsigned r = 0; r <= b.proc_rounds && rc == 0 && !b.only; r++) {
		for (size_t k = 0; k < npc && rc == 0; k++) {
			struct pcase *p = &pc[(k + r) % npc];
			struct sample s;
			rc = exec_once(&b, p, &s);
			if (rc == 0 && r > 0 && push(&p->res, s) < 0) /* round 0 warms up */
				rc = -1;
		}
	}
	unlink(image);
	if (rc < 0)
		return 1;

	/* The table. */
	printf("kvmrun bench: %s; kernel %s %s; KVM back end %s (%s); pinned to CPU %u\n", cpu,
	       u.sysname, u.release, be.module[0] ? be.module : "unknown",
	       kr_backend_kind_name(be.kind), b.cpu);
	printf("in process: %u rounds, %u exits or %u operations per round; CPU time (process), "
	       "median and min; ratio = kvmrun / bare medians (CPU, wall)\n",
	       b.rounds, b.exits, b.ops);
	printf("%-22s %9s %9s %7s | %9s %9s | %6s %6s\n", "case", "kvmrun", "min", "spread",
	       "bare", "min", "cpu", "wall");
	for (size_t i = 0; i < NCASES; i++) {
		struct bcase *c = &cases[i];
		if (!c->res[0][0].n)
			continue; /* not run (--case) */
		if (!c->bare_round) {
			struct stats lc = stats_of(&c->res[0][0], 1);
			printf("%-22s %9.2f %9.2f %6.1f%% | %9s %9s | %6s %6s  us (no baseline)\n",
			       c->name, lc.median / 1000, lc.min / 1000, 100 * spread(lc), "-", "-",
			       "-", "-");
			continue;
		}
		const char *unit = c->per_exit ? "us/exit" : "us";
		print_row(c->name, unit, 1000, &c->res[0][0], &c->res[0][1]);
		if (c->second)
			print_row(c->second, "us", 1000, &c->res[1][0], &c->res[1][1]);
	}
	if (b.only)
		npc = 0;
	else
		printf("processes: %u rounds, exec to exit of a one-exit guest (16 MiB), CPU from "
		       "wait4\n", b.proc_rounds);
	for (size_t k = 0; k < npc; k++)
		if (k != 1)
			print_row(pc[k].name, "us", 1000, &pc[k].res, &pc[1].res);
	for (size_t k = 0; k < npc; k++)
		if (k != 1)
			printf("%-22s peak RSS %6.0f KiB, bare %6.0f KiB: extra %5.0f KiB\n", pc[k].name,
			       stats_of(&pc[k].res, 2).median, stats_of(&pc[1].res, 2).median,
			       stats_of(&pc[k].res, 2).median - stats_of(&pc[1].res, 2).median);

	/* The JSON. */
	FILE *f = fopen(b.json_path, "w");
	if (!f)
		return perror(b.json_path), 1;
	fprintf(f, "{\"host\": {\"cpu\": ");
	json_str(f, cpu);
	fprintf(f, ", \"kernel\": ");
	json_str(f, u.release);
	fprintf(f, ", \"backend\": ");
	json_str(f, be.module);
	fprintf(f, ", \"backend_kind\": ");
	json_str(f, kr_backend_kind_name(be.kind));
	fprintf(f, ", \"pinned_cpu\": %u, \"kvmrun_version\": ", b.cpu);
	json_str(f, kr_version());
	fprintf(f, "},\n \"rounds\": %u, \"exits_per_round\": %u, \"ops_per_round\": %u, "
		   "\"proc_rounds\": %u,\n"
		   " \"units\": {\"time\": \"ns (per exit for per-exit cases, per operation for "
		   "the others)\", \"rss\": \"KiB\"},\n"
		   " \"cases\": [",
		b.rounds, b.exits, b.ops, b.proc_rounds);
	bool first = true;
	for (size_t i = 0; i < NCASES; i++) {
		struct bcase *c = &cases[i];
		for (int m = 0; m < (c->second ? 2 : 1) && c->res[0][0].n; m++) {
			fprintf(f, "%s\n  {\"name\": ", first ? "" : ",");
			first = false;
			json_str(f, m ? c->second : c->name);
			fprintf(f, ", \"what\": ");
			json_str(f, m ? "destroy the VM of the create case" : c->what);
			fprintf(f, ", \"per_exit\": %s, ", c->per_exit ? "true" : "false");
			fprintf(f, "\"measured\": true, \"baseline\": %s, \"result\": ",
				c->bare_round ? "true" : "false");
			if (c->bare_round) {
				json_pair(f, &c->res[m][0], &c->res[m][1], false);
			} else {
				fprintf(f, "{\"kvmrun\": {");
				json_stats(f, "wall_ns", stats_of(&c->res[m][0], 0));
				fprintf(f, ", ");
				json_stats(f, "cpu_ns", stats_of(&c->res[m][0], 1));
				fprintf(f, "}, \"rounds\": %zu}", c->res[m][0].n);
			}
			fprintf(f, "}");
		}
	}
	fprintf(f, "],\n \"processes\": [");
	for (size_t k = 0; k < npc; k++) {
		if (k == 1)
			continue;
		fprintf(f, "%s\n  {\"name\": ", k ? "," : "");
		json_str(f, pc[k].name);
		fprintf(f, ", \"command\": ");
		json_str(f, pc[k].argv[0]);
		fprintf(f, ", \"result\": ");
		json_pair(f, &pc[k].res, &pc[1].res, true);
		fprintf(f, "}");
	}
	fprintf(f, "]}\n");
	if (fclose(f) != 0)
		return perror(b.json_path), 1;
	printf("JSON: %s\n", b.json_path);

	for (size_t i = 0; i < NCASES; i++)
		for (int m = 0; m < 2; m++)
			free(cases[i].res[m][0].s), free(cases[i].res[m][1].s);
	for (size_t k = 0; k < 4; k++)
		free(pc[k].res.s);
	bare_proc_fini(&b.proc);
	free(b.bvm);
	close(b.devnull);
	return 0;
}
