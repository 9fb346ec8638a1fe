/* SPDX-License-Identifier: MIT */
/*
 * core/vm.h - the VM as the KVM plumbing sees it: its fds, memory slots, bus
 * entries, run-loop state, and the modules (devices, the board) attached to
 * it. The core knows no device by name: a module registers its bus ranges
 * (kr_bus_register) and its hooks (kr_vm_add_module); the run loop, the
 * sandbox and kr_vm_destroy call the hooks without knowing whose they are.
 */
#ifndef KVMRUN_CORE_VM_H
#define KVMRUN_CORE_VM_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kvmrun.h"

/* ---- memory slots (core/memory.c) ------------------------------------------- */

#define KR_MAX_SLOTS 32

struct kr_slot {
	bool used;
	uint32_t flags;
	uint64_t gpa, size;
	void *host;
};

/* ---- bus entries (core/bus.c) ----------------------------------------------- */

#define KR_MAX_DEVICES 16

struct kr_device {
	enum kr_space space;
	uint64_t base, len;
	kr_io_handler handler;
	void *opaque;
	/* With several vCPUs (kr_vm_smp), taken around the handler: one access at a time. */
	pthread_mutex_t lock;
};

/* ---- modules: what a device or the board hooks into the VM's life ---------- */

/* Every hook may be NULL; `opaque` is the module's own state. */
struct kr_hooks {
	const char *name; /* "console", for messages */
	/*
	 * A run stopped and the vCPU state was read (stop->have_state): add to
	 * what the stop says (the board recognises a CPU reset here).
	 */
	void (*on_stop)(struct kr_vm *vm, void *opaque, struct kr_stop *stop);
	/* A run is over, whatever its end: push out what is buffered. -1 fails the run. */
	int (*on_run_end)(struct kr_vm *vm, void *opaque);
	/* kr_vm_destroy: flush and free the module's state (the VM is still whole). */
	void (*on_destroy)(struct kr_vm *vm, void *opaque);
	/* The fds the module writes to while sandboxed: fills fds[0..max), returns the count. */
	size_t (*write_fds)(struct kr_vm *vm, void *opaque, int *fds, size_t max);

	/*
	 * Snapshots (x86/snapshot.c): the module's state as bytes, stored under
	 * its name. save fills buf[0..max) and returns the length (or -1);
	 * restore gets back exactly what save gave, from a file checked for
	 * integrity but still to be checked for sense. Both NULL: no state.
	 */
	long (*save)(struct kr_vm *vm, void *opaque, void *buf, size_t max);
	int (*restore)(struct kr_vm *vm, void *opaque, const void *buf, size_t len);
	/*
	 * KVM_EXIT_DEBUG (a module asked for it with KVM_SET_GUEST_DEBUG: the gdb
	 * stub): 1 if the module took the exit (it stops the run, or lets it go
	 * on), 0 if it is not the module's, -1 on a failure. No module: the exit
	 * stops the run as an unhandled one.
	 */
	int (*on_debug_exit)(struct kr_vm *vm, void *opaque);

	/*
	 * The fds a thread of the module reads while sandboxed (the filter
	 * binds every thread): fills fds[0..max), returns the count.
	 */
	size_t (*read_fds)(struct kr_vm *vm, void *opaque, int *fds, size_t max);
	/*
	 * The guest starts AP `cpu` (KVMRUN_HC_START_CPU): its registers are
	 * set, it has not run yet (the gdb stub sets its debug state again, and
	 * stops at a breakpoint on its first instruction). -1 fails the run.
	 */
	int (*on_cpu_start)(struct kr_vm *vm, void *opaque, unsigned cpu);
};

#define KR_MAX_MODULES 16

struct kr_module {
	const struct kr_hooks *hooks;
	void *opaque;
};

