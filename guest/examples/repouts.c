/* SPDX-License-Identifier: MIT */
/*
 * repouts.c - prints through the debug console port with one `rep outsb`:
 * KVM may deliver such string I/O as one exit carrying several bytes (count
 * > 1) or one exit per byte, and kvmrun must take every byte either way.
 * Expected: stdout "rep outsb: ok\n", status 0.
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	static const char msg[] = "rep outsb: ok\n";
	const char *p = msg;
	unsigned long n = sizeof(msg) - 1;

	(void)ram_size;
	(void)heap_start;
	__asm__ volatile("cld\n\trep outsb"
			 : "+S"(p), "+c"(n)
			 : "d"((unsigned short)KVMRUN_DEBUG_CONSOLE_PORT)
			 : "memory");
	return 0;
}
