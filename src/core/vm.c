/* SPDX-License-Identifier: MIT */
/*
 * vm.c - steps 2 and 5: the VM and its vCPU, and the modules attached to it.
 *
 * kr_vm_new() walks the KVM API in order, so reading it top to bottom is
 * reading how a VM comes to be: /dev/kvm, KVM_CREATE_VM, what the board sets
 * before any vCPU exists (x86: KVM_SET_TSS_ADDR), guest RAM, KVM_CREATE_VCPU
 * and the mmap of the shared struct kvm_run, then the board's devices.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/bus.h"
#include "core/error.h"
#include "core/kvm.h"
#include "core/memory.h"
#include "core/run.h"
#include "core/smp.h"
#include "core/vm.h"

static const char *const mode_names[] = {
	[KR_MODE_REAL] = "real",
	[KR_MODE_PROTECTED] = "protected",
	[KR_MODE_PAGED32] = "paged32",
	[KR_MODE_LONG] = "long",
};

const char *kr_mode_name(enum kr_mode mode)
{
	if ((unsigned)mode < sizeof(mode_names) / sizeof(mode_names[0]))
		return mode_names[mode];
	return "unknown";
}

int kr_mode_parse(const char *name, enum kr_mode *mode)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(name, mode_names[i]) == 0) {
			*mode = (enum kr_mode)i;
			return 0;
		}
	}
	return kr_err("unknown CPU mode '%s' (real, protected, paged32 or long)", name);
}

void kr_vm_config_init(struct kr_vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	cfg->mode = KR_MODE_LONG;
	cfg->mem_size = 32u << 20;
	cfg->console_fd = STDOUT_FILENO;
	cfg->max_output = KR_DEFAULT_MAX_OUTPUT;
	cfg->serial_in_fd = -1;
	cfg->cpus = 1;
}

static int check_config(const struct kr_vm_config *cfg)
{
	/* Only one layout exists yet; a later one will accept this size too
	 * and give the fields added since their defaults. */
	if (!cfg || cfg->size != sizeof(*cfg))
		return kr_err("create VM: cfg.size is %zu, expected %zu: set the config up with "
			      "kr_vm_config_init() (from a kvmrun.h of version %s)",
			      cfg ? cfg->size : 0, sizeof(*cfg), KR_VERSION);
	if ((unsigned)cfg->mode > KR_MODE_LONG)
		return kr_err("create VM: invalid CPU mode %d", (int)cfg->mode);
	if (cfg->mem_size < KR_MEM_MIN || cfg->mem_size > KR_MEM_MAX)
		return kr_err("create VM: memory size 0x%llx is outside [%u MiB, %llu MiB]",
			      (unsigned long long)cfg->mem_size, KR_MEM_MIN >> 20,
			      (unsigned long long)(KR_MEM_MAX >> 20));
	if (cfg->mem_size & 0xfff)
		return kr_err("create VM: memory size 0x%llx is not a multiple of 4 KiB",
			      (unsigned long long)cfg->mem_size);
	if (cfg->cpus == 0 || cfg->cpus > KR_MAX_CPUS)
		return kr_err("create VM: %u vCPUs: the count must be between 1 and %u "
			      "(KR_MAX_CPUS)", cfg->cpus, KR_MAX_CPUS);
	return 0;
}

/*
 * What KVM allows: KVM_CAP_MAX_VCPUS, or the recommended KVM_CAP_NR_VCPUS
 * where that is missing, or 4 where both are (the KVM API documentation's
 * rule). Checked against /dev/kvm, so only once it is open.
 */
static int check_cpus_against_kvm(const struct kr_vm *vm)
{
	int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	const char *cap = "KVM_CAP_MAX_VCPUS";
	if (max <= 0) {
		max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
		cap = "KVM_CAP_NR_VCPUS";
	}
	if (max <= 0) {
		max = 4;
		cap = "the KVM API's default without KVM_CAP_MAX_VCPUS and KVM_CAP_NR_VCPUS";
	}
	if (vm->cfg.cpus > (unsigned)max)
		return kr_err_code(KR_E_BAD_ARG, "create VM: %u vCPUs: this KVM allows at most %d "
				   "(%s)", vm->cfg.cpus, max, cap);
	return 0;
}

