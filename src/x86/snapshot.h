/* SPDX-License-Identifier: MIT */
/*
 * x86/snapshot.h - what an x86 snapshot file holds (the container is
 * core/snapfile.h) and the host check, here for the unit tests.
 */
#ifndef KVMRUN_X86_SNAPSHOT_H
#define KVMRUN_X86_SNAPSHOT_H

#include <linux/kvm.h>
#include <stdint.h>

#include "kvmrun.h"

/* Section ids. Each holds the kernel's struct of <linux/kvm.h> unless said otherwise. */
enum kr_snap_id {
	KR_SNAP_HOST = 1,       /* struct kr_snap_host */
	KR_SNAP_CONFIG = 2,     /* struct kr_snap_config */
	KR_SNAP_CPUID = 3,      /* struct kvm_cpuid_entry2[]: the vCPU's CPUID */
	KR_SNAP_REGS = 4,       /* struct kvm_regs */
	KR_SNAP_SREGS = 5,      /* struct kvm_sregs */
	KR_SNAP_FPU = 6,        /* struct kvm_fpu (hosts without KVM_CAP_XSAVE) */
	KR_SNAP_XSAVE = 7,      /* the XSAVE area: 4096 bytes, or KVM_CAP_XSAVE2's size */
	KR_SNAP_XCRS = 8,       /* struct kvm_xcrs */
	KR_SNAP_MSRS = 9,       /* struct kvm_msr_entry[] */
	KR_SNAP_EVENTS = 10,    /* struct kvm_vcpu_events */
	KR_SNAP_DEBUGREGS = 11, /* struct kvm_debugregs */
	KR_SNAP_LAPIC = 12,     /* struct kvm_lapic_state (in-kernel LAPIC only) */
	KR_SNAP_MP_STATE = 13,  /* struct kvm_mp_state (in-kernel LAPIC only) */
	KR_SNAP_IRQCHIP = 14,   /* struct kvm_irqchip[3]: PIC master, PIC slave, IOAPIC */
	KR_SNAP_PIT = 15,       /* struct kvm_pit_state2 */
	KR_SNAP_DEVICES = 16,   /* entries: char name[32], u32 len, u32 0, len bytes, 0-padded to 8 */
	KR_SNAP_MEM_INDEX = 17, /* u64 mem_size, u64 npages, u64 page numbers (increasing) */
	KR_SNAP_MEM_PAGES = 18, /* npages * 4096 bytes: those pages, in that order */
};

/* The host a snapshot was taken on: restoring elsewhere is refused. */
#define KR_SNAP_HOST_WORDS 7
struct kr_snap_host {
	char backend[32];  /* the KVM module: "kvm_pvm", "kvm_amd", "kvm_intel" */
	char vendor[16];   /* CPUID 0: "AuthenticAMD" */
	uint32_t tsc_khz;  /* KVM_GET_TSC_KHZ of the vCPU; 0: unknown */
	uint32_t nwords;   /* KR_SNAP_HOST_WORDS */
	uint32_t words[8]; /* host CPUID feature words, see kr_snap_host_word_name */
};

/*
 * The machine a restore recreates. Version 1 files have the first 32 bytes
 * only (KR_SNAP_CONFIG_V1_SIZE): a machine without the PC platform or
 * devices, one vCPU. Version 2 adds the platform: what the board derived
 * the machine's devices from when the VM was made.
 */
struct kr_snap_config {
	uint32_t mode; /* enum kr_mode */
	uint32_t map_page0;
	uint64_t mem_size;
	uint32_t cpu_amd, cpu_gbpages, cpu_la57, cpu_maxphyaddr; /* struct kr_guest_cpu */
	/* ---- version 2 ---- */
	uint32_t pc; /* cfg.pc: in-kernel irqchip and PIT, COM1 on IRQ 4 (implies pc_devices) */
	uint32_t
	    pc_devices;	   /* the PC devices (fw_cfg, i8042, CMOS clock, ...; a multiboot kernel) */
	uint32_t cpus;	   /* cfg.cpus: 1 (snapshots hold one vCPU) */
	uint32_t reserved; /* 0 */
};
#define KR_SNAP_CONFIG_V1_SIZE 32u
_Static_assert(sizeof(struct kr_snap_config) == 48, "config layout");

/* "CPUID.1:ECX" for word 0 ... */
const char *kr_snap_host_word_name(unsigned i);
/* This host as the file records it; tsc_khz from the VM's vCPU (vm may be NULL: 0). */
void kr_snap_host_here(struct kr_vm *vm, struct kr_snap_host *h);
/*
 * Refuse a snapshot from another host: back end, CPU vendor, a feature word
 * (naming it and the bits that differ), TSC frequency beyond KVM's own
 * tolerance of 250 ppm (both known). KR_E_BAD_SNAPSHOT.
 */
int kr_snap_check_host(const struct kr_snap_host *file, const struct kr_snap_host *here);

/*
 * For kr_vm_call (loader/call.c), which puts back after a reset the pages it
 * wrote itself (KVM's dirty log does not see them) and keeps translations
 * made under a snapshot's state: the snapshot's process-unique id, its RAM
 * (*size bytes from guest physical 0) and its special registers.
 */
uint64_t kr_snapshot_id(const struct kr_snapshot *s);
const uint8_t *kr_snapshot_ram(const struct kr_snapshot *s, uint64_t *size);
const struct kvm_sregs *kr_snapshot_sregs(const struct kr_snapshot *s);

#endif
