/* SPDX-License-Identifier: MIT */
/*
 * symbols.c - a checked copy of a 64-bit ELF's symbol names and addresses.
 *
 * The section headers are optional for running an ELF, so they are read only
 * after the loader accepted the file, and a missing or malformed symbol table
 * never fails the load: the reason is kept and named when a caller asks for
 * a symbol (kr_vm_call). Every offset, size and index of the file goes
 * through kr_span/kr_range_ok; each name must end with a NUL inside .strtab.
 * Only defined global and weak symbols are kept (a static function is not
 * an entry point), copied out of the file, sorted by name for bsearch.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bounds.h"
#include "core/error.h"
#include "core/vm.h"
#include "loader/symbols.h"

struct kr_symtab {
	size_t n;
	struct kr_symbol *syms;
	char *names;
};

/* The module the table hangs on: the table, or why there is none. */
struct symbols_module {
	struct kr_symtab *tab;
	char why[256];
};

/* Section header `i`, widened; the table's bounds were checked by the caller. */
static int read_shdr(const uint8_t *data, size_t size, uint64_t shoff, unsigned i, Elf64_Shdr *sh)
{
	const void *p = kr_span(data, size, shoff + (uint64_t)i * sizeof(*sh), sizeof(*sh));
	if (!p)
		return kr_err("symbols: section header %u lies outside the file", i);
	memcpy(sh, p, sizeof(*sh));
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kr_symbol *)a)->name, ((const struct kr_symbol *)b)->name);
}

/* The NUL-terminated name at `off` in the string table, or NULL. */
static const char *strtab_name(const uint8_t *str, uint64_t strsize, uint64_t off, size_t *len)
{
	if (off >= strsize)
		return NULL;
	const void *nul = memchr(str + off, 0, (size_t)(strsize - off));
	if (!nul)
		return NULL;
	*len = (size_t)((const uint8_t *)nul - (str + off));
	return (const char *)str + off;
}

/* Is this symbol one a caller may name: defined, global or weak, a function or data? */
static bool keep_symbol(const Elf64_Sym *s)
{
	unsigned bind = ELF64_ST_BIND(s->st_info), type = ELF64_ST_TYPE(s->st_info);
	if (s->st_shndx == SHN_UNDEF || s->st_shndx == SHN_ABS)
		return false;
	if (bind != STB_GLOBAL && bind != STB_WEAK)
		return false;
	return type == STT_FUNC || type == STT_OBJECT || type == STT_NOTYPE;
}

/* Copy the kept symbols of the table (nsyms entries at `syms`) and their names. */
static int copy_symbols(const uint8_t *syms, uint64_t nsyms, const uint8_t *str, uint64_t strsize,
			struct kr_symtab *t)
{
	size_t bytes = 0, n = 0;

	/* First pass: check every kept name and count; second: copy. */
	for (uint64_t i = 0; i < nsyms; i++) {
		Elf64_Sym s;
		size_t len = 0;
		memcpy(&s, syms + i * sizeof(s), sizeof(s));
		if (!keep_symbol(&s))
			continue;
		if (!strtab_name(str, strsize, s.st_name, &len))
			return kr_err("symbols: symbol %llu: its name (offset 0x%x) does not end "
				      "inside the string table (0x%llx bytes)",
				      (unsigned long long)i, s.st_name, (unsigned long long)strsize);
		if (len == 0 || len > KR_SYMBOL_NAME_MAX)
			continue; /* unnamed or absurd: nobody can ask for it */
		bytes += len + 1;
		if (bytes > KR_SYMBOLS_NAME_BYTES)
			return kr_err("symbols: the names take more than %u bytes", KR_SYMBOLS_NAME_BYTES);
		n++;
	}
	t->syms = calloc(n ? n : 1, sizeof(*t->syms));
	t->names = malloc(bytes ? bytes : 1);
	if (!t->syms || !t->names)
		return kr_err_sys("symbols: allocating %zu symbols and %zu bytes of names", n, bytes);
	char *w = t->names;
	for (uint64_t i = 0; i < nsyms && t->n < n; i++) {
		Elf64_Sym s;
		size_t len = 0;
		memcpy(&s, syms + i * sizeof(s), sizeof(s));
		if (!keep_symbol(&s))
			continue;
		const char *name = strtab_name(str, strsize, s.st_name, &len);
		if (!name || len == 0 || len > KR_SYMBOL_NAME_MAX)
			continue;
		memcpy(w, name, len + 1);
		t->syms[t->n++] = (struct kr_symbol){.name = w,
						     .value = s.st_value,
						     .size = s.st_size,
						     .type = ELF64_ST_TYPE(s.st_info)};
		w += len + 1;
	}
	qsort(t->syms, t->n, sizeof(*t->syms), name_cmp);
	return 0;
}

