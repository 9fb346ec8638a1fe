/* SPDX-License-Identifier: MIT */
/*
 * fuzz_common.h - what the libFuzzer harnesses share: a KVM-less VM whose
 * RAM ASan guards, a reader that decodes the fuzzer's bytes, and a check
 * that aborts (so libFuzzer keeps the input) when an invariant breaks.
 */
#ifndef KVMRUN_FUZZ_COMMON_H
#define KVMRUN_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The library's internal headers: the tests reach inside. */
#include "core/bounds.h"
#include "core/bus.h"
#include "core/error.h"
#include "core/memory.h"
#include "core/run.h"
#include "core/vm.h"
#include "devices/console.h"
#include "devices/hypercall.h"
#include "loader/loader.h"
#include "x86/board.h"
#include "x86/cpuid.h"
#include "x86/exceptions.h"
#include "x86/gdt.h"
#include "x86/memmap.h"
#include "x86/modes.h"
#include "x86/pagetable.h"
#include "x86/translate.h"
#include "x86/vcpu.h"
#include "x86/x86.h"

/* The largest guest RAM a harness may ask for. */
#define FUZZ_RAM_MAX (16ull << 20)

/*
 * The process's one fake VM, reset for this input: mode, mem_size (a
 * multiple of 4 KiB, at most FUZZ_RAM_MAX), RAM in slot 0, the console on
 * /dev/null, everything else as kr_vm_config_init() and a zeroed struct
 * leave it. No KVM: vm->vcpus[0].run is NULL and the fds are -1.
 *
 * RAM is one malloc'd buffer of FUZZ_RAM_MAX bytes whose part beyond
 * mem_size is ASan-poisoned, so any access past guest RAM (or before it: the
 * allocation's left redzone) is an ASan report. Its bytes start out as
 * fuzz_fill(gpa), never 0; a harness that writes RAM must put the fill back
 * (fuzz_ram_restore) so every input starts from the same state.
 */
struct kr_vm *fuzz_vm(enum kr_mode mode, uint64_t mem_size);

/* The initial byte at `gpa`: a position-dependent pattern, always odd. */
uint8_t fuzz_fill(uint64_t gpa);
/* Put the initial bytes back at [gpa, gpa + len), clipped to FUZZ_RAM_MAX. */
void fuzz_ram_restore(struct kr_vm *vm, uint64_t gpa, uint64_t len);
/* Whether [gpa, gpa + len), clipped to the VM's RAM, still holds the initial bytes. */
bool fuzz_ram_untouched(struct kr_vm *vm, uint64_t gpa, uint64_t len);

/* An fd on /dev/null, opened once. */
int fuzz_devnull(void);

/* FUZZ_VERBOSE=1 in the environment: harnesses say what each input did (for triage). */
void fuzz_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The fuzzer's bytes, consumed from the front; past the end every read gives 0. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

uint8_t fuzz_u8(struct fuzz_in *in);
uint16_t fuzz_u16(struct fuzz_in *in); /* little-endian, like the rest */
uint32_t fuzz_u32(struct fuzz_in *in);
uint64_t fuzz_u64(struct fuzz_in *in);
bool fuzz_more(const struct fuzz_in *in);

/* Print where and why, then abort(): libFuzzer saves the input as a crash. */
#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                         \
	} while (0)

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));

#endif
