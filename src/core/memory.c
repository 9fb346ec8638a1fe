/* SPDX-License-Identifier: MIT */
/*
 * memory.c - step 4: guest physical memory.
 *
 * Guest RAM is ordinary anonymous host memory; KVM_SET_USER_MEMORY_REGION
 * tells KVM that guest physical [gpa, gpa + size) is backed by it. Each
 * region is a numbered slot. A read-only slot makes guest writes exit to us
 * as KVM_EXIT_MMIO, which is how ROMs and write traps are built.
 */
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "core/bounds.h"
#include "core/error.h"
#include "core/memory.h"
#include "core/vm.h"

static int set_region(struct kr_vm *vm, int slot, uint32_t flags, uint64_t gpa, uint64_t size,
		      void *host)
{
	struct kvm_userspace_memory_region region = {
		.slot = (uint32_t)slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return kr_err_sys("memory: ioctl KVM_SET_USER_MEMORY_REGION(slot=%d, flags=0x%x, "
				  "gpa=0x%llx, size=0x%llx)",
				  slot, flags, (unsigned long long)gpa, (unsigned long long)size);
	return 0;
}

static void *map_host(uint64_t size)
{
	/* NORESERVE: guest RAM is touched sparsely; don't charge it all up front. */
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int add_slot(struct kr_vm *vm, int slot, uint64_t gpa, uint64_t size, unsigned flags)
{
	uint32_t kvm_flags = 0;
	if (flags & KR_MEM_READONLY) {
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0)
			return kr_err("memory: read-only slots need KVM_CAP_READONLY_MEM, "
				      "which this KVM lacks");
		kvm_flags |= KVM_MEM_READONLY;
	}
	void *host = map_host(size);
	if (!host)
		return kr_err_sys("memory: mmap of %llu bytes for slot %d",
				  (unsigned long long)size, slot);
	if (set_region(vm, slot, kvm_flags, gpa, size, host) < 0) {
		munmap(host, size);
		return -1;
	}
	vm->slots[slot] = (struct kr_slot){
		.used = true, .flags = flags, .gpa = gpa, .size = size, .host = host};
	return 0;
}

int kr_mem_init_ram(struct kr_vm *vm, uint64_t size)
{
	if (add_slot(vm, 0, 0, size, 0) < 0)
		return -1;
	vm->ram = vm->slots[0].host;
	return 0;
}

/*
 * The guest's physical address width: what the vCPU's CPU model says once
 * kr_vcpu_prepare has set it, else the host's (the board asks the CPU),
 * which bounds the guest's; 36 bits where neither is known (x86's
 * architectural default).
 */
static unsigned phys_addr_bits(const struct kr_vm *vm)
{
	if (vm->cpu.known)
		return vm->cpu.maxphyaddr;
	if (vm->board && vm->board->host_phys_bits)
		return vm->board->host_phys_bits();
	return 36;
}

/*
 * With several vCPUs the slot table is read on every vCPU's thread without a
 * lock (kr_gpa_ptr, on the exit path); a slot removed under one of them would
 * leave it copying from unmapped memory. So slots change only while no vCPU
 * runs: between runs, or from a device with one vCPU (whose own thread is
 * the only one).
 */
static int slots_may_change(struct kr_vm *vm, const char *what)
{
	if (kr_vm_smp(vm) && atomic_load(&vm->running_tid) != 0)
		return kr_err("memory: %s while the VM's %u vCPUs run: the others may be using the "
			      "slots; change them between runs",
			      what, vm->cfg.cpus);
	return 0;
}

int kr_mem_add(struct kr_vm *vm, uint64_t gpa, uint64_t size, unsigned flags, int *slot)
{
	if (slots_may_change(vm, "cannot add a slot") < 0)
		return -1;
	if (size == 0 || (size & 0xfff) || (gpa & 0xfff))
		return kr_err("memory: slot at gpa 0x%llx size 0x%llx must be non-empty and "
			      "4 KiB aligned",
			      (unsigned long long)gpa, (unsigned long long)size);
	/* mmap with NORESERVE would take 1 TiB without a word; the guest RAM limit is ours. */
	if (size > KR_MEM_MAX)
		return kr_err("memory: slot at gpa 0x%llx size 0x%llx is larger than the "
			      "maximum of %llu MiB (KR_MEM_MAX)",
			      (unsigned long long)gpa, (unsigned long long)size,
			      (unsigned long long)(KR_MEM_MAX >> 20));
	if (gpa + size < gpa)
		return kr_err("memory: slot at gpa 0x%llx size 0x%llx wraps around",
			      (unsigned long long)gpa, (unsigned long long)size);
	/* Memory the guest cannot address is a mistake, not a feature. */
	unsigned bits = phys_addr_bits(vm);
	if (gpa + size > (1ull << bits))
		return kr_err("memory: slot [0x%llx, 0x%llx) ends above the guest's %u-bit "
			      "physical address space (0x%llx)",
			      (unsigned long long)gpa, (unsigned long long)(gpa + size), bits,
			      1ull << bits);
	if (flags & ~KR_MEM_READONLY)
		return kr_err("memory: unknown slot flags 0x%x", flags);
	int free_slot = -1;
	for (int i = 0; i < KR_MAX_SLOTS; i++) {
		const struct kr_slot *s = &vm->slots[i];
		if (!s->used) {
			if (free_slot < 0)
				free_slot = i;
		} else if (overlaps(gpa, size, s->gpa, s->size)) {
			return kr_err("memory: [0x%llx, 0x%llx) overlaps slot %d [0x%llx, 0x%llx)",
				      (unsigned long long)gpa, (unsigned long long)(gpa + size), i,
				      (unsigned long long)s->gpa,
				      (unsigned long long)(s->gpa + s->size));
		}
	}
	if (free_slot < 0)
		return kr_err("memory: all %d slots are in use", KR_MAX_SLOTS);
	if (add_slot(vm, free_slot, gpa, size, flags) < 0)
		return -1;
	if (slot)
		*slot = free_slot;
	return 0;
}

int kr_mem_remove(struct kr_vm *vm, int slot)
{
	if (slot <= 0 || slot >= KR_MAX_SLOTS || !vm->slots[slot].used)
		return kr_err("memory: cannot remove slot %d (not a slot added by kr_mem_add)",
			      slot);
	if (slots_may_change(vm, "cannot remove a slot") < 0)
		return -1;
	struct kr_slot *s = &vm->slots[slot];
	/* A region of size 0 deletes the slot. */
	if (set_region(vm, slot, 0, s->gpa, 0, NULL) < 0)
		return -1;
	munmap(s->host, s->size);
	memset(s, 0, sizeof(*s));
	return 0;
}

void kr_mem_release(struct kr_vm *vm)
{
	for (int i = 0; i < KR_MAX_SLOTS; i++) {
		if (vm->slots[i].used)
			munmap(vm->slots[i].host, vm->slots[i].size);
		vm->slots[i].used = false;
	}
	vm->ram = NULL;
}

void *kr_gpa_ptr(struct kr_vm *vm, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < KR_MAX_SLOTS; i++) {
		const struct kr_slot *s = &vm->slots[i];
		if (s->used && gpa >= s->gpa && kr_range_ok(gpa - s->gpa, len, s->size))
			return (uint8_t *)s->host + (gpa - s->gpa);
	}
	kr_err_code(KR_E_GUEST_MEMORY,
		    "guest physical range [0x%llx, +0x%llx) is not inside guest memory",
		    (unsigned long long)gpa, (unsigned long long)len);
	return NULL;
}