/* Find SHT_SYMTAB and its string table; fill the table. */
static int parse(const uint8_t *data, size_t size, struct kr_symtab *t)
{
	Elf64_Ehdr e;
	const void *p = kr_span(data, size, 0, sizeof(e));

	if (!p)
		return kr_err("symbols: the file is too short for an ELF64 header");
	memcpy(&e, p, sizeof(e));
	if (e.e_ident[EI_CLASS] != ELFCLASS64)
		return kr_err("symbols: not an ELF64 file");
	if (e.e_shoff == 0 || e.e_shnum == 0)
		return kr_err("symbols: the file has no section headers (stripped?)");
	if (e.e_shentsize != sizeof(Elf64_Shdr))
		return kr_err("symbols: e_shentsize is %u, expected %zu", e.e_shentsize,
			      sizeof(Elf64_Shdr));
	/* e_shnum 0 with e_shoff set means extended numbering (in section 0): refused above. */
	if (!kr_range_ok(e.e_shoff, (uint64_t)e.e_shnum * sizeof(Elf64_Shdr), size))
		return kr_err("symbols: the section header table (e_shoff 0x%llx, %u entries) runs "
			      "past the end of the file (0x%zx bytes)",
			      (unsigned long long)e.e_shoff, e.e_shnum, size);
	Elf64_Shdr sym, str;
	unsigned i;
	for (i = 0; i < e.e_shnum; i++) {
		if (read_shdr(data, size, e.e_shoff, i, &sym) < 0)
			return -1;
		if (sym.sh_type == SHT_SYMTAB)
			break;
	}
	if (i == e.e_shnum)
		return kr_err("symbols: the file has no symbol table (.symtab: stripped?)");
	if (sym.sh_entsize != sizeof(Elf64_Sym) || sym.sh_size % sizeof(Elf64_Sym) != 0)
		return kr_err("symbols: section %u (SHT_SYMTAB): sh_entsize %llu / sh_size %llu do "
			      "not describe Elf64_Sym entries of %zu bytes",
			      i, (unsigned long long)sym.sh_entsize, (unsigned long long)sym.sh_size,
			      sizeof(Elf64_Sym));
	uint64_t nsyms = sym.sh_size / sizeof(Elf64_Sym);
	if (nsyms > KR_SYMBOLS_MAX)
		return kr_err("symbols: %llu symbols, more than the %u kept",
			      (unsigned long long)nsyms, KR_SYMBOLS_MAX);
	const uint8_t *syms = kr_span(data, size, sym.sh_offset, sym.sh_size);
	if (!syms)
		return kr_err("symbols: section %u (SHT_SYMTAB, offset 0x%llx, 0x%llx bytes) runs "
			      "past the end of the file (0x%zx bytes)",
			      i, (unsigned long long)sym.sh_offset, (unsigned long long)sym.sh_size,
			      size);
	if (sym.sh_link == 0 || sym.sh_link >= e.e_shnum)
		return kr_err("symbols: section %u (SHT_SYMTAB): sh_link %u is not a section "
			      "(there are %u)",
			      i, sym.sh_link, e.e_shnum);
	if (read_shdr(data, size, e.e_shoff, sym.sh_link, &str) < 0)
		return -1;
	if (str.sh_type != SHT_STRTAB)
		return kr_err("symbols: section %u, the symbol table's sh_link, is of type %u, not "
			      "SHT_STRTAB",
			      sym.sh_link, str.sh_type);
	const uint8_t *names = kr_span(data, size, str.sh_offset, str.sh_size);
	if (!names)
		return kr_err("symbols: section %u (SHT_STRTAB, offset 0x%llx, 0x%llx bytes) runs "
			      "past the end of the file (0x%zx bytes)",
			      sym.sh_link, (unsigned long long)str.sh_offset,
			      (unsigned long long)str.sh_size, size);
	return copy_symbols(syms, nsyms, names, str.sh_size, t);
}

