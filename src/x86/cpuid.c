/* SPDX-License-Identifier: MIT */
/*
 * cpuid.c - what the guest sees when it executes CPUID.
 *
 * A fresh vCPU has an empty CPUID table, and guest code compiled for x86-64
 * checks features (SSE, NX, ...). KVM_GET_SUPPORTED_CPUID lists what KVM can
 * virtualize on this host; kvmrun passes that on with VMX and SVM removed
 * (a guest that tries nested virtualization here would only be confused),
 * and the hypervisor bit set, so the guest knows it is a guest.
 */
#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "core/error.h"
#include "core/vm.h"
#include "x86/cpuid.h"
#include "x86/x86.h"

#define CPUID_1_ECX_VMX (1u << 5)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_80000001_ECX_SVM (1u << 2)
#define CPUID_80000001_EDX_NX (1u << 20)
#define CPUID_80000001_EDX_PDPE1GB (1u << 26)
#define CPUID_7_ECX_LA57 (1u << 16)

/* The vendor string of leaf 0 is in EBX, EDX, ECX: "Auth" "enti" "cAMD". */
static bool vendor_is_amd(const struct kvm_cpuid_entry2 *leaf0)
{
	return (leaf0->ebx == 0x68747541 && leaf0->edx == 0x69746e65 && leaf0->ecx == 0x444d4163) ||
	       (leaf0->ebx == 0x6f677948 && leaf0->edx == 0x6e65476e && leaf0->ecx == 0x656e6975);
}

/* Start small and grow on E2BIG: the kernel's maximum changed over time. */
static struct kvm_cpuid2 *get_supported_cpuid(int kvm_fd)
{
	for (uint32_t nent = 64; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c =
			calloc(1, sizeof(*c) + nent * sizeof(struct kvm_cpuid_entry2));
		if (!c) {
			kr_err_sys("CPUID: calloc for %u entries", nent);
			return NULL;
		}
		c->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		int e = errno;
		free(c);
		if (e != E2BIG) {
			errno = e;
			kr_err_sys("CPUID: ioctl KVM_GET_SUPPORTED_CPUID(nent=%u)", nent);
			return NULL;
		}
	}
	kr_err("CPUID: KVM_GET_SUPPORTED_CPUID wants more than 4096 entries");
	return NULL;
}

/*
 * What KVM supports does not change while the process lives: ask once
 * (KVM_GET_SUPPORTED_CPUID is one of the dearer steps of creating a VM),
 * give each VM a copy to edit. A failure is not kept.
 */
static pthread_mutex_t supported_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kvm_cpuid2 *supported;

static struct kvm_cpuid2 *supported_cpuid_copy(int kvm_fd)
{
	pthread_mutex_lock(&supported_lock);
	if (!supported)
		supported = get_supported_cpuid(kvm_fd);
	struct kvm_cpuid2 *c = NULL;
	if (supported) {
		size_t size = sizeof(*c) + supported->nent * sizeof(struct kvm_cpuid_entry2);
		c = malloc(size);
		if (c)
			memcpy(c, supported, size);
		else
			kr_err_sys("CPUID: malloc(%zu) for a copy of %u entries", size, supported->nent);
	}
	pthread_mutex_unlock(&supported_lock);
	return c;
}

/*
 * Each vCPU's CPUID names its own APIC ID, the one KVM gives its LAPIC (the
 * vCPU id): leaf 1 EBX[31:24], the x2APIC ID of leaves 0xB and 0x1F (EDX of
 * every subleaf) and AMD's extended APIC ID (0x8000001E EAX). Linux checks
 * them against the LAPIC's and against each other.
 */
static void set_apic_id(struct kvm_cpuid2 *c, unsigned id)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | (uint32_t)id << 24;
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = id;
		else if (e->function == 0x8000001e)
			e->eax = id;
	}
}

int kr_cpuid_setup(struct kr_vm *vm, bool *nx_supported)
{
	struct kvm_cpuid2 *c = supported_cpuid_copy(vm->kvm_fd);
	if (!c)
		return -1;
	*nx_supported = false;
	struct kr_guest_cpu cpu = {.known = true};
	uint32_t max_ext = 0, width = 0;
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 0)
			cpu.features |= vendor_is_amd(e) ? KR_X86_CPU_AMD : 0;
		if (e->function == 7 && e->index == 0)
			cpu.features |= e->ecx & CPUID_7_ECX_LA57 ? KR_X86_CPU_LA57 : 0;
		if (e->function == 0x80000000)
			max_ext = e->eax;
		if (e->function == 0x80000008 && e->index == 0)
			width = e->eax & 0xff;
		if (e->function == 1) {
			e->ecx &= ~CPUID_1_ECX_VMX;
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
		} else if (e->function == 0x80000001) {
			e->ecx &= ~CPUID_80000001_ECX_SVM;
			*nx_supported = (e->edx & CPUID_80000001_EDX_NX) != 0;
			cpu.features |= e->edx & CPUID_80000001_EDX_PDPE1GB ? KR_X86_CPU_GBPAGES : 0;
		}
	}
	/* The guest's physical address width, as KVM derives it (36 without the leaf). */
	cpu.maxphyaddr = max_ext >= 0x80000008 && width ? width : 36;
	int rc = 0;
	for (unsigned id = 0; id < vm->ncpus && rc == 0; id++) {
		set_apic_id(c, id);
		if (ioctl(vm->vcpus[id].fd, KVM_SET_CPUID2, c) < 0)
			rc = kr_err_sys("CPUID: ioctl KVM_SET_CPUID2(nent=%u) of vCPU %u", c->nent, id);
	}
	if (rc == 0)
		vm->cpu = cpu;
	free(c);
	return rc;
}

unsigned kr_cpuid_host_phys_bits(void)
{
	unsigned eax, ebx, ecx, edx;
	if (__get_cpuid(0x80000000, &eax, &ebx, &ecx, &edx) && eax >= 0x80000008 &&
	    __get_cpuid(0x80000008, &eax, &ebx, &ecx, &edx) && (eax & 0xff) >= 32 &&
	    (eax & 0xff) <= 52)
		return eax & 0xff;
	return 36;
}
