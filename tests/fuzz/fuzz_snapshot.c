/* SPDX-License-Identifier: MIT */
/*
 * fuzz_snapshot.c - the snapshot reader (core/snapfile.c's container,
 * x86/snapshot.c's sections): a hostile file is refused, never read past.
 *
 * Input: one flag byte, then the file.
 *   bit 0  make the checksums good first (kr_snap_fix_checksums), so that
 *          mutations reach the checks behind them; without it almost every
 *          mutation stops at a checksum, which is what a real file meets
 *
 * The reader checks every device entry's state through the board's table
 * (x86/board.c: COM1, the CMOS clock, the i8042, fw_cfg, the console) and
 * the platform flags against the chips' sections, so mutations of those
 * reach each device's own checks; the corpus has a PC machine's file
 * (pc-mbsnap: LAPIC, irqchip, PIT and the PC devices' state).
 *
 * The oracle: kr_snapshot_read_buffer either succeeds or fails with
 * KR_E_BAD_SNAPSHOT and a message that starts "snapshot:"; a file it takes
 * describes itself sanely (pages within RAM), and written out again it reads
 * back the same. The container's view never points outside the input.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/snapfile.h"
#include "fuzz_common.h"
#include "x86/snapshot.h"

static void same_after_rewrite(const struct kr_snapshot *s, const struct kr_snapshot_info *a)
{
	int fd = memfd_create("fuzz-snap", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0, "memfd_create");
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	FUZZ_CHECK(kr_snapshot_write(s, path) == 0, "rewrite: %s", kr_last_error());
	struct kr_snapshot *again = NULL;
	FUZZ_CHECK(kr_snapshot_read(path, &again) == 0, "reread: %s", kr_last_error());
	struct kr_snapshot_info b;
	kr_snapshot_info(again, &b);
	FUZZ_CHECK(memcmp(a, &b, sizeof(b)) == 0, "the info changed on a round trip");
	kr_snapshot_free(again);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	size_t len = size - 1;
	/* A buffer of exactly the file's size: ASan sees a read one byte past it. */
	uint8_t *buf = malloc(len ? len : 1);
	FUZZ_CHECK(buf, "malloc");
	memcpy(buf, data + 1, len);
	if (flags & 1)
		kr_snap_fix_checksums(buf, len);

	struct kr_snap_view v;
	if (kr_snap_parse(buf, len, false, &v) == 0) {
		for (uint32_t i = 0; i < v.n; i++)
			FUZZ_CHECK(v.s[i].data >= buf && v.s[i].size <= len &&
					   (size_t)(v.s[i].data - buf) <= len - v.s[i].size,
				   "section %u outside the input", i);
	}

	struct kr_snapshot *s = NULL;
	int rc = kr_snapshot_read_buffer(buf, len, &s);
	fuzz_log("snapshot of %zu bytes (flags 0x%x): %s", len, flags,
		 rc == 0 ? "taken" : kr_last_error());
	if (rc < 0) {
		FUZZ_CHECK(s == NULL, "a failed read left a snapshot");
		FUZZ_CHECK(kr_last_error_code() == KR_E_BAD_SNAPSHOT, "code %d for: %s",
			   kr_last_error_code(), kr_last_error());
		FUZZ_CHECK(strncmp(kr_last_error(), "snapshot:", 9) == 0, "message: %s",
			   kr_last_error());
	} else {
		struct kr_snapshot_info info;
		kr_snapshot_info(s, &info);
		FUZZ_CHECK(info.mem_size >= KR_MEM_MIN && info.mem_size <= KR_MEM_MAX &&
				   info.pages <= info.mem_size / 4096,
			   "info: %llu pages of %llu bytes", (unsigned long long)info.pages,
			   (unsigned long long)info.mem_size);
		same_after_rewrite(s, &info);
		kr_snapshot_free(s);
	}
	free(buf);
	return 0;
}
