/* SPDX-License-Identifier: MIT */
/*
 * debugexit.c - QEMU's isa-debug-exit device at its default place (iobase
 * 0xf4, iosize 4), so that test kernels written for QEMU end the same way
 * under kvmrun: a write of value v (1, 2 or 4 bytes, anywhere in the 4
 * ports) ends the run with exit status (v << 1) | 1. QEMU's exit() keeps the
 * low 8 bits of that; kvmrun does not cut it: the status is a KR_STOP_EXIT
 * with the whole value, and kvmrun's rule for guest statuses applies: 0..123
 * are the guest's (v = 0..61 give 1, 3, ... 123: kvm-unit-tests' "pass" is
 * v = 0, status 1), while a larger one would read as one of kvmrun's own
 * (124 timeout, 125, 126) and so is reported as an ABI error (126) whose
 * message names the value, as for the EXIT hypercall. Reads return 0xff
 * (nothing drives the bus there).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/vm.h"
#include "devices/debugexit.h"

static int debugexit_port(struct kr_vm *vm, void *opaque, uint64_t port, void *data,
			  uint32_t size, bool is_write)
{
	(void)opaque;
	if (!is_write) {
		memset(data, 0xff, size);
		return 0;
	}
	uint32_t v = 0;
	memcpy(&v, data, size < sizeof(v) ? size : sizeof(v)); /* size is 1, 2 or 4 */
	uint64_t status = ((uint64_t)v << 1) | 1;
	char msg[160];
	snprintf(msg, sizeof(msg), "guest wrote 0x%x to the isa-debug-exit port 0x%llx: "
		 "exit status %llu ((v << 1) | 1)", v, (unsigned long long)port,
		 (unsigned long long)status);
	kr_vm_stop(vm, KR_STOP_EXIT, status > INT_MAX ? INT_MAX : (int)status, msg);
	return 0;
}

int kr_debugexit_register(struct kr_vm *vm)
{
	return kr_bus_register(vm, KR_SPACE_PIO, KR_DEBUGEXIT_PORT, KR_DEBUGEXIT_SIZE,
			       debugexit_port, NULL);
}
