/* SPDX-License-Identifier: MIT */
/*
 * parse.c - the command line's numbers: addresses, sizes, durations.
 *
 * Apart from the rest of the command (no main, no I/O), so that the fuzzer
 * (tests/fuzz/fuzz_cli_numbers.c) links exactly this file.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_parse_u64(const char *s, bool sizes, uint64_t *out)
{
	char *end;
	/* strtoull would skip white space and accept a sign: only digits may start. */
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	unsigned shift = 0;
	if (sizes && *end) {
		switch (*end++) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		default: return -1;
		}
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

int cli_parse_cpus(const char *s, unsigned *out)
{
	/* Decimal digits, no leading zero ("010" read as octal 8 would surprise), at most 3. */
	size_t n = strlen(s);
	if (n == 0 || n > 3 || s[0] == '0' || strspn(s, "0123456789") != n)
		return -1;
	unsigned long v = strtoul(s, NULL, 10);
	if (v > KR_MAX_CPUS)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	return cli_parse_u64(s, true, out);
}

int cli_parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *suffix;
		uint64_t ns;
	} units[] = {{"ms", 1000000ull}, {"s", 1000000000ull}, {"m", 60000000000ull},
		     {"h", 3600000000000ull}, {"", 1000000000ull}};
	/* Digits, then optionally a point and up to 9 more (nanoseconds of a second). */
	if (!isdigit((unsigned char)*s))
		return CLI_DURATION_SYNTAX;
	unsigned __int128 whole = 0, frac = 0, scale = 1;
	const char *p = s;
	for (; isdigit((unsigned char)*p); p++) {
		whole = whole * 10 + (unsigned)(*p - '0');
		if (whole > UINT64_MAX)
			return CLI_DURATION_TOO_LONG;
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return CLI_DURATION_SYNTAX;
		for (; isdigit((unsigned char)*p); p++) {
			if (scale == 1000000000u)
				return CLI_DURATION_SYNTAX; /* finer than a nanosecond */
			frac = frac * 10 + (unsigned)(*p - '0');
			scale *= 10;
		}
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].suffix) != 0)
			continue;
		unsigned __int128 v = whole * units[i].ns + frac * units[i].ns / scale;
		if (v == 0)
			return CLI_DURATION_ZERO;
		if (v > UINT64_MAX)
			return CLI_DURATION_TOO_LONG;
		*ns = (uint64_t)v;
		return 0;
	}
	return CLI_DURATION_SYNTAX;
}
