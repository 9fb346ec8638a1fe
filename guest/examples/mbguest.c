/* SPDX-License-Identifier: MIT */
/*
 * mbguest.c - a multiboot kernel as test suites write them for QEMU's
 * -kernel: checks the machine state and the boot information, reads fw_cfg
 * and its module, prints over COM1 (polling LSR.THRE) and ends through the
 * isa-debug-exit port.
 *
 *   kvmrun run --mem 64M --append "hello there" --module mbguest.cfg mbguest.elf
 *
 * Checks, in order (check N failing exits with v = N, status 2N + 1): the
 * magic in EAX; the information flags; mem_lower 640 and mem_upper; the
 * memory map (an available entry from 1 MiB to the end of RAM, kvmrun's
 * area reserved); fw_cfg's signature "QEMU", its CPU count 1 and its RAM
 * size, which must match the information; one module, page-aligned, whose
 * KEY=VALUE lines hold GREETING. It prints the command line, the RAM size
 * and GREETING's value, then exits with v = 0: status 1, QEMU's "pass".
 *
 * For the devices' own tests, a word on the command line (--append) picks
 * another ending, right after the magic is checked:
 *   action=reset   port 0x80 (ignored), then the keyboard controller's reset:
 *                  wait for its input buffer to be empty, write 0xFE to 0x64
 *   action=exit62  isa-debug-exit with v = 62: status 125, kvmrun's own
 *   action=rtc     the CMOS clock's date: wait (bounded) for UIP to clear,
 *                  read register B, then century, year, month and day as it
 *                  says (BCD or binary); prints "mbguest: rtc YYYY-MM-DD",
 *                  exits with v = 0
 */
#include <stdint.h>

#define KVMRUN_MULTIBOOT_SPEC_ONLY
#include "multiboot.h"

#define MB_GUEST_NAME "mbguest"
#include "mbguest.h"


static void putn(const char *s, uint32_t n)
{
	for (uint32_t i = 0; i < n && s[i]; i++)
		putc_(s[i]);
}

static void fw_cfg_read(uint16_t key, uint8_t *buf, uint32_t n)
{
	outw(FW_CFG_SELECTOR, key);
	for (uint32_t i = 0; i < n; i++)
		buf[i] = inb(FW_CFG_DATA);
}

static int starts_with(const char *s, const char *end, const char *prefix)
{
	while (*prefix) {
		if (s == end || *s != *prefix)
			return 0;
		s++, prefix++;
	}
	return 1;
}

static int contains(const char *hay, const char *needle)
{
	for (; *hay; hay++) {
		const char *h = hay, *n = needle;
		while (*n && *h == *n)
			h++, n++;
		if (!*n)
			return 1;
	}
	return 0;
}

/* A CMOS clock register: index to 0x70, the byte from 0x71. */
static uint8_t cmos(uint8_t index)
{
	outb(0x70, index);
	return inb(0x71);
}

static uint32_t rtc_number(uint8_t v, int binary)
{
	return binary ? v : (uint32_t)(v >> 4) * 10 + (v & 0xf);
}

static void put2(uint32_t v)
{
	putc_((char)('0' + v / 10 % 10));
	putc_((char)('0' + v % 10));
}

static __attribute__((noreturn)) void print_rtc_date(void)
{
	/* UIP (register A bit 7): the registers are about to change; it clears within 2.3 ms. */
	for (uint32_t i = 0; i < 10000000 && (cmos(0x0a) & 0x80); i++)
		;
	int binary = cmos(0x0b) & 0x04;
	uint32_t year = rtc_number(cmos(0x32), binary) * 100 + rtc_number(cmos(0x09), binary);
	uint32_t month = rtc_number(cmos(0x08), binary), day = rtc_number(cmos(0x07), binary);
	puts_("mbguest: rtc ");
	putu(year);
	putc_('-');
	put2(month);
	putc_('-');
	put2(day);
	putc_('\n');
	qemu_exit(0);
}

void mb_main(uint32_t magic, const struct multiboot_info *mi);

