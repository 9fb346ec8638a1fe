/* SPDX-License-Identifier: MIT */
/* devices/irqchip.h - KVM's in-kernel PIC, IOAPIC, LAPIC and PIT, for cfg.pc machines. */
#ifndef KVMRUN_DEVICES_IRQCHIP_H
#define KVMRUN_DEVICES_IRQCHIP_H

#include "kvmrun.h"

/* KVM_CREATE_IRQCHIP and KVM_CREATE_PIT2: before the vCPU exists (its LAPIC comes with it). */
int kr_irqchip_create(struct kr_vm *vm);
/* Ports no device claims: an empty ISA bus (reads all ones, writes vanish). */
int kr_open_bus_io(struct kr_vm *vm, void *opaque, uint64_t port, void *data, uint32_t size,
		   bool is_write);

#endif
