/* SPDX-License-Identifier: MIT */
/* test_core.c - guest memory accessor, bus, console, errors, modes, without KVM. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

/* kr_vm_create_detached: RAM in slot 0, writable, and nothing of KVM. */
UNIT_TEST(vm_create_detached_has_ram_and_no_kvm)
{
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.mem_size = 4u << 20;
	struct kr_vm *vm = (struct kr_vm *)1;
	CHECK_OK(kr_vm_create_detached(&vm, &cfg));
	CHECK(vm && vm->ram && vm->slots[0].used && vm->slots[0].host == vm->ram);
	CHECK_EQ(vm->slots[0].gpa, 0);
	CHECK_EQ(vm->slots[0].size, 4u << 20);
	CHECK(vm->kvm_fd < 0 && vm->vm_fd < 0 && vm->vcpus[0].fd < 0 && !vm->vcpus[0].run);
	vm->ram[(4u << 20) - 1] = 0x5a;
	CHECK_EQ(*(uint8_t *)kr_gpa_ptr(vm, (4u << 20) - 1, 1), 0x5a);
	kr_vm_destroy(vm);

	/* The same checks of the configuration as kr_vm_create. */
	cfg.mem_size = (4u << 20) + 1;
	vm = (struct kr_vm *)1;
	CHECK_FAILS_WITH(kr_vm_create_detached(&vm, &cfg), "multiple of 4 KiB");
	CHECK(vm == NULL);
	cfg.mem_size = 1u << 20;
	CHECK_FAILS_WITH(kr_vm_create_detached(&vm, &cfg), "memory size");
}

UNIT_TEST(gpa_accessor_checks_bounds_and_overflow)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, 4u << 20);
	CHECK(kr_gpa_ptr(vm, 0, 4u << 20) == vm->ram);
	CHECK(kr_gpa_ptr(vm, (4u << 20) - 1, 1) == vm->ram + (4u << 20) - 1);
	CHECK(kr_gpa_ptr(vm, 4u << 20, 0) != NULL); /* empty range at the end */
	CHECK(kr_gpa_ptr(vm, (4u << 20) - 1, 2) == NULL);
	CHECK(strstr(kr_last_error(), "not inside guest memory"));
	CHECK(kr_gpa_ptr(vm, 1, UINT64_MAX) == NULL);
	CHECK(kr_gpa_ptr(vm, UINT64_MAX, 2) == NULL);
	CHECK(kr_gpa_ptr(vm, 0x100000, UINT64_MAX - 0xfffff) == NULL);
	kr_vm_destroy(vm);
}

UNIT_TEST(range_ok_is_overflow_safe)
{
	CHECK(kr_range_ok(0, 0, 0));
	CHECK(kr_range_ok(10, 0, 10));
	CHECK(!kr_range_ok(11, 0, 10));
	CHECK(!kr_range_ok(5, 6, 10));
	CHECK(!kr_range_ok(UINT64_MAX, 2, UINT64_MAX));
	CHECK(!kr_range_ok(2, UINT64_MAX, UINT64_MAX));
	CHECK(kr_range_ok(1, UINT64_MAX - 1, UINT64_MAX));
	char buf[8];
	CHECK(kr_span(buf, 8, 8, 0) == buf + 8);
	CHECK(kr_span(buf, 8, 4, 5) == NULL);
}

static int dummy_handler(struct kr_vm *vm, void *opaque, uint64_t addr, void *data, uint32_t size,
			 bool is_write)
{
	(void)vm, (void)addr, (void)data, (void)size, (void)is_write;
	(*(int *)opaque)++;
	return 0;
}

