/* SPDX-License-Identifier: MIT */
/*
 * hlt.c - prints "halting\n" and executes HLT (interrupts are off, so it
 * would halt forever): kvmrun stops the VM and exits with status 0. With
 * --regs, RIP is the address right after the hlt. Should kvmrun resume the
 * guest instead, it exits with status 99.
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	kr_puts("halting\n");
	kr_hlt();
	kr_puts("hlt: resumed after hlt\n");
	return 99;
}
