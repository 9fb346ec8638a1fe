/* SPDX-License-Identifier: MIT */
/*
 * mbsmp-start.S - the multiboot header and entry of mbsmp (mbsmp.c is the
 * rest), and the trampoline its application processors start in.
 *
 * The trampoline is assembled here but runs as a copy at AP_TRAMPOLINE
 * (0x8000, SIPI vector 0x08): an AP leaves INIT/SIPI in real mode at
 * CS:IP = 0x0800:0000. Its addresses are computed for that copy (label -
 * ap_trampoline + AP_TRAMPOLINE). It loads a flat GDT of its own, enters
 * 32-bit protected mode without paging, sets the bit of its local APIC id
 * (CPUID 1, EBX[31:24]) in ap_seen, increments ap_count (both locked, both
 * in the kernel's .bss at their linked addresses) and halts for good.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003
#define AP_TRAMPOLINE 0x8000
#define T(label) ((label) - ap_trampoline + AP_TRAMPOLINE)

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

	.globl ap_trampoline, ap_trampoline_end
	.code16
ap_trampoline:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	lgdtl	T(ap_gdt_desc)
	mov	%cr0, %eax
	or	$1, %eax		/* CR0.PE */
	mov	%eax, %cr0
	ljmpl	$0x08, $T(ap_protected)

	.code32
ap_protected:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$1, %eax
	cpuid
	shr	$24, %ebx		/* the initial local APIC id */
	lock btsl %ebx, ap_seen
	lock incl ap_count
2:	cli
	hlt
	jmp	2b

	.balign 8
ap_gdt:
	.quad	0
	.quad	0x00cf9a000000ffff	/* 0x08: code, base 0, 4 GiB, 32-bit */
	.quad	0x00cf92000000ffff	/* 0x10: data, base 0, 4 GiB */
ap_gdt_desc:
	.word	ap_gdt_desc - ap_gdt - 1
	.long	T(ap_gdt)
ap_trampoline_end:

	.bss
	.balign 16
	.skip 8192
stack_top:

	.section .note.GNU-stack, "", @progbits
