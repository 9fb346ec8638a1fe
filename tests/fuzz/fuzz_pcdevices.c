/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pcdevices.c - the PC devices a guest drives with port I/O: the
 * keyboard controller (0x60, 0x64), the CMOS clock (0x70, 0x71) and fw_cfg
 * (0x510, 0x511), with hostile sequences of reads and writes of any width.
 *
 * A fake VM (2 MiB, no KVM, so no interrupt lines are raised) gets the three
 * devices. The clock reads a fake host time that the input sets and moves.
 *
 * Input:
 *   bytes 0-7    u64 the fake host time in seconds (bounded to year 9999)
 *   then ops     u8: bits 2..0 the port (0x60, 0x64, 0x70, 0x71, 0x510,
 *                0x511, 0x512; 7: move the clock by the following u32
 *                nanoseconds), bit 3 write, bits 5..4 the width (1, 2, 4, 1);
 *                a write takes a u32 value
 *
 * Checks: every access is handled (the handlers never fail); a stop is only
 * the keyboard controller's reset; after a read of 0x60 the output buffer
 * is empty; at the end, whatever the guest wrote, the clock's registers
 * read as a valid date and time in the format register B names (BCD digits,
 * 12- or 24-hour, month 1..12, ...), and UIP is clear while SET is set.
 * ASan and UBSan report the rest.
 */
#include <string.h>
#include <time.h>

#include "devices/fwcfg.h"
#include "devices/i8042.h"
#include "devices/rtc.h"
#include "fuzz_common.h"

#define MEM (2ull << 20)
/* 9999-12-31 23:59:59 UTC: the clock's four digits of year. */
#define MAX_SECONDS 253402300799ull

static struct timespec fake_now;

static int fake_clock(struct timespec *now)
{
	*now = fake_now;
	return 0;
}

static uint32_t port_io(struct kr_vm *vm, uint16_t port, uint32_t size, bool is_write,
			uint32_t value)
{
	struct kr_device *dev = kr_bus_find(vm, KR_SPACE_PIO, port, size);
	if (!dev)
		return 0xffffffffu; /* across two devices' ranges: not for them */
	uint8_t buf[4];
	memcpy(buf, &value, sizeof(buf));
	FUZZ_CHECK(kr_bus_access(vm, dev, port, buf, size, is_write) == 0,
		   "port 0x%x, %u bytes, %s: %s", port, size, is_write ? "write" : "read",
		   kr_last_error());
	if (vm->stop_requested) {
		FUZZ_CHECK(vm->pending_stop.reason == KR_STOP_RESET,
			   "a stop other than the reset: %s", vm->pending_stop.message);
		vm->stop_requested = false;
		memset(&vm->pending_stop, 0, sizeof(vm->pending_stop));
	}
	uint32_t v = 0;
	memcpy(&v, buf, size);
	return v;
}

static uint8_t rtc_read(struct kr_vm *vm, uint8_t index)
{
	port_io(vm, KR_RTC_INDEX_PORT, 1, true, index);
	return (uint8_t)port_io(vm, KR_RTC_DATA_PORT, 1, false, 0);
}

/* A register's value as a number, FUZZ_CHECKing its BCD digits; mask keeps its value bits. */
static int value(uint8_t v, bool binary, uint8_t mask, const char *what)
{
	v &= mask;
	if (binary)
		return v;
	FUZZ_CHECK((v & 0xf) <= 9 && (v >> 4) <= 9, "%s 0x%02x is no BCD number", what, v);
	return (v >> 4) * 10 + (v & 0xf);
}

