/* SPDX-License-Identifier: MIT */
/*
 * ud.c - a crash kvmrun catches: `ud2` under kvmrun's own IDT. The guest
 * prints where the ud2 is; the crash report must name #UD at that RIP.
 * Expected: stdout "ud2 at 0x...\n", status 126, stderr "#UD".
 */
#include "kvmrun_guest.h"

void ud_here(void);
__asm__(".text\n.globl ud_here\nud_here:\n\tud2\n");

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	kr_puts("ud2 at ");
	kr_put_hex((unsigned long)ud_here);
	kr_puts("\n");
	ud_here();
	return 1;
}
