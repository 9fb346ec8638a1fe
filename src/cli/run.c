/* SPDX-License-Identifier: MIT */
/* run.c - `kvmrun run`: load a guest, run it, report how it ended. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define MAX_TRANSLATE 32

struct run_options {
	struct kr_vm_config cfg;
	struct kr_load_options load;
	bool print_regs;
	bool no_seccomp;
	const char *dump_path, *trace_path;
	bool stats, cross_check;
	size_t ntranslate;
	uint64_t translate[MAX_TRANSLATE];
	const char *guest;
	bool mode_given;
	/* multiboot kernels: the text after the kernel's path on its command line, modules */
	const char *append;
	size_t nmodules;
	const char *modules[32];
	/* --snapshot FILE, --snapshot-at hypercall|stop */
	const char *snapshot_path;
	bool snapshot_at_stop;
	bool gdb;
	struct cli_gdb_address gdb_addr;
};

/* What follows the synopsis in `kvmrun run --help` (and `kvmrun help run`). */
void cli_run_usage(FILE *f)
{
	fprintf(f,
		"Options:\n"
		"  -m, --mode MODE       real, protected, paged32 or long (default long)\n"
		"  -M, --mem SIZE        guest RAM, e.g. 64M (default 32M, 2M..3G)\n"
		"      --cpus N          N vCPUs (default 1, at most %u); the guest starts\n"
		"                        vCPUs 1..N-1 itself (KVMRUN_HC_START_CPU; a multiboot\n"
		"                        kernel with INIT/SIPI); not with --snapshot; gdb\n"
		"                        sees each vCPU as a thread\n"
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
		"      --snapshot FILE   write a snapshot of the VM to FILE (see --snapshot-at);\n"
		"                        `kvmrun restore FILE` goes on from there. Runs without\n"
		"                        the seccomp filter (a snapshot needs ioctls and a file)\n"
		"      --snapshot-at WHEN  hypercall (default): each time the guest asks\n"
		"                        (KVMRUN_HC_SNAPSHOT; the last one stays); stop: when\n"
		"                        the guest stops for HLT, EXIT or --timeout\n"
		"      --gdb PORT|unix:PATH\n"
		"                        wait for gdb on 127.0.0.1:PORT or a Unix socket before\n"
		"                        the first instruction, then let it debug the guest\n"
		"                        (no seccomp filter then)\n"
		"  -h, --help            this help\n"
		"\n"
		"GUEST is an ELF file (ELF64 for long mode, ELF32 otherwise) or a raw binary;\n"
		"a multiboot kernel (header in its first 8 KiB) runs in protected mode on the\n"
		"PC platform (in-kernel irqchip and PIT, COM1, CMOS clock, i8042, fw_cfg,\n"
		"isa-debug-exit, MP table); HLT there waits for an interrupt.\n"
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
		KR_MAX_CPUS, KVMRUN_EXIT_TIMEOUT, KVMRUN_EXIT_VMM_ERROR, KVMRUN_EXIT_TIMEOUT,
		KVMRUN_EXIT_VMM_ERROR, KVMRUN_EXIT_GUEST_CRASH);
}

static int bad_value(const char *opt, const char *value, const char *want)
{
	fprintf(stderr, "kvmrun run: %s '%s': expected %s\n", opt, value, want);
	return -1;
}

/*
 * getopt's own messages lack our prefix and say nothing useful for long
 * options: it stays quiet (opterr = 0, ':' first in the option string) and
 * this says what was wrong with which option, as the user wrote it.
 */
