/* SPDX-License-Identifier: MIT */
/*
 * test_loader.c - the ELF and raw loaders on synthetic images, without KVM.
 *
 * Each ELF test starts from a small, valid image built in memory and breaks
 * one field, so a failure points at exactly one check. RAM is pre-filled
 * with 0xAA so that bss zeroing and "nothing written on failure" show.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#define RAM (4ull << 20)
#define FILL 0xAA

/* Segment i's file bytes live at PAYLOAD_OFF + i * PAYLOAD_STRIDE. */
#define PAYLOAD_OFF 0x1000u
#define PAYLOAD_STRIDE 0x1000u

#define HIGH 0xffffffff80000000ull /* a higher-half kernel's base */

struct seg_spec {
	uint32_t type, flags;
	uint64_t vaddr, paddr, filesz, memsz;
};

struct elf_buf {
	uint8_t *data; /* calloc'd, so the typed accessors below are aligned */
	size_t size;
};

static uint8_t pattern(size_t seg, size_t i)
{
	return (uint8_t)(0x11 * (seg + 1) + i);
}

static void fill_ident(unsigned char *ident, int cls)
{
	memcpy(ident, ELFMAG, SELFMAG);
	ident[EI_CLASS] = (unsigned char)cls;
	ident[EI_DATA] = ELFDATA2LSB;
	ident[EI_VERSION] = EV_CURRENT;
}

static void put_headers64(uint8_t *d, uint64_t entry, const struct seg_spec *segs, size_t n)
{
	Elf64_Ehdr eh = {.e_type = ET_EXEC,
			 .e_machine = EM_X86_64,
			 .e_version = EV_CURRENT,
			 .e_entry = entry,
			 .e_phoff = sizeof(Elf64_Ehdr),
			 .e_ehsize = sizeof(Elf64_Ehdr),
			 .e_phentsize = sizeof(Elf64_Phdr),
			 .e_phnum = (Elf64_Half)n};
	fill_ident(eh.e_ident, ELFCLASS64);
	memcpy(d, &eh, sizeof(eh));
	for (size_t i = 0; i < n; i++) {
		Elf64_Phdr ph = {.p_type = segs[i].type,
				 .p_flags = segs[i].flags,
				 .p_offset = PAYLOAD_OFF + i * PAYLOAD_STRIDE,
				 .p_vaddr = segs[i].vaddr,
				 .p_paddr = segs[i].paddr,
				 .p_filesz = segs[i].filesz,
				 .p_memsz = segs[i].memsz,
				 .p_align = 0x1000};
		memcpy(d + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
	}
}

static void put_headers32(uint8_t *d, uint64_t entry, const struct seg_spec *segs, size_t n)
{
	Elf32_Ehdr eh = {.e_type = ET_EXEC,
			 .e_machine = EM_386,
			 .e_version = EV_CURRENT,
			 .e_entry = (Elf32_Addr)entry,
			 .e_phoff = sizeof(Elf32_Ehdr),
			 .e_ehsize = sizeof(Elf32_Ehdr),
			 .e_phentsize = sizeof(Elf32_Phdr),
			 .e_phnum = (Elf32_Half)n};
	fill_ident(eh.e_ident, ELFCLASS32);
	memcpy(d, &eh, sizeof(eh));
	for (size_t i = 0; i < n; i++) {
		Elf32_Phdr ph = {.p_type = segs[i].type,
				 .p_flags = segs[i].flags,
				 .p_offset = (Elf32_Off)(PAYLOAD_OFF + i * PAYLOAD_STRIDE),
				 .p_vaddr = (Elf32_Addr)segs[i].vaddr,
				 .p_paddr = (Elf32_Addr)segs[i].paddr,
				 .p_filesz = (Elf32_Word)segs[i].filesz,
				 .p_memsz = (Elf32_Word)segs[i].memsz,
				 .p_align = 0x1000};
		memcpy(d + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
	}
}

/* An ELF of class `cls` with one program header per spec and patterned payloads. */
static struct elf_buf build_elf(int cls, uint64_t entry, const struct seg_spec *segs, size_t n)
{
	struct elf_buf b = {.size = PAYLOAD_OFF + n * PAYLOAD_STRIDE};
	b.data = calloc(1, b.size);
	if (!b.data) {
		perror("calloc");
		abort();
	}
	if (cls == ELFCLASS64)
		put_headers64(b.data, entry, segs, n);
	else
		put_headers32(b.data, entry, segs, n);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < segs[i].filesz && j < PAYLOAD_STRIDE; j++)
			b.data[PAYLOAD_OFF + i * PAYLOAD_STRIDE + j] = pattern(i, j);
	return b;
}

static Elf64_Ehdr *eh64(struct elf_buf *b)
{
	return (Elf64_Ehdr *)b->data;
}

static Elf64_Phdr *ph64(struct elf_buf *b, size_t i)
{
	return (Elf64_Phdr *)(b->data + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr));
}

/* The standard good image: text (R X, with bss) at 1 MiB, data (R W) at 2 MiB. */
static const struct seg_spec good_segs[] = {
    {PT_LOAD, PF_R | PF_X, 0x100000, 0x100000, 0x100, 0x2000},
    {PT_LOAD, PF_R | PF_W, 0x200000, 0x200000, 0x80, 0x80},
};
#define GOOD_ENTRY 0x100010

static struct elf_buf good64(void)
{
	return build_elf(ELFCLASS64, GOOD_ENTRY, good_segs, 2);
}

