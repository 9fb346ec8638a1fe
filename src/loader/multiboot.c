/* SPDX-License-Identifier: MIT */
/*
 * multiboot.c - Multiboot v1 kernels ("The Multiboot Specification version
 * 0.6.96"), as GRUB and QEMU's -kernel load them: the test kernels KVM is
 * tested with (kvm-unit-tests) and hobby kernels.
 *
 * kr_load_buffer asks kr_multiboot_find first: the header is the magic at a
 * 4-byte aligned offset in the first 8 KiB. The first magic found decides;
 * a bad checksum there is refused (a kernel with a broken header is not run
 * as a plain image, and QEMU would not boot it either).
 *
 * Then, in this order, everything from the file checked before the first
 * write: the header (checksum, flags, the address fields of bit 16), the
 * image (the a.out-kludge addresses, or the ELF loader with segments only at
 * or above 1 MiB); then modules and the information block are laid out
 * page-aligned after the image and checked against RAM before either is
 * written. A failure there leaves the image in RAM, in a VM that is refused
 * to run (kr_load_* failed).
 *
 * Memory kvmrun gives the kernel:
 *   [0, 0x10000)         available
 *   [0x10000, 0x80000)   reserved: kvmrun's system area (GDT, IDT, stubs)
 *   [0x80000, 0xA0000)   available
 *   [0xA0000, 0x100000)  reserved: the PC's hole (VGA, ROMs), by convention
 *   [0x100000, RAM end)  available: the image, the modules, the information
 * mem_lower is 640 (KiB of conventional memory, as on a PC and QEMU; the
 * map says which part is kvmrun's), mem_upper the KiB from 1 MiB to the end
 * of RAM.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bounds.h"
#include "core/error.h"
#include "core/vm.h"
#include "loader/loader.h"
#include "loader/multiboot.h"
#include "x86/board.h"

#define MB_LOW_LIMIT 0x100000ull /* images load at or above 1 MiB */
#define MB_PAGE 0x1000ull
#define MB_LOWER_KIB 640
#define MB_HOLE_START 0xA0000ull
#define MB_LOADER_NAME "kvmrun"
#define MB_NMAP 5

/* What the caller set for the next multiboot kernel (a module of the VM). */
struct mb_module_data {
	uint8_t *data;
	size_t size;
	char *string;
};

struct mb_options {
	char *cmdline; /* NULL: none */
	size_t nmods;
	struct mb_module_data mods[KR_MULTIBOOT_MAX_MODULES];
};

static void options_destroy(struct kr_vm *vm, void *opaque)
{
	(void)vm;
	struct mb_options *o = opaque;
	free(o->cmdline);
	for (size_t i = 0; i < o->nmods; i++) {
		free(o->mods[i].data);
		free(o->mods[i].string);
	}
	free(o);
}

static const struct kr_hooks options_hooks = {.name = "multiboot options",
					      .on_destroy = options_destroy};

static struct mb_options *options(struct kr_vm *vm, bool create)
{
	struct mb_options *o = kr_vm_module(vm, &options_hooks);
	if (o || !create)
		return o;
	o = calloc(1, sizeof(*o));
	if (!o) {
		kr_err_sys("multiboot: calloc(%zu)", sizeof(*o));
		return NULL;
	}
	if (kr_vm_add_module(vm, &options_hooks, o) < 0) {
		free(o);
		return NULL;
	}
	return o;
}

static int check_string(const char *s, const char *what)
{
	size_t n = strnlen(s, KR_MULTIBOOT_MAX_STRING);
	if (n == KR_MULTIBOOT_MAX_STRING)
		return kr_err_code(KR_E_BAD_ARG, "multiboot: the %s is longer than %d bytes", what,
				   KR_MULTIBOOT_MAX_STRING - 1);
	return 0;
}

int kr_multiboot_set_cmdline(struct kr_vm *vm, const char *cmdline)
{
	if (!vm)
		return kr_err_code(KR_E_BAD_ARG, "multiboot: kr_multiboot_set_cmdline needs a VM");
	if (cmdline && check_string(cmdline, "command line") < 0)
		return -1;
	struct mb_options *o = options(vm, true);
	if (!o)
		return -1;
	char *copy = NULL;
	if (cmdline && !(copy = strdup(cmdline)))
		return kr_err_sys("multiboot: strdup of the command line");
	free(o->cmdline);
	o->cmdline = copy;
	return 0;
}

