/* SPDX-License-Identifier: MIT */
/*
 * snapshot.c - `kvmrun run --snapshot FILE` (the run loop around the
 * guest's snapshot requests) and `kvmrun restore FILE`.
 */
#include <getopt.h>
#include <string.h>

#include "cli.h"

static int save(struct kr_vm *vm, const char *path)
{
	struct kr_snapshot *s;
	if (kr_snapshot_take(vm, &s) < 0)
		return -1;
	int rc = kr_snapshot_write(s, path);
	kr_snapshot_free(s);
	return rc;
}

/* Stops the guest can go on from, so a snapshot of them can too. */
static bool resumable(enum kr_stop_reason r)
{
	return r == KR_STOP_HLT || r == KR_STOP_EXIT || r == KR_STOP_TIMEOUT;
}

int cli_run_snapshots(struct kr_vm *vm, struct kr_stop *stop, const char *path, bool at_stop)
{
	for (;;) {
		if (kr_vm_run(vm, stop) < 0)
			return -1;
		if (stop->reason != KR_STOP_SNAPSHOT)
			break;
		/* Without --snapshot (or with --snapshot-at stop) the request is a no-op. */
		if (path && !at_stop && save(vm, path) < 0)
			return -1;
	}
	if (path && at_stop && resumable(stop->reason) && save(vm, path) < 0)
		return -1;
	return 0;
}

void cli_restore_usage(FILE *f)
{
	fprintf(f,
		"Options:\n"
		"  -r, --regs            print the registers when the guest stops\n"
		"      --timeout DUR     stop the guest after DUR (as for kvmrun run)\n"
		"      --max-output SIZE stop the guest once it has written SIZE bytes in all,\n"
		"                        before the snapshot too (default 64M, 0: no limit)\n"
		"      --snapshot FILE   write a snapshot when the guest asks again (as run)\n"
		"  -h, --help            this help\n"
		"\n"
		"FILE is a snapshot written by kvmrun run --snapshot. It is checked before\n"
		"anything runs: magic, version, size, checksums, and the host (the KVM back\n"
		"end, the CPU's features, the TSC frequency); a file that fails is refused\n"
		"with the reason (status %d). The machine comes from the file: its mode,\n"
		"memory and platform (a multiboot kernel's PC platform: interrupt controllers,\n"
		"PIT, COM1, CMOS clock, keyboard controller, fw_cfg, with their state). The\n"
		"guest's output goes on from the snapshot; the exit status is as for kvmrun run.\n",
		KVMRUN_EXIT_VMM_ERROR);
}

int cli_restore(const struct cli_command *self, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"regs", no_argument, NULL, 'r'},
		{"timeout", required_argument, NULL, 'T'},
		{"max-output", required_argument, NULL, 'O'},
		{"snapshot", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	bool print_regs = false;
	const char *snapshot_path = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":rh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			print_regs = true;
			break;
		case 'T':
			if (cli_parse_duration(optarg, &cfg.timeout_ns) < 0) {
				fprintf(stderr, "kvmrun restore: --timeout '%s': expected a positive "
						"duration such as 500ms or 2s\n",
					optarg);
				return KVMRUN_EXIT_VMM_ERROR;
			}
			break;
		case 'O':
			if (cli_parse_size(optarg, &cfg.max_output) < 0) {
				fprintf(stderr, "kvmrun restore: --max-output '%s': expected a size "
						"such as 1M\n",
					optarg);
				return KVMRUN_EXIT_VMM_ERROR;
			}
			break;
		case 'P':
			snapshot_path = optarg;
			break;
		case 'h':
			cli_print_help(self, stdout);
			return 0;
		default:
			fprintf(stderr, "kvmrun restore: bad option or missing value '%s' (try "
					"kvmrun restore --help)\n",
				argv[optind - 1]);
			return KVMRUN_EXIT_VMM_ERROR;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "kvmrun restore: expected one snapshot FILE (try kvmrun restore "
				"--help)\n");
		return KVMRUN_EXIT_VMM_ERROR;
	}

	struct kr_snapshot *snap = NULL;
	struct kr_vm *vm = NULL;
	struct kr_stop stop;
	if (kr_snapshot_read(argv[optind], &snap) < 0 || kr_vm_restore(&vm, snap, &cfg) < 0 ||
	    cli_run_snapshots(vm, &stop, snapshot_path, false) < 0) {
		fprintf(stderr, "kvmrun restore: %s\n", kr_last_error());
		kr_vm_destroy(vm);
		kr_snapshot_free(snap);
		return KVMRUN_EXIT_VMM_ERROR;
	}
	kr_snapshot_free(snap);
	int status = cli_exit_status(&stop);
	if (status == KVMRUN_EXIT_GUEST_CRASH || status == KVMRUN_EXIT_TIMEOUT)
		fprintf(stderr, "kvmrun: guest stopped: %s\n", stop.message);
	if (status == KVMRUN_EXIT_GUEST_CRASH && stop.reason != KR_STOP_EXIT &&
	    stop.reason != KR_STOP_GUEST_ERROR && stop.reason != KR_STOP_OUTPUT_LIMIT)
		cli_print_crash_report(stderr, vm, &stop);
	else if (print_regs && stop.have_state)
		cli_print_state(stderr, &stop);
	kr_vm_destroy(vm);
	return status;
}
