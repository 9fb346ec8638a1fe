/* SPDX-License-Identifier: MIT */
/*
 * kvmrun.h - the public API of libkvmrun, a small virtual machine monitor on
 * the Linux KVM API.
 *
 * Every function that can fail returns 0 (or a valid pointer) on success and
 * -1 (or NULL) on failure; kr_last_error() then holds a message that names the
 * step, the ioctl or call with its arguments, and strerror(errno), and
 * kr_last_error_code() a code to act on (enum kr_error). The library never
 * exits or aborts the process.
 *
 * Threads. Calls on one VM must not overlap: use a VM from one thread at a
 * time (which thread may change between calls: one may create it, another
 * run it). The one exception is kr_vm_stop(), which any thread, and a signal
 * handler, may call while another thread runs the VM. Different VMs on
 * different threads are independent, and calls that take no VM (kr_version,
 * kr_kvm_info, kr_backend_probe, the *_name and *_parse functions) may be
 * made from any thread. The last error (message, code, errno) is kept per
 * thread: read it on the thread whose call failed.
 *
 * ABI. Only the functions declared here are exported (version node
 * KVMRUN_0 of libkvmrun.so.0). Structs the library fills (kr_stop,
 * kr_image, kr_kvm_info, kr_backend, kr_walk...) may grow at their end in a
 * later minor version; a struct the caller passes in for the library to read
 * (kr_vm_config) carries its size, set by its _init function, so that a
 * library newer than the caller's header gives the fields the caller did
 * not know their defaults. Always set a config up with its _init function,
 * never with memset or an initializer. The soname changes when a struct
 * changes other than at its end, or a function changes its meaning.
 *
 * A minimal embedding:
 *
 *	struct kr_vm_config cfg;
 *	struct kr_vm *vm;
 *	struct kr_image img;
 *	struct kr_stop stop;
 *
 *	kr_vm_config_init(&cfg);
 *	if (kr_vm_create(&vm, &cfg) < 0 ||
 *	    kr_load_file(vm, "guest.elf", NULL, &img) < 0 ||
 *	    kr_vcpu_prepare(vm, &img) < 0 ||
 *	    kr_vm_run(vm, &stop) < 0)
 *		fprintf(stderr, "%s\n", kr_last_error());
 *	kr_vm_destroy(vm);
 */
#ifndef KVMRUN_H
#define KVMRUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "kvmrun_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header; kr_version() is the library's. */
#define KR_VERSION_MAJOR 0
#define KR_VERSION_MINOR 1
#define KR_VERSION_PATCH 0
#define KR_VERSION_STR_(x) #x
#define KR_VERSION_STR(x) KR_VERSION_STR_(x)
#define KR_VERSION                                                                 \
	KR_VERSION_STR(KR_VERSION_MAJOR) "." KR_VERSION_STR(KR_VERSION_MINOR) "."  \
	KR_VERSION_STR(KR_VERSION_PATCH)

/*
 * Everything declared from here on is the library's exported API: visible
 * outside libkvmrun.so, which is built with hidden visibility (and the
 * version script src/libkvmrun.map) so that nothing else is.
 */
#pragma GCC visibility push(default)

/* The version of the library that is running: "0.1.0" (KR_VERSION when it was built). */
const char *kr_version(void);

/* ---- Errors ------------------------------------------------------------------ */

/*
 * What kind of failure the last one in this thread was; its message says
 * exactly what. New codes may be added: treat an unknown one as KR_E_FAILED.
 */
enum kr_error {
	KR_E_NONE = 0,     /* no call has failed yet in this thread */
	KR_E_FAILED,       /* a failure without a more specific code (see the message) */
	KR_E_BAD_ARG,      /* an argument or the configuration is invalid */
	KR_E_SYSCALL,      /* a system call or ioctl failed: kr_last_errno() has its errno */
	KR_E_NO_KVM,       /* /dev/kvm cannot be opened: kr_last_errno() says why (ENOENT:
			      no KVM here; EACCES: no permission) */
	KR_E_KVM_API,      /* /dev/kvm has another API version or lacks a capability kvmrun
			      needs */
	KR_E_UNSUPPORTED,  /* this KVM back end cannot run what was asked (a CPU mode it
			      drops: see kr_backend_probe) */
	KR_E_BAD_IMAGE,    /* the guest image (ELF or raw) is malformed or does not fit the VM */
	KR_E_GUEST_MEMORY, /* a guest address is not mapped, outside guest memory, or read-only */
	KR_E_BAD_SNAPSHOT, /* a snapshot file is malformed, corrupt, truncated, of another
			      version, or from another host (the message says which) */
	KR_E_GUEST_STOPPED, /* kr_vm_call: the guest function did not return (the stop
			       says how: a crash, the timeout...) */
};

/* The message of the last failure in this thread ("" if none). */
const char *kr_last_error(void);
/* Its code (enum kr_error); KR_E_NONE if nothing failed yet. A success does not reset it. */
int kr_last_error_code(void);
/* For KR_E_SYSCALL and KR_E_NO_KVM: the errno of the failed call; else 0. */
int kr_last_errno(void);
/* "KR_E_BAD_IMAGE" for KR_E_BAD_IMAGE; "unknown" for a code this library does not know. */
const char *kr_error_name(int code);

/* ---- Step 1: /dev/kvm ------------------------------------------------ */

struct kr_capability {
	const char *name; /* "KVM_CAP_USER_MEMORY" */
	int value;        /* KVM_CHECK_EXTENSION result; 0 = absent */
	bool required;    /* kvmrun refuses to run without it */
};

#define KR_MAX_CAPS 24

struct kr_kvm_info {
	int api_version;
	int vcpu_mmap_size;
	size_t ncaps;
	struct kr_capability caps[KR_MAX_CAPS];
};

/* Open /dev/kvm, read the API version and every capability kvmrun uses. */
int kr_kvm_info(struct kr_kvm_info *info);

/*
 * What the KVM back end behind /dev/kvm can run. Back ends differ: hardware
 * VT-x/AMD-V, the same under a hypervisor (nested), or a software back end
 * (kvm_pvm) that runs paging only in long mode. kr_backend_probe() finds out
 * from the back end itself (special registers set and read back, the
 * supported CPUID, two tiny real-mode guests); it creates three short-lived
 * VMs, so call it once, not per guest. kr_vcpu_prepare() needs none of this:
 * it refuses a mode the vCPU does not keep on its own.
 */
