/* SPDX-License-Identifier: MIT */
/*
 * test_boundaries.c - the exact edges of the checks on what the guest hands
 * the VMM: port-I/O data size, the WRITE hypercall's limit and pieces, the
 * output limit, 32-bit argument masking, memory slots away from GPA 0 and
 * 32-bit guests' virtual addresses. Each test sits on the boundary itself
 * (the last value accepted, the first refused), where an off-by-one or a
 * 32-bit product would pass every test a little way off it.
 */
#include <asm/processor-flags.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake_vcpu.h"
#include "unit.h"

#define MEM (8u << 20)
#define RUN_SIZE 8192

/* A VM with a kvm_run of its own and the board's devices, the console to a temp file. */
struct edge_vm {
	struct kr_vm *vm;
	struct kvm_sregs sregs;
	char path[32];
};

static void edge_vm_init(struct edge_vm *e, enum kr_mode mode)
{
	e->vm = unit_vm_new(mode, MEM);
	e->vm->vcpus[0].run = calloc(1, RUN_SIZE);
	e->vm->run_size = RUN_SIZE;
	strcpy(e->path, "/tmp/kvmrun-edge-XXXXXX");
	kr_console_get(e->vm)->fd = mkstemp(e->path);
	CHECK(kr_console_get(e->vm)->fd >= 0);

	/* The registers kvmrun gives a guest of this mode, for the software walker. */
	struct kr_mode_setup ms = {.gdt_base = 0x10000};
	if (mode == KR_MODE_LONG || mode == KR_MODE_PAGED32) {
		struct kr_pt_builder b;
		CHECK_OK(kr_pt_init(&b, e->vm->ram, MEM, 0x11000, 0x80000, true));
		if (mode == KR_MODE_LONG) {
			CHECK_OK(kr_pt64_map(&b, 0, 0, MEM, KR_MAP_WRITE | KR_MAP_EXEC));
			CHECK_OK(kr_pt64_map(&b, 0xffffffff80000000ull, 0x300000, 0x1000, 0));
		} else {
			CHECK_OK(kr_pt32_map(&b, 0, 0, MEM, KR_MAP_WRITE));
		}
		ms.cr3 = b.root;
		ms.nx = mode == KR_MODE_LONG;
	}
	memset(&e->sregs, 0, sizeof(e->sregs));
	kr_sregs_for_mode(mode, &ms, &e->sregs);
	e->vm->soft_sregs = &e->sregs;
}

/* Everything the guest got onto the console so far (flushed first). */
static size_t edge_output(struct edge_vm *e, char *buf, size_t size)
{
	CHECK_OK(kr_console_flush(e->vm));
	ssize_t n = pread(kr_console_get(e->vm)->fd, buf, size, 0);
	return n > 0 ? (size_t)n : 0;
}

static void edge_vm_free(struct edge_vm *e)
{
	close(kr_console_get(e->vm)->fd);
	unlink(e->path);
	free(e->vm->vcpus[0].run);
	e->vm->vcpus[0].run = NULL;
	kr_vm_destroy(e->vm);
}

static void set_io(struct kr_vm *vm, uint16_t port, uint8_t size, uint32_t count, uint64_t offset)
{
	vm->vcpus[0].run->exit_reason = KVM_EXIT_IO;
	vm->vcpus[0].run->io.direction = KVM_EXIT_IO_OUT;
	vm->vcpus[0].run->io.port = port;
	vm->vcpus[0].run->io.size = size;
	vm->vcpus[0].run->io.count = count;
	vm->vcpus[0].run->io.data_offset = offset;
}

/* ---- port I/O: size * count ------------------------------------------------ */

