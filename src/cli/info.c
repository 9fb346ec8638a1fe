/* SPDX-License-Identifier: MIT */
/* info.c - `kvmrun info`: what this host's KVM offers. */
#include "cli.h"

int cli_info(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "kvmrun info: takes no arguments\n");
		return KVMRUN_EXIT_VMM_ERROR;
	}
	struct kr_kvm_info info;
	if (kr_kvm_info(&info) < 0) {
		fprintf(stderr, "kvmrun: %s\n", kr_last_error());
		return KVMRUN_EXIT_VMM_ERROR;
	}
	printf("KVM API version %d\n", info.api_version);
	printf("vCPU mmap size %d bytes\n", info.vcpu_mmap_size);
	char detail[128];
	bool sandbox = kr_sandbox_available(detail, sizeof(detail));
	printf("seccomp sandbox: %s (%s)\n",
	       sandbox ? "active for `kvmrun run` unless --no-seccomp" : "not available", detail);
	for (size_t i = 0; i < info.ncaps; i++)
		printf("%-34s %d%s\n", info.caps[i].name, info.caps[i].value,
		       info.caps[i].required ? " (required)" : "");
	return 0;
}
