/* SPDX-License-Identifier: MIT */
/*
 * boot.c - `kvmrun boot`: a Linux kernel on kvmrun's PC platform, its console
 * on COM1 wired to this terminal (stdin and stdout).
 *
 * When stdin is a terminal it is put in raw mode (keys go to the guest as
 * typed, Ctrl-C included; Ctrl-A x quits as in QEMU) and restored on every
 * way out: the normal end, an error, and SIGINT/SIGTERM/SIGHUP (in the
 * handler, tcsetattr being async-signal-safe). Restoring it is an ioctl on
 * stdin, which the seccomp filter does not allow: with a raw terminal,
 * kvmrun boot runs without the filter (said on stderr); with stdin a file
 * or a pipe (scripts, tests) the filter is on.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_MEM (256ull << 20)
/* COM1 is the console; reboot=t: reset by triple fault, which kvmrun sees as KVM_EXIT_SHUTDOWN. */
#define DEFAULT_CMDLINE "console=ttyS0 reboot=t"

void cli_boot_usage(FILE *f)
{
	fprintf(f,
		"boot options:\n"
		"  -k, --kernel BZIMAGE  the Linux kernel (x86-64 bzImage, boot protocol 2.06+,\n"
		"                        relocatable)\n"
		"  -i, --initrd FILE     the initial RAM disk\n"
		"  -a, --append CMDLINE  the kernel command line (default \"%s\")\n"
		"  -M, --mem SIZE        guest RAM (default 256M, up to 3G)\n"
		"      --cpus N          N vCPUs (default 1, at most %u); the kernel starts\n"
		"                        the others with INIT/SIPI\n"
		"      --timeout DUR     stop the guest after DUR (as for run); status %d\n"
		"      --no-seccomp      run without the seccomp filter\n"
		"  -h, --help            this help\n"
		"\n"
		"The console is COM1 (ttyS0): the guest's output on stdout, stdin typed or\n"
		"piped into it. On a terminal, Ctrl-A x quits (Ctrl-A Ctrl-A sends Ctrl-A).\n"
		"Exit status:\n"
		"  0       the guest rebooted (triple fault, as with reboot=t, or a reset), or\n"
		"          Ctrl-A x\n"
		"  %d     the kernel panicked (\"Kernel panic - not syncing\" on its console)\n"
		"  %d     --timeout\n"
		"  %d     kvmrun failed: usage, a bad kernel or initrd, too little memory, KVM\n"
		"  %d     the guest crashed otherwise or wrote more output than allowed\n"
		"  128+N   stopped by signal N\n",
		DEFAULT_CMDLINE, KR_MAX_CPUS, KVMRUN_EXIT_TIMEOUT, KVMRUN_EXIT_GUEST_PANIC, KVMRUN_EXIT_TIMEOUT,
		KVMRUN_EXIT_VMM_ERROR, KVMRUN_EXIT_GUEST_CRASH);
}

struct boot_options {
	struct kr_vm_config cfg;
	const char *kernel, *initrd, *cmdline;
	bool no_seccomp;
};

static int parse(const struct cli_command *self, int argc, char **argv, struct boot_options *o)
{
	static const struct option longopts[] = {
		{"kernel", required_argument, NULL, 'k'}, {"initrd", required_argument, NULL, 'i'},
		{"append", required_argument, NULL, 'a'}, {"mem", required_argument, NULL, 'M'},
		{"timeout", required_argument, NULL, 'T'}, {"no-seccomp", no_argument, NULL, 'S'},
		{"cpus", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:i:a:M:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k': o->kernel = optarg; break;
		case 'i': o->initrd = optarg; break;
		case 'a': o->cmdline = optarg; break;
		case 'M':
			if (cli_parse_u64(optarg, true, &o->cfg.mem_size) < 0) {
				fprintf(stderr, "kvmrun boot: --mem '%s': expected a size such as 256M\n",
					optarg);
				return -1;
			}
			break;
		case 'T':
			if (cli_parse_duration(optarg, &o->cfg.timeout_ns) < 0) {
				fprintf(stderr, "kvmrun boot: --timeout '%s': expected a positive "
						"duration such as 30s\n", optarg);
				return -1;
			}
			break;
		case 'S': o->no_seccomp = true; break;
		case 'C':
			if (cli_parse_cpus(optarg, &o->cfg.cpus) < 0) {
				fprintf(stderr, "kvmrun boot: --cpus '%s': expected a vCPU count from "
						"1 to %u\n", optarg, KR_MAX_CPUS);
				return -1;
			}
			break;
		case 'h': cli_print_help(self, stdout); return 1;
		case ':':
			fprintf(stderr, "kvmrun boot: option '%s' needs a value (try kvmrun boot --help)\n",
				argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "kvmrun boot: unknown option '%s' (try kvmrun boot --help)\n",
				argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kvmrun boot: unexpected argument '%s' (the kernel is --kernel FILE)\n",
			argv[optind]);
		return -1;
	}
	if (!o->kernel) {
		fprintf(stderr, "kvmrun boot: --kernel BZIMAGE is required (try kvmrun boot --help)\n");
		return -1;
	}
	return 0;
}

/* ---- the terminal, restored on every way out ------------------------------------ */

static struct termios saved_tty;
static volatile sig_atomic_t tty_raw;
static struct kr_vm *volatile signal_vm;
static volatile sig_atomic_t stop_signal;

static void restore_tty(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
		tty_raw = 0;
	}
}

