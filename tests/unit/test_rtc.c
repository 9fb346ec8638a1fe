/* SPDX-License-Identifier: MIT */
/* test_rtc.c - the CMOS clock: time formats, UIP, SET, register C, the memory bytes. */
#include <string.h>
#include <time.h>

#include "devices/rtc.h"
#include "fake_io.h"

/* The host clock the device sees: 2026-11-30 08:59:58 UTC (a Monday), plus what a test adds. */
static struct timespec fake_now;

static int fake_clock(struct timespec *now)
{
	*now = fake_now;
	return 0;
}

static void set_fake(long long sec, long nsec)
{
	fake_now.tv_sec = (time_t)sec;
	fake_now.tv_nsec = nsec;
}

#define T0 1796029198LL /* 2026-11-30 08:59:58 UTC */

static uint8_t rd(struct kr_vm *vm, uint8_t index)
{
	io_out(vm, KR_RTC_INDEX_PORT, 1, index);
	return (uint8_t)io_in(vm, KR_RTC_DATA_PORT, 1);
}

static void wr(struct kr_vm *vm, uint8_t index, uint8_t v)
{
	io_out(vm, KR_RTC_INDEX_PORT, 1, index);
	io_out(vm, KR_RTC_DATA_PORT, 1, v);
}

static struct kr_vm *rtc_vm(void)
{
	struct kr_vm *vm = io_vm_new();
	set_fake(T0, 0);
	kr_rtc_set_clock(vm, fake_clock);
	return vm;
}

UNIT_TEST(rtc_reads_the_host_time_in_bcd_24h_by_default)
{
	struct kr_vm *vm = rtc_vm();
	CHECK_EQ(rd(vm, KR_RTC_REG_B), KR_RTC_B_24H);
	CHECK_EQ(rd(vm, KR_RTC_SECONDS), 0x58);
	CHECK_EQ(rd(vm, KR_RTC_MINUTES), 0x59);
	CHECK_EQ(rd(vm, KR_RTC_HOURS), 0x08);
	CHECK_EQ(rd(vm, KR_RTC_DAY_OF_WEEK), 2); /* Monday: Sunday is 1 */
	CHECK_EQ(rd(vm, KR_RTC_DAY_OF_MONTH), 0x30);
	CHECK_EQ(rd(vm, KR_RTC_MONTH), 0x11);
	CHECK_EQ(rd(vm, KR_RTC_YEAR), 0x26);
	CHECK_EQ(rd(vm, KR_RTC_CENTURY), 0x20);
	CHECK_EQ(rd(vm, KR_RTC_REG_D), KR_RTC_D_VRT);
	/* The clock follows the host's. */
	set_fake(T0 + 2 * 86400 + 3 * 3600 + 1, 0);
	CHECK_EQ(rd(vm, KR_RTC_SECONDS), 0x59);
	CHECK_EQ(rd(vm, KR_RTC_HOURS), 0x11);
	CHECK_EQ(rd(vm, KR_RTC_DAY_OF_MONTH), 0x02);
	CHECK_EQ(rd(vm, KR_RTC_MONTH), 0x12);
	/* The index port reads as the floating bus; the NMI bit does not change the register. */
	CHECK_EQ(io_in(vm, KR_RTC_INDEX_PORT, 1), 0xff);
	CHECK_EQ(rd(vm, KR_RTC_NMI_DISABLE | KR_RTC_MONTH), 0x12);
	CHECK(!vm->stop_requested);
	io_vm_free(vm);
}

UNIT_TEST(rtc_binary_and_12_hour_formats)
{
	struct kr_vm *vm = rtc_vm();
	set_fake(T0 + 9 * 3600, 0); /* 17:59:58 */
	wr(vm, KR_RTC_REG_B, KR_RTC_B_BINARY | KR_RTC_B_24H);
	CHECK_EQ(rd(vm, KR_RTC_SECONDS), 58);
	CHECK_EQ(rd(vm, KR_RTC_HOURS), 17);
	CHECK_EQ(rd(vm, KR_RTC_YEAR), 26);
	CHECK_EQ(rd(vm, KR_RTC_CENTURY), 20);
	wr(vm, KR_RTC_REG_B, KR_RTC_B_BINARY); /* 12-hour: bit 7 is PM */
	CHECK_EQ(rd(vm, KR_RTC_HOURS), 0x80 | 5);
	wr(vm, KR_RTC_REG_B, 0); /* BCD, 12-hour */
	CHECK_EQ(rd(vm, KR_RTC_HOURS), 0x85);
	set_fake(T0 - 8 * 3600 - 59 * 60 - 58, 0); /* 00:00:00: 12 AM */
	CHECK_EQ(rd(vm, KR_RTC_HOURS), 0x12);
	set_fake(T0 + 3 * 3600 + 2, 0); /* 12:00:00: 12 PM */
	CHECK_EQ(rd(vm, KR_RTC_HOURS), 0x92);
	/* A 12-hour write: 11 PM. */
	wr(vm, KR_RTC_HOURS, 0x91);
	wr(vm, KR_RTC_REG_B, KR_RTC_B_24H);
	CHECK_EQ(rd(vm, KR_RTC_HOURS), 0x23);
	io_vm_free(vm);
}

