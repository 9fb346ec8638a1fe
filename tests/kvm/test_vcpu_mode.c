/* SPDX-License-Identifier: MIT */
/*
 * test_vcpu_mode.c - hypercall arguments and guest virtual addresses follow
 * the mode the vCPU is in, not the mode the VM was configured with. A guest
 * may switch modes itself; here the test switches them with
 * kr_vcpu_set_sregs before the run, as the guest's own switch would.
 *   - a protected-mode VM in long mode passes a pointer above 4 GiB whole;
 *   - a long-mode VM in compatibility mode or 32-bit protected mode has the
 *     upper halves of RDI and RSI ignored (the 32-bit code cannot see them),
 *     and no linear address above 4 GiB exists for it.
 */
#include <asm/processor-flags.h>
#include <string.h>
#include <unistd.h>

#include "kvmtest.h"

#define PTE_P 1ull
#define PTE_RW 2ull
#define PTE_PS 0x80ull




static uint64_t *table(struct kr_vm *vm, uint64_t gpa)
{
	uint64_t *t = kr_gpa_ptr(vm, gpa, 4096);
	if (t)
		memset(t, 0, 4096);
	return t;
}

/*
 * Long-mode tables at 0x200000: [0, 8 MiB) identity-mapped, and the 2 MiB
 * page at 4 GiB mapped to physical 0x400000. Returns the PML4's address.
 */
static uint64_t build_tables_with_4gib_page(struct kr_vm *vm)
{
	uint64_t *l4 = table(vm, 0x200000), *l3 = table(vm, 0x201000), *l2 = table(vm, 0x202000),
		 *l2_high = table(vm, 0x203000);
	if (!l4 || !l3 || !l2 || !l2_high)
		return 0;
	l4[0] = 0x201000 | PTE_P | PTE_RW;
	l3[0] = 0x202000 | PTE_P | PTE_RW;
	l3[4] = 0x203000 | PTE_P | PTE_RW; /* [4 GiB, 5 GiB) */
	for (uint64_t i = 0; i < 4; i++)
		l2[i] = i << 21 | PTE_P | PTE_RW | PTE_PS;
	l2_high[0] = 0x400000 | PTE_P | PTE_RW | PTE_PS;
	return 0x200000;
}

UNIT_TEST(mode_protected_vm_in_long_mode_passes_pointers_above_4gib)
{
	/* movabs rdi,0x100000010; mov esi,5; mov eax,KVMRUN_HC_WRITE; mov dx,0x500; out dx,eax; hlt */
	static const uint8_t code[] = {0x48, 0xbf, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
				       0xbe, 0x05, 0x00, 0x00, 0x00, 0xb8, 0x01, 0x00, 0x00, 0x00,
				       0x66, 0xba, 0x00, 0x05, 0xef, 0xf4};
	struct kvmtest_vm g;
	struct kvm_sregs sregs;
	uint64_t root = 0;
	if (!kvmtest_start(&g, KR_MODE_PROTECTED))
		return;
	if (kvmtest_load(g.vm, code, sizeof(code), NULL, 0) &&
	    (root = build_tables_with_4gib_page(g.vm)) && kr_vcpu_get_sregs(g.vm, &sregs) == 0) {
		memcpy(kr_gpa_ptr(g.vm, 0x400010, 5), "hello", 5);
		memcpy(kr_gpa_ptr(g.vm, 0x10, 5), "WRONG", 5); /* where a pointer cut to 32 bits goes */
		/* What the guest's own switch to long mode would do. */
		sregs.cr3 = root;
		sregs.cr4 |= X86_CR4_PAE;
		sregs.cr0 |= X86_CR0_PG;
		sregs.efer |= KR_EFER_LME | KR_EFER_LMA;
		kr_gdt_segment(KVMRUN_SEL_CODE64, &sregs.cs);
		CHECK_OK(kr_vcpu_set_sregs(g.vm, &sregs));

		struct kr_translation t;
		CHECK_OK(kr_translate(g.vm, 0x100000010, &t));
		CHECK(t.valid);
		CHECK_EQ(t.gpa, 0x400010);
		struct kr_stop s = kvmtest_run(g.vm);
		CHECK_EQ(s.reason, KR_STOP_HLT);
		if (s.reason != KR_STOP_HLT)
			unit_fail(__FILE__, __LINE__, "stop: %s", s.message);
		CHECK(strcmp(kvmtest_output(&g), "hello") == 0);
	}
	kvmtest_end(&g);
}

