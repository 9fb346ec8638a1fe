/* SPDX-License-Identifier: MIT */
/*
 * snapshot.c - snapshots of an x86 VM, restoring them, and resetting a VM
 * in place (see kvmrun.h). The file's container (magic, version, sections,
 * checksums) is core/snapfile.c; what the sections hold is here.
 *
 * The state is read in Firecracker's order and set again in the order KVM
 * needs: CPUID before anything (MSRs and XSAVE depend on it); the VM's
 * interrupt controllers (PICs, IOAPIC) and then the PIT before any vCPU
 * state, as Firecracker does (the PIT drives the PICs' IRQ 0, and the LAPIC
 * takes what they deliver); special registers before the LAPIC (their
 * CR8 and APIC base write into it, KVM_SET_LAPIC puts the whole page
 * back after); the LAPIC before the MSRs that live in it (the TSC deadline
 * is dropped unless the LAPIC timer is already in TSC-deadline mode: QEMU
 * sets it after its KVM_SET_LAPIC for that reason); vCPU events last (they
 * may carry a pending exception or NMI for the state set before).
 *
 * A restore recreates the machine first (struct kr_snap_config): the PC
 * platform (cfg.pc: KVM_CREATE_IRQCHIP and KVM_CREATE_PIT2 must exist
 * before KVM_SET_LAPIC, KVM_SET_IRQCHIP or KVM_SET_PIT2 can take anything)
 * and the PC devices, whose state then comes from the file.
 *
 * Reset in place rests on KVM's dirty page log of RAM: the first snapshot
 * of a VM turns it on, and a reset copies back only the pages the log
 * names. A small module on the VM (its hooks' opaque) remembers which
 * snapshot the log counts from, and caches the MSR list.
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bounds.h"
#include "core/dirtylog.h"
#include "core/error.h"
#include "core/run.h"
#include "core/snapfile.h"
#include "core/vm.h"
#include "x86/board.h"
#include "x86/mptable.h"
#include "x86/snapshot.h"
#include "x86/x86.h"

#define PAGE 4096u
#define DEVICE_NAME_LEN 32
#define DEVICE_STATE_MAX (64u << 10) /* what one device may save */
#define MAX_MSRS 1024u
#define MAX_CPUID 256u
#define MSR_IA32_TSC 0x10u

struct kr_snapshot {
	uint64_t id; /* unique in the process: which snapshot a VM's dirty log counts from */
	uint32_t version; /* of the file format (KR_SNAP_VERSION, or the file's) */
	struct kr_snap_host host;
	struct kr_snap_config config;
	uint32_t ncpuid;
	struct kvm_cpuid_entry2 *cpuid;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint32_t xsave_size; /* 0: fpu holds the FPU state */
	void *xsave;
	struct kvm_fpu fpu;
	bool have_xcrs, have_events, have_debugregs, have_lapic, have_irqchip, have_pit;
	struct kvm_xcrs xcrs;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp_state;
	struct kvm_irqchip chips[3];
	struct kvm_pit_state2 pit;
	struct kvm_msrs *msrs; /* nmsrs entries follow */
	uint8_t *devices;
	uint64_t devices_len;
	uint8_t *ram; /* mem_size bytes, anonymous: pages never written read as zero */
	uint64_t npages;
	uint64_t *pages; /* the non-zero pages, increasing */
};

static _Atomic uint64_t next_snapshot_id = 1;

/* ---- the VM's snapshot module -------------------------------------------------- */

struct snap_module {
	bool logging;        /* KVM_MEM_LOG_DIRTY_PAGES is on for RAM */
	uint64_t base_id;    /* the snapshot RAM equals, but for logged pages; 0: none */
	uint64_t *bitmap;    /* the dirty log, kr_dirty_log_words(RAM) words */
	bool sync_regs;      /* KVM_CAP_SYNC_REGS covers registers, sregs and events */
	uint32_t nmsr_list;  /* the MSRs this vCPU reads (0: not yet asked) */
	uint32_t *msr_list;
};

static void module_destroy(struct kr_vm *vm, void *opaque)
{
	(void)vm;
	struct snap_module *m = opaque;
	free(m->bitmap);
	free(m->msr_list);
	free(m);
}

static const struct kr_hooks snap_hooks = {.name = "snapshot", .on_destroy = module_destroy};

static bool sync_regs_usable(struct kr_vm *vm);

static struct snap_module *module_get(struct kr_vm *vm)
{
	struct snap_module *m = kr_vm_module(vm, &snap_hooks);
	if (m)
		return m;
	m = kr_vm_module_state(vm, &snap_hooks, sizeof(*m));
	if (m)
		m->sync_regs = sync_regs_usable(vm);
	return m;
}

/* Turn the dirty log on (once) and empty it: from now on it counts from here. */
static int log_restart(struct kr_vm *vm, struct snap_module *m)
{
	if (!m->bitmap) {
		m->bitmap = calloc(kr_dirty_log_words(vm->slots[0].size), sizeof(uint64_t));
		if (!m->bitmap)
			return kr_err_sys("snapshot: calloc of the dirty bitmap");
	}
	if (!m->logging) {
		if (kr_dirty_log_enable(vm, 0) < 0)
			return -1;
		m->logging = true;
	}
	return kr_dirty_log_get(vm, 0, m->bitmap);
}

/* ---- the host ------------------------------------------------------------------ */

static const struct {
	const char *name;
	unsigned leaf, subleaf, reg; /* reg: 0 EAX, 1 EBX, 2 ECX, 3 EDX */
} host_words[KR_SNAP_HOST_WORDS] = {
	{"CPUID.1:ECX", 1, 0, 2},          {"CPUID.1:EDX", 1, 0, 3},
	{"CPUID.7.0:EBX", 7, 0, 1},        {"CPUID.7.0:ECX", 7, 0, 2},
	{"CPUID.7.0:EDX", 7, 0, 3},        {"CPUID.80000001h:ECX", 0x80000001, 0, 2},
	{"CPUID.80000001h:EDX", 0x80000001, 0, 3},
};

const char *kr_snap_host_word_name(unsigned i)
{
	return i < KR_SNAP_HOST_WORDS ? host_words[i].name : "unknown";
}

static void backend_module(char *out, size_t size)
{
	static const char *const modules[] = {"kvm_pvm", "kvm_intel", "kvm_amd"};
	snprintf(out, size, "unknown");
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		char path[64];
		snprintf(path, sizeof(path), "/sys/module/%s", modules[i]);
		if (access(path, F_OK) == 0) {
			snprintf(out, size, "%s", modules[i]);
			return;
		}
	}
}

void kr_snap_host_here(struct kr_vm *vm, struct kr_snap_host *h)
{
	memset(h, 0, sizeof(*h));
	backend_module(h->backend, sizeof(h->backend));
	unsigned r[4], max, max_ext;
	__cpuid(0, max, r[1], r[2], r[3]);
	memcpy(h->vendor, &r[1], 4);
	memcpy(h->vendor + 4, &r[3], 4);
	memcpy(h->vendor + 8, &r[2], 4);
	__cpuid(0x80000000, max_ext, r[1], r[2], r[3]);
	h->nwords = KR_SNAP_HOST_WORDS;
	for (unsigned i = 0; i < KR_SNAP_HOST_WORDS; i++) {
		unsigned leaf = host_words[i].leaf;
		if (leaf < 0x80000000 ? leaf > max : leaf > max_ext)
			continue;
		__cpuid_count(leaf, host_words[i].subleaf, r[0], r[1], r[2], r[3]);
		h->words[i] = r[host_words[i].reg];
	}
	if (vm && kr_vcpu_current(vm)->fd >= 0) {
		int khz = ioctl(kr_vcpu_current(vm)->fd, KVM_GET_TSC_KHZ);
		h->tsc_khz = khz > 0 ? (uint32_t)khz : 0;
	}
}

