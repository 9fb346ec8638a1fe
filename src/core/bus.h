/* SPDX-License-Identifier: MIT */
/* core/bus.h - port and MMIO dispatch (kr_bus_register is public). */
#ifndef KVMRUN_CORE_BUS_H
#define KVMRUN_CORE_BUS_H

#include "core/vm.h"

/* The device whose range holds all of [addr, addr + size), or NULL. */
struct kr_device *kr_bus_find(struct kr_vm *vm, enum kr_space space, uint64_t addr,
			      uint32_t size);
/*
 * Call dev's handler for one access. With several vCPUs under the device's
 * lock, so that a device sees one access at a time whichever vCPUs make
 * them; with one vCPU, no lock.
 */
int kr_bus_access(struct kr_vm *vm, struct kr_device *dev, uint64_t addr, void *data,
		  uint32_t size, bool is_write);
/* kr_vm_destroy: the devices' locks. */
void kr_bus_release(struct kr_vm *vm);

#endif
