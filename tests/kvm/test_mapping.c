/* SPDX-License-Identifier: MIT */
/*
 * test_mapping.c - memory and devices the host adds above RAM are reachable
 * from a long-mode guest: kr_vcpu_prepare identity-maps every slot
 * (read-only ones read-only) and every MMIO range, all no-execute. The
 * guests are a few hand-assembled 64-bit instructions at 1 MiB.
 */
#include <string.h>
#include <unistd.h>

#include "kvmtest.h"

#define ROM_GPA 0x100000000ull /* 4 GiB: above RAM and above 32-bit addresses */
#define DEV_GPA 0xd0000000ull  /* where PCs put MMIO */




/* A read-only slot at ROM_GPA holding `byte` in its first byte. */
static bool add_rom(struct kvmtest_vm *g, char byte)
{
	int slot;
	if (kr_mem_add(g->vm, ROM_GPA, 0x1000, KR_MEM_READONLY, &slot) < 0) {
		unit_fail(__FILE__, __LINE__, "kr_mem_add: %s", kr_last_error());
		return false;
	}
	uint8_t *rom = kr_gpa_ptr(g->vm, ROM_GPA, 1);
	if (rom)
		rom[0] = (uint8_t)byte;
	return rom != NULL;
}

struct device {
	int reads, writes;
	uint64_t addr;
	uint8_t value;
};

/* Reads answer 'Z'; writes are recorded. */
static int device_io(struct kr_vm *vm, void *opaque, uint64_t addr, void *data, uint32_t size,
		     bool is_write)
{
	(void)vm;
	struct device *d = opaque;
	d->addr = addr;
	if (is_write) {
		d->writes++;
		d->value = *(uint8_t *)data;
	} else {
		d->reads++;
		memset(data, 'Z', size);
	}
	return 0;
}

/*
 * movabs al,[ROM_GPA]; out 0xe9,al; mov eax,DEV_GPA; mov al,[rax]; out 0xe9,al; hlt
 */
static const uint8_t read_rom_and_device[] = {
	0xa0, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xe6, 0xe9, 0xb8, 0x00,
	0x00, 0x00, 0xd0, 0x8a, 0x00, 0xe6, 0xe9, 0xf4,
};

UNIT_TEST(long_mode_reads_a_rom_slot_and_a_device_above_ram)
{
	struct kvmtest_vm g;
	struct device dev = {0};
	char out[16];
	if (!kvmtest_start(&g, KR_MODE_LONG))
		return;
	if (add_rom(&g, 'R') &&
	    kr_bus_register(g.vm, KR_SPACE_MMIO, DEV_GPA, 0x1000, device_io, &dev) == 0 &&
	    kvmtest_load(g.vm, read_rom_and_device, sizeof(read_rom_and_device), NULL, 0)) {
		struct kr_stop s = kvmtest_run(g.vm);
		CHECK_EQ(s.reason, KR_STOP_HLT);
		if (s.reason != KR_STOP_HLT)
			unit_fail(__FILE__, __LINE__, "stopped: %s", s.message);
		snprintf(out, sizeof(out), "%s", kvmtest_output(&g));
		CHECK(strcmp(out, "RZ") == 0);
		CHECK_EQ(dev.reads, 1);
		CHECK_EQ(dev.addr, DEV_GPA);

		/* What the guest sees, both ways: the walker and KVM. */
		struct kr_translation t;
		CHECK_OK(kr_translate(g.vm, ROM_GPA, &t));
		CHECK(t.valid && t.gpa == ROM_GPA);
		CHECK_OK(kr_translate(g.vm, DEV_GPA + 0x10, &t));
		CHECK(t.valid && t.gpa == DEV_GPA + 0x10);
	}
	kvmtest_end(&g);
}

/* movabs rax,ROM_GPA; mov byte [rax],0x41; hlt */
static const uint8_t write_rom[] = {0x48, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
				    0x00, 0x00, 0xc6, 0x00, 0x41, 0xf4};

