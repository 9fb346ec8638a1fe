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

#endif
