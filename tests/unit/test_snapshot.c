/* SPDX-License-Identifier: MIT */
/*
 * test_snapshot.c - the snapshot file without KVM: CRC32C, the container
 * (every refusal names its reason), the x86 sections a file must have and
 * their sense, and the host check. The files are made here, section by
 * section, in a memfd.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/snapfile.h"
#include "core/vm.h"
#include "devices/rtc.h"
#include "unit.h"
#include "x86/board.h"
#include "x86/snapshot.h"

UNIT_TEST(snapshot_crc32c_known_values)
{
	/* The check value of CRC-32C (RFC 3720, B.4) and the iSCSI vector of 32 zeros. */
	CHECK_EQ(kr_crc32c(0, "123456789", 9), 0xE3069283u);
	uint8_t zeros[32] = {0};
	CHECK_EQ(kr_crc32c(0, zeros, sizeof(zeros)), 0x8A9136AAu);
	/* In pieces as in one go, including the unaligned tail. */
	CHECK_EQ(kr_crc32c(kr_crc32c(0, "12345", 5), "6789", 4), 0xE3069283u);
	CHECK_EQ(kr_crc32c(0, "", 0), 0u);
	/* The table and the instruction agree, on every length and alignment up to 64. */
	uint8_t buf[80];
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (unsigned start = 0; start < 8; start++)
		for (unsigned n = 0; n <= 64; n++)
			CHECK_EQ(kr_crc32c(0, buf + start, n), kr_crc32c_table(0, buf + start, n));
	CHECK_EQ(kr_crc32c_table(0, "123456789", 9), 0xE3069283u);
}

/* The bytes kr_snap_write wrote, read back from a memfd. */
static uint8_t *written(const struct kr_snap_writer *w, size_t *len)
{
	int fd = memfd_create("snap", MFD_CLOEXEC);
	CHECK(fd >= 0);
	if (fd < 0)
		return NULL;
	CHECK_OK(kr_snap_write(w, fd));
	off_t end = lseek(fd, 0, SEEK_END);
	uint8_t *b = malloc((size_t)end + 1);
	CHECK(b && pread(fd, b, (size_t)end, 0) == end);
	close(fd);
	*len = (size_t)end;
	return b;
}

