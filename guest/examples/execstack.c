/* SPDX-License-Identifier: MIT */
/*
 * execstack.c - a crash: a call into the stack. RAM outside the image's
 * segments (the stack, the heap) is data to kvmrun: mapped no-execute.
 * Expected: stdout "stack at 0x...\n", status 126, stderr "#PF" with error
 * code 0x11 (present, instruction fetch) and RIP = CR2 = that address.
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	volatile unsigned char code[16] = {0xc3}; /* ret */
	void (*fn)(void) = (void (*)(void))(unsigned long)code;

	(void)ram_size;
	(void)heap_start;
	kr_puts("stack at ");
	kr_put_hex((unsigned long)code);
	kr_puts("\n");
	fn();
	kr_puts("execstack: the code on the stack ran\n");
	return 1;
}
