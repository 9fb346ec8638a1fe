/* SPDX-License-Identifier: MIT */
/*
 * real.S - a 16-bit real-mode guest, a raw image loaded at 0x7C00
 * (kvmrun run --mode real build/guests/real.bin).
 *
 * Prints "real mode\n" byte by byte on the debug console port, then
 * "hypercall from real mode\n" with one write hypercall (the buffer is a
 * linear address, segment * 16 + offset, in EDI; 32-bit operands in 16-bit
 * code) and exits with status 3.
 */
#include "kvmrun_abi_asm.h"

	.globl kr_load_addr
	.set kr_load_addr, KVMRUN_REAL_MODE_LOAD_ADDR

	.section .text.start, "ax"
	.code16
	.globl _start
_start:
	cli
	/* CS:IP may be 0:7C00 or 07C0:0000: make it 0:_start's address */
	ljmp	$0, $1f
1:	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$KVMRUN_REAL_MODE_LOAD_ADDR, %sp
	cld

	/* the console port, one byte per exit */
	mov	$console_msg, %si
	mov	$console_len, %cx
	mov	$KVMRUN_DEBUG_CONSOLE_PORT, %dx
2:	lodsb
	out	%al, %dx
	loop	2b

	/* the write hypercall: EDI = linear address (DS = 0), ESI = length */
	movl	$hypercall_msg, %edi
	movl	$hypercall_len, %esi
	movl	$KVMRUN_HC_WRITE, %eax
	mov	$KVMRUN_HYPERCALL_PORT, %dx
	outl	%eax, %dx

	/* the exit hypercall */
	movl	$3, %edi
	movl	$KVMRUN_HC_EXIT, %eax
	outl	%eax, %dx
3:	hlt
	jmp	3b

console_msg:
	.ascii	"real mode\n"
	.set	console_len, . - console_msg
hypercall_msg:
	.ascii	"hypercall from real mode\n"
	.set	hypercall_len, . - hypercall_msg

	.section .note.GNU-stack, "", @progbits
