/* SPDX-License-Identifier: MIT */
/*
 * mbaout.S - a multiboot kernel in a raw binary: the header's address
 * fields (flags bit 16, the "a.out kludge") say where it goes. Loaded at
 * 2 MiB with a 4 KiB bss after the file's bytes, entry after the header.
 * Checks EAX = 0x2BADB002, that EBX points above the bss (the information
 * comes after the image) and that the bss is zero, prints
 * "multiboot a.out kludge\n" on port 0xE9 and exits through isa-debug-exit
 * with v = 2 (status 5); a failed check exits with v = 3 (status 7).
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010002 /* address fields, memory information */
#define LOAD_ADDR 0x200000

	.globl kr_load_addr
	.set kr_load_addr, LOAD_ADDR

	.section .text.start, "ax"
	.code32
mb_header:
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
	.long mb_header		/* header_addr */
	.long LOAD_ADDR		/* load_addr */
	.long file_end		/* load_end_addr */
	.long file_end + 4096	/* bss_end_addr */
	.long _start		/* entry_addr */

	.globl _start
_start:
	cld
	mov	$3, %edi
	cmp	$0x2BADB002, %eax
	jne	fail
	cmp	$(file_end + 4096), %ebx
	jb	fail
	mov	$file_end, %edx		/* the bss: 1024 zero longs */
	mov	$1024, %ecx
1:	cmpl	$0, (%edx)
	jne	fail
	add	$4, %edx
	loop	1b

	mov	$msg, %esi
	mov	$msg_len, %ecx
	mov	$0xE9, %dx
2:	lodsb
	out	%al, %dx
	loop	2b
	mov	$2, %edi
fail:
	mov	%edi, %eax
	out	%eax, $0xf4
3:	hlt
	jmp	3b

msg:
	.ascii	"multiboot a.out kludge\n"
	.set	msg_len, . - msg
	.balign 4
file_end:

	.section .note.GNU-stack, "", @progbits
