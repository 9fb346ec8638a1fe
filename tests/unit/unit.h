/* SPDX-License-Identifier: MIT */
/*
 * unit.h - a very small unit-test harness: UNIT_TEST(name) { CHECK(...); }
 * Tests register themselves at start-up; tests/unit/main.c runs them all.
 */
#ifndef KVMRUN_UNIT_H
#define KVMRUN_UNIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

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

struct unit_test {
	const char *name;
	void (*fn)(void);
	struct unit_test *next;
};

void unit_register(struct unit_test *t);
/*
 * This test cannot run here (`why`: what it needs that this KVM back end
 * lacks). It then counts as deferred, and tests/kvm/suite.sh runs it in the
 * QEMU test bed, or as failed where there is no other place to run it.
 */
void unit_defer(const char *why);
/* Record a failed check; the test goes on so one run shows every failure. */
void unit_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define UNIT_TEST(name)                                                            \
	static void unit_fn_##name(void);                                          \
	static struct unit_test unit_t_##name = {#name, unit_fn_##name, NULL};     \
	__attribute__((constructor)) static void unit_reg_##name(void)             \
	{                                                                          \
		unit_register(&unit_t_##name);                                     \
	}                                                                          \
	static void unit_fn_##name(void)

#define CHECK(cond)                                                                \
	do {                                                                       \
		if (!(cond))                                                       \
			unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);         \
	} while (0)

#define CHECK_EQ(a, b)                                                             \
	do {                                                                       \
		unsigned long long unit_a_ = (unsigned long long)(a);              \
		unsigned long long unit_b_ = (unsigned long long)(b);              \
		if (unit_a_ != unit_b_)                                            \
			unit_fail(__FILE__, __LINE__, "%s == %s: 0x%llx != 0x%llx", #a, \
				  #b, unit_a_, unit_b_);                           \
	} while (0)

/* The library call failed or succeeded as expected; a failure must leave a message. */
#define CHECK_OK(call)                                                             \
	do {                                                                       \
		if ((call) < 0)                                                    \
			unit_fail(__FILE__, __LINE__, "%s failed: %s", #call,      \
				  kr_last_error());                                \
	} while (0)
#define CHECK_FAILS_WITH(call, needle) unit_check_fails((call) < 0, #call, needle, __FILE__, __LINE__)
void unit_check_fails(bool failed, const char *call, const char *needle, const char *file, int line);

/*
 * A VM without KVM (kr_vm_create_detached): RAM in slot 0 and the board's devices, for loaders,
 * table builders and the walker; NULL if it cannot be made. Freed with
 * kr_vm_destroy.
 */
static inline struct kr_vm *unit_vm_new(enum kr_mode mode, uint64_t mem_size)
{
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.mode = mode;
	cfg.mem_size = mem_size;
	struct kr_vm *vm;
	return kr_vm_create_detached(&vm, &cfg) < 0 ? NULL : vm;
}

#endif
