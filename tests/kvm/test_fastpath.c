/* SPDX-License-Identifier: MIT */
/*
 * test_fastpath.c - the fast exit path: with KVM_CAP_SYNC_REGS a
 * handler reads the registers of the exit from kvm_run (no ioctl), a set in
 * a handler is not undone by that copy, and outside a run the ioctls answer;
 * /dev/kvm is opened once per process, each VM with its own fd.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/vm.h"
#include "kvmtest.h"

#define PORT 0x600

struct seen {
	bool fresh;
	uint64_t rbx, efer;
	bool set_ok;
};

/* At the guest's `out`: what a device sees of the vCPU; then move RBX on. */
static int probe(struct kr_vm *vm, void *opaque, uint64_t addr, void *data, uint32_t size,
		 bool is_write)
{
	(void)addr, (void)data, (void)size, (void)is_write;
	struct seen *s = opaque;
	struct kvm_regs r;
	struct kvm_sregs sr;
	s->fresh = vm->vcpus[0].sync_fresh;
	if (kr_vcpu_get_regs(vm, &r) < 0 || kr_vcpu_get_sregs(vm, &sr) < 0)
		return -1;
	s->rbx = r.rbx;
	s->efer = sr.efer;
	r.rbx = 0x5678;
	s->set_ok = kr_vcpu_set_regs(vm, &r) == 0 && !vm->vcpus[0].sync_fresh;
	/* After the set, a get must say what was set, not the copy of the exit. */
	struct kvm_regs again;
	if (kr_vcpu_get_regs(vm, &again) < 0 || again.rbx != 0x5678)
		s->set_ok = false;
	return 0;
}

/* mov ebx, 0x1234; mov edx, 0x600; out dx, al; hlt */
static const uint8_t guest[] = {0xbb, 0x34, 0x12, 0, 0, 0xba, 0x00, 0x06, 0, 0, 0xee, 0xf4};

UNIT_TEST(fastpath_handlers_read_the_synced_registers)
{
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.mem_size = 8u << 20;
	struct kr_vm *vm;
	CHECK(kr_vm_create(&vm, &cfg) == 0);
	if (!vm)
		return;
	int caps = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	bool want = caps > 0 && (caps & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS)) ==
					(KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
	CHECK(vm->sync_regs == want);
	struct seen s = {0};
	CHECK(kr_bus_register(vm, KR_SPACE_PIO, PORT, 1, probe, &s) == 0);
	if (kvmtest_load(vm, guest, sizeof(guest), NULL, 0)) {
		struct kr_stop st = kvmtest_run(vm);
		CHECK(st.reason == KR_STOP_HLT);
		CHECK(s.fresh == want); /* where KVM offers it, the exit path uses it */
		CHECK(s.rbx == 0x1234);
		CHECK(s.efer & 0x400); /* EFER.LMA: the mode of the exit */
		CHECK(s.set_ok);
		/* The set reached the vCPU; outside the run the ioctl answers. */
		CHECK(!vm->vcpus[0].sync_fresh);
		struct kvm_regs r;
		CHECK(kr_vcpu_get_regs(vm, &r) == 0 && r.rbx == 0x5678);
		CHECK(st.regs.rbx == 0x5678);
	}
	kr_vm_destroy(vm);
}

UNIT_TEST(fastpath_kvm_fd_per_vm_from_one_open)
{
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.mem_size = 4u << 20;
	struct kr_vm *a = NULL, *b = NULL;
	CHECK(kr_vm_create(&a, &cfg) == 0);
	kr_vm_destroy(a); /* closes its own fd only */
	CHECK(kr_vm_create(&a, &cfg) == 0);
	CHECK(kr_vm_create(&b, &cfg) == 0);
	if (a && b) {
		CHECK(a->kvm_fd >= 0 && b->kvm_fd >= 0 && a->kvm_fd != b->kvm_fd);
		CHECK(fcntl(a->kvm_fd, F_GETFD) & FD_CLOEXEC);
		CHECK(ioctl(b->kvm_fd, KVM_GET_API_VERSION, 0) == 12);
		CHECK(a->run_size == b->run_size && a->run_size > 0);
	}
	kr_vm_destroy(a);
	kr_vm_destroy(b);
}
