/* SPDX-License-Identifier: MIT */
/* main.c - the kvmrun command: subcommands, --help and --version. */
#include <ctype.h>
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kvmrun run [OPTIONS] GUEST   run a guest program in a VM of its own\n"
		"       kvmrun info                  KVM API version and capabilities\n"
		"       kvmrun --help | --version\n"
		"\n"
		"run options:\n"
		"  -m, --mode MODE       real, protected, paged32 or long (default long)\n"
		"  -M, --mem SIZE        guest RAM, e.g. 64M (default 32M, 2M..3G)\n"
		"  -l, --load ADDR       load address of a raw image (default 0x100000;\n"
		"                        0x7c00 in real mode)\n"
		"  -e, --entry ADDR      entry point (default: ELF entry or load address)\n"
		"  -r, --regs            print the registers when the guest stops\n"
		"  -t, --translate GVA   print GVA's translation (KVM's and the software\n"
		"                        walker's) when the guest stops (repeatable)\n"
		"      --timeout DUR     stop the guest after DUR (500ms, 2s, 1m); status %d\n"
		"      --max-output SIZE stop the guest once it has written SIZE bytes\n"
		"                        (default 64M, 0: no limit)\n"
		"      --no-seccomp      do not confine kvmrun with a seccomp filter while\n"
		"                        the guest runs (on by default)\n"
		"      --dump FILE       write how the guest stopped, its registers and page\n"
		"                        walks, as JSON\n"
		"      --trace FILE      write one JSON object per VM exit\n"
		"      --stats           print exit counts and host time by exit reason\n"
		"      --cross-check     when the guest stops, translate every mapped page with\n"
		"                        KVM_TRANSLATE and the software walker; status %d if\n"
		"                        they disagree\n"
		"      --map-page0       map guest virtual page 0 in long mode (by default it is\n"
		"                        left unmapped, so that a NULL pointer faults)\n"
		"\n"
		"GUEST is an ELF file (ELF64 for long mode, ELF32 otherwise) or a raw binary.\n"
		"The guest's output goes to stdout, kvmrun's messages to stderr.\n"
		"Exit status: the guest's exit status (0 after HLT); %d timeout; %d kvmrun failed;\n"
		"%d the guest crashed, broke the hypercall ABI or wrote too much.\n",
		KVMRUN_EXIT_TIMEOUT, KVMRUN_EXIT_VMM_ERROR, KVMRUN_EXIT_TIMEOUT, KVMRUN_EXIT_VMM_ERROR,
		KVMRUN_EXIT_GUEST_CRASH);
}

int cli_parse_u64(const char *s, bool sizes, uint64_t *out)
{
	char *end;
	/* strtoull would skip white space and accept a sign: only digits may start. */
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	unsigned shift = 0;
	if (sizes && *end) {
		switch (*end++) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		default: return -1;
		}
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

int cli_parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *suffix;
		uint64_t ns;
	} units[] = {{"ms", 1000000ull}, {"s", 1000000000ull}, {"m", 60000000000ull},
		     {"h", 3600000000000ull}, {"", 1000000000ull}};
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			if (v == 0 || v > UINT64_MAX / units[i].ns)
				return -1;
			*ns = v * units[i].ns;
			return 0;
		}
	}
	return -1;
}

/* The guest needs none of what our parent left open: close it before anything. */
static void close_inherited_fds(void)
{
	if (syscall(SYS_close_range, 3u, ~0u, 0u) < 0) {
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	}
}

int main(int argc, char **argv)
{
	close_inherited_fds();
	if (argc < 2) {
		usage(stderr);
		return KVMRUN_EXIT_VMM_ERROR;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("kvmrun %s\n", KR_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return cli_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "info"))
		return cli_info(argc - 1, argv + 1);
	fprintf(stderr, "kvmrun: unknown command '%s' (try kvmrun --help)\n", cmd);
	return KVMRUN_EXIT_VMM_ERROR;
}