int kr_snap_check_host(const struct kr_snap_host *file, const struct kr_snap_host *here)
{
	if (strncmp(file->backend, here->backend, sizeof(file->backend)) != 0)
		return kr_err_code(KR_E_BAD_SNAPSHOT,
				   "snapshot: taken on KVM back end '%.31s', this host's is '%.31s'",
				   file->backend, here->backend);
	if (strncmp(file->vendor, here->vendor, sizeof(file->vendor)) != 0)
		return kr_err_code(KR_E_BAD_SNAPSHOT,
				   "snapshot: taken on a '%.15s' CPU, this host's is '%.15s'",
				   file->vendor, here->vendor);
	if (file->nwords != KR_SNAP_HOST_WORDS)
		return kr_err_code(KR_E_BAD_SNAPSHOT,
				   "snapshot: records %u host CPUID words, expected %u",
				   file->nwords, KR_SNAP_HOST_WORDS);
	for (unsigned i = 0; i < KR_SNAP_HOST_WORDS; i++) {
		uint32_t missing = file->words[i] & ~here->words[i];
		uint32_t extra = here->words[i] & ~file->words[i];
		if (missing || extra)
			return kr_err_code(KR_E_BAD_SNAPSHOT,
					   "snapshot: host CPU features differ in %s: 0x%08x there, "
					   "0x%08x here (missing here: 0x%08x, new here: 0x%08x)",
					   host_words[i].name, file->words[i], here->words[i],
					   missing, extra);
	}
	if (file->tsc_khz && here->tsc_khz) {
		/* KVM itself accepts a TSC rate within 250 ppm without scaling (tsc_tolerance_ppm). */
		uint64_t a = file->tsc_khz, b = here->tsc_khz;
		uint64_t diff = a > b ? a - b : b - a;
		if (diff * 1000000 > a * 250)
			return kr_err_code(KR_E_BAD_SNAPSHOT,
					   "snapshot: TSC frequency %u kHz there, %u kHz here "
					   "(more than 250 ppm apart): the guest's clock would jump",
					   file->tsc_khz, here->tsc_khz);
	}
	return 0;
}

/* ---- reading the vCPU ---------------------------------------------------------- */

static int check_extension(struct kr_vm *vm, long cap)
{
	int r = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

static uint32_t xsave_size(struct kr_vm *vm)
{
	if (check_extension(vm, KVM_CAP_XSAVE) <= 0)
		return 0;
	int big = check_extension(vm, KVM_CAP_XSAVE2);
	return big > (int)sizeof(struct kvm_xsave) ? (uint32_t)big : sizeof(struct kvm_xsave);
}

/* Finish an exit KVM has not completed (the OUT of a hypercall on hardware) before reading. */
static int complete_pending_exit(struct kr_vm *vm)
{
	return kr_vcpu_complete_exit(vm, "snapshot");
}

static int get_cpuid(struct kr_vm *vm, struct kr_snapshot *s)
{
	size_t size = sizeof(struct kvm_cpuid2) + MAX_CPUID * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = calloc(1, size);
	if (!c)
		return kr_err_sys("snapshot: calloc(%zu) for CPUID", size);
	c->nent = MAX_CPUID;
	if (ioctl(kr_vcpu_current(vm)->fd, KVM_GET_CPUID2, c) < 0) {
		free(c);
		return kr_err_sys("snapshot: ioctl KVM_GET_CPUID2(nent=%u)", MAX_CPUID);
	}
	s->ncpuid = c->nent;
	s->cpuid = malloc(c->nent * sizeof(struct kvm_cpuid_entry2) + 1);
	if (!s->cpuid) {
		free(c);
		return kr_err_sys("snapshot: malloc for %u CPUID entries", s->ncpuid);
	}
	memcpy(s->cpuid, c->entries, c->nent * sizeof(struct kvm_cpuid_entry2));
	free(c);
	return 0;
}

/*
 * The MSRs to save: KVM_GET_MSR_INDEX_LIST, plus the MTRRs and PAT it leaves
 * out, kept where KVM_GET_MSRS reads them and KVM_SET_MSRS takes the value
 * back for this vCPU (one at a time: the calls stop at the first they
 * refuse). Asked once per VM.
 */
static int msr_list(struct kr_vm *vm, struct snap_module *m)
{
	if (m->nmsr_list)
		return 0;
	if (vm->kvm_fd < 0)
		return kr_err("snapshot: /dev/kvm is closed (the sandbox closes it): "
			      "KVM_GET_MSR_INDEX_LIST needs it");
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + MAX_MSRS * sizeof(uint32_t));
	uint32_t *keep = calloc(MAX_MSRS + 32, sizeof(uint32_t));
	if (!l || !keep) {
		free(l);
		free(keep);
		return kr_err_sys("snapshot: calloc for the MSR list");
	}
	l->nmsrs = MAX_MSRS;
	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		kr_err_sys("snapshot: ioctl KVM_GET_MSR_INDEX_LIST(nmsrs=%u)", MAX_MSRS);
		free(l);
		free(keep);
		return -1;
	}
	static const uint32_t extra[] = {
		0x2ff,                          /* MTRRdefType */
		0x250, 0x258, 0x259,            /* fixed-range MTRRs */
		0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
		0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207, /* variable MTRRs */
		0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f,
		0x277,                          /* PAT */
	};
	uint32_t n = 0, total = l->nmsrs + (uint32_t)(sizeof(extra) / sizeof(extra[0]));
	for (uint32_t i = 0; i < total; i++) {
		uint32_t index = i < l->nmsrs ? l->indices[i] : extra[i - l->nmsrs];
		bool dup = false;
		for (uint32_t k = 0; k < n && !dup; k++)
			dup = keep[k] == index;
		/* struct kvm_msrs and one entry (its flexible array member) */
		_Alignas(struct kvm_msrs) uint8_t raw[sizeof(struct kvm_msrs) +
						     sizeof(struct kvm_msr_entry)] = {0};
		struct kvm_msrs *one = (struct kvm_msrs *)raw;
		one->nmsrs = 1;
		one->entries[0].index = index;
		if (dup || ioctl(kr_vcpu_current(vm)->fd, KVM_GET_MSRS, one) != 1)
			continue;
		/*
		 * Some read but cannot be written back (kvm_pvm refuses
		 * MSR_KVM_POLL_CONTROL): setting the value just read finds
		 * them, harmlessly. Not the TSC, which would step back.
		 */
		if (index != MSR_IA32_TSC && ioctl(kr_vcpu_current(vm)->fd, KVM_SET_MSRS, one) != 1)
			continue;
		keep[n++] = index;
	}
	free(l);
	m->msr_list = keep;
	m->nmsr_list = n;
	return 0;
}

static int get_msrs(struct kr_vm *vm, struct snap_module *m, struct kr_snapshot *s)
{
	if (msr_list(vm, m) < 0)
		return -1;
	uint32_t n = m->nmsr_list;
	s->msrs = calloc(1, sizeof(struct kvm_msrs) + n * sizeof(struct kvm_msr_entry));
	if (!s->msrs)
		return kr_err_sys("snapshot: calloc for %u MSRs", n);
	s->msrs->nmsrs = n;
	for (uint32_t i = 0; i < n; i++)
		s->msrs->entries[i].index = m->msr_list[i];
	int got = ioctl(kr_vcpu_current(vm)->fd, KVM_GET_MSRS, s->msrs);
	if (got < 0)
		return kr_err_sys("snapshot: ioctl KVM_GET_MSRS(nmsrs=%u)", n);
	if ((uint32_t)got != n)
		return kr_err("snapshot: ioctl KVM_GET_MSRS(nmsrs=%u) read %d: MSR 0x%x refused", n,
			      got, s->msrs->entries[got].index);
	return 0;
}

