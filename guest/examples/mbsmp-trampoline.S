/* SPDX-License-Identifier: MIT */
/*
 * mbsmp-trampoline.S - where mbsmp's application processors start (mbsmp
 * links mbguest-start.S for its multiboot header and entry, and mbsmp.c).
 *
 * The trampoline is assembled here but runs as a copy at AP_TRAMPOLINE
 * (0x8000, SIPI vector 0x08): an AP leaves INIT/SIPI in real mode at
 * CS:IP = 0x0800:0000. Its addresses are computed for that copy (label -
 * ap_trampoline + AP_TRAMPOLINE). It loads a flat GDT of its own, enters
 * 32-bit protected mode without paging, sets the bit of its local APIC id
 * (CPUID 1, EBX[31:24]) in ap_seen, increments ap_count (both locked, both
 * in the kernel's .bss at their linked addresses) and halts for good.
 */
#define AP_TRAMPOLINE 0x8000
#define T(label) ((label) - ap_trampoline + AP_TRAMPOLINE)

	.text
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

	.section .note.GNU-stack, "", @progbits