int kr_multiboot_add_module_buffer(struct kr_vm *vm, const void *data, size_t size,
				   const char *string)
{
	if (!vm || !string || (!data && size))
		return kr_err_code(KR_E_BAD_ARG, "multiboot: a module needs a VM, data and a string");
	if (check_string(string, "module string") < 0)
		return -1;
	struct mb_options *o = options(vm, true);
	if (!o)
		return -1;
	if (o->nmods == KR_MULTIBOOT_MAX_MODULES)
		return kr_err_code(KR_E_BAD_ARG, "multiboot: more than %d modules",
				   KR_MULTIBOOT_MAX_MODULES);
	if (size > vm->cfg.mem_size)
		return kr_err_code(KR_E_BAD_ARG,
				   "multiboot: module \"%s\" is 0x%zx bytes, larger than guest RAM",
				   string, size);
	struct mb_module_data m = {.size = size};
	m.data = malloc(size ? size : 1);
	m.string = strdup(string);
	if (!m.data || !m.string) {
		free(m.data);
		free(m.string);
		return kr_err_sys("multiboot: memory for module \"%s\" (%zu bytes)", string, size);
	}
	if (size)
		memcpy(m.data, data, size);
	o->mods[o->nmods++] = m;
	return 0;
}

int kr_multiboot_add_module(struct kr_vm *vm, const char *path, const char *string)
{
	if (!vm || !path)
		return kr_err_code(KR_E_BAD_ARG, "multiboot: kr_multiboot_add_module needs a VM and "
						 "a path");
	uint8_t *buf;
	size_t size;
	if (kr_load_read_file(vm, path, &buf, &size) < 0)
		return kr_err_context("multiboot: module");
	int ret = kr_multiboot_add_module_buffer(vm, buf, size, string ? string : path);
	free(buf);
	return ret;
}

