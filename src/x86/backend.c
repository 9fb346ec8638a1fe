/* SPDX-License-Identifier: MIT */
/*
 * backend.c - what this host's KVM can run.
 *
 * /dev/kvm is not one thing: hardware VT-x or AMD-V, the same offered by a
 * hypervisor underneath (nested), or a software back end such as kvm_pvm,
 * which runs paging only in long mode, has no 1 GiB pages and reports some
 * exits differently. kr_backend_probe() finds out by asking the back end
 * itself where it can: it sets each mode's special registers on a scratch
 * vCPU and reads them back (a back end may accept KVM_SET_SREGS and keep
 * less), reads the supported CPUID, and runs two three-byte guests for the
 * behaviours no register shows. The module name is reported, never relied on.
 */
#include <asm/processor-flags.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/error.h"
#include "core/kvm.h"
#include "core/vm.h"
#include "x86/cpuid.h"
#include "x86/gdt.h"
#include "x86/modes.h"
#include "x86/vcpu.h"
#include "x86/x86.h"

const char *kr_backend_kind_name(enum kr_backend_kind kind)
{
	switch (kind) {
	case KR_BACKEND_HARDWARE:
		return "hardware";
	case KR_BACKEND_NESTED:
		return "nested";
	case KR_BACKEND_SOFTWARE:
		return "software";
	default:
		return "unknown";
	}
}

/* The kvm module that registered /dev/kvm, from /sys/module. */
static void find_module(struct kr_backend *b)
{
	static const char *const modules[] = {"kvm_pvm", "kvm_intel", "kvm_amd"};
	for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
		char path[64];
		snprintf(path, sizeof(path), "/sys/module/%s", modules[i]);
		if (access(path, F_OK) == 0) {
			snprintf(b->module, sizeof(b->module), "%s", modules[i]);
			return;
		}
	}
}

/* Does the host's /proc/cpuinfo list this flag (" vmx", " svm", " hypervisor")? */
static bool host_cpu_flag(const char *flag)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return false;
	char line[4096];
	bool found = false;
	size_t n = strlen(flag);
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		for (const char *p = strstr(line, flag); p && !found; p = strstr(p + 1, flag))
			found = p > line && p[-1] == ' ' && (p[n] == ' ' || p[n] == '\n');
		break; /* the first CPU speaks for all */
	}
	fclose(f);
	return found;
}

static void classify(struct kr_backend *b)
{
	find_module(b);
	bool virt = host_cpu_flag("vmx") || host_cpu_flag("svm");
	if (strcmp(b->module, "kvm_pvm") == 0 || (!virt && b->module[0]))
		b->kind = KR_BACKEND_SOFTWARE;
	else if (virt)
		b->kind = host_cpu_flag("hypervisor") ? KR_BACKEND_NESTED : KR_BACKEND_HARDWARE;
}

/* Set `mode`'s special registers and read them back: does the vCPU keep them? */
static int mode_sticks(struct kr_vm *vm, enum kr_mode mode, bool pae32, bool *sticks)
{
	/* A zeroed page for CR3: nothing runs, the tables only have to exist. */
	struct kr_mode_setup ms = {.gdt_base = KR_GDT_GPA, .cr3 = KR_PAGE_TABLES_GPA};
	struct kvm_sregs s;
	if (kr_vcpu_get_sregs(vm, &s) < 0)
		return -1;
	kr_sregs_for_mode(mode, &ms, &s);
	if (pae32) /* PAE paging without long mode: no mode of kvmrun's own */
		s.cr4 = (s.cr4 & ~(uint64_t)X86_CR4_PSE) | X86_CR4_PAE;
	if (ioctl(kr_vcpu_current(vm)->fd, KVM_SET_SREGS, &s) < 0) {
		*sticks = false; /* refused outright: the same answer */
		return 0;
	}
	*sticks = kr_sregs_readback(vm, &s) == 0;
	return 0;
}

/*
 * A real-mode guest of a few bytes at 0x7C00, in a VM of 2 MiB whose every
 * other byte is a HLT: real mode reaches no further than 0x10ffef, so
 * wherever the back end sends the vCPU (kvm_pvm vectors a real-mode
 * exception through the IVT even when the IDT limit is 0), it ends in an
 * exit, and KVM_RUN cannot run on. With dbg, guest debugging is set first
 * (KVM_SET_GUEST_DEBUG). Returns the exit and, in *rip, where the
 * vCPU stands after it.
 */
