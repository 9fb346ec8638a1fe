/* SPDX-License-Identifier: MIT */
/*
 * printspin.c - prints, then spins without ever exiting to the VMM: its
 * output must reach stdout while it runs, not only when kvmrun stops it.
 * One line byte by byte through port 0xE9 (written at the newline), then a
 * WRITE hypercall without a newline (written when the call ends), then an
 * endless loop. Expected: stdout "port line\nwrite, no newline" at once;
 * --timeout, SIGINT, SIGTERM or SIGHUP end it.
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	static const char line[] = "port line\n";
	static const char partial[] = "write, no newline";

	(void)ram_size;
	(void)heap_start;
	for (const char *p = line; *p; p++)
		kr_putc(*p);
	kr_write(partial, sizeof(partial) - 1);
	for (;;)
		__asm__ volatile("" ::: "memory");
}
