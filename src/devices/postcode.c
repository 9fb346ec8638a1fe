/* SPDX-License-Identifier: MIT */
/*
 * postcode.c - port 0x80: firmware writes progress codes there and kernels
 * write to it to wait about a microsecond (Linux's outb_p, io_delay). Both
 * only need the write to go somewhere: it is accepted and ignored; a read
 * gives 0xff, an empty ISA bus.
 */
#include <string.h>

#include "core/vm.h"
#include "devices/postcode.h"

static int postcode_port(struct kr_vm *vm, void *opaque, uint64_t port, void *data, uint32_t size,
			 bool is_write)
{
	(void)vm, (void)opaque, (void)port;
	if (!is_write)
		memset(data, 0xff, size);
	return 0;
}

int kr_postcode_register(struct kr_vm *vm)
{
	return kr_bus_register(vm, KR_SPACE_PIO, KR_POSTCODE_PORT, 1, postcode_port, NULL);
}
