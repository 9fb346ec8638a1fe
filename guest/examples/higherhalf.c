/* SPDX-License-Identifier: MIT */
/*
 * higherhalf.c - a guest linked like a kernel, at virtual 0xffffffff80100000
 * and loaded at physical 1 MiB (guest-higherhalf.ld, -mcmodel=kernel).
 *
 * Prints the address of main and "higher half". Expected stdout:
 *	main at 0xffffffff801000xx      (the exact address depends on the build)
 *	higher half
 * status 0. If main is not in the top 2 GiB it prints "higherhalf: ..." and
 * exits with 1. `counter` makes a writable data segment (a second PT_LOAD).
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start);

volatile unsigned long counter = 1;

int main(unsigned long ram_size, unsigned long heap_start)
{
	char buf[64];
	struct kr_buf b = KR_BUF(buf);
	unsigned long self = (unsigned long)&main;

	(void)ram_size;
	(void)heap_start;
	counter++; /* the data segment is writable */
	if (self < 0xffffffff80000000ul || counter != 2) {
		kr_puts("higherhalf: not running in the higher half\n");
		return 1;
	}
	kr_buf_str(&b, "main at ");
	kr_buf_hex(&b, self, 16);
	kr_buf_str(&b, "\nhigher half\n");
	kr_buf_flush(&b);
	return 0;
}
