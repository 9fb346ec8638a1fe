/* SPDX-License-Identifier: MIT */
/*
 * hello32.c - a 32-bit C guest built by guest.mk (32/hello32.elf): the SDK
 * in protected mode (and paged32 where the back end has it). Numbers wider
 * than a 32-bit long go through kr_printf, a buffer through the WRITE
 * hypercall (a 32-bit pointer in EDI), the heap over heap_start, and the
 * exit status comes back from main.
 */
#include "kvmrun_guest.h"

static char greeting[] = "hello from a 32-bit C guest\n";

int main(unsigned long ram_size, unsigned long heap_start)
{
	kr_write(greeting, sizeof(greeting) - 1);
	kr_printf("long %u bits, pointer %u bits\n", (unsigned)sizeof(long) * 8,
		  (unsigned)sizeof(void *) * 8);
	kr_printf("%lld %llu %llx %d\n", -9000000000ll, 18446744073709551615ull,
		  0x123456789abcdefull, -5);
	kr_printf("ram %lu MiB, heap above the image: %s\n", ram_size >> 20,
		  heap_start >= 0x100000 && heap_start < ram_size ? "yes" : "no");
	unsigned long *cells = kr_malloc(64 * sizeof(*cells));
	kr_assert(cells != 0);
	unsigned long sum = 0;
	for (unsigned long i = 0; i < 64; i++)
		sum += cells[i] = i * i;
	kr_printf("heap sum %lu\n", sum);
	kr_free(cells);
	return 32;
}