/* Attach a module; its on_destroy runs in kr_vm_destroy, after those added later. */
int kr_vm_add_module(struct kr_vm *vm, const struct kr_hooks *hooks, void *opaque);
/* The state of the module registered with `hooks`, or NULL if there is none. */
void *kr_vm_module(const struct kr_vm *vm, const struct kr_hooks *hooks);
/* The module's state, `size` zeroed bytes added with `hooks` on first use (freed by its on_destroy). */
void *kr_vm_module_state(struct kr_vm *vm, const struct kr_hooks *hooks, size_t size);
/* Run every module's on_destroy (newest first) and forget the modules. */
void kr_vm_destroy_modules(struct kr_vm *vm);

/* ---- what the architecture's board gives the core at creation --------------- */

/*
 * kr_vm_create (the board's) calls kr_vm_new with these; each may be NULL.
 * They run at the points of the KVM API where the board has a say.
 */
struct kr_vm_board {
	/* After the core's checks of cfg, before /dev/kvm is opened. */
	int (*check_config)(const struct kr_vm_config *cfg);
	/* After KVM_CREATE_VM, before memory and the vCPU (x86: KVM_SET_TSS_ADDR). */
	int (*before_vcpu)(struct kr_vm *vm);
	/* Once the vCPU exists: create the machine's devices. */
	int (*add_devices)(struct kr_vm *vm);
	/* The host's physical address width, bound of a slot before the vCPU's is known. */
	unsigned (*host_phys_bits)(void);
};

/*
 * What the architecture learned of the guest's CPU when it set the vCPU up
 * (x86: from the CPUID it gave it, see x86/cpuid.c). The core uses the
 * physical address width; `features` are the architecture's own bits, which
 * only it reads (x86: KR_X86_CPU_* in x86/x86.h, for the page walker: KVM's
 * own walker treats as reserved what this CPU model does not offer).
 */
struct kr_guest_cpu {
	bool known;          /* the vCPU's CPU model is set */
	unsigned maxphyaddr; /* the guest's physical address width */
	uint32_t features;   /* the architecture's feature bits */
};

/* ---- a vCPU (core/vcpu.c, core/run.c, core/smp.c) ----------------------------- */

/*
 * One vCPU: its fd, the struct kvm_run it shares with KVM, and the thread
 * that runs it. vCPU 0 (the boot processor) runs on the thread that calls
 * kr_vm_run; each other one (an application processor, AP) on a thread of
 * its own, created by kr_vcpu_prepare and parked between runs (core/smp.c).
 */
struct kr_vcpu {
	struct kr_vm *vm;
	unsigned id; /* 0..cfg.cpus-1; the KVM vCPU id, and the x86 APIC ID */
	int fd;
	struct kvm_run *run; /* shared with KVM, vm->run_size bytes */
	/*
	 * The exit fast path (core/vcpu.c): with KVM_CAP_SYNC_REGS, KVM copies
	 * the registers and special registers into run->s.regs at every return
	 * of KVM_RUN, and kr_vcpu_get_regs/_sregs read them there instead of
	 * making an ioctl. sync_fresh: run->s.regs holds the vCPU's state now
	 * (set by the run loop after a KVM_RUN that exited, cleared by any set
	 * and when the vCPU's run loop ends, so that outside a run the ioctls
	 * answer). Only the vCPU's own thread touches it.
	 */
	bool sync_fresh;
	/*
	 * regs_mirror: run->s.regs.regs holds the vCPU's registers between runs
	 * too (set after a KVM_RUN that exited or that applied registers from
	 * the area; cleared by KVM_SET_REGS and by a KVM_RUN that may have
	 * changed them without storing them, such as one completing an exit).
	 * Then kr_vcpu_get_regs reads them there and kr_vcpu_set_regs_at_run
	 * hands its registers to the next KVM_RUN through the area.
	 */
	bool regs_mirror;
	/* The thread inside this vCPU's run loop (0: none), which a stop signals. */
	_Atomic pid_t tid;