UNIT_TEST(snapshot_container_round_trip_and_refusals)
{
	struct kr_snap_writer w = {0};
	static const char a[] = "abc", b3[] = "0123456789";
	CHECK_OK(kr_snap_add(&w, 7, a, 3));
	struct iovec iov[2] = {{(void *)b3, 4}, {(void *)(b3 + 4), 6}};
	CHECK_OK(kr_snap_add_iov(&w, 9, iov, 2));
	size_t len;
	uint8_t *f = written(&w, &len);
	if (!f)
		return;
	CHECK_EQ(len, 32u + 2 * 24 + 8 + 16); /* header, table, 3 -> 8, 10 -> 16 */
	struct kr_snap_view v;
	CHECK_OK(kr_snap_parse(f, len, true, &v));
	uint64_t size;
	const uint8_t *p = kr_snap_find(&v, 9, &size);
	CHECK(p && size == 10 && memcmp(p, b3, 10) == 0);
	CHECK(kr_snap_find(&v, 8, &size) == NULL && size == 0);

	CHECK_FAILS_WITH(kr_snap_parse(f, 10, true, &v), "truncated: 10 bytes");
	CHECK_FAILS_WITH(kr_snap_parse(f, len - 8, true, &v), "truncated");
	uint8_t *longer = calloc(1, len + 8);
	memcpy(longer, f, len);
	CHECK_FAILS_WITH(kr_snap_parse(longer, len + 8, true, &v), "trailing bytes");
	free(longer);

	f[80 + 8] ^= 0x20; /* the second section's first byte */
	CHECK_FAILS_WITH(kr_snap_parse(f, len, true, &v), "section 1 (id 9, 10 bytes): checksum");
	CHECK_OK(kr_snap_parse(f, len, false, &v)); /* what the fuzzer sees */
	f[80 + 8] ^= 0x20;
	f[20] ^= 1; /* the file size: the header checksum catches what the size check may not */
	CHECK_FAILS_WITH(kr_snap_parse(f, len, true, &v), "the header says");
	f[20] ^= 1;
	f[28] = 1; /* reserved */
	CHECK_FAILS_WITH(kr_snap_parse(f, len, true, &v), "reserved");
	f[28] = 0;
	f[24] ^= 1; /* the header CRC itself */
	CHECK_FAILS_WITH(kr_snap_parse(f, len, true, &v), "header checksum mismatch");
	f[24] ^= 1;
	f[12] = 0; /* no sections */
	CHECK_FAILS_WITH(kr_snap_parse(f, len, true, &v), "0 sections");
	f[12] = 2;

	/* Behind good checksums: overlap, misalignment, repeats, padding. */
	struct kr_snap_section s1;
	memcpy(&s1, f + 32 + 24, sizeof(s1));
	uint64_t off = s1.offset;
	s1.offset = 80 + 4;
	memcpy(f + 32 + 24, &s1, sizeof(s1));
	kr_snap_fix_checksums(f, len);
	CHECK_FAILS_WITH(kr_snap_parse(f, len, true, &v), "not 8-byte aligned");
	s1.offset = 80;
	memcpy(f + 32 + 24, &s1, sizeof(s1));
	kr_snap_fix_checksums(f, len);
	CHECK_FAILS_WITH(kr_snap_parse(f, len, true, &v), "overlaps");
	s1.offset = off;
	s1.id = 7;
	memcpy(f + 32 + 24, &s1, sizeof(s1));
	kr_snap_fix_checksums(f, len);
	CHECK_FAILS_WITH(kr_snap_parse(f, len, true, &v), "id 7 appears twice");
	s1.id = 9;
	memcpy(f + 32 + 24, &s1, sizeof(s1));
	f[80 + 5] = 1; /* padding after "abc" */
	kr_snap_fix_checksums(f, len);
	CHECK_FAILS_WITH(kr_snap_parse(f, len, true, &v), "non-zero padding");
	f[80 + 5] = 0;
	s1.size = 1000;
	memcpy(f + 32 + 24, &s1, sizeof(s1));
	kr_snap_fix_checksums(f, len);
	CHECK_FAILS_WITH(kr_snap_parse(f, len, true, &v), "past the end");
	free(f);
}

/* ---- an x86 snapshot made by hand ---------------------------------------------- */

#define MEM (2u << 20)

struct hand {
	uint32_t version; /* of the file: 0 for the current one */
	struct kr_snap_host host;
	struct kr_snap_config config;
	struct kvm_cpuid_entry2 cpuid[2];
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint8_t xsave[4096];
	struct kvm_msr_entry msrs[2];
	uint8_t devices[4096];
	size_t devices_len;
	bool pc_state; /* the LAPIC, MP state, irqchip and PIT sections */
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp_state;
	struct kvm_irqchip chips[3];
	struct kvm_pit_state2 pit;
	uint64_t index[2 + 2];
	uint8_t pages[2][4096];
	bool skip_regs, bad_order;
};

/*
 * The device entries as a VM of that platform saves them: a detached VM's
 * modules (no KVM needed), each entry as x86/snapshot.h describes.
 */
static void hand_devices(struct hand *h, bool pc, bool pc_devices)
{
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.mem_size = MEM;
	cfg.pc = pc;
	struct kr_vm *vm = NULL;
	h->devices_len = 0;
	CHECK_OK(kr_vm_create_detached(&vm, &cfg));
	if (!vm)
		return;
	if (pc_devices)
		CHECK_OK(kr_board_add_pc_devices(vm));
	for (size_t i = 0; i < vm->nmodules; i++) {
		const struct kr_hooks *hk = vm->modules[i].hooks;
		if (!hk->save)
			continue;
		uint8_t *e = h->devices + h->devices_len;
		size_t room = sizeof(h->devices) - h->devices_len - 40;
		long n = hk->save(vm, vm->modules[i].opaque, e + 40, room);
		CHECK(n >= 0);
		if (n < 0)
			break;
		memset(e, 0, 40);
		strcpy((char *)e, hk->name);
		uint32_t len = (uint32_t)n;
		memcpy(e + 32, &len, 4);
		h->devices_len += 40 + (((size_t)n + 7) & ~(size_t)7);
	}
	kr_vm_destroy(vm);
}

