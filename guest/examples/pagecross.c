/* SPDX-License-Identifier: MIT */
/*
 * pagecross.c - one write hypercall whose buffer crosses a page boundary
 * between two pages that are adjacent in virtual memory but not in physical
 * memory (pagecross.ld: 0x40000000 -> 0x300000, 0x40001000 -> 0x280000), so
 * kvmrun must translate the buffer page by page.
 *
 * The string starts at 0x40000ff8. The guest first reads it back itself through
 * its virtual addresses. Expected: stdout "crossing a page boundary: ok\n",
 * status 0; a failed self-check prints "pagecross: ..." and exits with 1.
 */
#include "kvmrun_guest.h"

/* 8 bytes at the end of the first page, no NUL: the text goes on below */
__attribute__((section(".cross.lo"), used)) const char cross_lo[8] = "crossing";
__attribute__((section(".cross.hi"), used)) const char cross_hi[] = " a page boundary: ok\n";

extern const char __cross_start[];

int main(unsigned long ram_size, unsigned long heap_start)
{
	static const char want[] = "crossing a page boundary: ok\n";
	const unsigned long len = sizeof(want) - 1;
	/* volatile: really read the bytes, through both virtual pages */
	const volatile char *p = (const volatile char *)__cross_start;
	unsigned long i;

	(void)ram_size;
	(void)heap_start;
	if ((unsigned long)p != 0x40000ff8 || (unsigned long)cross_lo != 0x40000ff8 ||
	    (unsigned long)cross_hi != 0x40001000) {
		kr_puts("pagecross: the string is not where pagecross.ld puts it\n");
		return 1;
	}
	for (i = 0; i < len; i++) {
		if (p[i] != want[i]) {
			kr_puts("pagecross: the bytes read back differ\n");
			return 1;
		}
	}
	kr_write(__cross_start, len);
	return 0;
}
