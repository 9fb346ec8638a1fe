/* SPDX-License-Identifier: MIT */
/*
 * fuzz_multiboot.c - the multiboot loader on hostile kernels.
 *
 * Input: the kernel file itself (so real multiboot kernels are the seeds;
 * at most 16 KiB is useful: the header lies in the first 8 KiB). Inputs
 * without the magic in their first 8 KiB are left to fuzz_elf and fuzz_raw.
 * Each is loaded into an 8 MiB fake VM in long mode (switched to protected
 * mode by the loader) with a command line and two modules.
 *
 * On success: the mode is protected; the entry lies in the image; the
 * image, the modules and the information are inside RAM, above 1 MiB,
 * clear of kvmrun's area; the information's pointers (command line,
 * module list, module strings and bytes, memory map) all lie inside RAM
 * and hold what was passed; the modules are page-aligned and do not
 * overlap the information. On failure: a message, the mode unchanged, no
 * PC devices.
 */
#include <string.h>

#include "devices/fwcfg.h"
#include "fuzz_common.h"
#include "loader/multiboot.h"

#define MEM (8ull << 20)

static const char cmdline[] = "kernel arg=1";
static const uint8_t mod0[] = "KEY=VALUE\n";
static const uint8_t mod1[] = {1, 2, 3};

static uint32_t rd32(struct kr_vm *vm, uint64_t gpa)
{
	uint32_t v;
	FUZZ_CHECK(gpa + 4 <= MEM, "read of 0x%llx outside RAM", (unsigned long long)gpa);
	memcpy(&v, vm->ram + gpa, 4);
	return v;
}

static bool inside(uint64_t a, uint64_t len)
{
	return a <= MEM && len <= MEM - a;
}

static void check_loaded(struct kr_vm *vm, const struct kr_image *img)
{
	FUZZ_CHECK(vm->cfg.mode == KR_MODE_PROTECTED, "mode %d", vm->cfg.mode);
	FUZZ_CHECK(img->multiboot, "not marked multiboot");
	FUZZ_CHECK(img->start >= 0x100000 && img->start < img->end && img->end <= MEM,
		   "image [0x%llx, 0x%llx)", (unsigned long long)img->start,
		   (unsigned long long)img->end);
	FUZZ_CHECK(img->entry >= img->start && img->entry < img->end, "entry 0x%llx",
		   (unsigned long long)img->entry);
	FUZZ_CHECK(kr_bus_find(vm, KR_SPACE_PIO, KR_FWCFG_PORT_SELECTOR, 2) != NULL,
		   "no PC devices");

	uint64_t info = img->multiboot_info;
	FUZZ_CHECK(inside(info, sizeof(struct multiboot_info)) && info >= img->start &&
		       info + sizeof(struct multiboot_info) <= img->end,
		   "information at 0x%llx", (unsigned long long)info);
	struct multiboot_info mi;
	memcpy(&mi, vm->ram + info, sizeof(mi));
	FUZZ_CHECK(mi.mem_lower == 640 && mi.mem_upper == (MEM - 0x100000) / 1024, "mem %u %u",
		   mi.mem_lower, mi.mem_upper);
	FUZZ_CHECK((mi.flags & MULTIBOOT_INFO_CMDLINE) && inside(mi.cmdline, sizeof(cmdline)) &&
		       memcmp(vm->ram + mi.cmdline, cmdline, sizeof(cmdline)) == 0,
		   "command line at 0x%x", mi.cmdline);
	FUZZ_CHECK(mi.mods_count == 2 && inside(mi.mods_addr, 32), "modules %u at 0x%x",
		   mi.mods_count, mi.mods_addr);
	const uint8_t *want[2] = {mod0, mod1};
	size_t len[2] = {sizeof(mod0) - 1, sizeof(mod1)};
	uint64_t prev_end = 0;
	for (int i = 0; i < 2; i++) {
		struct multiboot_module m;
		memcpy(&m, vm->ram + mi.mods_addr + 16 * i, sizeof(m));
		FUZZ_CHECK(!(m.mod_start & 0xfff) && m.mod_end - m.mod_start == len[i] &&
			       inside(m.mod_start, len[i]) && m.mod_start >= prev_end &&
			       m.mod_start >= 0x100000,
			   "module %d at [0x%x, 0x%x)", i, m.mod_start, m.mod_end);
		FUZZ_CHECK(memcmp(vm->ram + m.mod_start, want[i], len[i]) == 0, "module %d bytes", i);
		FUZZ_CHECK(m.mod_end <= info, "module %d overlaps the information", i);
		FUZZ_CHECK(inside(m.string, 5) && memcmp(vm->ram + m.string, i ? "mod1" : "mod0", 5) == 0,
			   "module %d string", i);
		prev_end = m.mod_end;
	}
	FUZZ_CHECK(mi.mmap_length % 24 == 0 && mi.mmap_length > 0 &&
		       inside(mi.mmap_addr, mi.mmap_length),
		   "memory map [0x%x, +0x%x)", mi.mmap_addr, mi.mmap_length);
	for (uint32_t off = 0; off < mi.mmap_length; off += 24)
		FUZZ_CHECK(rd32(vm, mi.mmap_addr + off) == 20, "map entry size");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off;
	if (!kr_multiboot_find(data, size, &off))
		return 0;
	struct kr_vm *vm = fuzz_vm(KR_MODE_LONG, MEM);
	/* fuzz_vm dropped the previous input's options with its modules. */
	if (kr_multiboot_set_cmdline(vm, cmdline) < 0 ||
	    kr_multiboot_add_module_buffer(vm, mod0, sizeof(mod0) - 1, "mod0") < 0 ||
	    kr_multiboot_add_module_buffer(vm, mod1, sizeof(mod1), "mod1") < 0)
		FUZZ_CHECK(false, "options: %s", kr_last_error());
	struct kr_image img;
	memset(&img, 0, sizeof(img));
	int ret = kr_load_buffer(vm, data, size, NULL, &img);
	fuzz_log("multiboot: %s", ret == 0 ? "loaded" : kr_last_error());
	if (ret == 0) {
		check_loaded(vm, &img);
		fuzz_ram_restore(vm, img.start, img.end - img.start);
		/* The PC devices came with it, and the MP table in the BIOS area. */
		fuzz_ram_restore(vm, 0xf0000, 0x10000);
	} else {
		FUZZ_CHECK(kr_last_error()[0] != '\0', "failed without a message");
		FUZZ_CHECK(vm->cfg.mode == KR_MODE_LONG, "a refused kernel changed the mode");
		FUZZ_CHECK(kr_bus_find(vm, KR_SPACE_PIO, KR_FWCFG_PORT_SELECTOR, 2) == NULL,
			   "a refused kernel got the PC devices");
		/* A refusal after the image was copied may leave bytes: put the fill back. */
		fuzz_ram_restore(vm, 0x100000, MEM - 0x100000);
	}
	return 0;
}
