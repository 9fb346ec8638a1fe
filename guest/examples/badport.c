/* SPDX-License-Identifier: MIT */
/*
 * badport.c - breaks the ABI: writes to port 0x1234, which no device handles.
 * Expected: no stdout, status 126, stderr names "port 0x1234".
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	kr_outb(0x1234, 0x42);
	kr_puts("badport: still running after out to port 0x1234\n");
	return 1;
}
