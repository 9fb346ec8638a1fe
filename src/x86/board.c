/* SPDX-License-Identifier: MIT */
/*
 * board.c - the machine kvmrun builds on x86: what it sets before the vCPU
 * exists, and the devices it has. A new device is a file of its own under
 * devices/ and one line in board_devices() below; the core never learns its
 * name (it registers its own ranges and hooks).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/error.h"
#include "core/vm.h"
#include "devices/console.h"
#include "devices/debugexit.h"
#include "devices/fwcfg.h"
#include "devices/hypercall.h"
#include "devices/irqchip.h"
#include "devices/i8042.h"
#include "devices/postcode.h"
#include "devices/rtc.h"
#include "devices/uart.h"
#include "x86/board.h"
#include "x86/cpuid.h"
#include "x86/exceptions.h"
#include "x86/mptable.h"
#include "x86/smp.h"

/*
 * Intel VMX needs three pages for a real-mode TSS and one for an identity
 * page table (used while the guest runs unpaged). They must be below 4 GiB
 * and clear of RAM and MMIO: RAM ends at KR_MEM_MAX (3 GiB), and the BIOS
 * area starts at 0xfffc0000, so these four pages sit just below it.
 */
#define KR_TSS_ADDR 0xfffbd000ull
#define KR_IDENTITY_MAP_ADDR 0xfffbc000ull

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
	/* The PC platform's interrupt controllers: the vCPU's LAPIC is created with it. */
	if (vm->cfg.pc && kr_irqchip_create(vm) < 0)
		return -1;
	return 0;
}

/* KVMRUN_HC_EXIT: the guest is done. */
static int hc_exit(struct kr_vm *vm, void *opaque, uint64_t status, uint64_t unused)
{
	(void)opaque, (void)unused;
	char msg[160];
	/*
	 * The whole status, not its low byte: cut to 8 bits, 256 would pass
	 * for success. The embedder decides what it accepts (kvmrun: 0..123).
	 */
	snprintf(msg, sizeof(msg), "guest exited with status %llu", (unsigned long long)status);
	kr_vm_stop(vm, KR_STOP_EXIT, status > INT_MAX ? INT_MAX : (int)status, msg);
	return 0;
}

/* KVMRUN_HC_SNAPSHOT: stop, so that the embedder takes a snapshot and runs on. */
static int hc_snapshot(struct kr_vm *vm, void *opaque, uint64_t unused0, uint64_t unused1)
{
	(void)opaque, (void)unused0, (void)unused1;
	kr_vm_stop(vm, KR_STOP_SNAPSHOT, 0, "the guest asked for a snapshot");
	return 0;
}

/*
 * After a triple fault on AMD the vCPU has been reset (RIP 0xfff0, CS base
 * 0xffff0000) before KVM reports the shutdown: say so rather than blame that
 * address.
 */
static void on_stop(struct kr_vm *vm, void *opaque, struct kr_stop *stop)
{
	(void)vm, (void)opaque;
	stop->cpu_was_reset = stop->reason == KR_STOP_SHUTDOWN && stop->regs.rip == 0xfff0 &&
			      stop->sregs.cs.base == 0xffff0000;
	size_t len = strlen(stop->message);
	if (stop->cpu_was_reset)
		snprintf(stop->message + len, sizeof(stop->message) - len,
			 "; the CPU reset the vCPU before KVM reported it, so the faulting "
			 "address is unknown");
}

/* KVMRUN_HC_START_CPU: an AP of a flat guest starts (x86/smp.c; RCX, RBX read there). */
static int hc_start_cpu(struct kr_vm *vm, void *opaque, uint64_t cpu, uint64_t entry)
{
	(void)opaque;
	return kr_x86_start_cpu(vm, cpu, entry);
}

static const struct kr_hooks board_hooks = {.name = "x86 board", .on_stop = on_stop};

