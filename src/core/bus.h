/* SPDX-License-Identifier: MIT */
/* core/bus.h - port and MMIO dispatch (kr_bus_register is public). */
#ifndef KVMRUN_CORE_BUS_H
#define KVMRUN_CORE_BUS_H

#include "core/vm.h"

/* The device whose range holds all of [addr, addr + size), or NULL. */
const struct kr_device *kr_bus_find(const struct kr_vm *vm, enum kr_space space, uint64_t addr,
				    uint32_t size);

#endif
