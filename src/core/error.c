/* SPDX-License-Identifier: MIT */
/*
 * error.c - the library's error messages and codes. A failing function
 * stores one sentence that names the step, the call and its arguments, and a
 * code (enum kr_error) that a program can act on without parsing the
 * sentence; the caller reads them with kr_last_error() and
 * kr_last_error_code(). Thread-local, so VMs on different threads do not
 * overwrite each other's.
 *
 * Few call sites name a code: kr_err() means KR_E_FAILED, kr_err_sys()
 * KR_E_SYSCALL with the errno of the call, and a public entry point whose
 * failures all mean one thing (the loaders: a bad image) turns the generic
 * code into its own with kr_err_refine(), leaving the codes its helpers set
 * (a failed malloc stays KR_E_SYSCALL).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "kvmrun.h"

static __thread char last_error[512];
static __thread int last_code;  /* enum kr_error; KR_E_NONE before any failure */
static __thread int last_errno; /* for KR_E_SYSCALL and KR_E_NO_KVM, else 0 */

const char *kr_last_error(void)
{
	return last_error;
}

int kr_last_error_code(void)
{
	return last_code;
}

int kr_last_errno(void)
{
	return last_errno;
}

const char *kr_error_name(int code)
{
	static const char *const names[] = {
		[KR_E_NONE] = "KR_E_NONE",
		[KR_E_FAILED] = "KR_E_FAILED",
		[KR_E_BAD_ARG] = "KR_E_BAD_ARG",
		[KR_E_SYSCALL] = "KR_E_SYSCALL",
		[KR_E_NO_KVM] = "KR_E_NO_KVM",
		[KR_E_KVM_API] = "KR_E_KVM_API",
		[KR_E_UNSUPPORTED] = "KR_E_UNSUPPORTED",
		[KR_E_BAD_IMAGE] = "KR_E_BAD_IMAGE",
		[KR_E_GUEST_MEMORY] = "KR_E_GUEST_MEMORY",
		[KR_E_BAD_SNAPSHOT] = "KR_E_BAD_SNAPSHOT",
		[KR_E_GUEST_STOPPED] = "KR_E_GUEST_STOPPED",
	};
	if (code >= 0 && (size_t)code < sizeof(names) / sizeof(names[0]) && names[code])
		return names[code];
	return "unknown";
}

__attribute__((format(printf, 1, 0))) static void set_message(const char *fmt, va_list ap,
								int code, int err)
{
	int n = vsnprintf(last_error, sizeof(last_error), fmt, ap);
	if (err && n >= 0 && (size_t)n < sizeof(last_error))
		snprintf(last_error + n, sizeof(last_error) - (size_t)n, ": %s", strerror(err));
	last_code = code;
	last_errno = err;
}

int kr_err(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	set_message(fmt, ap, KR_E_FAILED, 0);
	va_end(ap);
	errno = saved;
	return -1;
}

int kr_err_sys(const char *fmt, ...)
{
	int saved = errno; /* vsnprintf may change it */
	va_list ap;
	va_start(ap, fmt);
	set_message(fmt, ap, KR_E_SYSCALL, saved);
	va_end(ap);
	errno = saved;
	return -1;
}

int kr_err_code(int code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	set_message(fmt, ap, code, 0);
	va_end(ap);
	errno = saved;
	return -1;
}

int kr_err_code_sys(int code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	set_message(fmt, ap, code, saved);
	va_end(ap);
	errno = saved;
	return -1;
}

int kr_err_refine(int code)
{
	if (last_code == KR_E_FAILED)
		last_code = code;
	return -1;
}

int kr_err_context(const char *fmt, ...)
{
	char msg[sizeof(last_error)];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Append ": <old message>", cut to fit. The code stays the old one. */
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

int kr_err_restore(int code, int err, const char *message)
{
	snprintf(last_error, sizeof(last_error), "%s", message);
	last_code = code;
	last_errno = err;
	return -1;
}
