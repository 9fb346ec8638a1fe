/* SPDX-License-Identifier: MIT */
/*
 * test_checks.c - kr_mem_add's checks on a real VM: a slot whose number is
 * not wanted (slot == NULL) is added and usable; one above the guest's
 * physical address width, or larger than KR_MEM_MAX, is refused.
 */
#include <string.h>

#include "kvmtest.h"

UNIT_TEST(mem_add_with_null_slot_and_bounds)
{
	struct kr_vm_config cfg;
	struct kr_vm *vm;
	kr_vm_config_init(&cfg);
	cfg.mem_size = 4u << 20;
	if (kr_vm_create(&vm, &cfg) < 0) {
		unit_fail(__FILE__, __LINE__, "kr_vm_create: %s", kr_last_error());
		return;
	}
	CHECK_OK(kr_mem_add(vm, 0x40000000, 0x1000, 0, NULL));
	uint8_t *p = kr_gpa_ptr(vm, 0x40000000, 0x1000);
	CHECK(p != NULL);
	CHECK_FAILS_WITH(kr_mem_add(vm, 0x40000000, 0x1000, 0, NULL), "overlaps");
	CHECK_FAILS_WITH(kr_mem_add(vm, 0x100000000ull, 1ull << 40, 0, NULL), "larger than the maximum");

	/* After kr_vcpu_prepare the vCPU's CPUID sets the width. */
	static const uint8_t hlt[] = {0xf4};
	if (kvmtest_load(vm, hlt, sizeof(hlt), NULL, 0)) {
		unsigned bits = vm->cpu.maxphyaddr;
		CHECK(bits >= 32 && bits <= 52);
		char want[64];
		snprintf(want, sizeof(want), "guest's %u-bit physical address space", bits);
		CHECK_FAILS_WITH(kr_mem_add(vm, (1ull << bits) - 0x1000, 0x2000, 0, NULL), want);
	}
	kr_vm_destroy(vm);
}
