/* SPDX-License-Identifier: MIT */
/* kvmtest.c - helpers the KVM library tests share (see kvmtest.h). */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvmtest.h"

bool kvmtest_needs(const char *feature)
{
	static struct kr_backend backend;
	static bool probed;
	if (!probed) {
		if (kr_backend_probe(&backend) < 0) {
			unit_fail(__FILE__, __LINE__, "kr_backend_probe: %s", kr_last_error());
			return false;
		}
		probed = true;
	}
	struct kr_feature f[16];
	size_t n = kr_backend_features(&backend, f, sizeof(f) / sizeof(f[0]));
	for (size_t i = 0; i < n && i < sizeof(f) / sizeof(f[0]); i++) {
		if (strcmp(f[i].name, feature) != 0)
			continue;
		if (f[i].present)
			return true;
		static char why[96];
		snprintf(why, sizeof(why), "needs %s, which this KVM back end lacks", feature);
		unit_defer(why);
		return false;
	}
	unit_fail(__FILE__, __LINE__, "kvmtest_needs: no feature named \"%s\"", feature);
	return false;
}

bool kvmtest_load(struct kr_vm *vm, const uint8_t *code, size_t len, const struct kr_mapping *maps,
		  size_t nmaps)
{
	struct kr_image img;
	if (kr_load_buffer(vm, code, len, NULL, &img) < 0) {
		unit_fail(__FILE__, __LINE__, "load: %s", kr_last_error());
		return false;
	}
	for (size_t i = 0; i < nmaps; i++)
		img.mappings[img.nmappings++] = maps[i];
	if (kr_vcpu_prepare(vm, &img) < 0) {
		unit_fail(__FILE__, __LINE__, "prepare: %s", kr_last_error());
		return false;
	}
	return true;
}

struct kr_stop kvmtest_run(struct kr_vm *vm)
{
	struct kr_stop stop = {.reason = KR_STOP_REQUESTED};
	if (kr_vm_run(vm, &stop) < 0)
		unit_fail(__FILE__, __LINE__, "kr_vm_run: %s", kr_last_error());
	return stop;
}

bool kvmtest_start(struct kvmtest_vm *g, enum kr_mode mode)
{
	struct kr_vm_config cfg;
	kr_vm_config_init(&cfg);
	cfg.mode = mode;
	cfg.mem_size = 8u << 20;
	if (pipe2(g->out, O_CLOEXEC | O_NONBLOCK) < 0) {
		unit_fail(__FILE__, __LINE__, "pipe2 failed");
		return false;
	}
	cfg.console_fd = g->out[1];
	if (kr_vm_create(&g->vm, &cfg) < 0) {
		unit_fail(__FILE__, __LINE__, "kr_vm_create: %s", kr_last_error());
		close(g->out[0]);
		close(g->out[1]);
		return false;
	}
	return true;
}

const char *kvmtest_output(struct kvmtest_vm *g)
{
	ssize_t n = read(g->out[0], g->text, sizeof(g->text) - 1);
	g->text[n > 0 ? n : 0] = '\0';
	return g->text;
}

void kvmtest_end(struct kvmtest_vm *g)
{
	kr_vm_destroy(g->vm);
	close(g->out[0]);
	close(g->out[1]);
}

/* ---- a child per test, bounded in time ------------------------------------------ */

static char failure[512]; /* the child's reason, written to the parent at its end */

bool kvmtest_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(failure, sizeof(failure), fmt, ap);
	va_end(ap);
	return false;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void kvmtest_bounded(const char *file, int line, bool (*fn)(void), int seconds, bool quiet,
		     const char *hang_hint)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		unit_fail(file, line, "pipe2: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		/* stderr: the sandbox lets it through, and sanitizer reports come along */
		dup2(p[1], STDERR_FILENO);
		bool ok = fn();
		ssize_t ignored = write(STDERR_FILENO, failure, strlen(failure));
		(void)ignored;
		syscall(SYS_exit_group, ok ? 0 : 1);
	}
	close(p[1]);
	char msg[4096] = "";
	size_t used = 0;
	uint64_t deadline = monotonic_ns() + (uint64_t)seconds * 1000000000u;
	bool hung = false;
	for (;;) {
		uint64_t now = monotonic_ns();
		if (now >= deadline) {
			hung = true;
			break;
		}
		struct pollfd pfd = {.fd = p[0], .events = POLLIN};
		int r = poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
		if (r <= 0)
			continue; /* EINTR or none yet: the deadline check above decides */
		ssize_t n = read(p[0], msg + used, sizeof(msg) - 1 - used);
		if (n <= 0)
			break; /* EOF: the child is done */
		used += (size_t)n;
	}
	msg[used] = '\0';
	close(p[0]);
	if (pid < 0) {
		unit_fail(file, line, "fork: %s", strerror(errno));
		return;
	}
	if (hung)
		kill(pid, SIGKILL);
	int status = 0;
	waitpid(pid, &status, 0);
	if (hung)
		unit_fail(file, line, "still running after %d s: killed (%s) %s", seconds, hang_hint,
			  msg);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		unit_fail(file, line, "child %s %d: %s", WIFEXITED(status) ? "exited" : "killed by signal",
			  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			  msg[0] ? msg : "(no message)");
	else if (quiet && msg[0])
		unit_fail(file, line, "the child reported (a sanitizer?): %s", msg);
}
