/* SPDX-License-Identifier: MIT */
/*
 * fwcfg.c - QEMU's firmware configuration device (docs/specs/fw_cfg.rst in
 * QEMU), its legacy port-I/O interface only: no DMA, no writes.
 *
 * A guest writes a 16-bit key to the selector port (0x510), which also
 * rewinds the data offset to 0; each byte read from the data port (0x511)
 * is the item's next byte, and 0 past its end. Test kernels (kvm-unit-tests)
 * read the signature to see they run under a QEMU-like VMM, then RAM_SIZE
 * and NB_CPUS instead of parsing firmware tables. The items kvmrun has:
 *   FW_CFG_SIGNATURE (0x00)  "QEMU"
 *   FW_CFG_ID        (0x01)  32-bit LE FW_CFG_VERSION: the traditional interface, no DMA
 *   FW_CFG_RAM_SIZE  (0x03)  64-bit LE, cfg.mem_size
 *   FW_CFG_NB_CPUS   (0x05)  16-bit LE, cfg.cpus
 * Every other key (file directory 0x19 included: 0 files) reads as zeros,
 * as QEMU answers a key it has no item for. The key numbers and flags come
 * from the kernel's <linux/qemu_fw_cfg.h>.
 */
#include <linux/qemu_fw_cfg.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/vm.h"
#include "devices/fwcfg.h"

/* The largest item kvmrun serves (RAM_SIZE, 8 bytes). */
#define ITEM_MAX 8

struct fwcfg {
	uint16_t key;
	uint32_t offset; /* of the next data byte in the selected item */
	uint64_t ram_size;
	uint16_t cpus;
};

/* Item `key` into buf (ITEM_MAX bytes); returns its length, 0 for no item. */
static size_t item(const struct fwcfg *f, uint16_t key, uint8_t *buf)
{
	uint64_t v;
	size_t n;

	/* Bit 14 asks to write, bit 15 for the architecture's own items: neither exists here. */
	switch (key) {
	case FW_CFG_SIGNATURE:
		memcpy(buf, "QEMU", FW_CFG_SIG_SIZE);
		return FW_CFG_SIG_SIZE;
	case FW_CFG_ID:
		v = FW_CFG_VERSION, n = 4;
		break;
	case FW_CFG_RAM_SIZE:
		v = f->ram_size, n = 8;
		break;
	case FW_CFG_NB_CPUS:
		v = f->cpus, n = 2;
		break;
	default:
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(v >> (8 * i)); /* little-endian on the I/O interface */
	return n;
}

static int fwcfg_port(struct kr_vm *vm, void *opaque, uint64_t port, void *data, uint32_t size,
		      bool is_write)
{
	(void)vm;
	struct fwcfg *f = opaque;
	uint8_t *d = data;

	if (port == KR_FWCFG_PORT_SELECTOR) {
		/* The selector is a 16-bit register; QEMU ignores other widths there. */
		if (is_write && size == FW_CFG_CTL_SIZE) {
			f->key = (uint16_t)(d[0] | d[1] << 8);
			f->offset = 0;
		} else if (!is_write) {
			memset(d, 0, size);
		}
		return 0;
	}
	/* The data port: writes (deprecated in QEMU, and to items kvmrun has none of) are ignored. */
	if (is_write)
		return 0;
	uint8_t buf[ITEM_MAX];
	size_t len = item(f, f->key, buf);
	for (uint32_t i = 0; i < size; i++) {
		d[i] = f->offset < len ? buf[f->offset] : 0;
		if (f->offset < UINT32_MAX) /* a guest reading for ever must not wrap to the start */
			f->offset++;
	}
	return 0;
}

static void on_destroy(struct kr_vm *vm, void *opaque)
{
	(void)vm;
	free(opaque);
}

/* Snapshots: the selected item and the offset in it (the items follow the configuration). */
struct fwcfg_state {
	uint16_t key, zero;
	uint32_t offset;
};

static long save(struct kr_vm *vm, void *opaque, void *buf, size_t max)
{
	(void)vm;
	const struct fwcfg *f = opaque;
	struct fwcfg_state st = {.key = f->key, .offset = f->offset};
	if (max < sizeof(st))
		return kr_err("fw_cfg: snapshot needs %zu bytes, %zu left", sizeof(st), max);
	memcpy(buf, &st, sizeof(st));
	return (long)sizeof(st);
}

int kr_fwcfg_check_state(const void *buf, size_t len)
{
	struct fwcfg_state st;
	if (len != sizeof(st))
		return kr_err("fw_cfg: snapshot state of %zu bytes, expected %zu", len, sizeof(st));
	memcpy(&st, buf, sizeof(st));
	if (st.zero)
		return kr_err("fw_cfg: snapshot padding is not zero");
	return 0;
}

static int restore(struct kr_vm *vm, void *opaque, const void *buf, size_t len)
{
	(void)vm;
	struct fwcfg *f = opaque;
	struct fwcfg_state st;
	if (kr_fwcfg_check_state(buf, len) < 0)
		return -1;
	memcpy(&st, buf, sizeof(st));
	f->key = st.key;
	f->offset = st.offset;
	return 0;
}

static const struct kr_hooks fwcfg_hooks = {
    .name = "fw_cfg",
    .on_destroy = on_destroy,
    .save = save,
    .restore = restore,
};

int kr_fwcfg_register(struct kr_vm *vm)
{
	struct fwcfg *f = calloc(1, sizeof(*f));
	if (!f)
		return kr_err_sys("fw_cfg: calloc(%zu)", sizeof(*f));
	f->ram_size = vm->cfg.mem_size;
	/* 1..KR_MAX_CPUS, checked by kr_vm_new; the item is 16 bits wide. */
	f->cpus = (uint16_t)(vm->cfg.cpus > UINT16_MAX ? UINT16_MAX : vm->cfg.cpus);
	if (kr_vm_add_module(vm, &fwcfg_hooks, f) < 0) {
		free(f);
		return -1;
	}
	/* The selector and the data port: 0x510 and 0x511. */
	return kr_bus_register(vm, KR_SPACE_PIO, KR_FWCFG_PORT_SELECTOR, 2, fwcfg_port, f);
}
