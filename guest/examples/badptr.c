/* SPDX-License-Identifier: MIT */
/*
 * badptr.c - breaks the ABI: a write hypercall whose buffer is the unmapped
 * address 0x7ff00000000. Expected: no stdout, status 126, stderr mentions the
 * hypercall and 0x7ff00000000.
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	kr_write((const void *)0x7ff00000000ul, 16);
	kr_puts("badptr: still running after a write from 0x7ff00000000\n");
	return 1;
}
