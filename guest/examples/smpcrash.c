/* SPDX-License-Identifier: MIT */
/*
 * smpcrash.c - hostile, several vCPUs (kvmrun run --cpus 2): vCPU 0 starts
 * vCPU 1, which dereferences a NULL pointer (#PF: page 0 is unmapped),
 * while vCPU 0 spins forever. Expected: the run ends at once, status 126,
 * stderr "vCPU 1: guest exception #PF".
 */
#include "kvmrun_guest.h"

static unsigned char stack[4096] __attribute__((aligned(16)));

static void crash(unsigned long arg, unsigned int cpu)
{
	(void)cpu;
	*(volatile unsigned long *)arg = 1; /* arg is 0 */
}

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	kr_puts("smpcrash: starting vCPU 1\n");
	kr_start_cpu(1, crash, stack + sizeof(stack), 0);
	for (;;)
		__asm__ volatile("pause" ::: "memory");
}
