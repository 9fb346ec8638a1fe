/* SPDX-License-Identifier: MIT */
/*
 * hello.c - the smallest C guest: one write hypercall, then exit status 0.
 * Built as hello.elf and as the raw image hello.bin (loaded at 1 MiB).
 * Expected: stdout "Hello from a kvmrun guest!\n", status 0.
 */
#include "kvmrun_guest.h"

int main(unsigned long ram_size, unsigned long heap_start)
{
	static const char msg[] = "Hello from a kvmrun guest!\n";

	(void)ram_size;
	(void)heap_start;
	kr_write(msg, sizeof(msg) - 1);
	return 0;
}
