/* SPDX-License-Identifier: MIT */
/*
 * fake_io.h - port I/O exits into a fake VM (no KVM) with the PC devices,
 * through the run loop's own exit handler: for the device tests.
 */
#ifndef KVMRUN_FAKE_IO_H
#define KVMRUN_FAKE_IO_H

#include <stdint.h>

#include "unit.h"

/* A fake VM (long mode, 2 MiB) with a kvm_run, the console on /dev/null and the PC devices. */
struct kr_vm *io_vm_new(void);
/* The same with `mem_size` bytes of RAM (the devices that report it). */
struct kr_vm *io_vm_new_sized(uint64_t mem_size);
/* ... and `cpus` vCPUs in its configuration (only vCPU 0 takes the exits). */
struct kr_vm *io_vm_new_cpus(uint64_t mem_size, unsigned cpus);
void io_vm_free(struct kr_vm *vm);
/* One OUT of `size` bytes (1, 2, 4) of `value` to `port`; fails the test if the handler does. */
void io_out(struct kr_vm *vm, uint16_t port, uint8_t size, uint32_t value);
/* One IN of `size` bytes from `port`: the value the device answered. */
uint32_t io_in(struct kr_vm *vm, uint16_t port, uint8_t size);

#endif