static struct kr_vm *vm_new(enum kr_mode mode, uint64_t mem)
{
	struct kr_vm *vm = unit_vm_new(mode, mem);
	if (!vm) {
		fprintf(stderr, "unit_vm_new: %s\n", kr_last_error());
		abort();
	}
	memset(vm->ram, FILL, mem);
	return vm;
}

static int load(struct kr_vm *vm, const struct elf_buf *b, struct kr_image *img)
{
	return kr_load_buffer(vm, b->data, b->size, NULL, img);
}

static bool all_bytes(const struct kr_vm *vm, uint64_t gpa, uint64_t len, uint8_t value)
{
	for (uint64_t i = 0; i < len; i++)
		if (vm->ram[gpa + i] != value)
			return false;
	return true;
}

/* Segment `seg` of the image landed at `paddr`: file bytes, zeroed bss, nothing past. */
static bool segment_landed(const struct kr_vm *vm, size_t seg, uint64_t paddr, uint64_t filesz,
			   uint64_t memsz)
{
	for (uint64_t j = 0; j < filesz; j++)
		if (vm->ram[paddr + j] != pattern(seg, j))
			return false;
	return all_bytes(vm, paddr + filesz, memsz - filesz, 0) && vm->ram[paddr + memsz] == FILL;
}

/* Break one thing in the good ELF64 (long mode) and expect `needle` in the message. */
#define EXPECT_ELF64_FAILS(mutation, needle)                                                       \
	do {                                                                                       \
		struct kr_vm *vm_ = vm_new(KR_MODE_LONG, RAM);                                     \
		struct elf_buf b = good64();                                                       \
		struct kr_image img_;                                                              \
		mutation;                                                                          \
		CHECK_FAILS_WITH(load(vm_, &b, &img_), needle);                                    \
		CHECK(all_bytes(vm_, 0, RAM, FILL)); /* nothing written */                         \
		free(b.data);                                                                      \
		kr_vm_destroy(vm_);                                                                 \
	} while (0)

/* ---- good ELF images ---------------------------------------------------------- */

