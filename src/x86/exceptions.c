/* SPDX-License-Identifier: MIT */
/*
 * exceptions.c - catching the guest's CPU exceptions, for crash reports.
 *
 * With an empty IDT every exception becomes a triple fault, and on AMD the
 * CPU resets the vCPU before KVM reports the shutdown (KVM's SVM shutdown
 * intercept reinitialises the VMCB: the registers read afterwards show
 * RIP=0xfff0 and the reset CR0), so they say nothing about the crash; Intel
 * and the software back end kvm_pvm keep the state. So kvmrun installs an
 * IDT whose 32 exception gates lead to tiny stubs (exception_stubs.S) copied
 * into its own system area. A stub pushes the vector (and a zero where the CPU
 * pushes no error code),
 * saves RDX, and writes to KVMRUN_FAULT_PORT; kvmrun reads the exception frame
 * the CPU pushed and stops the VM with the exact faulting instruction.
 *
 * In long mode every gate uses IST1, a stack of kvmrun's own, so even a guest
 * whose RSP is garbage gets its fault reported; each vCPU has its own TSS,
 * hence its own IST1 stack. A guest that loads its own
 * IDT replaces all this, as it should.
 */
#include <stdio.h>
#include <string.h>

#include "core/bus.h"
#include "core/error.h"
#include "core/run.h"
#include "core/vm.h"
#include "x86/exceptions.h"
#include "x86/translate.h"
#include "x86/x86.h"

#define GATE_INTERRUPT 0x8e /* present, DPL 0, interrupt gate */

static const char *const names[32] = {
	"#DE (divide error)", "#DB (debug)", "NMI", "#BP (breakpoint)", "#OF (overflow)",
	"#BR (bound range)", "#UD (invalid opcode)", "#NM (device not available)",
	"#DF (double fault)", "coprocessor segment overrun", "#TS (invalid TSS)",
	"#NP (segment not present)", "#SS (stack fault)", "#GP (general protection)",
	"#PF (page fault)", "reserved (15)", "#MF (x87 floating point)", "#AC (alignment check)",
	"#MC (machine check)", "#XM (SIMD floating point)", "#VE (virtualization)",
	"#CP (control protection)", "reserved (22)", "reserved (23)", "reserved (24)",
	"reserved (25)", "reserved (26)", "reserved (27)", "#HV (hypervisor injection)",
	"#VC (VMM communication)", "#SX (security)", "reserved (31)",
};

const char *kr_exception_name(unsigned vector)
{
	return vector < 32 ? names[vector] : "not an exception";
}

/* The vectors for which the CPU pushes an error code. */
bool kr_exception_has_error_code(unsigned v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
}

static void write_gate64(uint8_t *g, uint64_t handler)
{
	uint64_t lo = (handler & 0xffff) | (uint64_t)KVMRUN_SEL_CODE64 << 16 |
		      (uint64_t)1 << 32 /* IST1 */ | (uint64_t)GATE_INTERRUPT << 40 |
		      ((handler >> 16) & 0xffff) << 48;
	uint64_t hi = handler >> 32;
	memcpy(g, &lo, 8);
	memcpy(g + 8, &hi, 8);
}

static void write_gate32(uint8_t *g, uint32_t handler)
{
	uint64_t d = (handler & 0xffff) | (uint64_t)KVMRUN_SEL_CODE32 << 16 |
		     (uint64_t)GATE_INTERRUPT << 40 | (uint64_t)(handler >> 16) << 48;
	memcpy(g, &d, 8);
}