enum kr_backend_kind {
	KR_BACKEND_UNKNOWN,
	KR_BACKEND_HARDWARE, /* VT-x or AMD-V of the host CPU */
	KR_BACKEND_NESTED,   /* VT-x or AMD-V offered by a hypervisor below */
	KR_BACKEND_SOFTWARE, /* no VT-x/AMD-V: KVM runs the guest in software */
};

struct kr_backend {
	char module[32];           /* "kvm_amd", "kvm_intel", "kvm_pvm"; "" if unknown */
	enum kr_backend_kind kind; /* from the module and the host's CPU flags */
	bool mode[4];              /* by enum kr_mode: the vCPU keeps that mode's registers */
	bool pae32;                /* PAE paging without long mode */
	bool gbpages, la57;        /* 1 GiB pages, 5-level paging in the supported CPUID */
	bool amd;                  /* the guest's CPUID vendor is AMD (its reserved bits) */
	unsigned maxphyaddr;       /* the guest's physical address width */
	bool real_mode_shutdown;   /* a real-mode triple fault is KVM_EXIT_SHUTDOWN */
	uint32_t real_mode_triple_fault_exit; /* the KVM_EXIT_* it ended in */
	bool rip_past_out;         /* at a port-I/O exit RIP already points past the OUT */
	/* Debugging (kr_gdb_serve), each tried on a tiny guest: */
	bool guest_debug;          /* KVM_CAP_SET_GUEST_DEBUG */
	bool debug_singlestep;     /* KVM_GUESTDBG_SINGLESTEP stops after one instruction */
	bool debug_hw_breakpoints; /* an execution breakpoint in DR0 stops the guest */
	bool debug_watchpoints;    /* a write watchpoint in DR0 stops the guest */
};

int kr_backend_probe(struct kr_backend *b);
const char *kr_backend_kind_name(enum kr_backend_kind kind);

/* A named yes/no property of a back end, as `kvmrun info` lists them. */
struct kr_feature {
	const char *name; /* "paged32", "1g-pages", "rip-at-out", ... */
	bool present;
};

/* Fill out[0..max) with b's features; returns how many there are in all. */
size_t kr_backend_features(const struct kr_backend *b, struct kr_feature *out, size_t max);

/* ---- Steps 2-5: the VM, its memory and its vCPU ------------------------ */

enum kr_mode {
	KR_MODE_REAL,      /* 16-bit real mode */
	KR_MODE_PROTECTED, /* flat 32-bit protected mode, no paging */
	KR_MODE_PAGED32,   /* 32-bit paging, identity-mapped with 4 MiB pages */
	KR_MODE_LONG,      /* 64-bit long mode, 4-level page tables */
};

const char *kr_mode_name(enum kr_mode mode);
int kr_mode_parse(const char *name, enum kr_mode *mode);

#define KR_MEM_MIN (2u << 20)
#define KR_MEM_MAX (3ull << 30) /* stays clear of the TSS and identity map below 4 GiB */

struct kr_vm_config {
	size_t size;         /* sizeof(struct kr_vm_config) of the caller's header: set by
				kr_vm_config_init; kr_vm_create refuses a config without it */
	enum kr_mode mode;
	uint64_t mem_size;   /* RAM at GPA 0, a multiple of 4 KiB */
	int console_fd;      /* where port 0xE9 and KVMRUN_HC_WRITE output goes; written
				at each newline, after each WRITE hypercall and at the
				stop (must be open for writing) */
	uint64_t timeout_ns; /* each kr_vm_run stops the guest after this long; 0: never */
	uint64_t max_output; /* console bytes the guest may write in all; 0: no limit */

	/*
	 * Long mode leaves guest virtual page 0 ([0, 4 KiB)) unmapped, so that a
	 * NULL-pointer access faults (#PF) instead of reading or corrupting low
	 * memory. true maps it like the rest of RAM (read-write, no-execute).
	 * An image segment at page 0 is mapped either way. (paged32 maps RAM
	 * with 4 MiB pages and always maps page 0.)
	 */
	bool map_page0;

	/* ---- the PC platform (COM1, the in-kernel irqchip) ---- */
	/*
	 * COM1 (a 16550A at port 0x3F8) transmits to console_fd; it receives
	 * from serial_in_fd, read by a thread of its own so the guest never waits
	 * on it (-1, the default: nothing is ever received).
	 */
	int serial_in_fd;
	/* Ctrl-A x on serial_in_fd stops the run (KR_STOP_REQUESTED) as in QEMU;
	   Ctrl-A Ctrl-A sends one Ctrl-A. */
	bool serial_escape;
	/*
	 * The PC platform Linux needs (`kvmrun boot` sets it; off by default):
	 * the in-kernel PIC, IOAPIC and local APIC (KVM_CREATE_IRQCHIP) and PIT
	 * (KVM_CREATE_PIT2), COM1 on IRQ 4, the MSRs Linux expects set at boot
	 * (MTRRs on, write-back by default; fast strings), and ports no device
	 * claims act as an empty ISA bus (reads all ones, writes ignored) instead
	 * of stopping the run. HLT then waits in the kernel for an interrupt
	 * instead of stopping the run (KR_STOP_HLT).
	 */
	bool pc;

	/* ---- several vCPUs ---- */
	/*
	 * The number of vCPUs (default 1), at most KR_MAX_CPUS and what KVM
	 * allows (KVM_CAP_MAX_VCPUS); 0 or more is refused with KR_E_BAD_ARG.
	 * vCPU 0 is the boot processor: it starts at the image's entry. The
	 * others (application processors, APs, ids 1..cpus-1):
	 *   - with cfg.pc (the in-kernel LAPIC), wait in KVM until the guest
	 *     starts them with INIT and SIPI, as on a PC;
	 *   - otherwise stay parked until the guest starts one with the
	 *     KVMRUN_HC_START_CPU hypercall (kvmrun_abi.h). HLT on an AP then
	 *     parks that AP again (HLT on vCPU 0 ends the run, as with one vCPU).
	 * Each vCPU runs on a thread of its own: vCPU 0 on kr_vm_run's caller,
	 * the APs on threads kr_vcpu_prepare creates (before kr_sandbox_enter)
	 * and kr_vm_destroy ends. Any stop ends the run of every vCPU.
	 * Not yet with several vCPUs: snapshots, kr_vm_reset, kr_vm_call (they
	 * fail with KR_E_BAD_ARG). kr_gdb_serve shows each vCPU as a thread.
	 */
	unsigned cpus;
};

#define KR_MAX_CPUS 64

#define KR_DEFAULT_MAX_OUTPUT (64ull << 20)

/*
 * Defaults: long mode, 32 MiB, console on stdout, no timeout, 64 MiB of
 * output; and cfg->size. Call it first, then change the fields you need.
 */
