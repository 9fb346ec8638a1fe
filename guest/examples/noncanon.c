/* SPDX-License-Identifier: MIT */
/*
 * noncanon.c - breaks the ABI: a write hypercall whose buffer is the
 * non-canonical address 0x8000000000000000. Expected: no stdout, status 126,
 * stderr mentions the hypercall and 0x8000000000000000.
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	kr_write((const void *)0x8000000000000000ul, 16);
	kr_puts("noncanon: still running after a write from 0x8000000000000000\n");
	return 1;
}
