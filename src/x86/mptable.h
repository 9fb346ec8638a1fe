/* SPDX-License-Identifier: MIT */
/*
 * x86/mptable.h - the Intel MultiProcessor Specification table that tells a
 * guest without ACPI where its CPUs and its I/O APIC are.
 *
 * No system header declares these structures: they are the MultiProcessor
 * Specification, version 1.4 (Intel, May 1997), chapter 4, "MP Configuration
 * Table", declared once here with the sizes it gives (all little-endian,
 * packed).
 */
#ifndef KVMRUN_X86_MPTABLE_H
#define KVMRUN_X86_MPTABLE_H

#include <stdint.h>

#include "kvmrun.h"

/* 4.1: the MP floating pointer structure, 16 bytes, found by a scan of the BIOS areas. */
struct kr_mpf {
	char signature[4];  /* "_MP_" */
	uint32_t physptr;   /* the configuration table */
	uint8_t length;	    /* in 16-byte units: 1 */
	uint8_t spec_rev;   /* 4: version 1.4 */
	uint8_t checksum;   /* the 16 bytes sum to 0 */
	uint8_t feature[5]; /* [0] 0: a table follows; [1] bit 7 IMCR present (not here) */
} __attribute__((packed));

/* 4.2: the configuration table header, 44 bytes; the entries follow it. */
struct kr_mpc_header {
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* of the base table, header included */
	uint8_t spec_rev;
	uint8_t checksum; /* the base table sums to 0 */
	char oem[8];
	char product[12];
	uint32_t oem_table;
	uint16_t oem_table_size;
	uint16_t entries;
	uint32_t lapic; /* the local APICs' address */
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

/* 4.3.1: one per processor, 20 bytes. */
struct kr_mpc_cpu {
	uint8_t type; /* KR_MP_PROCESSOR */
	uint8_t apic_id;
	uint8_t apic_version;
	uint8_t flags;	    /* KR_MP_CPU_ENABLED, KR_MP_CPU_BSP */
	uint32_t signature; /* CPUID 1 EAX: stepping, model, family */
	uint32_t features;  /* CPUID 1 EDX */
	uint32_t reserved[2];
} __attribute__((packed));

/* 4.3.2: a bus, 8 bytes. */
struct kr_mpc_bus {
	uint8_t type; /* KR_MP_BUS */
	uint8_t bus_id;
	char bus_type[6]; /* "ISA   ", space-padded */
} __attribute__((packed));

/* 4.3.3: an I/O APIC, 8 bytes. */
struct kr_mpc_ioapic {
	uint8_t type; /* KR_MP_IOAPIC */
	uint8_t id;
	uint8_t version;
	uint8_t flags; /* bit 0: usable */
	uint32_t address;
} __attribute__((packed));

/* 4.3.4 and 4.3.5: an interrupt source wired to an I/O APIC pin or a local APIC LINT pin, 8 bytes.
 */
struct kr_mpc_intsrc {
	uint8_t type;	  /* KR_MP_IO_INTERRUPT or KR_MP_LOCAL_INTERRUPT */
	uint8_t irq_type; /* KR_MP_INT, KR_MP_NMI, KR_MP_EXTINT */
	uint16_t flags;	  /* polarity and trigger mode; 0: as the bus's (ISA: edge, active high) */
	uint8_t src_bus;
	uint8_t src_irq;
	uint8_t dst_apic; /* an I/O APIC id, or a local APIC id (0xff: all) */
	uint8_t dst_pin;  /* INTINn of the I/O APIC, or LINTn */
} __attribute__((packed));

_Static_assert(sizeof(struct kr_mpf) == 16, "MP spec 4.1: the floating pointer is 16 bytes");
_Static_assert(sizeof(struct kr_mpc_header) == 44, "MP spec 4.2: the table header is 44 bytes");
_Static_assert(sizeof(struct kr_mpc_cpu) == 20, "MP spec 4.3.1: a processor entry is 20 bytes");
_Static_assert(sizeof(struct kr_mpc_bus) == 8, "MP spec 4.3.2: a bus entry is 8 bytes");
_Static_assert(sizeof(struct kr_mpc_ioapic) == 8, "MP spec 4.3.3: an I/O APIC entry is 8 bytes");
_Static_assert(sizeof(struct kr_mpc_intsrc) == 8, "MP spec 4.3.4/5: an interrupt entry is 8 bytes");

/* Entry types (4.3), interrupt types (tables 4-9/4-11) and processor flags (table 4-5). */
enum { KR_MP_PROCESSOR, KR_MP_BUS, KR_MP_IOAPIC, KR_MP_IO_INTERRUPT, KR_MP_LOCAL_INTERRUPT };
enum { KR_MP_INT, KR_MP_NMI, KR_MP_SMI, KR_MP_EXTINT };
#define KR_MP_CPU_ENABLED 0x01
#define KR_MP_CPU_BSP 0x02
#define KR_MP_IOAPIC_USABLE 0x01

/* Where kvmrun puts it: the start of the BIOS area, which the e820 and multiboot maps reserve. */
#define KR_MPTABLE_ADDR 0xf0000u
#define KR_MPTABLE_AREA_END 0x100000u
/* The machine it describes: KVM's in-kernel I/O APIC and local APICs. */
#define KR_MP_LAPIC_ADDR 0xfee00000u
#define KR_MP_LAPIC_VERSION 0x14 /* an integrated xAPIC, what KVM's LAPIC version register reads   \
				  */
#define KR_MP_IOAPIC_ADDR 0xfec00000u
#define KR_MP_IOAPIC_VERSION 0x11 /* KVM's I/O APIC version register */
#define KR_MP_ISA_IRQS 16
#define KR_MP_ISA_BUS 0
/* xAPIC ids are 8 bits and 0xff is the broadcast; the I/O APIC takes the id after the CPUs'. */
#define KR_MPTABLE_MAX_CPUS 254

/*
 * Write the floating pointer and the table for `cpus` vCPUs (1..KR_MPTABLE_MAX_CPUS)
 * at KR_MPTABLE_ADDR in guest memory. Returns the table's bytes from there, or -1.
 */
long kr_mptable_write(struct kr_vm *vm, unsigned cpus);

#endif
