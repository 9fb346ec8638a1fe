/* SPDX-License-Identifier: MIT */
/*
 * paged32.S - a 32-bit guest with 32-bit paging (4 MiB pages), a raw image
 * at 1 MiB (kvmrun run --mode paged32 build/guests/paged32.bin).
 *
 * Checks CR0.PG = 1, CR4.PSE = 1 and CR4.PAE = 0, prints "paged32 mode\n"
 * with one write hypercall (the buffer goes through kvmrun's translation of
 * the guest's 32-bit page tables) and exits with status 5. If the CPU state
 * is wrong it prints "paged32: wrong CR0/CR4\n" and exits with status 1.
 */
#include "kvmrun_abi_asm.h"

#define CR0_PE 0x1
#define CR0_PG 0x80000000
#define CR4_PSE 0x10
#define CR4_PAE 0x20

	.globl kr_load_addr
	.set kr_load_addr, KVMRUN_DEFAULT_LOAD_ADDR

	.section .text.start, "ax"
	.code32
	.globl _start
_start:
	mov	$bad_msg, %edi
	mov	$bad_len, %esi
	mov	$1, %ebx

	mov	%cr0, %eax
	and	$(CR0_PE | CR0_PG), %eax
	cmp	$(CR0_PE | CR0_PG), %eax
	jne	1f
	mov	%cr4, %eax
	and	$(CR4_PSE | CR4_PAE), %eax
	cmp	$CR4_PSE, %eax
	jne	1f
	mov	$ok_msg, %edi
	mov	$ok_len, %esi
	mov	$5, %ebx

1:	mov	$KVMRUN_HC_WRITE, %eax
	mov	$KVMRUN_HYPERCALL_PORT, %dx
	out	%eax, %dx

	mov	%ebx, %edi
	mov	$KVMRUN_HC_EXIT, %eax
	out	%eax, %dx
2:	hlt
	jmp	2b

ok_msg:
	.ascii	"paged32 mode\n"
	.set	ok_len, . - ok_msg
bad_msg:
	.ascii	"paged32: wrong CR0/CR4\n"
	.set	bad_len, . - bad_msg

	.section .note.GNU-stack, "", @progbits