/* An optional piece of state: absent (false) where KVM says the VM has none. */
static int get_optional(int fd, unsigned long req, void *arg, const char *name, bool *have)
{
	*have = false;
	if (ioctl(fd, req, arg) == 0) {
		*have = true;
		return 0;
	}
	/* ENXIO: no in-kernel irqchip/PIT; EINVAL/ENOTTY: no LAPIC or no such ioctl. */
	if (errno == ENXIO || errno == EINVAL || errno == ENOTTY || errno == EFAULT)
		return 0;
	return kr_err_sys("snapshot: ioctl %s", name);
}

static int get_vcpu_state(struct kr_vm *vm, struct snap_module *m, struct kr_snapshot *s)
{
	int fd = kr_vcpu_current(vm)->fd;
	if (ioctl(fd, KVM_GET_REGS, &s->regs) < 0)
		return kr_err_sys("snapshot: ioctl KVM_GET_REGS");
	if (ioctl(fd, KVM_GET_SREGS, &s->sregs) < 0)
		return kr_err_sys("snapshot: ioctl KVM_GET_SREGS");
	s->xsave_size = xsave_size(vm);
	if (s->xsave_size) {
		s->xsave = calloc(1, s->xsave_size);
		if (!s->xsave)
			return kr_err_sys("snapshot: calloc(%u) for XSAVE", s->xsave_size);
		unsigned long req = s->xsave_size > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2
									   : KVM_GET_XSAVE;
		if (ioctl(fd, req, s->xsave) < 0)
			return kr_err_sys("snapshot: ioctl %s(%u bytes)",
					  req == KVM_GET_XSAVE2 ? "KVM_GET_XSAVE2" : "KVM_GET_XSAVE",
					  s->xsave_size);
	} else if (ioctl(fd, KVM_GET_FPU, &s->fpu) < 0) {
		return kr_err_sys("snapshot: ioctl KVM_GET_FPU");
	}
	if (check_extension(vm, KVM_CAP_XCRS) > 0) {
		if (ioctl(fd, KVM_GET_XCRS, &s->xcrs) < 0)
			return kr_err_sys("snapshot: ioctl KVM_GET_XCRS");
		s->have_xcrs = true;
	}
	if (get_optional(fd, KVM_GET_DEBUGREGS, &s->debugregs, "KVM_GET_DEBUGREGS",
			 &s->have_debugregs) < 0 ||
	    get_optional(fd, KVM_GET_LAPIC, &s->lapic, "KVM_GET_LAPIC", &s->have_lapic) < 0)
		return -1;
	if (s->have_lapic && ioctl(fd, KVM_GET_MP_STATE, &s->mp_state) < 0)
		return kr_err_sys("snapshot: ioctl KVM_GET_MP_STATE");
	if (get_msrs(vm, m, s) < 0)
		return -1;
	return get_optional(fd, KVM_GET_VCPU_EVENTS, &s->events, "KVM_GET_VCPU_EVENTS",
			    &s->have_events);
}

static int get_vm_state(struct kr_vm *vm, struct kr_snapshot *s)
{
	s->chips[0].chip_id = KVM_IRQCHIP_PIC_MASTER;
	if (get_optional(vm->vm_fd, KVM_GET_IRQCHIP, &s->chips[0], "KVM_GET_IRQCHIP(PIC master)",
			 &s->have_irqchip) < 0)
		return -1;
	if (s->have_irqchip) {
		s->chips[1].chip_id = KVM_IRQCHIP_PIC_SLAVE;
		s->chips[2].chip_id = KVM_IRQCHIP_IOAPIC;
		for (int i = 1; i < 3; i++)
			if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &s->chips[i]) < 0)
				return kr_err_sys("snapshot: ioctl KVM_GET_IRQCHIP(chip %d)", i);
	}
	return get_optional(vm->vm_fd, KVM_GET_PIT2, &s->pit, "KVM_GET_PIT2", &s->have_pit);
}

static uint64_t align8(uint64_t x)
{
	return (x + 7) & ~7ull;
}

static int get_devices(struct kr_vm *vm, struct kr_snapshot *s)
{
	uint8_t *buf = malloc(DEVICE_STATE_MAX);
	if (!buf)
		return kr_err_sys("snapshot: malloc(%u) for device state", DEVICE_STATE_MAX);
	for (size_t i = 0; i < vm->nmodules; i++) {
		const struct kr_hooks *h = vm->modules[i].hooks;
		if (!h->save)
			continue;
		long n = h->save(vm, vm->modules[i].opaque, buf, DEVICE_STATE_MAX);
		if (n < 0) {
			free(buf);
			return kr_err_context("snapshot: device '%s'", h->name);
		}
		uint64_t entry = DEVICE_NAME_LEN + 8 + align8((uint64_t)n);
		uint8_t *grown = realloc(s->devices, s->devices_len + entry);
		if (!grown) {
			free(buf);
			return kr_err_sys("snapshot: realloc for device state");
		}
		s->devices = grown;
		uint8_t *e = grown + s->devices_len;
		memset(e, 0, entry);
		snprintf((char *)e, DEVICE_NAME_LEN, "%s", h->name);
		uint32_t len = (uint32_t)n;
		memcpy(e + DEVICE_NAME_LEN, &len, 4);
		memcpy(e + DEVICE_NAME_LEN + 8, buf, (size_t)n);
		s->devices_len += entry;
	}
	free(buf);
	return 0;
}

/* Eight words per test: one branch per cache line, whatever the compiler makes of the loop. */
static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	for (unsigned i = 0; i < PAGE / 8; i += 8)
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7])
			return false;
	return true;
}

static uint8_t *map_ram(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		kr_err_sys("snapshot: mmap of %llu bytes for RAM", (unsigned long long)size);
		return NULL;
	}
	return p;
}

static int get_memory(struct kr_vm *vm, struct kr_snapshot *s)
{
	uint64_t size = vm->slots[0].size, n = size / PAGE;
	s->ram = map_ram(size);
	s->pages = malloc(n * sizeof(uint64_t) + 1);
	if (!s->ram || !s->pages)
		return s->ram ? kr_err_sys("snapshot: malloc for the page list") : -1;
	const uint8_t *ram = vm->slots[0].host;
	for (uint64_t i = 0; i < n; i++) {
		if (page_is_zero(ram + i * PAGE))
			continue;
		memcpy(s->ram + i * PAGE, ram + i * PAGE, PAGE);
		s->pages[s->npages++] = i;
	}
	return 0;
}

void kr_snapshot_free(struct kr_snapshot *s)
{
	if (!s)
		return;
	free(s->cpuid);
	free(s->xsave);
	free(s->msrs);
	free(s->devices);
	free(s->pages);
	if (s->ram)
		munmap(s->ram, s->config.mem_size);
	free(s);
}

static struct kr_snapshot *snapshot_alloc(void)
{
	struct kr_snapshot *s = calloc(1, sizeof(*s));
	if (!s) {
		kr_err_sys("snapshot: calloc(%zu)", sizeof(*s));
		return NULL;
	}
	s->id = atomic_fetch_add(&next_snapshot_id, 1);
	s->version = KR_SNAP_VERSION;
	return s;
}

static int check_vm_for_snapshot(struct kr_vm *vm, const char *what)
{
	if (kr_vcpu_current(vm)->fd < 0)
		return kr_err("%s: the VM has no vCPU (a detached VM)", what);
	/* One vCPU's state is what a snapshot holds (the file format too). */
	if (kr_vm_need_one_cpu(vm, what) < 0)
		return -1;
	if (!vm->prepared)
		return kr_err("%s: the vCPU was never prepared (kr_vcpu_prepare)", what);
	if (atomic_load(&vm->running_tid))
		return kr_err("%s: the VM is running; stop it first", what);
	for (int i = 1; i < KR_MAX_SLOTS; i++)
		if (vm->slots[i].used)
			return kr_err("%s: the VM has memory slot %d besides RAM; snapshots cover "
				      "RAM (slot 0) only",
				      what, i);
	return 0;
}