UNIT_TEST(loader_elf64_good)
{
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	struct elf_buf b = good64();
	struct kr_image img;

	CHECK_OK(load(vm, &b, &img));
	CHECK(img.is_elf);
	CHECK_EQ(img.elf_class, ELFCLASS64);
	CHECK_EQ(img.entry, GOOD_ENTRY);
	CHECK_EQ(img.start, 0x100000);
	CHECK_EQ(img.end, 0x200080);
	CHECK_EQ(img.nmappings, 0); /* identity-mapped */
	CHECK(segment_landed(vm, 0, 0x100000, 0x100, 0x2000));
	CHECK(segment_landed(vm, 1, 0x200000, 0x80, 0x80));
	CHECK(all_bytes(vm, 0, 0x100000, FILL));
	free(b.data);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_elf64_entry_override)
{
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	struct elf_buf b = good64();
	struct kr_image img;
	struct kr_load_options opt = {.has_entry = true, .entry = 0x101000};

	CHECK_OK(kr_load_buffer(vm, b.data, b.size, &opt, &img));
	CHECK_EQ(img.entry, 0x101000); /* in the bss, but executable */
	opt.entry = 0x200000;
	CHECK_FAILS_WITH(kr_load_buffer(vm, b.data, b.size, &opt, &img), "entry override");
	free(b.data);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_elf64_higher_half)
{
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	const struct seg_spec segs[] = {
	    {PT_LOAD, PF_R | PF_X, HIGH + 0x100000, 0x100000, 0x100, 0x1234},
	    {PT_LOAD, PF_R | PF_W, HIGH + 0x201010, 0x201010, 0x10, 0x2000},
	    {PT_LOAD, PF_R, 0x300000, 0x300000, 0x10, 0x10}, /* identity */
	};
	struct elf_buf b = build_elf(ELFCLASS64, HIGH + 0x100000, segs, 3);
	struct kr_image img;

	CHECK_OK(load(vm, &b, &img));
	CHECK_EQ(img.entry, HIGH + 0x100000);
	CHECK_EQ(img.start, 0x100000);
	CHECK_EQ(img.end, 0x300010);
	CHECK_EQ(img.nmappings, 2);
	CHECK_EQ(img.mappings[0].gva, HIGH + 0x100000);
	CHECK_EQ(img.mappings[0].gpa, 0x100000);
	CHECK_EQ(img.mappings[0].size, 0x2000);
	CHECK_EQ(img.mappings[0].flags, KR_MAP_EXEC);
	/* Page-rounded at both ends: 0x10 + 0x2000 bytes span three pages. */
	CHECK_EQ(img.mappings[1].gva, HIGH + 0x201000);
	CHECK_EQ(img.mappings[1].gpa, 0x201000);
	CHECK_EQ(img.mappings[1].size, 0x3000);
	CHECK_EQ(img.mappings[1].flags, KR_MAP_WRITE);
	CHECK(segment_landed(vm, 0, 0x100000, 0x100, 0x1234));
	CHECK(segment_landed(vm, 1, 0x201010, 0x10, 0x2000));
	free(b.data);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_elf64_shared_page_same_delta)
{
	/* .text's tail and .data's head in one page, mapped consistently: fine. */
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	const struct seg_spec segs[] = {
	    {PT_LOAD, PF_R | PF_X, HIGH + 0x100000, 0x100000, 0x800, 0x800},
	    {PT_LOAD, PF_R | PF_W, HIGH + 0x100800, 0x100800, 0x100, 0x100},
	};
	struct elf_buf b = build_elf(ELFCLASS64, HIGH + 0x100000, segs, 2);
	struct kr_image img;

	CHECK_OK(load(vm, &b, &img));
	CHECK_EQ(img.nmappings, 2);
	free(b.data);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_elf64_mappings_apart)
{
	/* Different offsets between virtual and physical, no page in common: fine. */
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	const struct seg_spec segs[] = {
	    {PT_LOAD, PF_R | PF_X, HIGH + 0x300000, 0x100000, 0x10, 0x1000},
	    {PT_LOAD, PF_R | PF_W, HIGH + 0x100000, 0x200000, 0x10, 0x1000},
	    {PT_LOAD, PF_R | PF_W, HIGH + 0x500000, 0x300000, 0x10, 0x1000},
	};
	struct elf_buf b = build_elf(ELFCLASS64, HIGH + 0x300000, segs, 3);
	struct kr_image img;

	CHECK_OK(load(vm, &b, &img));
	CHECK_EQ(img.nmappings, 3);
	free(b.data);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_elf64_sixteen_mappings)
{
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	struct seg_spec segs[KR_MAX_MAPPINGS];
	struct kr_image img;

	for (size_t i = 0; i < KR_MAX_MAPPINGS; i++)
		segs[i] = (struct seg_spec){
		    PT_LOAD, PF_R | PF_X, HIGH + 0x100000 + i * 0x1000, 0x100000 + i * 0x1000,
		    0x10,    0x1000};
	struct elf_buf b = build_elf(ELFCLASS64, HIGH + 0x100000, segs, KR_MAX_MAPPINGS);
	CHECK_OK(load(vm, &b, &img));
	CHECK_EQ(img.nmappings, KR_MAX_MAPPINGS);
	free(b.data);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_elf64_empty_segment_ignored)
{
	/* A PT_LOAD with p_memsz 0 occupies nothing, wherever it claims to be. */
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	const struct seg_spec segs[] = {
	    {PT_LOAD, PF_R | PF_X, 0x100000, 0x100000, 0x10, 0x10},
	    {PT_LOAD, PF_R, 0x20000, 0x20000, 0, 0},
	};
	struct elf_buf b = build_elf(ELFCLASS64, 0x100000, segs, 2);
	struct kr_image img;

	CHECK_OK(load(vm, &b, &img));
	CHECK_EQ(img.start, 0x100000);
	CHECK_EQ(img.end, 0x100010);
	free(b.data);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_elf32_protected)
{
	struct kr_vm *vm = vm_new(KR_MODE_PROTECTED, RAM);
	struct elf_buf b = build_elf(ELFCLASS32, GOOD_ENTRY, good_segs, 2);
	struct kr_image img;

	CHECK_OK(load(vm, &b, &img));
	CHECK(img.is_elf);
	CHECK_EQ(img.elf_class, ELFCLASS32);
	CHECK_EQ(img.entry, GOOD_ENTRY);
	CHECK_EQ(img.start, 0x100000);
	CHECK_EQ(img.end, 0x200080);
	CHECK_EQ(img.nmappings, 0);
	CHECK(segment_landed(vm, 0, 0x100000, 0x100, 0x2000));
	CHECK(segment_landed(vm, 1, 0x200000, 0x80, 0x80));
	free(b.data);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_elf32_protected_needs_identity)
{
	struct kr_vm *vm = vm_new(KR_MODE_PROTECTED, RAM);
	const struct seg_spec segs[] = {{PT_LOAD, PF_R | PF_X, 0xc0100000, 0x100000, 0x10, 0x10}};
	struct elf_buf b = build_elf(ELFCLASS32, 0xc0100000, segs, 1);
	struct kr_image img;

	CHECK_FAILS_WITH(load(vm, &b, &img), "protected mode has no paging");
	free(b.data);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_elf32_paged32_mappings)
{
	struct kr_vm *vm = vm_new(KR_MODE_PAGED32, 8u << 20);
	struct kr_image img;

	/* 0xc0000000 apart: a whole number of 4 MiB pages. */
	const struct seg_spec ok[] = {
	    {PT_LOAD, PF_R | PF_X | PF_W, 0xc0100000, 0x100000, 0x10, 0x10}};
	struct elf_buf b = build_elf(ELFCLASS32, 0xc0100000, ok, 1);
	CHECK_OK(load(vm, &b, &img));
	CHECK_EQ(img.nmappings, 1);
	CHECK_EQ(img.mappings[0].gva, 0xc0100000);
	CHECK_EQ(img.mappings[0].gpa, 0x100000);
	CHECK_EQ(img.mappings[0].size, 0x1000);
	CHECK_EQ(img.mappings[0].flags, KR_MAP_WRITE | KR_MAP_EXEC);
	free(b.data);

	const struct seg_spec skew[] = {{PT_LOAD, PF_R | PF_X, 0xc0200000, 0x100000, 0x10, 0x10}};
	b = build_elf(ELFCLASS32, 0xc0200000, skew, 1);
	CHECK_FAILS_WITH(load(vm, &b, &img), "not a multiple of 4 MiB");
	free(b.data);

	const struct seg_spec past4g[] = {
	    {PT_LOAD, PF_R | PF_X, 0xfff00000, 0x300000, 0x10, 0x200000}};
	b = build_elf(ELFCLASS32, 0xfff00000, past4g, 1);
	CHECK_FAILS_WITH(load(vm, &b, &img), "runs past 4 GiB");
	free(b.data);

	/* Apart by 4 KiB pages, but in one 4 MiB page mapped to two places. */
	const struct seg_spec clash[] = {
	    {PT_LOAD, PF_R | PF_X, 0xc0100000, 0x100000, 0x10, 0x10},
	    {PT_LOAD, PF_R | PF_W, 0xc0300000, 0x700000, 0x10, 0x10},
	};
	b = build_elf(ELFCLASS32, 0xc0100000, clash, 2);
	CHECK_FAILS_WITH(load(vm, &b, &img), "shares a 0x400000-byte page");
	free(b.data);

	/* Inside the identity map of RAM (8 MiB): refused. */
	const struct seg_spec low[] = {{PT_LOAD, PF_R | PF_X, 0x500000, 0x100000, 0x10, 0x10}};
	b = build_elf(ELFCLASS32, 0x500000, low, 1);
	CHECK_FAILS_WITH(load(vm, &b, &img), "identity-mapped low memory [0, 0x800000)");
	free(b.data);
	kr_vm_destroy(vm);
}

