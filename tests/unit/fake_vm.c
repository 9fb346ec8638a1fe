/* SPDX-License-Identifier: MIT */
/*
 * fake_vm.c - a VM without KVM: RAM in slot 0 and the x86 board's devices
 * (console on stdout, hypercall port, fault port). Unit tests and fuzzers use
 * it to drive loaders, page tables, the walker and hypercall checks with no
 * /dev/kvm.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "unit.h"

struct kr_vm *fake_vm_new(enum kr_mode mode, uint64_t mem_size)
{
	struct kr_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	kr_vm_config_init(&vm->cfg);
	vm->cfg.mode = mode;
	vm->cfg.mem_size = mem_size;
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = -1;
	vm->ram = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm->ram == MAP_FAILED) {
		free(vm);
		return NULL;
	}
	vm->slots[0] = (struct kr_slot){.used = true, .gpa = 0, .size = mem_size, .host = vm->ram};
	vm->board = &kr_x86_board;
	if (kr_board_add_devices(vm) < 0) {
		fake_vm_free(vm);
		return NULL;
	}
	return vm;
}

void fake_vm_free(struct kr_vm *vm)
{
	if (!vm)
		return;
	kr_vm_destroy_modules(vm);
	munmap(vm->ram, vm->cfg.mem_size);
	free(vm);
}
