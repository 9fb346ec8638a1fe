/* SPDX-License-Identifier: MIT */
/*
 * crt0.S - entry of 64-bit C guests (see include/kvmrun_abi.h).
 *
 * kvmrun starts the guest here with RSP = top of RAM, RDI = RAM size,
 * RSI = the first byte after the loaded image and RDX = the number of vCPUs. _start zeroes the bss (a raw
 * .bin image carries no bss size, so the loader cannot), aligns the stack,
 * calls main(ram_size, heap_start) and makes the exit hypercall with main's
 * return value. It never falls through: after the hypercall it halts forever.
 *
 * The code is position independent (RIP-relative), so the same object links
 * low (guest.ld) and in the higher half (guest-higherhalf.ld). It sits in
 * .text.start, which the linker scripts put first: a raw image's entry point
 * is its load address.
 */
#include "kvmrun_abi_asm.h"

	.section .text.start, "ax"
	.code64
	.globl _start
	.type _start, @function
_start:
	cld
	mov	%rdi, %r12		/* RAM size */
	mov	%rsi, %r13		/* end of the image */
	mov	%rdx, %r14		/* the number of vCPUs */

	/* zero [__bss_start, __bss_end) */
	lea	__bss_start(%rip), %rdi
	lea	__bss_end(%rip), %rcx
	sub	%rdi, %rcx
	xor	%eax, %eax
	rep stosb

	/*
	 * The heap starts after the image and after the bss: a raw image ends
	 * where its file ends, before the bss. __kr_heap_floor is the guest
	 * physical end of the bss (from the linker script).
	 */
	movabs	$__kr_heap_floor, %rax
	cmp	%rax, %r13
	cmovb	%rax, %r13
	add	$15, %r13
	and	$-16, %r13
	/* for kr_malloc (heap.c) */
	mov	%r12, kr_ram_size(%rip)
	mov	%r13, kr_heap_start(%rip)
	/* 0 from a kvmrun older than --cpus: one vCPU */
	test	%r14, %r14
	jnz	2f
	inc	%r14
2:	mov	%r14, kr_ncpus(%rip)

	and	$-16, %rsp		/* the call leaves RSP = 8 mod 16, as the ABI wants */
	xor	%ebp, %ebp		/* the end of the frame chain */
	mov	%r12, %rdi
	mov	%r13, %rsi
	call	main

	mov	%eax, %edi		/* exit status */
	mov	$KVMRUN_HC_EXIT, %eax
	mov	$KVMRUN_HYPERCALL_PORT, %edx
	out	%eax, %dx
1:	hlt
	jmp	1b
	.size _start, . - _start

/*
 * kr_call_return: where a function the host calls (kr_vm_call) returns to.
 * The host pushes its address as the return address; the HLT stops the
 * vCPU there, which is how the host knows the function returned.
 */
	.section .text, "ax"
	.globl kr_call_return
	.type kr_call_return, @function
kr_call_return:
	hlt
	jmp	kr_call_return
	.size kr_call_return, . - kr_call_return

/*
 * kr_ap_return: where an AP's entry function (kr_start_cpu) returns to. HLT
 * on an AP parks it for good (kvmrun_abi.h, KVMRUN_HC_START_CPU).
 */
	.globl kr_ap_return
	.type kr_ap_return, @function
kr_ap_return:
	hlt
	jmp	kr_ap_return
	.size kr_ap_return, . - kr_ap_return

	.section .bss
	.globl kr_ncpus
	.balign 8
kr_ncpus:
	.quad 0

	.section .note.GNU-stack, "", @progbits