int kr_multiboot_probe_file(const char *path)
{
	if (!path)
		return kr_err_code(KR_E_BAD_ARG, "multiboot: kr_multiboot_probe_file needs a path");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kr_err_sys("multiboot: open %s", path);
	uint8_t head[MULTIBOOT_SEARCH];
	size_t n = 0;
	while (n < sizeof(head)) {
		ssize_t r = read(fd, head + n, sizeof(head) - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return kr_err_sys("multiboot: read %s (first %zu bytes)", path, sizeof(head));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	size_t offset;
	return kr_multiboot_find(head, n, &offset);
}

/* ---- the header ------------------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int kr_multiboot_find(const uint8_t *data, size_t size, size_t *offset)
{
	size_t end = size < MULTIBOOT_SEARCH ? size : MULTIBOOT_SEARCH;
	for (size_t off = 0; off + 4 <= end; off += MULTIBOOT_HEADER_ALIGN) {
		if (le32(data + off) == MULTIBOOT_HEADER_MAGIC) {
			*offset = off;
			return 1;
		}
	}
	return 0;
}

/* The header at `off`: as many of its words as its flags make valid, checked. */
static int read_header(const uint8_t *data, size_t size, size_t off, struct multiboot_header *h)
{
	/* The spec: the header lies wholly in the first 8 KiB; and the file must hold it. */
	size_t avail = (size < MULTIBOOT_SEARCH ? size : MULTIBOOT_SEARCH) - off;
	memset(h, 0, sizeof(*h));
	if (avail < 12)
		return kr_err("multiboot: header at offset 0x%zx is truncated: %zu bytes of the "
			      "first 8 KiB (and of the 0x%zx-byte file) left, 12 needed for "
			      "magic, flags and checksum",
			      off, avail, size);
	memcpy(h, kr_span(data, size, off, 12), 12);
	uint32_t sum = h->magic + h->flags + h->checksum;
	if (sum != 0)
		return kr_err("multiboot: header at offset 0x%zx: bad checksum 0x%08x (magic "
			      "0x%08x + flags 0x%08x + checksum must be 0 mod 2^32, the sum is "
			      "0x%08x)",
			      off, h->checksum, h->magic, h->flags, sum);
	uint32_t unknown = h->flags & MULTIBOOT_REQUIRED_MASK &
			   ~(MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | MULTIBOOT_VIDEO_MODE);
	if (unknown)
		return kr_err("multiboot: header flags 0x%08x require features the spec does not "
			      "define (bits 0x%04x of the low 16): refused, as the spec asks",
			      h->flags, unknown);
	if (h->flags & MULTIBOOT_VIDEO_MODE)
		return kr_err("multiboot: header flags 0x%08x require a video mode (bit 2); "
			      "kvmrun has no display, so it cannot give the kernel one",
			      h->flags);
	if (h->flags & MULTIBOOT_AOUT_KLUDGE) {
		if (avail < 32)
			return kr_err("multiboot: header at offset 0x%zx is truncated: flags bit 16 "
				      "(address fields) needs 32 bytes, %zu left in the first 8 KiB "
				      "and the file",
				      off, avail);
		memcpy(h, kr_span(data, size, off, 32), 32);
	}
	return 0;
}

/* ---- the image -------------------------------------------------------------- */

/* Flags bit 16: the address fields say what of the file goes where. */
static int load_aout(struct kr_vm *vm, const uint8_t *data, size_t size, size_t off,
		     const struct multiboot_header *h, struct kr_image *img)
{
	unsigned long long header_addr = h->header_addr, load = h->load_addr,
			   load_end = h->load_end_addr, bss_end = h->bss_end_addr,
			   entry = h->entry_addr;

	if (load > header_addr)
		return kr_err("multiboot: load_addr 0x%llx is above header_addr 0x%llx: the "
			      "header would lie before the loaded text",
			      load, header_addr);
	if (header_addr - load > off)
		return kr_err("multiboot: header_addr 0x%llx - load_addr 0x%llx = 0x%llx, but the "
			      "header is at file offset 0x%zx: the text would start before the "
			      "file",
			      header_addr, load, header_addr - load, off);
	size_t file_start = off - (size_t)(header_addr - load);
	if (load < MB_LOW_LIMIT)
		return kr_err("multiboot: load_addr 0x%llx is below 1 MiB (0x%llx): low memory "
			      "holds kvmrun's system area [0x%x, 0x%x) and the PC's hole",
			      load, MB_LOW_LIMIT, KVMRUN_SYSTEM_AREA_START,
			      KVMRUN_SYSTEM_AREA_END);
	if (load_end == 0) {
		load_end = load + (size - file_start); /* load < 4 GiB, size <= RAM: no wrap */
	} else {
		if (load_end <= load)
			return kr_err("multiboot: load_end_addr 0x%llx is not above load_addr "
				      "0x%llx",
				      load_end, load);
		if (load_end - load > size - file_start)
			return kr_err("multiboot: load_addr 0x%llx to load_end_addr 0x%llx is "
				      "0x%llx bytes, but the file has 0x%zx from offset 0x%zx",
				      load, load_end, load_end - load, size - file_start,
				      file_start);
	}
	if (bss_end == 0)
		bss_end = load_end;
	else if (bss_end < load_end)
		return kr_err("multiboot: bss_end_addr 0x%llx is below load_end_addr 0x%llx",
			      bss_end, load_end);
	if (entry < load || entry >= load_end)
		return kr_err("multiboot: entry_addr 0x%llx is outside the loaded text and data "
			      "[0x%llx, 0x%llx)",
			      entry, load, load_end);
	if (kr_load_check_range(vm, load, bss_end - load, "multiboot: the kernel") < 0)
		return -1;

	uint8_t *dst = kr_gpa_ptr(vm, load, bss_end - load);
	const uint8_t *src = kr_span(data, size, file_start, load_end - load);
	if (!dst || !src)
		return kr_err_context("multiboot: the kernel");
	memcpy(dst, src, load_end - load);
	memset(dst + (load_end - load), 0, bss_end - load_end);
	memset(img, 0, sizeof(*img));
	img->entry = entry;
	img->start = load;
	img->end = bss_end;
	return 0;
}

/* Without bit 16 the file must be an ELF32 executable: its segments, at or above 1 MiB. */
static int load_elf(struct kr_vm *vm, const uint8_t *data, size_t size,
		    const struct kr_load_options *opt, struct kr_image *img)
{
	if (size <= EI_CLASS || memcmp(data, ELFMAG, SELFMAG) != 0)
		return kr_err("multiboot: the header has no address fields (flags bit 16 clear), so "
			      "the kernel must be an ELF file, and this one is not");
	if (data[EI_CLASS] != ELFCLASS32)
		return kr_err("multiboot: without address fields (flags bit 16) the kernel must be "
			      "a 32-bit ELF file (ELFCLASS32); e_ident[EI_CLASS] is %u",
			      data[EI_CLASS]);
	if (kr_load_elf_above(vm, data, size, opt, MB_LOW_LIMIT, img) < 0)
		return kr_err_context("multiboot");
	return 0;
}

/* ---- modules and the information ------------------------------------------ */

static uint64_t page_up(uint64_t x)
{
	return (x + MB_PAGE - 1) & ~(MB_PAGE - 1);
}

/* The memory map (see the top of this file); returns how many entries. */
static size_t memory_map(uint64_t ram, struct multiboot_mmap_entry *e)
{
	static const struct {
		uint64_t start, end;
		uint32_t type;
	} fixed[] = {
		{0, KVMRUN_SYSTEM_AREA_START, MULTIBOOT_MEMORY_AVAILABLE},
		{KVMRUN_SYSTEM_AREA_START, KVMRUN_SYSTEM_AREA_END, MULTIBOOT_MEMORY_RESERVED},
		{KVMRUN_SYSTEM_AREA_END, MB_HOLE_START, MULTIBOOT_MEMORY_AVAILABLE},
		{MB_HOLE_START, MB_LOW_LIMIT, MULTIBOOT_MEMORY_RESERVED},
	};
	size_t n = 0;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		e[n++] = (struct multiboot_mmap_entry){.size = 20, .addr = fixed[i].start,
						       .len = fixed[i].end - fixed[i].start,
						       .type = fixed[i].type};
	/* RAM is at least KR_MEM_MIN (2 MiB), so above 1 MiB there is some. */
	e[n++] = (struct multiboot_mmap_entry){.size = 20, .addr = MB_LOW_LIMIT,
					       .len = ram - MB_LOW_LIMIT,
					       .type = MULTIBOOT_MEMORY_AVAILABLE};
	return n;
}

/*
 * After the image: each module on a page of its own, then one block with
 * the information structure, the module list, the memory map and the
 * strings. Checked against RAM as a whole, then written.
 */
static int place_boot_info(struct kr_vm *vm, struct kr_image *img)
{
	static const struct mb_options none;
	const struct mb_options *o = options(vm, false);
	if (!o)
		o = &none;
	uint64_t ram = vm->cfg.mem_size;
	uint64_t at = page_up(img->end);
	uint64_t mod_start[KR_MULTIBOOT_MAX_MODULES];

	/* Modules: sizes are at most RAM each and there are at most 32: no overflow. */
	for (size_t i = 0; i < o->nmods; i++) {
		mod_start[i] = at;
		at = page_up(at + o->mods[i].size);
	}
	uint64_t mods_end = at;
	/* The information block: the structure, the module list, the map, the strings. */
	uint64_t info = at;
	uint64_t mods_addr = info + sizeof(struct multiboot_info);
	uint64_t mmap_addr = mods_addr + o->nmods * sizeof(struct multiboot_module);
	uint64_t strings = mmap_addr + MB_NMAP * sizeof(struct multiboot_mmap_entry);
	uint64_t strings_len = sizeof(MB_LOADER_NAME) + (o->cmdline ? strlen(o->cmdline) + 1 : 0);
	for (size_t i = 0; i < o->nmods; i++)
		strings_len += strlen(o->mods[i].string) + 1;
	uint64_t block_len = strings + strings_len - info;
	if (!kr_range_ok(img->end, at - img->end + block_len, ram))
		return kr_err("multiboot: the %zu module%s and the boot information (0x%llx bytes "
			      "from 0x%llx, the end of the kernel, to 0x%llx) do not fit in guest "
			      "RAM (0x%llx bytes)",
			      o->nmods, o->nmods == 1 ? "" : "s", (unsigned long long)(mods_end - img->end + block_len),
			      (unsigned long long)img->end, (unsigned long long)(info + block_len),
			      (unsigned long long)ram);

	for (size_t i = 0; i < o->nmods; i++) {
		uint8_t *dst = kr_gpa_ptr(vm, mod_start[i], o->mods[i].size ? o->mods[i].size : 1);
		if (!dst)
			return kr_err_context("multiboot: module %zu", i);
		if (o->mods[i].size)
			memcpy(dst, o->mods[i].data, o->mods[i].size);
	}
	uint8_t *block = kr_gpa_ptr(vm, info, block_len);
	if (!block)
		return kr_err_context("multiboot: boot information");
	memset(block, 0, block_len);

	/* Everything below RAM (at most 3 GiB): the 32-bit fields hold it. */
	struct multiboot_info mi = {0};
	uint64_t str = strings;
#define PUT_STRING(s, field)                                                                       \
	do {                                                                                       \
		size_t len_ = strlen(s) + 1;                                                       \
		memcpy(block + (str - info), (s), len_);                                           \
		(field) = (uint32_t)str;                                                           \
		str += len_;                                                                       \
	} while (0)
	mi.flags = MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_MEM_MAP | MULTIBOOT_INFO_MODS |
		   MULTIBOOT_INFO_BOOT_LOADER_NAME;
	mi.mem_lower = MB_LOWER_KIB;
	mi.mem_upper = (uint32_t)((ram - MB_LOW_LIMIT) >> 10);
	PUT_STRING(MB_LOADER_NAME, mi.boot_loader_name);
	if (o->cmdline) {
		mi.flags |= MULTIBOOT_INFO_CMDLINE;
		PUT_STRING(o->cmdline, mi.cmdline);
	}
	mi.mods_count = (uint32_t)o->nmods;
	mi.mods_addr = (uint32_t)mods_addr;
	for (size_t i = 0; i < o->nmods; i++) {
		struct multiboot_module m = {.mod_start = (uint32_t)mod_start[i],
					     .mod_end = (uint32_t)(mod_start[i] + o->mods[i].size)};
		PUT_STRING(o->mods[i].string, m.string);
		memcpy(block + (mods_addr - info) + i * sizeof(m), &m, sizeof(m));
	}
#undef PUT_STRING
	struct multiboot_mmap_entry map[MB_NMAP];
	size_t nmap = memory_map(ram, map);
	mi.mmap_addr = (uint32_t)mmap_addr;
	mi.mmap_length = (uint32_t)(nmap * sizeof(map[0]));
	memcpy(block + (mmap_addr - info), map, nmap * sizeof(map[0]));
	memcpy(block, &mi, sizeof(mi));

	img->multiboot = true;
	img->multiboot_info = (uint32_t)info;
	/* The guest's first free byte (RSI by kvmrun's ABI) is past all of it. */
	img->end = info + block_len;
	return 0;
}

int kr_load_multiboot(struct kr_vm *vm, const uint8_t *data, size_t size, size_t header_offset,
		      const struct kr_load_options *opt, struct kr_image *img)
{
	struct multiboot_header h;
	struct kr_image out;

	if (read_header(data, size, header_offset, &h) < 0)
		return -1;
	if (opt->has_load_addr || opt->has_entry)
		return kr_err("multiboot: a load address or entry (kr_load_options) is refused: a "
			      "multiboot kernel's header or ELF headers say where it loads and "
			      "starts");
	/* The Multiboot machine state is 32-bit protected mode without paging. */
	if (vm->cfg.mode == KR_MODE_REAL || vm->cfg.mode == KR_MODE_PAGED32)
		return kr_err("multiboot: a multiboot kernel starts in 32-bit protected mode "
			      "without paging, but the VM is in %s mode",
			      kr_mode_name(vm->cfg.mode));
	enum kr_mode mode = vm->cfg.mode;
	vm->cfg.mode = KR_MODE_PROTECTED;
	int ret = (h.flags & MULTIBOOT_AOUT_KLUDGE) ?
			  load_aout(vm, data, size, header_offset, &h, &out) :
			  load_elf(vm, data, size, opt, &out);
	if (ret == 0)
		ret = place_boot_info(vm, &out);
	if (ret == 0)
		ret = kr_board_add_pc_devices(vm);
	if (ret < 0) {
		vm->cfg.mode = mode;
		return -1;
	}
	*img = out;
	return 0;
}
