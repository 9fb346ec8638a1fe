/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what the parts of libkvmrun share and the public API hides.
 * One section per source file, in the order of the KVM API steps.
 */
#ifndef KVMRUN_INTERNAL_H
#define KVMRUN_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "kvmrun.h"

/* ---- core/error.c: the one place messages are kept ---------------------- */

/* Set the thread's error message; always returns -1. */
int kr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, followed by ": strerror(errno)" for the errno at the call. */
int kr_err_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prefix the current message with "step: " (for errors that bubble up). */
int kr_err_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- core/bounds.c: overflow-safe range checks ------------------------ */

/*
 * true if [off, off + len) lies inside [0, size). The one check every offset
 * and length read from a file or from the guest goes through.
 */
static inline bool kr_range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* The bytes [off, off + len) of a buffer of `size` bytes, or NULL. */
static inline const void *kr_span(const void *base, uint64_t size, uint64_t off, uint64_t len)
{
	return kr_range_ok(off, len, size) ? (const uint8_t *)base + off : NULL;
}

/*
 * An address is canonical when its bits 63..bits-1 are all equal (bits = 48
 * for 4-level paging, 57 for 5-level): the only ones the CPU translates.
 */
static inline bool kr_canonical(uint64_t va, unsigned bits)
{
	unsigned shift = 64 - bits;
	return (uint64_t)((int64_t)(va << shift) >> shift) == va;
}

/* ---- core/kvm.c: step 1 --------------------------------------------------- */

int kr_kvm_open(int *kvm_fd, int *vcpu_mmap_size);

/* ---- core/memory.c: step 4 --------------------------------------------------- */

#define KR_MAX_SLOTS 32

struct kr_slot {
	bool used;
	uint32_t flags;
	uint64_t gpa, size;
	void *host;
};

int kr_mem_init_ram(struct kr_vm *vm, uint64_t size);
void kr_mem_release(struct kr_vm *vm);

/* ---- core/bus.c: port and MMIO dispatch ------------------------------------- */

#define KR_MAX_DEVICES 16

struct kr_device {
	enum kr_space space;
	uint64_t base, len;
	kr_io_handler handler;
	void *opaque;
};

const struct kr_device *kr_bus_find(const struct kr_vm *vm, enum kr_space space, uint64_t addr,
				    uint32_t size);

/* ---- devices/console.c and devices/hypercall.c ---------------------------- */

#define KR_CONSOLE_BUF 4096

struct kr_console {
	int fd;
	uint64_t total; /* bytes the guest has written, for cfg.max_output */
	size_t used;
	char buf[KR_CONSOLE_BUF];
};

int kr_console_write(struct kr_vm *vm, const void *data, size_t len);
int kr_console_register(struct kr_vm *vm);
int kr_hypercall_register(struct kr_vm *vm);
/* Carry out hypercall `nr` with its arguments (already masked to the width of the calling code). */
int kr_hypercall(struct kr_vm *vm, uint32_t nr, uint64_t arg0, uint64_t arg1);

/* ---- x86/cpuid.c: what the vCPU's CPUID promises -------------------------- */

/*
 * Kept by kr_cpuid_setup from the CPUID it gave the vCPU, for the page
 * walker: KVM's own walker (KVM_TRANSLATE, and the CPU's on a software back
 * end) treats as reserved what this CPUID does not offer.
 */
struct kr_guest_cpu {
	bool known;          /* kr_cpuid_setup has run */
	bool amd;            /* AuthenticAMD or HygonGenuine: AMD's reserved bits apply */
	bool gbpages;        /* 1 GiB pages (CPUID 0x80000001 EDX bit 26) */
	bool la57;           /* 5-level paging (CPUID 7.0 ECX bit 16) */
	unsigned maxphyaddr; /* CPUID 0x80000008 EAX[7:0]; 36 without the leaf */
};

/* ---- the VM ------------------------------------------------------------------ */

struct kr_vm {
	struct kr_vm_config cfg;
	int kvm_fd, vm_fd, vcpu_fd;
	struct kvm_run *run; /* shared with KVM, KVM_GET_VCPU_MMAP_SIZE bytes */
	int run_size;

	struct kr_slot slots[KR_MAX_SLOTS];
	uint8_t *ram; /* host address of slot 0 */

