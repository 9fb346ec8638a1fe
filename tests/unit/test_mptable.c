/* SPDX-License-Identifier: MIT */
/* test_mptable.c - the MultiProcessor Specification table: checksums, entries, what Linux reads. */
#include <linux/qemu_fw_cfg.h>
#include <string.h>

#include "devices/fwcfg.h"
#include "devices/rtc.h"
#include "fake_io.h"
#include "x86/mptable.h"

static uint8_t sum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + b[i]);
	return s;
}

/* Check the table for `cpus` CPUs in vm's memory, entry by entry. */
static void check_table(struct kr_vm *vm, unsigned cpus)
{
	const struct kr_mpf *mpf = kr_gpa_ptr(vm, KR_MPTABLE_ADDR, sizeof(*mpf));
	CHECK(mpf != NULL);
	if (!mpf)
		return;
	/* What Linux's smp_scan_config checks: signature, length 1, revision 1 or 4, checksum. */
	CHECK(memcmp(mpf->signature, "_MP_", 4) == 0);
	CHECK_EQ(mpf->length, 1);
	CHECK_EQ(mpf->spec_rev, 4);
	CHECK_EQ(sum(mpf, sizeof(*mpf)), 0);
	CHECK_EQ(mpf->feature[0], 0); /* a configuration table, no default configuration */
	CHECK_EQ(mpf->feature[1], 0); /* no IMCR: virtual wire mode */
	CHECK_EQ(mpf->physptr % 4, 0);
	const struct kr_mpc_header *h = kr_gpa_ptr(vm, mpf->physptr, sizeof(*h));
	CHECK(h != NULL);
	if (!h)
		return;
	CHECK(memcmp(h->signature, "PCMP", 4) == 0);
	CHECK_EQ(h->spec_rev, 4);
	CHECK_EQ(h->lapic, 0xfee00000u);
	CHECK(kr_gpa_ptr(vm, mpf->physptr, h->length) != NULL);
	CHECK_EQ(sum(h, h->length), 0);
	CHECK_EQ(h->ext_length, 0);
	/* cpus processors, one bus, one I/O APIC, 15 ISA IRQs (not the cascade), LINT0 and LINT1.
	 */
	CHECK_EQ(h->entries, cpus + 1 + 1 + 15 + 2);
	CHECK_EQ(h->length, 44 + cpus * 20 + 8 + 8 + 17 * 8);

	const uint8_t *p = (const uint8_t *)(h + 1), *end = (const uint8_t *)h + h->length;
	unsigned ncpu = 0, nbsp = 0, nio = 0, nlocal = 0;
	uint32_t irqs = 0;
	int ioapic_id = -1;
	for (unsigned i = 0; i < h->entries && p < end; i++) {
		if (*p == KR_MP_PROCESSOR) {
			const struct kr_mpc_cpu *c = (const void *)p;
			CHECK_EQ(c->apic_id, ncpu); /* the LAPIC id is the vCPU index */
			CHECK_EQ(c->apic_version, 0x14);
			CHECK(c->flags & KR_MP_CPU_ENABLED);
			CHECK_EQ(!!(c->flags & KR_MP_CPU_BSP), ncpu == 0);
			nbsp += !!(c->flags & KR_MP_CPU_BSP);
			ncpu++;
			p += sizeof(*c);
			continue;
		}
		if (*p == KR_MP_BUS) {
			const struct kr_mpc_bus *b = (const void *)p;
			CHECK_EQ(b->bus_id, 0);
			CHECK(memcmp(b->bus_type, "ISA   ", 6) == 0);
		} else if (*p == KR_MP_IOAPIC) {
			const struct kr_mpc_ioapic *io = (const void *)p;
			CHECK_EQ(io->address, 0xfec00000u);
			CHECK_EQ(io->flags & KR_MP_IOAPIC_USABLE, KR_MP_IOAPIC_USABLE);
			CHECK(io->id >= cpus); /* clear of the local APIC ids */
			ioapic_id = io->id;
		} else if (*p == KR_MP_IO_INTERRUPT) {
			const struct kr_mpc_intsrc *s = (const void *)p;
			CHECK_EQ(s->irq_type, KR_MP_INT);
			CHECK_EQ(s->src_bus, 0);
			CHECK_EQ(s->dst_apic, ioapic_id); /* the I/O APIC came first */
			CHECK_EQ(s->dst_pin, s->src_irq); /* KVM's default routing: GSI n, pin n */
			CHECK_EQ(s->flags, 0);
			irqs |= 1u << s->src_irq;
			nio++;
		} else if (*p == KR_MP_LOCAL_INTERRUPT) {
			const struct kr_mpc_intsrc *s = (const void *)p;
			CHECK_EQ(s->dst_apic, 0xff);
			CHECK_EQ(s->irq_type, s->dst_pin == 0 ? KR_MP_EXTINT : KR_MP_NMI);
			nlocal++;
		} else {
			CHECK(!"an entry of an unknown type");
			return;
		}
		p += 8;
	}
	CHECK(p == end);
	CHECK_EQ(ncpu, cpus);
	CHECK_EQ(nbsp, 1);
	CHECK_EQ(nio, 15);
	CHECK_EQ(irqs, 0xfffbu); /* 0..15 but 2; IRQ 0 (the PIT) on pin 0 */
	CHECK_EQ(nlocal, 2);
}

UNIT_TEST(mptable_for_1_2_and_4_cpus)
{
	static const unsigned counts[] = {1, 2, 4, KR_MPTABLE_MAX_CPUS};
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		struct kr_vm *vm = unit_vm_new(KR_MODE_PROTECTED, 2u << 20);
		CHECK(vm != NULL);
		if (!vm)
			return;
		long n = kr_mptable_write(vm, counts[i]);
		CHECK_EQ(n, 16 + 44 + counts[i] * 20 + 8 + 8 + 17 * 8);
		check_table(vm, counts[i]);
		kr_vm_destroy(vm);
	}
}

UNIT_TEST(mptable_refuses_cpu_counts_it_cannot_describe)
{
	struct kr_vm *vm = unit_vm_new(KR_MODE_PROTECTED, 2u << 20);
	CHECK_FAILS_WITH(kr_mptable_write(vm, 0), "MP table: 0 CPUs; it describes 1 to 254");
	CHECK_FAILS_WITH(kr_mptable_write(vm, KR_MPTABLE_MAX_CPUS + 1), "255 CPUs");
	kr_vm_destroy(vm);
}

UNIT_TEST(mptable_is_written_with_the_pc_devices)
{
	struct kr_vm *vm = io_vm_new();
	check_table(vm, 1);
	io_vm_free(vm);
}

/* With 4 vCPUs: the table, fw_cfg's NB_CPUS and the CMOS byte agree. */
UNIT_TEST(mptable_fwcfg_and_cmos_follow_cfg_cpus)
{
	struct kr_vm *vm = io_vm_new_cpus(2u << 20, 4);
	CHECK(vm != NULL);
	if (!vm)
		return;
	check_table(vm, 4);
	io_out(vm, KR_FWCFG_PORT_SELECTOR, 2, FW_CFG_NB_CPUS);
	CHECK_EQ(io_in(vm, KR_FWCFG_PORT_DATA, 1), 4);
	CHECK_EQ(io_in(vm, KR_FWCFG_PORT_DATA, 1), 0);
	io_out(vm, KR_RTC_INDEX_PORT, 1, KR_CMOS_CPUS_MINUS_1);
	CHECK_EQ(io_in(vm, KR_RTC_DATA_PORT, 1), 3);
	io_vm_free(vm);
}