static void check_clock(struct kr_vm *vm)
{
	uint8_t b = rtc_read(vm, KR_RTC_REG_B);
	bool binary = b & KR_RTC_B_BINARY, h24 = b & KR_RTC_B_24H;
	int sec = value(rtc_read(vm, KR_RTC_SECONDS), binary, 0xff, "seconds");
	int min = value(rtc_read(vm, KR_RTC_MINUTES), binary, 0xff, "minutes");
	uint8_t hraw = rtc_read(vm, KR_RTC_HOURS);
	int hour = value(hraw, binary, h24 ? 0xff : 0x7f, "hours");
	int wday = value(rtc_read(vm, KR_RTC_DAY_OF_WEEK), binary, 0xff, "day of week");
	int mday = value(rtc_read(vm, KR_RTC_DAY_OF_MONTH), binary, 0xff, "day of month");
	int mon = value(rtc_read(vm, KR_RTC_MONTH), binary, 0xff, "month");
	int year = value(rtc_read(vm, KR_RTC_YEAR), binary, 0xff, "year");
	int century = value(rtc_read(vm, KR_RTC_CENTURY), binary, 0xff, "century");
	FUZZ_CHECK(sec <= 59 && min <= 59, "%02d:%02d", min, sec);
	if (h24)
		FUZZ_CHECK(hour <= 23, "24-hour hour %d (0x%02x)", hour, hraw);
	else
		FUZZ_CHECK(hour >= 1 && hour <= 12, "12-hour hour %d (0x%02x)", hour, hraw);
	FUZZ_CHECK(wday >= 1 && wday <= 7 && mday >= 1 && mday <= 31 && mon >= 1 && mon <= 12,
		   "day %d, date %d/%d", wday, mday, mon);
	FUZZ_CHECK(year <= 99 && century <= 99, "year %d, century %d", year, century);
	if (b & KR_RTC_B_SET)
		FUZZ_CHECK(!(rtc_read(vm, KR_RTC_REG_A) & KR_RTC_A_UIP), "UIP while SET");
	FUZZ_CHECK(rtc_read(vm, KR_RTC_REG_D) == KR_RTC_D_VRT, "register D");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t ports[7] = {
	    KR_I8042_DATA_PORT,	    KR_I8042_COMMAND_PORT, KR_RTC_INDEX_PORT,	  KR_RTC_DATA_PORT,
	    KR_FWCFG_PORT_SELECTOR, KR_FWCFG_PORT_DATA,	   KR_FWCFG_PORT_DATA + 1};
	static const uint32_t widths[4] = {1, 2, 4, 1};
	struct fuzz_in in = {data, size};
	struct kr_vm *vm = fuzz_vm(KR_MODE_LONG, MEM);
	fake_now.tv_sec = (time_t)(fuzz_u64(&in) % (MAX_SECONDS - 100 * 86400));
	fake_now.tv_nsec = 0;
	if (kr_i8042_register(vm) < 0 || kr_rtc_register(vm) < 0 || kr_fwcfg_register(vm) < 0)
		FUZZ_CHECK(false, "the devices: %s", kr_last_error());
	kr_rtc_set_clock(vm, fake_clock);

	while (fuzz_more(&in)) {
		uint8_t op = fuzz_u8(&in);
		unsigned p = op & 7;
		if (p == 7) {
			/* Forward only, at most about 50 days per input's worth of ops. */
			uint64_t ns = (uint64_t)fake_now.tv_nsec + fuzz_u32(&in);
			fake_now.tv_sec += (time_t)(ns / 1000000000u);
			fake_now.tv_nsec = (long)(ns % 1000000000u);
			if ((uint64_t)fake_now.tv_sec > MAX_SECONDS - 86400)
				fake_now.tv_sec = (time_t)(MAX_SECONDS - 86400);
			continue;
		}
		bool is_write = op & 8;
		uint32_t width = widths[(op >> 4) & 3];
		uint32_t v = is_write ? fuzz_u32(&in) : 0;
		fuzz_log("%s port 0x%x width %u value 0x%x", is_write ? "out" : "in", ports[p],
			 width, v);
		port_io(vm, ports[p], width, is_write, v);
		if (!is_write && ports[p] == KR_I8042_DATA_PORT && width == 1)
			FUZZ_CHECK(
			    !(port_io(vm, KR_I8042_COMMAND_PORT, 1, false, 0) & KR_I8042_STR_OBF),
			    "a byte still waits after the data port was read");
	}
	check_clock(vm);
	return 0;
}
