/* SPDX-License-Identifier: MIT */
/* main.c - the kvmrun command: subcommands, --help and --version. */
#include <ctype.h>
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* `kvmrun run --help` and the run part of `kvmrun --help`: one text for both. */
void cli_run_usage(FILE *f)
{
	fprintf(f,
		"run options:\n"
		"  -m, --mode MODE       real, protected, paged32 or long (default long)\n"
		"  -M, --mem SIZE        guest RAM, e.g. 64M (default 32M, 2M..3G)\n"
		"  -l, --load ADDR       load address of a raw image (default 0x100000;\n"
		"                        0x7c00 in real mode)\n"
		"  -e, --entry ADDR      entry point (default: ELF entry or load address; it\n"
		"                        must lie inside the loaded image)\n"
		"  -r, --regs            print the registers when the guest stops\n"
		"  -t, --translate GVA   print GVA's translation (KVM's and the software\n"
		"                        walker's) when the guest stops (repeatable)\n"
		"      --timeout DUR     stop the guest after DUR, > 0: 500ms, 1.5s, 2m, 1h;\n"
		"                        a plain number is seconds (0.5 = 500ms); status %d\n"
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
		"      --append TEXT     multiboot kernels: TEXT after the kernel's path on its\n"
		"                        command line\n"
		"      --module FILE     multiboot kernels: load FILE as a module (repeatable)\n"
		"  -h, --help            this help\n"
		"\n"
		"GUEST is an ELF file (ELF64 for long mode, ELF32 otherwise) or a raw binary;\n"
		"a multiboot kernel (header in its first 8 KiB) runs in protected mode with the\n"
		"PC devices (fw_cfg, isa-debug-exit, keyboard controller reset, port 0x80).\n"
		"The guest's output goes to stdout as it comes (at each newline and each WRITE\n"
		"hypercall), kvmrun's messages to stderr.\n"
		"Exit status:\n"
		"  0..123  the guest's EXIT status (0 after HLT)\n"
		"  %d     the guest ran longer than --timeout\n"
		"  %d     kvmrun failed: usage, a bad guest file, KVM, or the guest's output\n"
		"          could not be written (e.g. stdout is a pipe nobody reads any more)\n"
		"  %d     the guest crashed, broke the ABI (an EXIT status above 123, too) or\n"
		"          wrote more than --max-output\n"
		"  128+N   kvmrun was stopped by signal N: SIGHUP 129, SIGINT 130, SIGTERM 143\n"
		"          (the guest is stopped and its output written; a second signal ends\n"
		"          kvmrun at once)\n",
		KVMRUN_EXIT_TIMEOUT, KVMRUN_EXIT_VMM_ERROR, KVMRUN_EXIT_TIMEOUT, KVMRUN_EXIT_VMM_ERROR,
		KVMRUN_EXIT_GUEST_CRASH);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: kvmrun run [OPTIONS] GUEST   run a guest program in a VM of its own\n"
		   "       kvmrun info                  KVM API version and capabilities\n"
		   "       kvmrun --help | --version\n"
		   "\n");
	cli_run_usage(f);
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
	/* Digits, then optionally a point and up to 9 more (nanoseconds of a second). */
	if (!isdigit((unsigned char)*s))
		return CLI_DURATION_SYNTAX;
	unsigned __int128 whole = 0, frac = 0, scale = 1;
	const char *p = s;
	for (; isdigit((unsigned char)*p); p++) {
		whole = whole * 10 + (unsigned)(*p - '0');
		if (whole > UINT64_MAX)
			return CLI_DURATION_TOO_LONG;
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return CLI_DURATION_SYNTAX;
		for (; isdigit((unsigned char)*p); p++) {
			if (scale == 1000000000u)
				return CLI_DURATION_SYNTAX; /* finer than a nanosecond */
			frac = frac * 10 + (unsigned)(*p - '0');
			scale *= 10;
		}
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].suffix) != 0)
			continue;
		unsigned __int128 v = whole * units[i].ns + frac * units[i].ns / scale;
		if (v == 0)
			return CLI_DURATION_ZERO;
		if (v > UINT64_MAX)
			return CLI_DURATION_TOO_LONG;
		*ns = (uint64_t)v;
		return 0;
	}
	return CLI_DURATION_SYNTAX;
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
