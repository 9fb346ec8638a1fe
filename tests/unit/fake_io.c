/* SPDX-License-Identifier: MIT */
/* fake_io.c - see fake_io.h. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_io.h"

#define RUN_SIZE 8192
#define DATA_OFFSET 4096

struct kr_vm *io_vm_new(void)
{
	return io_vm_new_sized(2u << 20);
}

struct kr_vm *io_vm_new_sized(uint64_t mem_size)
{
	return io_vm_new_cpus(mem_size, 1);
}

struct kr_vm *io_vm_new_cpus(uint64_t mem_size, unsigned cpus)
{
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.mode = KR_MODE_LONG;
	cfg.mem_size = mem_size;
	cfg.cpus = cpus;
	struct kr_vm *vm;
	if (kr_vm_create_detached(&vm, &cfg) < 0)
		return NULL;
	vm->vcpus[0].run = calloc(1, RUN_SIZE);
	vm->run_size = RUN_SIZE;
	kr_console_get(vm)->fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	CHECK_OK(kr_board_add_pc_devices(vm));
	return vm;
}

void io_vm_free(struct kr_vm *vm)
{
	close(kr_console_get(vm)->fd);
	free(vm->vcpus[0].run);
	vm->vcpus[0].run = NULL;
	kr_vm_destroy(vm);
}

static void set_io(struct kr_vm *vm, uint8_t dir, uint16_t port, uint8_t size)
{
	vm->vcpus[0].run->exit_reason = KVM_EXIT_IO;
	vm->vcpus[0].run->io.direction = dir;
	vm->vcpus[0].run->io.port = port;
	vm->vcpus[0].run->io.size = size;
	vm->vcpus[0].run->io.count = 1;
	vm->vcpus[0].run->io.data_offset = DATA_OFFSET;
}

void io_out(struct kr_vm *vm, uint16_t port, uint8_t size, uint32_t value)
{
	set_io(vm, KVM_EXIT_IO_OUT, port, size);
	memcpy((uint8_t *)vm->vcpus[0].run + DATA_OFFSET, &value, size);
	CHECK_OK(kr_handle_exit(&vm->vcpus[0]));
}

uint32_t io_in(struct kr_vm *vm, uint16_t port, uint8_t size)
{
	uint32_t v = 0;
	set_io(vm, KVM_EXIT_IO_IN, port, size);
	memset((uint8_t *)vm->vcpus[0].run + DATA_OFFSET, 0xa5, 4);
	CHECK_OK(kr_handle_exit(&vm->vcpus[0]));
	memcpy(&v, (uint8_t *)vm->vcpus[0].run + DATA_OFFSET, size);
	return v;
}