int kr_snapshot_take(struct kr_vm *vm, struct kr_snapshot **out)
{
	*out = NULL;
	if (check_vm_for_snapshot(vm, "snapshot") < 0)
		return -1;
	if (vm->cannot_resume)
		return kr_err("snapshot: the VM cannot resume after %s, nor could a snapshot of it",
			      vm->cannot_resume_why);
	struct snap_module *m = module_get(vm);
	struct kr_snapshot *s = snapshot_alloc();
	if (!m || !s) {
		free(s);
		return -1;
	}
	kr_snap_host_here(vm, &s->host);
	s->config = (struct kr_snap_config){
	    .mode = (uint32_t)vm->cfg.mode,
	    .map_page0 = vm->cfg.map_page0,
	    .mem_size = vm->slots[0].size,
	    .cpu_amd = (vm->cpu.features & KR_X86_CPU_AMD) != 0,
	    .cpu_gbpages = (vm->cpu.features & KR_X86_CPU_GBPAGES) != 0,
	    .cpu_la57 = (vm->cpu.features & KR_X86_CPU_LA57) != 0,
	    .cpu_maxphyaddr = vm->cpu.maxphyaddr,
	    .pc = vm->cfg.pc,
	    .pc_devices = kr_board_has_pc_devices(vm),
	    .cpus = vm->cfg.cpus,
	};
	if (complete_pending_exit(vm) < 0 || get_cpuid(vm, s) < 0 ||
	    get_vcpu_state(vm, m, s) < 0 || get_vm_state(vm, s) < 0 || get_devices(vm, s) < 0 ||
	    log_restart(vm, m) < 0 || get_memory(vm, s) < 0) {
		m->base_id = 0;
		kr_snapshot_free(s);
		return -1;
	}
	m->base_id = s->id;
	*out = s;
	return 0;
}

uint64_t kr_snapshot_id(const struct kr_snapshot *s)
{
	return s->id;
}

const uint8_t *kr_snapshot_ram(const struct kr_snapshot *s, uint64_t *size)
{
	*size = s->config.mem_size;
	return s->ram;
}

const struct kvm_sregs *kr_snapshot_sregs(const struct kr_snapshot *s)
{
	return &s->sregs;
}

void kr_snapshot_info(const struct kr_snapshot *s, struct kr_snapshot_info *info)
{
	memset(info, 0, sizeof(*info));
	info->mode = (enum kr_mode)s->config.mode;
	info->mem_size = s->config.mem_size;
	info->pages = s->npages;
	info->rip = s->regs.rip;
	info->nmsrs = s->msrs ? s->msrs->nmsrs : 0;
	info->xsave_size = s->xsave_size;
	info->tsc_khz = s->host.tsc_khz;
	info->lapic = s->have_lapic;
	info->irqchip = s->have_irqchip;
	info->pit = s->have_pit;
	snprintf(info->backend, sizeof(info->backend), "%.31s", s->host.backend);
}

/* ---- the file ----------------------------------------------------------------- */

int kr_snapshot_write(const struct kr_snapshot *s, const char *path)
{
	/* A file read as version 1 is written as one: its configuration has no platform. */
	struct kr_snap_writer w = {.version = s->version};
	uint64_t config_size = s->version < 2 ? KR_SNAP_CONFIG_V1_SIZE : sizeof(s->config);
	uint64_t index_head[2] = {s->config.mem_size, s->npages};
	struct iovec *idx = NULL, *pages = NULL;
	size_t npieces = 0;
	int rc = -1;

	/* The page numbers, then the pages: runs of consecutive pages are one piece each. */
	idx = calloc(2, sizeof(*idx));
	pages = calloc(s->npages + 1, sizeof(*pages));
	if (!idx || !pages) {
		kr_err_sys("snapshot: calloc for %llu pages", (unsigned long long)s->npages);
		goto out;
	}
	idx[0] = (struct iovec){index_head, sizeof(index_head)};
	idx[1] = (struct iovec){s->pages, s->npages * sizeof(uint64_t)};
	for (uint64_t i = 0; i < s->npages; i++) {
		uint8_t *p = s->ram + s->pages[i] * PAGE;
		if (npieces && (uint8_t *)pages[npieces - 1].iov_base + pages[npieces - 1].iov_len == p)
			pages[npieces - 1].iov_len += PAGE;
		else
			pages[npieces++] = (struct iovec){p, PAGE};
	}

	if (kr_snap_add(&w, KR_SNAP_HOST, &s->host, sizeof(s->host)) < 0 ||
	    kr_snap_add(&w, KR_SNAP_CONFIG, &s->config, config_size) < 0 ||
	    kr_snap_add(&w, KR_SNAP_CPUID, s->cpuid, s->ncpuid * sizeof(s->cpuid[0])) < 0 ||
	    kr_snap_add(&w, KR_SNAP_REGS, &s->regs, sizeof(s->regs)) < 0 ||
	    kr_snap_add(&w, KR_SNAP_SREGS, &s->sregs, sizeof(s->sregs)) < 0 ||
	    (s->xsave_size ? kr_snap_add(&w, KR_SNAP_XSAVE, s->xsave, s->xsave_size)
			   : kr_snap_add(&w, KR_SNAP_FPU, &s->fpu, sizeof(s->fpu))) < 0 ||
	    (s->have_xcrs && kr_snap_add(&w, KR_SNAP_XCRS, &s->xcrs, sizeof(s->xcrs)) < 0) ||
	    kr_snap_add(&w, KR_SNAP_MSRS, s->msrs->entries,
			s->msrs->nmsrs * sizeof(struct kvm_msr_entry)) < 0 ||
	    (s->have_events &&
	     kr_snap_add(&w, KR_SNAP_EVENTS, &s->events, sizeof(s->events)) < 0) ||
	    (s->have_debugregs &&
	     kr_snap_add(&w, KR_SNAP_DEBUGREGS, &s->debugregs, sizeof(s->debugregs)) < 0) ||
	    (s->have_lapic &&
	     (kr_snap_add(&w, KR_SNAP_LAPIC, &s->lapic, sizeof(s->lapic)) < 0 ||
	      kr_snap_add(&w, KR_SNAP_MP_STATE, &s->mp_state, sizeof(s->mp_state)) < 0)) ||
	    (s->have_irqchip && kr_snap_add(&w, KR_SNAP_IRQCHIP, s->chips, sizeof(s->chips)) < 0) ||
	    (s->have_pit && kr_snap_add(&w, KR_SNAP_PIT, &s->pit, sizeof(s->pit)) < 0) ||
	    kr_snap_add(&w, KR_SNAP_DEVICES, s->devices, s->devices_len) < 0 ||
	    kr_snap_add_iov(&w, KR_SNAP_MEM_INDEX, idx, 2) < 0 ||
	    kr_snap_add_iov(&w, KR_SNAP_MEM_PAGES, pages, npieces) < 0)
		goto out;

	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		kr_err_sys("snapshot: open('%s') for writing", path);
		goto out;
	}
	rc = kr_snap_write(&w, fd);
	if (rc < 0)
		kr_err_context("snapshot: writing '%s'", path);
	if (close(fd) < 0 && rc == 0)
		rc = kr_err_sys("snapshot: close('%s')", path);
out:
	free(idx);
	free(pages);
	return rc;
}

/* A fixed-size section: present with exactly `size` bytes, or (optional) absent. */
static int section(const struct kr_snap_view *v, uint32_t id, const char *name, void *dst,
		   size_t size, bool required, bool *have)
{
	uint64_t got;
	const void *p = kr_snap_find(v, id, &got);
	if (have)
		*have = p != NULL;
	if (!p)
		return required ? kr_err("snapshot: the %s section (id %u) is missing", name, id)
				: 0;
	if (got != size)
		return kr_err("snapshot: the %s section is %llu bytes, expected %zu", name,
			      (unsigned long long)got, size);
	memcpy(dst, p, size);
	return 0;
}

