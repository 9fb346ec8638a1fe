/* SPDX-License-Identifier: MIT */
/*
 * rtc.c - the PC's CMOS real-time clock (a Motorola MC146818 on the IBM AT)
 * and the 114 bytes of battery-backed memory next to it. Linux reads the
 * time from it at boot (and the rtc_cmos driver for hwclock); without one,
 * its reads of the floating bus see "update in progress" for ever and the
 * boot loses seconds in retries.
 *
 * The guest writes an index to port 0x70 (bit 7 masks NMIs on the board;
 * kvmrun raises no NMIs from outside, so the bit is kept and has no other
 * effect) and reads or writes that byte at 0x71. Port 0x70 reads as 0xff,
 * as the write-only latch floats.
 *
 * Time: the host's CLOCK_REALTIME in UTC (what Linux on x86 expects of the
 * RTC), plus an offset in whole seconds that the guest changes by writing
 * the time registers, so its updates follow the host's second boundaries.
 * Each read converts it per register B: BCD or binary (DM), 24- or 12-hour
 * (bit 7 of the hour for PM); switching the format shows the same time in
 * the new one at once. While B's SET bit is set the time stands still and
 * writes go to a held copy; clearing SET starts the clock from it. Written
 * values out of range are clamped (seconds to 59, months to 1..12, ...) and
 * a day beyond the month's end rolls into the next; the day of the week
 * always follows the date (writes to it are ignored). The century is the
 * CMOS byte 0x32.
 *
 * Registers A to D: A's UIP bit reads 1 in the last 2.228 ms of each second
 * (the chip's 244 us warning plus its longest update), never while SET is
 * set, so a guest waiting for it to clear waits at most that long, and one
 * waiting for the edge sees it; A's other bits are kept (the divider and
 * rate are not modelled). B is kept (SET clears UIE, as on the chip). C
 * reports UF once the seconds moved on since it was last read, with IRQF
 * when UIE is set, and reading clears it. D reads VRT: the battery is good.
 *
 * No interrupts: IRQ 8 is never raised, so alarms (AF), periodic (PF) and
 * update-ended interrupts do not happen; a guest that polls register C for
 * UF does see the updates. Linux's rtc_cmos driver reads and sets the time
 * without them (hwclock -r/-w; not --update via /dev/rtc interrupts).
 *
 * Memory: bytes 0x0e..0x7f are the guest's; kvmrun fills in at creation what
 * PC firmware leaves there about the machine (see rtc.h): conventional,
 * extended and high memory sizes from cfg.mem_size (each clamped to its
 * field), the CPU count (cfg.cpus) and the AT checksum over 0x10..0x2d.
 *
 * Two vCPUs may reach the device at once: a mutex keeps the index and the
 * data access together as one.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/vm.h"
#include "devices/rtc.h"

#define CMOS_SIZE 128

struct rtc {
	pthread_mutex_t lock;
	int (*clock)(struct timespec *now);
	uint8_t index;
	bool nmi_disabled;
	uint8_t cmos[CMOS_SIZE]; /* registers A, B and the memory; time registers are computed */
	int64_t offset;		 /* guest time - host time, seconds */
	struct tm held;		 /* the time while SET is set */
	int64_t c_read_at;	 /* the guest second at the last read of register C */
};

static int host_clock(struct timespec *now)
{
	return clock_gettime(CLOCK_REALTIME, now);
}

static struct timespec host_now(const struct rtc *r)
{
	struct timespec now;
	if (r->clock(&now) < 0) /* CLOCK_REALTIME cannot fail; a broken test clock reads 0 */
		memset(&now, 0, sizeof(now));
	return now;
}

/* The guest's time now, in seconds since the epoch and broken down (UTC). */
static int64_t guest_time(const struct rtc *r, struct tm *tm)
{
	if (r->cmos[KR_RTC_REG_B] & KR_RTC_B_SET) {
		*tm = r->held;
		struct tm copy = r->held;
		return (int64_t)timegm(&copy);
	}
	time_t t = (time_t)(host_now(r).tv_sec + r->offset);
	if (!gmtime_r(&t, tm))
		memset(tm, 0, sizeof(*tm));
	return (int64_t)t;
}

