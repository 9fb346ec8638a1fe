/* SPDX-License-Identifier: MIT */
/*
 * fake_vcpu.c - see fake_vcpu.h.
 *
 * The library reads a vCPU's registers with ioctl(vcpu_fd, KVM_GET_REGS).
 * The unit-test program defines ioctl() itself, which the library's calls
 * bind to at link time: on the one file descriptor fake_vcpu_attach() made
 * (an open /dev/null, so the number is really ours) it answers from the
 * registers the test set; every other call goes to the kernel unchanged,
 * so nothing else in the unit tests behaves differently.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fake_vcpu.h"

static int fake_fd = -1;
static struct kvm_regs fake_regs;
static struct kvm_sregs fake_sregs;

void fake_vcpu_attach(struct kr_vm *vm, const struct kvm_regs *regs, const struct kvm_sregs *sregs)
{
	if (fake_fd >= 0)
		unit_fail(__FILE__, __LINE__, "fake_vcpu_attach: a fake vCPU is already attached");
	fake_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fake_fd < 0)
		unit_fail(__FILE__, __LINE__, "fake_vcpu_attach: open /dev/null: %s", strerror(errno));
	fake_regs = *regs;
	fake_sregs = *sregs;
	vm->vcpus[0].fd = fake_fd;
}

void fake_vcpu_detach(struct kr_vm *vm)
{
	if (fake_fd >= 0)
		close(fake_fd);
	fake_fd = vm->vcpus[0].fd = -1;
}

int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (fd < 0 || fd != fake_fd)
		return (int)syscall(SYS_ioctl, fd, request, arg);
	switch (request) {
	case KVM_GET_REGS:
		memcpy(arg, &fake_regs, sizeof(fake_regs));
		return 0;
	case KVM_GET_SREGS:
		memcpy(arg, &fake_sregs, sizeof(fake_sregs));
		return 0;
	default:
		/* A test that reaches another vCPU ioctl needs this fake extended. */
		errno = ENOTTY;
		return -1;
	}
}
