/* SPDX-License-Identifier: MIT */
/*
 * triple32.S - a 32-bit crash for --mode protected and --mode paged32: it
 * loads an empty IDT over kvmrun's, so `ud2` ends in a triple fault. Raw image at 1 MiB.
 * Expected: status 126, KVM_EXIT_SHUTDOWN.
 */
#include "kvmrun_abi_asm.h"

	.globl kr_load_addr
	.set kr_load_addr, KVMRUN_DEFAULT_LOAD_ADDR

	.section .text.start, "ax"
	.code32
	.globl _start
_start:
	lidt	empty_idt
	ud2
	hlt

empty_idt:
	.word	0
	.long	0

	.section .note.GNU-stack, "", @progbits
