/* SPDX-License-Identifier: MIT */
/*
 * triple.c - a crash: `ud2` with an empty IDT. #UD cannot be delivered, nor
 * the #GP and #DF that follow: a triple fault, which KVM reports as
 * KVM_EXIT_SHUTDOWN. Expected: no stdout, status 126, stderr names
 * KVM_EXIT_SHUTDOWN.
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	/* load an empty IDT ourselves: whatever kvmrun set up does not matter */
	static const struct __attribute__((packed)) {
		unsigned short limit;
		unsigned long base;
	} idtr = {0, 0};

	(void)ram_size;
	(void)heap_start;
	__asm__ volatile("lidt %0\n\tud2" : : "m"(idtr) : "memory");
	kr_puts("triple: still running after ud2\n");
	return 1;
}
