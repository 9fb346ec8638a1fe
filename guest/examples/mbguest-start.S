/* SPDX-License-Identifier: MIT */
/*
 * mbguest-start.S - the multiboot test guest's header and entry (mbguest.c
 * is the rest). An ELF32 kernel: flags ask for page-aligned modules and the
 * memory information, no address fields, so the loader reads the ELF
 * headers. The entry keeps EAX and EBX for mb_main, sets a stack of its
 * own (the spec leaves ESP undefined) and never returns.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003

	.section .multiboot, "a"
	.balign 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.code32
	.globl _start
_start:
	mov	$stack_top, %esp
	push	%ebx
	push	%eax
	call	mb_main
1:	hlt
	jmp	1b

	.bss
	.balign 16
	.skip 8192
stack_top:

	.section .note.GNU-stack, "", @progbits
