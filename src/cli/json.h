/* SPDX-License-Identifier: MIT */
/*
 * json.h - the one JSON writer of the command (crash dumps, exit traces):
 * it places the commas and escapes the strings, so callers only name keys
 * and values. Compact output, no spaces: one object per line for traces.
 */
#ifndef KVMRUN_CLI_JSON_H
#define KVMRUN_CLI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 8

struct json {
	FILE *f;
	int depth;
	bool has_items[JSON_MAX_DEPTH]; /* at each depth: a comma before the next item */
};

void json_init(struct json *j, FILE *f);
/* `key` names the member inside an object; NULL at the top and inside arrays. */
void json_object_begin(struct json *j, const char *key);
void json_object_end(struct json *j);
void json_array_begin(struct json *j, const char *key);
void json_array_end(struct json *j);
void json_string(struct json *j, const char *key, const char *s);
void json_uint(struct json *j, const char *key, uint64_t v);
void json_int(struct json *j, const char *key, long long v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);
/* A number as the string "0x1f": JSON numbers lose precision above 2^53. */
void json_hex(struct json *j, const char *key, uint64_t v);
/* Bytes as one string of hex digits: "0f0b". */
void json_hex_bytes(struct json *j, const char *key, const uint8_t *p, size_t n);

#endif
