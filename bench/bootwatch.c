/* SPDX-License-Identifier: MIT */
/*
 * bootwatch.c - time a VMM from fork to a marker line on its console.
 *
 *   bootwatch [--marker STR] [--send LINE] [--timeout SECS] [--log FILE] -- VMM [ARG...]
 *
 * Forks VMM with its stdin and stdout on pipes (the serial console of both
 * `kvmrun boot` and `qemu -serial stdio`), reads its stdout until a line that
 * starts with STR (default KVMRUN-LINUX-UP), then writes LINE and a newline
 * to its stdin (so the benchmark's init echoes it and reboots), drains the
 * output to the end and reaps the child with wait4 for its peak RSS. Prints
 * one line of KEY=VALUE for a shell to read:
 *
 *   marker_ns=N exit_ns=N status=S maxrss_kib=N
 *
 * marker_ns is CLOCK_MONOTONIC from just before fork() to the read() that
 * completed the marker line (so it includes exec, the VMM's own start-up and
 * the guest's boot); status is the exit status, or 128+signal. It is static,
 * with no library, so it runs inside the test bed as it is. Exit status: 0 if
 * the marker was seen and the VMM exited 0, 1 otherwise (the line is printed
 * either way, with marker_ns=-1 when there was no marker), 2 on a usage or
 * system error. On timeout the child is killed (SIGKILL).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--marker STR] [--send LINE] [--timeout SECS] [--log FILE]"
		" -- VMM [ARG...]\n", argv0);
	return 2;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *marker = "KVMRUN-LINUX-UP", *send = "bench", *logpath = NULL;
	long timeout_s = 120;
	int i;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (i + 1 >= argc)
			return usage(argv[0]);
		if (!strcmp(argv[i], "--marker"))
			marker = argv[++i];
		else if (!strcmp(argv[i], "--send"))
			send = argv[++i];
		else if (!strcmp(argv[i], "--log"))
			logpath = argv[++i];
		else if (!strcmp(argv[i], "--timeout"))
			timeout_s = strtol(argv[++i], NULL, 10);
		else
			return usage(argv[0]);
	}
	size_t mlen = strlen(marker);
	if (i >= argc || mlen == 0 || mlen > 256 || timeout_s <= 0)
		return usage(argv[0]);

	int logfd = -1;
	if (logpath) {
		logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (logfd < 0)
			return perror(logpath), 2;
	}
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return perror("pipe2"), 2;
	/* A child that exits before reading our line must not kill us. */
	signal(SIGPIPE, SIG_IGN);

	int64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0)
		return perror("fork"), 2;
	if (pid == 0) {
		/* stderr goes where ours goes: the VMM's own messages are not the console. */
		if (dup2(in[0], STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
			_exit(127);
		execvp(argv[i], &argv[i]);
		perror(argv[i]);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);

	/* llen: how much of the marker the current line has matched; it counts only at a line's start. */
	size_t llen = 0;
	int at_start = 1, seen = 0, timed_out = 0;
	int64_t marker_ns = -1, deadline = t0 + (int64_t)timeout_s * 1000000000;
	for (;;) {
		int64_t left = deadline - now_ns();
		if (left <= 0) {
			timed_out = 1;
			break;
		}
		struct pollfd pfd = { .fd = out[0], .events = POLLIN };
		int pr = poll(&pfd, 1, (int)(left / 1000000 + 1));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return perror("poll"), 2;
		if (pr == 0)
			continue;
		char buf[4096];
		ssize_t n = read(out[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return perror("read"), 2;
		if (n == 0)
			break;
		if (logfd >= 0 && write_all(logfd, buf, (size_t)n) < 0)
			return perror(logpath), 2;
		for (ssize_t k = 0; k < n && !seen; k++) {
			char c = buf[k];
			if (c == '\n' || c == '\r') {
				at_start = 1;
				llen = 0;
				continue;
			}
			if (!at_start)
				continue;
			if (c != marker[llen]) {
				at_start = 0;
				continue;
			}
			llen++;
			if (llen == mlen) {
				seen = 1;
				marker_ns = now_ns() - t0;
				/* A failed write only means the VMM is gone: its status will say so. */
				if (write_all(in[1], send, strlen(send)) == 0)
					(void)write_all(in[1], "\n", 1);
			}
		}
	}
	int64_t exit_ns = -1;
	if (timed_out)
		kill(pid, SIGKILL);
	int wstatus;
	struct rusage ru;
	while (wait4(pid, &wstatus, 0, &ru) < 0) {
		if (errno != EINTR)
			return perror("wait4"), 2;
	}
	if (!timed_out)
		exit_ns = now_ns() - t0;
	close(in[1]);
	close(out[0]);
	if (logfd >= 0)
		close(logfd);
	int status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	printf("marker_ns=%lld exit_ns=%lld status=%d maxrss_kib=%ld%s\n", (long long)marker_ns,
		(long long)exit_ns, status, ru.ru_maxrss, timed_out ? " timeout=1" : "");
	return seen && status == 0 ? 0 : 1;
}