UNIT_TEST(rtc_uip_only_just_before_the_update_and_never_while_set)
{
	struct kr_vm *vm = rtc_vm();
	CHECK_EQ(rd(vm, KR_RTC_REG_A), KR_RTC_A_INIT);
	set_fake(T0, 1000000000L - KR_RTC_UIP_NS - 1);
	CHECK_EQ(rd(vm, KR_RTC_REG_A) & KR_RTC_A_UIP, 0);
	set_fake(T0, 1000000000L - KR_RTC_UIP_NS);
	CHECK_EQ(rd(vm, KR_RTC_REG_A), KR_RTC_A_UIP | KR_RTC_A_INIT);
	CHECK_EQ(rd(vm, KR_RTC_SECONDS), 0x58); /* still the old second */
	set_fake(T0 + 1, 0);
	CHECK_EQ(rd(vm, KR_RTC_REG_A) & KR_RTC_A_UIP, 0);
	CHECK_EQ(rd(vm, KR_RTC_SECONDS), 0x59);
	/* UIP is read-only; the other bits of A are kept. */
	wr(vm, KR_RTC_REG_A, 0xa3);
	CHECK_EQ(rd(vm, KR_RTC_REG_A), 0x23);
	wr(vm, KR_RTC_REG_B, KR_RTC_B_SET | KR_RTC_B_24H);
	set_fake(T0 + 1, 999999999L);
	CHECK_EQ(rd(vm, KR_RTC_REG_A) & KR_RTC_A_UIP, 0);
	io_vm_free(vm);
}

UNIT_TEST(rtc_setting_the_time_holds_then_runs_from_it)
{
	struct kr_vm *vm = rtc_vm();
	wr(vm, KR_RTC_REG_B, KR_RTC_B_SET | KR_RTC_B_UIE | KR_RTC_B_24H);
	CHECK_EQ(rd(vm, KR_RTC_REG_B), KR_RTC_B_SET | KR_RTC_B_24H); /* SET clears UIE */
	/* 1999-12-31 23:59:50 while the host's clock goes on: the time stands still. */
	wr(vm, KR_RTC_CENTURY, 0x19);
	wr(vm, KR_RTC_YEAR, 0x99);
	wr(vm, KR_RTC_MONTH, 0x12);
	wr(vm, KR_RTC_DAY_OF_MONTH, 0x31);
	wr(vm, KR_RTC_HOURS, 0x23);
	wr(vm, KR_RTC_MINUTES, 0x59);
	wr(vm, KR_RTC_SECONDS, 0x50);
	wr(vm, KR_RTC_DAY_OF_WEEK, 0x07); /* ignored: 31 December 1999 was a Friday */
	set_fake(T0 + 100, 0);
	CHECK_EQ(rd(vm, KR_RTC_SECONDS), 0x50);
	CHECK_EQ(rd(vm, KR_RTC_DAY_OF_WEEK), 6);
	wr(vm, KR_RTC_REG_B, KR_RTC_B_24H);
	set_fake(T0 + 111, 0); /* 11 s later: into the next century */
	CHECK_EQ(rd(vm, KR_RTC_SECONDS), 0x01);
	CHECK_EQ(rd(vm, KR_RTC_MINUTES), 0x00);
	CHECK_EQ(rd(vm, KR_RTC_DAY_OF_MONTH), 0x01);
	CHECK_EQ(rd(vm, KR_RTC_MONTH), 0x01);
	CHECK_EQ(rd(vm, KR_RTC_YEAR), 0x00);
	CHECK_EQ(rd(vm, KR_RTC_CENTURY), 0x20);
	/* A write while running moves that field only; out-of-range values are clamped. */
	wr(vm, KR_RTC_MINUTES, 0x99);
	CHECK_EQ(rd(vm, KR_RTC_MINUTES), 0x59);
	CHECK_EQ(rd(vm, KR_RTC_SECONDS), 0x01);
	wr(vm, KR_RTC_MONTH, 0x02);
	wr(vm, KR_RTC_DAY_OF_MONTH, 0x31); /* 31 February 2000: 2 March */
	CHECK_EQ(rd(vm, KR_RTC_MONTH), 0x03);
	CHECK_EQ(rd(vm, KR_RTC_DAY_OF_MONTH), 0x02);
	io_vm_free(vm);
}

UNIT_TEST(rtc_register_c_reports_an_update_once_and_d_and_c_are_read_only)
{
	struct kr_vm *vm = rtc_vm();
	CHECK_EQ(rd(vm, KR_RTC_REG_C), 0);
	set_fake(T0 + 1, 0);
	CHECK_EQ(rd(vm, KR_RTC_REG_C), KR_RTC_C_UF);
	CHECK_EQ(rd(vm, KR_RTC_REG_C), 0); /* reading cleared it */
	wr(vm, KR_RTC_REG_B, KR_RTC_B_UIE | KR_RTC_B_24H);
	set_fake(T0 + 2, 0);
	CHECK_EQ(rd(vm, KR_RTC_REG_C), KR_RTC_C_IRQF | KR_RTC_C_UF);
	wr(vm, KR_RTC_REG_C, 0xff);
	wr(vm, KR_RTC_REG_D, 0);
	CHECK_EQ(rd(vm, KR_RTC_REG_C), 0);
	CHECK_EQ(rd(vm, KR_RTC_REG_D), KR_RTC_D_VRT);
	io_vm_free(vm);
}

