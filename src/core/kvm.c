/* SPDX-License-Identifier: MIT */
/*
 * kvm.c - step 1: open /dev/kvm and make sure it is the KVM we know.
 *
 * KVM_GET_API_VERSION has returned 12 since Linux 2.6.22 and the API promises
 * never to change it; anything else is not a KVM this code understands.
 * Optional features are probed with KVM_CHECK_EXTENSION, and kvmrun refuses
 * up front, naming the capability, rather than failing later in a puzzling way.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/error.h"
#include "core/kvm.h"
#include "kvmrun.h"

#define KVM_DEVICE "/dev/kvm"
#define KVM_EXPECTED_API 12

struct cap_spec {
	const char *name;
	int cap;
	bool required;
};

#define CAP(c, req) {#c, c, req}

/* What kvmrun relies on (required) and what it reports for information. */
static const struct cap_spec cap_specs[] = {
	CAP(KVM_CAP_USER_MEMORY, true),       /* KVM_SET_USER_MEMORY_REGION */
	CAP(KVM_CAP_SET_TSS_ADDR, true),      /* Intel hosts need a TSS for real mode */
	CAP(KVM_CAP_EXT_CPUID, true),         /* KVM_GET_SUPPORTED_CPUID / KVM_SET_CPUID2 */
	CAP(KVM_CAP_DESTROY_MEMORY_REGION_WORKS, true), /* removing a slot */
	CAP(KVM_CAP_SET_IDENTITY_MAP_ADDR, false),
	CAP(KVM_CAP_READONLY_MEM, false),     /* read-only slots */
	CAP(KVM_CAP_NR_MEMSLOTS, false),
	CAP(KVM_CAP_NR_VCPUS, false),
	CAP(KVM_CAP_MAX_VCPUS, false),
	CAP(KVM_CAP_IMMEDIATE_EXIT, false),
	CAP(KVM_CAP_SYNC_REGS, false),
	CAP(KVM_CAP_IRQCHIP, false),
	CAP(KVM_CAP_XSAVE, false),
	CAP(KVM_CAP_SYNC_MMU, false),
	CAP(KVM_CAP_X86_ROBUST_SINGLESTEP, false),
};

int kr_kvm_open(int *kvm_fd, int *vcpu_mmap_size)
{
	int fd = open(KVM_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return kr_err_code_sys(KR_E_NO_KVM, "open %s (is KVM available, and may this user use it?)", KVM_DEVICE);

	int api = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (api < 0) {
		kr_err_sys("ioctl KVM_GET_API_VERSION on %s", KVM_DEVICE);
		goto fail;
	}
	if (api != KVM_EXPECTED_API) {
		kr_err_code(KR_E_KVM_API, "%s: KVM_GET_API_VERSION returned %d, kvmrun needs %d", KVM_DEVICE, api,
		       KVM_EXPECTED_API);
		goto fail;
	}
	for (size_t i = 0; i < sizeof(cap_specs) / sizeof(cap_specs[0]); i++) {
		if (!cap_specs[i].required)
			continue;
		int v = ioctl(fd, KVM_CHECK_EXTENSION, cap_specs[i].cap);
		if (v < 0) {
			kr_err_sys("ioctl KVM_CHECK_EXTENSION(%s)", cap_specs[i].name);
			goto fail;
		}
		if (v == 0) {
			kr_err_code(KR_E_KVM_API, "%s lacks %s, which kvmrun needs", KVM_DEVICE, cap_specs[i].name);
			goto fail;
		}
	}
	int size = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < 0) {
		kr_err_sys("ioctl KVM_GET_VCPU_MMAP_SIZE on %s", KVM_DEVICE);
		goto fail;
	}
	if ((size_t)size < sizeof(struct kvm_run)) {
		kr_err_code(KR_E_KVM_API, "KVM_GET_VCPU_MMAP_SIZE returned %d, less than struct kvm_run (%zu)", size,
		       sizeof(struct kvm_run));
		goto fail;
	}
	*kvm_fd = fd;
	*vcpu_mmap_size = size;
	return 0;
fail:
	close(fd);
	return -1;
}

int kr_kvm_info(struct kr_kvm_info *info)
{
	int fd, size;
	memset(info, 0, sizeof(*info));
	if (kr_kvm_open(&fd, &size) < 0)
		return -1;
	info->api_version = KVM_EXPECTED_API;
	info->vcpu_mmap_size = size;
	for (size_t i = 0; i < sizeof(cap_specs) / sizeof(cap_specs[0]) && i < KR_MAX_CAPS; i++) {
		int v = ioctl(fd, KVM_CHECK_EXTENSION, cap_specs[i].cap);
		if (v < 0) {
			kr_err_sys("ioctl KVM_CHECK_EXTENSION(%s)", cap_specs[i].name);
			close(fd);
			return -1;
		}
		info->caps[info->ncaps++] = (struct kr_capability){
			.name = cap_specs[i].name, .value = v, .required = cap_specs[i].required};
	}
	close(fd);
	return 0;
}