	size_t ndevices;
	struct kr_device devices[KR_MAX_DEVICES];

	struct kr_console console;
	struct kr_guest_cpu cpu; /* what the vCPU's CPUID says about paging */

	/*
	 * Unit tests and fuzzers have no vCPU: with this set, kr_translate walks
	 * the page tables in software (kr_walk) under these registers instead.
	 */
	const struct kvm_sregs *soft_sregs;

	/* kr_vm_observe_exits: NULL costs the run loop nothing */
	kr_exit_observer observer;
	void *observer_opaque;
	bool observer_wants_rip;
	uint64_t exit_seq;

	/*
	 * core/run.c: stopping the vCPU from any thread (see kr_vm_stop).
	 * stop_requested is KR_STOPPING_NONE, _WRITING (a kr_vm_stop is filling
	 * pending_stop) or _READY (pending_stop is complete); reads as true once
	 * anyone asked. running_tid is the thread inside kr_vm_run (0: none),
	 * which kr_vm_stop signals; pid is the process, for tgkill.
	 */
	_Atomic int stop_requested;
	struct kr_stop pending_stop;
	_Atomic pid_t running_tid;
	pid_t pid;

	/* Lifecycle: what kr_vcpu_prepare and earlier runs left (see kr_vm_run). */
	bool prepare_started, prepared;
	bool cannot_resume;             /* the last stop was a crash: never run again */
	char cannot_resume_why[200];    /* ... which one */
};

enum { KR_STOPPING_NONE, KR_STOPPING_WRITING, KR_STOPPING_READY };

/* ---- core/run.c: step 8 ------------------------------------------------------ */

/*
 * Install the handler of the signal that interrupts KVM_RUN (KR_KICK_SIGNAL);
 * at VM creation, since sigaction is not allowed once sandboxed.
 */
int kr_kick_signal_init(void);
/* The number of that signal (SIGRTMIN + 3), for the sandbox's tgkill rule. */
int kr_kick_signal(void);

/* Dispatch the exit in vm->run: 0 to go on or stop (vm->stop_requested), -1 on a VMM failure. */
int kr_handle_exit(struct kr_vm *vm);

/* ---- x86/: steps 6 and 7 ---------------------------------------------------- */

/* EFER bits: architectural, but the kernel does not export msr-index.h. */
#define KR_EFER_SCE (1ull << 0)
#define KR_EFER_LME (1ull << 8)
#define KR_EFER_LMA (1ull << 10)
#define KR_EFER_NXE (1ull << 11)

/*
 * x86/pagetable.c: builds page tables in guest memory. Table pages come from
 * [next, limit) of guest physical memory, which the builder zeroes as it
 * takes them. Works on any host buffer, so it is unit-tested without KVM.
 */
struct kr_pt_builder {
	uint8_t *mem;     /* host address of guest physical 0 */
	uint64_t mem_size;
	uint64_t next, limit; /* free table pages, guest physical */
	uint64_t root;        /* CR3 */
	bool nx;              /* may set the NX bit (EFER.NXE will be on) */
};

int kr_pt_init(struct kr_pt_builder *b, uint8_t *mem, uint64_t mem_size, uint64_t area_start,
	       uint64_t area_end, bool nx);
/* 4-level long mode: map [gva, gva + size) to gpa; 2 MiB pages where aligned. */
int kr_pt64_map(struct kr_pt_builder *b, uint64_t gva, uint64_t gpa, uint64_t size, unsigned flags);
/* 32-bit paging: map with 4 MiB pages (CR4.PSE); all three 4 MiB aligned. */
int kr_pt32_map(struct kr_pt_builder *b, uint32_t gva, uint32_t gpa, uint64_t size, unsigned flags);

/*
 * x86/memmap.c: the page tables a paged guest starts with (see
 * kr_vcpu_prepare in kvmrun.h for what is mapped how), built in kvmrun's
 * system area; *cr3 gets the root.
 */
int kr_page_tables_build(struct kr_vm *vm, const struct kr_image *img, bool nx, uint64_t *cr3);