static int parse_config(const struct kr_snap_config *c)
{
	if (c->mode > KR_MODE_LONG)
		return kr_err("snapshot: invalid CPU mode %u", c->mode);
	if (c->mem_size < KR_MEM_MIN || c->mem_size > KR_MEM_MAX || (c->mem_size & (PAGE - 1)))
		return kr_err("snapshot: memory size 0x%llx is not a multiple of 4 KiB in "
			      "[%u MiB, %llu MiB]",
			      (unsigned long long)c->mem_size, KR_MEM_MIN >> 20,
			      (unsigned long long)(KR_MEM_MAX >> 20));
	if (c->map_page0 > 1 || c->cpu_amd > 1 || c->cpu_gbpages > 1 || c->cpu_la57 > 1 ||
	    c->cpu_maxphyaddr < 32 || c->cpu_maxphyaddr > 52)
		return kr_err("snapshot: invalid configuration flags or physical address width "
			      "(%u bits)", c->cpu_maxphyaddr);
	if (c->pc > 1 || c->pc_devices > 1 || c->reserved)
		return kr_err("snapshot: invalid platform flags (pc %u, PC devices %u, reserved "
			      "0x%x)",
			      c->pc, c->pc_devices, c->reserved);
	if (c->pc && !c->pc_devices)
		return kr_err("snapshot: the configuration has the PC platform (cfg.pc) without "
			      "the PC devices, which it always brings");
	if (c->cpus != 1)
		return kr_err("snapshot: the configuration has %u vCPUs; a snapshot holds one",
			      c->cpus);
	return 0;
}

/* The configuration: 32 bytes in version 1 (no platform: one vCPU, no PC), 48 from version 2. */
static int parse_config_section(const struct kr_snap_view *v, struct kr_snap_config *c)
{
	uint64_t size;
	const void *p = kr_snap_find(v, KR_SNAP_CONFIG, &size);
	uint64_t want = v->version < 2 ? KR_SNAP_CONFIG_V1_SIZE : sizeof(*c);
	if (!p)
		return kr_err("snapshot: the config section (id %u) is missing", KR_SNAP_CONFIG);
	if (size != want)
		return kr_err("snapshot: the config section is %llu bytes, expected %llu in a "
			      "version %u file",
			      (unsigned long long)size, (unsigned long long)want, v->version);
	memset(c, 0, sizeof(*c));
	c->cpus = 1;
	memcpy(c, p, size);
	return parse_config(c);
}

/*
 * The platform's state is there exactly when the configuration has the
 * platform: a file whose pc flag was flipped either way is refused here,
 * not by the first KVM_SET_LAPIC of a VM made without it.
 */
static int check_platform(const struct kr_snapshot *s)
{
	bool pc = s->config.pc;
	if (pc && !(s->have_lapic && s->have_irqchip && s->have_pit))
		return kr_err("snapshot: the configuration has the PC platform (cfg.pc), but the "
			      "file has no %s state",
			      !s->have_lapic	 ? "LAPIC"
			      : !s->have_irqchip ? "irqchip"
						 : "PIT");
	if (!pc && (s->have_lapic || s->have_irqchip || s->have_pit))
		return kr_err("snapshot: the file has %s state, but its configuration has no "
			      "PC platform (cfg.pc) to hold it",
			      s->have_lapic	? "LAPIC"
			      : s->have_irqchip ? "irqchip"
						: "PIT");
	static const uint32_t ids[3] = {KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE,
					KVM_IRQCHIP_IOAPIC};
	for (int i = 0; s->have_irqchip && i < 3; i++)
		if (s->chips[i].chip_id != ids[i] || s->chips[i].pad)
			return kr_err("snapshot: irqchip entry %d is chip %u (pad %u), expected "
				      "chip %u",
				      i, s->chips[i].chip_id, s->chips[i].pad, ids[i]);
	return 0;
}

static int parse_host(const struct kr_snap_host *h)
{
	if (!memchr(h->backend, 0, sizeof(h->backend)) || !memchr(h->vendor, 0, sizeof(h->vendor)))
		return kr_err("snapshot: the host's back end or vendor name is not terminated");
	return 0;
}

/*
 * The device entries: each in bounds, each a device the configuration's
 * machine has (the board says which, and checks the state's sense), none
 * twice; from version 2 every one of them (version 1 files saved the
 * console's state only: the others start from their reset state).
 */
static int parse_devices(struct kr_snapshot *s, const uint8_t *p, uint64_t size)
{
	unsigned entries = 0;
	for (uint64_t off = 0; off < size;) {
		uint32_t len, zero;
		if (!kr_range_ok(off, DEVICE_NAME_LEN + 8, size))
			return kr_err("snapshot: device entry at %llu is truncated",
				      (unsigned long long)off);
		if (!memchr(p + off, 0, DEVICE_NAME_LEN))
			return kr_err("snapshot: device name at %llu is not terminated",
				      (unsigned long long)off);
		memcpy(&len, p + off + DEVICE_NAME_LEN, 4);
		memcpy(&zero, p + off + DEVICE_NAME_LEN + 4, 4);
		if (zero || len > DEVICE_STATE_MAX ||
		    !kr_range_ok(off + DEVICE_NAME_LEN + 8, align8(len), size))
			return kr_err("snapshot: device '%.31s': state of %u bytes does not fit",
				      (const char *)p + off, len);
		const char *name = (const char *)p + off;
		for (uint64_t o = 0; o < off;) {
			uint32_t l;
			memcpy(&l, p + o + DEVICE_NAME_LEN, 4);
			if (strncmp((const char *)p + o, name, DEVICE_NAME_LEN) == 0)
				return kr_err("snapshot: device '%.31s' has two entries", name);
			o += DEVICE_NAME_LEN + 8 + align8(l);
		}
		if (kr_board_check_device_state(name, p + off + DEVICE_NAME_LEN + 8, len,
						s->config.pc_devices) < 0)
			return kr_err_context("snapshot");
		entries++;
		off += DEVICE_NAME_LEN + 8 + align8(len);
	}
	unsigned want = kr_board_devices_with_state(s->config.pc_devices);
	if (s->version >= 2 && entries != want)
		return kr_err("snapshot: state for %u devices, but a machine %s the PC devices has "
			      "%u",
			      entries, s->config.pc_devices ? "with" : "without", want);
	s->devices = malloc(size + 1);
	if (!s->devices)
		return kr_err_sys("snapshot: malloc(%llu) for device state",
				  (unsigned long long)size);
	memcpy(s->devices, p, size);
	s->devices_len = size;
	return 0;
}

static int parse_memory(const struct kr_snap_view *v, struct kr_snapshot *s)
{
	uint64_t isize, psize;
	const uint8_t *idx = kr_snap_find(v, KR_SNAP_MEM_INDEX, &isize);
	const uint8_t *pages = kr_snap_find(v, KR_SNAP_MEM_PAGES, &psize);
	if (!idx || !pages)
		return kr_err("snapshot: the memory sections are missing");
	uint64_t head[2];
	if (isize < sizeof(head))
		return kr_err("snapshot: the memory index is %llu bytes, too short",
			      (unsigned long long)isize);
	memcpy(head, idx, sizeof(head));
	uint64_t total = s->config.mem_size / PAGE, n = head[1];
	if (head[0] != s->config.mem_size)
		return kr_err("snapshot: the memory index is for %llu bytes of RAM, the "
			      "configuration says %llu",
			      (unsigned long long)head[0], (unsigned long long)s->config.mem_size);
	if (n > total || isize != sizeof(head) + n * 8 || psize != n * PAGE)
		return kr_err("snapshot: %llu pages do not fit RAM of %llu pages, an index of "
			      "%llu bytes and %llu bytes of pages",
			      (unsigned long long)n, (unsigned long long)total,
			      (unsigned long long)isize, (unsigned long long)psize);
	s->ram = map_ram(s->config.mem_size);
	s->pages = malloc(n * sizeof(uint64_t) + 1);
	if (!s->ram || !s->pages)
		return s->ram ? kr_err_sys("snapshot: malloc for the page list") : -1;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t page;
		memcpy(&page, idx + sizeof(head) + i * 8, 8);
		if (page >= total || (i > 0 && page <= s->pages[i - 1]))
			return kr_err("snapshot: page number %llu (entry %llu) is out of order or "
				      "beyond RAM's %llu pages",
				      (unsigned long long)page, (unsigned long long)i,
				      (unsigned long long)total);
		s->pages[i] = page;
		memcpy(s->ram + page * PAGE, pages + i * PAGE, PAGE);
	}
	s->npages = n;
	return 0;
}

