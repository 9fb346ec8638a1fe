/* SPDX-License-Identifier: MIT */
/*
 * loader/symbols.h - the function and object names of a loaded 64-bit ELF
 * (its .symtab), kept with the VM so that kr_vm_call can find a guest
 * function by name.
 */
#ifndef KVMRUN_LOADER_SYMBOLS_H
#define KVMRUN_LOADER_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

#include "kvmrun.h"

/* At most this many symbols and this many bytes of names are kept (a guest has far fewer). */
#define KR_SYMBOLS_MAX 65536u
#define KR_SYMBOL_NAME_MAX 255u
#define KR_SYMBOLS_NAME_BYTES (4u << 20)

struct kr_symbol {
	const char *name; /* in the table's own copy of the names */
	uint64_t value;   /* guest virtual address */
	uint64_t size;
	unsigned type; /* STT_FUNC, STT_OBJECT, STT_NOTYPE */
};

/*
 * Read the ELF64 file's symbol table (data is the whole file, already
 * accepted by the ELF loader) into the VM, replacing what an earlier image
 * left. Never fails the load: an image without symbols, or with a malformed
 * table, keeps the reason instead, and kr_symbols_find reports it.
 */
void kr_symbols_load(struct kr_vm *vm, const uint8_t *data, size_t size);

/* The defined global or weak symbol `name`, or NULL with the error set (the reason). */
const struct kr_symbol *kr_symbols_find(struct kr_vm *vm, const char *name);

/* For unit tests: parse into a fresh table; -1 with the error set when malformed. */
struct kr_symtab;
int kr_symtab_parse(const uint8_t *data, size_t size, struct kr_symtab **out);
const struct kr_symbol *kr_symtab_lookup(const struct kr_symtab *t, const char *name);
size_t kr_symtab_count(const struct kr_symtab *t);
void kr_symtab_free(struct kr_symtab *t);

#endif
