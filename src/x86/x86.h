/* SPDX-License-Identifier: MIT */
/*
 * x86/x86.h - architectural x86 constants, defined once. The control
 * register bits come from <asm/processor-flags.h>; what no header exported
 * to user space defines (EFER bits: <asm/msr-index.h> is kernel-internal;
 * page-table entry bits; the 64-bit TSS) is written down here.
 */
#ifndef KVMRUN_X86_H
#define KVMRUN_X86_H

#include <asm/processor-flags.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmrun_abi.h"

/* EFER (MSR 0xc0000080) bits (Intel SDM vol. 3, 2.2.1; AMD APM vol. 2, 3.1.7). */
#define KR_EFER_SCE (1ull << 0)
#define KR_EFER_LME (1ull << 8)
#define KR_EFER_LMA (1ull << 10)
#define KR_EFER_NXE (1ull << 11)
#define KR_EFER_SVME (1ull << 12)
#define KR_EFER_LMSLE (1ull << 13)
#define KR_EFER_FFXSR (1ull << 14)
#define KR_EFER_TCE (1ull << 15)

/* Page-table entry bits (Intel SDM vol. 3, 4.5; AMD APM vol. 2, 5.3-5.4). */
#define KR_PTE_PRESENT (1ull << 0)
#define KR_PTE_WRITE (1ull << 1)
#define KR_PTE_USER (1ull << 2)
#define KR_PTE_PS (1ull << 7)          /* in a PD (or PDPT) entry: a large page */
#define KR_PTE_AMD_NONLEAF_G (1ull << 8) /* reserved in AMD's PML4Es and PML5Es (APM 5.3.3) */
#define KR_PTE_NX (1ull << 63)         /* execute-disable (Intel: XD) */
#define KR_PTE_ADDR 0x000ffffffffff000ull /* bits 51:12: the widest address field */
#define KR_PTE32_ADDR 0xfffff000ull
#define KR_PAE_PDPTE_RSVD 0x1e6ull     /* PAE PDPTE bits 1, 2, 5-8 */

/* Page sizes. */
#define KR_PAGE_4K 0x1000ull
#define KR_PAGE_2M 0x200000ull
#define KR_PAGE_4M 0x400000ull
#define KR_PAGE_1G 0x40000000ull
/* 32-bit linear and physical addresses end here. */
#define KR_LIMIT_4G (1ull << 32)

#define KR_ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))
#define KR_ALIGN_UP(x, a) KR_ALIGN_DOWN((x) + (a) - 1, a)

/*
 * An address is canonical when its bits 63..bits-1 are all equal (bits = 48
 * for 4-level paging, 57 for 5-level): the only ones the CPU translates.
 */
static inline bool kr_canonical(uint64_t va, unsigned bits)
{
	unsigned shift = 64 - bits;
	return (uint64_t)((int64_t)(va << shift) >> shift) == va;
}

/*
 * The 64-bit TSS (Intel SDM vol. 3, 8.7; AMD APM vol. 2, 12.2.5). The
 * uapi headers have none. kvmrun uses only IST1 and the I/O map base.
 */
struct kr_tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7]; /* ist[0] is IST1 */
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base; /* >= the TSS limit: no I/O permission bitmap */
} __attribute__((packed));

_Static_assert(sizeof(struct kr_tss64) == 104, "64-bit TSS is 104 bytes");
_Static_assert(offsetof(struct kr_tss64, rsp) == 4, "RSP0 at 4");
_Static_assert(offsetof(struct kr_tss64, ist) == 36, "IST1 at 36");
_Static_assert(offsetof(struct kr_tss64, iomap_base) == 102, "I/O map base at 102");

/* Where kvmrun's own structures live in its system area (kvmrun_abi.h). */
#define KR_GDT_GPA (KVMRUN_SYSTEM_AREA_START + 0x0000)
#define KR_TSS_GPA (KVMRUN_SYSTEM_AREA_START + 0x0100)
#define KR_IDT_GPA (KVMRUN_SYSTEM_AREA_START + 0x1000)
#define KR_STUBS_GPA (KVMRUN_SYSTEM_AREA_START + 0x1800)
#define KR_EXCEPTION_STACK_TOP (KVMRUN_SYSTEM_AREA_START + 0x3000)
#define KR_PAGE_TABLES_GPA (KVMRUN_SYSTEM_AREA_START + 0x3000)
/*
 * The application processors' own TSS and exception stack (long mode), one
 * 512-byte slot per vCPU id at the end of the system area: the TSS at the
 * slot's start, the stack growing down from its end (a stub pushes 64 bytes
 * at most, a double fault as much again). Slot 0 is unused: vCPU 0 has the
 * ones above. The page tables end where these begin.
 */
#define KR_AP_SLOT_SIZE 0x200u
#define KR_AP_AREA_GPA (KVMRUN_SYSTEM_AREA_END - KR_MAX_CPUS * KR_AP_SLOT_SIZE)
#define KR_AP_TSS_GPA(id) (KR_AP_AREA_GPA + (uint64_t)(id) * KR_AP_SLOT_SIZE)
#define KR_AP_STACK_TOP(id) (KR_AP_TSS_GPA(id) + KR_AP_SLOT_SIZE)
#define KR_PAGE_TABLES_END KR_AP_AREA_GPA

/* x86 bits of struct kr_guest_cpu's features (core/vm.h), from the vCPU's CPUID. */
#define KR_X86_CPU_AMD (1u << 0)     /* AuthenticAMD or HygonGenuine: AMD's reserved bits apply */
#define KR_X86_CPU_GBPAGES (1u << 1) /* 1 GiB pages (CPUID 0x80000001 EDX bit 26) */
#define KR_X86_CPU_LA57 (1u << 2)    /* 5-level paging (CPUID 7.0 ECX bit 16) */

#endif
