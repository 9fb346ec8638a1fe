/* SPDX-License-Identifier: MIT */
/*
 * exception_stubs.S - the guest code kvmrun's IDT leads to (x86/exceptions.c
 * copies it into the system area at KR_STUBS_GPA). One 16-byte stub per
 * vector: push a zero where the CPU pushes no error code, push the vector,
 * save RDX, write to KVMRUN_FAULT_PORT; kvmrun reads what was pushed. The
 * stub then halts for good: kvmrun stops the VM at the port write.
 *
 * Host data, not host code: it lives in .rodata. The same bytes run in
 * 32-bit protected mode too (push imm8, push edx, mov dx with the operand
 * size prefix, out, hlt, jmp), so one copy serves every mode with an IDT.
 */
#include "kvmrun_abi.h"

#define STUB_SIZE 16

	.section .rodata, "a"
	.balign STUB_SIZE
	.globl kr_exception_stubs
	.hidden kr_exception_stubs /* the library's own: not exported from libkvmrun.so */
	.type kr_exception_stubs, @object
kr_exception_stubs:
	.code64
	.irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
0:
	/* The CPU pushes an error code for these (Intel SDM vol. 3, table 6-1). */
	.if !((\vector == 8) || (\vector >= 10 && \vector <= 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30))
	pushq $0
	.endif
	pushq $\vector
	pushq %rdx
	movw $KVMRUN_FAULT_PORT, %dx
	outb %al, %dx
1:	hlt
	jmp 1b
	/* Exactly STUB_SIZE bytes, zero-padded; a longer stub fails to assemble. */
	.org 0b + STUB_SIZE, 0
	.endr
	.size kr_exception_stubs, . - kr_exception_stubs

	.section .note.GNU-stack, "", @progbits
