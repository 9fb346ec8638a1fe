/* SPDX-License-Identifier: MIT */
/*
 * ud32.S - `ud2` at the first byte of a 32-bit raw image at 1 MiB, for
 * --mode protected and --mode paged32: kvmrun's IDT catches it, and the
 * report names #UD at rip=0x100000. Expected: status 126.
 */
#include "kvmrun_abi_asm.h"

	.globl kr_load_addr
	.set kr_load_addr, KVMRUN_DEFAULT_LOAD_ADDR

	.section .text.start, "ax"
	.code32
	.globl _start
_start:
	ud2
	hlt

	.section .note.GNU-stack, "", @progbits