int kr_vm_need_one_cpu(struct kr_vm *vm, const char *what)
{
	if (vm->cfg.cpus <= 1)
		return 0;
	return kr_err_code(KR_E_BAD_ARG, "%s: not with %u vCPUs (cfg.cpus): it handles one vCPU "
			   "only, so far", what, vm->cfg.cpus);
}

/*
 * Step 1, once per process: /dev/kvm opened and checked (API version,
 * capabilities, the vCPU mmap size) by the first VM, kept open; every VM
 * gets its own duplicate of that fd (the sandbox closes a VM's, and
 * kr_vm_destroy does), so opening and checking is not paid per VM. A failed
 * first attempt is not kept: the next VM tries again.
 */
static pthread_mutex_t kvm_once_lock = PTHREAD_MUTEX_INITIALIZER;
static int kvm_once_fd = -1, kvm_once_run_size;

static int open_kvm(struct kr_vm *vm)
{
	pthread_mutex_lock(&kvm_once_lock);
	int rc = 0;
	if (kvm_once_fd < 0)
		rc = kr_kvm_open(&kvm_once_fd, &kvm_once_run_size);
	if (rc == 0) {
		vm->kvm_fd = fcntl(kvm_once_fd, F_DUPFD_CLOEXEC, 0);
		vm->run_size = kvm_once_run_size;
		if (vm->kvm_fd < 0)
			rc = kr_err_sys("create VM: fcntl(F_DUPFD_CLOEXEC) of the /dev/kvm fd %d",
					kvm_once_fd);
	}
	pthread_mutex_unlock(&kvm_once_lock);
	return rc;
}

/* Step 2: KVM_CREATE_VM. It can fail with EINTR while the kernel sets up the
 * VM's MMU notifier; retrying is what the kernel expects. */
static int create_vm_fd(struct kr_vm *vm)
{
	do
		vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	while (vm->vm_fd < 0 && errno == EINTR);
	if (vm->vm_fd < 0)
		return kr_err_sys("create VM: ioctl KVM_CREATE_VM(type=0)");
	return 0;
}

/*
 * Step 5: the vCPUs, ids 0..cfg.cpus-1, each with the struct kvm_run it
 * shares with us through mmap. (KVM makes id 0 the boot processor.)
 */
static int create_vcpus(struct kr_vm *vm)
{
	if (check_cpus_against_kvm(vm) < 0)
		return -1;
	for (unsigned id = 0; id < vm->cfg.cpus; id++) {
		struct kr_vcpu *v = &vm->vcpus[id];
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
		if (v->fd < 0)
			return kr_err_sys("create vCPU: ioctl KVM_CREATE_VCPU(id=%u)", id);
		vm->ncpus = id + 1;
		void *run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				 v->fd, 0);
		if (run == MAP_FAILED)
			return kr_err_sys("create vCPU: mmap of struct kvm_run (%d bytes, vcpu %u fd %d)",
					  vm->run_size, id, v->fd);
		v->run = run;
		kr_vcpu_sync_init(vm, v);
	}
	return 0;
}

/* The VM before any KVM call: its configuration checked, no fds yet. */
static struct kr_vm *vm_alloc(const struct kr_vm_config *cfg, const struct kr_vm_board *board)
{
	if (check_config(cfg) < 0 || (board->check_config && board->check_config(cfg) < 0)) {
		kr_err_refine(KR_E_BAD_ARG);
		return NULL;
	}
	struct kr_vm *vm = calloc(1, sizeof(*vm));
	if (!vm) {
		kr_err_sys("create VM: calloc(%zu)", sizeof(*vm));
		return NULL;
	}
	vm->cfg = *cfg;
	vm->board = board;
	vm->kvm_fd = vm->vm_fd = -1;
	for (unsigned i = 0; i < KR_MAX_CPUS; i++)
		vm->vcpus[i] = (struct kr_vcpu){.vm = vm, .id = i, .fd = -1};
	pthread_mutex_init(&vm->observer_lock, NULL);
	vm->pid = getpid(); /* for kr_vm_stop's tgkill, which must not call getpid itself */
	return vm;
}

