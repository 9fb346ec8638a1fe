/* SPDX-License-Identifier: MIT */
/* loader/bzimage.h - the Linux x86 boot protocol's setup header, checked (bzimage.c). */
#ifndef KVMRUN_LOADER_BZIMAGE_H
#define KVMRUN_LOADER_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "kvmrun.h"

/* What kvmrun needs of a bzImage, every field checked against the file. */
struct kr_bzimage {
	uint16_t version;         /* boot protocol, 0x0206 or later */
	size_t setup_size;        /* (setup_sects + 1) * 512: where the protected-mode kernel starts */
	size_t kernel_size;       /* syssize * 16: the protected-mode kernel's bytes in the file */
	size_t header_len;        /* bytes of setup_header in the file (from 0x1f1) */
	uint32_t init_size;       /* memory the kernel needs from where it runs */
	uint32_t kernel_alignment;
	uint64_t pref_address;    /* where a relocatable kernel runs at the lowest */
	uint32_t cmdline_size;    /* the longest command line, without its NUL */
	uint32_t initrd_addr_max; /* the highest address the initrd may occupy */
};

/* Check a bzImage's headers (no VM needed: the fuzzer drives it too). */
int kr_bzimage_parse(const uint8_t *data, size_t size, struct kr_bzimage *bz);

#endif