void kr_vm_config_init(struct kr_vm_config *cfg);

struct kr_vm;

/* Open /dev/kvm, create the VM, its RAM (slot 0) and one vCPU. */
int kr_vm_create(struct kr_vm **out, const struct kr_vm_config *cfg);
/* Release everything; flushes the console. NULL is fine. */
void kr_vm_destroy(struct kr_vm *vm);

#define KR_MEM_READONLY 1u /* guest writes become MMIO exits */

/*
 * Add a memory slot of `size` bytes at `gpa`; its number goes to *slot (slot
 * may be NULL when the number is not wanted). Both 4 KiB aligned; size at
 * most KR_MEM_MAX, and the slot must end below the guest's physical address
 * width (MAXPHYADDR: the vCPU's CPUID, or the host's before kr_vcpu_prepare).
 *
 * Reaching it from a paged guest: kr_vcpu_prepare identity-maps every slot
 * added before it (guest virtual = guest physical). In long mode a slot is
 * mapped no-execute, read-only for KR_MEM_READONLY (so a guest write faults
 * with #PF before it reaches KVM, unless an MMIO device is registered over
 * the slot: see kr_bus_register), else read-write. In paged32 mode it is
 * mapped writable with 4 MiB pages, below 4 GiB only (guest writes to a
 * read-only slot become MMIO exits). Slots added after kr_vcpu_prepare are
 * not mapped: add them first, or map them with kr_image.mappings. In long
 * mode a slot at or above 128 TiB (no canonical identity address) stays
 * unmapped.
 */
int kr_mem_add(struct kr_vm *vm, uint64_t gpa, uint64_t size, unsigned flags, int *slot);
/*
 * Remove a slot added with kr_mem_add (slot 0, the RAM, cannot be removed).
 * With several vCPUs (cfg.cpus > 1) neither call is allowed while kr_vm_run
 * runs (from a device handler, say): the other vCPUs' threads may be using
 * the slots. Change them between runs.
 */
int kr_mem_remove(struct kr_vm *vm, int slot);

/*
 * The checked accessor for guest physical memory: a host pointer to
 * [gpa, gpa + len) if that range lies wholly inside one slot, else NULL with
 * an error naming the range. Overflow-safe. The only way in.
 */
void *kr_gpa_ptr(struct kr_vm *vm, uint64_t gpa, uint64_t len);

/* ---- Loading a guest ----------------------------------------------------- */

#define KR_MAX_MAPPINGS 16
#define KR_MAX_SEGMENTS 32

/*
 * Page permissions of a mapping. Long mode honours both (NX where the CPU
 * has it); paged32 has no NX and maps with 4 MiB pages, so there every
 * mapping is writable and executable.
 */
#define KR_MAP_WRITE 1u
#define KR_MAP_EXEC 2u

struct kr_mapping {
	uint64_t gva, gpa, size;
	unsigned flags;
};

struct kr_image {
	bool is_elf;
	int elf_class; /* ELFCLASS32 or ELFCLASS64 */
	uint64_t entry; /* guest virtual address of the first instruction */
	uint64_t start, end; /* guest physical bytes the image occupies */
	size_t nmappings; /* ELF segments whose mappings differ from identity */
	struct kr_mapping mappings[KR_MAX_MAPPINGS];
	/*
	 * ELF segments that run identity-mapped (p_vaddr == p_paddr), as whole
	 * 4 KiB pages with the segment's permissions (gva == gpa); an ELF with
	 * more than KR_MAX_SEGMENTS of them is refused. A caller may append to
	 * either array before kr_vcpu_prepare to map more.
	 */
	size_t nsegments;
	struct kr_mapping segments[KR_MAX_SEGMENTS];
	/*
	 * A Multiboot v1 kernel (see "Multiboot kernels" below): kr_vcpu_prepare
	 * starts it with EAX = 0x2BADB002 and EBX = multiboot_info, the guest
	 * physical address of its multiboot information structure.
	 */
	bool multiboot;
	uint32_t multiboot_info;
};

struct kr_load_options {
	bool has_load_addr, has_entry;
	uint64_t load_addr; /* raw images: where the bytes go */
	uint64_t entry;     /* override the entry point */
};

/* Load an ELF (detected by its magic) or a raw image from a file or buffer. */
int kr_load_file(struct kr_vm *vm, const char *path, const struct kr_load_options *opt,
		 struct kr_image *img);
int kr_load_buffer(struct kr_vm *vm, const void *data, size_t size,
		   const struct kr_load_options *opt, struct kr_image *img);

/* ---- Booting Linux (the x86 boot protocol, <asm/bootparam.h>) ------------- */

/* Where kvmrun puts the boot protocol's pieces (below its system area, and above it). */
#define KR_LINUX_ZERO_PAGE 0x7000u  /* struct boot_params; RSI at entry */
#define KR_LINUX_CMDLINE 0x8000u    /* the command line, up to the system area */
#define KR_LINUX_KERNEL 0x100000u   /* the protected-mode kernel; entry at +0x200 */

struct kr_linux_info {
	uint16_t protocol;       /* the boot protocol version, 0x0206 or later */
	uint64_t kernel_end;     /* end of the memory the kernel runs in (pref_address + init_size) */
	uint64_t initrd_gpa, initrd_size; /* 0, 0 without an initrd */
	size_t e820_entries;
};

/*
 * Load a bzImage as the Linux x86 boot protocol (2.06 or later, relocatable,
 * with a 64-bit entry point) says: the protected-mode kernel at
 * KR_LINUX_KERNEL, the initrd (optional, NULL) as high as RAM and the
 * kernel's initrd_addr_max allow, the command line (NULL: empty), and the
 * zero page with an e820 map of RAM and kvmrun's system area. The VM needs
 * cfg.mode KR_MODE_LONG. Then kr_linux_prepare instead of kr_vcpu_prepare.
 * A malformed or truncated image, too little RAM, or a command line longer
 * than the kernel takes fail with KR_E_BAD_IMAGE (KR_E_BAD_ARG for the
 * command line) and a message saying which.
 */
int kr_linux_load(struct kr_vm *vm, const void *kernel, size_t kernel_size, const void *initrd,
		  size_t initrd_size, const char *cmdline, struct kr_image *img,
		  struct kr_linux_info *info);
/* The same from files (initrd_path may be NULL). */
int kr_linux_load_files(struct kr_vm *vm, const char *kernel_path, const char *initrd_path,
			const char *cmdline, struct kr_image *img, struct kr_linux_info *info);