/* The entry of device `name` in h->devices: its state and length. */
static uint8_t *hand_device(struct hand *h, const char *name, uint32_t **len)
{
	for (size_t off = 0; off < h->devices_len;) {
		uint32_t l;
		memcpy(&l, h->devices + off + 32, 4);
		if (strcmp((char *)h->devices + off, name) == 0) {
			*len = (uint32_t *)(h->devices + off + 32);
			return h->devices + off + 40;
		}
		off += 40 + ((l + 7) & ~7u);
	}
	CHECK(!"no such device entry");
	return NULL;
}

static void hand_init(struct hand *h)
{
	memset(h, 0, sizeof(*h));
	kr_snap_host_here(NULL, &h->host);
	h->config = (struct kr_snap_config){
	    .mode = KR_MODE_LONG, .mem_size = MEM, .cpu_maxphyaddr = 40, .cpus = 1};
	h->cpuid[0].function = 0;
	h->cpuid[1].function = 1;
	h->regs.rip = 0x100000;
	h->msrs[0].index = 0xc0000080;
	hand_devices(h, false, false);
	h->index[0] = MEM;
	h->index[1] = 2;
	h->index[2] = 1;
	h->index[3] = 300;
	memset(h->pages[0], 0xab, 4096);
	memset(h->pages[1], 0xcd, 4096);
}

/* A machine with the PC platform: its chips' sections and its devices. */
static void hand_init_pc(struct hand *h)
{
	hand_init(h);
	h->config.pc = h->config.pc_devices = 1;
	h->pc_state = true;
	h->mp_state.mp_state = KVM_MP_STATE_RUNNABLE;
	h->chips[0].chip_id = KVM_IRQCHIP_PIC_MASTER;
	h->chips[1].chip_id = KVM_IRQCHIP_PIC_SLAVE;
	h->chips[2].chip_id = KVM_IRQCHIP_IOAPIC;
	hand_devices(h, true, true);
}

static uint8_t *hand_file(struct hand *h, size_t *len)
{
	struct kr_snap_writer w = {.version = h->version};
	if (h->bad_order)
		h->index[3] = 1;
	kr_snap_add(&w, KR_SNAP_HOST, &h->host, sizeof(h->host));
	kr_snap_add(&w, KR_SNAP_CONFIG, &h->config,
		    h->version == 1 ? KR_SNAP_CONFIG_V1_SIZE : sizeof(h->config));
	kr_snap_add(&w, KR_SNAP_CPUID, h->cpuid, sizeof(h->cpuid));
	if (!h->skip_regs)
		kr_snap_add(&w, KR_SNAP_REGS, &h->regs, sizeof(h->regs));
	kr_snap_add(&w, KR_SNAP_SREGS, &h->sregs, sizeof(h->sregs));
	kr_snap_add(&w, KR_SNAP_XSAVE, h->xsave, sizeof(h->xsave));
	kr_snap_add(&w, KR_SNAP_MSRS, h->msrs, sizeof(h->msrs));
	if (h->pc_state) {
		kr_snap_add(&w, KR_SNAP_LAPIC, &h->lapic, sizeof(h->lapic));
		kr_snap_add(&w, KR_SNAP_MP_STATE, &h->mp_state, sizeof(h->mp_state));
		kr_snap_add(&w, KR_SNAP_IRQCHIP, h->chips, sizeof(h->chips));
		kr_snap_add(&w, KR_SNAP_PIT, &h->pit, sizeof(h->pit));
	}
	kr_snap_add(&w, KR_SNAP_DEVICES, h->devices, h->devices_len);
	kr_snap_add(&w, KR_SNAP_MEM_INDEX, h->index, sizeof(h->index));
	kr_snap_add(&w, KR_SNAP_MEM_PAGES, h->pages, sizeof(h->pages));
	return written(&w, len);
}

