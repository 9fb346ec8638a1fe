/* SPDX-License-Identifier: MIT */
/*
 * protected.S - a 32-bit protected-mode guest without paging, a raw image at
 * 1 MiB (kvmrun run --mode protected build/guests/protected.bin).
 *
 * Checks CR0.PE = 1 and CR0.PG = 0, prints "protected mode\n" byte by byte
 * on the debug console port and exits with status 4. If the CPU state is
 * wrong it prints "protected: wrong CR0\n" and exits with status 1.
 * The same code is also kept as an ELF32 file, protected-elf32.elf.
 */
#include "kvmrun_abi_asm.h"

#define CR0_PE 0x1
#define CR0_PG 0x80000000

	.globl kr_load_addr
	.set kr_load_addr, KVMRUN_DEFAULT_LOAD_ADDR

	.section .text.start, "ax"
	.code32
	.globl _start
_start:
	cld
	mov	%cr0, %eax
	mov	$ok_msg, %esi
	mov	$ok_len, %ecx
	mov	$4, %ebx
	and	$(CR0_PE | CR0_PG), %eax
	cmp	$CR0_PE, %eax
	je	1f
	mov	$bad_msg, %esi
	mov	$bad_len, %ecx
	mov	$1, %ebx

1:	mov	$KVMRUN_DEBUG_CONSOLE_PORT, %dx
2:	lodsb
	out	%al, %dx
	loop	2b

	mov	%ebx, %edi
	mov	$KVMRUN_HC_EXIT, %eax
	mov	$KVMRUN_HYPERCALL_PORT, %dx
	out	%eax, %dx
3:	hlt
	jmp	3b

ok_msg:
	.ascii	"protected mode\n"
	.set	ok_len, . - ok_msg
bad_msg:
	.ascii	"protected: wrong CR0\n"
	.set	bad_len, . - bad_msg

	.section .note.GNU-stack, "", @progbits
