/* SPDX-License-Identifier: MIT */
/*
 * smpexit.c - several vCPUs (kvmrun run --cpus 2): vCPU 1 spins forever once
 * started; vCPU 0 waits until it runs, then exits with status 7. Expected:
 * the run ends at once with status 7 (the spinning vCPU does not hold it).
 */
#include "kvmrun_guest.h"

static unsigned char stack[4096] __attribute__((aligned(16)));
static volatile int running;

static void spin(unsigned long arg, unsigned int cpu)
{
	(void)arg;
	(void)cpu;
	__atomic_store_n(&running, 1, __ATOMIC_SEQ_CST);
	for (;;)
		__asm__ volatile("pause" ::: "memory");
}

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	kr_start_cpu(1, spin, stack + sizeof(stack), 0);
	while (!__atomic_load_n(&running, __ATOMIC_SEQ_CST))
		__asm__ volatile("pause");
	kr_puts("smpexit: vCPU 1 spins, vCPU 0 exits\n");
	return 7;
}
