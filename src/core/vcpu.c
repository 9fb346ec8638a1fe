/* SPDX-License-Identifier: MIT */
/*
 * vcpu.c - the vCPU's registers: KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS.
 * (KVM_SET_SREGS is in x86/vcpu.c: it checks the mode bits around the call.)
 *
 * On the exit path (inside kr_vm_run, right after KVM_RUN returned) the gets
 * read the copy KVM_CAP_SYNC_REGS leaves in kvm_run (vm->sync_fresh): a
 * hypercall then costs no ioctl for its arguments and the vCPU's mode.
 */
#include <errno.h>
#include <sys/ioctl.h>

#include "core/error.h"
#include "core/vm.h"

void kr_vcpu_sync_init(struct kr_vm *vm)
{
	/*
	 * Both or neither: the hypercall port wants the registers and the mode
	 * (EFER, CS) at once. A KVM without them answers through the ioctls.
	 */
	const unsigned want = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	int caps = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	vm->sync_regs = caps > 0 && ((unsigned)caps & want) == want;
	vm->sync_fresh = false;
	if (vm->sync_regs)
		vm->run->kvm_valid_regs = want;
}

/*
 * Apply what waits in the sync area (kvm_dirty_regs: a deferred reset's
 * registers, special registers and events, or registers for the next run)
 * with a KVM_RUN that immediate_exit ends before the guest runs: for the
 * ioctls that read or depend on them (KVM_GET_SREGS, KVM_TRANSLATE,
 * KVM_SET_SREGS, KVM_SET_GUEST_DEBUG). Nothing waiting: no system call.
 */
int kr_vcpu_flush(struct kr_vm *vm, const char *what)
{
	struct kvm_run *run = vm->run;
	if (!run || !run->kvm_dirty_regs)
		return 0;
	unsigned dirty = (unsigned)run->kvm_dirty_regs;
	__atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	int r = ioctl(vm->vcpu_fd, KVM_RUN, 0);
	int e = errno;
	__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	bool applied = run->kvm_dirty_regs == 0; /* KVM clears each bit it took */
	run->kvm_dirty_regs = 0;
	vm->regs_mirror = false; /* a KVM_RUN may also complete an exit */
	if (r == 0 || e != EINTR || !applied) {
		errno = r == 0 ? EPROTO : e != EINTR ? e : EINVAL;
		return kr_err_sys("%s: ioctl KVM_RUN(immediate_exit=1, kvm_dirty_regs=0x%x) to "
				  "apply the registers set for the next run",
				  what, dirty);
	}
	return 0;
}

int kr_vcpu_get_regs(struct kr_vm *vm, struct kvm_regs *regs)
{
	/* the exit path, or the vCPU as the last run left it: no system call */
	if (vm->sync_fresh || vm->regs_mirror) {
		*regs = vm->run->s.regs.regs;
		return 0;
	}
	if (kr_vcpu_flush(vm, "vCPU") < 0)
		return -1;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, regs) < 0)
		return kr_err_sys("vCPU: ioctl KVM_GET_REGS");
	return 0;
}

int kr_vcpu_set_regs(struct kr_vm *vm, const struct kvm_regs *regs)
{
	/* KVM does not update run->s.regs for a set; a set still waiting in the area is
	 * overtaken by this one (it sets every field) */
	vm->sync_fresh = vm->regs_mirror = false;
	if (vm->run)
		vm->run->kvm_dirty_regs &= ~(uint64_t)KVM_SYNC_X86_REGS;
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, regs) < 0)
		return kr_err_sys("vCPU: ioctl KVM_SET_REGS(rip=0x%llx, rsp=0x%llx)",
				  (unsigned long long)regs->rip, (unsigned long long)regs->rsp);
	return 0;
}

/*
 * The registers for the next KVM_RUN, which applies them before it does
 * anything else (KVM_CAP_SYNC_REGS' kvm_dirty_regs), as KVM_SET_REGS would
 * have: one ioctl less. Only while the area mirrors the vCPU (so after a
 * KVM_RUN), so that what kr_vcpu_get_regs reads until that run is what the
 * vCPU will hold.
 */
int kr_vcpu_set_regs_at_run(struct kr_vm *vm, const struct kvm_regs *regs)
{
	if (!vm->regs_mirror)
		return kr_vcpu_set_regs(vm, regs);
	vm->run->s.regs.regs = *regs;
	vm->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	return 0;
}

int kr_vcpu_get_sregs(struct kr_vm *vm, struct kvm_sregs *sregs)
{
	if (vm->sync_fresh) {
		*sregs = vm->run->s.regs.sregs;
		return 0;
	}
	if (kr_vcpu_flush(vm, "vCPU") < 0)
		return -1;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, sregs) < 0)
		return kr_err_sys("vCPU: ioctl KVM_GET_SREGS");
	return 0;
}
