/* SPDX-License-Identifier: MIT */
/*
 * flood.c - hostile: endless output, one exit per byte on the debug port.
 * The output limit (--max-output) or --timeout must end it.
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	for (;;)
		kr_putc('x');
}