static void hand_refused(struct hand *h, const char *needle)
{
	size_t len;
	uint8_t *f = hand_file(h, &len);
	struct kr_snapshot *s = NULL;
	if (f) {
		CHECK_FAILS_WITH(kr_snapshot_read_buffer(f, len, &s), needle);
		CHECK_EQ(kr_last_error_code(), KR_E_BAD_SNAPSHOT);
		CHECK(s == NULL);
	}
	free(f);
}

UNIT_TEST(snapshot_x86_sections_are_checked_for_sense)
{
	struct hand h;
	hand_init(&h);
	size_t len;
	uint8_t *f = hand_file(&h, &len);
	struct kr_snapshot *s = NULL;
	CHECK_OK(kr_snapshot_read_buffer(f, len, &s));
	if (s) {
		struct kr_snapshot_info info;
		kr_snapshot_info(s, &info);
		CHECK_EQ(info.mem_size, MEM);
		CHECK_EQ(info.pages, 2u);
		CHECK_EQ(info.rip, 0x100000u);
		CHECK_EQ(info.nmsrs, 2u);
		CHECK_EQ(info.xsave_size, 4096u);
		CHECK(!info.lapic && !info.irqchip && !info.pit);
	}
	kr_snapshot_free(s);
	free(f);

	h.skip_regs = true;
	hand_refused(&h, "registers section (id 4) is missing");
	hand_init(&h);
	h.bad_order = true;
	hand_refused(&h, "out of order");
	hand_init(&h);
	h.index[3] = MEM / 4096;
	hand_refused(&h, "beyond RAM");
	hand_init(&h);
	h.index[1] = 3;
	hand_refused(&h, "do not fit");
	hand_init(&h);
	h.config.mem_size = MEM + 1;
	hand_refused(&h, "memory size");
	hand_init(&h);
	h.config.mode = 9;
	hand_refused(&h, "invalid CPU mode 9");
	hand_init(&h);
	uint32_t huge = 1u << 30;
	memcpy(h.devices + 32, &huge, 4);
	hand_refused(&h, "device 'console'");
	hand_init(&h);
	h.config.cpus = 2;
	hand_refused(&h, "2 vCPUs; a snapshot holds one");
	hand_init(&h);
	memset(h.host.backend, 'x', sizeof(h.host.backend));
	hand_refused(&h, "not terminated");
}

UNIT_TEST(snapshot_host_check_names_what_differs)
{
	struct kr_snap_host here, there;
	kr_snap_host_here(NULL, &here);
	CHECK(here.backend[0] != 0 && here.nwords == KR_SNAP_HOST_WORDS);
	there = here;
	CHECK_OK(kr_snap_check_host(&there, &here));
	snprintf(there.backend, sizeof(there.backend), "kvm_intel_elsewhere");
	CHECK_FAILS_WITH(kr_snap_check_host(&there, &here), "back end 'kvm_intel_elsewhere'");
	CHECK_EQ(kr_last_error_code(), KR_E_BAD_SNAPSHOT);
	there = here;
	there.words[2] ^= 1u << 5; /* CPUID.7.0:EBX */
	CHECK_FAILS_WITH(kr_snap_check_host(&there, &here), "CPUID.7.0:EBX");
	there = here;
	snprintf(there.vendor, sizeof(there.vendor), "GenuineIotel");
	CHECK_FAILS_WITH(kr_snap_check_host(&there, &here), "'GenuineIotel' CPU");
	there = here;
	here.tsc_khz = 2000000;
	there.tsc_khz = 2000400; /* 200 ppm: KVM's tolerance */
	CHECK_OK(kr_snap_check_host(&there, &here));
	there.tsc_khz = 2001000; /* 500 ppm */
	CHECK_FAILS_WITH(kr_snap_check_host(&there, &here), "TSC frequency 2001000 kHz");
	there.tsc_khz = 0; /* unknown there: nothing to compare */
	CHECK_OK(kr_snap_check_host(&there, &here));
	there = here;
	there.nwords = 3;
	CHECK_FAILS_WITH(kr_snap_check_host(&there, &here), "3 host CPUID words");
}

