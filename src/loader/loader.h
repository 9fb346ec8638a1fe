/* SPDX-License-Identifier: MIT */
/* loader/loader.h - the image formats behind kr_load_file and kr_load_buffer. */
#ifndef KVMRUN_LOADER_H
#define KVMRUN_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "kvmrun.h"

int kr_load_elf(struct kr_vm *vm, const uint8_t *data, size_t size,
		const struct kr_load_options *opt, struct kr_image *img);
/* The same, refusing any segment below physical `low` (multiboot kernels: 1 MiB). */
int kr_load_elf_above(struct kr_vm *vm, const uint8_t *data, size_t size,
		      const struct kr_load_options *opt, uint64_t low, struct kr_image *img);
int kr_load_raw(struct kr_vm *vm, const uint8_t *data, size_t size,
		const struct kr_load_options *opt, struct kr_image *img);
/* Read a whole regular file, no larger than guest RAM, into *buf (malloc'd). */
int kr_load_read_file(struct kr_vm *vm, const char *path, uint8_t **buf, size_t *size);
/* Refuse an image range that is outside RAM or overlaps kvmrun's area. */
int kr_load_check_range(struct kr_vm *vm, uint64_t gpa, uint64_t size, const char *what);

#endif