static int parse_sections(const struct kr_snap_view *v, struct kr_snapshot *s)
{
	bool have_fpu = false, dummy = false;
	uint64_t size;
	/* Every section must be one this version knows: a stranger means another writer. */
	for (uint32_t i = 0; i < v->n; i++)
		if (v->s[i].id < KR_SNAP_HOST || v->s[i].id > KR_SNAP_MEM_PAGES)
			return kr_err("snapshot: unknown section id %u", v->s[i].id);
	if (section(v, KR_SNAP_HOST, "host", &s->host, sizeof(s->host), true, NULL) < 0 ||
	    parse_host(&s->host) < 0 || parse_config_section(v, &s->config) < 0 ||
	    section(v, KR_SNAP_REGS, "registers", &s->regs, sizeof(s->regs), true, NULL) < 0 ||
	    section(v, KR_SNAP_SREGS, "special registers", &s->sregs, sizeof(s->sregs), true,
		    NULL) < 0 ||
	    section(v, KR_SNAP_FPU, "FPU", &s->fpu, sizeof(s->fpu), false, &have_fpu) < 0 ||
	    section(v, KR_SNAP_XCRS, "XCR", &s->xcrs, sizeof(s->xcrs), false, &s->have_xcrs) < 0 ||
	    section(v, KR_SNAP_EVENTS, "vCPU events", &s->events, sizeof(s->events), false,
		    &s->have_events) < 0 ||
	    section(v, KR_SNAP_DEBUGREGS, "debug registers", &s->debugregs, sizeof(s->debugregs),
		    false, &s->have_debugregs) < 0 ||
	    section(v, KR_SNAP_LAPIC, "LAPIC", &s->lapic, sizeof(s->lapic), false, &s->have_lapic) <
		0 ||
	    section(v, KR_SNAP_MP_STATE, "MP state", &s->mp_state, sizeof(s->mp_state),
		    s->have_lapic, &dummy) < 0 ||
	    section(v, KR_SNAP_IRQCHIP, "irqchip", s->chips, sizeof(s->chips), false,
		    &s->have_irqchip) < 0 ||
	    section(v, KR_SNAP_PIT, "PIT", &s->pit, sizeof(s->pit), false, &s->have_pit) < 0)
		return -1;
	if (dummy && !s->have_lapic)
		return kr_err("snapshot: an MP state without a LAPIC");
	s->version = v->version;
	if (check_platform(s) < 0)
		return -1;

	const void *p = kr_snap_find(v, KR_SNAP_XSAVE, &size);
	if (!p == !have_fpu)
		return kr_err("snapshot: needs exactly one of the FPU and XSAVE sections");
	if (p) {
		if (size < sizeof(struct kvm_xsave) || size > (1u << 20) || (size & 63))
			return kr_err("snapshot: XSAVE area of %llu bytes (4096 up to 1 MiB, "
				      "64-byte multiple)",
				      (unsigned long long)size);
		s->xsave_size = (uint32_t)size;
		s->xsave = malloc(size);
		if (!s->xsave)
			return kr_err_sys("snapshot: malloc(%llu) for XSAVE", (unsigned long long)size);
		memcpy(s->xsave, p, size);
	}

	p = kr_snap_find(v, KR_SNAP_CPUID, &size);
	if (!p || size == 0 || size % sizeof(struct kvm_cpuid_entry2) ||
	    size / sizeof(struct kvm_cpuid_entry2) > MAX_CPUID)
		return kr_err("snapshot: the CPUID section is missing or %llu bytes (1..%u entries "
			      "of %zu)",
			      (unsigned long long)size, MAX_CPUID, sizeof(struct kvm_cpuid_entry2));
	s->ncpuid = (uint32_t)(size / sizeof(struct kvm_cpuid_entry2));
	s->cpuid = malloc(size);
	if (!s->cpuid)
		return kr_err_sys("snapshot: malloc for CPUID");
	memcpy(s->cpuid, p, size);

	p = kr_snap_find(v, KR_SNAP_MSRS, &size);
	if (!p || size % sizeof(struct kvm_msr_entry) ||
	    size / sizeof(struct kvm_msr_entry) > MAX_MSRS + 32)
		return kr_err("snapshot: the MSR section is missing or %llu bytes (entries of %zu)",
			      (unsigned long long)size, sizeof(struct kvm_msr_entry));
	s->msrs = calloc(1, sizeof(struct kvm_msrs) + size);
	if (!s->msrs)
		return kr_err_sys("snapshot: calloc for MSRs");
	s->msrs->nmsrs = (uint32_t)(size / sizeof(struct kvm_msr_entry));
	memcpy(s->msrs->entries, p, size);

	p = kr_snap_find(v, KR_SNAP_DEVICES, &size);
	if (!p)
		return kr_err("snapshot: the devices section is missing");
	if (parse_devices(s, p, size) < 0)
		return -1;
	return parse_memory(v, s);
}

int kr_snapshot_read_buffer(const void *data, size_t len, struct kr_snapshot **out)
{
	*out = NULL;
	struct kr_snap_view v;
	struct kr_snapshot *s = snapshot_alloc();
	if (!s)
		return -1;
	if (kr_snap_parse(data, len, true, &v) < 0 || parse_sections(&v, s) < 0) {
		kr_snapshot_free(s);
		return kr_err_refine(KR_E_BAD_SNAPSHOT);
	}
	*out = s;
	return 0;
}

int kr_snapshot_read(const char *path, struct kr_snapshot **out)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return kr_err_sys("snapshot: open('%s')", path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return kr_err_sys("snapshot: fstat('%s')", path);
	}
	if (st.st_size == 0) {
		close(fd);
		return kr_err_code(KR_E_BAD_SNAPSHOT, "snapshot: '%s' is empty", path);
	}
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return kr_err_sys("snapshot: mmap of '%s' (%lld bytes)", path,
				  (long long)st.st_size);
	int rc = kr_snapshot_read_buffer(map, (size_t)st.st_size, out);
	munmap(map, (size_t)st.st_size);
	if (rc < 0)
		return kr_err_context("snapshot '%s'", path);
	return 0;
}

/* ---- setting it back ----------------------------------------------------------- */

static int set_msrs(struct kr_vm *vm, const struct kvm_msrs *msrs)
{
	int n = ioctl(kr_vcpu_current(vm)->fd, KVM_SET_MSRS, msrs);
	if (n < 0)
		return kr_err_sys("restore: ioctl KVM_SET_MSRS(nmsrs=%u)", msrs->nmsrs);
	/* It stops at the first MSR it refuses and says how many it set. */
	if ((uint32_t)n != msrs->nmsrs)
		return kr_err("restore: ioctl KVM_SET_MSRS(nmsrs=%u) set %d: MSR 0x%x (value "
			      "0x%llx) refused",
			      msrs->nmsrs, n, msrs->entries[n].index,
			      (unsigned long long)msrs->entries[n].data);
	return 0;
}

