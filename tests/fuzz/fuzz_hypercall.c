/* SPDX-License-Identifier: MIT */
/*
 * fuzz_hypercall.c - kr_hypercall() with hostile arguments.
 *
 * A fake VM (8 MiB) in long mode gets kvmrun-built page tables: RAM
 * identity-mapped, then up to three extra mappings from the input; its
 * translation goes through the software walker (vm->soft_sregs). paged32
 * mode does the same with 4 MiB pages, protected mode has no paging. Then
 * each (nr, arg0, arg1) triple from the input is one hypercall; after a
 * stop, stop_requested is cleared and the next one follows. The console is
 * a memfd, read back after each call (a WRITE hypercall is written out at
 * once, not kept in the buffer). The arguments are passed as they
 * are, even above 4 GiB in the 32-bit modes (the port would mask them; the
 * translation must refuse them).
 *
 * Input:
 *   byte 0       bits 1..0 the number of extra mappings,
 *                bits 3..2 the console limit (cfg.max_output, if the library
 *                has one): 0 default, 1 none, 2 and 3 the u16 below,
 *                bits 5..4 the mode: 0 and 1 long, 2 paged32, 3 protected
 *   bytes 1-2    u16 output limit
 *   per mapping  long mode: u64 gva (4 KiB-aligned; made canonical unless
 *                bit 7 of the flags), u16 gpa in pages (0..256 MiB), u8
 *                flags: bits 4..0 pages - 1, bit 5 2 MiB instead, bit 6
 *                KR_MAP_WRITE.
 *                paged32: the same bytes; gva the low 32 bits (4 MiB-aligned
 *                unless flags bit 7), gpa (u16 & 0x3ff) * 4 MiB, flags bits
 *                1..0 size in 4 MiB - 1
 *   then triples u8 nr (bits 5..0; bit 6: arg0 is a u32, bit 7: arg1 a u64
 *                rather than a u32), arg0, arg1
 *
 * The oracle models the mappings (the last one wins, page by page) and
 * predicts each call: WRITE refused (too long, wraps, a page unmapped or
 * outside RAM: then nothing is written), or its bytes, from the model's
 * translation, written to the console fd and nothing left in the buffer;
 * EXIT with the whole status (saturated at INT_MAX); SNAPSHOT a stop for it;
 * anything else refused (START_CPU too: the fake VM has no vCPU to start). Reads outside guest RAM are ASan reports.
 */
#define _GNU_SOURCE /* memfd_create */
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"

#define MEM (8ull << 20)
#define AREA_START 0x11000ull /* the tables, as in tests/unit/test_hypercall.c */
#define AREA_END 0x80000ull
#define PAGE 0x1000ull
#define MAX_EXTRA 3

#ifdef KR_DEFAULT_MAX_OUTPUT
#define STOP_OUTPUT_LIMIT KR_STOP_OUTPUT_LIMIT
#else
#define STOP_OUTPUT_LIMIT (-1) /* no limit: never expected */
#endif

struct map {
	uint64_t gva, gpa, size;
};

static struct map maps[1 + MAX_EXTRA];
static size_t nmaps;

static bool model_translate(uint64_t gva, uint64_t *gpa)
{
	for (size_t i = nmaps; i-- > 0;) {
		if (gva - maps[i].gva < maps[i].size) {
			*gpa = maps[i].gpa + (gva - maps[i].gva);
			return true;
		}
	}
	return false;
}

/* Would the whole buffer translate, page by page, into RAM? */
static bool model_readable(uint64_t gva, uint64_t len)
{
	while (len > 0) {
		uint64_t in_page = PAGE - (gva & (PAGE - 1));
		uint64_t n = len < in_page ? len : in_page, gpa;
		if (!model_translate(gva, &gpa) || gpa > MEM || n > MEM - gpa)
			return false;
		gva += n;
		len -= n;
	}
	return true;
}

static bool canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* Long mode: RAM identity-mapped, then `count` mappings from the input. */
static void add_mappings64(struct fuzz_in *in, struct kr_pt_builder *b, unsigned count)
{
	FUZZ_CHECK(kr_pt64_map(b, 0, 0, MEM, KR_MAP_WRITE | KR_MAP_EXEC) == 0, "identity map");
	maps[0] = (struct map){0, 0, MEM};
	nmaps = 1;
	for (unsigned i = 0; i < count; i++) {
		uint64_t gva = fuzz_u64(in) & ~(PAGE - 1);
		uint64_t gpa = (uint64_t)fuzz_u16(in) * PAGE;
		uint8_t f = fuzz_u8(in);
		uint64_t size = f & 0x20 ? 2ull << 20 : ((f & 0x1f) + 1ull) * PAGE;
		if (!(f & 0x80))
			gva = (uint64_t)((int64_t)(gva << 16) >> 16);
		bool valid = gva + size > gva && canonical(gva) && canonical(gva + size - 1);
		int ret = kr_pt64_map(b, gva, gpa, size, f & 0x40 ? KR_MAP_WRITE : 0);
		fuzz_log("map 0x%llx -> 0x%llx (0x%llx bytes): %s", (unsigned long long)gva,
			 (unsigned long long)gpa, (unsigned long long)size,
			 ret == 0 ? "ok" : kr_last_error());
		FUZZ_CHECK((ret == 0) == valid, "kr_pt64_map(0x%llx, 0x%llx, 0x%llx) %s",
			   (unsigned long long)gva, (unsigned long long)gpa,
			   (unsigned long long)size, ret == 0 ? "succeeded" : "failed");
		if (ret == 0)
			maps[nmaps++] = (struct map){gva, gpa, size};
	}
}

