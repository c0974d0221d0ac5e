/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small JSON writer: compact (one document per line) or pretty (indented).
 * The caller nests objects and arrays; the writer adds commas, quotes and
 * escapes.
 */
#ifndef LUTRACE_JSON_H
#define LUTRACE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JW_MAX_DEPTH	16

struct jw {
	FILE *out;
	bool pretty;
	int depth;
	bool first[JW_MAX_DEPTH];	/* nothing written yet at this level */
	bool after_key;
};

void jw_init(struct jw *w, FILE *out, bool pretty);
void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s);
void jw_u64(struct jw *w, uint64_t v);
void jw_int(struct jw *w, int64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* Ends a document: a newline, so that JSON lines stay one per line */
void jw_end(struct jw *w);

/* key and value in one call */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_ku64(struct jw *w, const char *key, uint64_t v);
void jw_kint(struct jw *w, const char *key, int64_t v);
void jw_kbool(struct jw *w, const char *key, bool v);
/* key and value, or key and null: @v when @have; @s when not NULL */
void jw_ku64_or_null(struct jw *w, const char *key, bool have, uint64_t v);
void jw_kstr_or_null(struct jw *w, const char *key, const char *s);
/*
 * A 64-bit value that may not fit a double (tokens, magics, register
 * values) as a "0x..." string, so that no JSON reader rounds it.
 */
void jw_khex(struct jw *w, const char *key, uint64_t v);
/* The same as an array element */
void jw_hex(struct jw *w, uint64_t v);
/* @len bytes as a string of hex digits, two per byte, lower case */
void jw_kbytes(struct jw *w, const char *key, const void *data, size_t len);

#endif /* LUTRACE_JSON_H */
