/* SPDX-License-Identifier: MIT */
/* test_bzimage.c - the boot protocol's checks and the zero page, on a fake VM. */
#include <asm/bootparam.h>
#include <stddef.h>
#include <string.h>

#include "loader/bzimage.h"
#include "unit.h"

#define SETUP (2 * 512)
#define KSIZE 64

/* A minimal bzImage: one setup sector after the boot sector, 64 bytes of kernel. */
static void make_image(uint8_t *img)
{
	memset(img, 0, SETUP + KSIZE);
	struct setup_header *h = (struct setup_header *)(img + 0x1f1);
	h->setup_sects = 1;
	h->boot_flag = 0xaa55;
	h->jump = 0x66eb; /* the header runs to 0x202 + 0x66 */
	h->header = 0x53726448;
	h->version = 0x020f;
	h->loadflags = LOADED_HIGH;
	h->relocatable_kernel = 1;
	h->xloadflags = XLF_KERNEL_64;
	h->kernel_alignment = 0x200000;
	h->syssize = KSIZE / 16;
	h->init_size = 0x10000;
	h->pref_address = 0x100000;
	h->cmdline_size = 32;
	h->initrd_addr_max = 0x7fffffff;
	for (int i = 0; i < KSIZE; i++)
		img[SETUP + i] = (uint8_t)(0xc0 + i);
}

UNIT_TEST(bzimage_loads_kernel_zero_page_e820_initrd)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, 4u << 20);
	uint8_t img[SETUP + KSIZE], initrd[5000];
	make_image(img);
	memset(initrd, 0x5a, sizeof(initrd));
	struct kr_image im;
	struct kr_linux_info info;
	CHECK_OK(kr_linux_load(vm, img, sizeof(img), initrd, sizeof(initrd), "console=ttyS0", &im,
			       &info));
	CHECK_EQ(im.entry, KR_LINUX_KERNEL + 0x200);
	CHECK(memcmp(vm->ram + KR_LINUX_KERNEL, img + SETUP, KSIZE) == 0);
	CHECK(strcmp((char *)vm->ram + KR_LINUX_CMDLINE, "console=ttyS0") == 0);
	const struct boot_params *bp = (const void *)(vm->ram + KR_LINUX_ZERO_PAGE);
	CHECK_EQ(bp->hdr.cmd_line_ptr, KR_LINUX_CMDLINE);
	CHECK_EQ(bp->hdr.type_of_loader, 0xff);
	CHECK_EQ(bp->hdr.ramdisk_size, sizeof(initrd));
	CHECK_EQ(bp->hdr.ramdisk_image, info.initrd_gpa);
	CHECK_EQ(info.initrd_gpa % 4096, 0);
	CHECK(info.initrd_gpa + sizeof(initrd) <= (4u << 20) && info.initrd_gpa >= info.kernel_end);
	CHECK(memcmp(vm->ram + info.initrd_gpa, initrd, sizeof(initrd)) == 0);
	/* RAM, the system area reserved, the legacy hole, RAM above 1 MiB. */
	CHECK_EQ(bp->e820_entries, 5);
	CHECK_EQ(bp->e820_table[1].addr, KVMRUN_SYSTEM_AREA_START);
	CHECK_EQ(bp->e820_table[1].type, 2);
	CHECK_EQ(bp->e820_table[4].addr + bp->e820_table[4].size, 4u << 20);
	kr_vm_destroy(vm);
}

UNIT_TEST(bzimage_refuses_what_it_cannot_boot)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, 4u << 20);
	uint8_t img[SETUP + KSIZE];
	struct kr_image im;
	struct kr_linux_info info;
	struct setup_header *h = (struct setup_header *)(img + 0x1f1);
#define REFUSED(change, msg)                                                               \
	do {                                                                               \
		make_image(img);                                                           \
		change;                                                                    \
		CHECK_FAILS_WITH(kr_linux_load(vm, img, sizeof(img), NULL, 0, "", &im, &info), msg); \
	} while (0)
	REFUSED(h->boot_flag = 0, "no Linux boot header");
	REFUSED(h->header = 0, "no Linux boot header");
	REFUSED(h->version = 0x0205, "older than 2.06");
	REFUSED(h->xloadflags = 0, "XLF_KERNEL_64");
	REFUSED(h->relocatable_kernel = 0, "not relocatable");
	REFUSED(h->loadflags = 0, "zImage");
	REFUSED(h->kernel_alignment = 3, "power of two");
	REFUSED(h->syssize = KSIZE / 16 + 1, "truncated");
	REFUSED(h->setup_sects = 200, "do not fit the file");
	REFUSED(h->init_size = 8u << 20, "but the VM has 4 MiB");
	make_image(img);
	CHECK_FAILS_WITH(kr_linux_load(vm, img, 0x230, NULL, 0, "", &im, &info), "ends before");
	CHECK_FAILS_WITH(kr_linux_load(vm, img, sizeof(img), NULL, 0,
				       "a command line longer than thirty-two bytes", &im, &info),
			 "takes at most 32");
	static uint8_t big[3u << 20];
	CHECK_FAILS_WITH(kr_linux_load(vm, img, sizeof(img), big, sizeof(big), "", &im, &info),
			 "does not fit");
	kr_vm_destroy(vm);
}
