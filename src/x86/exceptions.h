/* SPDX-License-Identifier: MIT */
/* x86/exceptions.h - the IDT, stubs and TSS that report guest exceptions. */
#ifndef KVMRUN_X86_EXCEPTIONS_H
#define KVMRUN_X86_EXCEPTIONS_H

#include "kvmrun.h"
#include "x86/modes.h"

/* Write them into the system area; fills ms->idt_* and (long mode) ms->tss_base. */
int kr_exceptions_install(struct kr_vm *vm, struct kr_mode_setup *ms);
/* The fault port the stubs report on. */
int kr_exceptions_register(struct kr_vm *vm);
const char *kr_exception_name(unsigned vector);

#endif
