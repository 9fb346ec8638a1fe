/* SPDX-License-Identifier: MIT */
/*
 * sdkdemo.c - the guest SDK as a guest author uses it: kr_printf with signed
 * numbers, the heap, 16- and 32-bit port I/O, a second C file
 * (sdkdemo_list.c), and kr_assert, which fails on purpose at the end
 * (kvmrun exits with KR_PANIC_STATUS, the guest prints the file and line).
 */
#include "kvmrun_guest.h"
#include "sdkdemo_list.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	kr_printf("%d %i %u %x %X %c %s %% [%5d] [%-4d] [%05d]\n", -5, 42, 3000000000u, 0xbeefu,
		  0xbeefu, 'k', "str", -12, 7, -3);
	kr_printf("%ld %lu %lx %p\n", -9000000000l, 18446744073709551615ul, 0x123456789abul,
		  (void *)0x1000);
	kr_put_dec(-5);
	kr_putc('\n');

	/* A list on the heap, built in the other file; freed, and the space reused. */
	struct node *list = list_build(100);
	kr_printf("list sum %ld\n", list_sum(list));
	void *first = list;
	list_free(list);
	void *again = kr_malloc(sizeof(struct node));
	/* the nodes merged back into one free block: the next block comes from it */
	kr_printf("heap reuses freed memory: %s\n", (char *)again <= (char *)first ? "yes" : "no");
	kr_free(again);
	kr_assert(kr_malloc(kr_ram_size) == 0); /* more than there is: refused */

	/* With an argument: a 16-bit port read, which no device serves (kvmrun names its size). */
	if (ram_size && heap_start && *(volatile char *)heap_start == 0x5a)
		kr_inw(0x600);
	kr_assert(1 + 1 == 2);
	kr_printf("about to fail an assertion\n");
	kr_assert(list_sum(0) == 1);
	return 0;
}
