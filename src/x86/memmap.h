/* SPDX-License-Identifier: MIT */
/*
 * x86/memmap.h - the page tables a paged guest starts with (see
 * kr_vcpu_prepare in kvmrun.h for what is mapped how), and the page sizes
 * they use, which the ELF loader checks images against.
 */
#ifndef KVMRUN_X86_MEMMAP_H
#define KVMRUN_X86_MEMMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "kvmrun.h"

/* Build them in kvmrun's system area; *cr3 gets the root. */
int kr_page_tables_build(struct kr_vm *vm, const struct kr_image *img, bool nx, uint64_t *cr3);

/* The page size image mappings get in `mode` (4 MiB in paged32, else 4 KiB). */
uint64_t kr_memmap_mapping_page(enum kr_mode mode);
/*
 * The end of the low memory mapped 1:1 in `mode`: RAM rounded up to the pages
 * of its identity map (4 MiB in paged32, 2 MiB in long mode).
 */
uint64_t kr_memmap_identity_end(enum kr_mode mode, uint64_t mem_size);

#endif
