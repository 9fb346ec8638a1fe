/* SPDX-License-Identifier: MIT */
/* core/error.h - setting the thread's error message (read with kr_last_error). */
#ifndef KVMRUN_CORE_ERROR_H
#define KVMRUN_CORE_ERROR_H

/* Set the thread's error message; always returns -1. */
int kr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, followed by ": strerror(errno)" for the errno at the call. */
int kr_err_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prefix the current message with "step: " (for errors that bubble up). */
int kr_err_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The code beside the message (enum kr_error in kvmrun.h): kr_err() sets
 * KR_E_FAILED, kr_err_sys() KR_E_SYSCALL with errno; these are for the few
 * failures a caller must tell apart.
 */
/* kr_err() with a code of enum kr_error; always returns -1. */
int kr_err_code(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* kr_err_sys() with a code: ": strerror(errno)" appended, errno kept for kr_last_errno(). */
int kr_err_code_sys(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * After a failure: if its code is the generic KR_E_FAILED, make it `code`;
 * a more specific code stays. For entry points whose plain failures all
 * mean one thing. Returns -1.
 */
int kr_err_refine(int code);
/*
 * Set this thread's error to one taken on another thread (kr_last_error,
 * _code, _errno there): a vCPU thread's failure reaches kr_vm_run's caller.
 * Returns -1.
 */
int kr_err_restore(int code, int err, const char *message);

#endif
