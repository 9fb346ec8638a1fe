/* SPDX-License-Identifier: MIT */
/*
 * i8042.c - as much of the PC keyboard controller as guests use to reboot:
 * the command 0xFE written to port 0x64 pulses the CPU reset line (Linux's
 * reboot=k, the default fallback; many test kernels). kvmrun does not
 * restart the guest: the run stops with KR_STOP_RESET ("guest requested a
 * reset"), which kvmrun reports as a clean end (status 0, as QEMU with
 * -no-reboot exits 0). There is no keyboard: reads of the status port
 * (0x64) say that no byte waits and the input buffer is empty, so a guest
 * that polls before writing a command goes on; reads of the data port
 * (0x60) give 0; other commands and data are accepted and ignored.
 */
#include <string.h>

#include "core/vm.h"
#include "devices/i8042.h"

static int i8042_port(struct kr_vm *vm, void *opaque, uint64_t port, void *data, uint32_t size,
		      bool is_write)
{
	(void)opaque;
	uint8_t *d = data;
	if (!is_write) {
		memset(d, 0, size);
		if (port == KR_I8042_COMMAND_PORT)
			d[0] = KR_I8042_STATUS;
		return 0;
	}
	if (port == KR_I8042_COMMAND_PORT && d[0] == KR_I8042_CMD_RESET)
		kr_vm_stop(vm, KR_STOP_RESET, 0,
			   "guest requested a reset (0xfe to the keyboard controller, port 0x64)");
	return 0;
}

int kr_i8042_register(struct kr_vm *vm)
{
	if (kr_bus_register(vm, KR_SPACE_PIO, KR_I8042_DATA_PORT, 1, i8042_port, NULL) < 0 ||
	    kr_bus_register(vm, KR_SPACE_PIO, KR_I8042_COMMAND_PORT, 1, i8042_port, NULL) < 0)
		return -1;
	return 0;
}
