/* SPDX-License-Identifier: MIT */
/* kvmtest.h - helpers the KVM library tests share: load a few bytes, run. */
#ifndef KVMRUN_KVMTEST_H
#define KVMRUN_KVMTEST_H

#include "../unit/unit.h"

/* A VM of 8 MiB whose console is a pipe the test reads: what the guest printed. */
struct kvmtest_vm {
	struct kr_vm *vm;
	int out[2];
	char text[256];
};

/* Create it in `mode`; a failure is recorded as a test failure. */
bool kvmtest_start(struct kvmtest_vm *g, enum kr_mode mode);
/* What the guest printed since the last call (at most 255 bytes, NUL-terminated). */
const char *kvmtest_output(struct kvmtest_vm *g);
void kvmtest_end(struct kvmtest_vm *g);

/*
 * Load `code` as a raw image (real mode: at 0x7c00, else at 1 MiB), add the
 * extra mappings, and prepare the vCPU; a failure is recorded as a test failure.
 */
bool kvmtest_load(struct kr_vm *vm, const uint8_t *code, size_t len, const struct kr_mapping *maps,
		  size_t nmaps);

/*
 * Does this KVM back end have `feature` (a name `kvmrun info` lists, such as
 * "paged32" or "1g-pages")? If not, the test is deferred (unit_defer) and
 * should return: it runs where the feature is, never is skipped.
 */
bool kvmtest_needs(const char *feature);

/* Run until the guest stops; a VMM failure is a test failure (reason REQUESTED). */
struct kr_stop kvmtest_run(struct kr_vm *vm);

/*
 * Tests whose failure may be a hang (a stop that never arrives, a thread
 * that never ends): kvmtest_bounded runs `fn` in a child process, which
 * reports why it failed through kvmtest_fail (or KT_EXPECT), and kills it
 * after `seconds`. Its failure, its death or its still running then fails
 * the test; with `quiet`, so does anything it wrote on stderr while passing
 * (a sanitizer's report). The child ends with exit_group: no atexit, no
 * flush of the parent's stdio buffers.
 */
bool kvmtest_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define KT_EXPECT(cond, ...) ((cond) ? true : kvmtest_fail(__VA_ARGS__))
void kvmtest_bounded(const char *file, int line, bool (*fn)(void), int seconds, bool quiet,
		     const char *hang_hint);

#endif
