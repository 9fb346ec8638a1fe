/* SPDX-License-Identifier: MIT */
/*
 * triple-real.S - a real-mode crash: an empty interrupt vector table (limit
 * 0), then `ud2`. #UD cannot be delivered, nor what follows: a triple fault.
 * Raw image at 0x7C00 (kvmrun run --mode real). Expected: status 126,
 * KVM_EXIT_SHUTDOWN.
 */
#include "kvmrun_abi_asm.h"

	.globl kr_load_addr
	.set kr_load_addr, KVMRUN_REAL_MODE_LOAD_ADDR

	.section .text.start, "ax"
	.code16
	.globl _start
_start:
	lidt	%cs:empty_idt
	ud2
	hlt

empty_idt:
	.word	0
	.long	0

	.section .note.GNU-stack, "", @progbits