int kr_vm_new(struct kr_vm **out, const struct kr_vm_config *cfg, const struct kr_vm_board *board)
{
	*out = NULL;
	struct kr_vm *vm = vm_alloc(cfg, board);
	if (!vm)
		return -1;

	if (open_kvm(vm) < 0 ||                                        /* step 1 */
	    create_vm_fd(vm) < 0 ||                                    /* step 2 */
	    (board->before_vcpu && board->before_vcpu(vm) < 0) ||      /* step 3 */
	    kr_mem_init_ram(vm, cfg->mem_size) < 0 ||                  /* step 4 */
	    create_vcpus(vm) < 0 ||                                    /* step 5 */
	    (board->add_devices && board->add_devices(vm) < 0) || kr_kick_signal_init() < 0) {
		kr_vm_destroy(vm);
		return -1;
	}
	*out = vm;
	return 0;
}

int kr_vm_new_detached(struct kr_vm **out, const struct kr_vm_config *cfg,
		       const struct kr_vm_board *board)
{
	*out = NULL;
	struct kr_vm *vm = vm_alloc(cfg, board);
	if (!vm)
		return -1;
	void *ram = mmap(NULL, cfg->mem_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED) {
		kr_err_sys("create detached VM: mmap of %llu bytes of RAM",
			   (unsigned long long)cfg->mem_size);
		free(vm);
		return -1;
	}
	vm->slots[0] = (struct kr_slot){.used = true, .gpa = 0, .size = cfg->mem_size, .host = ram};
	vm->ram = ram;
	if (board->add_devices && board->add_devices(vm) < 0) {
		kr_vm_destroy(vm);
		return -1;
	}
	*out = vm;
	return 0;
}

int kr_vm_add_module(struct kr_vm *vm, const struct kr_hooks *hooks, void *opaque)
{
	if (vm->nmodules == KR_MAX_MODULES)
		return kr_err("VM: all %d module entries are in use (adding %s)", KR_MAX_MODULES,
			      hooks->name);
	vm->modules[vm->nmodules++] = (struct kr_module){hooks, opaque};
	return 0;
}

void *kr_vm_module(const struct kr_vm *vm, const struct kr_hooks *hooks)
{
	for (size_t i = 0; i < vm->nmodules; i++)
		if (vm->modules[i].hooks == hooks)
			return vm->modules[i].opaque;
	return NULL;
}

void *kr_vm_module_state(struct kr_vm *vm, const struct kr_hooks *hooks, size_t size)
{
	void *state = kr_vm_module(vm, hooks);
	if (state)
		return state;
	state = calloc(1, size);
	if (!state) {
		kr_err_sys("%s: calloc(%zu)", hooks->name, size);
		return NULL;
	}
	if (kr_vm_add_module(vm, hooks, state) < 0) {
		free(state);
		return NULL;
	}
	return state;
}

void kr_vm_destroy_modules(struct kr_vm *vm)
{
	while (vm->nmodules > 0) {
		const struct kr_module *m = &vm->modules[--vm->nmodules];
		if (m->hooks->on_destroy)
			m->hooks->on_destroy(vm, m->opaque);
	}
}

void kr_vm_destroy(struct kr_vm *vm)
{
	if (!vm)
		return;
	int saved = errno;
	kr_smp_end_threads(vm); /* before the modules: no AP handles an exit any more */
	kr_vm_destroy_modules(vm); /* the console writes out what it holds */
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct kr_vcpu *v = &vm->vcpus[i];
		if (v->run)
			munmap(v->run, (size_t)vm->run_size);
		if (v->fd >= 0)
			close(v->fd);
	}
	kr_bus_release(vm);
	pthread_mutex_destroy(&vm->observer_lock);
	kr_mem_release(vm);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm);
	errno = saved;
}
