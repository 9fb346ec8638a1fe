/* SPDX-License-Identifier: MIT */
/*
 * crt0-32.S - entry of 32-bit C guests (guest.mk: foo.c -> 32/foo.elf), for
 * kvmrun's protected mode (--mode protected) and 32-bit paging (--mode
 * paged32, where the KVM back end has it).
 *
 * kvmrun starts the guest here with ESP = top of RAM, EDI = RAM size and
 * ESI = the first byte after the loaded image, flat 32-bit segments. As in
 * crt0.S: zero the bss, place the heap after image and bss, call
 * main(ram_size, heap_start) (i386 System V: arguments on the stack, ESP a
 * multiple of 16 at the call), then the exit hypercall with main's value
 * (status in EDI, the number in EAX on the hypercall port), and halt.
 * Absolute addresses: 32-bit guests link at 1 MiB only (guest32.ld).
 */
#include "kvmrun_abi_asm.h"

	.section .text.start, "ax"
	.code32
	.globl _start
	.type _start, @function
_start:
	cld
	mov	%edi, %ebx		/* RAM size */
	mov	%esi, %edx		/* end of the image */

	/* zero [__bss_start, __bss_end) */
	mov	$__bss_start, %edi
	mov	$__bss_end, %ecx
	sub	%edi, %ecx
	xor	%eax, %eax
	rep stosb

	/* the heap: after the image and the bss (a raw image ends before the bss) */
	mov	$__kr_heap_floor, %eax
	cmp	%eax, %edx
	cmovb	%eax, %edx
	add	$15, %edx
	and	$-16, %edx
	/* for kr_malloc (heap.c) */
	mov	%ebx, kr_ram_size
	mov	%edx, kr_heap_start

	and	$-16, %esp
	sub	$8, %esp		/* two pushes later ESP is a multiple of 16 */
	push	%edx			/* heap_start */
	push	%ebx			/* ram_size */
	xor	%ebp, %ebp		/* the end of the frame chain */
	call	main

	mov	%eax, %edi		/* exit status */
	mov	$KVMRUN_HC_EXIT, %eax
	mov	$KVMRUN_HYPERCALL_PORT, %edx
	out	%eax, %dx
1:	hlt
	jmp	1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