/* The machine's devices; the hypercall port first, for the table others add to. */
int kr_board_add_devices(struct kr_vm *vm)
{
	if (kr_vm_add_module(vm, &board_hooks, NULL) < 0 || kr_hypercall_register(vm) < 0 ||
	    kr_hypercall_add(vm, KVMRUN_HC_EXIT, hc_exit, NULL) < 0 ||
	    kr_hypercall_add(vm, KVMRUN_HC_SNAPSHOT, hc_snapshot, NULL) < 0 ||
	    kr_hypercall_add(vm, KVMRUN_HC_START_CPU, hc_start_cpu, NULL) < 0 ||
	    kr_console_register(vm) < 0 || kr_uart_register(vm) < 0 ||
	    kr_exceptions_register(vm) < 0)
		return -1;
	/* A PC (kvmrun boot): its devices, and ports nobody claims read as an empty ISA bus. */
	if (vm->cfg.pc) {
		if (kr_board_add_pc_devices(vm) < 0)
			return -1;
		vm->unclaimed_pio = kr_open_bus_io;
	}
	return 0;
}

/*
 * The PC devices that kernels written for QEMU's PC expect (multiboot test
 * kernels): fw_cfg, the isa-debug-exit port, the keyboard controller, port
 * 0x80, the CMOS clock, and the MP table in the BIOS area. Not in every VM: on kvmrun's own guests these ports stay
 * unhandled, so a stray write there is still reported as one. A marker
 * module makes a second call a no-op.
 */
static const struct kr_hooks pc_hooks = {.name = "PC devices"};

int kr_board_add_pc_devices(struct kr_vm *vm)
{
	if (kr_vm_module(vm, &pc_hooks))
		return 0;
	if (kr_vm_add_module(vm, &pc_hooks, vm) < 0 || kr_fwcfg_register(vm) < 0 ||
	    kr_debugexit_register(vm) < 0 || kr_i8042_register(vm) < 0 ||
	    kr_postcode_register(vm) < 0 || kr_rtc_register(vm) < 0)
		return -1;
	/* How the guest finds its CPUs and I/O APIC: the MP table (no ACPI). */
	if (kr_mptable_write(vm, vm->cfg.cpus) < 0)
		return -1;
	return 0;
}

bool kr_board_has_pc_devices(const struct kr_vm *vm)
{
	return kr_vm_module(vm, &pc_hooks) != NULL;
}

/* The devices with snapshot state, by their hooks' names; pc: only with the PC devices. */
static const struct {
	const char *name;
	int (*check)(const void *state, size_t len);
	bool pc;
} device_states[] = {
    {"console", kr_console_check_state, false}, {"uart", kr_uart_check_state, false},
    {"fw_cfg", kr_fwcfg_check_state, true},	{"i8042", kr_i8042_check_state, true},
    {"rtc", kr_rtc_check_state, true},
};

int kr_board_check_device_state(const char *name, const void *state, size_t len, bool pc_devices)
{
	for (size_t i = 0; i < sizeof(device_states) / sizeof(device_states[0]); i++) {
		if (strcmp(name, device_states[i].name) != 0)
			continue;
		if (device_states[i].pc && !pc_devices)
			return kr_err("device '%s' is one of the PC devices, which the "
				      "configuration does not have",
				      name);
		return device_states[i].check(state, len);
	}
	return kr_err("no device '%.31s' with state on this machine", name);
}

unsigned kr_board_devices_with_state(bool pc_devices)
{
	unsigned n = 0;
	for (size_t i = 0; i < sizeof(device_states) / sizeof(device_states[0]); i++)
		n += !device_states[i].pc || pc_devices;
	return n;
}

static int check_config(const struct kr_vm_config *cfg)
{
	return kr_console_check_config(cfg) < 0 || kr_uart_check_config(cfg) < 0 ? -1 : 0;
}

const struct kr_vm_board kr_x86_board = {
	.check_config = check_config,
	.before_vcpu = set_system_addresses,
	.add_devices = kr_board_add_devices,
	.host_phys_bits = kr_cpuid_host_phys_bits,
};

int kr_vm_create(struct kr_vm **out, const struct kr_vm_config *cfg)
{
	return kr_vm_new(out, cfg, &kr_x86_board);
}

int kr_vm_create_detached(struct kr_vm **out, const struct kr_vm_config *cfg)
{
	return kr_vm_new_detached(out, cfg, &kr_x86_board);
}
