/* SPDX-License-Identifier: MIT */
/*
 * test_call.c - calling guest functions by name (kr_vm_call) with the SDK
 * guest build/guests/calc.elf: integer and buffer arguments and results,
 * the six argument registers, the init's state, reset between calls (the
 * host's own writes put back, translations kept), the scratch area zeroed
 * after each call, and the refusals: an unknown name,
 * too many arguments, data instead of a function, buffers too large, no
 * symbols, a malformed symbol table, a function that crashes (reported,
 * then no call until a reset) and one that never returns (the timeout).
 */
#define _GNU_SOURCE /* pipe2 */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/vm.h"
#include "kvmtest.h"
#include "loader/symbols.h"

#define CALC "build/guests/calc.elf"

struct cv {
	struct kr_vm *vm;
	int out[2];
};

/* calc.elf in a fresh VM, its init run to its EXIT(0). */
static bool calc_start(struct cv *c, uint64_t timeout_ns)
{
	struct kr_vm_config cfg;
	struct kr_image img;
	struct kr_stop stop;
	kr_vm_config_init(&cfg);
	cfg.mem_size = 8u << 20;
	cfg.timeout_ns = timeout_ns;
	c->vm = NULL;
	if (pipe2(c->out, O_CLOEXEC | O_NONBLOCK) < 0) {
		unit_fail(__FILE__, __LINE__, "pipe2 failed");
		return false;
	}
	cfg.console_fd = c->out[1];
	if (kr_vm_create(&c->vm, &cfg) < 0 || kr_load_file(c->vm, CALC, NULL, &img) < 0 ||
	    kr_vcpu_prepare(c->vm, &img) < 0 || kr_vm_run(c->vm, &stop) < 0) {
		unit_fail(__FILE__, __LINE__, "calc.elf: %s", kr_last_error());
		return false;
	}
	if (stop.reason != KR_STOP_EXIT || stop.exit_code != 0) {
		unit_fail(__FILE__, __LINE__, "calc.elf's init stopped: %s", stop.message);
		return false;
	}
	char text[64] = {0};
	ssize_t n = read(c->out[0], text, sizeof(text) - 1);
	if (n < 0 || strcmp(text, "calc ready\n") != 0) {
		unit_fail(__FILE__, __LINE__, "calc.elf printed \"%s\"", n < 0 ? "" : text);
		return false;
	}
	return true;
}

static void calc_end(struct cv *c)
{
	kr_vm_destroy(c->vm);
	close(c->out[0]);
	close(c->out[1]);
}

/* One call that must return; its result (a failure is recorded). */
static uint64_t call_ok(struct kr_vm *vm, const char *name, const struct kr_call_arg *args,
			size_t n, const struct kr_call_options *opt, int line)
{
	uint64_t r = 0xdeadbeef;
	struct kr_stop stop;
	if (kr_vm_call(vm, name, args, n, opt, &r, &stop) < 0)
		unit_fail(__FILE__, line, "kr_vm_call(%s): %s", name, kr_last_error());
	return r;
}
#define CALL(vm, name, opt, ...)                                                           \
	call_ok(vm, name, (const struct kr_call_arg[]){__VA_ARGS__},                       \
		sizeof((const struct kr_call_arg[]){__VA_ARGS__}) / sizeof(struct kr_call_arg), \
		opt, __LINE__)