/* What a reader makes of a hand-made file: it reads (and reads back the same when rewritten). */
static void hand_reads(struct hand *h, uint32_t version_back)
{
	size_t len;
	uint8_t *f = hand_file(h, &len);
	struct kr_snapshot *s = NULL;
	CHECK_OK(kr_snapshot_read_buffer(f, len, &s));
	if (s) {
		int fd = memfd_create("snap-again", MFD_CLOEXEC);
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		CHECK_OK(kr_snapshot_write(s, path));
		struct kr_snap_header head;
		CHECK(pread(fd, &head, sizeof(head), 0) == (ssize_t)sizeof(head));
		CHECK_EQ(head.version, version_back);
		struct kr_snapshot *again = NULL;
		CHECK_OK(kr_snapshot_read(path, &again));
		kr_snapshot_free(again);
		close(fd);
	}
	kr_snapshot_free(s);
	free(f);
}

UNIT_TEST(snapshot_pc_platform_and_device_state_are_checked)
{
	struct hand h;
	struct kr_snapshot_info info;
	size_t len;

	/* A PC machine's file: the chips' sections, the five devices' state. */
	hand_init_pc(&h);
	uint8_t *f = hand_file(&h, &len);
	struct kr_snapshot *s = NULL;
	CHECK_OK(kr_snapshot_read_buffer(f, len, &s));
	if (s) {
		kr_snapshot_info(s, &info);
		CHECK(info.lapic && info.irqchip && info.pit);
	}
	kr_snapshot_free(s);
	free(f);
	hand_reads(&h, KR_SNAP_VERSION);

	/* The pc flag flipped either way, or forged without the PC devices. */
	hand_init_pc(&h);
	h.config.pc = 0;
	hand_refused(&h, "has LAPIC state, but its configuration has no PC platform");
	hand_init(&h);
	h.config.pc = h.config.pc_devices = 1;
	hand_refused(&h, "has the PC platform (cfg.pc), but the file has no LAPIC state");
	hand_init_pc(&h);
	h.config.pc_devices = 0;
	hand_refused(&h, "without the PC devices");
	hand_init_pc(&h);
	h.config.pc = 2;
	hand_refused(&h, "invalid platform flags (pc 2");
	hand_init_pc(&h);
	h.chips[0].chip_id = KVM_IRQCHIP_IOAPIC;
	hand_refused(&h, "irqchip entry 0 is chip 2");
	/* PC devices' state in a machine without them; a device with no entry; two entries. */
	hand_init_pc(&h);
	h.config.pc = 0;
	h.pc_state = false;
	h.config.pc_devices = 0;
	hand_refused(&h, "one of the PC devices, which the configuration does not have");
	hand_init(&h);
	h.devices_len = 40 + 16; /* the console's entry only: no uart */
	hand_refused(&h, "state for 1 devices, but a machine without the PC devices has 2");
	hand_init(&h);
	memcpy(h.devices + h.devices_len, h.devices, 56);
	h.devices_len += 56;
	hand_refused(&h, "device 'console' has two entries");
	hand_init(&h);
	strcpy((char *)h.devices, "floppy");
	hand_refused(&h, "no device 'floppy' with state");

	/* Each device's state: a truncated one, and values out of range. */
	uint32_t *elen;
	uint8_t *st;
	hand_init_pc(&h);
	if (hand_device(&h, "rtc", &elen))
		(*elen)--;
	hand_refused(&h, "rtc: snapshot state of");
	hand_init_pc(&h);
	if ((st = hand_device(&h, "rtc", &elen)))
		st[KR_RTC_REG_A] |= 0x80;
	hand_refused(&h, "rtc: snapshot register A has UIP set");
	hand_init_pc(&h);
	if ((st = hand_device(&h, "rtc", &elen)))
		st[0x09] = 0x99; /* the year: computed, never stored */
	hand_refused(&h, "rtc: snapshot CMOS byte 0x09 is 0x99");
	hand_init_pc(&h);
	if ((st = hand_device(&h, "rtc", &elen))) {
		int64_t far = INT64_MAX - 5;
		memcpy(st + 136, &far, 8); /* the offset, after the 128 bytes and the index */
	}
	hand_refused(&h, "rtc: snapshot time out of range");
	hand_init_pc(&h);
	if ((st = hand_device(&h, "uart", &elen))) {
		uint32_t many = 257; /* one past the FIFO */
		memcpy(st + 24, &many, 4); /* rx_count */
	}
	hand_refused(&h, "uart: snapshot receive FIFO holds 257 bytes");
	hand_init_pc(&h);
	if ((st = hand_device(&h, "uart", &elen)))
		st[8] = 1; /* irq_level with nothing pending */
	hand_refused(&h, "uart: snapshot IRQ line high, but no interrupt is pending");
	hand_init_pc(&h);
	if ((st = hand_device(&h, "uart", &elen)))
		st[0] = 0x80; /* IER */
	hand_refused(&h, "uart: snapshot registers out of range (IER 0x80");
	hand_init_pc(&h);
	if ((st = hand_device(&h, "uart", &elen)))
		(*elen) -= 8;
	hand_refused(&h, "uart: snapshot state of");
	hand_init_pc(&h);
	if ((st = hand_device(&h, "i8042", &elen)))
		st[35] = 0xaa; /* pending: the self test takes no data byte */
	hand_refused(&h, "i8042: snapshot waits for the data byte of command 0xaa");
	hand_init_pc(&h);
	if ((st = hand_device(&h, "i8042", &elen))) {
		st[32] = 0x01; /* a keyboard byte waits ... */
		st[0] = 0x01;  /* ... its interrupt enabled: IRQ 1 must be high */
	}
	hand_refused(&h, "i8042: snapshot IRQ lines 0x0, but");
	hand_init_pc(&h);
	if ((st = hand_device(&h, "fw_cfg", &elen)))
		st[2] = 1;
	hand_refused(&h, "fw_cfg: snapshot padding");
}

