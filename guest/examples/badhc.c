/* SPDX-License-Identifier: MIT */
/*
 * badhc.c - breaks the ABI: hypercall number 99, which does not exist.
 * Expected: no stdout, status 126, stderr names the hypercall and 99.
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	kr_hypercall(99, 1, 2);
	kr_puts("badhc: still running after hypercall 99\n");
	return 1;
}