UNIT_TEST(call_integers_and_buffers)
{
	struct cv c;
	if (!calc_start(&c, 5000000000ull))
		return;
	CHECK_EQ(CALL(c.vm, "add", NULL, KR_CALL_INT(2), KR_CALL_INT(40)), 42u);
	CHECK_EQ(CALL(c.vm, "add", NULL, KR_CALL_INT(-5), KR_CALL_INT(3)), (uint64_t)-2);
	/* Each register in its place: a swap of any two changes the digits. */
	CHECK_EQ(CALL(c.vm, "six", NULL, KR_CALL_INT(1), KR_CALL_INT(2), KR_CALL_INT(3),
		      KR_CALL_INT(4), KR_CALL_INT(5), KR_CALL_INT(6)),
		 654321u);
	/* The init ran before: the call sees its globals. */
	CHECK_EQ(call_ok(c.vm, "get_base", NULL, 0, NULL, __LINE__), 42u);

	int64_t nums[5] = {1, 20, 300, 4000, -50000};
	CHECK_EQ(CALL(c.vm, "sum", NULL, KR_CALL_IN(nums, sizeof(nums)), KR_CALL_INT(5)),
		 (uint64_t)(int64_t)-45679);

	char s[] = "Hello, World";
	CHECK_EQ(CALL(c.vm, "upper", NULL, KR_CALL_INOUT(s, strlen(s)), KR_CALL_INT(strlen(s))),
		 8u);
	CHECK(strcmp(s, "HELLO, WORLD") == 0);

	char out[8];
	memset(out, 'x', sizeof(out));
	CHECK_EQ(CALL(c.vm, "greet", NULL, KR_CALL_OUT(out, sizeof(out)), KR_CALL_INT(sizeof(out))),
		 6u);
	CHECK(strcmp(out, "hello") == 0);

	uint64_t addr = 0, size = 0;
	CHECK_OK(kr_vm_symbol(c.vm, "kr_call_area", &addr, &size));
	CHECK_EQ(size, 65536u);
	/* Nothing of the buffers is left in the area after the calls. */
	static uint8_t area[65536], zero[65536];
	CHECK_OK(kr_copy_from_gva(c.vm, addr, area, sizeof(area)));
	CHECK(memcmp(area, zero, sizeof(area) - 8192) == 0); /* below the call stack */
	CHECK(memcmp(area + sizeof(area) - 8, zero, 8) == 0); /* the return address */
	calc_end(&c);
}

UNIT_TEST(call_refusals)
{
	struct cv c;
	uint64_t r = 7;
	struct kr_stop stop;
	if (!calc_start(&c, 5000000000ull))
		return;
	CHECK_FAILS_WITH(kr_vm_call(c.vm, "nosuch", NULL, 0, NULL, &r, &stop),
			 "no defined global symbol \"nosuch\"");
	CHECK_EQ(kr_last_error_code(), KR_E_BAD_ARG);
	struct kr_call_arg seven[7];
	for (int i = 0; i < 7; i++)
		seven[i] = KR_CALL_INT(i);
	CHECK_FAILS_WITH(kr_vm_call(c.vm, "six", seven, 7, NULL, &r, &stop),
			 "7 arguments, more than the 6");
	CHECK_FAILS_WITH(kr_vm_call(c.vm, "kr_call_area", NULL, 0, NULL, &r, &stop),
			 "is data (STT_OBJECT)");
	/* A static function is no entry point. */
	CHECK_FAILS_WITH(kr_vm_call(c.vm, "first", NULL, 0, NULL, &r, &stop),
			 "no defined global symbol");
	static char big[64 << 10];
	CHECK_FAILS_WITH(kr_vm_call(c.vm, "upper", (struct kr_call_arg[]){KR_CALL_INOUT(big, sizeof(big)),
							   KR_CALL_INT(sizeof(big))},
				    2, NULL, &r, &stop),
			 "do not fit");
	CHECK_EQ(r, 7u); /* untouched by refusals */
	CHECK_EQ(stop.reason, KR_STOP_REQUESTED);
	/* The refusals left the VM usable. */
	CHECK_EQ(CALL(c.vm, "add", NULL, KR_CALL_INT(1), KR_CALL_INT(1)), 2u);
	calc_end(&c);

	/* A raw image has no symbols. */
	struct kvmtest_vm g;
	static const uint8_t hlt[] = {0xf4};
	if (!kvmtest_start(&g, KR_MODE_LONG))
		return;
	if (kvmtest_load(g.vm, hlt, sizeof(hlt), NULL, 0)) {
		CHECK_EQ(kvmtest_run(g.vm).reason, KR_STOP_HLT);
		CHECK_FAILS_WITH(kr_vm_call(g.vm, "add", NULL, 0, NULL, &r, NULL),
				 "no 64-bit ELF image with symbols");
	}
	kvmtest_end(&g);
}

