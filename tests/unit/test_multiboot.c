/* SPDX-License-Identifier: MIT */
/*
 * test_multiboot.c - the multiboot loader on hand-made kernels: the a.out
 * kludge, the boot information it writes, and every malformed header it
 * must refuse (with the reason in the message).
 */
#include <elf.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/fwcfg.h"
#include "loader/multiboot.h"
#include "unit.h"

#define MEM (8u << 20)
#define LOAD 0x200000u

/* A raw kernel: `pad` bytes, then an a.out-kludge header, then code bytes. */
struct kernel {
	uint8_t b[9000];
	size_t size;
	size_t hdr; /* offset of the header */
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t get32(struct kr_vm *vm, uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, vm->ram + gpa, 4);
	return v;
}

/* flags | bit 16; the kernel loads at LOAD, 256 bytes of file, a 4 KiB bss, entry after the header. */
static void make_aout(struct kernel *k, size_t hdr, uint32_t flags)
{
	memset(k, 0, sizeof(*k));
	k->hdr = hdr;
	k->size = hdr + 256;
	for (size_t i = 0; i < k->size; i++)
		k->b[i] = (uint8_t)(i * 7 + 1);
	uint32_t f = flags | MULTIBOOT_AOUT_KLUDGE;
	uint32_t w[8] = {MULTIBOOT_HEADER_MAGIC, f, -(MULTIBOOT_HEADER_MAGIC + f),
			 LOAD + (uint32_t)hdr, LOAD, LOAD + (uint32_t)k->size,
			 LOAD + (uint32_t)k->size + 0x1000, LOAD + (uint32_t)hdr + 32};
	for (int i = 0; i < 8; i++)
		put32(k->b + hdr + 4 * i, w[i]);
}

/* Set header word i (0 magic, 1 flags, 2 checksum, 3.. the address fields); fix the checksum. */
static void set_word(struct kernel *k, int i, uint32_t v)
{
	put32(k->b + k->hdr + 4 * i, v);
	uint32_t m, f;
	memcpy(&m, k->b + k->hdr, 4);
	memcpy(&f, k->b + k->hdr + 4, 4);
	if (i != 2)
		put32(k->b + k->hdr + 8, -(m + f));
}

static int load(struct kr_vm *vm, const struct kernel *k, struct kr_image *img)
{
	return kr_load_buffer(vm, k->b, k->size, NULL, img);
}

