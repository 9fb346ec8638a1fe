/* SPDX-License-Identifier: MIT */
/*
 * test_snapshot.c - snapshots and reset in place on a real /dev/kvm: a
 * guest restored from a file goes on with the same output and status, twice
 * over; a corrupt, truncated or foreign file is refused with its reason; a
 * reset brings memory, registers and the console back, and special
 * registers and vCPU events the guest or the host changed; and the figures
 * (file size, take, write, read, restore, reset) are printed.
 */
#define _GNU_SOURCE /* pipe2 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/snapfile.h"
#include "core/vm.h"
#include "devices/uart.h"
#include "kvmtest.h"
#include "x86/board.h"
#include "x86/snapshot.h"

/*
 * The guest (64-bit, loaded at 1 MiB): writes a marker to RAM at 2 MiB and
 * keeps one in RBX, prints "S\n", asks for a snapshot; then increments the
 * marker in memory and in RBX, writes 0x55 to the page at 3 MiB (zero in
 * the snapshot), prints "A\n" and exits with the marker's low 7 bits: 9 if
 * it ran once from the snapshot, 10 if RAM was not put back.
 */
extern const uint8_t snap_guest[], snap_guest_end[];
__asm__(".pushsection .rodata\n"
	".globl snap_guest, snap_guest_end\n"
	"snap_guest:\n"
	".code64\n"
	"movabs $0x1122334455667788, %rbx\n"
	"movabs $0x200000, %r12\n"
	"mov %rbx, (%r12)\n"
	"mov $'S', %al\n out %al, $0xe9\n mov $10, %al\n out %al, $0xe9\n"
	"mov $3, %eax\n mov $0x500, %dx\n out %eax, %dx\n" /* KVMRUN_HC_SNAPSHOT */
	"incq (%r12)\n"
	"movabs $0x300000, %r13\n"
	"movq $0x55, (%r13)\n"
	"add $1, %rbx\n"
	"mov $'A', %al\n out %al, $0xe9\n mov $10, %al\n out %al, $0xe9\n"
	"mov (%r12), %rdi\n and $0x7f, %rdi\n"
	"mov $2, %eax\n mov $0x500, %dx\n out %eax, %dx\n" /* KVMRUN_HC_EXIT */
	"hlt\n"
	"snap_guest_end:\n"
	".popsection\n");

struct sv {
	struct kr_vm *vm;
	int out[2]; /* the console, a pipe */
};

static bool sv_pipe(struct sv *v, struct kr_vm_config *cfg)
{
	if (pipe2(v->out, O_CLOEXEC | O_NONBLOCK) < 0) {
		unit_fail(__FILE__, __LINE__, "pipe2 failed");
		return false;
	}
	cfg->console_fd = v->out[1];
	return true;
}

/* A VM running the guest up to its snapshot request. */
static bool sv_start(struct sv *v, uint64_t mem, uint64_t max_output)
{
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.mem_size = mem;
	cfg.max_output = max_output;
	v->vm = NULL;
	if (!sv_pipe(v, &cfg))
		return false;
	if (kr_vm_create(&v->vm, &cfg) < 0) {
		unit_fail(__FILE__, __LINE__, "kr_vm_create: %s", kr_last_error());
		return false;
	}
	if (!kvmtest_load(v->vm, snap_guest, (size_t)(snap_guest_end - snap_guest), NULL, 0))
		return false;
	struct kr_stop s = kvmtest_run(v->vm);
	CHECK_EQ(s.reason, KR_STOP_SNAPSHOT);
	return s.reason == KR_STOP_SNAPSHOT;
}