UNIT_TEST(call_crash_then_reset)
{
	struct cv c;
	struct kr_snapshot *snap = NULL;
	struct kr_stop stop;
	uint64_t r = 0;
	if (!calc_start(&c, 5000000000ull))
		return;
	CHECK_OK(kr_snapshot_take(c.vm, &snap));
	if (!snap) {
		calc_end(&c);
		return;
	}
	struct kr_call_options reset = {.reset = snap};
	/* Without a reset the guest's state carries over; with one it is the init's. */
	CHECK_EQ(call_ok(c.vm, "count", NULL, 0, NULL, __LINE__), 1u);
	CHECK_EQ(call_ok(c.vm, "count", NULL, 0, NULL, __LINE__), 2u);
	CHECK_EQ(call_ok(c.vm, "count", NULL, 0, &reset, __LINE__), 1u);
	CHECK_EQ(call_ok(c.vm, "count", NULL, 0, &reset, __LINE__), 1u);

	CHECK_FAILS_WITH(kr_vm_call(c.vm, "crash", NULL, 0, NULL, &r, &stop),
			 "call crash: the function did not return: exception");
	CHECK_EQ(kr_last_error_code(), KR_E_GUEST_STOPPED);
	CHECK_EQ(stop.reason, KR_STOP_EXCEPTION);
	CHECK(stop.have_exception && stop.exception.vector == 14 && stop.exception.cr2 == 0);
	/* No call, nor run, until a reset. */
	CHECK_FAILS_WITH(kr_vm_call(c.vm, "add", (struct kr_call_arg[]){KR_CALL_INT(1), KR_CALL_INT(2)},
				    2, NULL, &r, &stop),
			 "cannot run after");
	CHECK_FAILS_WITH(kr_vm_run(c.vm, &stop), "cannot be resumed");
	CHECK_EQ(CALL(c.vm, "add", &reset, KR_CALL_INT(1), KR_CALL_INT(2)), 3u);
	CHECK_EQ(call_ok(c.vm, "count", NULL, 0, NULL, __LINE__), 1u);
	kr_snapshot_free(snap);
	calc_end(&c);
}

/*
 * Calls with a reset: the area bytes kvmrun wrote are put back from the
 * snapshot at the next reset (KVM's dirty log does not see them), and after
 * the first call nothing before the run is translated again (the call area,
 * the return HLT: kept for the snapshot).
 */
UNIT_TEST(call_reset_puts_back_its_writes_and_keeps_translations)
{
	struct cv c;
	struct kr_snapshot *snap = NULL;
	if (!calc_start(&c, 5000000000ull))
		return;
	uint64_t area = 0;
	CHECK_OK(kr_vm_symbol(c.vm, "kr_call_area", &area, NULL));
	/* In the snapshot, the bottom of the area (where buffers go) holds 1..16. */
	int64_t pattern[16];
	for (int i = 0; i < 16; i++)
		pattern[i] = i + 1;
	CHECK_OK(kr_copy_to_gva(c.vm, area, pattern, sizeof(pattern)));
	CHECK_OK(kr_snapshot_take(c.vm, &snap));
	if (!snap) {
		calc_end(&c);
		return;
	}
	struct kr_call_options reset = {.reset = snap};
	int64_t nums[16];
	for (int i = 0; i < 16; i++)
		nums[i] = 1000;
	uint64_t before = c.vm->translations;
	CHECK_EQ(CALL(c.vm, "sum", &reset, KR_CALL_IN(nums, sizeof(nums)), KR_CALL_INT(16)), 16000u);
	uint64_t first = c.vm->translations - before;
	/* The call wrote its buffer over the pattern and zeroed it: the area is zero now. */
	int64_t back[16];
	CHECK_OK(kr_copy_from_gva(c.vm, area, back, sizeof(back)));
	CHECK(back[0] == 0 && back[15] == 0);
	/* With a reset, the guest reads the snapshot's bytes there again: 1 + ... + 16. */
	before = c.vm->translations;
	CHECK_EQ(CALL(c.vm, "sum", &reset, KR_CALL_INT(area), KR_CALL_INT(16)), 136u);
	uint64_t no_buffers = c.vm->translations - before;
	before = c.vm->translations;
	CHECK_EQ(CALL(c.vm, "sum", &reset, KR_CALL_IN(nums, sizeof(nums)), KR_CALL_INT(16)), 16000u);
	uint64_t again = c.vm->translations - before;
	/* The first translated the HLT, the buffer and the return address before the run;
	 * the later ones nothing. After the run the zeroing goes where the writes went. */
	CHECK_EQ(first, 3u);
	CHECK_EQ(no_buffers, 0u);
	CHECK_EQ(again, 0u);
	/* Without a reset nothing is kept: the guest may have changed its tables. */
	before = c.vm->translations;
	CHECK_EQ(CALL(c.vm, "sum", NULL, KR_CALL_IN(nums, sizeof(nums)), KR_CALL_INT(16)), 16000u);
	CHECK_EQ(c.vm->translations - before, 3u);
	kr_snapshot_free(snap);
	calc_end(&c);
}

