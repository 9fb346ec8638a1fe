/* SPDX-License-Identifier: MIT */
/*
 * bare.h - the baseline the benchmark measures kvmrun against: raw /dev/kvm
 * ioctls, the minimum sequence that runs the same guest bytes in long mode,
 * and nothing else (no checks beyond the ioctls' results, no devices beyond
 * what the guest uses). Shared by bench.c (in process) and bare.c (the
 * executable that stands beside `kvmrun run`).
 *
 * The floor, on purpose: what is the same for every VM of a process is done
 * once (/dev/kvm stays open, the vCPU mmap size, KVM_GET_SUPPORTED_CPUID);
 * the exit path reads registers from kvm_run's sync area when KVM offers it.
 * The guest's memory is identity-mapped with 2 MiB pages over the first GiB,
 * so a guest pointer is a guest physical address.
 */
#ifndef KVMRUN_BENCH_BARE_H
#define KVMRUN_BENCH_BARE_H

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvmrun_abi.h"

#define BARE_PML4 0x10000u
#define BARE_PDPT 0x11000u
#define BARE_PD 0x12000u
#define BARE_TSS_ADDR 0xfffbd000ul
#define BARE_BUF_SIZE 4096u

struct bare_proc {
	int kvm_fd, run_size;
	struct kvm_cpuid2 *cpuid;
	bool sync_regs;
};

struct bare_vm {
	int vm_fd, vcpu_fd;
	struct kvm_run *run;
	uint8_t *mem;
	size_t mem_size;
	/* what the devices the guest talks to keep */
	int out_fd;
	size_t used;
	uint8_t buf[BARE_BUF_SIZE];
	uint64_t pio_sum, mmio_sum;
};

static inline int bare_fail(const char *what)
{
	fprintf(stderr, "bare: %s: %s\n", what, strerror(errno));
	return -1;
}

