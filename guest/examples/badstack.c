/* SPDX-License-Identifier: MIT */
/*
 * badstack.c - a crash on a stack pointer that points nowhere. The CPU
 * cannot push the exception frame there either; kvmrun's handlers run on
 * their own stack (IST1), so the report still says #PF, with CR2 just
 * below 0x7ff00000000 and RSP = 0x7ff00000000.
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	__asm__ volatile("mov $0x7ff00000000, %%rsp\n\tpush %%rax" ::: "memory");
	return 1;
}
