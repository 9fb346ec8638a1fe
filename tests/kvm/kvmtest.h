/* SPDX-License-Identifier: MIT */
/* kvmtest.h - helpers the KVM library tests share: load a few bytes, run. */
#ifndef KVMRUN_KVMTEST_H
#define KVMRUN_KVMTEST_H

#include "../unit/unit.h"

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

#endif