UNIT_TEST(multiboot_aout_kernel_and_boot_information)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, MEM);
	struct kernel k;
	struct kr_image img;
	static const uint8_t module[] = "KEY=VALUE\n";

	make_aout(&k, 64, MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO);
	CHECK_OK(kr_multiboot_set_cmdline(vm, "kernel --flag"));
	CHECK_OK(kr_multiboot_add_module_buffer(vm, module, sizeof(module) - 1, "mod-a"));
	CHECK_OK(kr_multiboot_add_module_buffer(vm, "x", 1, "mod-b"));
	CHECK_OK(load(vm, &k, &img));
	CHECK(img.multiboot);
	CHECK_EQ(vm->cfg.mode, KR_MODE_PROTECTED); /* the Multiboot machine state */
	CHECK_EQ(img.entry, LOAD + 64 + 32);
	CHECK_EQ(img.start, LOAD);
	CHECK(memcmp(vm->ram + LOAD, k.b, k.size) == 0); /* the file from offset 0 */
	uint8_t zero[0x1000] = {0};
	CHECK(memcmp(vm->ram + LOAD + k.size, zero, sizeof(zero)) == 0);

	/* Modules page-aligned after the bss, in order; then the information. */
	uint64_t mod_a = LOAD + 0x2000; /* the kernel + bss end at LOAD + 0x1140 */
	CHECK(memcmp(vm->ram + mod_a, module, sizeof(module) - 1) == 0);
	CHECK_EQ(vm->ram[mod_a + 0x1000], 'x');
	uint64_t info = img.multiboot_info;
	CHECK_EQ(info, mod_a + 0x2000);
	CHECK(img.end > info && img.end <= MEM);
	struct multiboot_info mi;
	memcpy(&mi, vm->ram + info, sizeof(mi));
	CHECK_EQ(mi.flags, MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MODS |
				   MULTIBOOT_INFO_MEM_MAP | MULTIBOOT_INFO_BOOT_LOADER_NAME);
	CHECK_EQ(mi.mem_lower, 640);
	CHECK_EQ(mi.mem_upper, (MEM - 0x100000) / 1024);
	CHECK(strcmp((char *)vm->ram + mi.cmdline, "kernel --flag") == 0);
	CHECK(strcmp((char *)vm->ram + mi.boot_loader_name, "kvmrun") == 0);
	CHECK_EQ(mi.mods_count, 2);
	struct multiboot_module m[2];
	memcpy(m, vm->ram + mi.mods_addr, sizeof(m));
	CHECK_EQ(m[0].mod_start, mod_a);
	CHECK_EQ(m[0].mod_end, mod_a + sizeof(module) - 1);
	CHECK(strcmp((char *)vm->ram + m[0].string, "mod-a") == 0);
	CHECK_EQ(m[1].mod_start, mod_a + 0x1000);
	CHECK_EQ(m[1].mod_end, mod_a + 0x1001);
	CHECK(strcmp((char *)vm->ram + m[1].string, "mod-b") == 0);

	/* The map: 24-byte entries (size 20), RAM above 1 MiB available, kvmrun's area not. */
	CHECK_EQ(mi.mmap_length, 5 * 24);
	bool upper = false, area = false;
	for (uint32_t off = 0; off < mi.mmap_length; off += get32(vm, mi.mmap_addr + off) + 4) {
		struct multiboot_mmap_entry e;
		memcpy(&e, vm->ram + mi.mmap_addr + off, sizeof(e));
		CHECK_EQ(e.size, 20);
		upper |= e.addr == 0x100000 && e.len == MEM - 0x100000 && e.type == 1;
		area |= e.addr == KVMRUN_SYSTEM_AREA_START &&
			e.len == KVMRUN_SYSTEM_AREA_END - KVMRUN_SYSTEM_AREA_START && e.type == 2;
	}
	CHECK(upper && area);
	/* The PC devices came with it. */
	CHECK(kr_bus_find(vm, KR_SPACE_PIO, KR_FWCFG_PORT_SELECTOR, 2) != NULL);
	kr_vm_destroy(vm);
}

UNIT_TEST(multiboot_elf32_kernel_below_1mib_is_refused)
{
	/* A minimal ELF32 with one segment at 0x80000 and the header in it. */
	struct {
		Elf32_Ehdr e;
		Elf32_Phdr p;
		uint32_t mb[3];
		uint8_t code[4];
	} f = {0};
	memcpy(f.e.e_ident, ELFMAG, SELFMAG);
	f.e.e_ident[EI_CLASS] = ELFCLASS32;
	f.e.e_ident[EI_DATA] = ELFDATA2LSB;
	f.e.e_ident[EI_VERSION] = EV_CURRENT;
	f.e.e_type = ET_EXEC;
	f.e.e_machine = EM_386;
	f.e.e_version = EV_CURRENT;
	f.e.e_phoff = sizeof(f.e);
	f.e.e_phentsize = sizeof(Elf32_Phdr);
	f.e.e_phnum = 1;
	f.p.p_type = PT_LOAD;
	f.p.p_flags = PF_R | PF_X;
	f.p.p_filesz = f.p.p_memsz = sizeof(f);
	f.mb[0] = MULTIBOOT_HEADER_MAGIC;
	f.mb[1] = 0;
	f.mb[2] = -MULTIBOOT_HEADER_MAGIC;

	struct kr_image img;
	for (int pass = 0; pass < 2; pass++) {
		uint32_t at = pass == 0 ? 0x80000 : 0x300000;
		f.p.p_vaddr = f.p.p_paddr = at;
		f.e.e_entry = at + (uint32_t)offsetof(__typeof__(f), code);
		struct kr_vm *vm = unit_vm_new(KR_MODE_PROTECTED, MEM);
		if (pass == 0) {
			CHECK_FAILS_WITH(kr_load_buffer(vm, &f, sizeof(f), NULL, &img),
					 "multiboot: ELF: program header 0: p_paddr 0x80000 is below "
					 "0x100000");
		} else {
			CHECK_OK(kr_load_buffer(vm, &f, sizeof(f), NULL, &img));
			CHECK(img.multiboot && img.is_elf);
			CHECK_EQ(img.entry, f.e.e_entry);
			CHECK(memcmp(vm->ram + at, &f, sizeof(f)) == 0);
			/* No command line set: no flag, and no string. */
			CHECK_EQ(get32(vm, img.multiboot_info) & MULTIBOOT_INFO_CMDLINE, 0);
		}
		kr_vm_destroy(vm);
	}
	/* ELF64 without the address fields: refused by class. */
	f.e.e_ident[EI_CLASS] = ELFCLASS64;
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, MEM);
	CHECK_FAILS_WITH(kr_load_buffer(vm, &f, sizeof(f), NULL, &img), "ELFCLASS32");
	CHECK_EQ(vm->cfg.mode, KR_MODE_LONG); /* a refused kernel leaves the mode alone */
	kr_vm_destroy(vm);
}