/* mov eax,KVMRUN_HC_WRITE; mov dx,0x500; out dx,eax; hlt -- 32-bit code; EDI, ESI set by the test */
static const uint8_t write32[] = {0xb8, 0x01, 0x00, 0x00, 0x00, 0x66, 0xba,
				  0x00, 0x05, 0xef, 0xf4};

/*
 * A long-mode VM whose vCPU the test puts in a 32-bit mode: `to_32bit`
 * edits the special registers. RDI and RSI carry garbage above bit 31
 * (32-bit code cannot clear what it cannot see); the write must use EDI, ESI.
 */
static void write_from_32bit_code(void (*to_32bit)(struct kvm_sregs *), const char *text)
{
	struct kvmtest_vm g;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	size_t len = strlen(text);
	if (!kvmtest_start(&g, KR_MODE_LONG))
		return;
	if (kvmtest_load(g.vm, write32, sizeof(write32), NULL, 0) &&
	    kr_vcpu_get_sregs(g.vm, &sregs) == 0 && kr_vcpu_get_regs(g.vm, &regs) == 0) {
		memcpy(kr_gpa_ptr(g.vm, 0x300010, len), text, len);
		to_32bit(&sregs);
		CHECK_OK(kr_vcpu_set_sregs(g.vm, &sregs));
		regs.rdi = 0xdead000100300010ull;
		regs.rsi = 0x0000000100000000ull | len;
		CHECK_OK(kr_vcpu_set_regs(g.vm, &regs));

		struct kr_stop s = kvmtest_run(g.vm);
		CHECK_EQ(s.reason, KR_STOP_HLT);
		if (s.reason != KR_STOP_HLT)
			unit_fail(__FILE__, __LINE__, "stop: %s", s.message);
		CHECK(strcmp(kvmtest_output(&g), text) == 0);
	}
	kvmtest_end(&g);
}

/* Compatibility mode: long mode stays active (EFER.LMA), CS is a 32-bit segment. */
static void to_compatibility_mode(struct kvm_sregs *sregs)
{
	kr_gdt_segment(KVMRUN_SEL_CODE32, &sregs->cs);
}

UNIT_TEST(mode_long_vm_in_compatibility_mode_masks_arguments)
{
	write_from_32bit_code(to_compatibility_mode, "compat");
}

/* Long mode left: paging off, EFER.LME and LMA clear, a 32-bit CS. */
static void to_protected_mode(struct kvm_sregs *sregs)
{
	sregs->cr0 &= ~(uint64_t)X86_CR0_PG;
	sregs->cr4 &= ~(uint64_t)X86_CR4_PAE;
	sregs->efer &= ~(KR_EFER_LME | KR_EFER_LMA);
	kr_gdt_segment(KVMRUN_SEL_CODE32, &sregs->cs);
}

UNIT_TEST(mode_long_vm_in_protected_mode_masks_arguments)
{
	write_from_32bit_code(to_protected_mode, "protected");
}

UNIT_TEST(mode_long_vm_in_protected_mode_has_no_address_above_4gib)
{
	struct kvmtest_vm g;
	struct kvm_sregs sregs;
	if (!kvmtest_start(&g, KR_MODE_LONG))
		return;
	if (kvmtest_load(g.vm, write32, sizeof(write32), NULL, 0) &&
	    kr_vcpu_get_sregs(g.vm, &sregs) == 0) {
		struct kr_translation t;
		char buf[4];
		/* In long mode with kvmrun's tables, RAM is mapped at its own address... */
		CHECK_OK(kr_translate(g.vm, 0x300010, &t));
		CHECK(t.valid);
		to_protected_mode(&sregs);
		CHECK_OK(kr_vcpu_set_sregs(g.vm, &sregs));
		/*
		 * ...and without paging, linear is physical, but only below 4 GiB:
		 * KVM_TRANSLATE would hand back 0x100300010 (or its low half) as is.
		 */
		CHECK_OK(kr_translate(g.vm, 0x300010, &t));
		CHECK(t.valid);
		CHECK_EQ(t.gpa, 0x300010);
		CHECK_OK(kr_translate(g.vm, 0x100300010, &t));
		CHECK(!t.valid);
		CHECK_FAILS_WITH(kr_copy_from_gva(g.vm, 0x100300010, buf, sizeof(buf)),
				 "0x100300010 is not mapped");
	}
	kvmtest_end(&g);
}
