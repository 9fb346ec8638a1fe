/* SPDX-License-Identifier: MIT */
/*
 * mbsnap.c - a multiboot kernel (mbguest-start.S is its entry) that leaves
 * state in every device of the PC platform, asks for a snapshot, and then
 * reads all of it back:
 *
 *   kvmrun run --snapshot F mbsnap.elf   "mbsnap: programmed", "mbsnap: ok", status 1
 *   kvmrun restore F                     "mbsnap: ok", status 1
 *
 * A restore that lost any of it prints "mbsnap: FAIL what: got X, want Y"
 * for each, and exits through isa-debug-exit with v = the first failed
 * check's number (status 2v + 1). The state, each set to a value none of
 * them has after reset:
 *   local APIC   TPR 0x20, timer divide 0x0b, LVT timer masked vector 0x40
 *   I/O APIC     pin 9: masked, level, vector 0x39, destination 3
 *   PICs         masks 0xa5 and 0x5a
 *   PIT          channel 0: mode 2, lobyte/hibyte, count 0xfedc
 *   COM1         LCR 0x1b, scratch 0x5c, FIFOs on, 'Q' in the receive FIFO
 *                (sent in loopback), its data interrupt on: IRQ 4 high
 *   CMOS clock   memory byte 0x40 = 0x77; the year set to 2099
 *   i8042        configuration byte 0x74; 0xab waiting in the output buffer
 *   fw_cfg       the signature selected, two of its bytes read ("QE")
 * The APIC and I/O APIC are at their physical addresses: the kernel runs
 * unpaged.
 */
#include <stdint.h>

#include "kvmrun_abi.h"

#define MB_GUEST_NAME "mbsnap"
#include "mbguest.h"

#define UART_RX 0
#define UART_IER 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_SCR 7
#define UART_LSR_DR 0x01
#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define RTC_INDEX 0x70
#define RTC_DATA 0x71
#define KBD_DATA 0x60
#define KBD_CMD 0x64

#define LAPIC 0xfee00000u
#define LAPIC_TPR 0x80
#define LAPIC_SVR 0xf0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TDCR 0x3e0
#define IOAPIC 0xfec00000u
#define IOAPIC_WIN 0x10
#define IOAPIC_REDIR(pin) (0x10 + 2 * (pin))

#define PIT_COUNT 0xfedc
#define REDIR_LO 0x00018039u /* masked, level-triggered, vector 0x39 */
#define REDIR_HI 0x03000000u /* destination APIC 3 */