UNIT_TEST(call_that_never_returns_times_out)
{
	struct cv c;
	struct kr_snapshot *snap = NULL;
	struct kr_stop stop;
	uint64_t r = 0;
	if (!calc_start(&c, 300000000ull)) /* 300 ms */
		return;
	CHECK_OK(kr_snapshot_take(c.vm, &snap));
	CHECK_FAILS_WITH(kr_vm_call(c.vm, "forever", NULL, 0, NULL, &r, &stop),
			 "did not return: timeout");
	CHECK_EQ(kr_last_error_code(), KR_E_GUEST_STOPPED);
	CHECK_EQ(stop.reason, KR_STOP_TIMEOUT);
	/* A timeout could be resumed, but not in the middle of a call. */
	CHECK_FAILS_WITH(kr_vm_call(c.vm, "get_base", NULL, 0, NULL, &r, &stop),
			 "a call of forever that did not return");
	if (snap) {
		struct kr_call_options reset = {.reset = snap};
		CHECK_EQ(call_ok(c.vm, "get_base", NULL, 0, &reset, __LINE__), 42u);
	}
	kr_snapshot_free(snap);
	calc_end(&c);
}

/* calc.elf's bytes, for the malformed-table cases. */
static uint8_t *read_calc(size_t *size)
{
	FILE *f = fopen(CALC, "rb");
	uint8_t *buf = f ? malloc(1u << 20) : NULL;
	*size = buf ? fread(buf, 1, 1u << 20, f) : 0;
	if (f)
		fclose(f);
	if (!buf || *size == 0 || *size == 1u << 20) {
		unit_fail(__FILE__, __LINE__, "reading %s", CALC);
		free(buf);
		return NULL;
	}
	return buf;
}

/* Apply fn to calc.elf's symbol table header (a copy), parse, and expect `needle`. */
static void expect_bad(const uint8_t *good, size_t size, void (*fn)(Elf64_Shdr *, Elf64_Ehdr *),
		       const char *needle, int line)
{
	uint8_t *b = malloc(size);
	struct kr_symtab *t = NULL;
	Elf64_Ehdr e;
	memcpy(b, good, size);
	memcpy(&e, b, sizeof(e));
	for (unsigned i = 0; i < e.e_shnum; i++) {
		Elf64_Shdr sh;
		memcpy(&sh, b + e.e_shoff + i * sizeof(sh), sizeof(sh));
		if (sh.sh_type != SHT_SYMTAB)
			continue;
		fn(&sh, &e);
		memcpy(b + e.e_shoff + i * sizeof(sh), &sh, sizeof(sh));
	}
	memcpy(b, &e, sizeof(e));
	unit_check_fails(kr_symtab_parse(b, size, &t) < 0, "kr_symtab_parse", needle, __FILE__,
			 line);
	kr_symtab_free(t);
	free(b);
}

