/* SPDX-License-Identifier: MIT */
/*
 * gdbdemo.c - a guest to debug (kvmrun run --gdb): built with -O0, so that
 * gdb sees every local where the source has it. Sums 1..limit and exits
 * with the sum: status 15 as it is, 55 if gdb sets n to 10 in sum_to.
 */
#include "kvmrun_guest.h"

static volatile unsigned long limit = 5;

__attribute__((noinline)) static unsigned long sum_to(unsigned long n)
{
	unsigned long total = 0;
	for (unsigned long i = 1; i <= n; i++)
		total += i;
	return total;
}

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	unsigned long result = sum_to(limit);
	kr_puts("sum ");
	kr_put_dec(result);
	kr_putc('\n');
	return (int)result;
}
