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

#endif
