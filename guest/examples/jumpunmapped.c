/* SPDX-License-Identifier: MIT */
/*
 * jumpunmapped.c - a crash: a call to an address nothing maps. The fetch
 * page-faults; the report must say #PF with CR2 and RIP = 0x7ff00000000.
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	void (*nowhere)(void) = (void (*)(void))0x7ff00000000ul;
	nowhere();
	return 1;
}
