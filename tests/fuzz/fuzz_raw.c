/* SPDX-License-Identifier: MIT */
/*
 * fuzz_raw.c - the raw image loader, its options and RAM sizes.
 *
 * Input: a 19-byte header, then the image.
 *   byte 0      bits 1..0 the mode (real, protected, paged32, long),
 *               bit 2 has_load_addr, bit 3 has_entry,
 *               bit 4 with neither: pass opt = NULL
 *   bytes 1-2   RAM size: 2 MiB + (value % 3585) * 4 KiB, so 2..16 MiB
 *   bytes 3-10  load address, bytes 11-18 entry (little-endian)
 * An image that starts with the ELF magic goes to the ELF loader; only
 * "no crash" is checked for it.
 *
 * The oracle decides on its own whether the load must succeed (in RAM, clear
 * of the system area except in real mode, below 1 MiB in real mode) and
 * compares. On success the bytes must be at the load address and the image
 * fields right; on failure RAM must be untouched.
 */
#include <elf.h>
#include <string.h>

#include "fuzz_common.h"

#define HEADER 19
#define REAL_LIMIT 0x100000ull

static bool fits(uint64_t addr, uint64_t len, uint64_t limit)
{
	return addr <= limit && len <= limit - addr;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t flags = fuzz_u8(&in);
	enum kr_mode mode = (enum kr_mode)(flags & 3);
	uint64_t mem = KR_MEM_MIN + (uint64_t)(fuzz_u16(&in) % 3585) * 4096;
	struct kr_load_options opt = {.has_load_addr = flags & 4, .has_entry = flags & 8};
	opt.load_addr = fuzz_u64(&in);
	opt.entry = fuzz_u64(&in);
	const uint8_t *image = in.p;
	size_t n = in.n;
	bool no_opt = !opt.has_load_addr && !opt.has_entry && (flags & 16);

	struct kr_vm *vm = fuzz_vm(mode, mem);
	struct kr_image img;
	memset(&img, 0x5a, sizeof(img));
	int ret = kr_load_buffer(vm, n ? image : NULL, n, no_opt ? NULL : &opt, &img);

	fuzz_log("raw %s, 0x%llx bytes of RAM, %zu bytes: %s", kr_mode_name(mode),
		 (unsigned long long)mem, n, ret == 0 ? "loaded" : kr_last_error());
	if (n >= SELFMAG && memcmp(image, ELFMAG, SELFMAG) == 0) {
		if (ret == 0)
			fuzz_ram_restore(vm, img.start, img.end - img.start);
		return 0;
	}

	bool real = mode == KR_MODE_REAL;
	uint64_t addr = opt.has_load_addr ? opt.load_addr
			: real		  ? KVMRUN_REAL_MODE_LOAD_ADDR
					  : KVMRUN_DEFAULT_LOAD_ADDR;
	uint64_t entry = opt.has_entry ? opt.entry : addr;
	bool in_ram = n > 0 && fits(addr, n, mem);
	bool clear = real || !in_ram || addr + n <= KVMRUN_SYSTEM_AREA_START ||
		     addr >= KVMRUN_SYSTEM_AREA_END;
	bool reachable = !real || (fits(addr, n, REAL_LIMIT) && entry < REAL_LIMIT);
	bool entry_inside = entry >= addr && entry - addr < n; /* raw code is all there is */
	bool expect = in_ram && clear && reachable && entry_inside;

	FUZZ_CHECK((ret == 0) == expect,
		   "%s mode, 0x%llx bytes of RAM, %zu bytes at 0x%llx, entry 0x%llx: loader says "
		   "%s, oracle says %s",
		   kr_mode_name(mode), (unsigned long long)mem, n, (unsigned long long)addr,
		   (unsigned long long)entry, ret == 0 ? "ok" : "refused",
		   expect ? "ok" : "refused");
	if (ret == 0) {
		FUZZ_CHECK(!img.is_elf && img.nmappings == 0 && img.start == addr &&
			       img.end == addr + n && img.entry == entry,
			   "image [0x%llx, 0x%llx) entry 0x%llx, %zu mappings",
			   (unsigned long long)img.start, (unsigned long long)img.end,
			   (unsigned long long)img.entry, img.nmappings);
		FUZZ_CHECK(memcmp(vm->ram + addr, image, n) == 0, "bytes at 0x%llx differ",
			   (unsigned long long)addr);
		fuzz_ram_restore(vm, addr, n);
	} else {
		FUZZ_CHECK(kr_last_error()[0] != '\0', "failed without a message");
		FUZZ_CHECK(fuzz_ram_untouched(vm, addr, n), "refused image written at 0x%llx",
			   (unsigned long long)addr);
	}
	return 0;
}
