/* SPDX-License-Identifier: MIT */
/* x86/translate.h - step 9: guest virtual addresses, page by page. */
#ifndef KVMRUN_X86_TRANSLATE_H
#define KVMRUN_X86_TRANSLATE_H

#include <stddef.h>
#include <stdint.h>

#include "kvmrun.h"

/*
 * Call fn(ctx, host, n) for each page-sized piece of guest virtual
 * [gva, gva + len), translated and checked; fn == NULL only checks.
 */
int kr_gva_for_each(struct kr_vm *vm, uint64_t gva, uint64_t len,
		    int (*fn)(void *ctx, const void *host, size_t n), void *ctx);

#endif