void kr_symtab_free(struct kr_symtab *t)
{
	if (!t)
		return;
	free(t->syms);
	free(t->names);
	free(t);
}

int kr_symtab_parse(const uint8_t *data, size_t size, struct kr_symtab **out)
{
	struct kr_symtab *t = calloc(1, sizeof(*t));
	if (!t)
		return kr_err_sys("symbols: calloc(%zu)", sizeof(*t));
	if (parse(data, size, t) < 0) {
		kr_symtab_free(t);
		return -1;
	}
	*out = t;
	return 0;
}

const struct kr_symbol *kr_symtab_lookup(const struct kr_symtab *t, const char *name)
{
	struct kr_symbol key = {.name = name};
	return t->n ? bsearch(&key, t->syms, t->n, sizeof(*t->syms), name_cmp) : NULL;
}

size_t kr_symtab_count(const struct kr_symtab *t)
{
	return t->n;
}

/* ---- the VM's module ---------------------------------------------------------- */

static void symbols_destroy(struct kr_vm *vm, void *opaque)
{
	struct symbols_module *m = opaque;
	(void)vm;
	kr_symtab_free(m->tab);
	free(m);
}

static const struct kr_hooks symbols_hooks = {
	.name = "symbols",
	.on_destroy = symbols_destroy,
};

void kr_symbols_load(struct kr_vm *vm, const uint8_t *data, size_t size)
{
	struct symbols_module *m = kr_vm_module(vm, &symbols_hooks);

	if (!m) {
		m = calloc(1, sizeof(*m));
		if (!m)
			return; /* kr_symbols_find says no symbols were kept */
		if (kr_vm_add_module(vm, &symbols_hooks, m) < 0) {
			free(m);
			return;
		}
	}
	kr_symtab_free(m->tab);
	m->tab = NULL;
	m->why[0] = 0;
	/* The load goes on either way; the reason waits for kr_symbols_find. */
	if (kr_symtab_parse(data, size, &m->tab) < 0)
		snprintf(m->why, sizeof(m->why), "%s", kr_last_error());
}

const struct kr_symbol *kr_symbols_find(struct kr_vm *vm, const char *name)
{
	const struct symbols_module *m = kr_vm_module(vm, &symbols_hooks);

	if (!m || (!m->tab && !m->why[0])) {
		kr_err_code(KR_E_BAD_ARG, "symbols: no 64-bit ELF image with symbols was loaded "
					  "into this VM");
		return NULL;
	}
	if (!m->tab) {
		kr_err_code(KR_E_BAD_ARG, "the image's symbols were not kept: %s", m->why);
		return NULL;
	}
	const struct kr_symbol *s = kr_symtab_lookup(m->tab, name);
	if (!s)
		kr_err_code(KR_E_BAD_ARG,
			    "symbols: no defined global symbol \"%.*s\" in the image (%zu symbols; "
			    "a guest exports a function with KR_EXPORT)",
			    (int)KR_SYMBOL_NAME_MAX, name, m->tab->n);
	return s;
}
