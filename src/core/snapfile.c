/* SPDX-License-Identifier: MIT */
/*
 * snapfile.c - the snapshot file's container (see core/snapfile.h): writing
 * it, and checking every byte of it before anyone uses one.
 *
 * The checksum is CRC32C, implemented here once: with the SSE4.2 crc32
 * instruction where the host has it (a 16 MiB guest's pages check in a few
 * milliseconds), else a table, byte by byte. Both give the same value.
 */
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/bounds.h"
#include "core/error.h"
#include "core/snapfile.h"

/* ---- CRC32C ------------------------------------------------------------------ */

static uint32_t crc_table[256];

static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1; /* Castagnoli, reflected */
		crc_table[i] = c;
	}
}

static uint32_t crc_soft(uint32_t c, const uint8_t *p, size_t n)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, crc_table_init);
	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c;
}

__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n)
{
	uint64_t c64 = c;
	for (; n >= 8; n -= 8, p += 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c64 = __builtin_ia32_crc32di(c64, v);
	}
	c = (uint32_t)c64;
	while (n--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}

uint32_t kr_crc32c_table(uint32_t crc, const void *p, size_t n)
{
	return ~crc_soft(~crc, p, n);
}

/*
 * Whether the host has SSE4.2's crc32, asked when first needed. Not
 * __builtin_cpu_supports: that links libgcc's CPU model, whose constructor
 * runs CPUID at every start of every program linked with the library
 * (about 70 us where CPUID exits to a hypervisor, as on this project's
 * machines), snapshots or not.
 */
static bool crc_hw_ok;
static void crc_hw_probe(void)
{
	unsigned eax, ebx, ecx, edx;
	crc_hw_ok = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_SSE4_2);
}

uint32_t kr_crc32c(uint32_t crc, const void *p, size_t n)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, crc_hw_probe);
	uint32_t c = ~crc;
	c = crc_hw_ok ? crc_hw(c, p, n) : crc_soft(c, p, n);
	return ~c;
}

/* ---- writing ----------------------------------------------------------------- */

int kr_snap_add_iov(struct kr_snap_writer *w, uint32_t id, const struct iovec *iov, size_t niov)
{
	if (w->n == KR_SNAP_MAX_SECTIONS)
		return kr_err("snapshot: more than %u sections", KR_SNAP_MAX_SECTIONS);
	w->s[w->n].id = id;
	w->s[w->n].iov = iov;
	w->s[w->n].niov = niov;
	w->n++;
	return 0;
}

int kr_snap_add(struct kr_snap_writer *w, uint32_t id, const void *data, uint64_t size)
{
	if (w->n == KR_SNAP_MAX_SECTIONS)
		return kr_err("snapshot: more than %u sections", KR_SNAP_MAX_SECTIONS);
	w->s[w->n].one = (struct iovec){.iov_base = (void *)data, .iov_len = size};
	return kr_snap_add_iov(w, id, &w->s[w->n].one, 1);
}

static uint64_t align8(uint64_t x)
{
	return (x + 7) & ~7ull;
}

static int write_all(int fd, const void *p, uint64_t n, const char *what)
{
	const uint8_t *b = p;
	while (n > 0) {
		size_t chunk = n > (1u << 30) ? 1u << 30 : (size_t)n;
		ssize_t r = write(fd, b, chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return kr_err_sys("snapshot: write of %s (%llu bytes) to fd %d", what,
					  (unsigned long long)n, fd);
		}
		b += r;
		n -= (uint64_t)r;
	}
	return 0;
}

int kr_snap_write(const struct kr_snap_writer *w, int fd)
{
	struct {
		struct kr_snap_header h;
		struct kr_snap_section t[KR_SNAP_MAX_SECTIONS];
	} head;
	memset(&head, 0, sizeof(head));
	memcpy(head.h.magic, KR_SNAP_MAGIC, 8);
	head.h.version = w->version ? w->version : KR_SNAP_VERSION;
	head.h.nsections = w->n;
	uint64_t off = align8(sizeof(head.h) + w->n * sizeof(head.t[0]));
	for (uint32_t i = 0; i < w->n; i++) {
		uint64_t size = 0;
		uint32_t crc = 0;
		for (size_t k = 0; k < w->s[i].niov; k++) {
			crc = kr_crc32c(crc, w->s[i].iov[k].iov_base, w->s[i].iov[k].iov_len);
			size += w->s[i].iov[k].iov_len;
		}
		head.t[i].id = w->s[i].id;
		head.t[i].offset = off;
		head.t[i].size = size;
		head.t[i].crc = crc;
		off = align8(off + size);
	}
	head.h.file_size = off;
	size_t head_len = sizeof(head.h) + w->n * sizeof(head.t[0]);
	head.h.header_crc = kr_crc32c(0, &head, head_len);

	static const uint8_t zeros[8];
	if (write_all(fd, &head, head_len, "the header") < 0 ||
	    write_all(fd, zeros, align8(head_len) - head_len, "padding") < 0)
		return -1;
	for (uint32_t i = 0; i < w->n; i++) {
		char what[48];
		snprintf(what, sizeof(what), "section %u", w->s[i].id);
		for (size_t k = 0; k < w->s[i].niov; k++)
			if (write_all(fd, w->s[i].iov[k].iov_base, w->s[i].iov[k].iov_len, what) < 0)
				return -1;
		uint64_t size = head.t[i].size;
		if (write_all(fd, zeros, align8(size) - size, "padding") < 0)
			return -1;
	}
	return 0;
}

/* ---- reading ----------------------------------------------------------------- */

