// SPDX-License-Identifier: GPL-2.0
/* lutrace: JSON writer, see json.h */
#include <inttypes.h>
#include "json.h"

void jw_init(struct jw *w, FILE *out, bool pretty)
{
	w->out = out;
	w->pretty = pretty;
	w->depth = 0;
	w->first[0] = true;
	w->after_key = false;
}

static void jw_newline(struct jw *w)
{
	int i;

	if (!w->pretty)
		return;
	fputc('\n', w->out);
	for (i = 0; i < w->depth; i++)
		fputs("    ", w->out);
}

/* Before a value or a key: the separator and, pretty, the indentation */
static void jw_sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (!w->first[w->depth])
		fputc(',', w->out);
	if (w->depth)
		jw_newline(w);
	w->first[w->depth] = false;
}

static void jw_open(struct jw *w, char c)
{
	jw_sep(w);
	fputc(c, w->out);
	if (w->depth < JW_MAX_DEPTH - 1)
		w->depth++;
	w->first[w->depth] = true;
}

static void jw_close(struct jw *w, char c)
{
	bool empty = w->first[w->depth];

	if (w->depth)
		w->depth--;
	if (!empty)
		jw_newline(w);
	fputc(c, w->out);
}

void jw_obj_begin(struct jw *w)
{
	jw_open(w, '{');
}

void jw_obj_end(struct jw *w)
{
	jw_close(w, '}');
}

void jw_arr_begin(struct jw *w)
{
	jw_open(w, '[');
}

void jw_arr_end(struct jw *w)
{
	jw_close(w, ']');
}

/* Length of the valid UTF-8 sequence at @p, 0 if it is not one */
static int jw_utf8_len(const unsigned char *p)
{
	int len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	for (i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong three- and four-byte forms, surrogates, above U+10FFFF */
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return len;
}

/* A JSON string; bytes that are not UTF-8 (a task's comm can hold any) become U+FFFD */
static void jw_quoted(struct jw *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int len;

	fputc('"', w->out);
	while (*p) {
		switch (*p) {
		case '"':
			fputs("\\\"", w->out);
			break;
		case '\\':
			fputs("\\\\", w->out);
			break;
		case '\n':
			fputs("\\n", w->out);
			break;
		case '\t':
			fputs("\\t", w->out);
			break;
		default:
			if (*p < 0x20) {
				fprintf(w->out, "\\u%04x", *p);
				break;
			}
			len = jw_utf8_len(p);
			if (!len) {
				fputs("\\ufffd", w->out);
				break;
			}
			fwrite(p, 1, len, w->out);
			p += len;
			continue;
		}
		p++;
	}
	fputc('"', w->out);
}

void jw_key(struct jw *w, const char *key)
{
	jw_sep(w);
	jw_quoted(w, key);
	fputs(w->pretty ? ": " : ":", w->out);
	w->after_key = true;
}

void jw_str(struct jw *w, const char *s)
{
	jw_sep(w);
	jw_quoted(w, s);
}

void jw_u64(struct jw *w, uint64_t v)
{
	jw_sep(w);
	fprintf(w->out, "%" PRIu64, v);
}

void jw_int(struct jw *w, int64_t v)
{
	jw_sep(w);
	fprintf(w->out, "%" PRId64, v);
}

void jw_bool(struct jw *w, bool v)
{
	jw_sep(w);
	fputs(v ? "true" : "false", w->out);
}

void jw_null(struct jw *w)
{
	jw_sep(w);
	fputs("null", w->out);
}

void jw_end(struct jw *w)
{
	fputc('\n', w->out);
	w->depth = 0;
	w->first[0] = true;
	w->after_key = false;
}

void jw_kstr(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_str(w, s);
}

void jw_ku64(struct jw *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	jw_u64(w, v);
}

void jw_ku64_or_null(struct jw *w, const char *key, bool have, uint64_t v)
{
	jw_key(w, key);
	if (have)
		jw_u64(w, v);
	else
		jw_null(w);
}

void jw_kstr_or_null(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	if (s)
		jw_str(w, s);
	else
		jw_null(w);
}

void jw_kint(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	jw_int(w, v);
}

void jw_kbool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

void jw_khex(struct jw *w, const char *key, uint64_t v)
{
	char buf[24];

	/* Not "%#": it prints 0 without the "0x" the readers expect */
	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	jw_kstr(w, key, buf);
}

void jw_hex(struct jw *w, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	jw_str(w, buf);
}

void jw_kbytes(struct jw *w, const char *key, const void *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = data;
	size_t i;

	jw_key(w, key);
	jw_sep(w);
	fputc('"', w->out);
	for (i = 0; i < len; i++) {
		fputc(digits[p[i] >> 4], w->out);
		fputc(digits[p[i] & 15], w->out);
	}
	fputc('"', w->out);
}