/* ---- malformed ELF images ------------------------------------------------------ */

UNIT_TEST(loader_elf_short)
{
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	struct elf_buf b = good64();
	struct kr_image img;

	CHECK_FAILS_WITH(kr_load_elf(vm, NULL, 0, &(struct kr_load_options){0}, &img),
			 "too short for the ELF identification");
	CHECK_FAILS_WITH(kr_load_elf(vm, b.data, 10, &(struct kr_load_options){0}, &img),
			 "10 bytes, too short for the ELF identification");
	/* Through kr_load_buffer: the magic is there, so it is reported as an ELF. */
	CHECK_FAILS_WITH(kr_load_buffer(vm, b.data, sizeof(Elf64_Ehdr) - 1, NULL, &img),
			 "too short for a 64-bit ELF header");
	free(b.data);

	struct kr_vm *vm32 = vm_new(KR_MODE_PROTECTED, RAM);
	b = build_elf(ELFCLASS32, GOOD_ENTRY, good_segs, 2);
	CHECK_FAILS_WITH(kr_load_buffer(vm32, b.data, 40, NULL, &img),
			 "too short for a 32-bit ELF header");
	free(b.data);
	kr_vm_destroy(vm32);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_elf_bad_magic)
{
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	struct elf_buf b = good64();
	struct kr_image img;

	b.data[3] = 'G';
	CHECK_FAILS_WITH(kr_load_elf(vm, b.data, b.size, &(struct kr_load_options){0}, &img),
			 "bad magic 7f 45 4c 47");
	/* kr_load_buffer sees no ELF magic and loads the bytes as a raw image. */
	CHECK_OK(kr_load_buffer(vm, b.data, b.size, NULL, &img));
	CHECK(!img.is_elf);
	CHECK_EQ(img.start, KVMRUN_DEFAULT_LOAD_ADDR);
	free(b.data);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_elf_class_for_mode)
{
	struct kr_vm *prot = vm_new(KR_MODE_PROTECTED, RAM), *real = vm_new(KR_MODE_REAL, RAM);
	struct kr_vm *lng = vm_new(KR_MODE_LONG, RAM);
	struct elf_buf b64 = good64(), b32 = build_elf(ELFCLASS32, GOOD_ENTRY, good_segs, 2);
	struct kr_image img;

	CHECK_FAILS_WITH(load(prot, &b64, &img), "needs long mode, but the VM is in protected");
	CHECK_FAILS_WITH(load(real, &b64, &img), "needs long mode");
	CHECK_FAILS_WITH(load(lng, &b32, &img), "needs protected or paged32 mode");
	CHECK_FAILS_WITH(load(real, &b32, &img), "needs protected or paged32 mode");
	free(b64.data);
	free(b32.data);
	kr_vm_destroy(prot);
	kr_vm_destroy(real);
	kr_vm_destroy(lng);
}

UNIT_TEST(loader_elf_ident)
{
	EXPECT_ELF64_FAILS(b.data[EI_CLASS] = 3, "unknown class 3");
	EXPECT_ELF64_FAILS(b.data[EI_CLASS] = ELFCLASSNONE, "unknown class 0");
	EXPECT_ELF64_FAILS(b.data[EI_DATA] = ELFDATA2MSB, "big-endian");
	EXPECT_ELF64_FAILS(b.data[EI_DATA] = 7, "unknown data encoding 7");
	EXPECT_ELF64_FAILS(b.data[EI_VERSION] = 0, "EI_VERSION");
}

UNIT_TEST(loader_elf_header_fields)
{
	EXPECT_ELF64_FAILS(eh64(&b)->e_type = ET_DYN, "ET_DYN");
	EXPECT_ELF64_FAILS(eh64(&b)->e_type = ET_REL, "expected ET_EXEC");
	EXPECT_ELF64_FAILS(eh64(&b)->e_machine = EM_386, "e_machine is 3, expected EM_X86_64");
	EXPECT_ELF64_FAILS(eh64(&b)->e_version = 2, "e_version is 2");
	EXPECT_ELF64_FAILS(eh64(&b)->e_phentsize = sizeof(Elf32_Phdr), "e_phentsize is 32");
	EXPECT_ELF64_FAILS(eh64(&b)->e_phnum = 0, "no program headers");
	EXPECT_ELF64_FAILS(eh64(&b)->e_phnum = PN_XNUM, "PN_XNUM");
}

UNIT_TEST(loader_elf_phdr_table)
{
	EXPECT_ELF64_FAILS(eh64(&b)->e_phoff = b.size, "runs past the end of the file");
	/* The last entry sticks out by one byte. */
	EXPECT_ELF64_FAILS(eh64(&b)->e_phoff = b.size - 2 * sizeof(Elf64_Phdr) + 1,
			   "program header table");
	/* e_phoff + 2 * 56 wraps around 2^64. */
	EXPECT_ELF64_FAILS(eh64(&b)->e_phoff = UINT64_MAX - 8, "program header table");
	EXPECT_ELF64_FAILS(eh64(&b)->e_phnum = 0xfffe, "program header table");
}