static uint8_t encode(const struct rtc *r, int v)
{
	if (v < 0)
		v = 0;
	if (r->cmos[KR_RTC_REG_B] & KR_RTC_B_BINARY)
		return (uint8_t)v;
	return (uint8_t)((v / 10 % 10) << 4 | v % 10);
}

static int decode(const struct rtc *r, uint8_t v)
{
	if (r->cmos[KR_RTC_REG_B] & KR_RTC_B_BINARY)
		return v;
	return (v >> 4) * 10 + (v & 0xf);
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static uint8_t encode_hour(const struct rtc *r, int h)
{
	if (r->cmos[KR_RTC_REG_B] & KR_RTC_B_24H)
		return encode(r, h);
	int h12 = h % 12 == 0 ? 12 : h % 12;
	return (uint8_t)(encode(r, h12) | (h >= 12 ? 0x80 : 0));
}

static int decode_hour(const struct rtc *r, uint8_t v)
{
	if (r->cmos[KR_RTC_REG_B] & KR_RTC_B_24H)
		return clamp(decode(r, v), 0, 23);
	int h = clamp(decode(r, v & 0x7f), 1, 12) % 12;
	return v & 0x80 ? h + 12 : h;
}

static bool update_in_progress(const struct rtc *r)
{
	if (r->cmos[KR_RTC_REG_B] & KR_RTC_B_SET)
		return false;
	return host_now(r).tv_nsec >= 1000000000L - KR_RTC_UIP_NS;
}

static uint8_t read_reg(struct rtc *r, uint8_t i)
{
	struct tm tm;
	int64_t now;

	switch (i) {
	case KR_RTC_SECONDS:
		guest_time(r, &tm);
		return encode(r, tm.tm_sec > 59 ? 59 : tm.tm_sec);
	case KR_RTC_MINUTES:
		guest_time(r, &tm);
		return encode(r, tm.tm_min);
	case KR_RTC_HOURS:
		guest_time(r, &tm);
		return encode_hour(r, tm.tm_hour);
	case KR_RTC_DAY_OF_WEEK:
		guest_time(r, &tm);
		return encode(r, tm.tm_wday + 1);
	case KR_RTC_DAY_OF_MONTH:
		guest_time(r, &tm);
		return encode(r, tm.tm_mday);
	case KR_RTC_MONTH:
		guest_time(r, &tm);
		return encode(r, tm.tm_mon + 1);
	case KR_RTC_YEAR:
		guest_time(r, &tm);
		return encode(r, (tm.tm_year + 1900) % 100);
	case KR_RTC_CENTURY:
		guest_time(r, &tm);
		return encode(r, (tm.tm_year + 1900) / 100 % 100); /* two digits, as the year's */
	case KR_RTC_REG_A:
		return (uint8_t)((r->cmos[i] & ~KR_RTC_A_UIP) |
				 (update_in_progress(r) ? KR_RTC_A_UIP : 0));
	case KR_RTC_REG_C: {
		uint8_t c = 0;
		now = guest_time(r, &tm);
		if (!(r->cmos[KR_RTC_REG_B] & KR_RTC_B_SET) && now != r->c_read_at)
			c |= KR_RTC_C_UF;
		if (c & KR_RTC_C_UF && r->cmos[KR_RTC_REG_B] & KR_RTC_B_UIE)
			c |= KR_RTC_C_IRQF;
		r->c_read_at = now;
		return c;
	}
	case KR_RTC_REG_D:
		return KR_RTC_D_VRT;
	default:
		return r->cmos[i];
	}
}

/* A time register written: change that field of the guest's time, keep the others. */
static void write_time(struct rtc *r, uint8_t i, uint8_t v)
{
	struct tm tm;
	guest_time(r, &tm);
	int century = (tm.tm_year + 1900) / 100;
	switch (i) {
	case KR_RTC_SECONDS:
		tm.tm_sec = clamp(decode(r, v), 0, 59);
		break;
	case KR_RTC_MINUTES:
		tm.tm_min = clamp(decode(r, v), 0, 59);
		break;
	case KR_RTC_HOURS:
		tm.tm_hour = decode_hour(r, v);
		break;
	case KR_RTC_DAY_OF_MONTH:
		tm.tm_mday = clamp(decode(r, v), 1, 31);
		break;
	case KR_RTC_MONTH:
		tm.tm_mon = clamp(decode(r, v), 1, 12) - 1;
		break;
	case KR_RTC_YEAR:
		tm.tm_year = century * 100 + clamp(decode(r, v), 0, 99) - 1900;
		break;
	case KR_RTC_CENTURY:
		tm.tm_year = clamp(decode(r, v), 0, 99) * 100 + (tm.tm_year + 1900) % 100 - 1900;
		break;
	default: /* the day of the week follows the date */
		return;
	}
	/* timegm normalises (31 February is 3 March) and sets the day of the week. */
	int64_t t = (int64_t)timegm(&tm);
	if (r->cmos[KR_RTC_REG_B] & KR_RTC_B_SET)
		r->held = tm;
	else
		r->offset = t - host_now(r).tv_sec;
}

static void write_reg(struct rtc *r, uint8_t i, uint8_t v)
{
	struct tm tm;
	switch (i) {
	case KR_RTC_SECONDS:
	case KR_RTC_MINUTES:
	case KR_RTC_HOURS:
	case KR_RTC_DAY_OF_WEEK:
	case KR_RTC_DAY_OF_MONTH:
	case KR_RTC_MONTH:
	case KR_RTC_YEAR:
	case KR_RTC_CENTURY:
		write_time(r, i, v);
		break;
	case KR_RTC_REG_A:
		r->cmos[i] = v & (uint8_t)~KR_RTC_A_UIP;
		break;
	case KR_RTC_REG_B: {
		bool was_set = r->cmos[i] & KR_RTC_B_SET, set = v & KR_RTC_B_SET;
		if (set && !was_set)
			guest_time(r, &r->held);
		if (set)
			v &= (uint8_t)~KR_RTC_B_UIE;
		if (!set && was_set) {
			tm = r->held;
			r->offset = (int64_t)timegm(&tm) - host_now(r).tv_sec;
			r->c_read_at = (int64_t)timegm(&tm);
		}
		r->cmos[i] = v;
		break;
	}
	case KR_RTC_REG_C:
	case KR_RTC_REG_D:
		break; /* read-only */
	default:
		r->cmos[i] = v; /* the alarm registers and the memory */
		break;
	}
}

static int rtc_port(struct kr_vm *vm, void *opaque, uint64_t port, void *data, uint32_t size,
		    bool is_write)
{
	(void)vm;
	struct rtc *r = opaque;
	uint8_t *d = data;

	pthread_mutex_lock(&r->lock);
	if (port == KR_RTC_INDEX_PORT) {
		if (is_write) {
			r->index = d[0] & KR_RTC_INDEX_MASK;
			r->nmi_disabled = d[0] & KR_RTC_NMI_DISABLE;
		} else {
			memset(d, 0xff, size);
		}
	} else if (is_write) {
		write_reg(r, r->index, d[0]);
	} else {
		memset(d, 0, size);
		d[0] = read_reg(r, r->index);
	}
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static void put16le(uint8_t *p, uint64_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* What PC firmware leaves in the CMOS memory about this machine. */
static void fill_memory(uint8_t *cmos, const struct kr_vm_config *cfg)
{
	const uint64_t kib = 1024, mib = 1024 * kib, gib = 1024 * mib;
	uint64_t mem = cfg->mem_size;
	/* cfg.cpus is 1..KR_MAX_CPUS (checked by kr_vm_new); the byte holds up to 256. */
	unsigned cpus = cfg->cpus < 1 ? 1 : cfg->cpus > 256 ? 256 : cfg->cpus;

	cmos[KR_CMOS_EQUIPMENT] = 0x02;
	put16le(&cmos[KR_CMOS_BASE_KIB], 640);
	uint64_t ext = mem > mib ? min_u64((mem - mib) / kib, 0xffff) : 0;
	put16le(&cmos[KR_CMOS_EXT_KIB], ext);
	put16le(&cmos[KR_CMOS_EXT_KIB_COPY], ext);
	uint64_t below4g = min_u64(mem, 4 * gib);
	put16le(&cmos[KR_CMOS_MEM_16M_64K],
		below4g > 16 * mib ? min_u64((below4g - 16 * mib) / (64 * kib), 0xffff) : 0);
	uint64_t above4g = mem > 4 * gib ? min_u64((mem - 4 * gib) / (64 * kib), 0xffffff) : 0;
	cmos[KR_CMOS_MEM_4G_64K] = (uint8_t)above4g;
	cmos[KR_CMOS_MEM_4G_64K + 1] = (uint8_t)(above4g >> 8);
	cmos[KR_CMOS_MEM_4G_64K + 2] = (uint8_t)(above4g >> 16);
	cmos[KR_CMOS_CPUS_MINUS_1] = (uint8_t)(cpus - 1);
	unsigned sum = 0;
	for (unsigned i = 0x10; i < KR_CMOS_CHECKSUM; i++)
		sum += cmos[i];
	cmos[KR_CMOS_CHECKSUM] = (uint8_t)(sum >> 8);
	cmos[KR_CMOS_CHECKSUM + 1] = (uint8_t)sum;
}

static void on_destroy(struct kr_vm *vm, void *opaque)
{
	(void)vm;
	struct rtc *r = opaque;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/*
 * Snapshots: the CMOS bytes, the index, and the guest's time as its offset
 * to the host's clock (with the held time while SET, and the second of the
 * last register C read). The offset, not the time: a restored guest's
 * clock reads the host's time now plus the guest's own setting, as a
 * battery-backed clock goes on through a suspend, so a snapshot restored
 * an hour later reads an hour later (and Linux, which reads the RTC at
 * boot and on resume, sees the real time); the guest's TSC and the timers
 * in KVM come back as they were, so its clock from them does not jump.
 */
struct rtc_state {
	uint8_t cmos[CMOS_SIZE];
	uint8_t index, nmi_disabled, zero[6];
	int64_t offset;	   /* guest - host, seconds */
	int64_t held;	   /* the held time (seconds since the epoch) */
	int64_t c_read_at; /* a guest second */
};

/*
 * The times a guest can reach: its writes give years 0..9999 (century and
 * year are two BCD digits each), so its offset to any host clock of this
 * era and the seconds it sees stay within this; a wider value would not
 * fit gmtime's years or overflow the sum with the host's time.
 */
#define TIME_LIMIT (400ll * 1000 * 1000 * 1000) /* seconds: beyond year 12000 */

static long save(struct kr_vm *vm, void *opaque, void *buf, size_t max)
{
	(void)vm;
	struct rtc *r = opaque;
	struct rtc_state st;
	if (max < sizeof(st))
		return kr_err("rtc: snapshot needs %zu bytes, %zu left", sizeof(st), max);
	memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&r->lock);
	memcpy(st.cmos, r->cmos, sizeof(st.cmos));
	st.index = r->index;
	st.nmi_disabled = r->nmi_disabled;
	st.offset = r->offset;
	struct tm held = r->held;
	st.held = (r->cmos[KR_RTC_REG_B] & KR_RTC_B_SET) ? (int64_t)timegm(&held) : 0;
	st.c_read_at = r->c_read_at;
	pthread_mutex_unlock(&r->lock);
	memcpy(buf, &st, sizeof(st));
	return (long)sizeof(st);
}

static int parse_state(const void *buf, size_t len, struct rtc_state *st)
{
	if (len != sizeof(*st))
		return kr_err("rtc: snapshot state of %zu bytes, expected %zu", len, sizeof(*st));
	memcpy(st, buf, sizeof(*st));
	if (st->index > KR_RTC_INDEX_MASK || st->nmi_disabled > 1)
		return kr_err("rtc: snapshot index 0x%x or NMI flag %u out of range", st->index,
			      st->nmi_disabled);
	for (size_t i = 0; i < sizeof(st->zero); i++)
		if (st->zero[i])
			return kr_err("rtc: snapshot padding is not zero");
	/* Bytes the clock computes (the time, C, D) are never stored, nor A's UIP bit. */
	static const uint8_t computed[] = {
	    KR_RTC_SECONDS, KR_RTC_MINUTES, KR_RTC_HOURS,   KR_RTC_DAY_OF_WEEK, KR_RTC_DAY_OF_MONTH,
	    KR_RTC_MONTH,   KR_RTC_YEAR,    KR_RTC_CENTURY, KR_RTC_REG_C,	KR_RTC_REG_D};
	for (size_t i = 0; i < sizeof(computed); i++)
		if (st->cmos[computed[i]])
			return kr_err(
			    "rtc: snapshot CMOS byte 0x%02x is 0x%02x: the clock computes "
			    "it, so it is stored as 0",
			    computed[i], st->cmos[computed[i]]);
	if (st->cmos[KR_RTC_REG_A] & KR_RTC_A_UIP)
		return kr_err("rtc: snapshot register A has UIP set (0x%02x)",
			      st->cmos[KR_RTC_REG_A]);
	uint8_t b = st->cmos[KR_RTC_REG_B];
	if ((b & KR_RTC_B_SET) && (b & KR_RTC_B_UIE))
		return kr_err("rtc: snapshot register B 0x%02x: SET clears UIE", b);
	if (st->offset < -TIME_LIMIT || st->offset > TIME_LIMIT || st->held < -TIME_LIMIT ||
	    st->held > TIME_LIMIT || st->c_read_at < -TIME_LIMIT || st->c_read_at > TIME_LIMIT)
		return kr_err("rtc: snapshot time out of range (offset %lld s, held %lld, "
			      "register C read at %lld)",
			      (long long)st->offset, (long long)st->held, (long long)st->c_read_at);
	return 0;
}

int kr_rtc_check_state(const void *buf, size_t len)
{
	struct rtc_state st;
	return parse_state(buf, len, &st);
}

static int restore(struct kr_vm *vm, void *opaque, const void *buf, size_t len)
{
	(void)vm;
	struct rtc *r = opaque;
	struct rtc_state st;
	if (parse_state(buf, len, &st) < 0)
		return -1;
	struct tm held;
	time_t t = (time_t)st.held;
	if (!gmtime_r(&t, &held))
		return kr_err("rtc: snapshot held time %lld does not convert", (long long)st.held);
	pthread_mutex_lock(&r->lock);
	memcpy(r->cmos, st.cmos, sizeof(r->cmos));
	r->index = st.index;
	r->nmi_disabled = st.nmi_disabled;
	r->offset = st.offset;
	r->held = held;
	r->c_read_at = st.c_read_at;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static const struct kr_hooks rtc_hooks = {
    .name = "rtc",
    .on_destroy = on_destroy,
    .save = save,
    .restore = restore,
};

void kr_rtc_set_clock(struct kr_vm *vm, int (*clock)(struct timespec *now))
{
	struct rtc *r = kr_vm_module(vm, &rtc_hooks);
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->clock = clock ? clock : host_clock;
	struct tm tm;
	r->c_read_at = guest_time(r, &tm);
	pthread_mutex_unlock(&r->lock);
}

int kr_rtc_register(struct kr_vm *vm)
{
	struct rtc *r = calloc(1, sizeof(*r));
	if (!r)
		return kr_err_sys("rtc: calloc(%zu)", sizeof(*r));
	r->clock = host_clock;
	r->cmos[KR_RTC_REG_A] = KR_RTC_A_INIT;
	r->cmos[KR_RTC_REG_B] = KR_RTC_B_INIT;
	fill_memory(r->cmos, &vm->cfg);
	struct tm tm;
	r->c_read_at = guest_time(r, &tm);
	pthread_mutex_init(&r->lock, NULL);
	if (kr_vm_add_module(vm, &rtc_hooks, r) < 0) {
		pthread_mutex_destroy(&r->lock);
		free(r);
		return -1;
	}
	/* The index and the data port: 0x70 and 0x71. */
	return kr_bus_register(vm, KR_SPACE_PIO, KR_RTC_INDEX_PORT, 2, rtc_port, r);
}
