/* SPDX-License-Identifier: MIT */
/*
 * console.c - the debug console on port 0xE9 and the sink of KVMRUN_HC_WRITE.
 *
 * A guest that prints byte by byte causes one exit per byte; a write(2) per
 * byte on top of that would double the cost. So port output is gathered in a
 * buffer, but never held back for long: the buffer is written out at each
 * newline, at the end of each WRITE hypercall, when it fills, when the VM
 * stops and when it is destroyed. A guest that prints a line and then spins
 * is seen at once, and a user who stops kvmrun (SIGINT) loses nothing the
 * guest wrote.
 *
 * With several vCPUs, each one's port bytes are held in a line buffer of
 * its own until its newline (or 256 bytes, or its next WRITE, or the run's
 * end): two vCPUs printing byte by byte do not mix their lines, and one
 * lock makes each line and each WRITE's message go out whole.
 *
 * The console registers all it needs itself: its port, the WRITE hypercall,
 * and hooks for the end of a run (flush), VM teardown (flush, free) and the
 * sandbox (the fd it writes to).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/vm.h"
#include "devices/console.h"
#include "devices/hypercall.h"
#include "x86/translate.h"

static const struct kr_hooks console_hooks;

struct kr_console *kr_console_get(struct kr_vm *vm)
{
	return kr_vm_module(vm, &console_hooks);
}

int kr_console_check_config(const struct kr_vm_config *cfg)
{
	/* Caught here, not at the guest's first line of output, deep in a run. */
	int fl = cfg->console_fd < 0 ? -1 : fcntl(cfg->console_fd, F_GETFL);
	if (fl < 0)
		return cfg->console_fd < 0 ?
			kr_err("create VM: cfg.console_fd is %d: not a file descriptor",
			       cfg->console_fd) :
			kr_err_sys("create VM: cfg.console_fd %d: fcntl(F_GETFL)",
				   cfg->console_fd);
	if ((fl & O_ACCMODE) == O_RDONLY)
		return kr_err("create VM: cfg.console_fd %d is open read-only, but the console "
			      "writes to it", cfg->console_fd);
	return 0;
}