static int bad_option(int c, char **argv)
{
	/*
	 * getopt has moved past a long option (and past a short one that ended
	 * its cluster, which a missing value always does), but not past the
	 * middle of a cluster such as -xr: there the element before is another
	 * option. A long one is at fault if it is unknown (optopt 0), lacks its
	 * value (':') or was given one ('=').
	 */
	const char *arg = argv[optind - 1];
	char name[64];
	bool is_long = arg && arg[0] == '-' && arg[1] == '-' &&
		       (c == ':' || optopt == 0 || strchr(arg, '='));
	if (is_long) {
		size_t n = strcspn(arg, "=");
		snprintf(name, sizeof(name), "%.*s", (int)(n < 60 ? n : 60), arg);
	} else {
		snprintf(name, sizeof(name), "-%c", optopt);
	}
	if (c == ':')
		fprintf(stderr, "kvmrun run: option '%s' needs a value (try kvmrun run --help)\n",
			name);
	else if (is_long && optopt)
		fprintf(stderr, "kvmrun run: option '%s' takes no value (try kvmrun run --help)\n",
			name);
	else
		fprintf(stderr, "kvmrun run: unknown%s option '%s' (try kvmrun run --help)\n",
			is_long ? " or ambiguous" : "", name);
	return -1;
}

static int parse_options(const struct cli_command *self, int argc, char **argv,
			 struct run_options *o)
{
	static const struct option longopts[] = {
		{"mode", required_argument, NULL, 'm'},  {"mem", required_argument, NULL, 'M'},
		{"load", required_argument, NULL, 'l'},  {"entry", required_argument, NULL, 'e'},
		{"regs", no_argument, NULL, 'r'},        {"translate", required_argument, NULL, 't'},
		{"timeout", required_argument, NULL, 'T'}, {"max-output", required_argument, NULL, 'O'},
		{"no-seccomp", no_argument, NULL, 'S'}, {"dump", required_argument, NULL, 'D'},
		{"trace", required_argument, NULL, 'R'}, {"stats", no_argument, NULL, 's'},
		{"cross-check", no_argument, NULL, 'X'},
		{"map-page0", no_argument, NULL, 'Z'},
		{"append", required_argument, NULL, 'A'}, {"module", required_argument, NULL, 'U'},
		{"snapshot", required_argument, NULL, 'P'},
		{"snapshot-at", required_argument, NULL, 'W'},
		{"gdb", required_argument, NULL, 'G'},
		{"cpus", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
	};
	int c, d;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:M:l:e:rt:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (kr_mode_parse(optarg, &o->cfg.mode) < 0)
				return bad_value("--mode", optarg, "real, protected, paged32 or long");
			o->mode_given = true;
			break;
		case 'A':
			o->append = optarg;
			break;
		case 'C':
			if (cli_parse_cpus(optarg, &o->cfg.cpus) < 0) {
				char want[64];
				snprintf(want, sizeof(want), "a vCPU count from 1 to %u", KR_MAX_CPUS);
				return bad_value("--cpus", optarg, want);
			}
			break;
		case 'U':
			if (o->nmodules == sizeof(o->modules) / sizeof(o->modules[0])) {
				fprintf(stderr, "kvmrun run: at most %zu --module\n",
					sizeof(o->modules) / sizeof(o->modules[0]));
				return -1;
			}
			o->modules[o->nmodules++] = optarg;
			break;
		case 'M':
			if (cli_parse_size(optarg, &o->cfg.mem_size) < 0)
				return bad_value("--mem", optarg, "a size such as 64M");
			break;
		case 'l':
			if (cli_parse_u64(optarg, false, &o->load.load_addr) < 0)
				return bad_value("--load", optarg, "an address such as 0x100000");
			o->load.has_load_addr = true;
			break;
		case 'e':
			if (cli_parse_u64(optarg, false, &o->load.entry) < 0)
				return bad_value("--entry", optarg, "an address such as 0x100000");
			o->load.has_entry = true;
			break;
		case 'r':
			o->print_regs = true;
			break;
		case 'T':
			d = cli_parse_duration(optarg, &o->cfg.timeout_ns);
			if (d == CLI_DURATION_ZERO)
				return bad_value("--timeout", optarg, "a timeout that is positive (0 "
								    "would stop the guest at once)");
			if (d == CLI_DURATION_TOO_LONG)
				return bad_value("--timeout", optarg, "a timeout below 584 years");
			if (d < 0)
				return bad_value("--timeout", optarg,
						 "a duration such as 500ms, 1.5s, 2m or 1h (a plain "
						 "number is seconds)");
			break;
		case 'O':
			if (cli_parse_size(optarg, &o->cfg.max_output) < 0)
				return bad_value("--max-output", optarg, "a size such as 1M (0: no limit)");
			break;
		case 'S':
			o->no_seccomp = true;
			break;
		case 'D':
			o->dump_path = optarg;
			break;
		case 'R':
			o->trace_path = optarg;
			break;
		case 's':
			o->stats = true;
			break;
		case 'X':
			o->cross_check = true;
			break;
		case 'Z':
			o->cfg.map_page0 = true;
			break;
		case 'P':
			o->snapshot_path = optarg;
			break;
		case 'W':
			if (strcmp(optarg, "hypercall") && strcmp(optarg, "stop"))
				return bad_value("--snapshot-at", optarg, "hypercall or stop");
			o->snapshot_at_stop = !strcmp(optarg, "stop");
			break;
		case 'G':
			if (cli_gdb_parse(optarg, &o->gdb_addr) < 0)
				return bad_value("--gdb", optarg, "a TCP port (1..65535) or unix:PATH");
			o->gdb = true;
			break;
		case 't':
			if (o->ntranslate == MAX_TRANSLATE) {
				fprintf(stderr, "kvmrun run: at most %d --translate\n", MAX_TRANSLATE);
				return -1;
			}
			if (cli_parse_u64(optarg, false, &o->translate[o->ntranslate]) < 0)
				return bad_value("--translate", optarg, "a guest virtual address");
			o->ntranslate++;
			break;
		case 'h':
			cli_print_help(self, stdout);
			return 1;
		default: /* ':' a value is missing, '?' an unknown option */
			return bad_option(c, argv);
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "kvmrun run: expected one GUEST file (try kvmrun run --help)\n");
		return -1;
	}
	o->guest = argv[optind];
	/* gdb drives the runs itself; a snapshot would be taken behind its back. */
	if (o->gdb && o->snapshot_path) {
		fprintf(stderr, "kvmrun run: --gdb and --snapshot cannot be used together\n");
		return -1;
	}
	/* Said before a socket is opened or the guest runs (the library refuses them too). */
	if (o->cfg.cpus > 1 && o->snapshot_path) {
		fprintf(stderr, "kvmrun run: --snapshot works with one vCPU only, not --cpus %u (yet)\n",
			o->cfg.cpus);
		return -1;
	}
	return 0;
}

