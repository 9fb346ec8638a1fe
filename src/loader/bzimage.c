/* SPDX-License-Identifier: MIT */
/*
 * bzimage.c - the Linux x86 boot protocol (Documentation/arch/x86/boot.rst),
 * for a bzImage entered at its 64-bit entry point.
 *
 * The file is a real-mode setup part ((setup_sects + 1) sectors, with the
 * setup header at 0x1f1) followed by the protected-mode kernel. kvmrun runs
 * no real-mode code: it does what the setup code would have done (the zero
 * page: struct boot_params with the header, an e820 map, the command line
 * and initrd addresses) and enters the protected-mode kernel at +0x200 in
 * long mode, RSI pointing at the zero page. That entry exists from protocol
 * 2.06... and is promised by XLF_KERNEL_64; the kernel must be relocatable,
 * since kvmrun loads it at 1 MiB and lets it move itself up to
 * pref_address, where it needs init_size bytes.
 *
 * Every header field is read through kr_span (bounds-checked against the
 * file), and everything is checked before the first byte is written to
 * guest memory, through kr_gpa_ptr.
 */
#include <asm/bootparam.h>
#include <asm/e820.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/bounds.h"
#include "core/error.h"
#include "core/vm.h"
#include "loader/bzimage.h"
#include "loader/loader.h"
#include "x86/x86.h"

#define HDR_OFF 0x1f1 /* the setup header's place in the file and in boot_params */
#define SECTOR 512u
#define HDRS_MAGIC 0x53726448u /* "HdrS" */
#define BOOT_FLAG 0xaa55u
#define MIN_PROTOCOL 0x0206u /* cmdline_size, the 64-bit entry's ground rules */
#define ENTRY_64_OFFSET 0x200u

/* A little-endian field of the file at the setup header's offset `off`, or fail. */
static int field(const uint8_t *data, size_t size, size_t off, size_t len, uint64_t *v,
		 const char *name)
{
	const uint8_t *p = kr_span(data, size, off, len);
	if (!p)
		return kr_err("bzImage: the file (%zu bytes) ends before the header field %s at "
			      "0x%zx", size, name, off);
	*v = 0;
	for (size_t i = len; i-- > 0;)
		*v = (*v << 8) | p[i];
	return 0;
}