UNIT_TEST(rtc_cmos_memory_sizes_checksum_and_guest_bytes)
{
	/* 2 MiB: 640 KiB base, 1024 KiB extended, nothing above 16 MiB. */
	struct kr_vm *vm = rtc_vm();
	CHECK_EQ(rd(vm, KR_CMOS_BASE_KIB) | rd(vm, KR_CMOS_BASE_KIB + 1) << 8, 640);
	CHECK_EQ(rd(vm, KR_CMOS_EXT_KIB) | rd(vm, KR_CMOS_EXT_KIB + 1) << 8, 1024);
	CHECK_EQ(rd(vm, KR_CMOS_EXT_KIB_COPY) | rd(vm, KR_CMOS_EXT_KIB_COPY + 1) << 8, 1024);
	CHECK_EQ(rd(vm, KR_CMOS_MEM_16M_64K) | rd(vm, KR_CMOS_MEM_16M_64K + 1) << 8, 0);
	CHECK_EQ(rd(vm, KR_CMOS_CPUS_MINUS_1), 0);
	unsigned sum = 0;
	for (uint8_t i = 0x10; i < KR_CMOS_CHECKSUM; i++)
		sum += rd(vm, i);
	CHECK_EQ(rd(vm, KR_CMOS_CHECKSUM) << 8 | rd(vm, KR_CMOS_CHECKSUM + 1), sum);
	CHECK(sum != 0);
	/* The memory and the alarm registers are the guest's; the last byte is 0x7f. */
	wr(vm, 0x7f, 0xa5);
	wr(vm, 0xff, 0x5a); /* index 0x7f with the NMI bit */
	CHECK_EQ(rd(vm, 0x7f), 0x5a);
	wr(vm, KR_RTC_SECONDS_ALARM, 0x42);
	CHECK_EQ(rd(vm, KR_RTC_SECONDS_ALARM), 0x42);
	io_vm_free(vm);

	/* 1 GiB: the extended size is clamped to 65535 KiB; (1024 - 16) MiB above 16 MiB. */
	vm = io_vm_new_sized(1ull << 30);
	CHECK_EQ(rd(vm, KR_CMOS_EXT_KIB) | rd(vm, KR_CMOS_EXT_KIB + 1) << 8, 0xffff);
	CHECK_EQ(rd(vm, KR_CMOS_MEM_16M_64K) | rd(vm, KR_CMOS_MEM_16M_64K + 1) << 8,
		 (1008u << 20) / (64u << 10));
	CHECK_EQ(rd(vm, KR_CMOS_MEM_4G_64K) | rd(vm, KR_CMOS_MEM_4G_64K + 1) |
		     rd(vm, KR_CMOS_MEM_4G_64K + 2),
		 0);
	io_vm_free(vm);
}

UNIT_TEST(rtc_with_the_real_clock_shows_this_year)
{
	struct kr_vm *vm = io_vm_new();
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	int year = tm.tm_year + 1900;
	int seen = rd(vm, KR_RTC_CENTURY);
	seen = ((seen >> 4) * 10 + (seen & 15)) * 100;
	int yy = rd(vm, KR_RTC_YEAR);
	seen += (yy >> 4) * 10 + (yy & 15);
	/* New Year between the two reads: either year. */
	CHECK(seen == year || seen == year + 1);
	io_vm_free(vm);
}

UNIT_TEST(rtc_century_wraps_after_9999_as_two_digits)
{
	struct kr_vm *vm = rtc_vm();
	wr(vm, KR_RTC_REG_B, KR_RTC_B_SET | KR_RTC_B_BINARY | KR_RTC_B_24H);
	wr(vm, KR_RTC_CENTURY, 99);
	wr(vm, KR_RTC_YEAR, 99);
	wr(vm, KR_RTC_MONTH, 12);
	wr(vm, KR_RTC_DAY_OF_MONTH, 31);
	wr(vm, KR_RTC_HOURS, 23);
	wr(vm, KR_RTC_MINUTES, 59);
	wr(vm, KR_RTC_SECONDS, 59);
	wr(vm, KR_RTC_REG_B, KR_RTC_B_BINARY | KR_RTC_B_24H);
	CHECK_EQ(rd(vm, KR_RTC_CENTURY), 99);
	set_fake(T0 + 1, 0);
	CHECK_EQ(rd(vm, KR_RTC_YEAR), 0);
	CHECK_EQ(rd(vm, KR_RTC_CENTURY), 0); /* year 10000: two digits, not 100 */
	CHECK_EQ(rd(vm, KR_RTC_MONTH), 1);
	io_vm_free(vm);
}
