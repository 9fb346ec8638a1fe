/* SPDX-License-Identifier: MIT */
/*
 * string.c - memset, memcpy, memmove, memcmp for freestanding guests.
 *
 * gcc emits calls to these for struct copies and zeroing even with
 * -ffreestanding, so every C guest links this file. It is compiled with
 * -fno-tree-loop-distribute-patterns (guest.mk): otherwise gcc would turn
 * these very loops back into calls to themselves.
 */
#include "kvmrun_guest.h"

void *memset(void *dst, int c, __SIZE_TYPE__ n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

void *memcpy(void *dst, const void *src, __SIZE_TYPE__ n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, __SIZE_TYPE__ n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

int memcmp(const void *a, const void *b, __SIZE_TYPE__ n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}
