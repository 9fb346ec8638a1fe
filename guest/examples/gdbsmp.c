/* SPDX-License-Identifier: MIT */
/*
 * gdbsmp.c - a guest to debug with two vCPUs (kvmrun run --cpus 2 --gdb),
 * built with -O0 like gdbdemo. vCPU 0 starts vCPU 1 in ap_work(7, 1),
 * which squares its argument into a local and leaves square + cpu for
 * vCPU 0, which waits for it, prints it and exits with it: status 50 as it
 * is, 101 if gdb sets `square` to 100 on vCPU 1.
 */
#include "kvmrun_guest.h"

#define STACK_SIZE 4096

static volatile unsigned long result;
static int done;
static unsigned char ap_stack[STACK_SIZE] __attribute__((aligned(16)));

__attribute__((noinline)) static void ap_work(unsigned long arg, unsigned int cpu)
{
	unsigned long square = arg * arg;
	result = square + cpu;
	__atomic_store_n(&done, 1, __ATOMIC_SEQ_CST);
}

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	kr_start_cpu(1, ap_work, ap_stack + STACK_SIZE, 7);
	while (!__atomic_load_n(&done, __ATOMIC_SEQ_CST))
		__asm__ volatile("pause");
	kr_puts("gdbsmp ");
	kr_put_dec(result);
	kr_putc('\n');
	return (int)result;
}
