/* SPDX-License-Identifier: MIT */
/*
 * irqchip.c - the interrupt controllers and timer a PC has, from KVM itself:
 * KVM_CREATE_IRQCHIP gives the two 8259 PICs, the IOAPIC and a local APIC
 * per vCPU (so it must come before KVM_CREATE_VCPU), KVM_CREATE_PIT2 the
 * 8254 timer on IRQ 0 (after the irqchip it signals). Emulated in the host
 * kernel, they cost no exit to kvmrun; the devices here raise lines on them
 * with KVM_IRQ_LINE (the UART: IRQ 4). Only machines with cfg.pc get them:
 * a flat guest keeps HLT as its way to stop.
 *
 * On a PC, a read from a port where nothing answers sees the ISA bus float
 * to all ones, and a write goes nowhere. Linux relies on that while it
 * probes (serial ports other than COM1, the PCI configuration mechanism,
 * the i8042, the RTC...), so a cfg.pc machine answers so instead of
 * stopping the run at an unclaimed port.
 */
#include <string.h>
#include <sys/ioctl.h>

#include "core/error.h"
#include "core/vm.h"
#include "devices/irqchip.h"

int kr_irqchip_create(struct kr_vm *vm)
{
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return kr_err_sys("create VM: ioctl KVM_CREATE_IRQCHIP");
	/* The speaker port (0x61) in the kernel too: Linux reads it to calibrate with the PIT. */
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return kr_err_sys("create VM: ioctl KVM_CREATE_PIT2(flags KVM_PIT_SPEAKER_DUMMY)");
	return 0;
}

int kr_open_bus_io(struct kr_vm *vm, void *opaque, uint64_t port, void *data, uint32_t size,
		   bool is_write)
{
	(void)vm, (void)opaque, (void)port;
	if (!is_write)
		memset(data, 0xff, size);
	return 0;
}