static int flush(struct kr_console *c)
{
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

/*
 * Several vCPUs write at once (port 0xE9, WRITE, the UART): one at a time,
 * so that a WRITE hypercall's message or a line is never cut by another's.
 * One vCPU: no lock, nothing to race with (the run's end and teardown come
 * after the vCPU threads are out).
 */
static void lock(struct kr_vm *vm, struct kr_console *c)
{
	if (kr_vm_smp(vm))
		pthread_mutex_lock(&c->lock);
}

static void unlock(struct kr_vm *vm, struct kr_console *c)
{
	if (kr_vm_smp(vm))
		pthread_mutex_unlock(&c->lock);
}

static int console_write(struct kr_vm *vm, struct kr_console *c, const void *data, size_t len);

/* A vCPU's held port bytes into the shared buffer (the lock held). */
static int put_line(struct kr_vm *vm, struct kr_console *c, struct kr_console_line *l)
{
	size_t n = l->used;
	l->used = 0;
	return n ? console_write(vm, c, l->buf, n) : 0;
}

/* Every vCPU's held bytes, then the buffer, out (the lock held). */
static int put_all_and_flush(struct kr_vm *vm, struct kr_console *c)
{
	int rc = 0;
	for (unsigned i = 0; i < c->nlines; i++)
		if (put_line(vm, c, &c->lines[i]) < 0)
			rc = -1;
	if (flush(c) < 0)
		rc = -1;
	return rc;
}

int kr_console_flush(struct kr_vm *vm)
{
	struct kr_console *c = kr_console_get(vm);
	if (!c)
		return 0;
	lock(vm, c);
	int rc = put_all_and_flush(vm, c);
	unlock(vm, c);
	return rc;
}

/* Buffer guest output (the console's lock held, with several vCPUs). */
static int console_write(struct kr_vm *vm, struct kr_console *c, const void *data, size_t len)
{
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
		if (c->used == sizeof(c->buf) && flush(c) < 0)
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
	return newline ? flush(c) : 0;
}

int kr_console_write(struct kr_vm *vm, const void *data, size_t len)
{
	struct kr_console *c = kr_console_get(vm);
	if (!c)
		return kr_err("console: the VM has none");
	lock(vm, c);
	int rc = console_write(vm, c, data, len);
	unlock(vm, c);
	return rc;
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
	struct kr_console *c = opaque;
	if (!c->lines)
		return kr_console_write(vm, data, 1);
	/* Several vCPUs: held per vCPU until its newline, then the whole line goes out. */
	unsigned id = kr_vcpu_current(vm)->id;
	struct kr_console_line *l = &c->lines[id < c->nlines ? id : 0];
	char ch = *(const char *)data;
	int rc = 0;
	lock(vm, c);
	l->buf[l->used++] = ch;
	if (ch == '\n' || l->used == sizeof(l->buf))
		rc = put_line(vm, c, l);
	unlock(vm, c);
	return rc;
}

/* ---- KVMRUN_HC_WRITE ------------------------------------------------------ */

/* The host pieces of a WRITE buffer: one per guest page it touches. */
#define MAX_PIECES (KVMRUN_HC_WRITE_MAX / 4096 + 1)

struct pieces {
	size_t n;
	struct {
		const void *host;
		size_t len;
	} p[MAX_PIECES];
};

static int collect_piece(void *ctx, const void *host, size_t n)
{
	struct pieces *ps = ctx;
	if (ps->n == MAX_PIECES)
		return kr_err("more than %d pages", MAX_PIECES);
	ps->p[ps->n].host = host;
	ps->p[ps->n].len = n;
	ps->n++;
	return 0;
}

static int hc_write(struct kr_vm *vm, void *opaque, uint64_t gva, uint64_t len)
{
	struct kr_console *c = opaque;
	char msg[300];
	if (len > KVMRUN_HC_WRITE_MAX) {
		snprintf(msg, sizeof(msg),
			 "hypercall WRITE: length 0x%llx exceeds the limit of 0x%x bytes (buffer 0x%llx)",
			 (unsigned long long)len, KVMRUN_HC_WRITE_MAX, (unsigned long long)gva);
		return kr_hypercall_guest_error(vm, msg);
	}
	/*
	 * Translate and check the whole buffer first, so a bad one prints
	 * nothing at all; then write the pieces found (one KVM_TRANSLATE per page).
	 */
	struct pieces ps;
	ps.n = 0;
	if (kr_gva_for_each(vm, gva, len, collect_piece, &ps) < 0) {
		snprintf(msg, sizeof(msg), "hypercall WRITE(0x%llx, 0x%llx): %s",
			 (unsigned long long)gva, (unsigned long long)len, kr_last_error());
		return kr_hypercall_guest_error(vm, msg);
	}
	int rc = 0;
	lock(vm, c);
	/* What this vCPU printed on the port before comes first. */
	if (c->lines) {
		unsigned id = kr_vcpu_current(vm)->id;
		rc = put_line(vm, c, &c->lines[id < c->nlines ? id : 0]);
	}
	for (size_t i = 0; i < ps.n && rc == 0; i++)
		rc = console_write(vm, c, ps.p[i].host, ps.p[i].len);
	/* One hypercall is one message: show it now, even without a newline. */
	if (rc == 0)
		rc = flush(c);
	unlock(vm, c);
	return rc;
}

/* ---- hooks ---------------------------------------------------------------- */

static int on_run_end(struct kr_vm *vm, void *opaque)
{
	return put_all_and_flush(vm, opaque); /* no vCPU runs: no lock needed */
}

static void on_destroy(struct kr_vm *vm, void *opaque)
{
	struct kr_console *c = opaque;
	put_all_and_flush(vm, c);
	pthread_mutex_destroy(&c->lock);
	free(c->lines);
	free(c);
}

static size_t write_fds(struct kr_vm *vm, void *opaque, int *fds, size_t max)
{
	(void)vm;
	const struct kr_console *c = opaque;
	if (max < 1)
		return 0;
	fds[0] = c->fd;
	return 1;
}

/*
 * Snapshots: what the guest has written so far (for cfg.max_output) and any
 * bytes still buffered. A run ends with the buffer flushed, so those are
 * normally none; a restored guest does not print again what it printed
 * before its snapshot.
 */
struct console_state {
	uint64_t total;
	uint64_t used;
};

static long save(struct kr_vm *vm, void *opaque, void *buf, size_t max)
{
	(void)vm;
	const struct kr_console *c = opaque;
	struct console_state st = {.total = c->total, .used = c->used};
	if (max < sizeof(st) + c->used)
		return kr_err("console: snapshot needs %zu bytes, %zu left", sizeof(st) + c->used,
			      max);
	memcpy(buf, &st, sizeof(st));
	memcpy((char *)buf + sizeof(st), c->buf, c->used);
	return (long)(sizeof(st) + c->used);
}

int kr_console_check_state(const void *buf, size_t len)
{
	struct console_state st;
	if (len < sizeof(st))
		return kr_err("console: snapshot state of %zu bytes, expected at least %zu", len,
			      sizeof(st));
	memcpy(&st, buf, sizeof(st));
	if (st.used > KR_CONSOLE_BUF || st.used != len - sizeof(st) || st.used > st.total)
		return kr_err("console: snapshot state is inconsistent (%llu bytes buffered of "
			      "%llu written, %zu bytes of state)",
			      (unsigned long long)st.used, (unsigned long long)st.total, len);
	return 0;
}

static int restore(struct kr_vm *vm, void *opaque, const void *buf, size_t len)
{
	(void)vm;
	struct kr_console *c = opaque;
	struct console_state st;
	if (kr_console_check_state(buf, len) < 0)
		return -1;
	memcpy(&st, buf, sizeof(st));
	c->total = st.total;
	c->used = (size_t)st.used;
	memcpy(c->buf, (const char *)buf + sizeof(st), c->used);
	return 0;
}

static const struct kr_hooks console_hooks = {
	.name = "console",
	.on_run_end = on_run_end,
	.on_destroy = on_destroy,
	.write_fds = write_fds,
	.save = save,
	.restore = restore,
};

int kr_console_register(struct kr_vm *vm)
{
	struct kr_console *c = calloc(1, sizeof(*c));
	if (!c)
		return kr_err_sys("console: calloc(%zu)", sizeof(*c));
	c->fd = vm->cfg.console_fd;
	if (kr_vm_smp(vm)) {
		c->lines = calloc(vm->cfg.cpus, sizeof(*c->lines));
		if (!c->lines) {
			free(c);
			return kr_err_sys("console: calloc(%u line buffers)", vm->cfg.cpus);
		}
		c->nlines = vm->cfg.cpus;
	}
	pthread_mutex_init(&c->lock, NULL);
	if (kr_vm_add_module(vm, &console_hooks, c) < 0) {
		pthread_mutex_destroy(&c->lock);
		free(c->lines);
		free(c);
		return -1;
	}
	/* From here on the VM owns c: kr_vm_destroy frees it. */
	if (kr_bus_register(vm, KR_SPACE_PIO, KVMRUN_DEBUG_CONSOLE_PORT, 1, debug_port, c) < 0 ||
	    kr_hypercall_add(vm, KVMRUN_HC_WRITE, hc_write, c) < 0)
		return -1;
	return 0;
}
