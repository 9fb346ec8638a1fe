/* SPDX-License-Identifier: MIT */
/*
 * core/dirtylog.h - KVM's dirty page log of a memory slot, for resetting a
 * VM in place: which pages the guest wrote since the log was last read.
 */
#ifndef KVMRUN_CORE_DIRTYLOG_H
#define KVMRUN_CORE_DIRTYLOG_H

#include <stdint.h>

struct kr_vm;

/* Log the slot's dirty pages from now on (the region set again with KVM_MEM_LOG_DIRTY_PAGES). */
int kr_dirty_log_enable(struct kr_vm *vm, int slot);
/*
 * KVM_GET_DIRTY_LOG: one bit per 4 KiB page of the slot into bitmap (at least
 * kr_dirty_log_words() words); reading clears the log.
 */
int kr_dirty_log_get(struct kr_vm *vm, int slot, uint64_t *bitmap);
/* The bitmap's length in 64-bit words for a slot of `size` bytes. */
static inline uint64_t kr_dirty_log_words(uint64_t size)
{
	return (size / 4096 + 63) / 64;
}

#endif