/* Where kvmrun's own structures live in its system area (kvmrun_abi.h). */
#define KR_GDT_GPA (KVMRUN_SYSTEM_AREA_START + 0x0000)
#define KR_TSS_GPA (KVMRUN_SYSTEM_AREA_START + 0x0100)
#define KR_IDT_GPA (KVMRUN_SYSTEM_AREA_START + 0x1000)
#define KR_STUBS_GPA (KVMRUN_SYSTEM_AREA_START + 0x1800)
#define KR_EXCEPTION_STACK_TOP (KVMRUN_SYSTEM_AREA_START + 0x3000)
#define KR_PAGE_TABLES_GPA (KVMRUN_SYSTEM_AREA_START + 0x3000)

/* x86/gdt.c: the flat GDT in guest memory; entries 4-5 are the 64-bit TSS. */
#define KR_GDT_ENTRIES 6
#define KR_SEL_TSS 0x20
int kr_gdt_write(uint8_t *mem, uint64_t mem_size, uint64_t gdt_gpa, uint64_t tss_gpa);
/* The segment register value kvmrun's GDT holds for `selector`. */
void kr_gdt_segment(unsigned selector, struct kvm_segment *seg);
/* The TR value for kvmrun's 64-bit TSS at tss_gpa. */
void kr_gdt_tss_segment(uint64_t tss_gpa, struct kvm_segment *seg);
/* The 8-byte descriptor for a kvm_segment (exposed for the unit tests). */
uint64_t kr_gdt_encode(const struct kvm_segment *seg);

/* x86/modes.c: one function per CPU mode; pure, unit-tested. */
struct kr_mode_setup {
	uint64_t cr3;      /* page table root (paged modes) */
	uint64_t gdt_base; /* GDT guest physical address */
	bool nx;           /* enable EFER.NXE */
	uint16_t real_cs;  /* real mode: CS selector (entry and CS base meet there) */
	uint64_t idt_base; /* kvmrun's exception IDT (0: none) */
	uint16_t idt_limit;
	uint64_t tss_base; /* long mode: the TSS holding IST1 (0: none) */
};

/* x86/exceptions.c: the IDT, stubs and TSS that report guest exceptions. */
int kr_exceptions_install(struct kr_vm *vm, struct kr_mode_setup *ms);
int kr_exceptions_register(struct kr_vm *vm);
const char *kr_exception_name(unsigned vector);
void kr_sregs_for_mode(enum kr_mode mode, const struct kr_mode_setup *setup,
		       struct kvm_sregs *sregs);

/* x86/sregs_check.c: refuse inconsistent CR0/CR4/EFER/CS before KVM_SET_SREGS. */
int kr_sregs_check(struct kr_vm *vm, const struct kvm_sregs *sregs);

/* x86/vcpu.c: the mode bits of `want` that the vCPU did not keep, as an error. */
int kr_sregs_readback(struct kr_vm *vm, const struct kvm_sregs *want);

/* x86/cpuid.c: KVM_GET_SUPPORTED_CPUID filtered, then KVM_SET_CPUID2. */
int kr_cpuid_setup(struct kr_vm *vm, bool *nx_supported);

/* ---- loader/: guest images ------------------------------------------------- */

int kr_load_elf(struct kr_vm *vm, const uint8_t *data, size_t size,
		const struct kr_load_options *opt, struct kr_image *img);
int kr_load_raw(struct kr_vm *vm, const uint8_t *data, size_t size,
		const struct kr_load_options *opt, struct kr_image *img);
/* Refuse an image range that is outside RAM or overlaps kvmrun's area. */
int kr_load_check_range(struct kr_vm *vm, uint64_t gpa, uint64_t size, const char *what);

/* ---- core/translate.c: step 9 ------------------------------------------------ */

/*
 * Call fn(ctx, host, n) for each page-sized piece of guest virtual
 * [gva, gva + len), translated and checked; fn == NULL only checks.
 */
int kr_gva_for_each(struct kr_vm *vm, uint64_t gva, uint64_t len,
		    int (*fn)(void *ctx, const void *host, size_t n), void *ctx);


/* ---- core/vm.c: for tests and fuzzers only ------------------------------------ */

/*
 * A VM without KVM: RAM (cfg->mem_size, mmap'd) in slot 0, no fds, no vCPU,
 * for unit tests and fuzzers to drive loaders, page tables, the walker and
 * hypercall checks. Not in the API (kvmrun.h); freed with kr_vm_destroy.
 */
int kr_vm_create_detached(struct kr_vm **out, const struct kr_vm_config *cfg);

#endif