UNIT_TEST(edge_io_size_times_count_in_64_bits)
{
	/*
	 * 4 bytes x 0x40000000 items is 4 GiB: in 32-bit arithmetic that is 0,
	 * which the range check would pass, and the dispatch would then walk
	 * 4 GiB past the kvm_run mapping.
	 */
	CHECK_EQ((uint32_t)(4u * 0x40000000u), 0);
	CHECK(kr_range_ok(4096, (uint32_t)(4u * 0x40000000u), RUN_SIZE));

	struct edge_vm e;
	edge_vm_init(&e, KR_MODE_LONG);
	/* No device on port 0x1234: were the check passed, the VM would only stop. */
	set_io(e.vm, 0x1234, 4, 0x40000000, 4096);
	CHECK_FAILS_WITH(kr_handle_exit(&e.vm->vcpus[0]), "(1073741824 x 4 bytes) lies outside");
	CHECK(!e.vm->stop_requested);
	set_io(e.vm, 0x1234, 2, 0x80000000u, 0);
	CHECK_FAILS_WITH(kr_handle_exit(&e.vm->vcpus[0]), "outside");
	/* The hypercall port is 4 bytes wide: there the items would be handled. */
	set_io(e.vm, KVMRUN_HYPERCALL_PORT, 4, 0x40000000, 4096);
	CHECK_FAILS_WITH(kr_handle_exit(&e.vm->vcpus[0]), "outside");
	CHECK(!e.vm->stop_requested);

	/* The exact edge: the data may end at the very end of the mapping. */
	set_io(e.vm, KVMRUN_DEBUG_CONSOLE_PORT, 1, 16, RUN_SIZE - 16);
	memcpy((uint8_t *)e.vm->vcpus[0].run + RUN_SIZE - 16, "0123456789abcdef", 16);
	CHECK_OK(kr_handle_exit(&e.vm->vcpus[0]));
	set_io(e.vm, KVMRUN_DEBUG_CONSOLE_PORT, 1, 17, RUN_SIZE - 16);
	CHECK_FAILS_WITH(kr_handle_exit(&e.vm->vcpus[0]), "outside");
	char out[32];
	CHECK_EQ(edge_output(&e, out, sizeof(out)), 16);
	CHECK(memcmp(out, "0123456789abcdef", 16) == 0);
	edge_vm_free(&e);
}

/* ---- the WRITE hypercall: limit and pieces ----------------------------------- */

UNIT_TEST(edge_write_exactly_the_limit_over_257_pages)
{
	struct edge_vm e;
	edge_vm_init(&e, KR_MODE_LONG);
	/* One byte into a page, KVMRUN_HC_WRITE_MAX bytes touch 257 pages. */
	const uint64_t gva = 0x100001, len = KVMRUN_HC_WRITE_MAX;
	CHECK_EQ(((gva + len - 1) >> 12) - (gva >> 12) + 1, 257);
	for (uint64_t i = 0; i < len; i++)
		e.vm->ram[gva + i] = (uint8_t)(i * 7 + i / 4096);

	CHECK_OK(kr_hypercall(e.vm, KVMRUN_HC_WRITE, gva, len));
	if (e.vm->stop_requested)
		unit_fail(__FILE__, __LINE__, "WRITE of exactly the limit stopped: %s",
			  e.vm->pending_stop.message);
	char *out = malloc(len + 1);
	CHECK_EQ(edge_output(&e, out, len + 1), len);
	CHECK(memcmp(out, e.vm->ram + gva, len) == 0);
	free(out);
	edge_vm_free(&e);

	/* One byte more is refused, and nothing of it is written. */
	edge_vm_init(&e, KR_MODE_LONG);
	CHECK_OK(kr_hypercall(e.vm, KVMRUN_HC_WRITE, gva, len + 1));
	CHECK(e.vm->stop_requested);
	CHECK_EQ(e.vm->pending_stop.reason, KR_STOP_GUEST_ERROR);
	CHECK(strstr(e.vm->pending_stop.message, "length 0x100001 exceeds the limit of 0x100000"));
	char none[8];
	CHECK_EQ(edge_output(&e, none, sizeof(none)), 0);
	edge_vm_free(&e);
}

/* ---- the output limit ----------------------------------------------------------- */

