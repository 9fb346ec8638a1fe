/* SPDX-License-Identifier: MIT */
/* main.c - runs every registered unit test and prints the totals. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "unit.h"

/* The same harness serves the unit tests and the library tests on KVM. */
#ifndef UNIT_SUITE
#define UNIT_SUITE "unit"
#endif

static struct unit_test *tests;
static int current_failures;

void unit_register(struct unit_test *t)
{
	/* Constructors run in link order; keep it by appending. */
	struct unit_test **p = &tests;
	while (*p)
		p = &(*p)->next;
	*p = t;
}

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	current_failures++;
	fprintf(stdout, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

void unit_check_fails(bool failed, const char *call, const char *needle, const char *file, int line)
{
	if (!failed)
		unit_fail(file, line, "%s should have failed", call);
	else if (needle && !strstr(kr_last_error(), needle))
		unit_fail(file, line, "%s: message \"%s\" lacks \"%s\"", call, kr_last_error(), needle);
}

struct kr_vm *fake_vm_new(enum kr_mode mode, uint64_t mem_size)
{
	struct kr_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	kr_vm_config_init(&vm->cfg);
	vm->cfg.mode = mode;
	vm->cfg.mem_size = mem_size;
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = -1;
	vm->ram = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm->ram == MAP_FAILED) {
		free(vm);
		return NULL;
	}
	vm->slots[0] = (struct kr_slot){.used = true, .gpa = 0, .size = mem_size, .host = vm->ram};
	return vm;
}

void fake_vm_free(struct kr_vm *vm)
{
	if (!vm)
		return;
	munmap(vm->ram, vm->cfg.mem_size);
	free(vm);
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	const char *only = argc > 1 ? argv[1] : NULL;

	for (struct unit_test *t = tests; t; t = t->next) {
		if (only && !strstr(t->name, only))
			continue;
		current_failures = 0;
		t->fn();
		if (current_failures) {
			printf("FAIL %s/%s\n", UNIT_SUITE, t->name);
			failed++;
		} else {
			printf("ok   %s/%s\n", UNIT_SUITE, t->name);
			passed++;
		}
	}
	printf("%s: %d passed, %d failed\n", UNIT_SUITE, passed, failed);
	fflush(stdout);
	return failed ? 1 : 0;
}
