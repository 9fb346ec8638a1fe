/* SPDX-License-Identifier: MIT */
/* core/memory.h - step 4: guest RAM in slot 0 (the slots themselves are in core/vm.h). */
#ifndef KVMRUN_CORE_MEMORY_H
#define KVMRUN_CORE_MEMORY_H

#include <stdint.h>

struct kr_vm;

int kr_mem_init_ram(struct kr_vm *vm, uint64_t size);
void kr_mem_release(struct kr_vm *vm);

#endif
