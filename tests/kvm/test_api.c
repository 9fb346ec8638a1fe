/* SPDX-License-Identifier: MIT */
/*
 * test_api.c - the public contract on a real vCPU: kr_copy_to_gva goes
 * through KVM_TRANSLATE and the guest reads what it wrote; a mode the back
 * end drops is refused with KR_E_UNSUPPORTED.
 */
#define _GNU_SOURCE /* pipe2 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "kvmtest.h"

#define HIGH 0xffffffff80000000ull
#define ROM_GPA 0x100000000ull

/* movabs rsi, HIGH + 0xffe; mov ecx, 4; mov dx, 0xe9; rep outsb; hlt */
static const uint8_t print_4_bytes_at_high[] = {
	0x48, 0xbe, 0xfe, 0x0f, 0x00, 0x80, 0xff, 0xff, 0xff, 0xff, 0xb9, 0x04, 0x00,
	0x00, 0x00, 0x66, 0xba, 0xe9, 0x00, 0xf3, 0x6e, 0xf4,
};

UNIT_TEST(api_copy_to_gva_writes_what_the_guest_reads)
{
	struct kr_vm_config cfg;
	struct kr_vm *vm;
	int out[2];
	char buf[16] = {0};
	kr_vm_config_init(&cfg);
	cfg.mem_size = 8u << 20;
	if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0) {
		unit_fail(__FILE__, __LINE__, "pipe2 failed");
		return;
	}
	cfg.console_fd = out[1];
	if (kr_vm_create(&vm, &cfg) < 0) {
		unit_fail(__FILE__, __LINE__, "kr_vm_create: %s", kr_last_error());
		close(out[0]);
		close(out[1]);
		return;
	}
	/* Two virtual pages on physical pages that are not adjacent. */
	const struct kr_mapping maps[] = {
		{.gva = HIGH, .gpa = 0x300000, .size = 0x1000, .flags = KR_MAP_WRITE},
		{.gva = HIGH + 0x1000, .gpa = 0x500000, .size = 0x1000, .flags = KR_MAP_WRITE},
	};
	CHECK_OK(kr_mem_add(vm, ROM_GPA, 0x1000, KR_MEM_READONLY, NULL));
	if (kvmtest_load(vm, print_4_bytes_at_high, sizeof(print_4_bytes_at_high), maps, 2)) {
		CHECK_OK(kr_copy_to_gva(vm, HIGH + 0xffe, "OK!\n", 4));
		const uint8_t *a = kr_gpa_ptr(vm, 0x300ffe, 2), *b = kr_gpa_ptr(vm, 0x500000, 2);
		CHECK(a && memcmp(a, "OK", 2) == 0);
		CHECK(b && memcmp(b, "!\n", 2) == 0);

		/* The ROM slot is identity-mapped (read-only): translated, but refused. */
		CHECK_FAILS_WITH(kr_copy_to_gva(vm, ROM_GPA, "x", 1), "read-only slot");
		CHECK_EQ(kr_last_error_code(), KR_E_GUEST_MEMORY);
		CHECK_FAILS_WITH(kr_copy_to_gva(vm, 0x7ff00000000ull, "x", 1), "not mapped");
		CHECK_EQ(kr_last_error_code(), KR_E_GUEST_MEMORY);

		struct kr_stop s = kvmtest_run(vm);
		CHECK_EQ(s.reason, KR_STOP_HLT);
		if (s.reason != KR_STOP_HLT)
			unit_fail(__FILE__, __LINE__, "stopped: %s", s.message);
		CHECK(read(out[0], buf, sizeof(buf) - 1) == 4);
		CHECK(strcmp(buf, "OK!\n") == 0);
	}
	kr_vm_destroy(vm);
	close(out[0]);
	close(out[1]);
}

/*
 * paged32 runs where the back end keeps CR0.PG without long mode, and is
 * refused with KR_E_UNSUPPORTED where it does not (kvm_pvm): a caller can
 * tell "run it elsewhere" from a broken guest. Checked on either kind.
 */
UNIT_TEST(api_dropped_mode_is_kr_e_unsupported)
{
	struct kr_backend be;
	struct kr_vm_config cfg;
	struct kr_vm *vm;
	static const uint8_t hlt[] = {0xf4};
	struct kr_image img;
	if (kr_backend_probe(&be) < 0) {
		unit_fail(__FILE__, __LINE__, "kr_backend_probe: %s", kr_last_error());
		return;
	}
	kr_vm_config_init(&cfg);
	cfg.mode = KR_MODE_PAGED32;
	cfg.mem_size = 8u << 20;
	if (kr_vm_create(&vm, &cfg) < 0) {
		unit_fail(__FILE__, __LINE__, "kr_vm_create: %s", kr_last_error());
		return;
	}
	CHECK_OK(kr_load_buffer(vm, hlt, sizeof(hlt), NULL, &img));
	int ret = kr_vcpu_prepare(vm, &img);
	if (be.mode[KR_MODE_PAGED32]) {
		CHECK_EQ(ret, 0);
		if (ret < 0)
			unit_fail(__FILE__, __LINE__, "prepare: %s", kr_last_error());
		else
			CHECK_EQ(kvmtest_run(vm).reason, KR_STOP_HLT);
	} else {
		CHECK_EQ(ret, -1);
		CHECK_EQ(kr_last_error_code(), KR_E_UNSUPPORTED);
		CHECK(strstr(kr_last_error(), "cannot run") != NULL);
	}
	kr_vm_destroy(vm);
}