static int set_device_state(struct kr_vm *vm, const struct kr_snapshot *s)
{
	/* Every device with state must find its entry, and every entry its device. */
	size_t found = 0;
	for (size_t i = 0; i < vm->nmodules; i++) {
		const struct kr_hooks *h = vm->modules[i].hooks;
		if (!h->restore)
			continue;
		bool done = false;
		for (uint64_t off = 0; off < s->devices_len && !done;) {
			const uint8_t *e = s->devices + off;
			uint32_t len;
			memcpy(&len, e + DEVICE_NAME_LEN, 4);
			if (strncmp((const char *)e, h->name, DEVICE_NAME_LEN) == 0) {
				if (h->restore(vm, vm->modules[i].opaque, e + DEVICE_NAME_LEN + 8,
					       len) < 0)
					return kr_err_context("restore: device '%s'", h->name);
				done = true;
			}
			off += DEVICE_NAME_LEN + 8 + align8(len);
		}
		/* Version 1 files saved the console's state only: the rest stay as created. */
		if (!done && s->version < 2)
			continue;
		if (!done)
			return kr_err_code(KR_E_BAD_SNAPSHOT,
					   "restore: the snapshot has no state for device '%s'",
					   h->name);
		found++;
	}
	size_t entries = 0;
	for (uint64_t off = 0; off < s->devices_len; entries++) {
		uint32_t len;
		memcpy(&len, s->devices + off + DEVICE_NAME_LEN, 4);
		off += DEVICE_NAME_LEN + 8 + align8(len);
	}
	if (entries != found)
		return kr_err_code(KR_E_BAD_SNAPSHOT,
				   "restore: the snapshot has state for %zu devices, this VM %zu",
				   entries, found);
	return 0;
}

/*
 * Registers, special registers and vCPU events in one ioctl instead of three:
 * through the shared struct kvm_run (KVM_CAP_SYNC_REGS), applied by a
 * KVM_RUN that immediate_exit ends before the guest runs. On kvm_pvm each
 * vCPU ioctl costs about 5 us, so this is most of a reset's time.
 *
 * A reset goes further (SET_AT_RUN): it leaves them in the area for the
 * guest's next KVM_RUN, which applies them before anything else, so they
 * cost no ioctl of their own. Until then run->s.regs mirrors the registers
 * (kr_vcpu_get_regs reads them there), and whatever reads or depends on the
 * rest through an ioctl (KVM_GET_SREGS, KVM_TRANSLATE, KVM_SET_SREGS,
 * KVM_SET_GUEST_DEBUG, a snapshot) applies them first (kr_vcpu_flush, the
 * KVM_RUN that completes an exit). They are then set after the FPU, XCRs,
 * debug registers and MSRs instead of before: none of those depends on
 * them. Not with an in-kernel LAPIC, whose state KVM_SET_SREGS' APIC base
 * could change after KVM_SET_LAPIC: there they are set at once.
 */
enum regs_way { SET_PLAIN, SET_SYNCED, SET_AT_RUN };

static bool sync_regs_usable(struct kr_vm *vm)
{
	unsigned want = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
	return ((unsigned)check_extension(vm, KVM_CAP_SYNC_REGS) & want) == want;
}

static int set_regs_synced(struct kr_vm *vm, const struct kr_snapshot *s, bool at_run)
{
	struct kr_vcpu *v = kr_vcpu_current(vm);
	struct kvm_run *run = v->run;
	run->s.regs.regs = s->regs;
	run->s.regs.sregs = s->sregs;
	unsigned dirty = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	if (s->have_events) {
		run->s.regs.events = s->events;
		dirty |= KVM_SYNC_X86_EVENTS;
	}
	run->kvm_dirty_regs = dirty;
	if (at_run) {
		v->sync_fresh = false;
		v->regs_mirror = true; /* the area holds what the vCPU will */
		return 0;
	}
	if (kr_vcpu_flush_of(v, "restore") < 0)
		return -1;
	/* No exit was left to complete (set_vcpu_state saw to it): the area holds what the vCPU took. */
	v->regs_mirror = true;
	return 0;
}

static int set_regs_plain(struct kr_vm *vm, const struct kr_snapshot *s)
{
	struct kr_vcpu *v = kr_vcpu_current(vm);
	int fd = v->fd;
	v->regs_mirror = false;
	if (ioctl(fd, KVM_SET_SREGS, &s->sregs) < 0)
		return kr_err_sys("restore: ioctl KVM_SET_SREGS(cr0=0x%llx, cr4=0x%llx, efer=0x%llx)",
				  (unsigned long long)s->sregs.cr0, (unsigned long long)s->sregs.cr4,
				  (unsigned long long)s->sregs.efer);
	if (ioctl(fd, KVM_SET_REGS, &s->regs) < 0)
		return kr_err_sys("restore: ioctl KVM_SET_REGS(rip=0x%llx)",
				  (unsigned long long)s->regs.rip);
	return 0;
}

static int set_vcpu_state(struct kr_vm *vm, const struct kr_snapshot *s, enum regs_way way)
{
	int fd = kr_vcpu_current(vm)->fd;
	/*
	 * An exit KVM has not completed (the OUT of a hypercall, an IN, MMIO)
	 * would be completed at the next KVM_RUN, over the state set here: an
	 * IN's data into RAX, RIP moved past the instruction. Complete it first.
	 */
	if ((kr_vcpu_current(vm)->run->exit_reason == KVM_EXIT_IO || kr_vcpu_current(vm)->run->exit_reason == KVM_EXIT_MMIO) &&
	    complete_pending_exit(vm) < 0)
		return -1;
	if (s->have_lapic && ioctl(fd, KVM_SET_MP_STATE, &s->mp_state) < 0)
		return kr_err_sys("restore: ioctl KVM_SET_MP_STATE(%u)", s->mp_state.mp_state);
	if (way == SET_AT_RUN && s->have_lapic)
		way = SET_SYNCED;
	if ((way == SET_PLAIN ? set_regs_plain(vm, s) : set_regs_synced(vm, s, way == SET_AT_RUN)) <
	    0)
		return -1;
	if (s->xsave_size) {
		if (ioctl(fd, KVM_SET_XSAVE, s->xsave) < 0)
			return kr_err_sys("restore: ioctl KVM_SET_XSAVE(%u bytes)", s->xsave_size);
	} else if (ioctl(fd, KVM_SET_FPU, &s->fpu) < 0) {
		return kr_err_sys("restore: ioctl KVM_SET_FPU");
	}
	if (s->have_xcrs && ioctl(fd, KVM_SET_XCRS, &s->xcrs) < 0)
		return kr_err_sys("restore: ioctl KVM_SET_XCRS(nr_xcrs=%u)", s->xcrs.nr_xcrs);
	if (s->have_debugregs && ioctl(fd, KVM_SET_DEBUGREGS, &s->debugregs) < 0)
		return kr_err_sys("restore: ioctl KVM_SET_DEBUGREGS");
	if (s->have_lapic && ioctl(fd, KVM_SET_LAPIC, &s->lapic) < 0)
		return kr_err_sys("restore: ioctl KVM_SET_LAPIC");
	if (set_msrs(vm, s->msrs) < 0)
		return -1;
	if (way == SET_PLAIN && s->have_events && ioctl(fd, KVM_SET_VCPU_EVENTS, &s->events) < 0)
		return kr_err_sys("restore: ioctl KVM_SET_VCPU_EVENTS");
	return 0;
}

static int set_vm_state(struct kr_vm *vm, const struct kr_snapshot *s)
{
	for (int i = 0; s->have_irqchip && i < 3; i++)
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &s->chips[i]) < 0)
			return kr_err_sys("restore: ioctl KVM_SET_IRQCHIP(chip %u)%s",
					  s->chips[i].chip_id,
					  errno == ENXIO ? ": this VM has no in-kernel irqchip" : "");
	if (s->have_pit && ioctl(vm->vm_fd, KVM_SET_PIT2, &s->pit) < 0)
		return kr_err_sys("restore: ioctl KVM_SET_PIT2%s",
				  errno == ENXIO ? ": this VM has no in-kernel PIT" : "");
	return 0;
}

/* The state a run leaves behind, as after kr_vcpu_prepare: the guest may run on. */
static void mark_runnable(struct kr_vm *vm)
{
	vm->prepare_started = vm->prepared = true;
	vm->cannot_resume = false;
	vm->cannot_resume_why[0] = 0;
}

