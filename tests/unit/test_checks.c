/* SPDX-License-Identifier: MIT */
/*
 * test_checks.c - input checks that say what is wrong, and console output
 * that is written as it comes, without KVM.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

static off_t file_size(int fd)
{
	return lseek(fd, 0, SEEK_END);
}

UNIT_TEST(console_writes_each_line_at_its_newline)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, 2u << 20);
	char path[] = "/tmp/kvmrun-console-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	kr_console_get(vm)->fd = fd;
	/* Byte by byte, as port 0xE9 delivers it: kept until the line ends. */
	CHECK_OK(kr_console_write(vm, "a", 1));
	CHECK_OK(kr_console_write(vm, "b", 1));
	CHECK_EQ(file_size(fd), 0);
	CHECK_OK(kr_console_write(vm, "\n", 1));
	CHECK_EQ(file_size(fd), 3);
	/* A newline anywhere in a longer piece writes all of it. */
	CHECK_OK(kr_console_write(vm, "c\nd", 3));
	CHECK_EQ(file_size(fd), 6);
	CHECK_EQ(kr_console_get(vm)->used, 0);
	char back[8] = "";
	CHECK_EQ(pread(fd, back, sizeof(back), 0), 6);
	CHECK(memcmp(back, "ab\nc\nd", 6) == 0);
	close(fd);
	unlink(path);
	kr_vm_destroy(vm);
}

/* The message counts the bytes lost, not what is left after dropping them. */
UNIT_TEST(console_write_error_names_the_bytes_lost)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, 2u << 20);
	kr_console_get(vm)->fd = 1000; /* not open */
	CHECK_OK(kr_console_write(vm, "xyz", 3));
	CHECK_FAILS_WITH(kr_console_flush(vm), "console: write of 3 bytes to fd 1000: Bad file");
	CHECK_EQ(kr_console_get(vm)->used, 0); /* dropped: a broken fd is not retried forever */
	CHECK_FAILS_WITH(kr_console_write(vm, "line\n", 5), "console: write of 5 bytes");
	kr_vm_destroy(vm);
}

UNIT_TEST(vm_create_refuses_an_unusable_console_fd)
{
	struct kr_vm_config cfg;
	struct kr_vm *vm = (struct kr_vm *)&cfg; /* must be set to NULL on failure */
	kr_vm_config_init(&cfg);
	cfg.console_fd = -1;
	CHECK_FAILS_WITH(kr_vm_create(&vm, &cfg), "cfg.console_fd is -1");
	CHECK(vm == NULL);
	cfg.console_fd = 1000;
	CHECK_FAILS_WITH(kr_vm_create(&vm, &cfg), "cfg.console_fd 1000: fcntl(F_GETFL): Bad file");
	int ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(ro >= 0);
	cfg.console_fd = ro;
	CHECK_FAILS_WITH(kr_vm_create(&vm, &cfg), "is open read-only");
	close(ro);
}

UNIT_TEST(mem_add_refuses_huge_and_unaddressable_slots)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, 2u << 20);
	int slot = -7;
	CHECK_FAILS_WITH(kr_mem_add(vm, 0x100000000ull, 1ull << 40, 0, &slot),
			 "size 0x10000000000 is larger than the maximum of 3072 MiB");
	CHECK_FAILS_WITH(kr_mem_add(vm, 0x100000000ull, KR_MEM_MAX + 0x1000, 0, &slot),
			 "larger than the maximum");
	/* Within the size limit, but above what the guest can address. */
	vm->cpu = (struct kr_guest_cpu){.known = true, .maxphyaddr = 36};
	CHECK_FAILS_WITH(kr_mem_add(vm, (1ull << 36) - 0x1000, 0x2000, 0, &slot),
			 "ends above the guest's 36-bit physical address space");
	CHECK_FAILS_WITH(kr_mem_add(vm, 1ull << 36, 0x1000, 0, NULL), "36-bit");
	/* Not above: fails only later, at the ioctl (the fake VM has no KVM). */
	CHECK_FAILS_WITH(kr_mem_add(vm, (1ull << 36) - 0x1000, 0x1000, 0, NULL),
			 "KVM_SET_USER_MEMORY_REGION");
	/* Before kr_vcpu_prepare: the host's width bounds the slot. */
	vm->cpu = (struct kr_guest_cpu){0};
	CHECK_FAILS_WITH(kr_mem_add(vm, 0xffffffff00000000ull, 0x1000, 0, NULL),
			 "physical address space");
	CHECK_EQ(slot, -7); /* untouched by every failure */
	kr_vm_destroy(vm);
}