UNIT_TEST(edge_output_limit_exactly)
{
	struct edge_vm e;
	char big[256], out[512];
	memset(big, 'x', sizeof(big));

	/* Exactly max_output bytes, in pieces: all written, the guest goes on. */
	edge_vm_init(&e, KR_MODE_LONG);
	e.vm->cfg.max_output = 100;
	CHECK_OK(kr_console_write(e.vm, big, 60));
	CHECK_OK(kr_console_write(e.vm, big, 40));
	CHECK(!e.vm->stop_requested);
	/* One more byte stops it, and is not written. */
	CHECK_OK(kr_console_write(e.vm, "y", 1));
	CHECK(e.vm->stop_requested);
	CHECK_EQ(e.vm->pending_stop.reason, KR_STOP_OUTPUT_LIMIT);
	CHECK(strstr(e.vm->pending_stop.message, "limit of 100 bytes"));
	CHECK_EQ(edge_output(&e, out, sizeof(out)), 100);
	edge_vm_free(&e);

	/* A write across the limit is cut at it. */
	edge_vm_init(&e, KR_MODE_LONG);
	e.vm->cfg.max_output = 100;
	CHECK_OK(kr_console_write(e.vm, big, 99));
	CHECK(!e.vm->stop_requested);
	CHECK_OK(kr_console_write(e.vm, "abcde", 5));
	CHECK_EQ(e.vm->pending_stop.reason, KR_STOP_OUTPUT_LIMIT);
	CHECK_EQ(edge_output(&e, out, sizeof(out)), 100);
	CHECK_EQ(out[99], 'a');
	edge_vm_free(&e);

	/* The same through the debug port, byte by byte. */
	edge_vm_init(&e, KR_MODE_LONG);
	e.vm->cfg.max_output = 3;
	for (int i = 0; i < 3; i++) {
		set_io(e.vm, KVMRUN_DEBUG_CONSOLE_PORT, 1, 1, 4096);
		CHECK_OK(kr_handle_exit(&e.vm->vcpus[0]));
	}
	CHECK(!e.vm->stop_requested);
	set_io(e.vm, KVMRUN_DEBUG_CONSOLE_PORT, 1, 1, 4096);
	CHECK_OK(kr_handle_exit(&e.vm->vcpus[0]));
	CHECK_EQ(e.vm->pending_stop.reason, KR_STOP_OUTPUT_LIMIT);
	CHECK_EQ(edge_output(&e, out, sizeof(out)), 3);
	edge_vm_free(&e);
}

/* ---- the hypercall port: arguments of 32-bit guests -------------------------------- */

/*
 * A WRITE through the hypercall port, as the guest makes it: the number in
 * the port data, the buffer and length in RDI and RSI as KVM_GET_REGS
 * returns them. Returns the stop's message, "" if the guest went on.
 */
static const char *port_write(struct edge_vm *e, uint64_t rdi, uint64_t rsi)
{
	struct kvm_regs regs = {.rdi = rdi, .rsi = rsi, .rax = KVMRUN_HC_WRITE};
	fake_vcpu_attach(e->vm, &regs, &e->sregs);
	set_io(e->vm, KVMRUN_HYPERCALL_PORT, 4, 1, 4096);
	uint32_t nr = KVMRUN_HC_WRITE;
	memcpy((uint8_t *)e->vm->vcpus[0].run + 4096, &nr, 4);
	CHECK_OK(kr_handle_exit(&e->vm->vcpus[0]));
	fake_vcpu_detach(e->vm);
	return e->vm->stop_requested ? e->vm->pending_stop.message : "";
}

UNIT_TEST(edge_hypercall_args_of_32_bit_guests_are_masked)
{
	/*
	 * Outside long mode the guest sees only the low 32 bits of RDI and RSI;
	 * the high halves hold whatever was there (set by the VMM, or left from
	 * long mode). They must not turn a good buffer into a bad one.
	 */
	static const enum kr_mode modes[] = {KR_MODE_REAL, KR_MODE_PROTECTED, KR_MODE_PAGED32};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct edge_vm e;
		char out[16] = "";
		edge_vm_init(&e, modes[i]);
		/* Below 64 KiB: a linear address every mode reaches, real mode too. */
		memcpy(e.vm->ram + 0x9000, "hello", 5);
		const char *stop = port_write(&e, 0xdeadbeef00009000ull, 0xffffffff00000005ull);
		if (*stop)
			unit_fail(__FILE__, __LINE__, "%s mode: %s", kr_mode_name(modes[i]), stop);
		CHECK_EQ(edge_output(&e, out, sizeof(out)), 5);
		CHECK(memcmp(out, "hello", 5) == 0);
		edge_vm_free(&e);
	}
}

UNIT_TEST(edge_hypercall_args_of_64_bit_guests_are_whole)
{
	/* In long mode all 64 bits count: a higher-half buffer works... */
	struct edge_vm e;
	char out[16] = "";
	edge_vm_init(&e, KR_MODE_LONG);
	memcpy(e.vm->ram + 0x300100, "upper", 5);
	const char *stop = port_write(&e, 0xffffffff80000100ull, 5);
	if (*stop)
		unit_fail(__FILE__, __LINE__, "long mode: %s", stop);
	CHECK_EQ(edge_output(&e, out, sizeof(out)), 5);
	CHECK(memcmp(out, "upper", 5) == 0);
	edge_vm_free(&e);

	/* ... and high bits in the length are not dropped. */
	edge_vm_init(&e, KR_MODE_LONG);
	stop = port_write(&e, 0x100000, 0x100000005ull);
	CHECK(strstr(stop, "exceeds the limit"));
	CHECK_EQ(edge_output(&e, out, sizeof(out)), 0);
	edge_vm_free(&e);
}

