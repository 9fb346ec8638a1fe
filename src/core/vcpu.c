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

int kr_vcpu_get_regs_of(struct kr_vcpu *v, struct kvm_regs *regs)
{
	if (v->sync_fresh) { /* the exit path: no system call */
		*regs = v->run->s.regs.regs;
		return 0;
	}
	if (ioctl(v->fd, KVM_GET_REGS, regs) < 0)
		return kr_err_sys("vCPU %u: ioctl KVM_GET_REGS", v->id);
	return 0;
}

int kr_vcpu_set_regs_of(struct kr_vcpu *v, const struct kvm_regs *regs)
{
	v->sync_fresh = false; /* KVM does not update run->s.regs for a set */
	if (ioctl(v->fd, KVM_SET_REGS, regs) < 0)
		return kr_err_sys("vCPU %u: ioctl KVM_SET_REGS(rip=0x%llx, rsp=0x%llx)", v->id,
				  (unsigned long long)regs->rip, (unsigned long long)regs->rsp);
	return 0;
}

int kr_vcpu_get_sregs_of(struct kr_vcpu *v, struct kvm_sregs *sregs)
{
	if (v->sync_fresh) {
		*sregs = v->run->s.regs.sregs;
		return 0;
	}
	if (ioctl(v->fd, KVM_GET_SREGS, sregs) < 0)
		return kr_err_sys("vCPU %u: ioctl KVM_GET_SREGS", v->id);
	return 0;
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