static const char *sv_output(struct sv *v)
{
	static char buf[256];
	ssize_t n = read(v->out[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void sv_end(struct sv *v)
{
	kr_vm_destroy(v->vm);
	close(v->out[0]);
	close(v->out[1]);
}

static void check_runs_to_end(struct sv *v)
{
	struct kr_stop s = kvmtest_run(v->vm);
	CHECK_EQ(s.reason, KR_STOP_EXIT);
	CHECK_EQ(s.exit_code, 9);
	CHECK(strcmp(sv_output(v), "A\n") == 0);
}

static char *tmp_path(const char *name)
{
	static char path[2][128];
	static int k;
	k ^= 1;
	const char *dir = getenv("TMPDIR");
	snprintf(path[k], sizeof(path[k]), "%s/kvmrun-test-%d-%s", dir ? dir : "/tmp",
		 (int)getpid(), name);
	return path[k];
}

static bool save_file(struct kr_vm *vm, const char *path)
{
	struct kr_snapshot *s;
	if (kr_snapshot_take(vm, &s) < 0) {
		unit_fail(__FILE__, __LINE__, "kr_snapshot_take: %s", kr_last_error());
		return false;
	}
	bool ok = kr_snapshot_write(s, path) == 0;
	if (!ok)
		unit_fail(__FILE__, __LINE__, "kr_snapshot_write: %s", kr_last_error());
	kr_snapshot_free(s);
	return ok;
}

static bool restore_file(struct sv *v, const char *path)
{
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	struct kr_snapshot *s = NULL;
	v->vm = NULL;
	if (!sv_pipe(v, &cfg))
		return false;
	bool ok = kr_snapshot_read(path, &s) == 0 && kr_vm_restore(&v->vm, s, &cfg) == 0;
	if (!ok)
		unit_fail(__FILE__, __LINE__, "restore of %s: %s", path, kr_last_error());
	kr_snapshot_free(s);
	return ok;
}

UNIT_TEST(snapshot_file_restore_continues_the_guest_twice)
{
	struct sv v;
	const char *path = tmp_path("cont.snap");
	if (sv_start(&v, 16u << 20, 0)) {
		CHECK(strcmp(sv_output(&v), "S\n") == 0);
		if (save_file(v.vm, path))
			check_runs_to_end(&v); /* the original goes on as if nothing happened */
	}
	sv_end(&v);
	for (int round = 0; round < 2; round++) {
		struct sv r;
		if (restore_file(&r, path)) {
			check_runs_to_end(&r); /* from the snapshot: "A\n", 9, each time */
			struct kvm_regs regs;
			CHECK_OK(kr_vcpu_get_regs(r.vm, &regs));
			CHECK_EQ(regs.rbx, 0x1122334455667789ull);
		}
		sv_end(&r);
	}
	unlink(path);
}

/* The file's bytes, to spoil. */
static uint8_t *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	uint8_t *b = malloc((size_t)st.st_size);
	if (b && read(fd, b, (size_t)st.st_size) != st.st_size) {
		free(b);
		b = NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

static void refuse(const uint8_t *b, size_t len, const char *needle)
{
	struct kr_snapshot *s = NULL;
	CHECK_FAILS_WITH(kr_snapshot_read_buffer(b, len, &s), needle);
	CHECK_EQ(kr_last_error_code(), KR_E_BAD_SNAPSHOT);
	CHECK(s == NULL);
}

UNIT_TEST(snapshot_bad_files_are_refused_with_the_reason)
{
	struct sv v;
	const char *path = tmp_path("bad.snap");
	size_t len = 0;
	uint8_t *b = NULL;
	if (sv_start(&v, 8u << 20, 0) && save_file(v.vm, path))
		b = slurp(path, &len);
	sv_end(&v);
	CHECK(b != NULL);
	if (!b)
		return;
	refuse(b, len - 1, "truncated");
	refuse(b, 20, "truncated");
	b[len - 100] ^= 1; /* a byte of the last page */
	refuse(b, len, "checksum mismatch");
	b[len - 100] ^= 1;
	b[0] = 'X';
	refuse(b, len, "bad magic");
	b[0] = 'K';
	b[8] = 3; /* version: one this kvmrun does not know yet */
	refuse(b, len, "version 3, but this kvmrun reads versions 1 to 2");
	b[8] = 2;

	/* Foreign: the host section says another back end (checksums made good again). */
	struct kr_snap_view view;
	CHECK_OK(kr_snap_parse(b, len, true, &view));
	uint64_t hsize;
	const struct kr_snap_host *h = kr_snap_find(&view, KR_SNAP_HOST, &hsize);
	CHECK(h && hsize == sizeof(*h));
	if (h) {
		struct kr_snap_host other = *h;
		snprintf(other.backend, sizeof(other.backend), "kvm_elsewhere");
		memcpy((uint8_t *)b + ((const uint8_t *)h - b), &other, sizeof(other));
		kr_snap_fix_checksums(b, len);
		struct kr_snapshot *s = NULL;
		CHECK_OK(kr_snapshot_read_buffer(b, len, &s)); /* sound as a file ... */
		struct kr_vm_config cfg;
		kr_vm_config_init(&cfg);
		struct kr_vm *vm = NULL;
		if (s) { /* ... but not from this host */
			CHECK_FAILS_WITH(kr_vm_restore(&vm, s, &cfg), "back end 'kvm_elsewhere'");
			CHECK_EQ(kr_last_error_code(), KR_E_BAD_SNAPSHOT);
			CHECK(vm == NULL);
		}
		kr_snapshot_free(s);
	}
	free(b);

	/* From a file: the path is named; an empty file is refused too. */
	struct kr_snapshot *s = NULL;
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	CHECK_FAILS_WITH(kr_snapshot_read(path, &s), "is empty");
	unlink(path);
	CHECK_FAILS_WITH(kr_snapshot_read(path, &s), "No such file");
}

UNIT_TEST(snapshot_reset_in_place_restores_memory_registers_and_console)
{
	struct sv v;
	/* 2 bytes before the snapshot and 2 after fit 5; twice without the console reset does not. */
	if (!sv_start(&v, 8u << 20, 5)) {
		sv_end(&v);
		return;
	}
	CHECK(strcmp(sv_output(&v), "S\n") == 0);
	struct kr_snapshot *snap = NULL;
	struct kvm_regs at_snap;
	CHECK_OK(kr_snapshot_take(v.vm, &snap));
	CHECK_OK(kr_vcpu_get_regs(v.vm, &at_snap));
	if (!snap) {
		sv_end(&v);
		return;
	}
	uint64_t *marker = kr_gpa_ptr(v.vm, 0x200000, 8);
	uint8_t *zero_page = kr_gpa_ptr(v.vm, 0x300000, 4096);
	for (int round = 0; round < 3; round++) {
		check_runs_to_end(&v);
		CHECK_EQ(*marker, 0x1122334455667789ull);
		CHECK_EQ(zero_page[0], 0x55);
		if (round == 2)
			CHECK_OK(kr_vm_reset_full(v.vm, snap));
		else
			CHECK_OK(kr_vm_reset(v.vm, snap));
		CHECK_EQ(*marker, 0x1122334455667788ull);
		CHECK_EQ(zero_page[0], 0);
		struct kvm_regs regs;
		CHECK_OK(kr_vcpu_get_regs(v.vm, &regs));
		CHECK_EQ(regs.rbx, at_snap.rbx);
		CHECK_EQ(regs.rip, at_snap.rip);
		CHECK_EQ(regs.rsp, at_snap.rsp);
		CHECK_EQ(regs.rflags, at_snap.rflags);
	}
	check_runs_to_end(&v);
	kr_snapshot_free(snap);
	sv_end(&v);
}

/*
 * A guest that changes its special registers after the snapshot: at the
 * start it notes DS and CR0 in R14 and R15 (as the snapshot has them), then
 * loads the null selector into DS, ES, FS and GS, sets CR0.TS, puts 0x77 in
 * RBX and halts. After a reset the next run must start with the snapshot's
 * DS and CR0 (set by that KVM_RUN, or by the ioctl that reads them first).
 */
extern const uint8_t mode_guest[], mode_guest_end[];
__asm__(".pushsection .rodata\n"
	".globl mode_guest, mode_guest_end\n"
	"mode_guest:\n"
	".code64\n"
	"mov $3, %eax\n mov $0x500, %dx\n out %eax, %dx\n" /* KVMRUN_HC_SNAPSHOT */
	"mov %ds, %r14\n"
	"mov %cr0, %r15\n"
	"xor %eax, %eax\n mov %eax, %ds\n mov %eax, %es\n mov %eax, %fs\n mov %eax, %gs\n"
	"mov %cr0, %rax\n or $8, %rax\n mov %rax, %cr0\n"
	"mov $0x77, %ebx\n"
	"hlt\n"
	"mode_guest_end:\n"
	".popsection\n");

static bool run_to_hlt(struct kr_vm *vm, uint16_t ds, uint64_t cr0)
{
	struct kr_stop st = kvmtest_run(vm);
	CHECK_EQ(st.reason, KR_STOP_HLT);
	CHECK_EQ(st.regs.r14 & 0xffff, ds);   /* what the run started with */
	CHECK_EQ(st.regs.r15, cr0);
	CHECK_EQ(st.regs.rbx, 0x77u);
	CHECK_EQ(st.sregs.ds.selector, 0);   /* what it changed */
	CHECK(st.sregs.cr0 & 8);
	return st.reason == KR_STOP_HLT;
}

UNIT_TEST(snapshot_reset_brings_back_segments_control_registers_and_events)
{
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.mem_size = 8u << 20;
	struct kr_vm *vm = NULL;
	CHECK_OK(kr_vm_create(&vm, &cfg));
	if (!vm)
		return;
	struct kr_snapshot *snap = NULL;
	if (!kvmtest_load(vm, mode_guest, (size_t)(mode_guest_end - mode_guest), NULL, 0) ||
	    kvmtest_run(vm).reason != KR_STOP_SNAPSHOT || kr_snapshot_take(vm, &snap) < 0) {
		unit_fail(__FILE__, __LINE__, "the guest did not reach its snapshot: %s",
			  kr_last_error());
		kr_vm_destroy(vm);
		return;
	}
	struct kvm_sregs at;
	struct kvm_regs regs_at;
	struct kvm_vcpu_events ev_at;
	CHECK_OK(kr_vcpu_get_sregs(vm, &at));
	CHECK_OK(kr_vcpu_get_regs(vm, &regs_at));
	CHECK(ioctl(vm->vcpus[0].fd, KVM_GET_VCPU_EVENTS, &ev_at) == 0);
	CHECK(at.ds.selector != 0 && !(at.cr0 & 8));
	for (int round = 0; round < 3; round++) {
		if (!run_to_hlt(vm, at.ds.selector, at.cr0))
			break;
		/* A pending event the snapshot does not have: an NMI. */
		struct kvm_vcpu_events ev;
		CHECK(ioctl(vm->vcpus[0].fd, KVM_GET_VCPU_EVENTS, &ev) == 0);
		ev.nmi.pending = 1;
		ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
		CHECK(ioctl(vm->vcpus[0].fd, KVM_SET_VCPU_EVENTS, &ev) == 0);
		CHECK_OK(kr_vm_reset(vm, snap));
		if (round == 1) /* the next run starts from the snapshot (applied by its KVM_RUN) */
			continue;
		/* Read back at once: the ioctls see the snapshot's state. */
		struct kvm_regs r;
		struct kvm_sregs sr;
		CHECK_OK(kr_vcpu_get_regs(vm, &r));
		CHECK(memcmp(&r, &regs_at, sizeof(r)) == 0);
		CHECK_OK(kr_vcpu_get_sregs(vm, &sr));
		CHECK_EQ(sr.ds.selector, at.ds.selector);
		CHECK_EQ(sr.es.selector, at.es.selector);
		CHECK_EQ(sr.fs.selector, at.fs.selector);
		CHECK_EQ(sr.gs.selector, at.gs.selector);
		CHECK_EQ(sr.cr0, at.cr0);
		CHECK_EQ(sr.cr3, at.cr3);
		CHECK_EQ(sr.cr4, at.cr4);
		CHECK_EQ(sr.efer, at.efer);
		CHECK(ioctl(vm->vcpus[0].fd, KVM_GET_VCPU_EVENTS, &ev) == 0);
		CHECK_EQ(ev.nmi.pending, ev_at.nmi.pending);
		CHECK_EQ(ev.nmi.masked, ev_at.nmi.masked);
		CHECK_EQ(ev.interrupt.shadow, ev_at.interrupt.shadow);
	}
	kr_snapshot_free(snap);
	kr_vm_destroy(vm);
}

UNIT_TEST(snapshot_reset_after_a_crash_and_to_a_foreign_configuration)
{
	struct sv v, w;
	if (!sv_start(&v, 8u << 20, 0) || !sv_start(&w, 16u << 20, 0)) {
		sv_end(&v);
		return;
	}
	struct kr_snapshot *snap = NULL, *other = NULL;
	CHECK_OK(kr_snapshot_take(v.vm, &snap));
	CHECK_OK(kr_snapshot_take(w.vm, &other));
	/* Crash the guest: RIP to an unmapped address, a #PF. */
	struct kvm_regs regs;
	CHECK_OK(kr_vcpu_get_regs(v.vm, &regs));
	regs.rip = 0x7ff00000000ull;
	CHECK_OK(kr_vcpu_set_regs(v.vm, &regs));
	struct kr_stop s = kvmtest_run(v.vm);
	CHECK(s.reason != KR_STOP_EXIT && s.reason != KR_STOP_SNAPSHOT);
	CHECK_FAILS_WITH(kr_vm_run(v.vm, &s), "cannot be resumed");
	if (snap) {
		struct kr_snapshot *none;
		CHECK_FAILS_WITH(kr_snapshot_take(v.vm, &none), "cannot resume");
		CHECK_OK(kr_vm_reset(v.vm, snap));
		sv_output(&v);
		check_runs_to_end(&v);
	}
	if (other)
		CHECK_FAILS_WITH(kr_vm_reset(v.vm, other), "16777216");
	kr_snapshot_free(snap);
	kr_snapshot_free(other);
	sv_end(&v);
	sv_end(&w);
}

/* ---- figures ---------------------------------------------------------------- */

static uint64_t cpu_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

struct best {
	uint64_t cpu, wall;
};

static void keep_best(struct best *b, uint64_t cpu, uint64_t wall)
{
	if (!b->cpu || cpu < b->cpu)
		b->cpu = cpu;
	if (!b->wall || wall < b->wall)
		b->wall = wall;
}

/*
 * Not a timing test (nothing here depends on time): every round is checked
 * for the guest's result, and the best times are printed for the record.
 */
UNIT_TEST(snapshot_figures_16m_guest)
{
	struct sv v;
	const char *path = tmp_path("fig.snap");
	if (!sv_start(&v, 16u << 20, 0)) {
		sv_end(&v);
		return;
	}
	sv_output(&v);
	struct best take = {0}, write = {0}, read = {0}, restore = {0}, reset = {0}, full = {0};
	struct kr_snapshot *snap = NULL;
	for (int i = 0; i < 20; i++) {
		kr_snapshot_free(snap);
		uint64_t c0 = cpu_ns(), w0 = wall_ns();
		if (kr_snapshot_take(v.vm, &snap) < 0) {
			unit_fail(__FILE__, __LINE__, "take: %s", kr_last_error());
			sv_end(&v);
			return;
		}
		keep_best(&take, cpu_ns() - c0, wall_ns() - w0);
		c0 = cpu_ns(), w0 = wall_ns();
		CHECK_OK(kr_snapshot_write(snap, path));
		keep_best(&write, cpu_ns() - c0, wall_ns() - w0);
	}
	struct stat st = {0};
	stat(path, &st);
	struct kr_snapshot_info info;
	kr_snapshot_info(snap, &info);
	for (int i = 0; i < 20; i++) {
		struct kr_snapshot *s = NULL;
		struct kr_vm *vm = NULL;
		struct kr_vm_config cfg;
		kr_vm_config_init(&cfg);
		cfg.console_fd = v.out[1];
		uint64_t c0 = cpu_ns(), w0 = wall_ns();
		CHECK_OK(kr_snapshot_read(path, &s));
		keep_best(&read, cpu_ns() - c0, wall_ns() - w0);
		c0 = cpu_ns(), w0 = wall_ns();
		if (s)
			CHECK_OK(kr_vm_restore(&vm, s, &cfg));
		keep_best(&restore, cpu_ns() - c0, wall_ns() - w0);
		struct sv r = v; /* the restored VM writes to v's console */
		r.vm = vm;
		if (vm)
			check_runs_to_end(&r);
		kr_vm_destroy(vm);
		kr_snapshot_free(s);
	}
	for (int i = 0; i < 500; i++) {
		check_runs_to_end(&v); /* dirties 2 pages (and the stack: none) */
		uint64_t c0 = cpu_ns(), w0 = wall_ns();
		CHECK_OK(kr_vm_reset(v.vm, snap));
		keep_best(&reset, cpu_ns() - c0, wall_ns() - w0);
	}
	for (int i = 0; i < 20; i++) {
		check_runs_to_end(&v);
		uint64_t c0 = cpu_ns(), w0 = wall_ns();
		CHECK_OK(kr_vm_reset_full(v.vm, snap));
		keep_best(&full, cpu_ns() - c0, wall_ns() - w0);
	}
	printf("     snapshot of a 16 MiB guest: %llu non-zero pages, %u MSRs, XSAVE %u bytes, "
	       "file %lld bytes\n",
	       (unsigned long long)info.pages, info.nmsrs, info.xsave_size, (long long)st.st_size);
	printf("     best CPU (wall) us: take %.1f (%.1f), write %.1f (%.1f), read+check %.1f "
	       "(%.1f), restore into a new VM %.1f (%.1f), reset (2 dirty pages) %.1f (%.1f), "
	       "full reset %.1f (%.1f)\n",
	       take.cpu / 1e3, take.wall / 1e3, write.cpu / 1e3, write.wall / 1e3, read.cpu / 1e3,
	       read.wall / 1e3, restore.cpu / 1e3, restore.wall / 1e3, reset.cpu / 1e3,
	       reset.wall / 1e3, full.cpu / 1e3, full.wall / 1e3);
	kr_snapshot_free(snap);
	sv_end(&v);
	unlink(path);
}

/* ---- the PC platform ------------------------------------------------------------ */

/*
 * build/guests/mbsnap.elf (a multiboot kernel) programs the local APIC, an
 * I/O APIC pin, the PICs' masks, the PIT, COM1 (with a byte in its receive
 * FIFO and IRQ 4 high), the CMOS clock, the i8042 and fw_cfg, asks for a
 * snapshot, then reads it all back: "mbsnap: ok" and status 1 (isa-debug-exit
 * v = 0), else a line per mismatch and v = the first one's number.
 */
#define MBSNAP "build/guests/mbsnap.elf"

/* A VM of mbsnap, loaded and prepared: on the PC platform (pc), or with the PC devices only. */
static bool pc_prepare(struct sv *v, bool pc)
{
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.pc = pc;
	cfg.timeout_ns = 60ull * 1000 * 1000 * 1000;
	v->vm = NULL;
	if (!sv_pipe(v, &cfg))
		return false;
	struct kr_image img;
	if (kr_vm_create(&v->vm, &cfg) < 0 || kr_load_file(v->vm, MBSNAP, NULL, &img) < 0 ||
	    kr_vcpu_prepare(v->vm, &img) < 0) {
		unit_fail(__FILE__, __LINE__, "mbsnap: %s", kr_last_error());
		return false;
	}
	return true;
}

/* The same on the PC platform, run to its snapshot request. */
static bool pc_start(struct sv *v)
{
	if (!pc_prepare(v, true))
		return false;
	struct kr_stop s = kvmtest_run(v->vm);
	CHECK_EQ(s.reason, KR_STOP_SNAPSHOT);
	CHECK(strcmp(sv_output(v), "mbsnap: programmed\n") == 0);
	return s.reason == KR_STOP_SNAPSHOT;
}

/* Run mbsnap on from its snapshot: every device must read back what it left. */
static void pc_check_runs_to_end(struct sv *v)
{
	struct kr_stop s = kvmtest_run(v->vm);
	const char *out = sv_output(v);
	CHECK_EQ(s.reason, KR_STOP_EXIT);
	CHECK_EQ(s.exit_code, 1);
	if (strcmp(out, "mbsnap: ok\n") != 0)
		unit_fail(__FILE__, __LINE__, "mbsnap after the restore said:\n%s", out);
}

UNIT_TEST(snapshot_pc_platform_survives_a_restore_into_a_new_vm)
{
	struct sv v;
	const char *path = tmp_path("pc.snap");
	bool saved = pc_start(&v) && save_file(v.vm, path);
	sv_end(&v); /* the original is gone before the restore */
	if (!saved)
		return;
	struct kr_snapshot *snap = NULL;
	CHECK_OK(kr_snapshot_read(path, &snap));
	if (!snap)
		return;
	struct kr_snapshot_info info;
	kr_snapshot_info(snap, &info);
	CHECK(info.lapic && info.irqchip && info.pit);
	/* The caller's cfg.pc is false: the platform comes from the snapshot. */
	struct sv r;
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.timeout_ns = 60ull * 1000 * 1000 * 1000;
	r.vm = NULL;
	if (sv_pipe(&r, &cfg)) {
		if (kr_vm_restore(&r.vm, snap, &cfg) < 0)
			unit_fail(__FILE__, __LINE__, "kr_vm_restore: %s", kr_last_error());
		else {
			pc_check_runs_to_end(&r);
			/* Reset in place to the same snapshot: the chips and devices come back too.
			 */
			CHECK_OK(kr_vm_reset(r.vm, snap));
			pc_check_runs_to_end(&r);
		}
	}
	sv_end(&r);

	/* A VM with the PC devices but not the irqchip cannot take this snapshot. */
	struct sv d;
	if (pc_prepare(&d, false)) {
		CHECK_FAILS_WITH(kr_vm_reset(d.vm, snap),
				 "the snapshot is of a VM with the PC platform (cfg.pc: in-kernel "
				 "irqchip and PIT, PC devices), this VM has the PC devices without "
				 "the in-kernel irqchip");
		CHECK_EQ(kr_last_error_code(), KR_E_BAD_SNAPSHOT);
	}
	sv_end(&d);
	kr_snapshot_free(snap);
	unlink(path);
}

/*
 * A multiboot kernel without cfg.pc has the PC devices (the loader adds
 * them) but no irqchip: a restore recreates those devices, with their
 * state. (mbsnap itself needs the chips: it is only loaded here, and the
 * UART's scratch register set from the host stands for the state.)
 */
UNIT_TEST(snapshot_pc_devices_without_irqchip_are_recreated)
{
	struct sv v;
	struct kr_snapshot *snap = NULL;
	if (pc_prepare(&v, false)) {
		kr_uart_get(v.vm)->scr = 0x5c;
		CHECK_OK(kr_snapshot_take(v.vm, &snap));
	}
	sv_end(&v);
	if (!snap)
		return;
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	struct kr_vm *vm = NULL;
	CHECK_OK(kr_vm_restore(&vm, snap, &cfg));
	if (vm) {
		CHECK(kr_board_has_pc_devices(vm));
		CHECK(!vm->cfg.pc);
		CHECK_EQ(kr_uart_get(vm)->scr, 0x5c);
	}
	kr_vm_destroy(vm);
	kr_snapshot_free(snap);
}