/* paged32: RAM identity-mapped with 4 MiB pages, then `count` mappings (the same bytes). */
static void add_mappings32(struct fuzz_in *in, struct kr_pt_builder *b, unsigned count)
{
	const uint64_t big = 4ull << 20, low = (MEM + big - 1) & ~(big - 1);
	FUZZ_CHECK(kr_pt32_map(b, 0, 0, low, KR_MAP_WRITE) == 0, "identity map");
	maps[0] = (struct map){0, 0, low};
	nmaps = 1;
	for (unsigned i = 0; i < count; i++) {
		uint32_t gva = (uint32_t)fuzz_u64(in) & ~(uint32_t)(PAGE - 1);
		uint32_t gpa = (uint32_t)(fuzz_u16(in) & 0x3ff) << 22;
		uint8_t f = fuzz_u8(in);
		uint64_t size = ((f & 3) + 1ull) * big;
		if (!(f & 0x80))
			gva &= ~(uint32_t)(big - 1);
		bool valid = !((gva | gpa) & (big - 1)) && gva + size <= 1ull << 32 &&
			     gpa + size <= 1ull << 32;
		int ret = kr_pt32_map(b, gva, gpa, size, f & 0x40 ? KR_MAP_WRITE : 0);
		fuzz_log("map32 0x%x -> 0x%x (0x%llx bytes): %s", gva, gpa,
			 (unsigned long long)size, ret == 0 ? "ok" : kr_last_error());
		FUZZ_CHECK((ret == 0) == valid, "kr_pt32_map(0x%x, 0x%x, 0x%llx) %s", gva, gpa,
			   (unsigned long long)size, ret == 0 ? "succeeded" : "failed");
		if (ret == 0)
			maps[nmaps++] = (struct map){gva, gpa, size};
	}
}

/* The console: a memfd, emptied for each input. */
static int console_fd = -1;

static uint64_t console_size(void)
{
	off_t end = lseek(console_fd, 0, SEEK_END);
	FUZZ_CHECK(end >= 0, "lseek on the console memfd");
	return (uint64_t)end;
}

/* The console fd holds, from `off`, the first `written` bytes of the guest buffer at gva. */
static void check_console(struct kr_vm *vm, uint64_t off, uint64_t gva, uint64_t written)
{
	uint8_t got[4096];
	for (uint64_t j = 0; j < written; j += sizeof(got)) {
		size_t n = written - j < sizeof(got) ? (size_t)(written - j) : sizeof(got);
		FUZZ_CHECK(pread(console_fd, got, n, (off_t)(off + j)) == (ssize_t)n,
			   "console memfd: short read");
		for (size_t k = 0; k < n; k++) {
			uint64_t gpa = 0;
			model_translate(gva + j + k, &gpa);
			uint8_t want = vm->ram[gpa];
			FUZZ_CHECK(got[k] == want,
				   "WRITE(0x%llx): console byte %llu is 0x%02x, guest memory at "
				   "0x%llx has 0x%02x",
				   (unsigned long long)gva, (unsigned long long)(j + k), got[k],
				   (unsigned long long)gpa, want);
		}
	}
}

