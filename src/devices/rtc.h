/* SPDX-License-Identifier: MIT */
/* devices/rtc.h - the PC's CMOS real-time clock and its memory (MC146818, ports 0x70, 0x71). */
#ifndef KVMRUN_DEVICES_RTC_H
#define KVMRUN_DEVICES_RTC_H

#include <time.h>

#include "kvmrun.h"

#define KR_RTC_INDEX_PORT 0x70
#define KR_RTC_DATA_PORT 0x71
#define KR_RTC_NMI_DISABLE 0x80 /* bit 7 of the index written to 0x70 */
#define KR_RTC_INDEX_MASK 0x7f	/* 128 bytes: 14 clock registers, 114 of memory */

/* Clock registers (the MC146818 data sheet's numbering). */
#define KR_RTC_SECONDS 0x00
#define KR_RTC_SECONDS_ALARM 0x01
#define KR_RTC_MINUTES 0x02
#define KR_RTC_MINUTES_ALARM 0x03
#define KR_RTC_HOURS 0x04
#define KR_RTC_HOURS_ALARM 0x05
#define KR_RTC_DAY_OF_WEEK 0x06 /* 1 = Sunday */
#define KR_RTC_DAY_OF_MONTH 0x07
#define KR_RTC_MONTH 0x08
#define KR_RTC_YEAR 0x09 /* within the century */
#define KR_RTC_REG_A 0x0a
#define KR_RTC_REG_B 0x0b
#define KR_RTC_REG_C 0x0c
#define KR_RTC_REG_D 0x0d
#define KR_RTC_CENTURY 0x32 /* the IBM PC's CMOS byte for the century (the ACPI FADT's default) */

#define KR_RTC_A_UIP 0x80  /* update in progress: the time registers are about to change */
#define KR_RTC_A_INIT 0x26 /* 32.768 kHz time base, 1024 Hz periodic rate */
#define KR_RTC_B_SET 0x80  /* updates stopped while the guest sets the time */
#define KR_RTC_B_PIE 0x40
#define KR_RTC_B_AIE 0x20
#define KR_RTC_B_UIE 0x10
#define KR_RTC_B_BINARY 0x04 /* DM: binary rather than BCD */
#define KR_RTC_B_24H 0x02
#define KR_RTC_B_INIT KR_RTC_B_24H /* BCD, 24-hour, as PC firmware leaves it */
#define KR_RTC_C_IRQF 0x80
#define KR_RTC_C_UF 0x10  /* an update cycle ended since register C was last read */
#define KR_RTC_D_VRT 0x80 /* valid RAM and time: the battery is good */
/*
 * How long before each second's update UIP reads 1: the chip raises it
 * 244 us before the update, which takes up to 1984 us.
 */
#define KR_RTC_UIP_NS ((244 + 1984) * 1000L)

/* CMOS memory bytes that firmware and boot loaders read (the IBM AT's layout, QEMU's extensions).
 */
#define KR_CMOS_EQUIPMENT 0x14	  /* bit 1: a maths coprocessor; no floppy, VGA display */
#define KR_CMOS_BASE_KIB 0x15	  /* 16-bit LE: conventional memory in KiB (640) */
#define KR_CMOS_EXT_KIB 0x17	  /* 16-bit LE: KiB above 1 MiB, at most 65535 */
#define KR_CMOS_CHECKSUM 0x2e	  /* 16-bit BE: sum of bytes 0x10..0x2d */
#define KR_CMOS_EXT_KIB_COPY 0x30 /* the same as 0x17 */
#define KR_CMOS_MEM_16M_64K 0x34  /* 16-bit LE: 64 KiB units between 16 MiB and 4 GiB */
#define KR_CMOS_MEM_4G_64K 0x5b	  /* 24-bit LE: 64 KiB units above 4 GiB */
#define KR_CMOS_CPUS_MINUS_1 0x5f /* the number of CPUs less one (SeaBIOS reads it) */

int kr_rtc_register(struct kr_vm *vm);
/* Snapshots: whether saved state (from a file) makes sense, -1 naming why not. */
int kr_rtc_check_state(const void *buf, size_t len);
/* For tests: read the host's time with `clock` (CLOCK_REALTIME otherwise). */
void kr_rtc_set_clock(struct kr_vm *vm, int (*clock)(struct timespec *now));

#endif