	/*
	 * The last KVM_SET_GUEST_DEBUG on this vCPU (the gdb stub's, see
	 * kr_gdb_set_debug), kept because KVM ties a single step's TF to the
	 * RIP of that call: a vCPU whose registers are set later (an AP the
	 * guest starts in the middle of a run) gets it again (kr_gdb_debug_again,
	 * from the stub's on_cpu_start hook).
	 */
	bool has_guest_debug;
	struct kvm_guest_debug guest_debug;

	/* An AP's thread, and what it is told (under vm->smp.lock). */
	bool has_thread;
	pthread_t thread;
	bool started; /* flat guests: started by KVMRUN_HC_START_CPU, not halted since;
			 with the in-kernel irqchip: always (KVM holds it until SIPI) */
	bool go;      /* run now: set by kr_vm_run (or a start), cleared by the thread */
	bool active;  /* in its run loop, or told to enter it: kr_vm_run waits for it */
	bool halted;  /* its loop ended because the guest halted it (flat guests) */
};

/* The threads of the APs and what they share (core/smp.c). */
struct kr_smp {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a change of any vCPU's go or active, or quit */
	bool lock_ready;     /* lock and cond initialised (kr_vm_destroy destroys them) */
	bool quit;           /* kr_vm_destroy: the threads end */
	bool in_run;         /* between kr_vm_run's start and its wait for the APs */
	unsigned active;     /* APs with active set */
	unsigned parked;     /* AP threads that have started (and parked) */
	/* The first VMM failure of an AP's run loop, to hand to kr_vm_run's caller. */
	bool failed;
	int err_code, err_errno;
	char err_msg[512];
};

/* ---- the VM ------------------------------------------------------------------ */

struct kr_vm {
	struct kr_vm_config cfg;
	const struct kr_vm_board *board;
	int kvm_fd, vm_fd;
	int run_size; /* KVM_GET_VCPU_MMAP_SIZE: each vCPU's kvm_run mapping */
	unsigned ncpus; /* vCPUs created (cfg.cpus once the VM is whole) */
	struct kr_vcpu vcpus[KR_MAX_CPUS];
	struct kr_smp smp;

	struct kr_slot slots[KR_MAX_SLOTS];
	uint8_t *ram; /* host address of slot 0 */

	size_t ndevices;
	struct kr_device devices[KR_MAX_DEVICES];
	/* Port I/O no device claims (NULL: it stops the run as unhandled); the board sets it. */
	kr_io_handler unclaimed_pio;

	size_t nmodules;
	struct kr_module modules[KR_MAX_MODULES];

	struct kr_guest_cpu cpu;

	/*
	 * Unit tests and fuzzers have no vCPU: with this set, kr_translate walks
	 * the page tables in software (kr_walk) under these registers instead.
	 */
	const struct kvm_sregs *soft_sregs;
	uint64_t translations; /* pages translated so far (x86/translate.c), for tests */

	/* kr_vm_observe_exits: NULL costs the run loop nothing */
	kr_exit_observer observer;
	void *observer_opaque;
	bool observer_wants_rip;
	_Atomic uint64_t exit_seq;
	pthread_mutex_t observer_lock; /* several vCPUs: one observer call at a time */

	/*
	 * core/run.c: stopping every vCPU from any thread (see kr_vm_stop).
	 * stop_requested is KR_STOPPING_NONE, _WRITING (a kr_vm_stop is filling
	 * pending_stop) or _READY (pending_stop is complete); reads as true once
	 * anyone asked. running_tid is the thread inside kr_vm_run (0: none);
	 * each vCPU's tid the thread in its run loop, which kr_vm_stop signals;
	 * pid is the process, for tgkill.
	 */
	_Atomic int stop_requested;
	struct kr_stop pending_stop;
	_Atomic pid_t running_tid;
	pid_t pid;

	bool sync_regs; /* KVM_CAP_SYNC_REGS covers what the fast path reads (core/vcpu.c) */

