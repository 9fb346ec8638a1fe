/* SPDX-License-Identifier: MIT */
/*
 * x86/gdb.h - what the gdb stub (debug/gdbstub.c) needs of x86: the register
 * set in gdb's layout and its target description, and the debug registers
 * behind breakpoints, watchpoints and single steps (KVM_SET_GUEST_DEBUG).
 */
#ifndef KVMRUN_X86_GDB_H
#define KVMRUN_X86_GDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmrun.h"

/* The largest register (st0..7: 10 bytes, xmm: 16) and all of them in gdb's order. */
#define KR_GDB_REG_MAX 16
#define KR_GDB_REGS_MAX 1024

/*
 * The register set: x86-64 ("i386:x86-64") in long mode, 32-bit ("i386")
 * in the other modes. The target description (qXfer:features:read
 * target.xml) lists the registers in the order of the g packet.
 */
const char *kr_gdb_target_xml(bool wide);
/* How many registers; the byte size of register n (0 if there is none). */
unsigned kr_gdb_nregs(bool wide);
size_t kr_gdb_reg_size(bool wide, unsigned n);

/* All registers in gdb's order into buf (at least KR_GDB_REGS_MAX bytes); *len the bytes. */
int kr_gdb_read_regs(struct kr_vm *vm, bool wide, uint8_t *buf, size_t *len);
/* Set all registers from buf (exactly the size read gives). */
int kr_gdb_write_regs(struct kr_vm *vm, bool wide, const uint8_t *buf, size_t len);
/* One register, n < kr_gdb_nregs: into buf (KR_GDB_REG_MAX bytes) / from len bytes. */
int kr_gdb_read_reg(struct kr_vm *vm, bool wide, unsigned n, uint8_t *buf, size_t *len);
int kr_gdb_write_reg(struct kr_vm *vm, bool wide, unsigned n, const uint8_t *buf, size_t len);

/* The four debug address registers, as gdb's Z packets fill them. */
enum kr_gdb_bp_kind { KR_GDB_BP_EXEC, KR_GDB_BP_WRITE, KR_GDB_BP_ACCESS };
#define KR_GDB_MAX_BPS 4

struct kr_gdb_bp {
	bool used;
	enum kr_gdb_bp_kind kind;
	uint64_t addr;
	unsigned len; /* 1, 2, 4 or 8 for watchpoints; 1 for execution */
};

/* Whether a watchpoint of len bytes at addr fits a debug register (aligned, 1/2/4/8). */
bool kr_gdb_watch_ok(uint64_t addr, uint64_t len);

/*
 * KVM_SET_GUEST_DEBUG on vCPU `cpu` (each vCPU has its own debug
 * registers): these breakpoints in DR0..3 and DR7, and TF-style single step.
 */
int kr_gdb_set_debug(struct kr_vm *vm, unsigned cpu, const struct kr_gdb_bp bps[KR_GDB_MAX_BPS],
		     bool step);

/*
 * The last kr_gdb_set_debug of vCPU `cpu` once more, if there was one: KVM
 * sets the single step's TF only while RIP is where it was at the call, so
 * after KVM_SET_REGS (an AP started by the guest) the step would be lost.
 */
int kr_gdb_debug_again(struct kr_vm *vm, unsigned cpu);

/*
 * Whether KVM holds AP `cpu` until the guest sends it INIT and SIPI (the
 * in-kernel LAPIC's APs: KVM_GET_MP_STATE says UNINITIALIZED or
 * INIT_RECEIVED). False for vCPU 0, a VM without it, or no answer.
 */
bool kr_gdb_cpu_waits_for_sipi(struct kr_vm *vm, unsigned cpu);

/* What the last KVM_EXIT_DEBUG was: the slot hit (from DR6, -1: none), a single step. */
struct kr_gdb_debug_exit {
	uint32_t exception; /* 1 (#DB) or 3 (#BP) */
	uint64_t pc, dr6;
	int slot;
	bool step;
};
void kr_gdb_decode_debug_exit(const struct kvm_run *run, struct kr_gdb_debug_exit *d);

#endif
