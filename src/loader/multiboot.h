/* SPDX-License-Identifier: MIT */
/*
 * loader/multiboot.h - Multiboot v1: the structures of "The Multiboot
 * Specification version 0.6.96" (Free Software Foundation; sections 3.1.1
 * "The layout of Multiboot header", 3.3 "Boot information format") and the
 * loader's entry points.
 *
 * No system header has them (GRUB's multiboot.h ships with no Debian -dev
 * package; the `multiboot` package holds the spec as documentation), so
 * they are written here once, with their offsets checked. This part is
 * freestanding (<stdint.h> only): the multiboot test guest includes it too.
 */
#ifndef KVMRUN_LOADER_MULTIBOOT_H
#define KVMRUN_LOADER_MULTIBOOT_H

#include <stddef.h>
#include <stdint.h>

#define MULTIBOOT_HEADER_MAGIC 0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u /* in EAX at the kernel's entry */
#define MULTIBOOT_SEARCH 8192                  /* the header lies in the first 8 KiB ... */
#define MULTIBOOT_HEADER_ALIGN 4               /* ... 32-bit aligned */

/* Header flags: bits 0-15 are requirements (a loader must refuse what it lacks), 16-31 optional. */
#define MULTIBOOT_PAGE_ALIGN 0x00000001u  /* modules on 4 KiB boundaries */
#define MULTIBOOT_MEMORY_INFO 0x00000002u /* mem_* and mmap_* in the information */
#define MULTIBOOT_VIDEO_MODE 0x00000004u  /* a video mode table */
#define MULTIBOOT_REQUIRED_MASK 0x0000ffffu
#define MULTIBOOT_AOUT_KLUDGE 0x00010000u /* the address fields of the header are valid */

struct multiboot_header {
	uint32_t magic, flags, checksum; /* magic + flags + checksum == 0 (mod 2^32) */
	/* valid with MULTIBOOT_AOUT_KLUDGE (physical addresses) */
	uint32_t header_addr;   /* where this header's magic lands */
	uint32_t load_addr;     /* where the text segment starts */
	uint32_t load_end_addr; /* end of the data segment; 0: the file's end */
	uint32_t bss_end_addr;  /* end of the bss; 0: no bss */
	uint32_t entry_addr;
	/* valid with MULTIBOOT_VIDEO_MODE */
	uint32_t mode_type, width, height, depth;
};

/* Information flags: which fields of struct multiboot_info are valid. */
#define MULTIBOOT_INFO_MEMORY 0x00000001u
#define MULTIBOOT_INFO_BOOTDEV 0x00000002u
#define MULTIBOOT_INFO_CMDLINE 0x00000004u
#define MULTIBOOT_INFO_MODS 0x00000008u
#define MULTIBOOT_INFO_MEM_MAP 0x00000040u
#define MULTIBOOT_INFO_BOOT_LOADER_NAME 0x00000200u

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper; /* KiB from 0, KiB from 1 MiB to the first hole */
	uint32_t boot_device;
	uint32_t cmdline; /* physical address of a NUL-terminated string */
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe_control_info, vbe_mode_info;
	uint16_t vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
	uint64_t framebuffer_addr;
	uint32_t framebuffer_pitch, framebuffer_width, framebuffer_height;
	uint8_t framebuffer_bpp, framebuffer_type;
	uint8_t color_info[6];
} __attribute__((packed));

struct multiboot_module {
	uint32_t mod_start, mod_end; /* [mod_start, mod_end) */
	uint32_t string;             /* physical address of a NUL-terminated string */
	uint32_t reserved;
};

/* One memory map entry; `size` counts the bytes after itself (20), the next entry follows. */
struct multiboot_mmap_entry {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

#define MULTIBOOT_MEMORY_AVAILABLE 1
#define MULTIBOOT_MEMORY_RESERVED 2

_Static_assert(sizeof(struct multiboot_header) == 48, "multiboot header: 12 words");
_Static_assert(offsetof(struct multiboot_header, entry_addr) == 28, "entry_addr at offset 28");
_Static_assert(offsetof(struct multiboot_info, mmap_length) == 44, "mmap_length at offset 44");
_Static_assert(offsetof(struct multiboot_info, boot_loader_name) == 64, "boot_loader_name at 64");
_Static_assert(offsetof(struct multiboot_info, vbe_mode) == 80, "vbe_mode at 80");
_Static_assert(offsetof(struct multiboot_info, framebuffer_addr) == 88, "framebuffer_addr at 88");
_Static_assert(sizeof(struct multiboot_info) == 116, "multiboot information: 116 bytes");
_Static_assert(sizeof(struct multiboot_module) == 16, "module entry: 16 bytes");
_Static_assert(sizeof(struct multiboot_mmap_entry) == 24, "mmap entry: size + 20 bytes");

#ifndef KVMRUN_MULTIBOOT_SPEC_ONLY /* the guest wants only the spec's part */
#include "kvmrun.h"

/* Limits on what a caller may pass (the info block must stay small). */
#define KR_MULTIBOOT_MAX_MODULES 32
#define KR_MULTIBOOT_MAX_STRING 4096 /* bytes of a command line or module string, NUL included */

/*
 * Where the multiboot header is: 1 and its offset when the first 8 KiB of
 * data hold the magic at a 4-byte aligned offset, 0 when not.
 */
int kr_multiboot_find(const uint8_t *data, size_t size, size_t *offset);
/* Load a kernel kr_multiboot_find found a header in (kr_load_buffer calls it). */
int kr_load_multiboot(struct kr_vm *vm, const uint8_t *data, size_t size, size_t header_offset,
		      const struct kr_load_options *opt, struct kr_image *img);
/* A module from memory (kr_multiboot_add_module reads the file and calls this). */
int kr_multiboot_add_module_buffer(struct kr_vm *vm, const void *data, size_t size,
				   const char *string);
#endif

#endif
