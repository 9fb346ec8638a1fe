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

/* `kvmrun boot` (boot.c): a kernel panic; its reboot is 0 (no guest statuses there). */
enum { KVMRUN_EXIT_GUEST_PANIC = 120 };
int cli_boot(int argc, char **argv);
void cli_boot_usage(FILE *f);

int cli_run(int argc, char **argv);
int cli_info(int argc, char **argv);

/* Parse "0x1000", "4096", with optional K/M/G suffix when `sizes` is set. */
int cli_parse_u64(const char *s, bool sizes, uint64_t *out);

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

/* The options of `kvmrun run` and the exit statuses (main.c). */
void cli_run_usage(FILE *f);

/* trace.c: --trace FILE (JSON lines) and --stats, through the exit observer. */
int cli_watch_exits(struct kr_vm *vm, FILE *trace, bool stats);
void cli_print_stats(FILE *f);

/* report.c: registers, control bits, segments; the crash report; JSON. */
void cli_print_state(FILE *f, const struct kr_stop *stop);
void cli_print_crash_report(FILE *f, struct kr_vm *vm, const struct kr_stop *stop);
void cli_write_json_report(FILE *f, struct kr_vm *vm, const struct kr_stop *stop, int status);

#endif