UNIT_TEST(snapshot_version_1_files_still_read)
{
	struct hand h;
	/* Version 1: a 32-byte configuration, the console's state only. */
	hand_init(&h);
	h.version = 1;
	h.devices_len = 40 + 16;
	hand_reads(&h, 1);
	/* The container says which version it read. */
	hand_init(&h);
	h.version = 1;
	h.devices_len = 40 + 16;
	size_t len;
	uint8_t *f = hand_file(&h, &len);
	struct kr_snap_view v;
	CHECK_OK(kr_snap_parse(f, len, true, &v));
	CHECK_EQ(v.version, 1u);
	free(f);
	/* A version 2 file whose configuration is version 1's size. */
	hand_init(&h);
	h.version = 2;
	struct kr_snap_writer w = {.version = 2};
	kr_snap_add(&w, KR_SNAP_HOST, &h.host, sizeof(h.host));
	kr_snap_add(&w, KR_SNAP_CONFIG, &h.config, KR_SNAP_CONFIG_V1_SIZE);
	f = written(&w, &len);
	struct kr_snapshot *s = NULL;
	if (f)
		CHECK_FAILS_WITH(kr_snapshot_read_buffer(f, len, &s),
				 "config section is 32 bytes, expected 48 in a version 2 file");
	free(f);
}