/*
 * --translate: KVM_TRANSLATE's answer, then the software walker's, so the two
 * can be compared at a glance. Returns -1 if they disagree.
 */
static int print_translations(FILE *f, struct kr_vm *vm, const struct run_options *o)
{
	int rc = 0;
	for (size_t i = 0; i < o->ntranslate; i++) {
		struct kr_translation t;
		struct kr_walk w;
		bool agree;
		if (kr_crosscheck(vm, o->translate[i], &t, &w, &agree) < 0) {
			fprintf(f, "kvmrun: %s\n", kr_last_error());
			rc = -1;
			continue;
		}
		if (!t.valid)
			fprintf(f, "translate 0x%" PRIx64 ": not mapped", t.gva);
		else
			fprintf(f, "translate 0x%" PRIx64 " -> 0x%" PRIx64
				   " valid=1 writeable=%d usermode=%d",
				t.gva, t.gpa, t.writeable, t.usermode);
		if (w.ok)
			fprintf(f, "; walk (%s): -> 0x%" PRIx64 ", %" PRIu64 " KiB page%s%s%s",
				kr_paging_name(w.paging), w.gpa, w.page_size >> 10,
				w.writable ? ", writable" : ", read-only", w.user ? ", user" : "",
				w.nx ? ", no-execute" : "");
		else
			fprintf(f, "; walk (%s): fails at level %d: %s", kr_paging_name(w.paging),
				w.fail_level, w.fail_reason);
		fprintf(f, "%s\n", agree ? "" : "; DISAGREE");
		if (!agree)
			rc = -1;
	}
	return rc;
}

