/* SPDX-License-Identifier: MIT */
/*
 * mbguest.h - what the multiboot test kernels (mbguest.c, mbsmp.c) share:
 * port I/O, COM1 polled as a kernel without interrupts does, a decimal
 * printer, and the end through isa-debug-exit. They are freestanding 32-bit
 * kernels, not SDK guests: they talk to the PC devices, not to kvmrun's
 * hypercalls. Define MB_GUEST_NAME (the prefix of their messages) first.
 */
#ifndef MBGUEST_H
#define MBGUEST_H

#include <stdint.h>

#define COM1 0x3f8
#define UART_LSR 5
#define UART_LSR_THRE 0x20
#define DEBUG_EXIT 0xf4
#define FW_CFG_SELECTOR 0x510
#define FW_CFG_DATA 0x511

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* COM1: wait for THRE, then write THR. */
static inline void putc_(char c)
{
	while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE))
		;
	outb(COM1, (uint8_t)c);
}

static inline void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}

static inline void putu(uint32_t v)
{
	char buf[12];
	int i = 0;
	do {
		buf[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		putc_(buf[--i]);
}

/* isa-debug-exit: kvmrun (like QEMU) exits with (v << 1) | 1. */
static inline __attribute__((noreturn)) void qemu_exit(uint32_t v)
{
	outl(DEBUG_EXIT, v);
	for (;;)
		__asm__ volatile("hlt");
}

/* A failed check ends the kernel with status n, naming what failed. */
static inline void check(int ok, uint32_t n, const char *what)
{
	if (ok)
		return;
	puts_(MB_GUEST_NAME ": check failed: ");
	puts_(what);
	putc_('\n');
	qemu_exit(n);
}

#endif