/*
 * kr_vcpu_prepare for a loaded kernel, then the boot protocol's 64-bit entry
 * registers: RIP at the kernel's 64-bit entry, RSI the zero page, interrupts off.
 */
int kr_linux_prepare(struct kr_vm *vm, const struct kr_image *img);

/* ---- Multiboot kernels ------------------------------------------------------ */

/*
 * kr_load_file and kr_load_buffer recognise a Multiboot v1 kernel by its
 * header (the magic 0x1BADB002 at a 4-byte aligned offset in the first
 * 8 KiB; a bad checksum or malformed header is refused, not run as
 * something else). Such a kernel
 *   - loads where its header says (flags bit 16: header_addr, load_addr,
 *     load_end_addr, bss_end_addr, entry_addr) or, without bit 16, as an
 *     ELF32 file at its segments' physical addresses; everything at or above
 *     1 MiB and inside RAM;
 *   - runs in 32-bit protected mode without paging: a VM created for long
 *     mode (the default) or protected mode is switched to protected mode,
 *     real and paged32 are refused;
 *   - gets the PC devices (kr_vm_create does not add them to other VMs):
 *     QEMU's fw_cfg (ports 0x510/0x511), isa-debug-exit (0xf4), the
 *     keyboard controller (0x60/0x64; its reset is KR_STOP_RESET), port
 *     0x80, the CMOS clock (0x70/0x71) and the MP table at 0xF0000 (one
 *     processor per vCPU); with cfg.pc (kvmrun run sets it for every
 *     multiboot kernel: kr_multiboot_probe_file) also the in-kernel irqchip
 *     and PIT, so that it starts its APs with INIT/SIPI;
 *   - gets, page-aligned after the image, its modules in the order added,
 *     then the multiboot information: mem_lower (640) and mem_upper, the
 *     memory map (kvmrun's system area and the PC hole [0xA0000, 1 MiB)
 *     reserved), the command line, the modules and the boot loader name.
 * Header flags: bit 0 (page-aligned modules) and bit 1 (memory information)
 * are always honoured; bit 2 (a video mode) and the undefined requirement
 * bits 3-15 are refused, as the spec asks of a loader that lacks them.
 * kr_load_options: neither load_addr nor entry is accepted (the header says).
 * Set the command line and modules before loading.
 */

/* The kernel's command line (at most 4095 bytes; NULL or unset: none). */
int kr_multiboot_set_cmdline(struct kr_vm *vm, const char *cmdline);
/*
 * Add a module: the file is read now; `string` (NULL: the path) is its
 * string in the module list. At most 32 modules.
 */
int kr_multiboot_add_module(struct kr_vm *vm, const char *path, const char *string);
/*
 * Whether the file at `path` is a multiboot kernel: 1 if its first 8 KiB
 * hold the header's magic (the header is checked only when it is loaded),
 * 0 if not, -1 if it cannot be read. Before kr_vm_create, for an embedder
 * that gives multiboot kernels the whole PC platform (cfg.pc: the in-kernel
 * irqchip with a local APIC per vCPU, so that the kernel starts its APs
 * with INIT/SIPI; kvmrun run does).
 */
int kr_multiboot_probe_file(const char *path);

/* ---- Steps 6-7: CPU state -------------------------------------------------- */

/*
 * Build the page tables and GDT for the configured mode, set CPUID, FPU/SSE,
 * special registers (KVM_SET_SREGS) and registers (KVM_SET_REGS) so the vCPU
 * starts at img->entry with a stack at the top of RAM.
 * Once per VM, before kr_vm_run: a second call fails ("already called"),
 * also after a first call that failed; create a new VM to start over.
 *
 * What long mode maps, identity (virtual = physical) unless an image mapping
 * says otherwise; where two apply to one page, the later one in this list:
 *   - RAM: read-write, no-execute (the stack, the heap, free memory are data);
 *     page 0 stays unmapped unless cfg.map_page0;
 *   - each slot added with kr_mem_add, and each MMIO range registered with
 *     kr_bus_register above RAM (whole 4 KiB pages, read-write, no-execute),
 *     as they are when kr_vcpu_prepare runs;
 *   - kvmrun's system area (GDT, IDT, exception stubs, page tables): RWX;
 *   - the image: each ELF segment with its own p_flags (PF_W: writable,
 *     PF_X: executable) in 4 KiB pages; a page two segments share gets the
 *     union of their permissions. A raw image has no flags: its pages are
 *     read-write-executable.
 * Without NX in the vCPU's CPUID, nothing is no-execute. paged32 maps all
 * RAM read-write-executable with 4 MiB pages (page 0 included) and applies
 * only the image mappings with p_vaddr != p_paddr.
 */
int kr_vcpu_prepare(struct kr_vm *vm, const struct kr_image *img);

/*
 * "The vCPU" of these calls (and of kr_translate, kr_copy_from_gva,
 * kr_copy_to_gva): inside a run, in a device handler or an exit observer,
 * the vCPU whose exit is being handled, on its own thread; everywhere else
 * vCPU 0, the boot processor.
 */
int kr_vcpu_get_regs(struct kr_vm *vm, struct kvm_regs *regs);
int kr_vcpu_set_regs(struct kr_vm *vm, const struct kvm_regs *regs);
int kr_vcpu_get_sregs(struct kr_vm *vm, struct kvm_sregs *sregs);
int kr_vcpu_set_sregs(struct kr_vm *vm, const struct kvm_sregs *sregs);

/* ---- Step 8: running ------------------------------------------------------ */

enum kr_space { KR_SPACE_PIO, KR_SPACE_MMIO };

/*
 * A device callback for [base, base + len) of port or MMIO space. `data`
 * holds `size` bytes: to be read from on writes, filled on reads. Return 0 to
 * go on, -1 to stop the VM (after kr_vm_stop() or with kr_last_error() set).
 */
typedef int (*kr_io_handler)(struct kr_vm *vm, void *opaque, uint64_t addr, void *data,
			     uint32_t size, bool is_write);

/*
 * Attach a device. An MMIO range registered before kr_vcpu_prepare is
 * identity-mapped for a paged guest where it lies outside RAM: in long mode
 * as whole 4 KiB pages, read-write, no-execute (over a read-only slot too,
 * so that the device takes the guest's writes), in paged32 as 4 MiB pages
 * below 4 GiB. As for slots (kr_mem_add), later ones are not mapped.
 */
int kr_bus_register(struct kr_vm *vm, enum kr_space space, uint64_t base, uint64_t len,
		    kr_io_handler handler, void *opaque);

