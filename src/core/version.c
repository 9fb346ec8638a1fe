/* SPDX-License-Identifier: MIT */
/*
 * version.c - kr_version(): the version this library was built as, which a
 * program linked against libkvmrun.so.0 may compare with the KR_VERSION of
 * the header it was compiled with.
 */
#include "kvmrun.h"

const char *kr_version(void)
{
	return KR_VERSION;
}