static const char *platform_name(bool pc, bool pc_devices)
{
	return pc	    ? "the PC platform (cfg.pc: in-kernel irqchip and PIT, PC devices)"
	       : pc_devices ? "the PC devices without the in-kernel irqchip"
			    : "no PC platform";
}

static int check_same_config(struct kr_vm *vm, const struct kr_snapshot *s, const char *what)
{
	if (vm->slots[0].size != s->config.mem_size || (uint32_t)vm->cfg.mode != s->config.mode)
		return kr_err("%s: the snapshot is of a %s VM with %llu bytes of RAM, this VM is "
			      "%s with %llu",
			      what, kr_mode_name((enum kr_mode)s->config.mode),
			      (unsigned long long)s->config.mem_size, kr_mode_name(vm->cfg.mode),
			      (unsigned long long)vm->slots[0].size);
	bool pc_devices = kr_board_has_pc_devices(vm);
	if (vm->cfg.pc != (bool)s->config.pc || pc_devices != (bool)s->config.pc_devices)
		return kr_err_code(KR_E_BAD_SNAPSHOT,
				   "%s: the snapshot is of a VM with %s, this VM has %s", what,
				   platform_name(s->config.pc, s->config.pc_devices),
				   platform_name(vm->cfg.pc, pc_devices));
	return 0;
}

static int reset(struct kr_vm *vm, const struct kr_snapshot *s, bool full)
{
	if (check_vm_for_snapshot(vm, "reset") < 0 || check_same_config(vm, s, "reset") < 0)
		return -1;
	struct snap_module *m = module_get(vm);
	if (!m)
		return -1;
	uint8_t *ram = vm->slots[0].host;
	uint64_t size = vm->slots[0].size;
	bool tracked = !full && m->logging && m->base_id == s->id;
	m->base_id = 0; /* until this reset is through */
	if (log_restart(vm, m) < 0)
		return -1;
	if (tracked) {
		uint64_t words = kr_dirty_log_words(size);
		for (uint64_t w = 0; w < words; w++) {
			for (uint64_t bits = m->bitmap[w]; bits; bits &= bits - 1) {
				uint64_t off = (w * 64 + (uint64_t)__builtin_ctzll(bits)) * PAGE;
				memcpy(ram + off, s->ram + off, PAGE);
			}
		}
	} else {
		memcpy(ram, s->ram, size);
	}
	/* The VM's chips before the vCPU's LAPIC (see the top of this file). */
	if (set_vm_state(vm, s) < 0 ||
	    set_vcpu_state(vm, s, m->sync_regs ? SET_AT_RUN : SET_PLAIN) < 0 ||
	    set_device_state(vm, s) < 0)
		return -1;
	m->base_id = s->id;
	mark_runnable(vm);
	return 0;
}

int kr_vm_reset(struct kr_vm *vm, const struct kr_snapshot *s)
{
	return reset(vm, s, false);
}

int kr_vm_reset_full(struct kr_vm *vm, const struct kr_snapshot *s)
{
	return reset(vm, s, true);
}

static int check_xsave_here(struct kr_vm *vm, const struct kr_snapshot *s)
{
	uint32_t here = xsave_size(vm);
	if (here != s->xsave_size)
		return kr_err_code(KR_E_BAD_SNAPSHOT,
				   "restore: the snapshot's FPU state is %s (%u bytes), this host's "
				   "%s (%u bytes)",
				   s->xsave_size ? "XSAVE" : "KVM_GET_FPU's", s->xsave_size,
				   here ? "XSAVE" : "KVM_GET_FPU's", here);
	return 0;
}

static int set_cpuid(struct kr_vm *vm, const struct kr_snapshot *s)
{
	size_t size = sizeof(struct kvm_cpuid2) + s->ncpuid * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = calloc(1, size);
	if (!c)
		return kr_err_sys("restore: calloc(%zu) for CPUID", size);
	c->nent = s->ncpuid;
	memcpy(c->entries, s->cpuid, s->ncpuid * sizeof(struct kvm_cpuid_entry2));
	int rc = 0;
	if (ioctl(kr_vcpu_current(vm)->fd, KVM_SET_CPUID2, c) < 0)
		rc = kr_err_sys("restore: ioctl KVM_SET_CPUID2(nent=%u)", s->ncpuid);
	free(c);
	vm->cpu = (struct kr_guest_cpu){
		.known = true,
		.maxphyaddr = s->config.cpu_maxphyaddr,
		.features = (s->config.cpu_amd ? KR_X86_CPU_AMD : 0) |
			    (s->config.cpu_gbpages ? KR_X86_CPU_GBPAGES : 0) |
			    (s->config.cpu_la57 ? KR_X86_CPU_LA57 : 0),
	};
	return rc;
}

int kr_vm_restore(struct kr_vm **out, const struct kr_snapshot *s, const struct kr_vm_config *cfg)
{
	*out = NULL;
	if (!cfg || cfg->size != sizeof(*cfg))
		return kr_err_code(KR_E_BAD_ARG, "restore: cfg.size is %zu, expected %zu: set the "
						 "config up with kr_vm_config_init()",
				   cfg ? cfg->size : 0, sizeof(*cfg));
	if (cfg->cpus > 1)
		return kr_err_code(KR_E_BAD_ARG, "restore: not with %u vCPUs (cfg.cpus): a snapshot "
				   "holds one vCPU", cfg->cpus);
	/* The machine the snapshot was taken of: its size, mode and platform. */
	struct kr_vm_config c = *cfg;
	c.mode = (enum kr_mode)s->config.mode;
	c.mem_size = s->config.mem_size;
	c.map_page0 = s->config.map_page0;
	c.pc = s->config.pc;
	c.cpus = s->config.cpus;
	struct kr_vm *vm;
	if (kr_vm_create(&vm, &c) < 0) {
		if (c.pc)
			kr_err_context("restore: the snapshot is of a VM with %s, which could not "
				       "be made here",
				       platform_name(true, true));
		return -1;
	}
	/* A multiboot kernel's machine: the loader added the PC devices, without cfg.pc. */
	if (s->config.pc_devices && kr_board_add_pc_devices(vm) < 0) {
		kr_err_context("restore: the PC devices");
		kr_vm_destroy(vm);
		return -1;
	}
	struct kr_snap_host here;
	kr_snap_host_here(vm, &here);
	struct snap_module *m = NULL;
	/* The host first: nothing is set on a VM from a foreign snapshot. */
	if (kr_snap_check_host(&s->host, &here) < 0 || check_xsave_here(vm, s) < 0 ||
	    check_same_config(vm, s, "restore") < 0 || !(m = module_get(vm)) ||
	    set_cpuid(vm, s) < 0) {
		kr_vm_destroy(vm);
		return -1;
	}
	/*
	 * RAM as in the snapshot: the new VM's is zero but where the board
	 * wrote its MP table, which the snapshot's pages hold if the guest
	 * kept it.
	 */
	if (s->config.pc_devices && s->config.mem_size >= KR_MPTABLE_AREA_END)
		memset(vm->ram + KR_MPTABLE_ADDR, 0, KR_MPTABLE_AREA_END - KR_MPTABLE_ADDR);
	for (uint64_t i = 0; i < s->npages; i++)
		memcpy(vm->ram + s->pages[i] * PAGE, s->ram + s->pages[i] * PAGE, PAGE);
	/*
	 * The VM's chips, then the vCPU (the LAPIC after them), then the
	 * devices. The plain ioctls on a fresh vCPU: KVM_RUN's sync must not be
	 * its first run.
	 */
	if (set_vm_state(vm, s) < 0 || set_vcpu_state(vm, s, SET_PLAIN) < 0 ||
	    set_device_state(vm, s) < 0 || log_restart(vm, m) < 0) {
		kr_vm_destroy(vm);
		return -1;
	}
	m->base_id = s->id;
	mark_runnable(vm);
	*out = vm;
	return 0;
}
