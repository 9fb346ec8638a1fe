/* SPDX-License-Identifier: MIT */
/*
 * x86/board.h - the machine kvmrun builds: which devices it has, and what
 * the x86 architecture adds to the core's VM (kr_vm_create is in board.c).
 */
#ifndef KVMRUN_X86_BOARD_H
#define KVMRUN_X86_BOARD_H

#include "core/vm.h"

extern const struct kr_vm_board kr_x86_board;

/* For tests and fuzzers: an x86 VM without KVM (kr_vm_new_detached). */
int kr_vm_create_detached(struct kr_vm **out, const struct kr_vm_config *cfg);

/* The devices of the machine, and the board's own hooks (exported for fake VMs in tests). */
int kr_board_add_devices(struct kr_vm *vm);
/*
 * Add the PC devices (fw_cfg, isa-debug-exit, the i8042's reset, port 0x80)
 * that a kernel written for QEMU's PC expects; the multiboot loader does.
 * A second call does nothing.
 */
int kr_board_add_pc_devices(struct kr_vm *vm);
/* Whether the VM has them (cfg.pc, or a multiboot kernel's loader added them). */
bool kr_board_has_pc_devices(const struct kr_vm *vm);

/*
 * Snapshots, before anything is restored: whether a machine with (or
 * without) the PC devices has a device `name` with saved state, and
 * whether `state` makes sense for it; -1 naming the reason. The file is
 * untrusted: each device checks ranges and lengths.
 */
int kr_board_check_device_state(const char *name, const void *state, size_t len, bool pc_devices);
/* How many devices with saved state such a machine has. */
unsigned kr_board_devices_with_state(bool pc_devices);

#endif
