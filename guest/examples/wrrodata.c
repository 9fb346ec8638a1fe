/* SPDX-License-Identifier: MIT */
/*
 * wrrodata.c - a crash: a store into .rodata. kvmrun maps the read-only
 * segment without write permission (and CR0.WP makes ring 0 respect that),
 * so the store faults. Expected: stdout "rodata at 0x...\n", status 126,
 * stderr "#PF" with error code 0x3 (present, write) and CR2 = that address.
 */
#include "kvmrun_guest.h"

static const char constant[] = "constant";

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	kr_puts("rodata at ");
	kr_put_hex((unsigned long)constant);
	kr_puts("\n");
	*(volatile char *)constant = 'C';
	kr_puts("wrrodata: the store into .rodata went through\n");
	return 1;
}
