/* SPDX-License-Identifier: MIT */
/*
 * console.c - the debug console on port 0xE9 and the sink of KVMRUN_HC_WRITE.
 *
 * A guest that prints byte by byte causes one exit per byte; a write(2) per
 * byte on top of that would double the cost. So port output is gathered in a
 * buffer, but never held back for long: the buffer is written out at each
 * newline, at the end of each WRITE hypercall (hypercall.c flushes), when
 * it fills, when the VM stops and when it is destroyed. A guest that prints
 * a line and then spins is seen at once, and a user who stops kvmrun
 * (SIGINT) loses nothing the guest wrote.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

int kr_console_flush(struct kr_vm *vm)
{
	struct kr_console *c = &vm->console;
	size_t done = 0;
	while (done < c->used) {
		ssize_t n = write(c->fd, c->buf + done, c->used - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int saved = errno;
			size_t left = c->used - done; /* counted before the buffer is dropped */
			c->used = 0; /* drop it: retrying a broken fd would loop forever */
			errno = n == 0 ? EIO : saved;
			return kr_err_sys("console: write of %zu bytes to fd %d", left, c->fd);
		}
		done += (size_t)n;
	}
	c->used = 0;
	return 0;
}

int kr_console_write(struct kr_vm *vm, const void *data, size_t len)
{
	struct kr_console *c = &vm->console;
	const char *p = data;
	/* A guest must not be able to fill the disk behind our stdout. */
	uint64_t max = vm->cfg.max_output;
	if (max && len > max - c->total) {
		char msg[96];
		len = (size_t)(max - c->total);
		snprintf(msg, sizeof(msg), "guest output reached the limit of %llu bytes",
			 (unsigned long long)max);
		kr_vm_stop(vm, KR_STOP_OUTPUT_LIMIT, 0, msg);
	}
	c->total += len;
	bool newline = false;
	while (len > 0) {
		if (c->used == sizeof(c->buf) && kr_console_flush(vm) < 0)
			return -1;
		size_t chunk = sizeof(c->buf) - c->used;
		if (chunk > len)
			chunk = len;
		memcpy(c->buf + c->used, p, chunk);
		newline = newline || memchr(p, '\n', chunk);
		c->used += chunk;
		p += chunk;
		len -= chunk;
	}
	/* A whole line is worth showing now (the rest of the buffer goes with it). */
	return newline ? kr_console_flush(vm) : 0;
}

static int debug_port(struct kr_vm *vm, void *opaque, uint64_t port, void *data, uint32_t size,
		      bool is_write)
{
	(void)opaque;
	(void)port;
	if (!is_write) {
		/* Bochs answers 0xE9 to a read: guests probe for the port that way. */
		memset(data, 0, size);
		*(uint8_t *)data = KVMRUN_DEBUG_CONSOLE_PORT;
		return 0;
	}
	/* Only the low byte of a wider write is a character. */
	return kr_console_write(vm, data, 1);
}

int kr_console_register(struct kr_vm *vm)
{
	return kr_bus_register(vm, KR_SPACE_PIO, KVMRUN_DEBUG_CONSOLE_PORT, 1, debug_port, NULL);
}
