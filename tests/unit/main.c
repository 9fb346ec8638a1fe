/* SPDX-License-Identifier: MIT */
/* main.c - runs every registered unit test and prints the totals. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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