int kr_exceptions_install(struct kr_vm *vm, struct kr_mode_setup *ms)
{
	bool is64 = vm->cfg.mode == KR_MODE_LONG;
	size_t gate = is64 ? 16 : 8;
	uint8_t *idt = kr_gpa_ptr(vm, KR_IDT_GPA, 32 * gate);
	uint8_t *stubs = kr_gpa_ptr(vm, KR_STUBS_GPA, 32 * KR_EXCEPTION_STUB_SIZE);
	uint8_t *tss = kr_gpa_ptr(vm, KR_TSS_GPA, sizeof(struct kr_tss64));
	if (!idt || !stubs || !tss)
		return kr_err_context("exception handlers");
	memcpy(stubs, kr_exception_stubs, sizeof(kr_exception_stubs));
	for (unsigned v = 0; v < 32; v++) {
		uint64_t handler = KR_STUBS_GPA + v * KR_EXCEPTION_STUB_SIZE;
		if (is64)
			write_gate64(idt + v * gate, handler);
		else
			write_gate32(idt + v * gate, (uint32_t)handler);
	}
	ms->idt_base = KR_IDT_GPA;
	ms->idt_limit = (uint16_t)(32 * gate - 1);
	if (is64) {
		/* A 64-bit TSS only for IST1: the stack the handlers run on. */
		struct kr_tss64 t = {
			.ist = {KR_EXCEPTION_STACK_TOP},
			.iomap_base = sizeof(struct kr_tss64), /* no I/O permission bitmap */
		};
		memcpy(tss, &t, sizeof(t));
		ms->tss_base = KR_TSS_GPA;
		/*
		 * Each AP its own TSS and IST1 stack (x86/smp.c loads its TR):
		 * two vCPUs that fault at once must not push onto one stack.
		 */
		for (unsigned id = 1; id < vm->ncpus; id++) {
			uint8_t *ap = kr_gpa_ptr(vm, KR_AP_TSS_GPA(id), KR_AP_SLOT_SIZE);
			if (!ap)
				return kr_err_context("exception handlers of vCPU %u", id);
			memset(ap, 0, KR_AP_SLOT_SIZE);
			t.ist[0] = KR_AP_STACK_TOP(id);
			memcpy(ap, &t, sizeof(t));
		}
	}
	return 0;
}

/*
 * A stub wrote to the fault port: RSP points at what it pushed (RDX, vector,
 * error code) followed by the CPU's frame (RIP, CS, RFLAGS, and in long mode
 * RSP, SS). All of it is guest memory, so it is read through the checked
 * accessor and the vector is checked: a guest can write to this port too.
 */
static int fault_port(struct kr_vm *vm, void *opaque, uint64_t port, void *data, uint32_t size,
		      bool is_write)
{
	(void)opaque, (void)port, (void)data, (void)size;
	struct kvm_regs r;
	struct kvm_sregs s;
	if (!is_write)
		return 0;
	if (kr_vcpu_get_regs(vm, &r) < 0 || kr_vcpu_get_sregs(vm, &s) < 0)
		return -1;
	bool is64 = s.efer & KR_EFER_LMA;
	size_t word = is64 ? 8 : 4, nwords = is64 ? 8 : 6;
	uint8_t raw[64];
	uint64_t w[8] = {0};
	if (kr_copy_from_gva(vm, r.rsp, raw, word * nwords) < 0) {
		char msg[200];
		snprintf(msg, sizeof(msg), "unreadable exception report on port 0x%x: %s",
			 KVMRUN_FAULT_PORT, kr_last_error());
		kr_vm_stop(vm, KR_STOP_GUEST_ERROR, 0, msg);
		return 0;
	}
	for (size_t i = 0; i < nwords; i++)
		memcpy(&w[i], raw + i * word, word);
	if (w[1] >= 32) {
		kr_vm_stop(vm, KR_STOP_GUEST_ERROR, 0, "bogus exception report on kvmrun's fault port");
		return 0;
	}
	struct kr_exception e = {
		.vector = (unsigned)w[1], .name = kr_exception_name((unsigned)w[1]),
		.error_code = w[2], .rip = w[3], .cs = (uint16_t)w[4], .rflags = w[5],
		.rsp = is64 ? w[6] : r.rsp + nwords * word, /* 32-bit: no SS:ESP pushed */
		.ss = is64 ? (uint16_t)w[7] : s.ss.selector, .cr2 = s.cr2,
	};
	struct kr_stop st = {.reason = KR_STOP_EXCEPTION};
	char *msg = st.message;
	int n = snprintf(msg, sizeof(st.message), "guest exception %s, vector %u", e.name, e.vector);
	if (kr_exception_has_error_code(e.vector))
		n += snprintf(msg + n, sizeof(st.message) - (size_t)n, ", error code 0x%llx",
			      (unsigned long long)e.error_code);
	if (e.vector == 14)
		snprintf(msg + n, sizeof(st.message) - (size_t)n, ", at address 0x%llx (CR2)",
			 (unsigned long long)e.cr2);

	/* The state at the faulting instruction, as the crash report shows it. */
	r.rdx = w[0], r.rip = e.rip, r.rsp = e.rsp, r.rflags = e.rflags;
	st.have_exception = true;
	st.exception = e;
	st.have_state = true;
	st.regs = r;
	st.sregs = s;
	kr_vm_stop_with(vm, &st);
	return 0;
}

int kr_exceptions_register(struct kr_vm *vm)
{
	return kr_bus_register(vm, KR_SPACE_PIO, KVMRUN_FAULT_PORT, 1, fault_port, NULL);
}
