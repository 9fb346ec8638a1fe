/* SPDX-License-Identifier: MIT */
/*
 * vcpu.c - the vCPU's registers: KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS.
 * (KVM_SET_SREGS is in x86/vcpu.c: it checks the mode bits around the call.)
 */
#include <sys/ioctl.h>

#include "core/error.h"
#include "core/vm.h"

int kr_vcpu_get_regs(struct kr_vm *vm, struct kvm_regs *regs)
{
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, regs) < 0)
		return kr_err_sys("vCPU: ioctl KVM_GET_REGS");
	return 0;
}

int kr_vcpu_set_regs(struct kr_vm *vm, const struct kvm_regs *regs)
{
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, regs) < 0)
		return kr_err_sys("vCPU: ioctl KVM_SET_REGS(rip=0x%llx, rsp=0x%llx)",
				  (unsigned long long)regs->rip, (unsigned long long)regs->rsp);
	return 0;
}

int kr_vcpu_get_sregs(struct kr_vm *vm, struct kvm_sregs *sregs)
{
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, sregs) < 0)
		return kr_err_sys("vCPU: ioctl KVM_GET_SREGS");
	return 0;
}
