/* SPDX-License-Identifier: MIT */
/*
 * kvmrun_abi.h - the contract between a guest and kvmrun.
 *
 * Freestanding on purpose: the guest SDK (no libc) and the host library both
 * include this file, so the port numbers, hypercall numbers and memory layout
 * are written down exactly once.
 */
#ifndef KVMRUN_ABI_H
#define KVMRUN_ABI_H

/*
 * Debug console: every byte written with `out 0xE9, al` is appended to
 * kvmrun's output (the Bochs/QEMU convention, so existing guests just work).
 */
#define KVMRUN_DEBUG_CONSOLE_PORT 0xE9

/*
 * Hypercalls: the guest writes the hypercall number as a 32-bit value to this
 * port (`out dx, eax`). Arguments travel in RDI, RSI; unless the vCPU runs
 * 64-bit code at the call (EFER.LMA and CS.L, whatever mode the VM started
 * in), only EDI, ESI count. Pointers are guest *virtual*
 * addresses: kvmrun translates them with KVM_TRANSLATE in the vCPU's current
 * mode and checks every page against guest memory.
 * In real mode a pointer is a linear address (segment * 16 + offset).
 * Hypercalls return nothing; a bad argument stops the VM with an error.
 */
#define KVMRUN_HYPERCALL_PORT 0x500

#ifndef __ASSEMBLER__ /* x86/exception_stubs.S takes the fault port from here */
enum kvmrun_hypercall {
	KVMRUN_HC_WRITE = 1, /* RDI = buffer (GVA), RSI = length: write to the console */
	KVMRUN_HC_EXIT = 2,  /* RDI = exit status (0..123): stop the VM, kvmrun exits with it;
				a larger one is an ABI error (kvmrun exits with 126) */
	KVMRUN_HC_SNAPSHOT = 3, /* no arguments: stop so that the host can take a snapshot
				   (kvmrun run --snapshot), then go on; restored, the guest
				   goes on after this call */
	KVMRUN_HC_START_CPU = 4, /* RDI = vCPU index (1..cpus-1), RSI = entry (GVA), RCX =
				    stack pointer (GVA), RBX = an argument: start that
				    application processor (kvmrun run --cpus N); see below */
};
#endif

/*
 * KVMRUN_HC_START_CPU, for VMs of several vCPUs without the PC platform (a
 * PC guest starts its APs with INIT/SIPI through its local APIC). Until it
 * is started, an AP does not run. It starts in the mode of the caller at
 * the call: the same control registers, page tables (CR3), GDT, IDT and
 * segments, with RIP = entry, RSP = stack, RDI = the argument, RSI = its own
 * index, RFLAGS = 0x2 (interrupts off), other registers 0. (RCX and RBX, not
 * RDX, which holds the hypercall port for the OUT, nor R8, which 32-bit code
 * does not have.) In long mode it
 * has an exception stack of its own (while the guest uses kvmrun's IDT and
 * TSS), so two vCPUs may fault at once. Outside 64-bit code only the low 32
 * bits of each register count. An AP is started once; HLT on it ends it
 * (it stays parked, the others run on; HLT on vCPU 0 ends the run as ever).
 * Like every hypercall it returns nothing: vCPU 0 (the caller's own index
 * too), an index past the last vCPU, an AP started already, a
 * non-canonical entry or stack, real mode, or a PC VM stop the VM with a
 * guest error.
 */

/* The largest buffer one KVMRUN_HC_WRITE may pass. */
#define KVMRUN_HC_WRITE_MAX (1u << 20)

/*
 * kvmrun's exception handlers (installed in protected, paged32 and long mode,
 * until the guest loads an IDT of its own) report a CPU exception here, so
 * kvmrun can say which exception hit at which instruction. Not for guests.
 * 0x520: a port no PC device uses (it was 0x510, which is QEMU's fw_cfg
 * selector: kvmrun's fw_cfg device has that one now).
 */
#define KVMRUN_FAULT_PORT 0x520

/*
 * Guest physical memory layout. RAM starts at GPA 0.
 *   [0x00000, 0x10000)  free for the guest (real-mode code and stack live here)
 *   [0x10000, 0x80000)  owned by kvmrun (not in real mode): GDT, TSS, IDT and
 *                       exception handlers, their stack, then page tables
 *   [0x80000, ...)      free for the guest; images load at 1 MiB by default
 * In long mode kvmrun's page tables leave virtual page 0 unmapped (a NULL
 * pointer faults), map each ELF segment with its own permissions (PF_W,
 * PF_X) and the rest of RAM read-write, no-execute; see kvmrun.h.
 * The stack starts at the top of RAM and grows down (real mode: SS:SP = 0:0x7C00).
 * At entry RDI holds the RAM size in bytes, RSI the first byte after the
 * loaded image (a place to start a heap) and RDX the number of vCPUs.
 */
#define KVMRUN_SYSTEM_AREA_START 0x10000u
#define KVMRUN_SYSTEM_AREA_END 0x80000u
#define KVMRUN_DEFAULT_LOAD_ADDR 0x100000u
#define KVMRUN_REAL_MODE_LOAD_ADDR 0x7C00u

/* GDT selectors set up by kvmrun (all flat, base 0, DPL 0). */
#define KVMRUN_SEL_CODE64 0x08
#define KVMRUN_SEL_DATA 0x10
#define KVMRUN_SEL_CODE32 0x18

#endif