/* Once per process: /dev/kvm, the vCPU mmap size, the supported CPUID. */
static inline int bare_proc_init(struct bare_proc *p)
{
	memset(p, 0, sizeof(*p));
	p->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (p->kvm_fd < 0)
		return bare_fail("open /dev/kvm");
	p->run_size = ioctl(p->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (p->run_size < 0)
		return bare_fail("KVM_GET_VCPU_MMAP_SIZE");
	int sync = ioctl(p->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	p->sync_regs = sync > 0 && (sync & KVM_SYNC_X86_REGS);
	uint32_t nent = 256;
	p->cpuid = calloc(1, sizeof(*p->cpuid) + nent * sizeof(struct kvm_cpuid_entry2));
	if (!p->cpuid)
		return bare_fail("calloc");
	p->cpuid->nent = nent;
	if (ioctl(p->kvm_fd, KVM_GET_SUPPORTED_CPUID, p->cpuid) < 0)
		return bare_fail("KVM_GET_SUPPORTED_CPUID");
	return 0;
}

static inline void bare_proc_fini(struct bare_proc *p)
{
	free(p->cpuid);
	if (p->kvm_fd >= 0)
		close(p->kvm_fd);
}

static inline void bare_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	*s = (struct kvm_segment){.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
				  .present = 1, .s = 1, .g = 1, .l = code64, .db = !code64};
}

/* Create a long-mode VM of mem_size bytes with `code` at 1 MiB, ready to run. */
static inline int bare_create(const struct bare_proc *p, struct bare_vm *v, const void *code,
			      size_t len, size_t mem_size, int out_fd)
{
	memset(v, 0, offsetof(struct bare_vm, buf));
	v->out_fd = out_fd;
	v->vm_fd = v->vcpu_fd = -1;
	v->mem_size = mem_size;
	do
		v->vm_fd = ioctl(p->kvm_fd, KVM_CREATE_VM, 0);
	while (v->vm_fd < 0 && errno == EINTR);
	if (v->vm_fd < 0)
		return bare_fail("KVM_CREATE_VM");
	if (ioctl(v->vm_fd, KVM_SET_TSS_ADDR, BARE_TSS_ADDR) < 0)
		return bare_fail("KVM_SET_TSS_ADDR");
	v->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (v->mem == MAP_FAILED) {
		v->mem = NULL;
		return bare_fail("mmap RAM");
	}
	struct kvm_userspace_memory_region r = {
		.slot = 0, .memory_size = mem_size, .userspace_addr = (uintptr_t)v->mem};
	if (ioctl(v->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return bare_fail("KVM_SET_USER_MEMORY_REGION");
	v->vcpu_fd = ioctl(v->vm_fd, KVM_CREATE_VCPU, 0);
	if (v->vcpu_fd < 0)
		return bare_fail("KVM_CREATE_VCPU");
	v->run = mmap(NULL, (size_t)p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu_fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return bare_fail("mmap kvm_run");
	}
	if (p->sync_regs)
		v->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	if (ioctl(v->vcpu_fd, KVM_SET_CPUID2, p->cpuid) < 0)
		return bare_fail("KVM_SET_CPUID2");

	/* Identity map of the first GiB with 2 MiB pages. */
	uint64_t *pml4 = (uint64_t *)(v->mem + BARE_PML4), *pdpt = (uint64_t *)(v->mem + BARE_PDPT);
	uint64_t *pd = (uint64_t *)(v->mem + BARE_PD);
	pml4[0] = BARE_PDPT | 3;
	pdpt[0] = BARE_PD | 3;
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | 0x83;
	memcpy(v->mem + KVMRUN_DEFAULT_LOAD_ADDR, code, len);

	struct kvm_sregs s;
	if (ioctl(v->vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return bare_fail("KVM_GET_SREGS");
	bare_seg(&s.cs, 8, 11, true);
	bare_seg(&s.ds, 16, 3, false);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.cr3 = BARE_PML4;
	s.cr4 = 0x20;              /* PAE */
	s.cr0 = 0x80000011;        /* PG, ET, PE */
	s.efer = 0x500;            /* LME, LMA */
	if (ioctl(v->vcpu_fd, KVM_SET_SREGS, &s) < 0)
		return bare_fail("KVM_SET_SREGS");
	struct kvm_regs regs = {.rip = KVMRUN_DEFAULT_LOAD_ADDR, .rflags = 2, .rsp = mem_size};
	if (ioctl(v->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return bare_fail("KVM_SET_REGS");
	return 0;
}

/*
 * Map the first 2 MiB (the guest's code at 1 MiB among it) with 4 KiB pages
 * instead of one 2 MiB page, as kvmrun maps an image whose segments differ in
 * their permissions (W^X): for the bench's pio-4k row, which tells what the
 * page size alone costs at each exit.
 */
#define BARE_PT 0x13000u
static inline void bare_code_4k(struct bare_vm *v)
{
	uint64_t *pd = (uint64_t *)(v->mem + BARE_PD), *pt = (uint64_t *)(v->mem + BARE_PT);
	for (uint64_t i = 0; i < 512; i++)
		pt[i] = (i << 12) | 3;
	pd[0] = BARE_PT | 3;
}

static inline void bare_destroy(const struct bare_proc *p, struct bare_vm *v)
{
	if (v->run)
		munmap(v->run, (size_t)p->run_size);
	if (v->vcpu_fd >= 0)
		close(v->vcpu_fd);
	if (v->mem)
		munmap(v->mem, v->mem_size);
	if (v->vm_fd >= 0)
		close(v->vm_fd);
}

static inline int bare_flush(struct bare_vm *v)
{
	if (v->used && write(v->out_fd, v->buf, v->used) != (ssize_t)v->used)
		return bare_fail("write");
	v->used = 0;
	return 0;
}

/* KVMRUN_HC_WRITE: RDI = buffer, RSI = length, identity-mapped. */
static inline int bare_hc_write(const struct bare_proc *p, struct bare_vm *v)
{
	struct kvm_regs local, *r = &v->run->s.regs.regs;
	if (!p->sync_regs) {
		if (ioctl(v->vcpu_fd, KVM_GET_REGS, &local) < 0)
			return bare_fail("KVM_GET_REGS");
		r = &local;
	}
	uint64_t gpa = r->rdi, len = r->rsi;
	if (gpa > v->mem_size || len > v->mem_size - gpa)
		return -1;
	while (len > 0) {
		size_t n = BARE_BUF_SIZE - v->used < len ? BARE_BUF_SIZE - v->used : len;
		memcpy(v->buf + v->used, v->mem + gpa, n);
		v->used += n, gpa += n, len -= n;
		if (v->used == BARE_BUF_SIZE && bare_flush(v) < 0)
			return -1;
	}
	return 0;
}

/*
 * Run until the guest's EXIT hypercall (returns its status) or HLT (returns
 * 1000); devices: the hypercall port, a byte port at 0x600, MMIO anywhere.
 */
#define BARE_HLT 1000
static inline int bare_run(const struct bare_proc *p, struct bare_vm *v)
{
	struct kvm_run *run = v->run;
	for (;;) {
		if (ioctl(v->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return bare_fail("KVM_RUN");
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint8_t *data = (uint8_t *)run + run->io.data_offset;
			if (run->io.port == KVMRUN_HYPERCALL_PORT && run->io.size == 4) {
				uint32_t nr;
				memcpy(&nr, data, 4);
				if (nr == KVMRUN_HC_EXIT) {
					if (bare_flush(v) < 0)
						return -1;
					struct kvm_regs local, *r = &run->s.regs.regs;
					if (!p->sync_regs) {
						if (ioctl(v->vcpu_fd, KVM_GET_REGS, &local) < 0)
							return bare_fail("KVM_GET_REGS");
						r = &local;
					}
					return (int)(r->rdi & 0xff);
				}
				if (nr == KVMRUN_HC_WRITE && bare_hc_write(p, v) < 0)
					return -1;
			} else {
				v->pio_sum += data[0];
			}
			break;
		}
		case KVM_EXIT_MMIO:
			v->mmio_sum += run->mmio.data[0];
			break;
		case KVM_EXIT_HLT:
			return BARE_HLT;
		default:
			fprintf(stderr, "bare: unexpected exit %u\n", run->exit_reason);
			return -1;
		}
	}
}


/* ---- reset and call at the floor (bench.c's reset and call rows) ------------------ */

/*
 * What a reset goes back to: all of RAM, the registers and special
 * registers. Taking it turns on the dirty log of RAM and empties it.
 */
struct bare_snap {
	uint8_t *mem;
	size_t size;
	uint64_t *bitmap;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
};

static inline int bare_dirty_log(struct bare_vm *v, uint64_t *bitmap)
{
	struct kvm_dirty_log log = {.slot = 0, .dirty_bitmap = bitmap};
	if (ioctl(v->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return bare_fail("KVM_GET_DIRTY_LOG");
	return 0;
}

static inline int bare_snap_take(struct bare_vm *v, struct bare_snap *s)
{
	memset(s, 0, sizeof(*s));
	s->size = v->mem_size;
	/* mmap, not malloc: freed, it leaves the process (the process-level rows
	 * fork children whose peak RSS counts the parent's pages) */
	s->mem = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->mem == MAP_FAILED) {
		s->mem = NULL;
		return bare_fail("mmap");
	}
	s->bitmap = calloc(v->mem_size / 4096 / 64 + 1, sizeof(uint64_t));
	if (!s->bitmap)
		return bare_fail("calloc");
	struct kvm_userspace_memory_region r = {.slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
						.memory_size = v->mem_size,
						.userspace_addr = (uintptr_t)v->mem};
	if (ioctl(v->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return bare_fail("KVM_SET_USER_MEMORY_REGION(KVM_MEM_LOG_DIRTY_PAGES)");
	if (ioctl(v->vcpu_fd, KVM_GET_REGS, &s->regs) < 0)
		return bare_fail("KVM_GET_REGS");
	if (ioctl(v->vcpu_fd, KVM_GET_SREGS, &s->sregs) < 0)
		return bare_fail("KVM_GET_SREGS");
	memcpy(s->mem, v->mem, v->mem_size);
	return bare_dirty_log(v, s->bitmap);
}

static inline void bare_snap_free(struct bare_snap *s)
{
	if (s->mem)
		munmap(s->mem, s->size);
	free(s->bitmap);
}

/* KVM_GET_DIRTY_LOG, the pages it names copied back, KVM_SET_SREGS, KVM_SET_REGS. */
static inline int bare_reset(struct bare_vm *v, const struct bare_snap *s)
{
	if (bare_dirty_log(v, s->bitmap) < 0)
		return -1;
	for (size_t w = 0; w < v->mem_size / 4096 / 64; w++)
		for (uint64_t bits = s->bitmap[w]; bits; bits &= bits - 1) {
			size_t off = (w * 64 + (size_t)__builtin_ctzll(bits)) * 4096;
			memcpy(v->mem + off, s->mem + off, 4096);
		}
	if (ioctl(v->vcpu_fd, KVM_SET_SREGS, &s->sregs) < 0)
		return bare_fail("KVM_SET_SREGS");
	if (ioctl(v->vcpu_fd, KVM_SET_REGS, &s->regs) < 0)
		return bare_fail("KVM_SET_REGS");
	return 0;
}

/*
 * A call at the floor: KVM_SET_REGS with the function's address and two
 * arguments, KVM_RUN until its HLT, the result from the sync area (or
 * KVM_GET_REGS).
 */
static inline int bare_call(const struct bare_proc *p, struct bare_vm *v, uint64_t fn,
			    uint64_t a0, uint64_t a1, uint64_t *result)
{
	struct kvm_regs r = {.rip = fn, .rdi = a0, .rsi = a1, .rsp = v->mem_size, .rflags = 2};
	if (ioctl(v->vcpu_fd, KVM_SET_REGS, &r) < 0)
		return bare_fail("KVM_SET_REGS");
	if (bare_run(p, v) != BARE_HLT)
		return -1;
	if (p->sync_regs)
		r = v->run->s.regs.regs;
	else if (ioctl(v->vcpu_fd, KVM_GET_REGS, &r) < 0)
		return bare_fail("KVM_GET_REGS");
	*result = r.rax;
	return 0;
}

#endif
