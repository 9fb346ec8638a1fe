/* SPDX-License-Identifier: MIT */
/*
 * main.c - runs every registered unit test and prints the totals.
 *
 *   unit-tests [SUBSTRING]   run the tests whose name contains SUBSTRING (all by default)
 *   unit-tests --list        print the name of every test, one per line
 *
 * Environment (set by tests/kvm/suite.sh for the KVM library tests):
 *   KVMRUN_TEST_ONLY=FILE    run exactly the tests named in FILE, one per line;
 *                            a name that is no test counts as a failure
 *   KVMRUN_DEFER_FILE=FILE   a test that needs what this KVM back end lacks
 *                            (unit_defer) is appended to FILE, to be run in the
 *                            QEMU test bed; without it such a test fails, since
 *                            there is nowhere else for it to run
 */
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
static const char *current_deferral; /* why the running test was deferred, or NULL */

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

void unit_defer(const char *why)
{
	current_deferral = why;
}

void unit_check_fails(bool failed, const char *call, const char *needle, const char *file, int line)
{
	if (!failed)
		unit_fail(file, line, "%s should have failed", call);
	else if (needle && !strstr(kr_last_error(), needle))
		unit_fail(file, line, "%s: message \"%s\" lacks \"%s\"", call, kr_last_error(), needle);
}

/* The names in KVMRUN_TEST_ONLY's file, newline-separated in one buffer. */
static char *read_only_list(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		printf("FAIL %s: KVMRUN_TEST_ONLY=%s cannot be read\n", UNIT_SUITE, path);
		return NULL;
	}
	static char buf[1 << 16];
	size_t n = fread(buf + 1, 1, sizeof(buf) - 3, f);
	fclose(f);
	buf[0] = '\n'; /* every name is then "\nNAME\n" */
	buf[n + 1] = '\n';
	buf[n + 2] = '\0';
	return buf;
}

static bool listed(const char *list, const char *name)
{
	char needle[256];
	snprintf(needle, sizeof(needle), "\n%s\n", name);
	return strstr(list, needle) != NULL;
}

/* Names in the list that are no test: each one a failure, or a typo would pass. */
static int unknown_names(char *list)
{
	int unknown = 0;
	for (char *name = strtok(list, "\n"); name; name = strtok(NULL, "\n")) {
		bool found = false;
		for (struct unit_test *t = tests; t && !found; t = t->next)
			found = strcmp(t->name, name) == 0;
		if (!found) {
			printf("FAIL %s/%s: no such test\n", UNIT_SUITE, name);
			unknown++;
		}
	}
	return unknown;
}

static void record_deferral(const char *name)
{
	const char *path = getenv("KVMRUN_DEFER_FILE");
	FILE *f = path && *path ? fopen(path, "ae") : NULL;
	if (f) {
		fprintf(f, "%s\n", name);
		fclose(f);
	}
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0, deferred = 0;
	const char *only = argc > 1 ? argv[1] : NULL;
	const char *only_file = getenv("KVMRUN_TEST_ONLY");
	const char *defer_file = getenv("KVMRUN_DEFER_FILE");
	bool may_defer = defer_file && *defer_file;
	char *list = NULL;

	if (only && strcmp(only, "--list") == 0) {
		for (struct unit_test *t = tests; t; t = t->next)
			printf("%s\n", t->name);
		return 0;
	}
	if (only_file && *only_file && !(list = read_only_list(only_file))) {
		printf("%s: 0 passed, 1 failed\n", UNIT_SUITE);
		return 1;
	}
	for (struct unit_test *t = tests; t; t = t->next) {
		if ((only && !strstr(t->name, only)) || (list && !listed(list, t->name)))
			continue;
		current_failures = 0;
		current_deferral = NULL;
		t->fn();
		if (current_failures) {
			printf("FAIL %s/%s\n", UNIT_SUITE, t->name);
			failed++;
		} else if (current_deferral && may_defer) {
			printf("defer %s/%s: %s\n", UNIT_SUITE, t->name, current_deferral);
			record_deferral(t->name);
			deferred++;
		} else if (current_deferral) {
			printf("FAIL %s/%s: %s, and there is no other KVM to run it on\n", UNIT_SUITE,
			       t->name, current_deferral);
			failed++;
		} else {
			printf("ok   %s/%s\n", UNIT_SUITE, t->name);
			passed++;
		}
	}
	if (list)
		failed += unknown_names(list);
	if (deferred)
		printf("%s: %d passed, %d failed, %d deferred\n", UNIT_SUITE, passed, failed, deferred);
	else
		printf("%s: %d passed, %d failed\n", UNIT_SUITE, passed, failed);
	fflush(stdout);
	return failed ? 1 : 0;
}
