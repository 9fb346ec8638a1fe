/* SPDX-License-Identifier: MIT */
/*
 * vcpu.c - the vCPU's registers: KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS.
 * (KVM_SET_SREGS is in x86/vcpu.c: it checks the mode bits around the call.)
 *
 * On the exit path (inside kr_vm_run, right after KVM_RUN returned) the gets
 * read the copy KVM_CAP_SYNC_REGS leaves in kvm_run (v->sync_fresh): a
 * hypercall then costs no ioctl for its arguments and the vCPU's mode.
 * The public calls act on kr_vcpu_current: the vCPU of the calling thread
 * inside a run, vCPU 0 elsewhere.
 */
#include <errno.h>
#include <sys/ioctl.h>

#include "core/error.h"
#include "core/vm.h"

__thread struct kr_vcpu *kr_this_vcpu __attribute__((tls_model("initial-exec")));
__thread struct kr_vcpu *kr_focus_vcpu;

void kr_vcpu_focus(struct kr_vm *vm, unsigned id)
{
	kr_focus_vcpu = vm && id < vm->ncpus ? &vm->vcpus[id] : NULL;
}

void kr_vcpu_sync_init(struct kr_vm *vm, struct kr_vcpu *v)
{
	/*
	 * Both or neither: the hypercall port wants the registers and the mode
	 * (EFER, CS) at once. A KVM without them answers through the ioctls.
	 */
	const unsigned want = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	int caps = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	vm->sync_regs = caps > 0 && ((unsigned)caps & want) == want;
	v->sync_fresh = false;
	if (vm->sync_regs)
		v->run->kvm_valid_regs = want;
}

/*
 * Apply what waits in the sync area (kvm_dirty_regs: a deferred reset's
 * registers, special registers and events, or registers for the next run)
 * with a KVM_RUN that immediate_exit ends before the guest runs: for the
 * ioctls that read or depend on them (KVM_GET_SREGS, KVM_TRANSLATE,
 * KVM_SET_SREGS, KVM_SET_GUEST_DEBUG). Nothing waiting: no system call.
 */
int kr_vcpu_flush_of(struct kr_vcpu *v, const char *what)
{
	struct kvm_run *run = v->run;
	if (!run || !run->kvm_dirty_regs)
		return 0;
	unsigned dirty = (unsigned)run->kvm_dirty_regs;
	__atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	int r = ioctl(v->fd, KVM_RUN, 0);
	int e = errno;
	__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	bool applied = run->kvm_dirty_regs == 0; /* KVM clears each bit it took */
	run->kvm_dirty_regs = 0;
	v->regs_mirror = false; /* a KVM_RUN may also complete an exit */
	if (r == 0 || e != EINTR || !applied) {
		errno = r == 0 ? EPROTO : e != EINTR ? e : EINVAL;
		return kr_err_sys("%s: vCPU %u: ioctl KVM_RUN(immediate_exit=1, kvm_dirty_regs=0x%x) "
				  "to apply the registers set for the next run",
				  what, v->id, dirty);
	}
	return 0;
}

int kr_vcpu_get_regs_of(struct kr_vcpu *v, struct kvm_regs *regs)
{
	/* the exit path, or the vCPU as the last run left it: no system call */
	if (v->sync_fresh || v->regs_mirror) {
		*regs = v->run->s.regs.regs;
		return 0;
	}
	if (kr_vcpu_flush_of(v, "vCPU") < 0)
		return -1;
	if (ioctl(v->fd, KVM_GET_REGS, regs) < 0)
		return kr_err_sys("vCPU %u: ioctl KVM_GET_REGS", v->id);
	return 0;
}

int kr_vcpu_set_regs_of(struct kr_vcpu *v, const struct kvm_regs *regs)
{
	/* KVM does not update run->s.regs for a set; a set still waiting in the area is
	 * overtaken by this one (it sets every field) */
	v->sync_fresh = v->regs_mirror = false;
	if (v->run)
		v->run->kvm_dirty_regs &= ~(uint64_t)KVM_SYNC_X86_REGS;
	if (ioctl(v->fd, KVM_SET_REGS, regs) < 0)
		return kr_err_sys("vCPU %u: ioctl KVM_SET_REGS(rip=0x%llx, rsp=0x%llx)", v->id,
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
	struct kr_vcpu *v = kr_vcpu_current(vm);
	if (!v->regs_mirror)
		return kr_vcpu_set_regs_of(v, regs);
	v->run->s.regs.regs = *regs;
	v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	return 0;
}

int kr_vcpu_get_sregs_of(struct kr_vcpu *v, struct kvm_sregs *sregs)
{
	if (v->sync_fresh) {
		*sregs = v->run->s.regs.sregs;
		return 0;
	}
	if (kr_vcpu_flush_of(v, "vCPU") < 0)
		return -1;
	if (ioctl(v->fd, KVM_GET_SREGS, sregs) < 0)
		return kr_err_sys("vCPU %u: ioctl KVM_GET_SREGS", v->id);
	return 0;
}

int kr_vcpu_flush(struct kr_vm *vm, const char *what)
{
	return kr_vcpu_flush_of(kr_vcpu_current(vm), what);
}

int kr_vcpu_get_regs(struct kr_vm *vm, struct kvm_regs *regs)
{
	return kr_vcpu_get_regs_of(kr_vcpu_current(vm), regs);
}

int kr_vcpu_set_regs(struct kr_vm *vm, const struct kvm_regs *regs)
{
	return kr_vcpu_set_regs_of(kr_vcpu_current(vm), regs);
}

int kr_vcpu_get_sregs(struct kr_vm *vm, struct kvm_sregs *sregs)
{
	return kr_vcpu_get_sregs_of(kr_vcpu_current(vm), sregs);
}