UNIT_TEST(loader_elf_no_pt_load)
{
	EXPECT_ELF64_FAILS((ph64(&b, 0)->p_type = PT_NOTE, ph64(&b, 1)->p_type = PT_NULL),
			   "none of the 2 program headers is PT_LOAD");
}

UNIT_TEST(loader_elf_segment_file_range)
{
	EXPECT_ELF64_FAILS(ph64(&b, 1)->p_filesz = b.size, "program header 1: p_offset 0x2000 + "
							   "p_filesz 0x3000 runs past the end of "
							   "the file (0x3000 bytes)");
	EXPECT_ELF64_FAILS(ph64(&b, 0)->p_offset = UINT64_MAX - 0x10,
			   "runs past the end of the file");
	EXPECT_ELF64_FAILS(ph64(&b, 0)->p_filesz = UINT64_MAX, "runs past the end of the file");
	EXPECT_ELF64_FAILS(ph64(&b, 1)->p_filesz = 0x81,
			   "p_filesz 0x81 is larger than p_memsz 0x80");
}

UNIT_TEST(loader_elf_segment_ram_range)
{
	/* Ends one byte past RAM. */
	EXPECT_ELF64_FAILS((ph64(&b, 1)->p_paddr = ph64(&b, 1)->p_vaddr = RAM - 0x7f),
			   "past the end of guest RAM");
	/* p_paddr + p_memsz wraps around 2^64. */
	EXPECT_ELF64_FAILS((ph64(&b, 1)->p_paddr = ph64(&b, 1)->p_vaddr = UINT64_MAX - 0x10),
			   "past the end of guest RAM");
	EXPECT_ELF64_FAILS(ph64(&b, 1)->p_memsz = UINT64_MAX, "past the end of guest RAM");
	EXPECT_ELF64_FAILS((ph64(&b, 1)->p_paddr = ph64(&b, 1)->p_vaddr = 0x7ff80),
			   "overlaps kvmrun's system area");
	EXPECT_ELF64_FAILS((ph64(&b, 1)->p_paddr = ph64(&b, 1)->p_vaddr = 0xff81),
			   "program header 1 (PT_LOAD): guest physical [0xff81, 0x10001) "
			   "overlaps kvmrun's system area");
}

UNIT_TEST(loader_elf_segments_overlap)
{
	EXPECT_ELF64_FAILS((ph64(&b, 1)->p_paddr = ph64(&b, 1)->p_vaddr = 0x101fff),
			   "program headers 0 and 1 overlap in guest physical memory");
	/* Different physical places, one virtual range. */
	EXPECT_ELF64_FAILS((ph64(&b, 0)->p_vaddr = HIGH + 0x100000,
			    ph64(&b, 1)->p_vaddr = HIGH + 0x101000,
			    eh64(&b)->e_entry = HIGH + 0x100000),
			   "program headers 0 and 1 overlap in guest virtual memory");
}

UNIT_TEST(loader_elf_segments_overlap_many)
{
	/* Header order differs from address order; 3 covers 0; 2 is empty. */
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	const struct seg_spec segs[] = {
	    {PT_LOAD, PF_R, 0x108000, 0x108000, 0x10, 0x10},
	    {PT_LOAD, PF_R, 0x200000, 0x200000, 0x10, 0x10},
	    {PT_LOAD, PF_R, 0x101000, 0x101000, 0, 0},
	    {PT_LOAD, PF_R | PF_X, 0x100000, 0x100000, 0x10, 0x10000},
	};
	struct elf_buf b = build_elf(ELFCLASS64, 0x100000, segs, 4);
	struct kr_image img;

	CHECK_FAILS_WITH(load(vm, &b, &img), "program headers 0 and 3 overlap in guest physical "
					     "memory: [0x108000, 0x10800f] and [0x100000, "
					     "0x10ffff]");
	free(b.data);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_elf_entry)
{
	EXPECT_ELF64_FAILS(eh64(&b)->e_entry = 0x200010,
			   "entry point 0x200010 (e_entry) lies in program header 1, which is not "
			   "executable");
	EXPECT_ELF64_FAILS(eh64(&b)->e_entry = 0x102000,
			   "entry point 0x102000 (e_entry) is not inside any PT_LOAD");
	EXPECT_ELF64_FAILS(eh64(&b)->e_entry = 0, "not inside any PT_LOAD");
	/* Compared with the virtual range, not the physical one. */
	EXPECT_ELF64_FAILS(ph64(&b, 0)->p_vaddr = HIGH + 0x100000, "not inside any PT_LOAD");
}

