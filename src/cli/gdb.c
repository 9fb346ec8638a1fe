/* SPDX-License-Identifier: MIT */
/*
 * gdb.c - `kvmrun run --gdb PORT|unix:PATH`: the socket gdb connects to.
 * The protocol is the library's (kr_gdb_serve); this listens, waits for one
 * connection, and hands it over.
 */
#define _GNU_SOURCE /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

int cli_gdb_parse(const char *spec, struct cli_gdb_address *a)
{
	memset(a, 0, sizeof(*a));
	if (strncmp(spec, "unix:", 5) == 0) {
		size_t n = strlen(spec + 5);
		if (n == 0 || n >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return -1;
		a->unix_path = spec + 5;
		return 0;
	}
	uint64_t port;
	if (cli_parse_u64(spec, false, &port) < 0 || port == 0 || port > 65535)
		return -1;
	a->port = (uint16_t)port;
	return 0;
}

static int fail(int fd, const char *what, const struct cli_gdb_address *a)
{
	int e = errno;
	if (a->unix_path)
		fprintf(stderr, "kvmrun run: --gdb unix:%s: %s: %s\n", a->unix_path, what, strerror(e));
	else
		fprintf(stderr, "kvmrun run: --gdb %u: %s: %s\n", a->port, what, strerror(e));
	if (fd >= 0)
		close(fd);
	return -1;
}

int cli_gdb_wait(const struct cli_gdb_address *a)
{
	int fd;
	if (a->unix_path) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		memcpy(sa.sun_path, a->unix_path, strlen(a->unix_path) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return fail(-1, "socket(AF_UNIX)", a);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return fail(fd, "bind", a);
	} else {
		/* Loopback only: whoever connects owns the guest and kvmrun's process. */
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(a->port),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int one = 1;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return fail(-1, "socket(AF_INET)", a);
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
			return fail(fd, "setsockopt(SO_REUSEADDR)", a);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return fail(fd, "bind to 127.0.0.1", a);
	}
	if (listen(fd, 1) < 0)
		return fail(fd, "listen", a);
	if (a->unix_path)
		fprintf(stderr, "kvmrun: waiting for gdb on unix:%s (target remote %s)\n",
			a->unix_path, a->unix_path);
	else
		fprintf(stderr, "kvmrun: waiting for gdb on 127.0.0.1:%u (target remote :%u)\n",
			a->port, a->port);
	int c;
	do
		c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	while (c < 0 && errno == EINTR);
	if (c < 0)
		return fail(fd, "accept", a);
	close(fd);
	if (a->unix_path)
		unlink(a->unix_path); /* connected: the name has served its purpose */
	else {
		int one = 1; /* packets are small and answered one by one */
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return c;
}