void mb_main(uint32_t magic, const struct multiboot_info *mi)
{
	check(magic == MULTIBOOT_BOOTLOADER_MAGIC, 1, "EAX holds 0x2BADB002");
	const char *cmdline = (mi->flags & MULTIBOOT_INFO_CMDLINE) ?
				      (const char *)(uintptr_t)mi->cmdline : "";
	if (contains(cmdline, "action=reset")) {
		outb(0x80, 0x42);
		while (inb(0x64) & 0x02) /* input buffer full: the controller is busy */
			;
		outb(0x64, 0xfe);
		puts_("mbguest: still running after the reset\n");
		qemu_exit(20);
	}
	if (contains(cmdline, "action=exit62"))
		qemu_exit(62);
	if (contains(cmdline, "action=rtc"))
		print_rtc_date();
	uint32_t want = MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MODS |
			MULTIBOOT_INFO_MEM_MAP;
	check((mi->flags & want) == want, 2, "information flags");
	check(mi->mem_lower == 640, 3, "mem_lower is 640");

	/* fw_cfg: the signature, one CPU, the RAM size. */
	uint8_t sig[4], cpus[2], ram_bytes[8];
	fw_cfg_read(0x0000, sig, 4);
	check(sig[0] == 'Q' && sig[1] == 'E' && sig[2] == 'M' && sig[3] == 'U', 4,
	      "fw_cfg signature QEMU");
	fw_cfg_read(0x0005, cpus, 2);
	check(cpus[0] == 1 && cpus[1] == 0, 5, "fw_cfg NB_CPUS is 1");
	fw_cfg_read(0x0003, ram_bytes, 8);
	uint64_t ram = 0;
	for (int i = 7; i >= 0; i--)
		ram = ram << 8 | ram_bytes[i];
	check(mi->mem_upper == (uint32_t)((ram - 0x100000) >> 10), 6,
	      "mem_upper matches fw_cfg's RAM size");

	/* The memory map: all of RAM above 1 MiB available, kvmrun's area reserved. */
	int upper_ok = 0, area_reserved = 0;
	for (uint32_t off = 0; off + 4 <= mi->mmap_length;) {
		const struct multiboot_mmap_entry *e =
		    (const struct multiboot_mmap_entry *)(uintptr_t)(mi->mmap_addr + off);
		if (e->addr == 0x100000 && e->len == ram - 0x100000 &&
		    e->type == MULTIBOOT_MEMORY_AVAILABLE)
			upper_ok = 1;
		if (e->addr <= 0x10000 && e->addr + e->len > 0x10000 &&
		    e->type != MULTIBOOT_MEMORY_AVAILABLE)
			area_reserved = 1;
		off += e->size + 4;
	}
	check(upper_ok, 7, "memory map: RAM above 1 MiB available");
	check(area_reserved, 8, "memory map: kvmrun's area reserved");

	/* The module: KEY=VALUE lines; print GREETING's value. */
	check(mi->mods_count == 1, 9, "one module");
	const struct multiboot_module *m = (const struct multiboot_module *)(uintptr_t)mi->mods_addr;
	check((m->mod_start & 0xfff) == 0 && m->mod_end > m->mod_start, 10,
	      "module page-aligned, not empty");
	const char *p = (const char *)(uintptr_t)m->mod_start;
	const char *end = (const char *)(uintptr_t)m->mod_end;
	const char *value = 0;
	uint32_t value_len = 0;
	while (p < end) {
		const char *line = p;
		while (p < end && *p != '\n')
			p++;
		if (starts_with(line, p, "GREETING=")) {
			value = line + 9;
			value_len = (uint32_t)(p - value);
		}
		if (p < end)
			p++;
	}
	check(value != 0, 11, "the module has GREETING=");

	puts_("multiboot: cmdline=");
	puts_(cmdline);
	puts_("\nmultiboot: ram=");
	putu((uint32_t)(ram >> 20));
	puts_(" MiB module=");
	puts_((const char *)(uintptr_t)m->string);
	puts_("\nmultiboot: GREETING=");
	putn(value, value_len);
	puts_("\n");
	qemu_exit(0);
}
