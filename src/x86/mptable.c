/* SPDX-License-Identifier: MIT */
/*
 * mptable.c - the MultiProcessor Specification 1.4 table for PC machines
 * (kvmrun boot and multiboot kernels): how a guest without ACPI (Linux with
 * CONFIG_X86_MPPARSE, multiboot test kernels) finds its CPUs and I/O APIC.
 * kvmrun gives this table and no ACPI MADT.
 *
 * What it says about the machine KVM's in-kernel irqchip builds:
 * - one processor per vCPU, its local APIC id the vCPU index (KVM's
 *   default: the vCPU id), vCPU 0 the bootstrap processor;
 * - one bus, ISA (id 0): no PCI;
 * - the I/O APIC at 0xfec00000, with the id after the CPUs';
 * - ISA IRQs 0..15 on the I/O APIC pins of the same number. That is how
 *   KVM's default GSI routing wires them (GSI n goes to the PIC's line n and
 *   the I/O APIC's pin n, for n < 16): the PIT raises GSI 0, so its
 *   interrupt arrives on pin 0, not on pin 2 as on boards whose firmware
 *   routes IRQ 0 there. IRQ 2, the PICs' cascade, is left out: nothing
 *   raises it;
 * - the PIC's output on every local APIC's LINT0 (ExtINT; KVM delivers the
 *   8259's interrupts through LINT0) and NMI on LINT1.
 * Polarity and trigger conform to the bus (ISA: edge, active high).
 *
 * The floating pointer sits at 0xf0000 (the BIOS area, searched by Linux
 * and reserved in the e820 and multiboot memory maps), the table right
 * after it. CPU signature and feature fields are 0: they describe the CPU
 * for systems with mixed processors, and guests read CPUID instead.
 */
#include <string.h>

#include "core/error.h"
#include "core/vm.h"
#include "x86/mptable.h"

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)(0x100 - sum);
}

/* The table's size for `cpus` processors. */
static size_t table_size(unsigned cpus)
{
	return sizeof(struct kr_mpf) + sizeof(struct kr_mpc_header) +
	       cpus * sizeof(struct kr_mpc_cpu) + sizeof(struct kr_mpc_bus) +
	       sizeof(struct kr_mpc_ioapic) +
	       (KR_MP_ISA_IRQS - 1 + 2) * sizeof(struct kr_mpc_intsrc);
}

_Static_assert(KR_MAX_CPUS <= KR_MPTABLE_MAX_CPUS, "every cfg.cpus has an MP table");

long kr_mptable_write(struct kr_vm *vm, unsigned cpus)
{
	if (cpus < 1 || cpus > KR_MPTABLE_MAX_CPUS)
		return kr_err("MP table: %u CPUs; it describes 1 to %d", cpus, KR_MPTABLE_MAX_CPUS);
	size_t size = table_size(cpus);
	/* At most 44 + 254 * 20 + 8 + 8 + 17 * 8 + 16 bytes: far below the 64 KiB area. */
	_Static_assert(sizeof(struct kr_mpf) + sizeof(struct kr_mpc_header) +
			       KR_MPTABLE_MAX_CPUS * sizeof(struct kr_mpc_cpu) + 8 + 8 +
			       (KR_MP_ISA_IRQS + 1) * 8 <=
			   KR_MPTABLE_AREA_END - KR_MPTABLE_ADDR,
		       "the MP table fits the BIOS area");
	uint8_t *base = kr_gpa_ptr(vm, KR_MPTABLE_ADDR, size);
	if (!base)
		return kr_err_context("MP table: guest memory at 0x%x (0x%zx bytes)",
				      KR_MPTABLE_ADDR, size);
	memset(base, 0, size);

	struct kr_mpf *mpf = (struct kr_mpf *)base;
	struct kr_mpc_header *h = (struct kr_mpc_header *)(mpf + 1);
	uint8_t *p = (uint8_t *)(h + 1);
	uint8_t ioapic_id = (uint8_t)cpus;
	uint16_t entries = 0;

	for (unsigned i = 0; i < cpus; i++, entries++) {
		struct kr_mpc_cpu c = {
		    .type = KR_MP_PROCESSOR,
		    .apic_id = (uint8_t)i,
		    .apic_version = KR_MP_LAPIC_VERSION,
		    .flags = KR_MP_CPU_ENABLED | (i == 0 ? KR_MP_CPU_BSP : 0),
		};
		memcpy(p, &c, sizeof(c));
		p += sizeof(c);
	}
	struct kr_mpc_bus bus = {.type = KR_MP_BUS, .bus_id = KR_MP_ISA_BUS};
	memcpy(bus.bus_type, "ISA   ", sizeof(bus.bus_type));
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus), entries++;
	struct kr_mpc_ioapic io = {.type = KR_MP_IOAPIC,
				   .id = ioapic_id,
				   .version = KR_MP_IOAPIC_VERSION,
				   .flags = KR_MP_IOAPIC_USABLE,
				   .address = KR_MP_IOAPIC_ADDR};
	memcpy(p, &io, sizeof(io));
	p += sizeof(io), entries++;
	for (uint8_t irq = 0; irq < KR_MP_ISA_IRQS; irq++) {
		if (irq == 2)
			continue; /* the cascade */
		struct kr_mpc_intsrc s = {.type = KR_MP_IO_INTERRUPT,
					  .irq_type = KR_MP_INT,
					  .src_bus = KR_MP_ISA_BUS,
					  .src_irq = irq,
					  .dst_apic = ioapic_id,
					  .dst_pin = irq};
		memcpy(p, &s, sizeof(s));
		p += sizeof(s), entries++;
	}
	static const uint8_t lint_types[2] = {KR_MP_EXTINT, KR_MP_NMI};
	for (uint8_t lint = 0; lint < 2; lint++) {
		struct kr_mpc_intsrc s = {.type = KR_MP_LOCAL_INTERRUPT,
					  .irq_type = lint_types[lint],
					  .src_bus = KR_MP_ISA_BUS,
					  .src_irq = 0,
					  .dst_apic = 0xff, /* every local APIC */
					  .dst_pin = lint};
		memcpy(p, &s, sizeof(s));
		p += sizeof(s), entries++;
	}

	memcpy(h->signature, "PCMP", 4);
	h->length = (uint16_t)(p - (uint8_t *)h);
	h->spec_rev = 4;
	memcpy(h->oem, "KVMRUN  ", sizeof(h->oem));
	memcpy(h->product, "PC          ", sizeof(h->product));
	h->entries = entries;
	h->lapic = KR_MP_LAPIC_ADDR;
	h->checksum = checksum(h, h->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = KR_MPTABLE_ADDR + sizeof(*mpf);
	mpf->length = 1;
	mpf->spec_rev = 4;
	mpf->checksum = checksum(mpf, sizeof(*mpf));
	return (long)size;
}