UNIT_TEST(loader_elf_mappings)
{
	EXPECT_ELF64_FAILS(ph64(&b, 0)->p_vaddr = HIGH + 0x100010,
			   "lie at different offsets in a 4 KiB page");
	EXPECT_ELF64_FAILS(ph64(&b, 0)->p_vaddr = 0x300000, "identity-mapped low memory");
	EXPECT_ELF64_FAILS((ph64(&b, 0)->p_vaddr = 0x0000800000000000ull,
			    eh64(&b)->e_entry = 0x0000800000000000ull),
			   "not canonical");
	/* Starts canonical, ends in the hole. */
	EXPECT_ELF64_FAILS((ph64(&b, 0)->p_vaddr = 0x00007ffffffff000ull,
			    eh64(&b)->e_entry = 0x00007ffffffff000ull),
			   "p_vaddr 0x7ffffffff000 + p_memsz 0x2000 is not canonical");
	/* Ends past 2^64. */
	EXPECT_ELF64_FAILS(ph64(&b, 0)->p_vaddr = 0xfffffffffffff000ull, "not canonical");
	/* One virtual page, two physical pages. */
	EXPECT_ELF64_FAILS((ph64(&b, 0)->p_vaddr = HIGH + 0x100000, ph64(&b, 0)->p_memsz = 0x1800,
			    ph64(&b, 1)->p_vaddr = HIGH + 0x101800, ph64(&b, 1)->p_paddr = 0x200800,
			    eh64(&b)->e_entry = HIGH + 0x100000),
			   "shares a 0x1000-byte page with the mapping at 0xffffffff80100000");
}

UNIT_TEST(loader_elf64_identity_map_extent)
{
	/* 5 MiB of RAM: long mode identity-maps it up to the next 2 MiB, 6 MiB. */
	struct kr_vm *vm = vm_new(KR_MODE_LONG, 5u << 20);
	struct seg_spec seg = {PT_LOAD, PF_R | PF_X, 0x5ff000, 0x100000, 0x10, 0x1000};
	struct elf_buf b = build_elf(ELFCLASS64, seg.vaddr, &seg, 1);
	struct kr_image img;

	CHECK_FAILS_WITH(load(vm, &b, &img),
			 "p_vaddr [0x5ff000, 0x600000) lies in the identity-mapped low memory "
			 "[0, 0x600000), but p_paddr 0x100000 differs");
	free(b.data);

	seg.vaddr = 0x600000; /* just past it: a mapping of its own */
	b = build_elf(ELFCLASS64, seg.vaddr, &seg, 1);
	CHECK_OK(load(vm, &b, &img));
	CHECK_EQ(img.nmappings, 1);
	CHECK_EQ(img.mappings[0].gva, 0x600000);
	free(b.data);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_elf_too_many_mappings)
{
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	struct seg_spec segs[KR_MAX_MAPPINGS + 1];
	struct kr_image img;

	for (size_t i = 0; i < KR_MAX_MAPPINGS + 1; i++)
		segs[i] = (struct seg_spec){
		    PT_LOAD, PF_R | PF_X, HIGH + 0x100000 + i * 0x1000, 0x100000 + i * 0x1000,
		    0x10,    0x1000};
	struct elf_buf b = build_elf(ELFCLASS64, HIGH + 0x100000, segs, KR_MAX_MAPPINGS + 1);
	CHECK_FAILS_WITH(load(vm, &b, &img), "program header 16: more than 16 segments");
	CHECK(all_bytes(vm, 0, RAM, FILL));
	free(b.data);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_elf_load_addr_refused)
{
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	struct elf_buf b = good64();
	struct kr_image img;
	struct kr_load_options opt = {.has_load_addr = true, .load_addr = 0x200000};

	CHECK_FAILS_WITH(kr_load_buffer(vm, b.data, b.size, &opt, &img),
			 "a load address (kr_load_options.load_addr) is for raw images");
	free(b.data);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_elf_failure_keeps_image)
{
	/* A failed load leaves the caller's struct kr_image as it was. */
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	struct elf_buf b = good64();
	struct kr_image img = {.entry = 0x1234, .nmappings = 3};

	eh64(&b)->e_entry = 0;
	CHECK(load(vm, &b, &img) < 0);
	CHECK_EQ(img.entry, 0x1234);
	CHECK_EQ(img.nmappings, 3);
	free(b.data);
	kr_vm_destroy(vm);
}

/* ---- raw images ------------------------------------------------------------------ */

static const uint8_t raw_bytes[] = {0xf4, 0xeb, 0xfd, 0x90, 0x90, 0x12, 0x34};