static void one_call(struct kr_vm *vm, uint32_t nr, uint64_t a0, uint64_t a1, uint64_t limit)
{
	uint64_t off = console_size();
	uint64_t total = 0;
#ifdef KR_DEFAULT_MAX_OUTPUT
	total = kr_console_get(vm)->total;
#endif
	FUZZ_CHECK(kr_hypercall(vm, nr, a0, a1) == 0, "hypercall %u(0x%llx, 0x%llx) failed", nr,
		   (unsigned long long)a0, (unsigned long long)a1);
	bool stopped = vm->stop_requested;
	enum kr_stop_reason reason = vm->pending_stop.reason;
	fuzz_log("hypercall %u(0x%llx, 0x%llx): %s", nr, (unsigned long long)a0,
		 (unsigned long long)a1, stopped ? vm->pending_stop.message : "ok");

	if (nr == KVMRUN_HC_EXIT) {
		FUZZ_CHECK(stopped && reason == KR_STOP_EXIT &&
			       vm->pending_stop.exit_code == (a0 > INT_MAX ? INT_MAX : (int)a0),
			   "EXIT(0x%llx): stopped %d, reason %d, code %d", (unsigned long long)a0,
			   stopped, reason, vm->pending_stop.exit_code);
	} else if (nr == KVMRUN_HC_SNAPSHOT) {
		/* Arguments ignored: a stop for the host to take a snapshot, nothing written. */
		FUZZ_CHECK(stopped && reason == KR_STOP_SNAPSHOT,
			   "SNAPSHOT(0x%llx, 0x%llx): stopped %d, reason %d",
			   (unsigned long long)a0, (unsigned long long)a1, stopped, reason);
		FUZZ_CHECK(kr_console_get(vm)->used == 0 && console_size() == off,
			   "SNAPSHOT wrote to the console");
	} else if (nr != KVMRUN_HC_WRITE || a1 > KVMRUN_HC_WRITE_MAX || a0 + a1 < a0 ||
		   !model_readable(a0, a1)) {
		FUZZ_CHECK(stopped && reason == KR_STOP_GUEST_ERROR && vm->pending_stop.message[0],
			   "hypercall %u(0x%llx, 0x%llx) should be refused: stopped %d, reason %d",
			   nr, (unsigned long long)a0, (unsigned long long)a1, stopped, reason);
		FUZZ_CHECK(kr_console_get(vm)->used == 0 && console_size() == off,
			   "refused hypercall %u(0x%llx, 0x%llx) wrote",
			   nr, (unsigned long long)a0, (unsigned long long)a1);
	} else {
		uint64_t room = limit ? limit - total : UINT64_MAX;
		uint64_t written = a1 < room ? a1 : room;
		bool over = a1 > room;
		FUZZ_CHECK(
		    stopped == over && (!over || (int)reason == STOP_OUTPUT_LIMIT),
		    "WRITE(0x%llx, 0x%llx) with %llu bytes of room: stopped %d, reason %d (%s)",
		    (unsigned long long)a0, (unsigned long long)a1, (unsigned long long)room,
		    stopped, reason, vm->pending_stop.message);
		FUZZ_CHECK(kr_console_get(vm)->used == 0 && console_size() == off + written,
			   "WRITE(0x%llx, 0x%llx): %llu bytes written and %zu left in the "
			   "buffer, expected %llu written and none left",
			   (unsigned long long)a0, (unsigned long long)a1,
			   (unsigned long long)(console_size() - off), kr_console_get(vm)->used,
			   (unsigned long long)written);
		check_console(vm, off, a0, written);
	}
	if (stopped) {
		vm->stop_requested = false;
		memset(&vm->pending_stop, 0, sizeof(vm->pending_stop));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t head = fuzz_u8(&in);
	uint16_t limit16 = fuzz_u16(&in);
	static const enum kr_mode modes[] = {KR_MODE_LONG, KR_MODE_LONG, KR_MODE_PAGED32,
					     KR_MODE_PROTECTED};
	enum kr_mode mode = modes[(head >> 4) & 3];
	struct kr_vm *vm = fuzz_vm(mode, MEM);
	if (console_fd < 0)
		console_fd = memfd_create("fuzz-console", MFD_CLOEXEC);
	FUZZ_CHECK(console_fd >= 0 && ftruncate(console_fd, 0) == 0, "console memfd");
	kr_console_get(vm)->fd = console_fd;

	/* The console limit, where the library has one; 0 is none. */
	uint64_t limit = 0;
#ifdef KR_DEFAULT_MAX_OUTPUT
	switch ((head >> 2) & 3) {
	case 0:
		limit = vm->cfg.max_output;
		break;
	case 1:
		vm->cfg.max_output = 0;
		break;
	default:
		limit = vm->cfg.max_output = limit16;
		break;
	}
#else
	(void)limit16;
#endif

	struct kr_pt_builder b;
	bool nx = mode == KR_MODE_LONG;
	FUZZ_CHECK(kr_pt_init(&b, vm->ram, MEM, AREA_START, AREA_END, nx) == 0, "kr_pt_init");
	if (mode == KR_MODE_LONG) {
		add_mappings64(&in, &b, head & 3);
	} else if (mode == KR_MODE_PAGED32) {
		add_mappings32(&in, &b, head & 3);
	} else {
		maps[0] = (struct map){0, 0, 1ull << 32}; /* no paging: linear = physical */
		nmaps = 1;
	}
	struct kvm_sregs sregs;
	struct kr_mode_setup ms = {.cr3 = b.root, .gdt_base = KVMRUN_SYSTEM_AREA_START, .nx = nx};
	memset(&sregs, 0, sizeof(sregs));
	kr_sregs_for_mode(mode, &ms, &sregs);
	vm->soft_sregs = &sregs;

	while (fuzz_more(&in)) {
		uint8_t op = fuzz_u8(&in);
		uint64_t a0 = op & 0x40 ? fuzz_u32(&in) : fuzz_u64(&in);
		uint64_t a1 = op & 0x80 ? fuzz_u64(&in) : fuzz_u32(&in);
		one_call(vm, op & 0x3f, a0, a1, limit);
	}
	kr_console_flush(vm);
	fuzz_ram_restore(vm, AREA_START, b.next - AREA_START);
	return 0;
}
