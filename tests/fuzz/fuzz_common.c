/* SPDX-License-Identifier: MIT */
/* fuzz_common.c - the harnesses' shared fake VM, input reader and checks. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sanitizer/asan_interface.h>

#include "fuzz_common.h"

static struct kr_vm *the_vm;
static uint8_t *ram;			   /* FUZZ_RAM_MAX bytes, the guest's */
static uint8_t *pristine;		   /* the same size, the initial fill, never written */
static uint64_t unpoisoned = FUZZ_RAM_MAX; /* ram[0, unpoisoned) is accessible */

uint8_t fuzz_fill(uint64_t gpa)
{
	return (uint8_t)(((gpa + 1) * 0x9e3779b97f4a7c15ull) >> 56) | 1;
}

int fuzz_devnull(void)
{
	static int fd = -1;
	if (fd < 0) {
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			perror("fuzz: open /dev/null");
			abort();
		}
	}
	return fd;
}

static void setup_once(void)
{
	the_vm = calloc(1, sizeof(*the_vm));
	ram = aligned_alloc(4096, FUZZ_RAM_MAX);
	pristine = malloc(FUZZ_RAM_MAX);
	if (!the_vm || !ram || !pristine) {
		fprintf(stderr, "fuzz: out of memory for the fake VM\n");
		abort();
	}
	for (uint64_t i = 0; i < FUZZ_RAM_MAX; i++)
		pristine[i] = fuzz_fill(i);
	memcpy(ram, pristine, FUZZ_RAM_MAX);
}

struct kr_vm *fuzz_vm(enum kr_mode mode, uint64_t mem_size)
{
	if (!the_vm)
		setup_once();
	if (mem_size == 0 || mem_size > FUZZ_RAM_MAX || (mem_size & 0xfff)) {
		fprintf(stderr, "fuzz: bad RAM size 0x%llx\n", (unsigned long long)mem_size);
		abort();
	}
	if (mem_size != unpoisoned) {
		ASAN_UNPOISON_MEMORY_REGION(ram, FUZZ_RAM_MAX);
		ASAN_POISON_MEMORY_REGION(ram + mem_size, FUZZ_RAM_MAX - mem_size);
		unpoisoned = mem_size;
	}

	/*
	 * As kr_vm_create_detached leaves a VM, but on our RAM, whose end ASan
	 * guards (an mmap of mem_size has no guard), and reused for every input.
	 */
	struct kr_vm *vm = the_vm;
	kr_vm_destroy_modules(vm); /* the previous input's devices */
	memset(vm, 0, sizeof(*vm));
	kr_vm_config_init(&vm->cfg);
	vm->cfg.mode = mode;
	vm->cfg.mem_size = mem_size;
	vm->cfg.console_fd = fuzz_devnull();
	vm->kvm_fd = vm->vm_fd = vm->vcpus[0].fd = -1;
	vm->ram = ram;
	vm->slots[0] = (struct kr_slot){.used = true, .gpa = 0, .size = mem_size, .host = ram};
	vm->board = &kr_x86_board;
	if (kr_board_add_devices(vm) < 0) {
		fprintf(stderr, "fuzz: the board's devices: %s\n", kr_last_error());
		abort();
	}
	return vm;
}

/* [gpa, gpa + len) clipped to [0, limit): *n bytes at gpa, false if none. */
static bool clip(uint64_t gpa, uint64_t len, uint64_t limit, uint64_t *n)
{
	if (gpa >= limit || len == 0)
		return false;
	*n = len < limit - gpa ? len : limit - gpa;
	return true;
}

void fuzz_ram_restore(struct kr_vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t n;
	if (clip(gpa, len, vm->cfg.mem_size, &n))
		memcpy(ram + gpa, pristine + gpa, n);
}

bool fuzz_ram_untouched(struct kr_vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t n;
	return !clip(gpa, len, vm->cfg.mem_size, &n) || memcmp(ram + gpa, pristine + gpa, n) == 0;
}

uint8_t fuzz_u8(struct fuzz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t lo = fuzz_u8(in);
	return (uint16_t)(lo | fuzz_u8(in) << 8);
}

uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t lo = fuzz_u16(in);
	return lo | (uint32_t)fuzz_u16(in) << 16;
}

uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t lo = fuzz_u32(in);
	return lo | (uint64_t)fuzz_u32(in) << 32;
}

bool fuzz_more(const struct fuzz_in *in)
{
	return in->n > 0;
}

void fuzz_log(const char *fmt, ...)
{
	static int verbose = -1;
	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") && *getenv("FUZZ_VERBOSE") != '0';
	if (!verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "\n%s:%d: invariant violated: %s\n  ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n  last library error: %s\n", kr_last_error());
	abort();
}