enum kr_stop_reason {
	KR_STOP_HLT,            /* the guest executed HLT */
	KR_STOP_EXIT,           /* the guest made the KVMRUN_HC_EXIT hypercall */
	KR_STOP_SHUTDOWN,       /* triple fault (KVM_EXIT_SHUTDOWN) */
	KR_STOP_FAIL_ENTRY,     /* the CPU refused the state (KVM_EXIT_FAIL_ENTRY) */
	KR_STOP_INTERNAL_ERROR, /* KVM could not go on (KVM_EXIT_INTERNAL_ERROR) */
	KR_STOP_SYSTEM_EVENT,   /* KVM_EXIT_SYSTEM_EVENT (reset, shutdown, crash) */
	KR_STOP_UNHANDLED,      /* an exit, port or address nobody handles */
	KR_STOP_GUEST_ERROR,    /* the guest broke the ABI (bad hypercall) */
	KR_STOP_REQUESTED,      /* kr_vm_stop() from a handler or another thread */
	KR_STOP_TIMEOUT,        /* the guest ran longer than cfg.timeout_ns */
	KR_STOP_OUTPUT_LIMIT,   /* the guest wrote more than cfg.max_output bytes */
	KR_STOP_EXCEPTION,      /* a CPU exception reached kvmrun's handlers */
	KR_STOP_GUEST_PANIC,    /* the guest said it panicked: Linux's "Kernel panic - not
				   syncing" on COM1 (cfg.pc), at its "---[ end Kernel panic"
				   line, or at the reset that follows it with panic=N */
	KR_STOP_RESET,          /* the guest asked for a reset (the PC devices: 0xFE to
				   port 0x64); kvmrun does not reboot it */
	KR_STOP_SNAPSHOT,       /* the guest asked for a snapshot (KVMRUN_HC_SNAPSHOT): take
				   one with kr_snapshot_take, then run on */
};

/* A CPU exception caught by kvmrun's IDT: where it happened. */
struct kr_exception {
	unsigned vector;    /* 0..31 */
	const char *name;   /* "#PF (page fault)" */
	uint64_t error_code; /* 0 for exceptions without one */
	uint64_t rip, rsp, rflags, cr2;
	uint16_t cs, ss;
};

const char *kr_stop_reason_name(enum kr_stop_reason reason);
/* "KVM_EXIT_SHUTDOWN" for 8: the names of <linux/kvm.h>. */
const char *kr_exit_name(uint32_t exit_reason);

struct kr_stop {
	enum kr_stop_reason reason;
	int exit_code;     /* KR_STOP_EXIT: the guest's status (RDI, whole, at most
			      INT_MAX; the message names the exact value) */
	uint32_t kvm_exit; /* the KVM_EXIT_* that ended the run */
	uint64_t rip;      /* guest RIP when it stopped (see kr_vm_run) */
	char message[320]; /* human-readable details: exit, port/address, RIP */

	/*
	 * The vCPU state at the stop, for crash reports. After an exception,
	 * the state at the faulting instruction (from the exception frame).
	 * cpu_was_reset: after a triple fault the CPU (AMD) had already reset
	 * the vCPU, so this is the reset state, not the crash.
	 */
	bool have_state, cpu_was_reset;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	bool have_exception;
	struct kr_exception exception;
	/*
	 * The vCPU whose exit ended the run (its state is the one above). 0
	 * for a stop from outside the vCPU threads (kr_vm_stop from another
	 * thread, the timeout). With cfg.cpus > 1 the message starts "vCPU N: ".
	 */
	unsigned cpu;
};

/*
 * Run the vCPU until the guest stops. Returns 0 when the guest stopped for
 * any reason (see stop->reason: a crashing guest is not a VMM failure) and
 * -1 when the VMM itself failed (an ioctl, a handler).
 *
 * Lifecycle:
 *  - kr_vcpu_prepare must have succeeded first; otherwise this fails.
 *  - Calling it again after a stop for HLT, EXIT, REQUESTED, TIMEOUT or
 *    OUTPUT_LIMIT resumes the guest where it stopped: with the instruction
 *    after the HLT or the hypercall's OUT, or where it was interrupted
 *    (with a fresh cfg.timeout_ns; the output limit counts all runs).
 *  - After any other stop (a triple fault, an entry failure, an internal
 *    error, a system event, an unhandled access, a guest error, an
 *    exception) or a -1 return, the vCPU is not in a state the guest can go
 *    on from: every later call fails and says why. There is no reset.
 *  - One run at a time per VM, and not from inside a run (a device handler
 *    or an observer): such a call fails.
 * Any thread may run a VM, not only the one that created it.
 *
 * Several vCPUs (cfg.cpus > 1): vCPU 0 runs on the calling thread, every AP
 * that was started on its own thread, at the same time; device handlers and
 * observers are called from all of these threads (each device's handler one
 * call at a time). The first stop of any vCPU stops all of them (stop->cpu
 * says whose it was); a VMM failure on an AP's thread stops them all too and
 * comes back here as -1 with that thread's message. kr_vm_run returns only
 * once no vCPU runs.
 */
int kr_vm_run(struct kr_vm *vm, struct kr_stop *stop);

/*
 * Watching exits: kr_vm_observe_exits() has fn called after every exit has
 * been handled, with what happened. For traces and statistics. With no
 * observer the run loop does no extra work (no clock reads, no ioctls).
 */
struct kr_exit_record {
	uint64_t seq;      /* 0, 1, 2... since the VM was created (several vCPUs: one
			      count, its calls possibly out of order) */
	uint32_t vcpu;     /* the vCPU that exited (0..cfg.cpus-1) */
	uint32_t kvm_exit; /* KVM_EXIT_* */
	bool has_access;   /* port I/O or MMIO: the fields below are set */
	bool is_mmio, is_write;
	uint64_t addr;        /* port or guest physical address */
	uint32_t size, count; /* bytes per access; port I/O repetitions (rep outs) */
	uint8_t data[8];      /* the first access's bytes: written, or answered to a read */
	bool has_rip;
	uint64_t rip;      /* after the exit (only if asked for: costs an ioctl) */
	uint64_t host_ns;  /* from entering KVM_RUN to having handled this exit */
};

typedef void (*kr_exit_observer)(struct kr_vm *vm, void *opaque, const struct kr_exit_record *rec);

/* Set (or with fn == NULL clear) the observer; want_rip adds KVM_GET_REGS per exit. */
void kr_vm_observe_exits(struct kr_vm *vm, kr_exit_observer fn, void *opaque, bool want_rip);

