/* SPDX-License-Identifier: MIT */
/* core/bounds.h - overflow-safe range checks, for every offset and length from outside. */
#ifndef KVMRUN_CORE_BOUNDS_H
#define KVMRUN_CORE_BOUNDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * true if [off, off + len) lies inside [0, size). The one check every offset
 * and length read from a file or from the guest goes through.
 */
static inline bool kr_range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* The bytes [off, off + len) of a buffer of `size` bytes, or NULL. */
static inline const void *kr_span(const void *base, uint64_t size, uint64_t off, uint64_t len)
{
	return kr_range_ok(off, len, size) ? (const uint8_t *)base + off : NULL;
}

#endif
