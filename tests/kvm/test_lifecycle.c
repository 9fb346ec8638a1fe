/* SPDX-License-Identifier: MIT */
/*
 * test_lifecycle.c - the order of library calls, and what each order does:
 * running before kr_vcpu_prepare, preparing twice, running again after each
 * kind of stop (the guest resumes where it stopped, unless the stop was a
 * crash or a VMM failure), and kr_vm_run from inside a run.
 */
#include <string.h>
#include <unistd.h>

#include "kvmtest.h"




static const uint8_t hlt[] = {0xf4};

UNIT_TEST(lifecycle_run_without_prepare_fails)
{
	struct kvmtest_vm l;
	struct kr_image img;
	struct kr_stop s;
	if (!kvmtest_start(&l, KR_MODE_LONG))
		return;
	CHECK_OK(kr_load_buffer(l.vm, hlt, sizeof(hlt), NULL, &img));
	/* Without it the vCPU would start at the reset vector 0xfff0 (an emulation failure). */
	CHECK_FAILS_WITH(kr_vm_run(l.vm, &s), "call kr_vcpu_prepare() (after loading the image) "
					      "before kr_vm_run()");
	/* Preparing then makes the same VM runnable. */
	CHECK_OK(kr_vcpu_prepare(l.vm, &img));
	CHECK_EQ(kvmtest_run(l.vm).reason, KR_STOP_HLT);
	kvmtest_end(&l);
}

UNIT_TEST(lifecycle_prepare_twice_fails_clearly)
{
	struct kvmtest_vm l;
	struct kr_image img;
	if (!kvmtest_start(&l, KR_MODE_LONG))
		return;
	CHECK_OK(kr_load_buffer(l.vm, hlt, sizeof(hlt), NULL, &img));
	CHECK_OK(kr_vcpu_prepare(l.vm, &img));
	CHECK_FAILS_WITH(kr_vcpu_prepare(l.vm, &img), "kr_vcpu_prepare was already called for "
						      "this VM; it may be called once");
	/* The refused second call left the first one's state alone. */
	CHECK_EQ(kvmtest_run(l.vm).reason, KR_STOP_HLT);
	CHECK_FAILS_WITH(kr_vcpu_prepare(l.vm, &img), "already called");
	kvmtest_end(&l);
}

UNIT_TEST(lifecycle_resumes_after_hlt_and_exit)
{
	/*
	 * mov al,'1'; out 0xe9,al; hlt;
	 * mov al,'2'; out 0xe9,al; mov edi,5; mov eax,KVMRUN_HC_EXIT; mov dx,0x500; out dx,eax;
	 * mov al,'3'; out 0xe9,al; hlt
	 */
	static const uint8_t code[] = {0xb0, 0x31, 0xe6, 0xe9, 0xf4, 0xb0, 0x32, 0xe6, 0xe9, 0xbf,
				       0x05, 0x00, 0x00, 0x00, 0xb8, 0x02, 0x00, 0x00, 0x00, 0x66,
				       0xba, 0x00, 0x05, 0xef, 0xb0, 0x33, 0xe6, 0xe9, 0xf4};
	struct kvmtest_vm l;
	if (!kvmtest_start(&l, KR_MODE_LONG))
		return;
	if (kvmtest_load(l.vm, code, sizeof(code), NULL, 0)) {
		/* Each run goes on with the instruction after the one that stopped it. */
		struct kr_stop s = kvmtest_run(l.vm);
		CHECK_EQ(s.reason, KR_STOP_HLT);
		CHECK(strcmp(kvmtest_output(&l), "1") == 0);
		s = kvmtest_run(l.vm);
		CHECK_EQ(s.reason, KR_STOP_EXIT);
		CHECK_EQ(s.exit_code, 5);
		CHECK(strcmp(kvmtest_output(&l), "2") == 0);
		s = kvmtest_run(l.vm);
		CHECK_EQ(s.reason, KR_STOP_HLT);
		CHECK(strcmp(kvmtest_output(&l), "3") == 0);
	}
	kvmtest_end(&l);
}

UNIT_TEST(lifecycle_no_resume_after_a_crash)
{
	/* ud2: #UD, caught by kvmrun's IDT */
	static const uint8_t code[] = {0x0f, 0x0b};
	struct kvmtest_vm l;
	struct kr_stop s;
	if (!kvmtest_start(&l, KR_MODE_LONG))
		return;
	if (kvmtest_load(l.vm, code, sizeof(code), NULL, 0)) {
		CHECK_EQ(kvmtest_run(l.vm).reason, KR_STOP_EXCEPTION);
		CHECK_FAILS_WITH(kr_vm_run(l.vm, &s), "cannot be resumed after its exception stop (guest "
							 "exception #UD");
		CHECK_FAILS_WITH(kr_vm_run(l.vm, &s), "create a new VM");
	}
	kvmtest_end(&l);
}

static int failing_device(struct kr_vm *vm, void *opaque, uint64_t addr, void *data,
			  uint32_t size, bool is_write)
{
	(void)vm, (void)opaque, (void)addr, (void)data, (void)size, (void)is_write;
	return kr_err("device on port 0x99 broke");
}

UNIT_TEST(lifecycle_no_resume_after_a_vmm_failure)
{
	/* out 0x99,al; hlt */
	static const uint8_t code[] = {0xe6, 0x99, 0xf4};
	struct kvmtest_vm l;
	struct kr_stop s;
	if (!kvmtest_start(&l, KR_MODE_LONG))
		return;
	CHECK_OK(kr_bus_register(l.vm, KR_SPACE_PIO, 0x99, 1, failing_device, NULL));
	if (kvmtest_load(l.vm, code, sizeof(code), NULL, 0)) {
		CHECK_FAILS_WITH(kr_vm_run(l.vm, &s), "device on port 0x99 broke");
		CHECK_FAILS_WITH(kr_vm_run(l.vm, &s), "cannot be resumed after a failed kr_vm_run");
	}
	kvmtest_end(&l);
}

struct nested {
	int rc;
	char message[256];
};

static int run_again(struct kr_vm *vm, void *opaque, uint64_t addr, void *data, uint32_t size,
		     bool is_write)
{
	(void)addr, (void)data, (void)size, (void)is_write;
	struct nested *n = opaque;
	struct kr_stop s;
	n->rc = kr_vm_run(vm, &s);
	snprintf(n->message, sizeof(n->message), "%s", kr_last_error());
	return 0;
}

UNIT_TEST(lifecycle_no_run_inside_a_run)
{
	/* out 0x99,al; hlt */
	static const uint8_t code[] = {0xe6, 0x99, 0xf4};
	struct kvmtest_vm l;
	struct nested n = {0};
	if (!kvmtest_start(&l, KR_MODE_LONG))
		return;
	CHECK_OK(kr_bus_register(l.vm, KR_SPACE_PIO, 0x99, 1, run_again, &n));
	if (kvmtest_load(l.vm, code, sizeof(code), NULL, 0)) {
		CHECK_EQ(kvmtest_run(l.vm).reason, KR_STOP_HLT);
		CHECK_EQ(n.rc, -1);
		CHECK(strstr(n.message, "while this thread is already running a VM"));
	}
	kvmtest_end(&l);
}