/*
 * Ask the run loop to stop with `reason` and `message` (copied; cut at
 * sizeof(kr_stop.message)). The first request wins until the run that it
 * ends returns. Safe from a device handler, from any other thread, and from
 * a signal handler (async-signal-safe: no locks, no allocation, no stdio).
 * A request made while no kr_vm_run is in progress ends the next run at
 * once; the VM must stay alive until the call returns.
 *
 * How it reaches a vCPU inside KVM_RUN: it sets kvm_run->immediate_exit and
 * sends the signal SIGRTMIN+3 to the thread running it (tgkill), for every
 * vCPU; KVM_RUN returns EINTR. The same signal carries cfg.timeout_ns, from a
 * timer each run creates for its own thread. kr_vm_create installs its
 * handler (SA_RESTART: other system calls it interrupts go on) and fails if
 * the application has a handler of its own for SIGRTMIN+3; kr_vm_run
 * unblocks it on the running thread for the duration of the run (the vCPU
 * threads of the APs block every other signal). A stray SIGRTMIN+3 does no
 * harm.
 */
void kr_vm_stop(struct kr_vm *vm, enum kr_stop_reason reason, int exit_code, const char *message);

/* ---- Step 9: guest virtual addresses ------------------------------------- */

struct kr_translation {
	uint64_t gva, gpa;
	bool valid, writeable, usermode;
};

/* KVM_TRANSLATE in the vCPU's current mode (the mode the guest is in now, not
 * cfg.mode: above 4 GiB only long mode has addresses). An unmapped address is
 * not an error: it comes back with valid = false. */
int kr_translate(struct kr_vm *vm, uint64_t gva, struct kr_translation *t);

/*
 * The checked accessor for guest virtual memory: copy `len` bytes at `gva`
 * into `dst`, translating page by page (the pages need not be contiguous in
 * guest physical memory). Fails, copying nothing useful, if any page is
 * unmapped or outside guest memory.
 */
int kr_copy_from_gva(struct kr_vm *vm, uint64_t gva, void *dst, size_t len);

/*
 * The checked write: copy `len` bytes from `src` to guest virtual `gva`,
 * translated page by page like kr_copy_from_gva. Every page is checked before
 * any byte is written, so a failure writes nothing: each must be mapped by
 * the guest's page tables and lie in RAM or a slot added without
 * KR_MEM_READONLY (a read-only slot is the guest's ROM; the host's copy of it
 * is not written behind KVM's back). The guest's own page permissions are not
 * consulted: this is the host writing, as a device would by DMA; kvmrun's
 * system area (page tables, GDT) is guest RAM too and is not protected.
 * Fails with KR_E_GUEST_MEMORY.
 */
int kr_copy_to_gva(struct kr_vm *vm, uint64_t gva, const void *src, size_t len);

/* ---- Seeing inside: a software page walker -------------------------------- */

/*
 * kr_walk() translates like the CPU does, in software, from the paging mode
 * the special registers select: none, 32-bit (4 KiB / 4 MiB pages), PAE,
 * 4-level or 5-level (LA57) long mode (4 KiB / 2 MiB / 1 GiB pages). It reads
 * the tables through kr_gpa_ptr, so hostile tables cannot take it outside
 * guest memory; it never loops (one step per level). It exists to report
 * *why* an address does not translate, and to cross-check KVM_TRANSLATE.
 */
enum kr_paging {
	KR_PAGING_NONE,   /* CR0.PG = 0: linear = physical */
	KR_PAGING_32,     /* 2 levels, 4-byte entries */
	KR_PAGING_PAE,    /* 3 levels, 4 PDPTEs at CR3 */
	KR_PAGING_4LEVEL, /* long mode */
	KR_PAGING_5LEVEL, /* long mode with CR4.LA57 */
};

#define KR_WALK_MAX_LEVELS 5

struct kr_walk_step {
	int level;          /* 5..1: PML5, PML4, PDPT, PD, PT (32-bit: 2, 1) */
	uint64_t entry_gpa; /* where the entry was read */
	uint64_t entry;     /* its value */
};

struct kr_walk {
	uint64_t gva;
	enum kr_paging paging;
	bool ok;            /* translated: gpa, page_size and permissions are valid */
	uint64_t gpa, page_size;
	bool writable, user, nx; /* effective permissions over all levels */
	int nsteps;
	struct kr_walk_step steps[KR_WALK_MAX_LEVELS];
	int fail_level;          /* when !ok: the level that stopped the walk (0: before any) */
	const char *fail_reason; /* "not present", "reserved bit set", "non-canonical address",
				    "table outside guest memory" */
};

/* Which paging mode these special registers select. */
enum kr_paging kr_paging_mode(const struct kvm_sregs *sregs);
const char *kr_paging_name(enum kr_paging paging);

/*
 * Walk `gva` with the tables at sregs->cr3. Returns 0 whether or not the
 * address translates (see w->ok); -1 only for bad arguments.
 * maxphyaddr: the guest's physical address width (CPUID 0x80000008), for
 * the reserved-bit checks; 0 means the vCPU's (52 before kr_vcpu_prepare).
 * Once the vCPU's CPUID is set, the walk follows it as KVM does: 1 GiB pages
 * only where CPUID offers them, AMD's reserved bits on AMD.
 */
int kr_walk(struct kr_vm *vm, const struct kvm_sregs *sregs, unsigned maxphyaddr, uint64_t gva,
	    struct kr_walk *w);

/*
 * Cross-check: translate `gva` both with KVM_TRANSLATE and with kr_walk
 * (under the vCPU's current special registers) and compare. They agree when
 * both find no translation, or both find one to the same physical address.
 * (x86 KVM_TRANSLATE always reports writeable=1 and usermode=0, so
 * permissions are not compared.) Returns 0 whether or not they agree (see
 * *agree), -1 if an ioctl failed.
 */
int kr_crosscheck(struct kr_vm *vm, uint64_t gva, struct kr_translation *kvm,
		  struct kr_walk *walk, bool *agree);

struct kr_crosscheck_report {
	uint64_t checked;       /* addresses translated both ways */
	uint64_t mapped;        /* of which both found mapped */
	uint64_t disagreements; /* of which the two differed */
	uint64_t first_bad_gva; /* the first disagreement, if any */
	char first_bad[256];    /* ... described */
};

/*
 * Cross-check every page the guest's current page tables map (found by
 * walking the tables in guest memory, at most `max_pages` pages), plus the
 * first and last byte of each mapped run, the addresses just outside each
 * run, non-canonical and boundary addresses.
 */
int kr_crosscheck_all(struct kr_vm *vm, uint64_t max_pages, struct kr_crosscheck_report *r);

/* ---- Sandboxing --------------------------------------------------------------- */

