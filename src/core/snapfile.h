/* SPDX-License-Identifier: MIT */
/*
 * core/snapfile.h - the container of a snapshot file: a header, a table of
 * sections, the sections. Self-describing and checked before use: magic,
 * version, the file's size, every section's bounds and a CRC32C per section
 * (and one over the header and table). What the sections hold is the
 * architecture's business (x86/snapshot.c); this layer knows ids and bytes.
 *
 * Layout (little-endian, as x86 is):
 *   struct kr_snap_header                   32 bytes
 *   struct kr_snap_section[nsections]       24 bytes each
 *   the sections, each at an 8-byte aligned offset, in table order, zero
 *   padding between them
 */
#ifndef KVMRUN_CORE_SNAPFILE_H
#define KVMRUN_CORE_SNAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define KR_SNAP_MAGIC "KVMRSNAP" /* 8 bytes, no NUL in the file */
/*
 * The version kr_snap_write writes, and the oldest kr_snap_parse reads.
 * Version 2: the configuration section holds the platform (x86/snapshot.h),
 * and every device with state has its entry. An older reader refuses a
 * newer file by its version; this one reads version 1 files as they were.
 */
#define KR_SNAP_VERSION 2u
#define KR_SNAP_VERSION_MIN 1u
#define KR_SNAP_MAX_SECTIONS 32u

struct kr_snap_header {
	char magic[8];
	uint32_t version;
	uint32_t nsections;
	uint64_t file_size;  /* the whole file: a truncated or extended one is refused */
	uint32_t header_crc; /* CRC32C of this header (this field as 0) and the table */
	uint32_t reserved;   /* 0 */
};

struct kr_snap_section {
	uint32_t id;
	uint32_t crc; /* CRC32C of the section's bytes */
	uint64_t offset, size;
};

_Static_assert(sizeof(struct kr_snap_header) == 32, "header layout");
_Static_assert(sizeof(struct kr_snap_section) == 24, "section layout");

/* CRC32C (Castagnoli), the one checksum of the format: crc = kr_crc32c(0, p, n). */
uint32_t kr_crc32c(uint32_t crc, const void *p, size_t n);
/* The same by table only, as on a host without SSE4.2 (for the tests). */
uint32_t kr_crc32c_table(uint32_t crc, const void *p, size_t n);

/*
 * A file being written: sections point at the caller's bytes until
 * kr_snap_write. A section is one run of bytes or several (iovecs), so that
 * scattered guest pages are written without being gathered first.
 */
struct kr_snap_writer {
	uint32_t version; /* 0: KR_SNAP_VERSION (tests write older ones) */
	uint32_t n;
	struct {
		uint32_t id;
		const struct iovec *iov;
		size_t niov;
		struct iovec one; /* iov of a kr_snap_add section */
	} s[KR_SNAP_MAX_SECTIONS];
};

/* Add a section (the bytes must live until kr_snap_write); fails if the table is full. */
int kr_snap_add(struct kr_snap_writer *w, uint32_t id, const void *data, uint64_t size);
/* Add a section made of iov[0..niov), in that order (iov must live until kr_snap_write). */
int kr_snap_add_iov(struct kr_snap_writer *w, uint32_t id, const struct iovec *iov, size_t niov);
/* Write the file to fd (from its current position); fails naming the write. */
int kr_snap_write(const struct kr_snap_writer *w, int fd);

/* A checked file in memory: each section's bytes, pointing into the buffer. */
struct kr_snap_view {
	uint32_t version; /* KR_SNAP_VERSION_MIN..KR_SNAP_VERSION */
	uint32_t n;
	struct {
		uint32_t id;
		const uint8_t *data;
		uint64_t size;
	} s[KR_SNAP_MAX_SECTIONS];
};

/*
 * Check buf[0..len) as a snapshot file and describe its sections. Refused
 * (-1, the reason in the error): too short, wrong magic, another version,
 * a size that is not the file's (truncated or extended), a bad header or
 * section checksum, a section out of bounds, overlapping, misaligned or
 * repeated, non-zero padding. check_crc = false skips the checksums (for
 * fuzzing what lies behind them).
 */
int kr_snap_parse(const void *buf, size_t len, bool check_crc, struct kr_snap_view *v);
/* The section with this id, or NULL (size 0). */
const void *kr_snap_find(const struct kr_snap_view *v, uint32_t id, uint64_t *size);
/*
 * For tests and fuzzers: recompute the checksums of a buffer whose header
 * and table are in bounds, so that a change behind them reaches the checks
 * that come after the checksums. Does nothing to a buffer it cannot read.
 */
void kr_snap_fix_checksums(void *buf, size_t len);

#endif