/* Load k into a fresh 8 MiB VM and expect a refusal naming `needle`. */
static void refused(const struct kernel *k, const char *needle)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, MEM);
	struct kr_image img;
	CHECK_FAILS_WITH(load(vm, k, &img), needle);
	CHECK_EQ(kr_last_error_code(), KR_E_BAD_IMAGE);
	CHECK(kr_bus_find(vm, KR_SPACE_PIO, KR_FWCFG_PORT_SELECTOR, 2) == NULL);
	kr_vm_destroy(vm);
}

UNIT_TEST(multiboot_malformed_headers_are_refused)
{
	struct kernel k;

	make_aout(&k, 64, 0);
	set_word(&k, 2, 0x12345678);
	refused(&k, "bad checksum 0x12345678");
	make_aout(&k, 64, MULTIBOOT_VIDEO_MODE);
	refused(&k, "require a video mode (bit 2)");
	make_aout(&k, 64, 0x8);
	refused(&k, "bits 0x0008 of the low 16");
	make_aout(&k, 64, 0);
	set_word(&k, 4, 0x80000); /* load_addr */
	set_word(&k, 3, 0x80000 + 64);
	refused(&k, "load_addr 0x80000 is below 1 MiB");
	make_aout(&k, 64, 0);
	set_word(&k, 4, LOAD + 128); /* load_addr above header_addr */
	refused(&k, "is above header_addr");
	make_aout(&k, 64, 0);
	set_word(&k, 4, LOAD - 0x1000); /* the text would start 0x1000 before the file */
	refused(&k, "would start before the file");
	make_aout(&k, 64, 0);
	set_word(&k, 5, LOAD); /* load_end_addr == load_addr */
	refused(&k, "load_end_addr 0x200000 is not above load_addr");
	make_aout(&k, 64, 0);
	set_word(&k, 5, LOAD + 0x10000); /* past the file */
	refused(&k, "but the file has 0x140 from offset 0x0");
	make_aout(&k, 64, 0);
	set_word(&k, 6, LOAD + 16); /* bss_end below load_end */
	refused(&k, "bss_end_addr 0x200010 is below load_end_addr");
	make_aout(&k, 64, 0);
	set_word(&k, 7, LOAD + 0x5000); /* entry in the bss */
	refused(&k, "entry_addr 0x205000 is outside");
	make_aout(&k, 64, 0);
	set_word(&k, 6, 0xf0000000); /* bss past RAM */
	refused(&k, "runs past the end of guest RAM");

	/* Truncated: the magic in the file's (or the first 8 KiB's) last bytes. */
	make_aout(&k, 64, 0);
	k.size = 64 + 8;
	refused(&k, "truncated: 8 bytes");
	make_aout(&k, 8184, 0);
	k.size = 9000;
	refused(&k, "is truncated: 8 bytes of the first 8 KiB");
	make_aout(&k, 8176, 0); /* 12 bytes fit, the address fields do not */
	k.size = 9000;
	refused(&k, "flags bit 16 (address fields) needs 32 bytes, 16 left");

	/* No address fields and not ELF. */
	make_aout(&k, 64, 0);
	set_word(&k, 1, 0);
	refused(&k, "must be an ELF file");
	/* Beyond 8 KiB the magic means nothing: a raw image. */
	make_aout(&k, 8192, 0);
	k.size = 8192 + 256;
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, MEM);
	struct kr_image img;
	CHECK_OK(load(vm, &k, &img));
	CHECK(!img.multiboot && !img.is_elf);
	kr_vm_destroy(vm);
}

