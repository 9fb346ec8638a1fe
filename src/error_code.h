/* SPDX-License-Identifier: MIT */
/*
 * error_code.h - setting the code beside the message (core/error.c). The
 * codes themselves are public: enum kr_error in kvmrun.h. kr_err() (in
 * internal.h) sets KR_E_FAILED, kr_err_sys() KR_E_SYSCALL with errno; these
 * are for the few failures a caller must tell apart.
 */
#ifndef KVMRUN_ERROR_CODE_H
#define KVMRUN_ERROR_CODE_H

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

#endif