static int run_debug_probe(const uint8_t *code, size_t len, const struct kvm_guest_debug *dbg,
			   uint32_t *exit_reason, uint64_t *rip)
{
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.mode = KR_MODE_REAL;
	cfg.mem_size = KR_MEM_MIN;
	struct kr_vm *vm;
	if (kr_vm_create(&vm, &cfg) < 0)
		return -1;
	int rc = -1;
	bool nx;
	memset(vm->ram, 0xf4, cfg.mem_size); /* hlt */
	memcpy(vm->ram + KVMRUN_REAL_MODE_LOAD_ADDR, code, len);
	struct kr_mode_setup ms = {0};
	struct kvm_sregs s;
	struct kvm_regs regs = {.rip = KVMRUN_REAL_MODE_LOAD_ADDR, .rsp = 0x7000, .rflags = 0x2};
	if (kr_cpuid_setup(vm, &nx) < 0 || kr_vcpu_get_sregs(vm, &s) < 0)
		goto out;
	kr_sregs_for_mode(KR_MODE_REAL, &ms, &s);
	if (kr_vcpu_set_sregs(vm, &s) < 0 || kr_vcpu_set_regs(vm, &regs) < 0)
		goto out;
	if (dbg && ioctl(kr_vcpu_current(vm)->fd, KVM_SET_GUEST_DEBUG, dbg) < 0) {
		kr_err_sys("back-end probe: ioctl KVM_SET_GUEST_DEBUG(control 0x%x)", dbg->control);
		goto out;
	}
	int r;
	do
		r = ioctl(kr_vcpu_current(vm)->fd, KVM_RUN, 0);
	while (r < 0 && (errno == EINTR || errno == EAGAIN));
	if (r < 0) {
		kr_err_sys("back-end probe: ioctl KVM_RUN(vcpu fd %d)", kr_vcpu_current(vm)->fd);
		goto out;
	}
	*exit_reason = kr_vcpu_current(vm)->run->exit_reason;
	if (kr_vcpu_get_regs(vm, &regs) < 0)
		goto out;
	*rip = regs.rip;
	rc = 0;
out:
	kr_vm_destroy(vm);
	return rc;
}

/* The same, without guest debugging. */
static int run_real_mode_probe(const uint8_t *code, size_t len, uint32_t *exit_reason,
			       uint64_t *rip)
{
	return run_debug_probe(code, len, NULL, exit_reason, rip);
}

static int probe_modes(struct kr_backend *b)
{
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.mem_size = KR_MEM_MIN;
	struct kr_vm *vm;
	if (kr_vm_create(&vm, &cfg) < 0)
		return -1;
	bool nx;
	int rc = kr_cpuid_setup(vm, &nx);
	/* CR4 bits must be in the vCPU's CPUID before KVM_SET_SREGS takes them. */
	for (int m = KR_MODE_REAL; rc == 0 && m <= KR_MODE_LONG; m++)
		rc = mode_sticks(vm, (enum kr_mode)m, false, &b->mode[m]);
	if (rc == 0)
		rc = mode_sticks(vm, KR_MODE_PAGED32, true, &b->pae32);
	b->gbpages = vm->cpu.features & KR_X86_CPU_GBPAGES;
	b->la57 = vm->cpu.features & KR_X86_CPU_LA57;
	b->amd = vm->cpu.features & KR_X86_CPU_AMD;
	b->maxphyaddr = vm->cpu.maxphyaddr;
	kr_vm_destroy(vm);
	return rc;
}

/*
 * What a debugger can have (kr_gdb_serve): the capability says little
 * (kvm_pvm has KVM_CAP_SET_GUEST_DEBUG and ignores data breakpoints), so
 * each part is tried on a real-mode guest of a few instructions.
 */