/* --cross-check: every mapped page and the edges, both ways. */
static int cross_check(FILE *f, struct kr_vm *vm)
{
	struct kr_crosscheck_report r;
	if (kr_crosscheck_all(vm, 1u << 20, &r) < 0) {
		fprintf(f, "kvmrun: cross-check: %s\n", kr_last_error());
		return -1;
	}
	fprintf(f, "cross-check: %" PRIu64 " addresses, %" PRIu64 " mapped, %" PRIu64
		   " disagreements\n",
		r.checked, r.mapped, r.disagreements);
	if (r.disagreements)
		fprintf(f, "cross-check: first disagreement at 0x%" PRIx64 ": %s\n", r.first_bad_gva,
			r.first_bad);
	return r.disagreements ? -1 : 0;
}

/*
 * SIGINT, SIGTERM and SIGHUP stop the guest through kr_vm_stop, so the run
 * loop ends the normal way: the guest's output is written, reports and
 * --dump are done, and kvmrun exits with 128 + the signal number, as a
 * shell reports a command killed by it. SA_RESETHAND: a second signal (the
 * user insisting) ends kvmrun at once.
 */
static struct kr_vm *volatile signal_vm;
static volatile sig_atomic_t stop_signal;

static const char *stop_signal_message(int sig)
{
	switch (sig) {
	case SIGINT:
		return "kvmrun received SIGINT";
	case SIGTERM:
		return "kvmrun received SIGTERM";
	default:
		return "kvmrun received SIGHUP";
	}
}

static void on_stop_signal(int sig)
{
	int saved = errno;
	if (!stop_signal)
		stop_signal = sig;
	struct kr_vm *vm = signal_vm;
	if (vm)
		kr_vm_stop(vm, KR_STOP_REQUESTED, 0, stop_signal_message(sig));
	errno = saved;
}

