/* SPDX-License-Identifier: MIT */
/*
 * triple32.S - a 32-bit crash for --mode protected and --mode paged32:
 * kvmrun's IDT is empty, so `ud2` ends in a triple fault. Raw image at 1 MiB.
 * Expected: status 126, KVM_EXIT_SHUTDOWN.
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