#define FIELD(name, v)                                                                      \
	field(data, size, offsetof(struct boot_params, hdr.name),                          \
	      sizeof(((struct boot_params *)0)->hdr.name), &(v), #name)

int kr_bzimage_parse(const uint8_t *data, size_t size, struct kr_bzimage *bz)
{
	uint64_t boot_flag = 0, header = 0, version = 0, setup_sects = 0, loadflags = 0;
	uint64_t relocatable = 0, xloadflags = 0;
	uint64_t syssize = 0, init_size = 0, align = 0, pref = 0, cmdline_size = 0;
	uint64_t initrd_max = 0, jump = 0;
	memset(bz, 0, sizeof(*bz));
	if (!data)
		return kr_err("bzImage: no data");
	if (FIELD(boot_flag, boot_flag) < 0 || FIELD(header, header) < 0)
		return -1;
	if (boot_flag != BOOT_FLAG || header != HDRS_MAGIC)
		return kr_err("bzImage: no Linux boot header (boot_flag 0x%04llx, header 0x%08llx; "
			      "want 0xaa55 and \"HdrS\")",
			      (unsigned long long)boot_flag, (unsigned long long)header);
	if (FIELD(version, version) < 0)
		return -1;
	if (version < MIN_PROTOCOL)
		return kr_err("bzImage: boot protocol %llu.%02llu is older than 2.06 (kernels "
			      "before 2.6.22): no 64-bit boot",
			      (unsigned long long)(version >> 8), (unsigned long long)(version & 0xff));
	/* From 2.06 on every field below exists; the file must still hold them. */
	if (FIELD(setup_sects, setup_sects) < 0 || FIELD(loadflags, loadflags) < 0 ||
	    FIELD(relocatable_kernel, relocatable) < 0 || FIELD(syssize, syssize) < 0 ||
	    FIELD(kernel_alignment, align) < 0 || FIELD(cmdline_size, cmdline_size) < 0 ||
	    FIELD(initrd_addr_max, initrd_max) < 0 || FIELD(jump, jump) < 0)
		return -1;
	/* xloadflags (2.12), pref_address and init_size (2.10): zero before them. */
	xloadflags = pref = init_size = 0;
	if (version >= 0x020a && (FIELD(pref_address, pref) < 0 || FIELD(init_size, init_size) < 0))
		return -1;
	if (version >= 0x020c && FIELD(xloadflags, xloadflags) < 0)
		return -1;
	if (!(xloadflags & XLF_KERNEL_64))
		return kr_err("bzImage: no 64-bit entry point (xloadflags 0x%llx lacks "
			      "XLF_KERNEL_64; protocol %llu.%02llu)",
			      (unsigned long long)xloadflags, (unsigned long long)(version >> 8),
			      (unsigned long long)(version & 0xff));
	if (!(loadflags & LOADED_HIGH))
		return kr_err("bzImage: a zImage (loadflags 0x%llx lacks LOADED_HIGH): not supported",
			      (unsigned long long)loadflags);
	if (!relocatable)
		return kr_err("bzImage: the kernel is not relocatable (relocatable_kernel 0)");
	if (align == 0 || (align & (align - 1)) || align > (1u << 30))
		return kr_err("bzImage: kernel_alignment 0x%llx is not a power of two up to 1 GiB",
			      (unsigned long long)align);
	/* The header runs from 0x1f1 to the end of the jump at 0x200 (its second byte: a length). */
	uint64_t hdr_end = offsetof(struct boot_params, hdr.jump) + 2 + (jump >> 8);
	if (hdr_end > size)
		return kr_err("bzImage: the setup header ends at 0x%llx, past the file's end (%zu "
			      "bytes)", (unsigned long long)hdr_end, size);
	bz->header_len = (size_t)(hdr_end - HDR_OFF);
	if (bz->header_len > sizeof(struct setup_header))
		bz->header_len = sizeof(struct setup_header);
	/* setup_sects 0 means 4 (boot protocol). */
	uint64_t sects = setup_sects ? setup_sects : 4;
	bz->setup_size = (size_t)((sects + 1) * SECTOR);
	if (bz->setup_size > size || bz->setup_size < hdr_end)
		return kr_err("bzImage: %llu setup sectors (0x%zx bytes) do not fit the file (%zu "
			      "bytes) and its header", (unsigned long long)sects, bz->setup_size,
			      size);
	uint64_t kernel = syssize * 16;
	if (kernel == 0 || !kr_range_ok(bz->setup_size, kernel, size))
		return kr_err("bzImage: the protected-mode kernel (syssize %llu: 0x%llx bytes at "
			      "0x%zx) does not fit the file (%zu bytes): truncated?",
			      (unsigned long long)syssize, (unsigned long long)kernel,
			      bz->setup_size, size);
	bz->kernel_size = (size_t)kernel;
	bz->version = (uint16_t)version;
	bz->init_size = (uint32_t)init_size;
	bz->kernel_alignment = (uint32_t)align;
	bz->pref_address = pref;
	bz->cmdline_size = (uint32_t)cmdline_size;
	bz->initrd_addr_max = (uint32_t)initrd_max;
	return 0;
}

/* ---- the zero page -------------------------------------------------------------- */

static void e820_add(struct boot_params *bp, uint64_t addr, uint64_t end, uint32_t type)
{
	if (end <= addr || bp->e820_entries >= E820_MAX_ENTRIES_ZEROPAGE)
		return;
	struct boot_e820_entry *e = &bp->e820_table[bp->e820_entries++];
	e->addr = addr;
	e->size = end - addr;
	e->type = type;
}

/*
 * RAM, less kvmrun's system area (its GDT, page tables and the exception
 * stubs the kernel runs on until it has its own) and the legacy hole from
 * 640 KiB to 1 MiB (no VGA or BIOS here, but a kernel expects nothing usable
 * there); the slots added with kr_mem_add are reserved: their owner decides.
 */
static void build_e820(const struct kr_vm *vm, struct boot_params *bp)
{
	uint64_t ram = vm->cfg.mem_size; /* at least 2 MiB: checked by kr_vm_create */
	e820_add(bp, 0, KVMRUN_SYSTEM_AREA_START, E820_RAM);
	e820_add(bp, KVMRUN_SYSTEM_AREA_START, KVMRUN_SYSTEM_AREA_END, E820_RESERVED);
	e820_add(bp, KVMRUN_SYSTEM_AREA_END, 0xa0000, E820_RAM);
	e820_add(bp, 0xf0000, 0x100000, E820_RESERVED);
	e820_add(bp, 0x100000, ram, E820_RAM);
	for (int i = 1; i < KR_MAX_SLOTS; i++)
		if (vm->slots[i].used && vm->slots[i].size)
			e820_add(bp, vm->slots[i].gpa, vm->slots[i].gpa + vm->slots[i].size,
				 E820_RESERVED);
}

static int copy_in(struct kr_vm *vm, uint64_t gpa, const void *src, size_t len, const char *what)
{
	void *dst = kr_gpa_ptr(vm, gpa, len);
	if (!dst)
		return kr_err_context("bzImage: %s at 0x%llx (0x%zx bytes)", what,
				      (unsigned long long)gpa, len);
	memcpy(dst, src, len);
	return 0;
}

int kr_linux_load(struct kr_vm *vm, const void *kernel, size_t kernel_size, const void *initrd,
		  size_t initrd_size, const char *cmdline, struct kr_image *img,
		  struct kr_linux_info *info)
{
	if (!vm || !kernel || !img || !info || (initrd_size && !initrd))
		return kr_err_code(KR_E_BAD_ARG, "bzImage: kr_linux_load needs a VM, a kernel, an "
						 "image and an info (got NULL)");
	memset(info, 0, sizeof(*info));
	if (vm->cfg.mode != KR_MODE_LONG)
		return kr_err_code(KR_E_BAD_ARG, "bzImage: the VM is in %s mode; the 64-bit boot "
						 "protocol needs long mode", kr_mode_name(vm->cfg.mode));
	struct kr_bzimage bz;
	if (kr_bzimage_parse(kernel, kernel_size, &bz) < 0)
		return kr_err_refine(KR_E_BAD_IMAGE);
	if (!cmdline)
		cmdline = "";
	size_t cmd_len = strlen(cmdline);
	uint64_t cmd_room = KVMRUN_SYSTEM_AREA_START - KR_LINUX_CMDLINE - 1;
	if (cmd_len > bz.cmdline_size || cmd_len > cmd_room)
		return kr_err_code(KR_E_BAD_ARG, "bzImage: the command line is %zu bytes; this "
						 "kernel takes at most %u",
				   cmd_len, bz.cmdline_size < cmd_room ? bz.cmdline_size : (unsigned)cmd_room);

	/* Where the kernel will run and how much it needs there: it moves itself up to pref_address. */
	uint64_t ram = vm->cfg.mem_size;
	uint64_t run_at = KR_ALIGN_UP((uint64_t)KR_LINUX_KERNEL, bz.kernel_alignment);
	if (bz.pref_address > run_at)
		run_at = bz.pref_address;
	uint64_t need = run_at + (bz.init_size > bz.kernel_size ? bz.init_size : bz.kernel_size);
	if (need > ram || KR_LINUX_KERNEL + bz.kernel_size > ram)
		return kr_err_code(KR_E_BAD_IMAGE, "bzImage: the kernel needs RAM up to 0x%llx "
						   "(%llu MiB: it runs at 0x%llx and needs 0x%x bytes "
						   "there), but the VM has %llu MiB",
				   (unsigned long long)need, (unsigned long long)((need + (1u << 20) - 1) >> 20),
				   (unsigned long long)run_at, bz.init_size,
				   (unsigned long long)(ram >> 20));

	/* The initrd: as high as RAM and initrd_addr_max allow, page-aligned, above the kernel. */
	uint64_t initrd_gpa = 0;
	if (initrd_size) {
		uint64_t top = ram;
		if ((uint64_t)bz.initrd_addr_max + 1 < top)
			top = (uint64_t)bz.initrd_addr_max + 1;
		if (initrd_size > top || KR_ALIGN_DOWN(top - initrd_size, KR_PAGE_4K) < need)
			return kr_err_code(KR_E_BAD_IMAGE, "bzImage: the initrd (%zu bytes) does not fit "
							   "between the kernel's end 0x%llx and 0x%llx "
							   "(RAM or initrd_addr_max): give the VM more memory",
					   initrd_size, (unsigned long long)need,
					   (unsigned long long)top);
		initrd_gpa = KR_ALIGN_DOWN(top - initrd_size, KR_PAGE_4K);
	}

	/* The zero page: the file's setup header, then what the setup code would fill in. */
	struct boot_params *bp = calloc(1, sizeof(*bp));
	if (!bp)
		return kr_err_sys("bzImage: calloc(%zu) for the zero page", sizeof(*bp));
	memcpy((uint8_t *)bp + HDR_OFF, (const uint8_t *)kernel + HDR_OFF, bz.header_len);
	bp->hdr.type_of_loader = 0xff; /* "undefined": no registered boot loader ID */
	bp->hdr.loadflags |= CAN_USE_HEAP;
	bp->hdr.loadflags &= (uint8_t)~KEEP_SEGMENTS;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.code32_start = KR_LINUX_KERNEL;
	bp->hdr.cmd_line_ptr = KR_LINUX_CMDLINE;
	bp->hdr.ramdisk_image = (uint32_t)initrd_gpa;
	bp->hdr.ramdisk_size = (uint32_t)initrd_size;
	build_e820(vm, bp);

	int rc = copy_in(vm, KR_LINUX_KERNEL, (const uint8_t *)kernel + bz.setup_size, bz.kernel_size,
			 "the protected-mode kernel");
	if (rc == 0)
		rc = copy_in(vm, KR_LINUX_CMDLINE, cmdline, cmd_len + 1, "the command line");
	if (rc == 0 && initrd_size)
		rc = copy_in(vm, initrd_gpa, initrd, initrd_size, "the initrd");
	if (rc == 0)
		rc = copy_in(vm, KR_LINUX_ZERO_PAGE, bp, sizeof(*bp), "the zero page");
	info->e820_entries = bp->e820_entries;
	free(bp);
	if (rc < 0)
		return -1;

	/*
	 * The image for kr_vcpu_prepare: the kernel's bytes, and all of RAM
	 * mapped read-write-executable: the kernel moves itself and runs a
	 * trampoline below 1 MiB before it builds its own page tables.
	 */
	memset(img, 0, sizeof(*img));
	img->entry = KR_LINUX_KERNEL + ENTRY_64_OFFSET;
	img->start = KR_LINUX_KERNEL;
	img->end = KR_LINUX_KERNEL + bz.kernel_size;
	img->nsegments = 1;
	img->segments[0] = (struct kr_mapping){.gva = 0, .gpa = 0, .size = ram,
					       .flags = KR_MAP_WRITE | KR_MAP_EXEC};
	info->protocol = bz.version;
	info->kernel_end = need;
	info->initrd_gpa = initrd_gpa;
	info->initrd_size = initrd_size;
	return 0;
}

int kr_linux_load_files(struct kr_vm *vm, const char *kernel_path, const char *initrd_path,
			const char *cmdline, struct kr_image *img, struct kr_linux_info *info)
{
	if (!vm || !kernel_path)
		return kr_err_code(KR_E_BAD_ARG, "bzImage: kr_linux_load_files needs a VM and a "
						 "kernel path (got NULL)");
	uint8_t *k = NULL, *i = NULL;
	size_t ks = 0, is = 0;
	if (kr_load_read_file(vm, kernel_path, &k, &ks) < 0)
		return kr_err_refine(KR_E_BAD_IMAGE);
	if (initrd_path && kr_load_read_file(vm, initrd_path, &i, &is) < 0) {
		free(k);
		return kr_err_context("initrd");
	}
	int rc = kr_linux_load(vm, k, ks, i, is, cmdline, img, info);
	if (rc < 0)
		kr_err_context("load \"%s\"", kernel_path);
	free(k);
	free(i);
	return rc;
}

int kr_linux_prepare(struct kr_vm *vm, const struct kr_image *img)
{
	if (kr_vcpu_prepare(vm, img) < 0)
		return -1;
	struct kvm_regs regs;
	if (kr_vcpu_get_regs(vm, &regs) < 0)
		return -1;
	/* The 64-bit boot protocol: RSI = the zero page, interrupts off; the rest is the kernel's. */
	memset(&regs, 0, sizeof(regs));
	regs.rip = img->entry;
	regs.rsi = KR_LINUX_ZERO_PAGE;
	regs.rflags = 0x2;
	return kr_vcpu_set_regs(vm, &regs);
}