static void on_signal(int sig)
{
	int saved = errno;
	restore_tty();
	if (!stop_signal)
		stop_signal = sig;
	struct kr_vm *vm = signal_vm;
	if (vm)
		kr_vm_stop(vm, KR_STOP_REQUESTED, 0, "kvmrun received a signal");
	errno = saved;
}

static int setup_signals_and_tty(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART | SA_RESETHAND};
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0) {
			fprintf(stderr, "kvmrun boot: sigaction: %s\n", strerror(errno));
			return -1;
		}
	struct sigaction ign = {.sa_handler = SIG_IGN};
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, NULL);
	if (!isatty(STDIN_FILENO))
		return 0;
	if (tcgetattr(STDIN_FILENO, &saved_tty) < 0) {
		fprintf(stderr, "kvmrun boot: tcgetattr(stdin): %s\n", strerror(errno));
		return -1;
	}
	struct termios raw = saved_tty;
	cfmakeraw(&raw);
	/* Output keeps its processing: kvmrun's own messages still start their lines. */
	raw.c_oflag |= OPOST;
	tty_raw = 1;
	if (atexit(restore_tty) != 0 || tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0) {
		tty_raw = 0;
		fprintf(stderr, "kvmrun boot: tcsetattr(stdin, raw): %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int boot_status(const struct kr_stop *stop)
{
	switch (stop->reason) {
	case KR_STOP_SHUTDOWN:
	case KR_STOP_SYSTEM_EVENT:
	case KR_STOP_RESET:
		return 0; /* a PC resets on a triple fault: Linux's reboot=t, and kvmrun ends there */
	case KR_STOP_REQUESTED:
		return stop_signal ? 128 + stop_signal : 0;
	case KR_STOP_GUEST_PANIC:
		return KVMRUN_EXIT_GUEST_PANIC;
	case KR_STOP_TIMEOUT:
		return KVMRUN_EXIT_TIMEOUT;
	default:
		return KVMRUN_EXIT_GUEST_CRASH;
	}
}

int cli_boot(const struct cli_command *self, int argc, char **argv)
{
	struct boot_options o = {0};
	kr_vm_config_init(&o.cfg);
	o.cfg.mem_size = DEFAULT_MEM;
	o.cfg.pc = true;
	o.cfg.serial_in_fd = STDIN_FILENO;
	o.cmdline = DEFAULT_CMDLINE;
	int p = parse(self, argc, argv, &o);
	if (p != 0)
		return p > 0 ? 0 : KVMRUN_EXIT_VMM_ERROR;

	struct kr_backend b;
	if (kr_backend_probe(&b) == 0 && b.kind == KR_BACKEND_SOFTWARE)
		fprintf(stderr, "kvmrun boot: warning: this KVM back end (%s) runs guests in "
				"software, about 1 us per instruction: a Linux boot takes tens of "
				"minutes here, not seconds\n", b.module);

	if (setup_signals_and_tty() < 0)
		return KVMRUN_EXIT_VMM_ERROR;
	o.cfg.serial_escape = tty_raw;
	bool seccomp = !o.no_seccomp && !tty_raw;
	if (!o.no_seccomp && tty_raw)
		fprintf(stderr, "kvmrun boot: the terminal is in raw mode, which only an ioctl "
				"can undo: running without the seccomp filter\r\n");

	struct kr_vm *vm = NULL;
	struct kr_image img;
	struct kr_linux_info info;
	struct kr_stop stop;
	int failed = kr_vm_create(&vm, &o.cfg) < 0 ||
		     kr_linux_load_files(vm, o.kernel, o.initrd, o.cmdline, &img, &info) < 0 ||
		     kr_linux_prepare(vm, &img) < 0 || (seccomp && kr_sandbox_enter(vm, NULL, 0) < 0);
	if (!failed) {
		signal_vm = vm;
		if (!stop_signal)
			failed = kr_vm_run(vm, &stop) < 0;
		signal_vm = NULL;
	}
	if (failed || stop_signal) {
		restore_tty();
		if (failed)
			fprintf(stderr, "kvmrun boot: %s\n", kr_last_error());
		kr_vm_destroy(vm);
		return failed ? KVMRUN_EXIT_VMM_ERROR : 128 + stop_signal;
	}
	kr_console_flush(vm);
	restore_tty();
	int status = boot_status(&stop);
	if (stop.reason == KR_STOP_SHUTDOWN || stop.reason == KR_STOP_SYSTEM_EVENT ||
	    stop.reason == KR_STOP_RESET)
		fprintf(stderr, "kvmrun boot: the guest rebooted (%s)\n", stop.message);
	else if (stop.reason == KR_STOP_GUEST_PANIC)
		fprintf(stderr, "kvmrun boot: kernel panic: %s\n", stop.message);
	else
		fprintf(stderr, "kvmrun boot: guest stopped: %s\n", stop.message);
	if (status == KVMRUN_EXIT_GUEST_CRASH)
		cli_print_crash_report(stderr, vm, &stop);
	kr_vm_destroy(vm);
	return status;
}
