/* SPDX-License-Identifier: MIT */
/*
 * spin.c - hostile: an endless loop that never exits to the VMM. Only
 * --timeout ends it. Expected with --timeout: status 124, stderr "timeout".
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	for (;;)
		__asm__ volatile("" ::: "memory");
}