static bool all_zero(const uint8_t *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int kr_snap_parse(const void *buf, size_t len, bool check_crc, struct kr_snap_view *v)
{
	const uint8_t *b = buf;
	struct kr_snap_header h;
	memset(v, 0, sizeof(*v));
	if (len < sizeof(h))
		return kr_err("snapshot: truncated: %zu bytes, shorter than the %zu-byte header", len,
			      sizeof(h));
	memcpy(&h, b, sizeof(h));
	if (memcmp(h.magic, KR_SNAP_MAGIC, 8) != 0)
		return kr_err("snapshot: bad magic: not a kvmrun snapshot file");
	if (h.version < KR_SNAP_VERSION_MIN || h.version > KR_SNAP_VERSION)
		return kr_err("snapshot: version %u, but this kvmrun reads versions %u to %u",
			      h.version, KR_SNAP_VERSION_MIN, KR_SNAP_VERSION);
	if (h.file_size != len)
		return kr_err("snapshot: %s: the header says %llu bytes, the file has %zu",
			      h.file_size > len ? "truncated" : "trailing bytes",
			      (unsigned long long)h.file_size, len);
	if (h.nsections == 0 || h.nsections > KR_SNAP_MAX_SECTIONS)
		return kr_err("snapshot: %u sections (1..%u allowed)", h.nsections,
			      KR_SNAP_MAX_SECTIONS);
	uint64_t head_len = sizeof(h) + (uint64_t)h.nsections * sizeof(struct kr_snap_section);
	if (!kr_range_ok(0, head_len, len))
		return kr_err("snapshot: truncated: the table of %u sections ends past the file",
			      h.nsections);
	if (h.reserved != 0)
		return kr_err("snapshot: reserved header field is 0x%x, not 0", h.reserved);
	if (check_crc) {
		uint32_t want = h.header_crc;
		uint32_t zero = 0;
		uint32_t c = kr_crc32c(0, b, offsetof(struct kr_snap_header, header_crc));
		c = kr_crc32c(c, &zero, sizeof(zero));
		c = kr_crc32c(c, b + offsetof(struct kr_snap_header, reserved),
			      head_len - offsetof(struct kr_snap_header, reserved));
		if (c != want)
			return kr_err("snapshot: header checksum mismatch (CRC32C 0x%08x, "
				      "expected 0x%08x): the file is corrupt",
				      c, want);
	}
	uint64_t end = head_len; /* the first byte not yet accounted for */
	for (uint32_t i = 0; i < h.nsections; i++) {
		struct kr_snap_section s;
		memcpy(&s, b + sizeof(h) + i * sizeof(s), sizeof(s));
		if (s.offset & 7)
			return kr_err("snapshot: section %u (id %u) at offset %llu: not 8-byte "
				      "aligned", i, s.id, (unsigned long long)s.offset);
		if (s.offset < end)
			return kr_err("snapshot: section %u (id %u) at offset %llu overlaps what "
				      "comes before it (up to %llu)",
				      i, s.id, (unsigned long long)s.offset, (unsigned long long)end);
		if (!kr_range_ok(s.offset, s.size, len))
			return kr_err("snapshot: section %u (id %u) [%llu, +%llu) lies past the "
				      "end of the file (%zu bytes)",
				      i, s.id, (unsigned long long)s.offset,
				      (unsigned long long)s.size, len);
		if (!all_zero(b + end, s.offset - end))
			return kr_err("snapshot: non-zero padding before section %u (id %u)", i,
				      s.id);
		for (uint32_t j = 0; j < i; j++)
			if (v->s[j].id == s.id)
				return kr_err("snapshot: section id %u appears twice", s.id);
		if (check_crc) {
			uint32_t c = kr_crc32c(0, b + s.offset, s.size);
			if (c != s.crc)
				return kr_err("snapshot: section %u (id %u, %llu bytes): checksum "
					      "mismatch (CRC32C 0x%08x, expected 0x%08x): the "
					      "file is corrupt",
					      i, s.id, (unsigned long long)s.size, c, s.crc);
		}
		v->s[i].id = s.id;
		v->s[i].data = b + s.offset;
		v->s[i].size = s.size;
		end = s.offset + s.size;
	}
	if (len - end >= 8 || !all_zero(b + end, len - end))
		return kr_err("snapshot: %llu bytes after the last section",
			      (unsigned long long)(len - end));
	v->n = h.nsections;
	v->version = h.version;
	return 0;
}

const void *kr_snap_find(const struct kr_snap_view *v, uint32_t id, uint64_t *size)
{
	for (uint32_t i = 0; i < v->n; i++) {
		if (v->s[i].id == id) {
			*size = v->s[i].size;
			return v->s[i].data;
		}
	}
	*size = 0;
	return NULL;
}

void kr_snap_fix_checksums(void *buf, size_t len)
{
	uint8_t *b = buf;
	struct kr_snap_header h;
	if (len < sizeof(h))
		return;
	memcpy(&h, b, sizeof(h));
	if (h.nsections > KR_SNAP_MAX_SECTIONS)
		return;
	uint64_t head_len = sizeof(h) + (uint64_t)h.nsections * sizeof(struct kr_snap_section);
	if (head_len > len)
		return;
	for (uint32_t i = 0; i < h.nsections; i++) {
		struct kr_snap_section s;
		uint8_t *at = b + sizeof(h) + i * sizeof(s);
		memcpy(&s, at, sizeof(s));
		if (kr_range_ok(s.offset, s.size, len)) {
			s.crc = kr_crc32c(0, b + s.offset, s.size);
			memcpy(at, &s, sizeof(s));
		}
	}
	h.header_crc = 0;
	memcpy(b, &h, sizeof(h));
	h.header_crc = kr_crc32c(0, b, head_len);
	memcpy(b, &h, sizeof(h));
}
