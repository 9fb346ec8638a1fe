/* SPDX-License-Identifier: MIT */
/*
 * dirtylog.c - KVM's dirty page log (KVM_MEM_LOG_DIRTY_PAGES, KVM_GET_DIRTY_LOG).
 *
 * KVM marks a page in the slot's log whenever the guest writes it (the CPU
 * or KVM's emulator on its behalf), never when the host does. Logging makes
 * KVM map the slot with 4 KiB pages and write-protect them again at each
 * read of the log, so it costs the guest a fault per page written after
 * each read: cheap for a guest reset often that writes little.
 */
#include <sys/ioctl.h>

#include "core/dirtylog.h"
#include "core/error.h"
#include "core/vm.h"

int kr_dirty_log_enable(struct kr_vm *vm, int slot)
{
	if (slot < 0 || slot >= KR_MAX_SLOTS || !vm->slots[slot].used)
		return kr_err("dirty log: no slot %d", slot);
	const struct kr_slot *s = &vm->slots[slot];
	struct kvm_userspace_memory_region region = {
		.slot = (uint32_t)slot,
		.flags = KVM_MEM_LOG_DIRTY_PAGES |
			 ((s->flags & KR_MEM_READONLY) ? KVM_MEM_READONLY : 0),
		.guest_phys_addr = s->gpa,
		.memory_size = s->size,
		.userspace_addr = (uint64_t)(uintptr_t)s->host,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return kr_err_sys("dirty log: ioctl KVM_SET_USER_MEMORY_REGION(slot=%d, "
				  "flags=0x%x: KVM_MEM_LOG_DIRTY_PAGES)",
				  slot, region.flags);
	return 0;
}

int kr_dirty_log_get(struct kr_vm *vm, int slot, uint64_t *bitmap)
{
	struct kvm_dirty_log log = {.slot = (uint32_t)slot, .dirty_bitmap = bitmap};
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return kr_err_sys("dirty log: ioctl KVM_GET_DIRTY_LOG(slot=%d)", slot);
	return 0;
}
