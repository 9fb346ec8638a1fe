/* SPDX-License-Identifier: MIT */
/*
 * calc.c - a guest whose functions the host calls (kr_vm_call; tests/kvm/
 * test_call.c and bench/callpool.c). main() is its init: it sets `base` and
 * returns; the host then calls the exported functions, each on its own.
 */
#include "kvmrun_guest.h"

KR_CALL_AREA(64 * 1024);

static long base;  /* set by init: a call sees the init's state */
static long calls; /* counts calls of count(): a reset puts it back */

KR_EXPORT long add(long a, long b)
{
	return a + b;
}

/* The sum of n 64-bit numbers in buf (a buffer argument). */
KR_EXPORT long sum(const long *buf, unsigned long n)
{
	long s = 0;
	for (unsigned long i = 0; i < n; i++)
		s += buf[i];
	return s;
}

/* Upper-case s[0..n) in place (an in-out buffer); returns how many changed. */
KR_EXPORT long upper(char *s, unsigned long n)
{
	long changed = 0;
	for (unsigned long i = 0; i < n; i++)
		if (s[i] >= 'a' && s[i] <= 'z') {
			s[i] = (char)(s[i] - 'a' + 'A');
			changed++;
		}
	return changed;
}

/* All six argument registers, each weighted, so that a swap shows. */
KR_EXPORT long six(long a, long b, long c, long d, long e, long f)
{
	return a + 10 * b + 100 * c + 1000 * d + 10000 * e + 100000 * f;
}

KR_EXPORT long get_base(void)
{
	return base;
}

KR_EXPORT long count(void)
{
	return ++calls;
}

/* Writes "hello" into an out buffer of n bytes. */
KR_EXPORT long greet(char *out, unsigned long n)
{
	static const char msg[] = "hello";
	unsigned long i;
	for (i = 0; i < n && i < sizeof(msg); i++)
		out[i] = msg[i];
	return (long)i;
}

/* A function that crashes: a store through NULL (page 0 is not mapped). */
KR_EXPORT long crash(void)
{
	*(volatile long *)0 = 1;
	return 0;
}

/* A function that never returns: only the VM's timeout ends it. */
KR_EXPORT long forever(void)
{
	for (;;)
		__asm__ volatile("" ::: "memory");
}

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	base = 42;
	kr_puts("calc ready\n");
	return 0;
}
