/* SPDX-License-Identifier: MIT */
/*
 * execdata.c - a crash: a call into .data. kvmrun maps the writable segment
 * no-execute, so fetching the `ret` there faults. Expected: stdout
 * "data at 0x...\n", status 126, stderr "#PF" with error code 0x11 (present,
 * instruction fetch) and RIP = CR2 = that address.
 */
#include "kvmrun_guest.h"

static unsigned char code[16] = {0xc3}; /* ret */

int main(unsigned long ram_size, unsigned long heap_start)
{
	(void)ram_size;
	(void)heap_start;
	void (*fn)(void) = (void (*)(void))(unsigned long)code;
	kr_puts("data at ");
	kr_put_hex((unsigned long)code);
	kr_puts("\n");
	fn();
	kr_puts("execdata: the code in .data ran\n");
	return 1;
}