UNIT_TEST(loader_raw_good)
{
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	struct kr_image img;

	CHECK_OK(kr_load_buffer(vm, raw_bytes, sizeof(raw_bytes), NULL, &img));
	CHECK(!img.is_elf);
	CHECK_EQ(img.entry, KVMRUN_DEFAULT_LOAD_ADDR);
	CHECK_EQ(img.start, KVMRUN_DEFAULT_LOAD_ADDR);
	CHECK_EQ(img.end, KVMRUN_DEFAULT_LOAD_ADDR + sizeof(raw_bytes));
	CHECK_EQ(img.nmappings, 0);
	CHECK(memcmp(vm->ram + KVMRUN_DEFAULT_LOAD_ADDR, raw_bytes, sizeof(raw_bytes)) == 0);
	CHECK_EQ(vm->ram[KVMRUN_DEFAULT_LOAD_ADDR + sizeof(raw_bytes)], FILL);

	struct kr_load_options opt = {
	    .has_load_addr = true, .load_addr = 0x200000, .has_entry = true, .entry = 0x200003};
	CHECK_OK(kr_load_buffer(vm, raw_bytes, sizeof(raw_bytes), &opt, &img));
	CHECK_EQ(img.entry, 0x200003);
	CHECK_EQ(img.start, 0x200000);
	CHECK(memcmp(vm->ram + 0x200000, raw_bytes, sizeof(raw_bytes)) == 0);

	/* The last bytes of RAM are fine. */
	opt.load_addr = RAM - sizeof(raw_bytes);
	opt.entry = RAM - 1;
	CHECK_OK(kr_load_buffer(vm, raw_bytes, sizeof(raw_bytes), &opt, &img));
	CHECK_EQ(img.end, RAM);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_raw_bad_ranges)
{
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	struct kr_image img;
	struct kr_load_options opt = {.has_load_addr = true, .load_addr = RAM - 3};

	CHECK_FAILS_WITH(kr_load_buffer(vm, raw_bytes, sizeof(raw_bytes), &opt, &img),
			 "raw image: guest physical 0x3ffffd + 0x7 bytes runs past the end of "
			 "guest RAM [0, 0x400000)");
	opt.load_addr = UINT64_MAX - 2;
	CHECK_FAILS_WITH(kr_load_buffer(vm, raw_bytes, sizeof(raw_bytes), &opt, &img),
			 "past the end of guest RAM");
	opt.load_addr = KVMRUN_SYSTEM_AREA_START - 1;
	CHECK_FAILS_WITH(kr_load_buffer(vm, raw_bytes, sizeof(raw_bytes), &opt, &img),
			 "overlaps kvmrun's system area [0x10000, 0x80000)");
	opt.load_addr = KVMRUN_SYSTEM_AREA_END - 1;
	CHECK_FAILS_WITH(kr_load_buffer(vm, raw_bytes, sizeof(raw_bytes), &opt, &img),
			 "system area");
	CHECK_FAILS_WITH(kr_load_buffer(vm, raw_bytes, 0, NULL, &img), "empty");
	CHECK(all_bytes(vm, 0, RAM, FILL));
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_raw_real_mode)
{
	struct kr_vm *vm = vm_new(KR_MODE_REAL, RAM);
	struct kr_image img;
	struct kr_load_options opt = {.has_load_addr = true};

	CHECK_OK(kr_load_buffer(vm, raw_bytes, sizeof(raw_bytes), NULL, &img));
	CHECK_EQ(img.start, KVMRUN_REAL_MODE_LOAD_ADDR);
	CHECK_EQ(img.entry, KVMRUN_REAL_MODE_LOAD_ADDR);
	CHECK(memcmp(vm->ram + KVMRUN_REAL_MODE_LOAD_ADDR, raw_bytes, sizeof(raw_bytes)) == 0);

	/* kvmrun's area belongs to the guest in real mode. */
	opt.load_addr = KVMRUN_SYSTEM_AREA_START;
	CHECK_OK(kr_load_buffer(vm, raw_bytes, sizeof(raw_bytes), &opt, &img));

	opt.load_addr = 0x100000;
	CHECK_FAILS_WITH(kr_load_buffer(vm, raw_bytes, sizeof(raw_bytes), &opt, &img),
			 "do not fit below 1 MiB");
	opt.load_addr = 0x100000 - 3;
	CHECK_FAILS_WITH(kr_load_buffer(vm, raw_bytes, sizeof(raw_bytes), &opt, &img),
			 "0x7 bytes at 0xffffd do not fit below 1 MiB");
	opt = (struct kr_load_options){.has_entry = true, .entry = 0x100000};
	CHECK_FAILS_WITH(kr_load_buffer(vm, raw_bytes, sizeof(raw_bytes), &opt, &img),
			 "entry 0x100000 is not below 1 MiB");
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_check_range)
{
	struct kr_vm *vm = vm_new(KR_MODE_PAGED32, RAM);

	CHECK_OK(kr_load_check_range(vm, 0, KVMRUN_SYSTEM_AREA_START, "x"));
	CHECK_OK(
	    kr_load_check_range(vm, KVMRUN_SYSTEM_AREA_END, RAM - KVMRUN_SYSTEM_AREA_END, "x"));
	CHECK_OK(kr_load_check_range(vm, RAM, 0, "x"));
	CHECK_FAILS_WITH(kr_load_check_range(vm, RAM, 1, "thing"), "thing: guest physical");
	CHECK_FAILS_WITH(kr_load_check_range(vm, 0x1000, UINT64_MAX, "x"), "past the end");
	CHECK_FAILS_WITH(kr_load_check_range(vm, 0, RAM, "x"), "system area");
	CHECK_FAILS_WITH(kr_load_check_range(vm, 0x20000, 1, "x"), "system area");
	vm->cfg.mode = KR_MODE_REAL;
	CHECK_OK(kr_load_check_range(vm, 0, RAM, "x"));
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_buffer_null_arguments)
{
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	struct kr_image img;

	CHECK_FAILS_WITH(kr_load_buffer(vm, NULL, 10, NULL, &img), "NULL");
	CHECK_FAILS_WITH(kr_load_buffer(NULL, raw_bytes, 1, NULL, &img), "NULL");
	CHECK_FAILS_WITH(kr_load_buffer(vm, raw_bytes, 1, NULL, NULL), "NULL");
	CHECK_FAILS_WITH(kr_load_file(vm, NULL, NULL, &img), "NULL");
	kr_vm_destroy(vm);
}

/* ---- files --------------------------------------------------------------------- */

/* A new temporary file holding `size` bytes of `data` (NULL: a sparse file). */
static char *temp_file(const void *data, size_t size)
{
	static char path[64];
	strcpy(path, "/tmp/kvmrun-test-loader-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		abort();
	}
	if ((data && write(fd, data, size) != (ssize_t)size) ||
	    (!data && ftruncate(fd, (off_t)size) < 0)) {
		perror("write test file");
		abort();
	}
	close(fd);
	return path;
}

