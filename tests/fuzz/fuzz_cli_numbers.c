/* SPDX-License-Identifier: MIT */
/*
 * fuzz_cli_numbers.c - the command line's number parsers on arbitrary text.
 *
 * Input: the text (a NUL is added; one inside ends it early). Linked with
 * src/cli/parse.c, which holds the parsers and nothing else.
 *
 * cli_parse_u64 is run without and with size suffixes. Accepted text must
 * not be negative (strtoull would wrap it), must mean what strtoull says,
 * times the suffix, without overflow; what is accepted without suffixes is
 * accepted with them, as the same number. cli_parse_duration must give a
 * positive number of nanoseconds and refuse negative text; what it accepts
 * is digits, an optional fraction of 1..9 digits and a unit (ms, s, m, h or
 * none: seconds), worth what strtold makes of the number times the unit.
 * cli_parse_cpus accepts only decimal digits without a leading zero, worth
 * 1..KR_MAX_CPUS, the number they spell.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/cli/cli.h"
#include "fuzz_common.h"

/* The text with its control characters escaped, for messages. */
static const char *shown(const char *s)
{
	static char buf[4 * 64 + 1];
	size_t k = 0;
	for (; *s && k + 5 <= sizeof(buf); s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[k++] = (char)c;
		else
			k += (size_t)snprintf(buf + k, sizeof(buf) - k, "\\x%02x", c);
	}
	buf[k] = '\0';
	return buf;
}

static void check_u64(const char *s)
{
	uint64_t plain = 0x5a5a, sized = 0x5a5a;
	int ok_plain = cli_parse_u64(s, false, &plain) == 0;
	int ok_sized = cli_parse_u64(s, true, &sized) == 0;
	uint64_t size = 0x5a5a;
	int ok_size = cli_parse_size(s, &size) == 0;

	FUZZ_CHECK(ok_size == ok_sized && (!ok_size || size == sized),
		   "\"%s\": cli_parse_size and cli_parse_u64 with sizes disagree", shown(s));

	FUZZ_CHECK(!ok_plain || ok_sized, "\"%s\" accepted without suffixes only", shown(s));
	FUZZ_CHECK(!ok_plain || plain == sized, "\"%s\": 0x%llx without suffixes, 0x%llx with",
		   shown(s), (unsigned long long)plain, (unsigned long long)sized);
	fuzz_log("\"%s\": %s 0x%llx", shown(s), ok_sized ? "ok" : "refused",
		 (unsigned long long)sized);
	if (!ok_sized)
		return;
	FUZZ_CHECK(!strchr(s, '-'), "\"%s\" (a negative number) accepted as 0x%llx", shown(s),
		   (unsigned long long)sized);

	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	unsigned shift = 0;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	}
	FUZZ_CHECK(errno == 0 && end != s && (!*end || (shift && !end[1])),
		   "\"%s\" accepted, strtoull stops at \"%s\"", shown(s), end);
	FUZZ_CHECK(v <= (UINT64_MAX >> shift) && sized == (uint64_t)v << shift,
		   "\"%s\" read as 0x%llx", shown(s), (unsigned long long)sized);
	FUZZ_CHECK(ok_plain == !shift, "\"%s\": suffix %u, accepted without suffixes %d", shown(s),
		   shift, ok_plain);
}

static void check_duration(const char *s)
{
	uint64_t ns = 0;
	if (cli_parse_duration(s, &ns) != 0)
		return;
	FUZZ_CHECK(ns > 0, "\"%s\" is a zero duration", shown(s));
	FUZZ_CHECK(!strchr(s, '-'), "\"%s\" (negative) accepted as %llu ns", shown(s),
		   (unsigned long long)ns);
	size_t digits = strspn(s, "0123456789"), frac = 0;
	const char *unit = s + digits;
	if (*unit == '.') {
		frac = strspn(unit + 1, "0123456789");
		unit += 1 + frac;
	}
	long double per = !strcmp(unit, "ms") ? 1e6L : !strcmp(unit, "s") || !*unit ? 1e9L
			  : !strcmp(unit, "m") ? 6e10L : !strcmp(unit, "h") ? 3.6e12L : 0;
	FUZZ_CHECK(digits > 0 && frac <= 9 && (s[digits] != '.' || frac > 0) && per > 0,
		   "\"%s\" accepted: not digits[.1-9 digits][ms|s|m|h]", shown(s));
	long double want = strtold(s, NULL) * per, got = (long double)ns;
	FUZZ_CHECK(got >= want - 1 - want * 1e-15L && got <= want + 1 + want * 1e-15L,
		   "\"%s\" read as %llu ns, expected about %.0Lf", shown(s),
		   (unsigned long long)ns, want);
}

static void check_cpus(const char *s)
{
	unsigned n = 0;
	if (cli_parse_cpus(s, &n) != 0)
		return;
	size_t len = strlen(s);
	FUZZ_CHECK(len > 0 && s[0] != '0' && strspn(s, "0123456789") == len,
		   "\"%s\" accepted as a vCPU count", shown(s));
	FUZZ_CHECK(n >= 1 && n <= KR_MAX_CPUS && strtoul(s, NULL, 10) == n,
		   "\"%s\" accepted as %u vCPUs", shown(s), n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1); /* exactly: ASan sees a read past the NUL */
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_u64(s);
	check_duration(s);
	check_cpus(s);
	free(s);
	return 0;
}
