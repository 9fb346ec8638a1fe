/* SPDX-License-Identifier: MIT */
/*
 * hcsize.c - breaks the ABI: a one-byte write to the hypercall port, which
 * takes only 32-bit writes. Expected: no stdout, status 126, stderr names
 * the hypercall port.
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	kr_outb(KVMRUN_HYPERCALL_PORT, KVMRUN_HC_EXIT);
	kr_puts("hcsize: still running after a one-byte hypercall\n");
	return 1;
}