UNIT_TEST(loader_file_good)
{
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	struct elf_buf b = good64();
	struct kr_image img;
	char *path = temp_file(b.data, b.size);

	CHECK_OK(kr_load_file(vm, path, NULL, &img));
	CHECK(img.is_elf);
	CHECK_EQ(img.entry, GOOD_ENTRY);
	CHECK(segment_landed(vm, 0, 0x100000, 0x100, 0x2000));
	unlink(path);

	path = temp_file(raw_bytes, sizeof(raw_bytes));
	CHECK_OK(kr_load_file(vm, path, NULL, &img));
	CHECK(!img.is_elf);
	CHECK_EQ(img.end, KVMRUN_DEFAULT_LOAD_ADDR + sizeof(raw_bytes));
	unlink(path);
	free(b.data);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_file_bad_elf_names_path)
{
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	struct elf_buf b = good64();
	struct kr_image img;
	char *path;

	eh64(&b)->e_machine = EM_ARM;
	path = temp_file(b.data, b.size);
	CHECK_FAILS_WITH(kr_load_file(vm, path, NULL, &img), path);
	CHECK_FAILS_WITH(kr_load_file(vm, path, NULL, &img), "e_machine is 40");
	unlink(path);
	free(b.data);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_file_refused)
{
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	struct kr_image img;
	char dir[] = "/tmp/kvmrun-test-loader-dir-XXXXXX";
	char *path;

	CHECK_FAILS_WITH(kr_load_file(vm, "/nonexistent/kvmrun-guest.elf", NULL, &img),
			 "open(\"/nonexistent/kvmrun-guest.elf\", O_RDONLY): No such file");

	CHECK(mkdtemp(dir) != NULL);
	CHECK_FAILS_WITH(kr_load_file(vm, dir, NULL, &img), "is a directory, not a regular file");
	rmdir(dir);

	CHECK_FAILS_WITH(kr_load_file(vm, "/dev/null", NULL, &img), "character device");

	path = temp_file(NULL, 0);
	CHECK_FAILS_WITH(kr_load_file(vm, path, NULL, &img), "is empty");
	unlink(path);

	path = temp_file(NULL, RAM + 1); /* sparse: costs no disk */
	CHECK_FAILS_WITH(kr_load_file(vm, path, NULL, &img),
			 "is 0x400001 bytes, larger than guest RAM (0x400000 bytes)");
	unlink(path);

	/* Exactly RAM-sized loads: the raw loader then refuses where it goes. */
	path = temp_file(NULL, RAM);
	CHECK_FAILS_WITH(kr_load_file(vm, path, NULL, &img), "past the end of guest RAM");
	unlink(path);
	kr_vm_destroy(vm);
}

/* ---- identity-mapped segments: their pages and permissions (kr_image.segments) ---- */

UNIT_TEST(loader_elf64_identity_segments_keep_their_flags)
{
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	/* text R+X, rodata R in the middle of a page, data R+W; one higher-half segment */
	static const struct seg_spec segs[] = {
	    {PT_LOAD, PF_R | PF_X, 0x100000, 0x100000, 0x100, 0x1800},
	    {PT_LOAD, PF_R, 0x102800, 0x102800, 0x10, 0x1000},
	    {PT_LOAD, PF_R | PF_W, 0x104000, 0x104000, 0x10, 0x10},
	    {PT_LOAD, PF_R | PF_W, HIGH + 0x300000, 0x300000, 0x10, 0x10},
	};
	struct elf_buf b = build_elf(ELFCLASS64, 0x100000, segs, 4);
	struct kr_image img;

	CHECK_OK(load(vm, &b, &img));
	CHECK_EQ(img.nsegments, 3);
	CHECK_EQ(img.segments[0].gva, 0x100000);
	CHECK_EQ(img.segments[0].gpa, 0x100000);
	CHECK_EQ(img.segments[0].size, 0x2000);
	CHECK_EQ(img.segments[0].flags, KR_MAP_EXEC);
	CHECK_EQ(img.segments[1].gva, 0x102000); /* whole pages: [0x102000, 0x104000) */
	CHECK_EQ(img.segments[1].size, 0x2000);
	CHECK_EQ(img.segments[1].flags, 0);
	CHECK_EQ(img.segments[2].gva, 0x104000);
	CHECK_EQ(img.segments[2].size, 0x1000);
	CHECK_EQ(img.segments[2].flags, KR_MAP_WRITE);
	CHECK_EQ(img.nmappings, 1);
	CHECK_EQ(img.mappings[0].gva, HIGH + 0x300000);
	free(b.data);
	kr_vm_destroy(vm);
}

UNIT_TEST(loader_elf64_too_many_identity_segments)
{
	struct kr_vm *vm = vm_new(KR_MODE_LONG, RAM);
	struct seg_spec segs[KR_MAX_SEGMENTS + 1];
	struct kr_image img;

	for (size_t i = 0; i <= KR_MAX_SEGMENTS; i++)
		segs[i] = (struct seg_spec){PT_LOAD, PF_R | PF_X, 0x100000 + i * 0x1000,
					    0x100000 + i * 0x1000, 0x10, 0x1000};
	struct elf_buf b = build_elf(ELFCLASS64, 0x100000, segs, KR_MAX_SEGMENTS);
	CHECK_OK(load(vm, &b, &img));
	CHECK_EQ(img.nsegments, KR_MAX_SEGMENTS);
	free(b.data);
	b = build_elf(ELFCLASS64, 0x100000, segs, KR_MAX_SEGMENTS + 1);
	memset(vm->ram, FILL, RAM);
	CHECK_FAILS_WITH(load(vm, &b, &img), "more than 32 identity-mapped segments");
	CHECK(all_bytes(vm, 0, RAM, FILL));
	free(b.data);
	kr_vm_destroy(vm);
}