static int probe_debug(struct kr_backend *b)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return kr_err_sys("back-end probe: open /dev/kvm");
	int cap = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG);
	close(kvm);
	b->guest_debug = cap > 0;
	if (!b->guest_debug)
		return 0;
	/* nop; nop; nop; mov byte [0x1000], 0x55; nop; hlt */
	static const uint8_t code[] = {0x90, 0x90, 0x90, 0xc6, 0x06, 0x00, 0x10, 0x55, 0x90, 0xf4};
	const uint64_t at = KVMRUN_REAL_MODE_LOAD_ADDR;
	struct kvm_guest_debug d = {.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP};
	uint32_t exit_reason;
	uint64_t rip;
	if (run_debug_probe(code, sizeof(code), &d, &exit_reason, &rip) < 0)
		return kr_err_context("back-end probe (single step)");
	b->debug_singlestep = exit_reason == KVM_EXIT_DEBUG && rip == at + 1;

	/* An execution breakpoint on the third nop: DR7.L0, R/W0 = 00 (execute). */
	memset(&d, 0, sizeof(d));
	d.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
	d.arch.debugreg[0] = at + 2;
	d.arch.debugreg[7] = 0x401;
	if (run_debug_probe(code, sizeof(code), &d, &exit_reason, &rip) < 0)
		return kr_err_context("back-end probe (execution breakpoint)");
	b->debug_hw_breakpoints = exit_reason == KVM_EXIT_DEBUG && rip == at + 2;

	/* A write watchpoint on the byte the mov writes: R/W0 = 01, LEN0 = 00. */
	d.arch.debugreg[0] = 0x1000;
	d.arch.debugreg[7] = 0x401 | (1u << 16);
	if (run_debug_probe(code, sizeof(code), &d, &exit_reason, &rip) < 0)
		return kr_err_context("back-end probe (write watchpoint)");
	/* A data breakpoint is a trap: RIP is past the mov. */
	b->debug_watchpoints = exit_reason == KVM_EXIT_DEBUG && rip == at + 8;
	return 0;
}

int kr_backend_probe(struct kr_backend *b)
{
	memset(b, 0, sizeof(*b));
	classify(b);
	if (probe_modes(b) < 0)
		return kr_err_context("back-end probe");

	/* out 0x99, al: where is RIP when the exit reaches us? */
	static const uint8_t out_insn[] = {0xe6, 0x99};
	uint32_t exit_reason;
	uint64_t rip;
	if (run_real_mode_probe(out_insn, sizeof(out_insn), &exit_reason, &rip) < 0)
		return kr_err_context("back-end probe (port exit)");
	if (exit_reason != KVM_EXIT_IO)
		return kr_err("back-end probe: `out 0x99, al` ended in %s, not KVM_EXIT_IO",
			      kr_exit_name(exit_reason));
	b->rip_past_out = rip == KVMRUN_REAL_MODE_LOAD_ADDR + sizeof(out_insn);

	/* lidt of an empty table, then ud2: #UD cannot be delivered, a triple fault. */
	static const uint8_t triple[] = {
		0x0f, 0x01, 0x1e, 0x09, 0x7c, /* lidt [0x7c09] */
		0x0f, 0x0b,                   /* ud2 */
		0xf4, 0xf4,                   /* hlt (not reached) */
		0, 0, 0, 0, 0, 0,             /* the IDTR image at 0x7c09: limit 0, base 0 */
	};
	if (run_real_mode_probe(triple, sizeof(triple), &exit_reason, &rip) < 0)
		return kr_err_context("back-end probe (real-mode triple fault)");
	b->real_mode_triple_fault_exit = exit_reason;
	b->real_mode_shutdown = exit_reason == KVM_EXIT_SHUTDOWN;
	return probe_debug(b);
}

/* The feature names `kvmrun info` prints and the tests ask for. */
size_t kr_backend_features(const struct kr_backend *b, struct kr_feature *out, size_t max)
{
	const struct kr_feature all[] = {
		{"real", b->mode[KR_MODE_REAL]},
		{"protected", b->mode[KR_MODE_PROTECTED]},
		{"paged32", b->mode[KR_MODE_PAGED32]},
		{"long", b->mode[KR_MODE_LONG]},
		{"pae32", b->pae32},
		{"1g-pages", b->gbpages},
		{"la57", b->la57},
		{"real-mode-shutdown", b->real_mode_shutdown},
		{"rip-at-out", !b->rip_past_out},
		/* Guests that run much code (a Linux boot): minutes, not hours, away from software. */
		{"fast-guest-code", b->kind != KR_BACKEND_SOFTWARE},
		{"gdb", b->guest_debug},
		{"gdb-singlestep", b->debug_singlestep},
		{"gdb-hw-breakpoints", b->debug_hw_breakpoints},
		{"gdb-watchpoints", b->debug_watchpoints},
	};
	size_t n = sizeof(all) / sizeof(all[0]);
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = all[i];
	return n;
}
