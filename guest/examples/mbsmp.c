/* SPDX-License-Identifier: MIT */
/*
 * mbsmp.c - a multiboot kernel that starts every application processor as
 * a PC operating system does, and counts them:
 *
 *   kvmrun run --cpus 4 mbsmp.elf      prints "mbsmp: cpus=4 started=3", status 1
 *
 * It finds the CPUs in the MP table (the floating pointer in the BIOS area
 * 0xF0000-0xFFFFF, checksums checked) and checks fw_cfg's NB_CPUS against
 * it; copies the trampoline (mbsmp-trampoline.S) to 0x8000; then, through the
 * local APIC at 0xFEE00000, sends each AP of the table INIT and two
 * STARTUP IPIs (vector 0x08). Each AP counts itself (a locked increment)
 * and records its APIC id; the BSP waits, in a bounded loop, until the
 * count is NB_CPUS - 1, checks that exactly the table's APs came, prints
 * over COM1 and exits through isa-debug-exit: v = 0 (status 1) when all
 * came; a failed check N exits with v = N (status 2N + 1) after saying why.
 */
#include <stdint.h>

#define KVMRUN_MULTIBOOT_SPEC_ONLY
#include "multiboot.h"

#define MB_GUEST_NAME "mbsmp"
#include "mbguest.h"

#define FW_CFG_NB_CPUS 0x05

#define BIOS_AREA 0xf0000u
#define BIOS_AREA_END 0x100000u
#define AP_TRAMPOLINE 0x8000u
#define SIPI_VECTOR (AP_TRAMPOLINE >> 12)

#define LAPIC 0xfee00000u
#define LAPIC_SVR 0xf0
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600
#define ICR_LEVEL_ASSERT 0x4000
#define ICR_BUSY 0x1000 /* delivery status: send pending */

/* Enough for any AP to start many times over; the VMM's --timeout bounds the run anyway. */
#define WAIT_LOOPS 20000000u

/* Written by the APs (mbsmp-trampoline.S): how many came, and which APIC ids. */
volatile uint32_t ap_count;
volatile uint32_t ap_seen[8];
extern const uint8_t ap_trampoline[], ap_trampoline_end[];

static uint8_t sum(const volatile uint8_t *p, uint32_t len)
{
	uint8_t s = 0;
	for (uint32_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static uint32_t le32(const volatile uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The MP table's processors: their count, the BSP's APIC id, the APs' ids as a bitmap. */
struct cpus {
	uint32_t count, bsp, aps[8];
};

static void read_mp_table(struct cpus *c)
{
	const volatile uint8_t *mpf = 0;
	for (uint32_t a = BIOS_AREA; a < BIOS_AREA_END; a += 16) {
		const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)a;
		if (p[0] == '_' && p[1] == 'M' && p[2] == 'P' && p[3] == '_' && sum(p, 16) == 0) {
			mpf = p;
			break;
		}
	}
	check(mpf != 0, 2, "an MP floating pointer in the BIOS area");
	check(mpf[8] == 1 && (mpf[9] == 1 || mpf[9] == 4), 3,
	      "MP floating pointer length/revision");
	const volatile uint8_t *h = (const volatile uint8_t *)(uintptr_t)le32(mpf + 4);
	check(h[0] == 'P' && h[1] == 'C' && h[2] == 'M' && h[3] == 'P', 4,
	      "MP table signature PCMP");
	uint32_t len = (uint32_t)(h[4] | h[5] << 8), entries = (uint32_t)(h[34] | h[35] << 8);
	check(len >= 44 && sum(h, len) == 0, 5, "MP table checksum");
	check(le32(h + 36) == LAPIC, 6, "MP table: local APIC at 0xFEE00000");
	const volatile uint8_t *e = h + 44, *end = h + len;
	for (uint32_t i = 0; i < entries && e < end; i++) {
		if (e[0] != 0) { /* not a processor: 8 bytes */
			e += 8;
			continue;
		}
		if (e[3] & 1) { /* enabled */
			c->count++;
			if (e[3] & 2)
				c->bsp = e[1];
			else
				c->aps[e[1] / 32] |= 1u << (e[1] % 32);
		}
		e += 20;
	}
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(LAPIC + reg) = v;
}

static uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(uintptr_t)(LAPIC + reg);
}

/* One IPI to APIC id `id`; waits (bounded) until the local APIC has sent it. */
static void send_ipi(uint32_t id, uint32_t icr)
{
	lapic_write(LAPIC_ICR_HI, id << 24);
	lapic_write(LAPIC_ICR_LO, icr);
	for (uint32_t i = 0; i < WAIT_LOOPS && (lapic_read(LAPIC_ICR_LO) & ICR_BUSY); i++)
		__asm__ volatile("pause");
	check(!(lapic_read(LAPIC_ICR_LO) & ICR_BUSY), 7, "the local APIC sent the IPI");
}

void mb_main(uint32_t magic, const struct multiboot_info *mi);

void mb_main(uint32_t magic, const struct multiboot_info *mi)
{
	(void)mi;
	check(magic == MULTIBOOT_BOOTLOADER_MAGIC, 1, "EAX holds 0x2BADB002");
	struct cpus c = {0};
	read_mp_table(&c);
	uint8_t nb[2];
	outw(FW_CFG_SELECTOR, FW_CFG_NB_CPUS);
	nb[0] = inb(FW_CFG_DATA);
	nb[1] = inb(FW_CFG_DATA);
	uint32_t ncpus = (uint32_t)(nb[0] | nb[1] << 8);
	check(ncpus >= 1 && ncpus == c.count, 8, "fw_cfg NB_CPUS equals the MP table's processors");
	check(c.bsp == 0, 9, "the BSP has APIC id 0");

	/* The trampoline where the SIPI vector points. */
	volatile uint8_t *t = (volatile uint8_t *)(uintptr_t)AP_TRAMPOLINE;
	for (const uint8_t *s = ap_trampoline; s < ap_trampoline_end; s++)
		*t++ = *s;

	/* One CPU: no AP to start (and kvmrun gives a one-vCPU kernel no local APIC). */
	if (ncpus > 1)
		lapic_write(LAPIC_SVR, lapic_read(LAPIC_SVR) | LAPIC_SVR_ENABLE);
	for (uint32_t id = 0; id < 256; id++) {
		if (!(c.aps[id / 32] & (1u << (id % 32))))
			continue;
		send_ipi(id, ICR_INIT | ICR_LEVEL_ASSERT);
		send_ipi(id, ICR_STARTUP | ICR_LEVEL_ASSERT | SIPI_VECTOR);
		send_ipi(id, ICR_STARTUP | ICR_LEVEL_ASSERT | SIPI_VECTOR);
	}
	for (uint32_t i = 0; i < WAIT_LOOPS && ap_count < ncpus - 1; i++)
		__asm__ volatile("pause");

	uint32_t started = ap_count;
	puts_("mbsmp: cpus=");
	putu(ncpus);
	puts_(" started=");
	putu(started);
	putc_('\n');
	check(started == ncpus - 1, 10, "every AP started and counted itself");
	for (uint32_t w = 0; w < 8; w++)
		check(ap_seen[w] == c.aps[w], 11, "the APs' APIC ids are the MP table's");
	qemu_exit(0);
}
