/* SPDX-License-Identifier: MIT */
/*
 * badcr3.c - hostile: loads CR3 with garbage (a table address far outside
 * guest memory). The next instruction fetch cannot be translated: a page
 * fault with no IDT, a triple fault. Expected: status 126, KVM_EXIT_SHUTDOWN.
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	kr_write_cr3(0x00000dead0000000ul);
	kr_puts("badcr3: still running\n");
	return 1;
}