UNIT_TEST(bus_finds_whole_accesses_only)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, 2u << 20);
	int hits = 0;
	CHECK_OK(kr_bus_register(vm, KR_SPACE_PIO, 0x2f8, 8, dummy_handler, &hits));
	CHECK_OK(kr_bus_register(vm, KR_SPACE_MMIO, 0xd0000000, 0x1000, dummy_handler, &hits));
	CHECK(kr_bus_find(vm, KR_SPACE_PIO, 0x2f8, 1) != NULL);
	CHECK(kr_bus_find(vm, KR_SPACE_PIO, 0x2ff, 1) != NULL);
	CHECK(kr_bus_find(vm, KR_SPACE_PIO, 0x2ff, 2) == NULL); /* straddles the end */
	CHECK(kr_bus_find(vm, KR_SPACE_PIO, 0x2f7, 1) == NULL);
	CHECK(kr_bus_find(vm, KR_SPACE_MMIO, 0x2f8, 1) == NULL); /* other space */
	CHECK(kr_bus_find(vm, KR_SPACE_MMIO, 0xd0000ffc, 4) != NULL);
	CHECK(kr_bus_find(vm, KR_SPACE_MMIO, UINT64_MAX, 8) == NULL);
	CHECK_FAILS_WITH(kr_bus_register(vm, KR_SPACE_PIO, 0x2fc, 8, dummy_handler, &hits),
			 "overlaps");
	CHECK_FAILS_WITH(kr_bus_register(vm, KR_SPACE_PIO, 0xfffe, 4, dummy_handler, &hits),
			 "0xffff");
	CHECK_FAILS_WITH(kr_bus_register(vm, KR_SPACE_MMIO, UINT64_MAX, 2, dummy_handler, &hits),
			 "invalid");
	kr_vm_destroy(vm);
}

UNIT_TEST(console_buffers_and_flushes)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, 2u << 20);
	char path[] = "/tmp/kvmrun-console-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	kr_console_get(vm)->fd = fd;
	char big[KR_CONSOLE_BUF * 2 + 100];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	CHECK_OK(kr_console_write(vm, "hi", 2));
	CHECK_EQ(lseek(fd, 0, SEEK_END), 0); /* buffered, not written yet */
	CHECK_OK(kr_console_write(vm, big, sizeof(big)));
	CHECK_OK(kr_console_flush(vm));
	CHECK_EQ(lseek(fd, 0, SEEK_END), sizeof(big) + 2);
	char back[sizeof(big) + 2];
	CHECK_EQ(pread(fd, back, sizeof(back), 0), sizeof(back));
	CHECK(memcmp(back, "hi", 2) == 0 && memcmp(back + 2, big, sizeof(big)) == 0);
	close(fd);
	unlink(path);
	/* A broken fd is an error with a message, not a hang. */
	kr_console_get(vm)->fd = 1000;
	CHECK_OK(kr_console_write(vm, "x", 1));
	CHECK_FAILS_WITH(kr_console_flush(vm), "console: write");
	kr_vm_destroy(vm);
}

UNIT_TEST(errors_keep_context)
{
	kr_err("inner %d", 42);
	kr_err_context("outer");
	CHECK(strcmp(kr_last_error(), "outer: inner 42") == 0);
	errno = ENOENT;
	kr_err_sys("open %s", "/nope");
	CHECK(strcmp(kr_last_error(), "open /nope: No such file or directory") == 0);
	char long_prefix[600];
	memset(long_prefix, 'p', sizeof(long_prefix) - 1);
	long_prefix[sizeof(long_prefix) - 1] = 0;
	kr_err_context("%s", long_prefix); /* cut, never overflowed */
	CHECK(strlen(kr_last_error()) < 512);
}

UNIT_TEST(mode_names_round_trip)
{
	for (int m = KR_MODE_REAL; m <= KR_MODE_LONG; m++) {
		enum kr_mode back;
		CHECK_OK(kr_mode_parse(kr_mode_name((enum kr_mode)m), &back));
		CHECK_EQ(back, m);
	}
	enum kr_mode x;
	CHECK_FAILS_WITH(kr_mode_parse("vm86", &x), "unknown CPU mode");
	CHECK(strcmp(kr_exit_name(KVM_EXIT_SHUTDOWN), "KVM_EXIT_SHUTDOWN") == 0);
	CHECK(strcmp(kr_exit_name(9999), "KVM_EXIT_(unknown)") == 0);
}

UNIT_TEST(vm_config_is_checked_before_kvm)
{
	struct kr_vm_config cfg;
	struct kr_vm *vm;
	kr_vm_config_init(&cfg);
	cfg.mem_size = 1u << 20;
	CHECK_FAILS_WITH(kr_vm_create(&vm, &cfg), "memory size");
	cfg.mem_size = (4u << 20) + 1;
	CHECK_FAILS_WITH(kr_vm_create(&vm, &cfg), "4 KiB");
	cfg.mem_size = KR_MEM_MAX + 0x1000;
	CHECK_FAILS_WITH(kr_vm_create(&vm, &cfg), "memory size");
	cfg.mem_size = 4u << 20;
	cfg.mode = (enum kr_mode)7;
	CHECK_FAILS_WITH(kr_vm_create(&vm, &cfg), "mode");
	CHECK(vm == NULL);
}
