/* SPDX-License-Identifier: MIT */
/* devices/console.h - the debug console (port 0xE9) and KVMRUN_HC_WRITE's sink. */
#ifndef KVMRUN_DEVICES_CONSOLE_H
#define KVMRUN_DEVICES_CONSOLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmrun.h"

#define KR_CONSOLE_BUF 4096

#define KR_CONSOLE_LINE 256

/* Port 0xE9 bytes of one vCPU, held until its newline (several vCPUs only). */
struct kr_console_line {
	size_t used;
	char buf[KR_CONSOLE_LINE];
};

struct kr_console {
	pthread_mutex_t lock; /* several vCPUs: one writer at a time */
	/*
	 * Several vCPUs: a line buffer per vCPU (by id) for port 0xE9, so that
	 * two vCPUs printing byte by byte do not mix their lines; NULL with one.
	 */
	struct kr_console_line *lines;
	unsigned nlines;
	int fd;
	uint64_t total; /* bytes the guest has written, for cfg.max_output */
	size_t used;
	char buf[KR_CONSOLE_BUF];
};

/* Refuse a cfg.console_fd the console cannot write to (before the VM exists). */
int kr_console_check_config(const struct kr_vm_config *cfg);
/* Create the console on cfg.console_fd: its port, its WRITE hypercall, its hooks. */
int kr_console_register(struct kr_vm *vm);
/* The VM's console (NULL if it has none): for tests and fuzzers. */
struct kr_console *kr_console_get(struct kr_vm *vm);
int kr_console_write(struct kr_vm *vm, const void *data, size_t len);
/* Snapshots: whether saved state (from a file) makes sense, -1 naming why not. */
int kr_console_check_state(const void *buf, size_t len);

#endif
