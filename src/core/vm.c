/* SPDX-License-Identifier: MIT */
/*
 * vm.c - steps 2, 3 and 5: the VM, its system addresses and its vCPU.
 *
 * kr_vm_create() walks the KVM API in order, so reading it top to bottom is
 * reading how a VM comes to be: /dev/kvm, KVM_CREATE_VM, KVM_SET_TSS_ADDR and
 * KVM_SET_IDENTITY_MAP_ADDR (both before any vCPU exists), guest RAM,
 * KVM_CREATE_VCPU and the mmap of the shared struct kvm_run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

/*
 * Intel VMX needs three pages for a real-mode TSS and one for an identity
 * page table (used while the guest runs unpaged). They must be below 4 GiB
 * and clear of RAM and MMIO: RAM ends at KR_MEM_MAX (3 GiB), and the BIOS
 * area starts at 0xfffc0000, so these four pages sit just below it.
 */
#define KR_TSS_ADDR 0xfffbd000ull
#define KR_IDENTITY_MAP_ADDR 0xfffbc000ull

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
	cfg->mode = KR_MODE_LONG;
	cfg->mem_size = 32u << 20;
	cfg->console_fd = STDOUT_FILENO;
	cfg->max_output = KR_DEFAULT_MAX_OUTPUT;
}

static int check_config(const struct kr_vm_config *cfg)
{
	if ((unsigned)cfg->mode > KR_MODE_LONG)
		return kr_err("create VM: invalid CPU mode %d", (int)cfg->mode);
	if (cfg->mem_size < KR_MEM_MIN || cfg->mem_size > KR_MEM_MAX)
		return kr_err("create VM: memory size 0x%llx is outside [%u MiB, %llu MiB]",
			      (unsigned long long)cfg->mem_size, KR_MEM_MIN >> 20,
			      (unsigned long long)(KR_MEM_MAX >> 20));
	if (cfg->mem_size & 0xfff)
		return kr_err("create VM: memory size 0x%llx is not a multiple of 4 KiB",
			      (unsigned long long)cfg->mem_size);
	/* Caught here, not at the guest's first line of output, deep in a run. */
	int fl = cfg->console_fd < 0 ? -1 : fcntl(cfg->console_fd, F_GETFL);
	if (fl < 0)
		return cfg->console_fd < 0 ?
			kr_err("create VM: cfg.console_fd is %d: not a file descriptor",
			       cfg->console_fd) :
			kr_err_sys("create VM: cfg.console_fd %d: fcntl(F_GETFL)",
				   cfg->console_fd);
	if ((fl & O_ACCMODE) == O_RDONLY)
		return kr_err("create VM: cfg.console_fd %d is open read-only, but the console "
			      "writes to it", cfg->console_fd);
	return 0;
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

/* Step 3: addresses Intel's VMX needs for real mode; harmless on AMD. */
static int set_system_addresses(struct kr_vm *vm)
{
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KR_TSS_ADDR) < 0)
		return kr_err_sys("create VM: ioctl KVM_SET_TSS_ADDR(0x%llx)", KR_TSS_ADDR);
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
		uint64_t addr = KR_IDENTITY_MAP_ADDR;
		if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0)
			return kr_err_sys("create VM: ioctl KVM_SET_IDENTITY_MAP_ADDR(0x%llx)",
					  KR_IDENTITY_MAP_ADDR);
	}
	return 0;
}

/* Step 5: the vCPU and the struct kvm_run it shares with us through mmap. */
static int create_vcpu(struct kr_vm *vm)
{
	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		return kr_err_sys("create vCPU: ioctl KVM_CREATE_VCPU(id=0)");
	void *run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vm->vcpu_fd, 0);
	if (run == MAP_FAILED)
		return kr_err_sys("create vCPU: mmap of struct kvm_run (%d bytes, vcpu fd %d)",
				  vm->run_size, vm->vcpu_fd);
	vm->run = run;
	return 0;
}

int kr_vm_create(struct kr_vm **out, const struct kr_vm_config *cfg)
{
	*out = NULL;
	if (check_config(cfg) < 0)
		return -1;
	struct kr_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return kr_err_sys("create VM: calloc(%zu)", sizeof(*vm));
	vm->cfg = *cfg;
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = -1;
	vm->console.fd = cfg->console_fd;
	vm->pid = getpid(); /* for kr_vm_stop's tgkill, which must not call getpid itself */

	if (kr_kvm_open(&vm->kvm_fd, &vm->run_size) < 0 || /* step 1 */
	    create_vm_fd(vm) < 0 ||                        /* step 2 */
	    set_system_addresses(vm) < 0 ||                /* step 3 */
	    kr_mem_init_ram(vm, cfg->mem_size) < 0 ||      /* step 4 */
	    create_vcpu(vm) < 0 ||                         /* step 5 */
	    kr_console_register(vm) < 0 || kr_hypercall_register(vm) < 0 ||
	    kr_exceptions_register(vm) < 0 || kr_kick_signal_init() < 0) {
		kr_vm_destroy(vm);
		return -1;
	}
	*out = vm;
	return 0;
}

/*
 * For tests and fuzzers, not part of the API: a VM with no KVM behind it (no
 * /dev/kvm, no fds, no vCPU), only RAM in slot 0, mapped here. Loaders, page
 * tables, the software walker and the hypercall checks work on it; running
 * does not. Freed with kr_vm_destroy.
 */
int kr_vm_create_detached(struct kr_vm **out, const struct kr_vm_config *cfg)
{
	*out = NULL;
	if (check_config(cfg) < 0)
		return -1;
	struct kr_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return kr_err_sys("create detached VM: calloc(%zu)", sizeof(*vm));
	vm->cfg = *cfg;
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = -1;
	vm->console.fd = cfg->console_fd;
	vm->pid = getpid();
	void *ram = mmap(NULL, cfg->mem_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED) {
		free(vm);
		return kr_err_sys("create detached VM: mmap of %llu bytes of RAM",
				  (unsigned long long)cfg->mem_size);
	}
	vm->slots[0] = (struct kr_slot){.used = true, .gpa = 0, .size = cfg->mem_size, .host = ram};
	vm->ram = ram;
	*out = vm;
	return 0;
}

void kr_vm_destroy(struct kr_vm *vm)
{
	if (!vm)
		return;
	int saved = errno;
	if (vm->console.used)
		kr_console_flush(vm);
	if (vm->run)
		munmap(vm->run, (size_t)vm->run_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	kr_mem_release(vm);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm);
	errno = saved;
}