static void bad_link(Elf64_Shdr *s, Elf64_Ehdr *e) { s->sh_link = e->e_shnum; }
static void link_self(Elf64_Shdr *s, Elf64_Ehdr *e) { (void)e; s->sh_link = 1; }
static void bad_offset(Elf64_Shdr *s, Elf64_Ehdr *e) { (void)e; s->sh_offset = UINT64_MAX - 8; }
static void bad_entsize(Elf64_Shdr *s, Elf64_Ehdr *e) { (void)e; s->sh_entsize = 16; }
static void odd_size(Elf64_Shdr *s, Elf64_Ehdr *e) { (void)e; s->sh_size += 1; }
static void no_shdrs(Elf64_Shdr *s, Elf64_Ehdr *e) { (void)s; e->e_shoff = 0; }
static void shdrs_past(Elf64_Shdr *s, Elf64_Ehdr *e) { (void)s; e->e_shoff = UINT64_MAX - 100; }
static void stripped(Elf64_Shdr *s, Elf64_Ehdr *e) { (void)e; s->sh_type = SHT_PROGBITS; }

UNIT_TEST(call_symbol_table_checks)
{
	size_t size = 0;
	uint8_t *good = read_calc(&size);
	struct kr_symtab *t = NULL;
	if (!good)
		return;
	CHECK_OK(kr_symtab_parse(good, size, &t));
	if (t) {
		CHECK(kr_symtab_lookup(t, "add") != NULL);
		CHECK(kr_symtab_lookup(t, "kr_call_return") != NULL);
		CHECK(kr_symtab_lookup(t, "base") == NULL); /* static */
		kr_symtab_free(t);
	}
	expect_bad(good, size, bad_link, "is not a section", __LINE__);
	expect_bad(good, size, link_self, "not SHT_STRTAB", __LINE__);
	expect_bad(good, size, bad_offset, "runs past the end of the file", __LINE__);
	expect_bad(good, size, bad_entsize, "do not describe Elf64_Sym", __LINE__);
	expect_bad(good, size, odd_size, "do not describe Elf64_Sym", __LINE__);
	expect_bad(good, size, no_shdrs, "no section headers", __LINE__);
	expect_bad(good, size, shdrs_past, "section header table", __LINE__);
	expect_bad(good, size, stripped, "no symbol table", __LINE__);

	/* A name that runs off the end of .strtab: the string table cut short. */
	{
		uint8_t *b = malloc(size);
		Elf64_Ehdr e;
		memcpy(b, good, size);
		memcpy(&e, b, sizeof(e));
		Elf64_Shdr sym;
		for (unsigned i = 0; i < e.e_shnum; i++) {
			memcpy(&sym, b + e.e_shoff + i * sizeof(sym), sizeof(sym));
			if (sym.sh_type == SHT_SYMTAB)
				break;
		}
		Elf64_Shdr str;
		size_t at = e.e_shoff + sym.sh_link * sizeof(str);
		memcpy(&str, b + at, sizeof(str));
		str.sh_size = 3;
		memcpy(b + at, &str, sizeof(str));
		unit_check_fails(kr_symtab_parse(b, size, &t) < 0, "kr_symtab_parse",
				 "does not end inside the string table", __FILE__, __LINE__);

		/* The image still loads and runs; a call names why there are no symbols. */
		struct kvmtest_vm g;
		struct kr_image img;
		uint64_t r;
		if (kvmtest_start(&g, KR_MODE_LONG)) {
			CHECK_OK(kr_load_buffer(g.vm, b, size, NULL, &img));
			CHECK_OK(kr_vcpu_prepare(g.vm, &img));
			CHECK_EQ(kvmtest_run(g.vm).reason, KR_STOP_EXIT);
			CHECK_FAILS_WITH(kr_vm_call(g.vm, "add", NULL, 0, NULL, &r, NULL),
					 "symbols were not kept: symbols: symbol");
			kvmtest_end(&g);
		}
		free(b);
	}
	free(good);
}
