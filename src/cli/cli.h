/* SPDX-License-Identifier: MIT */
/* cli.h - the kvmrun command: a thin front on libkvmrun. */
#ifndef KVMRUN_CLI_H
#define KVMRUN_CLI_H

#include <stdio.h>

#include "kvmrun.h"

/*
 * Exit statuses of the kvmrun command (documented in docs/kvmrun.1).
 * A guest's own status (KVMRUN_HC_EXIT) passes through if it is at most
 * KVMRUN_EXIT_GUEST_MAX; 0 after HLT. 128 + N: stopped by signal N.
 */
enum {
	KVMRUN_EXIT_GUEST_MAX = 123,  /* the largest status a guest may exit with */
	KVMRUN_EXIT_TIMEOUT = 124,    /* the guest ran longer than --timeout */
	KVMRUN_EXIT_VMM_ERROR = 125,  /* usage, bad guest file, KVM or an ioctl failed */
	KVMRUN_EXIT_GUEST_CRASH = 126, /* triple fault, entry failure, unhandled exit, bad hypercall,
					  too much output */
};

/*
 * A subcommand (main.c holds the table): `kvmrun NAME ARGS`, `SUMMARY` in
 * `kvmrun help`; `kvmrun NAME --help` prints the synopsis, the summary and
 * what usage() prints. main() is called with argv[0] = NAME and returns the
 * exit status.
 */
struct cli_command {
	const char *name, *args, *summary;
	int (*main)(const struct cli_command *self, int argc, char **argv);
	void (*usage)(FILE *f); /* the options and more; NULL: nothing more */
};

/* `kvmrun boot` (boot.c): a kernel panic; its reboot is 0 (no guest statuses there). */
enum { KVMRUN_EXIT_GUEST_PANIC = 120 };

/* `kvmrun NAME --help`: "Usage: kvmrun NAME ARGS", the summary, usage(). */
void cli_print_help(const struct cli_command *cmd, FILE *f);
/*
 * For a command without arguments: 1 if there are none, 0 after printing
 * its help for --help or -h, else -KVMRUN_EXIT_VMM_ERROR after a message.
 */
int cli_no_arguments(const struct cli_command *cmd, int argc, char **argv);

/* run.c: `kvmrun run` and what its --help prints after the synopsis. */
int cli_run(const struct cli_command *self, int argc, char **argv);
void cli_run_usage(FILE *f);

/* boot.c: `kvmrun boot` (Linux) and what its --help prints after the synopsis. */
int cli_boot(const struct cli_command *self, int argc, char **argv);
void cli_boot_usage(FILE *f);

/* run.c: the exit status for how the guest stopped (0..123, 124, 126, 128+N). */
int cli_exit_status(const struct kr_stop *stop);

/*
 * snapshot.c: run the VM until it stops for good; each KVMRUN_HC_SNAPSHOT
 * stop writes a snapshot to `path` (if any and !at_stop) and the guest goes
 * on; with at_stop, the final stop is snapshotted if the guest could go on
 * from it. -1 (kr_last_error() says why) if the VMM or the snapshot failed.
 */
int cli_run_snapshots(struct kr_vm *vm, struct kr_stop *stop, const char *path, bool at_stop);
/* `kvmrun restore` and what its --help prints after the synopsis. */
int cli_restore(const struct cli_command *self, int argc, char **argv);
void cli_restore_usage(FILE *f);

/* info.c: `kvmrun info` and what its --help prints after the synopsis. */
int cli_info(const struct cli_command *self, int argc, char **argv);
void cli_info_usage(FILE *f);

/*
 * parse.c: numbers on the command line (and nothing else, so that the fuzzer
 * links it alone). 0 on success, else -1 (or a CLI_DURATION_ code).
 */

/* "0x1000", "4096", "010" (octal); with `sizes`, a K, M or G suffix too. */
int cli_parse_u64(const char *s, bool sizes, uint64_t *out);
/* --cpus N: a decimal count from 1 to KR_MAX_CPUS, no leading zero. */
int cli_parse_cpus(const char *s, unsigned *out);
/* cli_parse_u64 with sizes: "64M", "4096", "0x1000k". */
int cli_parse_size(const char *s, uint64_t *out);

/*
 * Parse a duration into nanoseconds: a number with an optional fraction (at
 * most 9 decimals) and unit, ms, s, m or h; no unit is seconds. "500ms",
 * "1.5s", "0.5", "2m". Returns 0 or one of these:
 */
enum {
	CLI_DURATION_SYNTAX = -1,   /* not a number with a known unit */
	CLI_DURATION_ZERO = -2,     /* 0 (or less than 1 ns): a timeout must be positive */
	CLI_DURATION_TOO_LONG = -3, /* more than 2^64 - 1 ns (584 years) */
};
int cli_parse_duration(const char *s, uint64_t *ns);

/* trace.c: --trace FILE (JSON lines) and --stats, through the exit observer. */
/* --gdb PORT or unix:PATH (cli/gdb.c) */
struct cli_gdb_address {
	const char *unix_path; /* NULL: TCP on 127.0.0.1:port */
	uint16_t port;
};
int cli_gdb_parse(const char *spec, struct cli_gdb_address *a);
/* Listen, say where on stderr, wait for gdb: the connected fd, or -1 (said why). */
int cli_gdb_wait(const struct cli_gdb_address *a);

int cli_watch_exits(struct kr_vm *vm, FILE *trace, bool stats);
void cli_print_stats(FILE *f);

/* report.c: registers, control bits, segments; the crash report; JSON. */
void cli_print_state(FILE *f, const struct kr_stop *stop);
void cli_print_crash_report(FILE *f, struct kr_vm *vm, const struct kr_stop *stop);
void cli_write_json_report(FILE *f, struct kr_vm *vm, const struct kr_stop *stop, int status);

#endif
