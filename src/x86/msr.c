/* SPDX-License-Identifier: MIT */
/*
 * msr.c - what firmware leaves in the MSRs before it starts a kernel.
 *
 * A fresh vCPU has its MTRRs disabled: all memory is uncacheable by the
 * MTRR rules, and Linux (which does not program MTRRs itself) then maps
 * RAM uncached where PAT consults them, a slow machine. Firmware enables
 * them with write-back as the default type; kvmrun does the same, and sets
 * IA32_MISC_ENABLE's fast-strings bit as BIOSes do. MTRRdefType is not in
 * KVM_GET_MSR_INDEX_LIST (KVM handles it all the same), so the list is not
 * consulted; KVM_SET_MSRS returns how many MSRs it set and stops at the
 * first it rejects: that count is compared, and the one refused named.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/error.h"
#include "core/vm.h"
#include "x86/msr.h"

static const struct {
	uint32_t index;
	uint64_t value;
	const char *name;
} boot_msrs[] = {
	{KR_MSR_IA32_MISC_ENABLE, KR_MISC_ENABLE_FAST_STRING, "IA32_MISC_ENABLE"},
	{KR_MSR_MTRR_DEF_TYPE, KR_MTRR_DEF_TYPE_E | KR_MTRR_TYPE_WB, "IA32_MTRR_DEF_TYPE"},
};

#define NBOOT (sizeof(boot_msrs) / sizeof(boot_msrs[0]))

int kr_msr_setup_boot(struct kr_vm *vm)
{
	/* struct kvm_msrs ends in a flexible array: room for it, aligned as it. */
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) + NBOOT * sizeof(struct kvm_msr_entry)];
	} m;
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = NBOOT;
	for (size_t i = 0; i < NBOOT; i++)
		m.hdr.entries[i] = (struct kvm_msr_entry){.index = boot_msrs[i].index,
							  .data = boot_msrs[i].value};
	/* Firmware sets them on every CPU (the APs too, before the kernel wakes them). */
	for (unsigned id = 0; id < vm->ncpus; id++) {
		int n = ioctl(vm->vcpus[id].fd, KVM_SET_MSRS, &m.hdr);
		if (n < 0)
			return kr_err_sys("vCPU %u: ioctl KVM_SET_MSRS(%zu boot MSRs)", id, NBOOT);
		if ((size_t)n != NBOOT)
			return kr_err("vCPU %u: KVM_SET_MSRS set %d of %zu boot MSRs: KVM refused "
				      "MSR 0x%x (%s) = 0x%llx",
				      id, n, NBOOT, boot_msrs[n].index, boot_msrs[n].name,
				      (unsigned long long)boot_msrs[n].value);
	}
	return 0;
}
