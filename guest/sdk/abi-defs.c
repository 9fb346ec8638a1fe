/* SPDX-License-Identifier: MIT */
/*
 * abi-defs.c - kvmrun_abi.h for assembly and linker scripts.
 *
 * kvmrun_abi.h is C (its hypercall numbers are an enum), so assembly guests
 * and linker scripts cannot include it. guest.mk compiles this file with -S
 * and turns each "@@KRDEF NAME VALUE" marker into
 *   $(GUEST_OUT)/include/kvmrun_abi_asm.h   #define NAME VALUE
 *   $(GUEST_OUT)/include/kvmrun_abi.ld      NAME = VALUE;
 * so every constant is still written down once, in kvmrun_abi.h (the trick of
 * Linux's asm-offsets). Nothing of this file ends up in a guest.
 */
#include "kvmrun_abi.h"

#define KR_DEFINE(name)                                                                            \
	__asm__ volatile("\n.ascii \"@@KRDEF " #name " %c0\"" : : "i"((unsigned long)(name)))

void kr_abi_defs(void);

void kr_abi_defs(void)
{
	KR_DEFINE(KVMRUN_DEBUG_CONSOLE_PORT);
	KR_DEFINE(KVMRUN_HYPERCALL_PORT);
	KR_DEFINE(KVMRUN_HC_WRITE);
	KR_DEFINE(KVMRUN_HC_EXIT);
	KR_DEFINE(KVMRUN_HC_WRITE_MAX);
	KR_DEFINE(KVMRUN_SYSTEM_AREA_START);
	KR_DEFINE(KVMRUN_SYSTEM_AREA_END);
	KR_DEFINE(KVMRUN_DEFAULT_LOAD_ADDR);
	KR_DEFINE(KVMRUN_REAL_MODE_LOAD_ADDR);
	KR_DEFINE(KVMRUN_SEL_CODE64);
	KR_DEFINE(KVMRUN_SEL_DATA);
	KR_DEFINE(KVMRUN_SEL_CODE32);
}