static inline uint32_t mmio_read(uint32_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void mmio_write(uint32_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

static void puthex(uint32_t v)
{
	puts_("0x");
	for (int shift = 28; shift >= 0; shift -= 4)
		putc_("0123456789abcdef"[(v >> shift) & 0xf]);
}

static uint8_t rtc_read(uint8_t index)
{
	outb(RTC_INDEX, index);
	return inb(RTC_DATA);
}

static void rtc_write(uint8_t index, uint8_t v)
{
	outb(RTC_INDEX, index);
	outb(RTC_DATA, v);
}

static uint32_t ioapic_read(uint8_t reg)
{
	mmio_write(IOAPIC, reg);
	return mmio_read(IOAPIC + IOAPIC_WIN);
}

static void ioapic_write(uint8_t reg, uint32_t v)
{
	mmio_write(IOAPIC, reg);
	mmio_write(IOAPIC + IOAPIC_WIN, v);
}

static unsigned checks, first_failed;

static void expect(const char *what, uint32_t got, uint32_t want)
{
	checks++;
	if (got == want)
		return;
	if (!first_failed)
		first_failed = checks;
	puts_("mbsnap: FAIL ");
	puts_(what);
	puts_(": got ");
	puthex(got);
	puts_(", want ");
	puthex(want);
	putc_('\n');
}

static void program(void)
{
	mmio_write(LAPIC + LAPIC_SVR, 0x1ff); /* enabled, spurious vector 0xff */
	mmio_write(LAPIC + LAPIC_TPR, 0x20);
	mmio_write(LAPIC + LAPIC_TDCR, 0x0b);
	mmio_write(LAPIC + LAPIC_LVT_TIMER, 0x10040);
	ioapic_write(IOAPIC_REDIR(9), REDIR_LO);
	ioapic_write(IOAPIC_REDIR(9) + 1, REDIR_HI);
	outb(PIC1_DATA, 0xa5);
	outb(PIC2_DATA, 0x5a);
	outb(PIT_CMD, 0x34); /* channel 0, lobyte/hibyte, mode 2, binary */
	outb(PIT_CH0, PIT_COUNT & 0xff);
	outb(PIT_CH0, PIT_COUNT >> 8);
	outb(COM1 + UART_FCR, 0x01); /* FIFOs on (and empty) */
	outb(COM1 + UART_LCR, 0x1b);
	outb(COM1 + UART_SCR, 0x5c);
	outb(COM1 + UART_MCR, 0x10); /* loopback: what is sent is received */
	outb(COM1 + UART_RX, 'Q');
	outb(COM1 + UART_MCR, 0x0b); /* DTR, RTS, OUT2: the line again */
	outb(COM1 + UART_IER, 0x01); /* received data: IRQ 4 goes high */
	rtc_write(0x40, 0x77);
	rtc_write(0x32, 0x20); /* century and year, BCD: 2099 */
	rtc_write(0x09, 0x99);
	outb(KBD_CMD, 0x60); /* write the configuration byte */
	outb(KBD_DATA, 0x74);
	outb(KBD_CMD, 0xd2); /* the next byte comes back as from the keyboard */
	outb(KBD_DATA, 0xab);
	outw(FW_CFG_SELECTOR, 0x0000); /* the signature, "QEMU" */
	(void)inb(FW_CFG_DATA);
	(void)inb(FW_CFG_DATA);
}

static void verify(void)
{
	expect("LAPIC TPR", mmio_read(LAPIC + LAPIC_TPR) & 0xff, 0x20);
	expect("LAPIC timer divide", mmio_read(LAPIC + LAPIC_TDCR) & 0xf, 0x0b);
	expect("LAPIC LVT timer", mmio_read(LAPIC + LAPIC_LVT_TIMER) & 0x300ff, 0x10040);
	/* Delivery status and remote IRR (bits 12, 14) are the chip's own. */
	expect("IOAPIC pin 9 low", ioapic_read(IOAPIC_REDIR(9)) & ~0x5000u, REDIR_LO);
	expect("IOAPIC pin 9 high", ioapic_read(IOAPIC_REDIR(9) + 1), REDIR_HI);
	expect("PIC master mask", inb(PIC1_DATA), 0xa5);
	expect("PIC slave mask", inb(PIC2_DATA), 0x5a);
	outb(PIT_CMD, 0xe2); /* read back channel 0's status only */
	expect("PIT status (mode, access)", inb(PIT_CH0) & 0x3f, 0x34);
	outb(PIT_CMD, 0x00); /* latch channel 0's count */
	uint32_t count = inb(PIT_CH0);
	count |= (uint32_t)inb(PIT_CH0) << 8;
	expect("PIT count within the programmed one", count <= PIT_COUNT, 1);
	expect("UART LCR", inb(COM1 + UART_LCR), 0x1b);
	expect("UART scratch", inb(COM1 + UART_SCR), 0x5c);
	expect("UART IER", inb(COM1 + UART_IER), 0x01);
	expect("UART IIR (FIFOs, data interrupt)", inb(COM1 + UART_IIR), 0xc4);
	expect("UART LSR data ready", inb(COM1 + UART_LSR) & UART_LSR_DR, UART_LSR_DR);
	expect("UART received byte", inb(COM1 + UART_RX), 'Q');
	expect("UART IIR after the read", inb(COM1 + UART_IIR), 0xc1);
	outb(COM1 + UART_IER, 0x00);
	expect("CMOS byte 0x40", rtc_read(0x40), 0x77);
	uint8_t year = rtc_read(0x09);
	/* 2099 unless the restored clock crossed into 2100 in between (its New Year). */
	expect("CMOS year", year == 0x99 || year == 0x00, 1);
	expect("i8042 output buffer full", inb(KBD_CMD) & 0x01, 0x01);
	expect("i8042 output buffer", inb(KBD_DATA), 0xab);
	outb(KBD_CMD, 0x20);
	expect("i8042 configuration byte", inb(KBD_DATA), 0x74);
	expect("fw_cfg third signature byte", inb(FW_CFG_DATA), 'M');
	expect("fw_cfg fourth signature byte", inb(FW_CFG_DATA), 'U');
}

void mb_main(uint32_t magic, uint32_t info)
{
	(void)magic, (void)info;
	puts_("mbsnap: programmed\n");
	program();
	/* KVMRUN_HC_SNAPSHOT: the VMM takes the snapshot here, and the guest runs on. */
	__asm__ volatile("outl %0, %1"
			 :
			 : "a"((uint32_t)KVMRUN_HC_SNAPSHOT), "Nd"((uint16_t)KVMRUN_HYPERCALL_PORT)
			 : "memory");
	verify();
	if (!first_failed)
		puts_("mbsnap: ok\n");
	outl(DEBUG_EXIT, first_failed);
	for (;;)
		__asm__ volatile("hlt");
}
