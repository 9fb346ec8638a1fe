/* SPDX-License-Identifier: MIT */
/*
 * error.c - the library's error messages. A failing function stores one
 * sentence that names the step, the call and its arguments; the caller reads
 * it with kr_last_error(). Thread-local, so VMs on different threads do not
 * overwrite each other's messages.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "kvmrun.h"

static __thread char last_error[512];

const char *kr_last_error(void)
{
	return last_error;
}

int kr_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return -1;
}

int kr_err_sys(const char *fmt, ...)
{
	int saved = errno; /* vsnprintf may change it */
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(last_error))
		snprintf(last_error + n, sizeof(last_error) - (size_t)n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

int kr_err_context(const char *fmt, ...)
{
	char msg[sizeof(last_error)];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Append ": <old message>", cut to fit. */
	size_t used = n < 0 ? 0 : (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	size_t room = sizeof(msg) - 1 - used;
	size_t old_len = strlen(last_error);
	if (room >= 2) {
		memcpy(msg + used, ": ", 2);
		used += 2;
		room -= 2;
		size_t take = old_len < room ? old_len : room;
		memcpy(msg + used, last_error, take);
		used += take;
	}
	msg[used] = '\0';
	memcpy(last_error, msg, used + 1);
	return -1;
}