static int nop_handler(struct kr_vm *vm, void *opaque, uint64_t addr, void *data, uint32_t size,
		       bool is_write)
{
	(void)vm, (void)opaque, (void)addr, (void)data, (void)size, (void)is_write;
	return 0;
}

UNIT_TEST(bus_register_says_what_is_wrong)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, 2u << 20);
	size_t board_devices = vm->ndevices; /* the board's ports */
	CHECK_FAILS_WITH(kr_bus_register(vm, KR_SPACE_PIO, 0x3f8, 8, NULL, NULL),
			 "port range [0x3f8, +0x8) has no handler (NULL)");
	CHECK_FAILS_WITH(kr_bus_register(vm, (enum kr_space)7, 0x3f8, 8, nop_handler, NULL),
			 "invalid space 7 (KR_SPACE_PIO or KR_SPACE_MMIO)");
	CHECK_FAILS_WITH(kr_bus_register(vm, KR_SPACE_MMIO, 0xd0000000, 0, nop_handler, NULL),
			 "MMIO range at 0xd0000000 is empty (len 0)");
	CHECK_FAILS_WITH(kr_bus_register(vm, KR_SPACE_MMIO, UINT64_MAX, 2, nop_handler, NULL),
			 "wraps around");
	CHECK_EQ(vm->ndevices, board_devices);
	CHECK_OK(kr_bus_register(vm, KR_SPACE_MMIO, 0xd0000000, 0x1000, nop_handler, NULL));
	kr_vm_destroy(vm);
}

UNIT_TEST(raw_entry_must_lie_inside_the_image)
{
	static const uint8_t code[16] = {0xf4};
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, 4u << 20);
	struct kr_image img;
	struct kr_load_options opt = {.has_load_addr = true, .load_addr = 0x200000,
				      .has_entry = true, .entry = 0x200000 + sizeof(code)};
	CHECK_FAILS_WITH(kr_load_buffer(vm, code, sizeof(code), &opt, &img),
			 "raw image: entry 0x200010 is outside the image loaded at "
			 "[0x200000, 0x200010)");
	opt.entry = 0x1fffff;
	CHECK_FAILS_WITH(kr_load_buffer(vm, code, sizeof(code), &opt, &img), "entry 0x1fffff");
	opt.entry = 0x7ff00000000ull; /* outside RAM altogether */
	CHECK_FAILS_WITH(kr_load_buffer(vm, code, sizeof(code), &opt, &img), "outside the image");
	opt.entry = 0x200000 + sizeof(code) - 1;
	CHECK_OK(kr_load_buffer(vm, code, sizeof(code), &opt, &img));
	CHECK_EQ(img.entry, 0x20000f);
	kr_vm_destroy(vm);

	/* Real mode too: an entry below 1 MiB but outside the image. */
	vm = unit_vm_new(KR_MODE_REAL, 4u << 20);
	opt = (struct kr_load_options){.has_entry = true, .entry = 0x7b00};
	CHECK_FAILS_WITH(kr_load_buffer(vm, code, sizeof(code), &opt, &img),
			 "entry 0x7b00 is outside the image loaded at [0x7c00, 0x7c10)");
	kr_vm_destroy(vm);
}
