/* SPDX-License-Identifier: MIT */
/*
 * nullptr.c - a store through a NULL pointer. kvmrun leaves page 0 unmapped
 * in long mode, so it faults. Expected: stdout "writing through NULL\n",
 * status 126, stderr "#PF" with error code 0x2 (not present, write) and
 * CR2 = 0. With --map-page0 the store goes through: stdout then also has
 * "page 0 is mapped\n", status 0.
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	volatile unsigned int *null = 0;

	(void)ram_size;
	(void)heap_start;
	/* Hide the constant: gcc would turn a store it can see is to NULL into a trap. */
	__asm__("" : "+r"(null));
	kr_puts("writing through NULL\n");
	*null = 0x12345678;
	if (*null != 0x12345678)
		return 1;
	kr_puts("page 0 is mapped\n");
	return 0;
}
