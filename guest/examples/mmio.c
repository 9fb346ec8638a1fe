/* SPDX-License-Identifier: MIT */
/*
 * mmio.c - breaks the ABI: writes to guest physical address 0xd0000000,
 * where there is no memory (an MMIO exit nobody handles).
 * Expected: no stdout, status 126, stderr mentions MMIO and 0xd0000000.
 *
 * kvmrun's page tables need not map that address, so the guest switches to
 * page tables of its own first: the low 4 GiB identity-mapped with 2 MiB
 * pages, which also covers this image and the stack at the top of RAM
 * (kvmrun's RAM is at most 3 GiB). The tables live in the guest's bss.
 */
#include "kvmrun_guest.h"

#define PTE_P 0x1ul
#define PTE_W 0x2ul
#define PTE_PS 0x80ul
#define MMIO_GPA 0xd0000000ul

/* PML4, PDPT, then four page directories: 4 x 1 GiB */
static unsigned long tables[6][512] __attribute__((aligned(4096)));

int main(unsigned long ram_size, unsigned long heap_start)
{
	unsigned long *pml4 = tables[0], *pdpt = tables[1];
	unsigned long gb, mb2;

	(void)ram_size;
	(void)heap_start;
	/* guest.ld links virtual = physical, so &tables is its physical address */
	pml4[0] = (unsigned long)pdpt | PTE_P | PTE_W;
	for (gb = 0; gb < 4; gb++) {
		unsigned long *pd = tables[2 + gb];

		pdpt[gb] = (unsigned long)pd | PTE_P | PTE_W;
		for (mb2 = 0; mb2 < 512; mb2++)
			pd[mb2] = (gb << 30) | (mb2 << 21) | PTE_P | PTE_W | PTE_PS;
	}
	kr_write_cr3((unsigned long)pml4);

	*(volatile unsigned int *)MMIO_GPA = 0x42;
	kr_puts("mmio: still running after a write to 0xd0000000\n");
	return 1;
}
