/* SPDX-License-Identifier: MIT */
/*
 * devices/hypercall.h - the hypercall port (kvmrun_abi.h) and its table: a
 * module adds the hypercalls it serves (the console adds WRITE, the board
 * EXIT); the port only checks the call and dispatches.
 */
#ifndef KVMRUN_DEVICES_HYPERCALL_H
#define KVMRUN_DEVICES_HYPERCALL_H

#include <stdint.h>

#include "kvmrun.h"

/*
 * A hypercall's handler: arguments already masked to the width of the
 * calling code. 0 to go on (a bad call stops the VM with kr_vm_stop first),
 * -1 on a VMM failure.
 */
typedef int (*kr_hypercall_fn)(struct kr_vm *vm, void *opaque, uint64_t arg0, uint64_t arg1);

#define KR_MAX_HYPERCALLS 16

/* Create the hypercall port, with an empty table. */
int kr_hypercall_register(struct kr_vm *vm);
/* Serve hypercall `nr` with fn (the port must exist; a number is served once). */
int kr_hypercall_add(struct kr_vm *vm, uint32_t nr, kr_hypercall_fn fn, void *opaque);
/* Carry out hypercall `nr`: the table's handler, or a guest error for an unknown one. */
int kr_hypercall(struct kr_vm *vm, uint32_t nr, uint64_t arg0, uint64_t arg1);
/* Stop the VM for a guest that broke the ABI; returns 0 (the run goes on to stop). */
int kr_hypercall_guest_error(struct kr_vm *vm, const char *msg);

#endif
