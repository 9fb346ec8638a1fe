/* SPDX-License-Identifier: MIT */
/*
 * hugelen.c - breaks the ABI: a write hypercall from a valid buffer with a
 * length of 0xffffffff, far beyond KVMRUN_HC_WRITE_MAX. Expected: no stdout,
 * status 126, stderr mentions the hypercall.
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	static const char msg[] = "hugelen: this must not be printed\n";

	(void)ram_size;
	(void)heap_start;
	kr_write(msg, 0xfffffffful);
	kr_puts("hugelen: still running after a write of 0xffffffff bytes\n");
	return 1;
}