/*
 * Confine this process to what running the guest needs: close /dev/kvm (the
 * VM and vCPU fds stay), set PR_SET_NO_NEW_PRIVS and install a seccomp
 * filter (compiled to BPF when the library was built; this fills in the fds,
 * the pid and the signal) that allows only the calls of the run loop, the
 * console and the final report: KVM_RUN and the register, translation and
 * memory-slot ioctls on the VM's own fds, write to the console and stderr,
 * each run's timeout timer (timer_create on CLOCK_MONOTONIC, gettid,
 * rt_sigprocmask for the stop signal), SIGRTMIN+3 to this process's threads
 * (tgkill, for kr_vm_stop), munmap/close/exit, a device thread's poll and
 * read of its input fd, and write() to the `write_fds` the caller still
 * needs (report or trace files; at most 16 fds written in all). Any other
 * system call kills the process after a line on stderr naming it. Call
 * after kr_vcpu_prepare, before kr_vm_run; it cannot be undone.
 * kr_vm_create and the loaders are not allowed afterwards.
 * The filter binds every thread of the process (SECCOMP_FILTER_FLAG_TSYNC),
 * those that exist already too (the vCPU threads kr_vcpu_prepare created, the
 * UART's input thread): let a thread you start finish starting (say,
 * wait until it runs your function) before calling this, since a thread
 * still inside its C library's start-up may make calls the filter refuses.
 * Fails, and filters no thread, if one has seccomp filters of its own that
 * this one cannot be synchronised with.
 */
int kr_sandbox_enter(struct kr_vm *vm, const int *write_fds, size_t nwrite_fds);

/*
 * Whether this kernel can take the filter (seccomp filters, the SIGSYS trap,
 * thread synchronisation); a line saying so in `detail`.
 */
bool kr_sandbox_available(char *detail, size_t size);

/* ---- Debugging with gdb ---------------------------------------------------------- */

/*
 * Serve the GDB remote serial protocol on `fd` (a connected socket: read and
 * written; the caller listens, accepts and closes it) for a prepared VM that
 * has not run yet, or that stopped where it can resume: gdb finds the guest
 * stopped before its next instruction. The stub runs the guest as gdb asks
 * (continue, step, Ctrl-C) and returns once the guest stops by itself, with
 * *stop as kr_vm_run would give it (gdb hears W with the exit status, or X);
 * or once gdb kills it (stop->reason KR_STOP_REQUESTED, "killed by gdb"). If
 * gdb detaches or the connection closes, the guest runs on to its end
 * without debugging. The guest's registers are x86-64 in long mode and
 * 32-bit otherwise (from cfg.mode); memory is read and written by guest
 * virtual address (kr_copy_from_gva, kr_copy_to_gva). Breakpoints of both
 * kinds, and watchpoints, use the four debug registers (no int3 is written
 * into the guest). What the back end cannot do (kr_backend_probe: single
 * step, breakpoints, watchpoints) gdb is told is unsupported. With several
 * vCPUs each is a thread (thread N = vCPU N-1, all of them listed, an AP the
 * guest has not started too), in all-stop mode: any vCPU's stop stops them
 * all; the stop reply names the vCPU; breakpoints hold on every vCPU, a
 * single step moves only the vCPU gdb steps, and vCPUs that gdb's vCont
 * leaves without an action stay where they are. Not with the
 * sandbox (kr_sandbox_enter): the stub reads the socket, starts a thread to
 * see a Ctrl-C while the guest runs and sets the debug registers. One
 * session at a time per process. Returns -1 on a failure of the VMM or of
 * the connection's I/O.
 */
int kr_gdb_serve(struct kr_vm *vm, int fd, struct kr_stop *stop);

/* Write any buffered console output to the console fd now. */
int kr_console_flush(struct kr_vm *vm);

/* ---- Snapshots and reset in place ------------------------------------------- */

/*
 * A snapshot is the whole VM at a stop: registers, special registers,
 * FPU/XSAVE, XCRs, MSRs (those of KVM_GET_MSR_INDEX_LIST that the vCPU
 * reads), vCPU events and debug registers; the in-kernel LAPIC, interrupt
 * controllers and PIT where the VM has them; the vCPU's CPUID; each
 * device's state; and RAM (slot 0; a VM with other slots is refused).
 * In memory it is a copy of all that; in a file (kr_snapshot_write) the
 * versioned format of docs/kvmrun.1, with only the non-zero pages.
 * Snapshots use ioctls and files that kr_sandbox_enter forbids: take,
 * write, restore and reset outside the sandbox.
 */
struct kr_snapshot;

/*
 * Take a snapshot of a VM stopped between runs (any resumable stop, or
 * after kr_vcpu_prepare before the first run). Turns on KVM's dirty page
 * log of RAM, so that kr_vm_reset to this snapshot copies back only the
 * pages the guest wrote since. Free with kr_snapshot_free.
 */
int kr_snapshot_take(struct kr_vm *vm, struct kr_snapshot **out);
/* Write it to a file (created or truncated, mode 0600). */
int kr_snapshot_write(const struct kr_snapshot *s, const char *path);
/*
 * Read a file and check it: magic, version, size, a CRC32C per section and
 * over the header, every section's size and contents. Fails with
 * KR_E_BAD_SNAPSHOT naming the reason. The host is checked by kr_vm_restore.
 */
int kr_snapshot_read(const char *path, struct kr_snapshot **out);
/* The same from a buffer. */
int kr_snapshot_read_buffer(const void *data, size_t len, struct kr_snapshot **out);
void kr_snapshot_free(struct kr_snapshot *s);

struct kr_snapshot_info {
	enum kr_mode mode;
	uint64_t mem_size;   /* guest RAM */
	uint64_t pages;      /* non-zero 4 KiB pages of RAM, what a file holds */
	uint64_t rip;
	uint32_t nmsrs;
	uint32_t xsave_size; /* 0: the FPU state is KVM_GET_FPU's */
	uint32_t tsc_khz;    /* of the host it was taken on; 0 if KVM did not say */
	bool lapic, irqchip, pit;
	char backend[32];    /* "kvm_pvm", "kvm_amd", "kvm_intel" */
};

void kr_snapshot_info(const struct kr_snapshot *s, struct kr_snapshot_info *info);

/*
 * A new VM from a snapshot, ready to kr_vm_run on from where it was taken.
 * cfg gives what belongs to the host (console_fd, serial_in_fd,
 * timeout_ns, max_output); the mode, memory size, page-0 mapping and
 * platform come from the snapshot: cfg.pc (the in-kernel irqchip and PIT,
 * created before any state is set) and the PC devices a multiboot kernel
 * had, whatever cfg says. Before
 * anything is set, the host is checked against the snapshot's: the KVM back
 * end, the CPUID feature words, the TSC frequency, the XSAVE size; a
 * mismatch fails with KR_E_BAD_SNAPSHOT naming it. Dirty logging is on, as
 * after kr_snapshot_take.
 */
