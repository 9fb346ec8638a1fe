/* SPDX-License-Identifier: MIT */
/* names.c - KVM_EXIT_* numbers as the names in <linux/kvm.h>, for messages. */
#include "kvmrun.h"

#define NAME(x) [x] = #x

static const char *const exit_names[] = {
	NAME(KVM_EXIT_UNKNOWN),       NAME(KVM_EXIT_EXCEPTION),     NAME(KVM_EXIT_IO),
	NAME(KVM_EXIT_HYPERCALL),     NAME(KVM_EXIT_DEBUG),         NAME(KVM_EXIT_HLT),
	NAME(KVM_EXIT_MMIO),          NAME(KVM_EXIT_IRQ_WINDOW_OPEN), NAME(KVM_EXIT_SHUTDOWN),
	NAME(KVM_EXIT_FAIL_ENTRY),    NAME(KVM_EXIT_INTR),          NAME(KVM_EXIT_SET_TPR),
	NAME(KVM_EXIT_TPR_ACCESS),    NAME(KVM_EXIT_S390_SIEIC),    NAME(KVM_EXIT_S390_RESET),
	NAME(KVM_EXIT_DCR),           NAME(KVM_EXIT_NMI),           NAME(KVM_EXIT_INTERNAL_ERROR),
	NAME(KVM_EXIT_OSI),           NAME(KVM_EXIT_PAPR_HCALL),    NAME(KVM_EXIT_S390_UCONTROL),
	NAME(KVM_EXIT_WATCHDOG),      NAME(KVM_EXIT_S390_TSCH),     NAME(KVM_EXIT_EPR),
	NAME(KVM_EXIT_SYSTEM_EVENT),  NAME(KVM_EXIT_S390_STSI),     NAME(KVM_EXIT_IOAPIC_EOI),
	NAME(KVM_EXIT_HYPERV),        NAME(KVM_EXIT_ARM_NISV),      NAME(KVM_EXIT_X86_RDMSR),
	NAME(KVM_EXIT_X86_WRMSR),     NAME(KVM_EXIT_DIRTY_RING_FULL), NAME(KVM_EXIT_AP_RESET_HOLD),
	NAME(KVM_EXIT_X86_BUS_LOCK),  NAME(KVM_EXIT_XEN),           NAME(KVM_EXIT_RISCV_SBI),
	NAME(KVM_EXIT_RISCV_CSR),     NAME(KVM_EXIT_NOTIFY),
};

const char *kr_exit_name(uint32_t exit_reason)
{
	if (exit_reason < sizeof(exit_names) / sizeof(exit_names[0]) && exit_names[exit_reason])
		return exit_names[exit_reason];
	return "KVM_EXIT_(unknown)";
}

static const char *const stop_names[] = {
	[KR_STOP_HLT] = "hlt",
	[KR_STOP_EXIT] = "exit",
	[KR_STOP_SHUTDOWN] = "shutdown",
	[KR_STOP_FAIL_ENTRY] = "fail-entry",
	[KR_STOP_INTERNAL_ERROR] = "internal-error",
	[KR_STOP_SYSTEM_EVENT] = "system-event",
	[KR_STOP_UNHANDLED] = "unhandled",
	[KR_STOP_GUEST_ERROR] = "guest-error",
	[KR_STOP_REQUESTED] = "requested",
	[KR_STOP_TIMEOUT] = "timeout",
	[KR_STOP_OUTPUT_LIMIT] = "output-limit",
	[KR_STOP_EXCEPTION] = "exception",
	[KR_STOP_GUEST_PANIC] = "guest-panic",
	[KR_STOP_RESET] = "reset",
	[KR_STOP_SNAPSHOT] = "snapshot",
};

const char *kr_stop_reason_name(enum kr_stop_reason reason)
{
	if ((unsigned)reason < sizeof(stop_names) / sizeof(stop_names[0]))
		return stop_names[reason];
	return "unknown";
}
