/* SPDX-License-Identifier: MIT */
/* info.c - `kvmrun info`: what this host's KVM offers and what runs on it. */
#include "cli.h"

static void print_backend(const struct kr_backend *b)
{
	static const char *const kinds[] = {
		[KR_BACKEND_UNKNOWN] = "kind unknown",
		[KR_BACKEND_HARDWARE] = "hardware virtualization (VT-x/AMD-V)",
		[KR_BACKEND_NESTED] = "nested: VT-x/AMD-V offered by a hypervisor below",
		[KR_BACKEND_SOFTWARE] = "software: no VT-x/AMD-V, guests run in software",
	};
	printf("back end: %s, %s\n", b->module[0] ? b->module : "unknown module", kinds[b->kind]);
	printf("  modes: real %s, protected %s, paged32 %s, long %s\n", b->mode[0] ? "yes" : "NO",
	       b->mode[1] ? "yes" : "NO", b->mode[2] ? "yes" : "NO", b->mode[3] ? "yes" : "NO");
	printf("  PAE paging without long mode: %s\n", b->pae32 ? "yes" : "no");
	printf("  page sizes in long mode: 4 KiB, 2 MiB%s; 5-level paging (LA57): %s\n",
	       b->gbpages ? ", 1 GiB" : " (no 1 GiB pages)", b->la57 ? "yes" : "no");
	printf("  guest CPU: %s, MAXPHYADDR %u\n", b->amd ? "AMD" : "Intel or other",
	       b->maxphyaddr);
	printf("  a real-mode triple fault ends in: %s%s\n",
	       kr_exit_name(b->real_mode_triple_fault_exit),
	       b->real_mode_shutdown ? "" : " (the back end does not triple-fault in real mode)");
	printf("  RIP at a port-I/O exit: %s\n",
	       b->rip_past_out ? "already past the instruction" : "at the instruction");

	/* One line each for scripts (tests/kvm decide where a test can run). */
	struct kr_feature f[16];
	size_t n = kr_backend_features(b, f, sizeof(f) / sizeof(f[0]));
	if (n > sizeof(f) / sizeof(f[0]))
		n = sizeof(f) / sizeof(f[0]);
	for (int want = 1; want >= 0; want--) {
		printf("%s:", want ? "features" : "lacks");
		for (size_t i = 0; i < n; i++)
			if (f[i].present == want)
				printf(" %s", f[i].name);
		printf("\n");
	}
}

void cli_info_usage(FILE *f)
{
	fprintf(f, "It opens /dev/kvm and prints, one item a line: the KVM API version; the back\n"
		   "end (its module, its kind, which CPU modes and page sizes run on it); the\n"
		   "lines \"features: ...\" and \"lacks: ...\" for scripts; the vCPU mmap size;\n"
		   "whether the seccomp sandbox is available; and each capability kvmrun checks.\n"
		   "Exit status: 0, or %d if KVM cannot be opened or probed.\n",
		KVMRUN_EXIT_VMM_ERROR);
}

int cli_info(const struct cli_command *self, int argc, char **argv)
{
	int rc = cli_no_arguments(self, argc, argv);
	if (rc <= 0)
		return -rc;
	struct kr_kvm_info info;
	struct kr_backend backend;
	if (kr_kvm_info(&info) < 0 || kr_backend_probe(&backend) < 0) {
		fprintf(stderr, "kvmrun: %s\n", kr_last_error());
		return KVMRUN_EXIT_VMM_ERROR;
	}
	printf("KVM API version %d\n", info.api_version);
	print_backend(&backend);
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
