/* SPDX-License-Identifier: MIT */
/*
 * printf.c - kr_printf and friends for guests: no libc, no floating point
 * (guests are built -mgeneral-regs-only), signed numbers printed as such.
 */
#include <stdarg.h>

#include "kvmrun_guest.h"

struct out {
	char *buf;
	unsigned long size, len; /* len counts everything, kept or not */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_padded(struct out *o, const char *s, unsigned long n, int width, int left,
		       char pad)
{
	unsigned long i;
	int fill = width > (int)n ? width - (int)n : 0;

	/* Zero padding goes after the sign: -0005. */
	if (pad == '0' && n > 0 && s[0] == '-') {
		put(o, '-');
		s++, n--;
	}
	while (!left && fill-- > 0)
		put(o, pad);
	for (i = 0; i < n; i++)
		put(o, s[i]);
	while (left && fill-- > 0)
		put(o, ' ');
}

/*
 * *v /= base, returning the remainder. In a 32-bit guest a 64-bit division
 * would call libgcc's __udivmoddi4, which the SDK does not link (no 32-bit
 * libgcc without gcc-multilib): divide 16 bits at a time instead, which
 * 32-bit arithmetic holds since base <= 16.
 */
static unsigned int divmod_small(unsigned long long *v, unsigned int base)
{
#if __SIZEOF_LONG__ == 4
	unsigned int hi = (unsigned int)(*v >> 32), lo = (unsigned int)*v, r;
	unsigned int q3 = (hi >> 16) / base;
	r = (hi >> 16) % base;
	unsigned int q2 = ((r << 16) | (hi & 0xffff)) / base;
	r = ((r << 16) | (hi & 0xffff)) % base;
	unsigned int q1 = ((r << 16) | (lo >> 16)) / base;
	r = ((r << 16) | (lo >> 16)) % base;
	unsigned int q0 = ((r << 16) | (lo & 0xffff)) / base;
	r = ((r << 16) | (lo & 0xffff)) % base;
	*v = ((unsigned long long)((q3 << 16) | q2) << 32) | ((q1 << 16) | q0);
	return r;
#else
	unsigned int r = (unsigned int)(*v % base);
	*v /= base;
	return r;
#endif
}

static unsigned int fmt_unsigned(char *buf, unsigned long long v, unsigned int base, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	unsigned int n = 0, i;

	do
		tmp[n++] = digits[divmod_small(&v, base)];
	while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

int kr_vsnprintf(char *buf, unsigned long size, const char *fmt, va_list ap)
{
	struct out o = {buf, size, 0};

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		int left = 0, width = 0, lng = 0;
		char pad = ' ';
		for (fmt++; *fmt == '-' || *fmt == '0'; fmt++) {
			if (*fmt == '-')
				left = 1;
			else
				pad = '0';
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		for (; *fmt == 'l' || *fmt == 'z' || *fmt == 'h'; fmt++)
			if (*fmt != 'h')
				lng++;
		char num[26];
		unsigned int n = 0;
		switch (*fmt) {
		case 'd':
		case 'i': {
			long long v = lng ? (lng > 1 ? va_arg(ap, long long) : va_arg(ap, long))
					  : va_arg(ap, int);
			unsigned long long u = v < 0 ? 0ull - (unsigned long long)v
						     : (unsigned long long)v;
			if (v < 0)
				num[n++] = '-';
			n += fmt_unsigned(num + n, u, 10, 0);
			put_padded(&o, num, n, width, left, pad);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			unsigned long long v = lng ? (lng > 1 ? va_arg(ap, unsigned long long)
							      : va_arg(ap, unsigned long))
						   : va_arg(ap, unsigned int);
			n = fmt_unsigned(num, v, *fmt == 'u' ? 10 : 16, *fmt == 'X');
			put_padded(&o, num, n, width, left, pad);
			break;
		}
		case 'p': {
			num[0] = '0', num[1] = 'x';
			n = 2 + fmt_unsigned(num + 2, (unsigned long)va_arg(ap, void *), 16, 0);
			put_padded(&o, num, n, width, left, ' ');
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			put_padded(&o, s, kr_strlen(s), width, left, ' ');
			break;
		}
		case 'c':
			num[0] = (char)va_arg(ap, int);
			put_padded(&o, num, 1, width, left, ' ');
			break;
		case '%':
			put(&o, '%');
			break;
		case '\0':
			fmt--; /* a lone '%' at the end: print nothing more */
			break;
		default: /* unknown: print it as it was */
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int kr_snprintf(char *buf, unsigned long size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kr_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static int vprint(const char *fmt, va_list ap)
{
	char buf[512];
	va_list again;
	va_copy(again, ap);
	int n = kr_vsnprintf(buf, sizeof(buf), fmt, ap);
	if ((unsigned long)n < sizeof(buf)) {
		kr_write(buf, (unsigned long)n);
	} else {
		/* Too long for the stack buffer: on the heap, if there is room. */
		char *big = kr_malloc((unsigned long)n + 1);
		if (big) {
			kr_vsnprintf(big, (unsigned long)n + 1, fmt, again);
			kr_write(big, (unsigned long)n);
			kr_free(big);
		} else {
			kr_write(buf, sizeof(buf) - 1);
		}
	}
	va_end(again);
	return n;
}

int kr_printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprint(fmt, ap);
	va_end(ap);
	return n;
}

void kr_panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	kr_printf("panic at %s:%d: ", file, line);
	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
	kr_putc('\n');
	kr_exit(KR_PANIC_STATUS);
}
