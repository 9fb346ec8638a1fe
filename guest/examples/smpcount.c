/* SPDX-License-Identifier: MIT */
/*
 * smpcount.c - several vCPUs (kvmrun run --cpus N): vCPU 0 starts every
 * other one with kr_start_cpu, each on a stack of its own; each adds one to
 * a counter with a locked add and returns, which halts it (kr_ap_return).
 * vCPU 0 waits for the count, prints it and exits with it.
 * Expected: "smpcount: N of N vCPUs counted", status N.
 */
#include "kvmrun_guest.h"

#define STACK_SIZE 4096

static unsigned long counter = 1; /* vCPU 0 counts itself */
static unsigned char stacks[KR_GUEST_MAX_CPUS][STACK_SIZE] __attribute__((aligned(16)));

static void count_me(unsigned long arg, unsigned int cpu)
{
	(void)cpu;
	__atomic_fetch_add((unsigned long *)arg, 1, __ATOMIC_SEQ_CST);
}

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	unsigned int n = kr_cpu_count();
	for (unsigned int cpu = 1; cpu < n; cpu++)
		kr_start_cpu(cpu, count_me, stacks[cpu] + STACK_SIZE, (unsigned long)&counter);
	while (__atomic_load_n(&counter, __ATOMIC_SEQ_CST) < n)
		__asm__ volatile("pause");
	char b[80];
	struct kr_buf sb = KR_BUF(b);
	kr_buf_str(&sb, "smpcount: ");
	kr_buf_dec(&sb, __atomic_load_n(&counter, __ATOMIC_SEQ_CST));
	kr_buf_str(&sb, " of ");
	kr_buf_dec(&sb, n);
	kr_buf_str(&sb, " vCPUs counted\n");
	kr_buf_flush(&sb);
	return (int)n;
}