UNIT_TEST(long_mode_maps_a_rom_slot_read_only)
{
	struct kvmtest_vm g;
	if (!kvmtest_start(&g, KR_MODE_LONG))
		return;
	if (add_rom(&g, 'R') && kvmtest_load(g.vm, write_rom, sizeof(write_rom), NULL, 0)) {
		/* The page tables refuse the store: #PF, present | write, at the ROM. */
		struct kr_stop s = kvmtest_run(g.vm);
		CHECK_EQ(s.reason, KR_STOP_EXCEPTION);
		CHECK_EQ(s.exception.vector, 14);
		CHECK_EQ(s.exception.error_code, 0x3);
		CHECK_EQ(s.exception.cr2, ROM_GPA);
	}
	kvmtest_end(&g);
}

UNIT_TEST(long_mode_rom_writes_reach_a_device_over_it)
{
	struct kvmtest_vm g;
	struct device dev = {0};
	if (!kvmtest_start(&g, KR_MODE_LONG))
		return;
	if (add_rom(&g, 'R') &&
	    kr_bus_register(g.vm, KR_SPACE_MMIO, ROM_GPA, 0x1000, device_io, &dev) == 0 &&
	    kvmtest_load(g.vm, write_rom, sizeof(write_rom), NULL, 0)) {
		struct kr_stop s = kvmtest_run(g.vm);
		CHECK_EQ(s.reason, KR_STOP_HLT);
		CHECK_EQ(dev.writes, 1);
		CHECK_EQ(dev.addr, ROM_GPA);
		CHECK_EQ(dev.value, 0x41);
	}
	kvmtest_end(&g);
}

/*
 * movabs rbx,ROM_GPA + 0x2000; mov byte [rbx],0x41; mov al,[rbx]; out 0xe9,al;
 * mov byte [rbx],0xc3 (ret); call rbx; hlt
 */
static const uint8_t use_ram_slot[] = {0x48, 0xbb, 0x00, 0x20, 0x00, 0x00, 0x01, 0x00, 0x00,
				       0x00, 0xc6, 0x03, 0x41, 0x8a, 0x03, 0xe6, 0xe9, 0xc6,
				       0x03, 0xc3, 0xff, 0xd3, 0xf4};

UNIT_TEST(long_mode_maps_a_ram_slot_writable_and_no_execute)
{
	struct kvmtest_vm g;
	int slot;
	char out[16];
	if (!kvmtest_start(&g, KR_MODE_LONG))
		return;
	CHECK_OK(kr_mem_add(g.vm, ROM_GPA + 0x2000, 0x1000, 0, &slot));
	if (kvmtest_load(g.vm, use_ram_slot, sizeof(use_ram_slot), NULL, 0)) {
		struct kr_stop s = kvmtest_run(g.vm);
		snprintf(out, sizeof(out), "%s", kvmtest_output(&g));
		CHECK(strcmp(out, "A") == 0);
		/* Added memory is data: the call faults, present | instruction fetch. */
		CHECK_EQ(s.reason, KR_STOP_EXCEPTION);
		CHECK_EQ(s.exception.vector, 14);
		CHECK_EQ(s.exception.error_code, 0x11);
		CHECK_EQ(s.exception.rip, ROM_GPA + 0x2000);
	}
	kvmtest_end(&g);
}

UNIT_TEST(long_mode_slot_added_after_prepare_is_not_mapped)
{
	/* As kvmrun.h says: kr_vcpu_prepare maps what exists when it runs. */
	struct kvmtest_vm g;
	if (!kvmtest_start(&g, KR_MODE_LONG))
		return;
	if (kvmtest_load(g.vm, read_rom_and_device, sizeof(read_rom_and_device), NULL, 0) &&
	    add_rom(&g, 'R')) {
		struct kr_stop s = kvmtest_run(g.vm);
		CHECK_EQ(s.reason, KR_STOP_EXCEPTION);
		CHECK_EQ(s.exception.vector, 14);
		CHECK_EQ(s.exception.error_code, 0); /* not present, read */
		CHECK_EQ(s.exception.cr2, ROM_GPA);
	}
	kvmtest_end(&g);
}