int kr_vm_restore(struct kr_vm **out, const struct kr_snapshot *s, const struct kr_vm_config *cfg);

/*
 * Reset in place: put vm back to snapshot s without recreating the VM, the
 * vCPU or the slots: the vCPU state and devices are set again, and of RAM
 * only the pages the guest wrote since s was taken from (or restored into)
 * this VM, or since its last reset to s, are copied back. For any other
 * snapshot of the same configuration all of RAM is copied. The host's own
 * writes to guest memory (kr_copy_to_gva) are not in KVM's dirty log: after
 * them, call kr_vm_reset_full. Works after any stop, a crash too. A
 * snapshot of another platform (cfg.pc, the PC devices) is refused with
 * KR_E_BAD_SNAPSHOT. Without an in-kernel LAPIC the registers, special registers and vCPU
 * events are handed to the guest's next KVM_RUN (KVM_CAP_SYNC_REGS) rather
 * than set by a run of their own; every library call sees them at once.
 */
int kr_vm_reset(struct kr_vm *vm, const struct kr_snapshot *s);
/* kr_vm_reset copying all of RAM back. */
int kr_vm_reset_full(struct kr_vm *vm, const struct kr_snapshot *s);

/* ---- Naming x86 state, for reports ------------------------------------------ */

/*
 * The names of the bits set in `value` of register `reg` ("cr0", "cr4" or
 * "efer"): "PE", "LME"... in bit order, into names[0..max); returns how
 * many there are (bits without a name are left out; 0 for an unknown reg).
 */
size_t kr_x86_bit_names(const char *reg, uint64_t value, const char **names, size_t max);

/* ---- Calling guest functions ---------------------------------------------- */

/*
 * kr_vm_call runs one function of a 64-bit guest (long mode) by its name in
 * the ELF's symbol table (kept by kr_load_file/kr_load_buffer; a stripped
 * file has none) and gives back its 64-bit result (RAX), by the System V
 * x86-64 calling convention: up to six integer arguments in RDI, RSI, RDX,
 * RCX, R8, R9. A buffer argument is copied into a scratch area in the guest
 * and its guest virtual address passed in its register; OUT and INOUT
 * buffers are copied back when the function returns.
 *
 * The guest provides, through the SDK (guest/sdk, KR_EXPORT in
 * kvmrun_guest.h): the symbol kr_call_return, a HLT instruction the call
 * returns to, and kr_call_area, the scratch area (buffers from its bottom,
 * the call's stack from its top, at least KR_CALL_MIN_STACK bytes of it).
 * The function runs on the vCPU as the guest left it at the last stop (its
 * init done: CR3, GDT, IDT), with RIP = the function, RSP = the top of the
 * area minus the return address, RFLAGS = 0x2 (interrupts off), RAX = 0,
 * and cfg.timeout_ns as its time limit. It has returned when the vCPU stops
 * at that HLT with RSP back at the top of the area; anything else (an
 * exception, a triple fault, the timeout, an EXIT hypercall, another HLT)
 * is a call that did not return: -1 with KR_E_GUEST_STOPPED, *stop says how,
 * and the VM refuses every later run and call until kr_vm_reset (or a call
 * with opt->reset) puts it back.
 *
 * The bytes kvmrun wrote into the area (buffers, the return address) are
 * zeroed again after each call, so nothing of one call's arguments is left
 * for the next (KVM's dirty log, which kr_vm_reset reads, does not see the
 * host's writes). With opt->reset the VM is first reset to that snapshot
 * (take it once after the guest's init), and the guest pages kvmrun wrote
 * since the last reset are copied back from it: every call then starts
 * from the same guest state, as a fresh VM would, and reuses the
 * translations of the call area made under it.
 */
#define KR_CALL_MAX_ARGS 6
#define KR_CALL_MIN_STACK (16u << 10)
#define KR_CALL_RETURN_SYMBOL "kr_call_return"
#define KR_CALL_AREA_SYMBOL "kr_call_area"

enum kr_call_arg_kind {
	KR_CALL_ARG_INT,   /* value goes in the register as is */
	KR_CALL_ARG_IN,    /* buf[0..len) copied into the guest, its address passed */
	KR_CALL_ARG_OUT,   /* len zero bytes in the guest, copied back into buf after */
	KR_CALL_ARG_INOUT, /* copied in, and back after */
};

struct kr_call_arg {
	enum kr_call_arg_kind kind;
	uint64_t value; /* KR_CALL_ARG_INT */
	void *buf;      /* the buffers: host memory of len bytes (IN only reads it) */
	size_t len;
};

#define KR_CALL_INT(v) ((struct kr_call_arg){.kind = KR_CALL_ARG_INT, .value = (uint64_t)(v)})
#define KR_CALL_IN(p, n)                                                                   \
	((struct kr_call_arg){.kind = KR_CALL_ARG_IN, .buf = (void *)(uintptr_t)(p), .len = (n)})
#define KR_CALL_OUT(p, n) ((struct kr_call_arg){.kind = KR_CALL_ARG_OUT, .buf = (p), .len = (n)})
#define KR_CALL_INOUT(p, n)                                                                \
	((struct kr_call_arg){.kind = KR_CALL_ARG_INOUT, .buf = (p), .len = (n)})

struct kr_call_options {
	const struct kr_snapshot *reset; /* non-NULL: kr_vm_reset(vm, reset) before the call */
};

/*
 * Call guest function `name` with args[0..nargs) (nargs <= KR_CALL_MAX_ARGS;
 * opt may be NULL). 0: it returned, *result = RAX. -1: refused before it ran
 * (an unknown name, too many arguments, buffers larger than the area, a VM
 * not in long mode, not prepared or not resumable; stop->reason is then
 * KR_STOP_REQUESTED with an empty message), or it did not return
 * (KR_E_GUEST_STOPPED; *stop as from kr_vm_run). stop may be NULL.
 */
int kr_vm_call(struct kr_vm *vm, const char *name, const struct kr_call_arg *args, size_t nargs,
	       const struct kr_call_options *opt, uint64_t *result, struct kr_stop *stop);

/* The guest virtual address (and ELF st_size) of defined global symbol `name`. */
int kr_vm_symbol(struct kr_vm *vm, const char *name, uint64_t *addr, uint64_t *size);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