static int install_signal_handlers(void)
{
	static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa = {.sa_handler = on_stop_signal, .sa_flags = SA_RESTART | SA_RESETHAND};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		sigaddset(&sa.sa_mask, stop_signals[i]);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++) {
		if (sigaction(stop_signals[i], &sa, NULL) < 0) {
			fprintf(stderr, "kvmrun: sigaction(%s): %s\n", strsignal(stop_signals[i]),
				strerror(errno));
			return -1;
		}
	}
	/*
	 * A closed output pipe is an error to report, not a silent death by
	 * SIGPIPE (141): the write fails with EPIPE, the run loop stops and says
	 * so, and kvmrun exits with 125.
	 */
	struct sigaction ign = {.sa_handler = SIG_IGN};
	sigemptyset(&ign.sa_mask);
	if (sigaction(SIGPIPE, &ign, NULL) < 0) {
		fprintf(stderr, "kvmrun: sigaction(SIGPIPE, SIG_IGN): %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Multiboot kernels: the command line is the kernel's path, then --append
 * (as GRUB and QEMU give it); modules in the order given. The library uses
 * them only if the guest turns out to be a multiboot kernel; afterwards the
 * options are checked against what it was.
 */
static int set_multiboot_options(struct kr_vm *vm, const struct run_options *o)
{
	char cmdline[4096];
	int n = snprintf(cmdline, sizeof(cmdline), "%s%s%s", o->guest, o->append ? " " : "",
			 o->append ? o->append : "");
	if (n < 0 || (size_t)n >= sizeof(cmdline)) {
		fprintf(stderr, "kvmrun run: the kernel's command line (its path and --append) is "
				"longer than %zu bytes\n", sizeof(cmdline) - 1);
		return -1;
	}
	if (kr_multiboot_set_cmdline(vm, cmdline) < 0)
		return -1;
	for (size_t i = 0; i < o->nmodules; i++)
		if (kr_multiboot_add_module(vm, o->modules[i], NULL) < 0)
			return -1;
	return 0;
}

static int check_multiboot_options(const struct kr_image *img, const struct run_options *o)
{
	if (!img->multiboot && (o->append || o->nmodules)) {
		fprintf(stderr, "kvmrun run: --append and --module are for multiboot kernels, and "
				"'%s' is not one (no multiboot header in its first 8 KiB)\n",
			o->guest);
		return -1;
	}
	if (img->multiboot && o->mode_given && o->cfg.mode != KR_MODE_PROTECTED) {
		fprintf(stderr, "kvmrun run: '%s' is a multiboot kernel, which starts in protected "
				"mode; --mode %s does not apply\n",
			o->guest, kr_mode_name(o->cfg.mode));
		return -1;
	}
	return 0;
}

int cli_exit_status(const struct kr_stop *stop)
{
	switch (stop->reason) {
	case KR_STOP_EXIT:
		/* 124 and up are ours: a guest status there would be read as ours. */
		return stop->exit_code <= KVMRUN_EXIT_GUEST_MAX ? stop->exit_code
								: KVMRUN_EXIT_GUEST_CRASH;
	case KR_STOP_REQUESTED:
		return stop_signal ? 128 + stop_signal : 0;
	case KR_STOP_HLT:
		return 0;
	case KR_STOP_RESET:
		/* A reboot is how many kernels end: clean, as QEMU -no-reboot exits 0. */
		return 0;
	case KR_STOP_TIMEOUT:
		return KVMRUN_EXIT_TIMEOUT;
	default:
		return KVMRUN_EXIT_GUEST_CRASH;
	}
}

/* A guest that crashed gets the full report; one that just misbehaved, a line. */
static bool wants_crash_report(const struct kr_stop *stop)
{
	switch (stop->reason) {
	case KR_STOP_SHUTDOWN:
	case KR_STOP_FAIL_ENTRY:
	case KR_STOP_INTERNAL_ERROR:
	case KR_STOP_SYSTEM_EVENT:
	case KR_STOP_UNHANDLED:
	case KR_STOP_EXCEPTION:
		return true;
	default:
		return false;
	}
}

/*
 * Report files are opened before the sandbox closes the door on open(), with
 * buffers of their own so that writing them never needs malloc.
 */
static FILE *open_report(const char *opt, const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "we");
	if (!f) {
		fprintf(stderr, "kvmrun run: %s: cannot create '%s': %s\n", opt, path,
			strerror(errno));
		return NULL;
	}
	setvbuf(f, buf, _IOFBF, size);
	return f;
}

static int close_report(FILE *f, const char *opt, const char *path)
{
	if (f && fclose(f) != 0) {
		fprintf(stderr, "kvmrun run: %s: writing '%s' failed: %s\n", opt, path,
			strerror(errno));
		return -1;
	}
	return 0;
}

int cli_run(const struct cli_command *self, int argc, char **argv)
{
	struct run_options o = {0};
	kr_vm_config_init(&o.cfg);
	int p = parse_options(self, argc, argv, &o);
	if (p != 0)
		return p > 0 ? 0 : KVMRUN_EXIT_VMM_ERROR;
	if (install_signal_handlers() < 0)
		return KVMRUN_EXIT_VMM_ERROR;

	static char dump_buf[8192], trace_buf[65536];
	FILE *dump = NULL, *trace = NULL;
	if ((o.dump_path && !(dump = open_report("--dump", o.dump_path, dump_buf, sizeof(dump_buf)))) ||
	    (o.trace_path &&
	     !(trace = open_report("--trace", o.trace_path, trace_buf, sizeof(trace_buf))))) {
		close_report(dump, "--dump", o.dump_path);
		return KVMRUN_EXIT_VMM_ERROR;
	}
	int write_fds[2];
	size_t nfds = 0;
	if (dump)
		write_fds[nfds++] = fileno(dump);
	if (trace)
		write_fds[nfds++] = fileno(trace);

	struct kr_vm *vm = NULL;
	struct kr_image img;
	struct kr_stop stop;
	/*
	 * A multiboot kernel gets the whole PC platform, as a PC would give
	 * it: the in-kernel PICs, I/O APIC, local APICs (its APs start with
	 * INIT/SIPI through them, so they must exist before the vCPUs) and
	 * PIT. Snapshots hold their state (and restore recreates them), so
	 * one vCPU gets them too. A file that cannot be read fails below,
	 * when it is loaded.
	 */
	if (kr_multiboot_probe_file(o.guest) > 0)
		o.cfg.pc = true;
	int failed = kr_vm_create(&vm, &o.cfg) < 0 || set_multiboot_options(vm, &o) < 0 ||
		     kr_load_file(vm, o.guest, &o.load, &img) < 0;
	if (!failed && check_multiboot_options(&img, &o) < 0) {
		kr_vm_destroy(vm);
		close_report(dump, "--dump", o.dump_path);
		close_report(trace, "--trace", o.trace_path);
		return KVMRUN_EXIT_VMM_ERROR;
	}
	failed = failed || kr_vcpu_prepare(vm, &img) < 0 ||
		 cli_watch_exits(vm, trace, o.stats) < 0 ||
		 (!o.no_seccomp && !o.snapshot_path && !o.gdb &&
		  kr_sandbox_enter(vm, write_fds, nfds) < 0);
	/* --gdb: the debugger reads and writes the socket, which the filter would not allow. */
	int gdb_fd = -1;
	if (!failed && o.gdb && (gdb_fd = cli_gdb_wait(&o.gdb_addr)) < 0)
		failed = 1;
	if (!failed) {
		signal_vm = vm;
		/* A signal during set-up has found no VM to stop: the guest never starts. */
		if (stop_signal) {
			signal_vm = NULL;
			fprintf(stderr, "kvmrun: %s before the guest started\n",
				stop_signal_message(stop_signal));
			kr_vm_destroy(vm);
			close_report(dump, "--dump", o.dump_path);
			close_report(trace, "--trace", o.trace_path);
			return 128 + stop_signal;
		}
		failed = (o.gdb ? kr_gdb_serve(vm, gdb_fd, &stop)
				: cli_run_snapshots(vm, &stop, o.snapshot_path, o.snapshot_at_stop)) < 0;
		signal_vm = NULL;
		if (gdb_fd >= 0)
			close(gdb_fd);
	}
	if (failed) {
		fprintf(stderr, "kvmrun: %s\n", kr_last_error());
		kr_vm_destroy(vm);
		close_report(dump, "--dump", o.dump_path);
		close_report(trace, "--trace", o.trace_path);
		return KVMRUN_EXIT_VMM_ERROR;
	}
	int status = cli_exit_status(&stop);
	if (stop.reason == KR_STOP_EXIT && stop.exit_code > KVMRUN_EXIT_GUEST_MAX)
		fprintf(stderr, "kvmrun: the guest broke the ABI: %s; a guest exit status must be "
				"0..%d (%d and up are kvmrun's own)\n",
			stop.message, KVMRUN_EXIT_GUEST_MAX, KVMRUN_EXIT_TIMEOUT);
	else if (status == KVMRUN_EXIT_GUEST_CRASH || status == KVMRUN_EXIT_TIMEOUT ||
		 (stop.reason == KR_STOP_REQUESTED && stop_signal))
		fprintf(stderr, "kvmrun: guest stopped: %s\n", stop.message);
	else if (stop.reason == KR_STOP_RESET)
		fprintf(stderr, "kvmrun: %s; kvmrun does not reboot, it stops\n", stop.message);
	if (wants_crash_report(&stop))
		cli_print_crash_report(stderr, vm, &stop);
	else if (o.print_regs && stop.have_state)
		cli_print_state(stderr, &stop);
	/* Translation disagreeing with the walker is a bug in kvmrun or KVM. */
	if (print_translations(stderr, vm, &o) < 0 || (o.cross_check && cross_check(stderr, vm) < 0))
		status = KVMRUN_EXIT_VMM_ERROR;
	cli_print_stats(stderr);
	if (dump)
		cli_write_json_report(dump, vm, &stop, status);
	if (close_report(dump, "--dump", o.dump_path) < 0 ||
	    close_report(trace, "--trace", o.trace_path) < 0)
		status = KVMRUN_EXIT_VMM_ERROR;
	kr_vm_destroy(vm);
	return status;
}