/* ---- guest memory: slots away from GPA 0 ---------------------------------------------- */

UNIT_TEST(edge_gpa_ptr_in_a_slot_at_a_nonzero_base)
{
	/* Slot 0 is RAM at GPA 0; slot 1 is 8 KiB at 1 GiB (as kr_mem_add would add it). */
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, 2u << 20);
	const uint64_t base = 0x40000000, size = 0x2000;
	uint8_t *host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(host != MAP_FAILED);
	vm->slots[1] = (struct kr_slot){.used = true, .gpa = base, .size = size, .host = host};

	CHECK(kr_gpa_ptr(vm, base, size) == host);
	CHECK(kr_gpa_ptr(vm, base + 0x10, 4) == host + 0x10);
	CHECK(kr_gpa_ptr(vm, base + size - 4, 4) == host + size - 4);
	CHECK(kr_gpa_ptr(vm, base + size, 0) == host + size);
	CHECK(kr_gpa_ptr(vm, base + size - 3, 4) == NULL); /* one byte past the slot */
	CHECK(kr_gpa_ptr(vm, base - 4, 8) == NULL);        /* starts before it */
	CHECK(kr_gpa_ptr(vm, base + size, 1) == NULL);
	CHECK(kr_gpa_ptr(vm, base + 1, UINT64_MAX) == NULL);
	/* RAM at 0 is untouched by the other slot. */
	CHECK(kr_gpa_ptr(vm, 0x1000, 4) == vm->ram + 0x1000);
	CHECK(kr_gpa_ptr(vm, 0x10, 4) != host + 0x10);

	/* The software walker reads page tables in such a slot through the accessor. */
	struct kvm_sregs s;
	memset(&s, 0, sizeof(s));
	struct kr_mode_setup ms = {.cr3 = base, .gdt_base = 0x10000};
	kr_sregs_for_mode(KR_MODE_PAGED32, &ms, &s);
	uint32_t pde = 0x00400000u | 0x83; /* 4 MiB page at 4 MiB: present, writable, PS */
	memcpy(host + 4, &pde, 4);         /* entry 1: linear [4 MiB, 8 MiB) */
	struct kr_walk w;
	CHECK_OK(kr_walk(vm, &s, 0, 0x00412345, &w));
	CHECK(w.ok);
	CHECK_EQ(w.gpa, 0x00412345);
	CHECK_EQ(w.steps[0].entry_gpa, base + 4);
	munmap(host, size);
	kr_vm_destroy(vm);
}

/* ---- 32-bit guests' virtual addresses ----------------------------------------------------- */

UNIT_TEST(edge_32_bit_guest_has_no_addresses_above_4g)
{
	/*
	 * A 32-bit guest's linear addresses have 32 bits. An address above 4 GiB
	 * passed to the library (kr_copy_from_gva, --translate) does not exist
	 * there; cutting it to 32 bits would read some other memory.
	 */
	static const enum kr_mode modes[] = {KR_MODE_PROTECTED, KR_MODE_PAGED32};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct edge_vm e;
		edge_vm_init(&e, modes[i]);
		memcpy(e.vm->ram + 0x100000, "abcd", 4);
		char buf[4];
		CHECK_OK(kr_copy_from_gva(e.vm, 0x100000, buf, 4));
		CHECK(memcmp(buf, "abcd", 4) == 0);
		CHECK_FAILS_WITH(kr_copy_from_gva(e.vm, 0x100100000ull, buf, 4),
				 "0x100100000 is not mapped");
		struct kr_translation t;
		CHECK_OK(kr_translate(e.vm, 0x100100000ull, &t));
		CHECK(!t.valid);
		/* The last byte below 4 GiB exists (unmapped in paged32, RAM-less in protected). */
		CHECK_OK(kr_translate(e.vm, 0xffffffffull, &t));
		if (modes[i] == KR_MODE_PROTECTED)
			CHECK(t.valid && t.gpa == 0xffffffffull);
		edge_vm_free(&e);
	}
}
