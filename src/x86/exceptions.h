/* SPDX-License-Identifier: MIT */
/* x86/exceptions.h - the IDT, stubs and TSS that report guest exceptions. */
#ifndef KVMRUN_X86_EXCEPTIONS_H
#define KVMRUN_X86_EXCEPTIONS_H

#include <stdint.h>

#include "kvmrun.h"
#include "x86/modes.h"

/* Write them into the system area; fills ms->idt_* and (long mode) ms->tss_base. */
int kr_exceptions_install(struct kr_vm *vm, struct kr_mode_setup *ms);
/* The fault port the stubs report on. */
int kr_exceptions_register(struct kr_vm *vm);
const char *kr_exception_name(unsigned vector);
/* Whether the CPU pushes an error code for `vector`. */
bool kr_exception_has_error_code(unsigned vector);

/* exception_stubs.S: one stub per vector, copied to KR_STUBS_GPA. */
#define KR_EXCEPTION_STUB_SIZE 16 /* as STUB_SIZE in exception_stubs.S */
extern const uint8_t kr_exception_stubs[32][KR_EXCEPTION_STUB_SIZE];

#endif