UNIT_TEST(multiboot_modes_options_and_room)
{
	struct kernel k;
	struct kr_image img;
	make_aout(&k, 64, 0);

	struct kr_vm *vm = unit_vm_new(KR_MODE_PAGED32, MEM);
	CHECK_FAILS_WITH(load(vm, &k, &img), "32-bit protected mode without paging, but the VM is "
					     "in paged32 mode");
	kr_vm_destroy(vm);

	vm = unit_vm_new(KR_MODE_LONG, MEM);
	struct kr_load_options opt = {.has_entry = true, .entry = LOAD};
	CHECK_FAILS_WITH(kr_load_buffer(vm, k.b, k.size, &opt, &img), "a load address or entry");
	kr_vm_destroy(vm);

	/* Modules that do not fit in RAM after the kernel. */
	vm = unit_vm_new(KR_MODE_LONG, 4u << 20);
	static uint8_t big[3u << 20];
	CHECK_OK(kr_multiboot_add_module_buffer(vm, big, sizeof(big), "big"));
	CHECK_FAILS_WITH(load(vm, &k, &img), "do not fit in guest RAM");
	kr_vm_destroy(vm);

	vm = unit_vm_new(KR_MODE_LONG, MEM);
	char longstr[KR_MULTIBOOT_MAX_STRING + 1];
	memset(longstr, 'a', sizeof(longstr) - 1);
	longstr[sizeof(longstr) - 1] = 0;
	CHECK_FAILS_WITH(kr_multiboot_set_cmdline(vm, longstr), "longer than 4095 bytes");
	for (int i = 0; i < KR_MULTIBOOT_MAX_MODULES; i++)
		CHECK_OK(kr_multiboot_add_module_buffer(vm, "m", 1, "m"));
	CHECK_FAILS_WITH(kr_multiboot_add_module_buffer(vm, "m", 1, "m"), "more than 32 modules");
	CHECK_FAILS_WITH(kr_multiboot_add_module(vm, "/nonexistent/module", NULL),
			 "open(\"/nonexistent/module\"");
	kr_vm_destroy(vm);
}

/* Write `size` bytes of k to a temporary file; its path in `path` (a mkstemp template). */
static void write_temp(char *path, const uint8_t *data, size_t size)
{
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, data, size), (long)size);
	close(fd);
}

UNIT_TEST(multiboot_probe_file_finds_the_magic_in_the_first_8_kib)
{
	static struct kernel k;
	char path[] = "/tmp/kvmrun-mbprobe-XXXXXX";

	make_aout(&k, 8192 - 12, MULTIBOOT_MEMORY_INFO); /* the last aligned place for it */
	write_temp(path, k.b, k.size);
	CHECK_EQ(kr_multiboot_probe_file(path), 1);
	unlink(path);

	/* Only the magic counts here (a bad checksum is refused when it loads). */
	set_word(&k, 2, 0);
	strcpy(path, "/tmp/kvmrun-mbprobe-XXXXXX");
	write_temp(path, k.b, k.size);
	CHECK_EQ(kr_multiboot_probe_file(path), 1);
	unlink(path);

	/* Past the first 8 KiB, unaligned, or a file shorter than the magic: not multiboot. */
	make_aout(&k, 8192, 0);
	strcpy(path, "/tmp/kvmrun-mbprobe-XXXXXX");
	write_temp(path, k.b, k.size);
	CHECK_EQ(kr_multiboot_probe_file(path), 0);
	unlink(path);
	make_aout(&k, 2, 0);
	strcpy(path, "/tmp/kvmrun-mbprobe-XXXXXX");
	write_temp(path, k.b, k.size);
	CHECK_EQ(kr_multiboot_probe_file(path), 0);
	unlink(path);
	strcpy(path, "/tmp/kvmrun-mbprobe-XXXXXX");
	write_temp(path, k.b + 2, 3);
	CHECK_EQ(kr_multiboot_probe_file(path), 0);
	unlink(path);

	CHECK_FAILS_WITH(kr_multiboot_probe_file("/nonexistent/kvmrun-kernel"),
			 "multiboot: open /nonexistent/kvmrun-kernel");
	CHECK_FAILS_WITH(kr_multiboot_probe_file(NULL), "needs a path");
}
