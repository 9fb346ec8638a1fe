/* SPDX-License-Identifier: MIT */
/* test_fwcfg.c - the fw_cfg device's legacy interface, byte by byte. */
#include <linux/qemu_fw_cfg.h>
#include <string.h>

#include "devices/fwcfg.h"
#include "fake_io.h"

/* Select `key`, then read `n` bytes from the data port. */
static void read_item(struct kr_vm *vm, uint16_t key, uint8_t *buf, size_t n)
{
	io_out(vm, KR_FWCFG_PORT_SELECTOR, 2, key);
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)io_in(vm, KR_FWCFG_PORT_DATA, 1);
}

UNIT_TEST(fwcfg_signature_id_ram_size_and_cpus)
{
	struct kr_vm *vm = io_vm_new();
	uint8_t b[12];

	read_item(vm, FW_CFG_SIGNATURE, b, 6);
	CHECK(memcmp(b, "QEMU\0\0", 6) == 0); /* zeros past the item's end */
	read_item(vm, FW_CFG_ID, b, 4);
	CHECK(memcmp(b, "\x01\0\0\0", 4) == 0); /* the traditional interface, no DMA */
	read_item(vm, FW_CFG_RAM_SIZE, b, 8);
	CHECK(memcmp(b, "\0\0\x20\0\0\0\0\0", 8) == 0); /* 2 MiB, little-endian */
	read_item(vm, FW_CFG_NB_CPUS, b, 3);
	CHECK(memcmp(b, "\x01\0\0", 3) == 0);
	CHECK(!vm->stop_requested);
	io_vm_free(vm);
}

UNIT_TEST(fwcfg_selecting_rewinds_and_other_keys_read_zeros)
{
	struct kr_vm *vm = io_vm_new();
	uint8_t b[8];

	read_item(vm, FW_CFG_SIGNATURE, b, 2);
	read_item(vm, FW_CFG_SIGNATURE, b, 4);
	CHECK(memcmp(b, "QEMU", 4) == 0);
	/* Unknown keys, the file directory, write-channel and arch-local keys: no item. */
	static const uint16_t none[] = {FW_CFG_UUID, FW_CFG_FILE_DIR, 0x20, 0x4000, 0x8003, 0xffff};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		read_item(vm, none[i], b, 8);
		CHECK(memcmp(b, "\0\0\0\0\0\0\0\0", 8) == 0);
	}
	/* A byte write to the 16-bit selector is ignored (QEMU's width), as are data writes. */
	read_item(vm, FW_CFG_SIGNATURE, b, 1);
	io_out(vm, KR_FWCFG_PORT_SELECTOR, 1, FW_CFG_RAM_SIZE);
	io_out(vm, KR_FWCFG_PORT_DATA, 1, 0x55);
	CHECK_EQ(io_in(vm, KR_FWCFG_PORT_DATA, 1), 'E');
	CHECK_EQ(io_in(vm, KR_FWCFG_PORT_SELECTOR, 2), 0);
	CHECK(!vm->stop_requested);
	io_vm_free(vm);
}

UNIT_TEST(fwcfg_not_in_kvmruns_own_vms)
{
	/* Without kr_board_add_pc_devices the port stays unhandled. */
	struct kr_vm *vm = unit_vm_new(KR_MODE_LONG, 2u << 20);
	CHECK(kr_bus_find(vm, KR_SPACE_PIO, KR_FWCFG_PORT_SELECTOR, 2) == NULL);
	CHECK_OK(kr_board_add_pc_devices(vm));
	CHECK(kr_bus_find(vm, KR_SPACE_PIO, KR_FWCFG_PORT_SELECTOR, 2) != NULL);
	CHECK_OK(kr_board_add_pc_devices(vm)); /* a second call does nothing */
	kr_vm_destroy(vm);
}