	/*
	 * The vCPUs that runs leave where they are (bit i: vCPU i, a bit per
	 * possible vCPU): the gdb stub's vCont, which steps one vCPU and holds
	 * the others. 0 (the default): every vCPU runs. With vCPU 0 held, the
	 * thread of kr_vm_run waits for the APs that run (core/smp.c).
	 */
	uint64_t held;

	/* Lifecycle: what kr_vcpu_prepare and earlier runs left (see kr_vm_run). */
	bool prepare_started, prepared;
	bool cannot_resume;             /* the last stop was a crash: never run again */
	char cannot_resume_why[200];    /* ... which one */
};

enum { KR_STOPPING_NONE, KR_STOPPING_WRITING, KR_STOPPING_READY };

/*
 * The vCPU whose run loop this thread is in, NULL outside one (core/run.c
 * sets it). The kick signal's handler reads it, hence initial-exec: no lazy
 * TLS allocation there.
 */
extern __thread struct kr_vcpu *kr_this_vcpu __attribute__((tls_model("initial-exec")));

/*
 * Outside a run, the vCPU this thread chose for the calls that act on "the
 * vCPU" (registers, translation): the gdb stub's selected thread, see
 * kr_vcpu_focus. NULL: vCPU 0.
 */
extern __thread struct kr_vcpu *kr_focus_vcpu;

/*
 * The vCPU that calls on `vm` act on: inside a run, on a vCPU thread (an
 * exit handler, a device), that thread's own vCPU; anywhere else the one
 * this thread focused on (kr_vcpu_focus), by default vCPU 0.
 */
static inline struct kr_vcpu *kr_vcpu_current(struct kr_vm *vm)
{
	struct kr_vcpu *v = kr_this_vcpu;
	if (v && v->vm == vm)
		return v;
	v = kr_focus_vcpu;
	return v && v->vm == vm ? v : &vm->vcpus[0];
}

/*
 * Make vCPU `id` (< vm->ncpus) the one kr_vcpu_current gives this thread
 * outside a run; vm NULL (or an id out of range) goes back to vCPU 0. A run's
 * own vCPU threads are not affected: inside a run each acts on its own.
 */
void kr_vcpu_focus(struct kr_vm *vm, unsigned id);

/* The register calls on one given vCPU (kr_vcpu_get_regs: on kr_vcpu_current). */
int kr_vcpu_get_regs_of(struct kr_vcpu *v, struct kvm_regs *regs);
int kr_vcpu_set_regs_of(struct kr_vcpu *v, const struct kvm_regs *regs);
int kr_vcpu_get_sregs_of(struct kr_vcpu *v, struct kvm_sregs *sregs);

/* Whether the VM has more than one vCPU: devices take their locks then. */
static inline bool kr_vm_smp(const struct kr_vm *vm)
{
	return vm->cfg.cpus > 1;
}

/*
 * Refuse what cannot work with several vCPUs yet: -1 with KR_E_BAD_ARG and
 * "`what`: not with N vCPUs (...)" if cfg.cpus > 1, else 0.
 */
int kr_vm_need_one_cpu(struct kr_vm *vm, const char *what);

/*
 * Steps 1 to 5 in order (/dev/kvm, KVM_CREATE_VM, the board's set-up, RAM,
 * the vCPU), then the board's devices. The board's kr_vm_create calls it.
 */
int kr_vm_new(struct kr_vm **out, const struct kr_vm_config *cfg, const struct kr_vm_board *board);
/*
 * For tests and fuzzers, not part of the API: the same VM with no KVM behind
 * it (no /dev/kvm, no fds, no vCPU): RAM in slot 0 from mmap, and the board's
 * devices. Loaders, page tables, the software walker, devices and hypercall
 * checks work on it; running does not. Freed with kr_vm_destroy.
 */
int kr_vm_new_detached(struct kr_vm **out, const struct kr_vm_config *cfg,
		       const struct kr_vm_board *board);

#endif
