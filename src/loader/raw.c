/* SPDX-License-Identifier: MIT */
/*
 * raw.c - raw (flat binary) images: the bytes are copied as they are to one
 * guest physical address and the vCPU starts at that address, or at the entry
 * the user gives. No headers, so nothing to map: the guest runs identity-mapped.
 */
#include <string.h>

#include "core/bounds.h"
#include "core/error.h"
#include "core/vm.h"
#include "loader/loader.h"

/* Real mode reaches linear addresses below 1 MiB only (segment * 16 + offset). */
#define REAL_MODE_LIMIT 0x100000ull

static uint64_t default_load_addr(const struct kr_vm *vm)
{
	return vm->cfg.mode == KR_MODE_REAL ? KVMRUN_REAL_MODE_LOAD_ADDR : KVMRUN_DEFAULT_LOAD_ADDR;
}

/* In real mode the image and the entry must both be reachable. */
static int check_real_mode(uint64_t addr, uint64_t size, uint64_t entry)
{
	if (!kr_range_ok(addr, size, REAL_MODE_LIMIT))
		return kr_err("raw image: 0x%llx bytes at 0x%llx do not fit below 1 MiB "
			      "(0x%llx), all that real mode can address",
			      (unsigned long long)size, (unsigned long long)addr, REAL_MODE_LIMIT);
	if (entry >= REAL_MODE_LIMIT)
		return kr_err("raw image: entry 0x%llx is not below 1 MiB (0x%llx), all that "
			      "real mode can address",
			      (unsigned long long)entry, REAL_MODE_LIMIT);
	return 0;
}

int kr_load_raw(struct kr_vm *vm, const uint8_t *data, size_t size,
		const struct kr_load_options *opt, struct kr_image *img)
{
	uint64_t addr = opt->has_load_addr ? opt->load_addr : default_load_addr(vm);
	uint64_t entry = opt->has_entry ? opt->entry : addr;

	if (size == 0)
		return kr_err("raw image: the image is empty (0 bytes)");
	if (kr_load_check_range(vm, addr, size, "raw image") < 0)
		return -1;
	if (vm->cfg.mode == KR_MODE_REAL && check_real_mode(addr, size, entry) < 0)
		return -1;
	/*
	 * A raw image has no other code: an entry outside it would run zeroes
	 * (00 00 is `add [rax], al`, slid through for seconds) or fault. ELF
	 * refuses an entry outside its segments; so does this.
	 */
	if (entry < addr || entry - addr >= size)
		return kr_err("raw image: entry 0x%llx is outside the image loaded at "
			      "[0x%llx, 0x%llx)",
			      (unsigned long long)entry, (unsigned long long)addr,
			      (unsigned long long)(addr + size));

	uint8_t *dst = kr_gpa_ptr(vm, addr, size);
	if (!dst)
		return kr_err_context("raw image");
	memcpy(dst, data, size);

	memset(img, 0, sizeof(*img));
	img->is_elf = false;
	img->entry = entry;
	img->start = addr;
	img->end = addr + size; /* inside RAM, so no wrap */
	return 0;
}
