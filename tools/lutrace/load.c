// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace: reading a dump's JSON back into a snapshot (dump --from, check
 * --from, diff). The dump writes the snapshot it printed under "snapshot"
 * (decode.c, lt_print_snapshot()); everything else in the document is a
 * view of it and is not read. JSON parsing is json-c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "decode.h"

/* Files larger than this are no dump (a full one is about 25 MiB) */
#define LT_LOAD_MAX	(256UL << 20)

struct lt_loader {
	const char *path;
	char *err;
	size_t errlen;
	bool failed;
	int64_t format;		/* the snapshot's format */
};

static void __attribute__((format(printf, 2, 3)))
ld_fail(struct lt_loader *l, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	if (l->failed)
		return;
	l->failed = true;
	n = snprintf(l->err, l->errlen, "%s: ", l->path);
	if (n >= l->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(l->err + n, l->errlen - n, fmt, ap);
	va_end(ap);
}

/* Member @key of object @o, of type @type; NULL (and the error) if not */
static json_object *ld_get(struct lt_loader *l, json_object *o,
			   const char *where, const char *key, json_type type)
{
	json_object *v;

	if (l->failed)
		return NULL;
	if (!json_object_object_get_ex(o, key, &v)) {
		ld_fail(l, "%s: no \"%s\"", where, key);
		return NULL;
	}
	if (!json_object_is_type(v, type)) {
		ld_fail(l, "%s.%s: not a%s %s", where, key,
			type == json_type_int || type == json_type_array ||
			type == json_type_object ? "n" : "",
			json_type_to_name(type));
		return NULL;
	}
	return v;
}

/* An integer member in [@min, @max] */
static int64_t ld_int(struct lt_loader *l, json_object *o, const char *where,
		      const char *key, int64_t min, int64_t max)
{
	json_object *v = ld_get(l, o, where, key, json_type_int);
	int64_t x;

	if (!v)
		return 0;
	x = json_object_get_int64(v);
	if (x < min || x > max) {
		ld_fail(l, "%s.%s: %" PRId64 " is out of range", where, key, x);
		return 0;
	}
	return x;
}

/* A non-negative integer member up to @max, which may exceed INT64_MAX */
static uint64_t ld_u64(struct lt_loader *l, json_object *o,
		       const char *where, const char *key, uint64_t max)
{
	json_object *v = ld_get(l, o, where, key, json_type_int);
	uint64_t x;

	if (!v)
		return 0;
	/* json-c reads numbers above INT64_MAX as uint64, never negative */
	if (json_object_get_int64(v) < 0) {
		ld_fail(l, "%s.%s: negative", where, key);
		return 0;
	}
	x = json_object_get_uint64(v);
	if (x > max) {
		ld_fail(l, "%s.%s: %" PRIu64 " is out of range", where, key, x);
		return 0;
	}
	return x;
}

static bool ld_bool(struct lt_loader *l, json_object *o, const char *where,
		    const char *key)
{
	json_object *v = ld_get(l, o, where, key, json_type_boolean);

	return v && json_object_get_boolean(v);
}

static const char *ld_str(struct lt_loader *l, json_object *o,
			  const char *where, const char *key)
{
	json_object *v = ld_get(l, o, where, key, json_type_string);

	return v ? json_object_get_string(v) : "";
}

/* A "0x..." member */
static uint64_t ld_hex(struct lt_loader *l, json_object *o, const char *where,
		       const char *key)
{
	const char *str = ld_str(l, o, where, key);
	unsigned long long x;
	char *end;

	if (l->failed)
		return 0;
	errno = 0;
	x = strtoull(str, &end, 16);
	if (strncmp(str, "0x", 2) || end == str + 2 || *end || errno) {
		ld_fail(l, "%s.%s: \"%s\" is not a 0x... number", where, key,
			str);
		return 0;
	}
	return x;
}

static int ld_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* A hex string member of at most @max bytes into @buf; the rest zeroed */
static void ld_bytes(struct lt_loader *l, json_object *o, const char *where,
		     const char *key, void *buf, size_t max)
{
	const char *str = ld_str(l, o, where, key);
	size_t len = strlen(str), i;
	unsigned char *p = buf;

	memset(buf, 0, max);
	if (l->failed)
		return;
	if (len % 2 || len / 2 > max) {
		ld_fail(l, "%s.%s: %zu hex digits, expected an even number up to %zu",
			where, key, len, 2 * max);
		return;
	}
	for (i = 0; i < len / 2; i++) {
		int hi = ld_digit(str[2 * i]), lo = ld_digit(str[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			ld_fail(l, "%s.%s: not lower-case hex digits", where,
				key);
			return;
		}
		p[i] = hi << 4 | lo;
	}
}

/* A chain by name */
static __u32 ld_chain(struct lt_loader *l, json_object *o, const char *where)
{
	const char *name = ld_str(l, o, where, "chain");
	__u32 c;

	for (c = 0; c < LT_NR_CHAINS && !l->failed; c++)
		if (!strcmp(name, lt_chain_name(c)))
			return c;
	ld_fail(l, "%s.chain: \"%s\" is no chain", where, name);
	return 0;
}

/* "DDDD:BB:DD.F" */
static void ld_pci(struct lt_loader *l, const char *where, const char *str,
		   __u32 *segment, __u16 *bdf)
{
	unsigned int seg, bus, dev, fn;
	char end;

	if (sscanf(str, "%x:%x:%x.%u%c", &seg, &bus, &dev, &fn, &end) != 4 ||
	    seg > 0xffff || bus > 0xff || dev > 0x1f || fn > 7) {
		ld_fail(l, "%s: \"%s\" is not a PCI address", where, str);
		return;
	}
	*segment = seg;
	*bdf = bus << 8 | dev << 3 | fn;
}

/* Array member @key; each element of type object */
static json_object *ld_array(struct lt_loader *l, json_object *o,
			     const char *where, const char *key, size_t *n)
{
	json_object *a = ld_get(l, o, where, key, json_type_array);

	*n = a ? json_object_array_length(a) : 0;
	return a;
}

static void ld_state(struct lt_loader *l, struct lt_snapshot *s,
		     json_object *o)
{
	struct lt_state_rec *st = &s->state;
	const char *w = "snapshot.state";
	json_object *a;
	size_t n;
	__u32 c;

	memset(st, 0, sizeof(*st));
	st->kind = LT_REC_STATE;
	st->incoming = s->incoming;
	/* Format 1 kept the kernel's address of the state; 2 whether it is */
	if (l->format == 1)
		st->obj = !!ld_hex(l, o, w, "obj");
	else
		st->obj = ld_bool(l, o, w, "have_obj");
	st->root_pa = ld_u64(l, o, w, "root_pa", UINT64_MAX);
	st->count = ld_int(l, o, w, "count", INT32_MIN, INT32_MAX);
	st->retrieve_status = ld_int(l, o, w, "retrieve_status", INT32_MIN,
				     INT32_MAX);
	st->finished = ld_bool(l, o, w, "finished");
	st->have_root = ld_bool(l, o, w, "have_root");
	st->root_err = ld_int(l, o, w, "root_err", INT32_MIN, INT32_MAX);
	st->has_refusals = ld_bool(l, o, w, "has_refusals");
	st->refusals_lost = ld_u64(l, o, w, "refusals_lost", UINT32_MAX);
	if (l->format >= 2) {
		st->nr_refusals = ld_u64(l, o, w, "nr_refusals", UINT32_MAX);
		st->handover = ld_u64(l, o, w, "handover", LT_HANDOVER_IOMMU);
	}
	a = ld_array(l, o, w, "nr_used", &n);
	if (a && n != LT_NR_CHAINS)
		ld_fail(l, "%s.nr_used: %zu values, expected %d", w, n,
			LT_NR_CHAINS);
	for (c = 0; c < LT_NR_CHAINS && !l->failed; c++) {
		json_object *v = json_object_array_get_idx(a, c);

		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < 0 ||
		    json_object_get_int64(v) > UINT32_MAX)
			ld_fail(l, "%s.nr_used[%u]: not a count", w, c);
		st->nr_used[c] = json_object_get_int64(v);
	}
	a = ld_array(l, o, w, "refused", &n);
	if (a && n != LT_NR_CHAINS)
		ld_fail(l, "%s.refused: %zu values, expected %d", w, n,
			LT_NR_CHAINS);
	for (c = 0; c < LT_NR_CHAINS && !l->failed; c++) {
		json_object *v = json_object_array_get_idx(a, c);

		if (!json_object_is_type(v, json_type_boolean))
			ld_fail(l, "%s.refused[%u]: not a boolean", w, c);
		st->refused[c] = json_object_get_boolean(v);
	}
	ld_bytes(l, o, w, "root_record", st->root, sizeof(st->root));
	s->have_state = !l->failed;
}

/* One element of array @a, an object, with its place in @where */
static json_object *ld_elem(struct lt_loader *l, json_object *a, size_t i,
			    const char *name, char *where, size_t len)
{
	json_object *o = json_object_array_get_idx(a, i);

	snprintf(where, len, "snapshot.%s[%zu]", name, i);
	if (!l->failed && !json_object_is_type(o, json_type_object)) {
		ld_fail(l, "%s: not an object", where);
		return NULL;
	}
	return o;
}

/* Array member @key of at most @max elements, as the dump writes them */
static json_object *ld_records_of(struct lt_loader *l, json_object *snap,
				  const char *key, size_t max, size_t *n)
{
	json_object *a = ld_array(l, snap, "snapshot", key, n);

	if (*n > max) {
		ld_fail(l, "snapshot.%s: %zu records, a dump has at most %zu",
			key, *n, max);
		*n = 0;
	}
	return a;
}

static void ld_records(struct lt_loader *l, struct lt_snapshot *s,
		       json_object *snap)
{
	static struct lt_block_rec b;
	__u32 per_chain[LT_NR_CHAINS] = {};
	json_object *a, *o;
	char w[64];
	size_t i, n;

	a = ld_records_of(l, snap, "blocks", LT_NR_CHAINS * LT_MAX_BLOCKS, &n);
	for (i = 0; i < n && !l->failed; i++) {
		o = ld_elem(l, a, i, "blocks", w, sizeof(w));
		memset(&b, 0, sizeof(b));
		b.kind = LT_REC_BLOCK;
		b.chain = ld_chain(l, o, w);
		b.seq = ld_u64(l, o, w, "seq", UINT32_MAX);
		b.pa = ld_u64(l, o, w, "pa", UINT64_MAX);
		b.err = ld_int(l, o, w, "err", INT32_MIN, 0);
		ld_bytes(l, o, w, "data", b.data, sizeof(b.data));
		/* The dump numbers a chain's blocks in the order it read them */
		if (!l->failed && b.seq != per_chain[b.chain])
			ld_fail(l, "%s.seq: %u, block %u of its chain in the dump",
				w, b.seq, per_chain[b.chain]);
		else if (!l->failed && ++per_chain[b.chain] > LT_MAX_BLOCKS)
			ld_fail(l, "%s: more than %d blocks of the %s chain, a dump has at most that",
				w, LT_MAX_BLOCKS, lt_chain_name(b.chain));
		if (!l->failed && lt_snapshot_add(s, &b, sizeof(b)))
			ld_fail(l, "out of memory");
	}
	a = ld_records_of(l, snap, "lookup", LT_MAX_LOOKUP, &n);
	for (i = 0; i < n && !l->failed; i++) {
		struct lt_valid_rec v = { .kind = LT_REC_VALID };

		o = ld_elem(l, a, i, "lookup", w, sizeof(w));
		v.chain = ld_chain(l, o, w);
		v.index = ld_u64(l, o, w, "index", UINT32_MAX);
		v.type = ld_u64(l, o, w, "type", UINT32_MAX);
		v.key = ld_hex(l, o, w, "key");
		if (!l->failed && lt_snapshot_add(s, &v, sizeof(v)))
			ld_fail(l, "out of memory");
	}
	a = ld_records_of(l, snap, "refusals", LT_MAX_REFUSALS, &n);
	for (i = 0; i < n && !l->failed; i++) {
		struct lt_refusal_rec r = { .kind = LT_REC_REFUSAL };

		o = ld_elem(l, a, i, "refusals", w, sizeof(w));
		r.chain = ld_u64(l, o, w, "chain", LT_NR_CHAINS);
		r.index = ld_u64(l, o, w, "index", UINT32_MAX);
		r.reason = ld_u64(l, o, w, "reason", UINT32_MAX);
		r.concerns = ld_u64(l, o, w, "concerns", UINT32_MAX);
		if (!l->failed && lt_snapshot_add(s, &r, sizeof(r)))
			ld_fail(l, "out of memory");
	}
	a = ld_array(l, snap, "snapshot", "reasons", &n);
	for (i = 0; i < n && !l->failed; i++) {
		json_object *v = json_object_array_get_idx(a, i);

		if (json_object_is_type(v, json_type_null))
			continue;
		if (!json_object_is_type(v, json_type_string))
			ld_fail(l, "snapshot.reasons[%zu]: not a string", i);
		else if (lt_snapshot_add_reason(s, i, json_object_get_string(v), ""))
			ld_fail(l, "snapshot.reasons[%zu]: not a reason code (letters, digits, '-'), or too many reasons",
				i);
	}
	a = ld_records_of(l, snap, "mem", LT_MEM_MAX, &n);
	for (i = 0; i < n && !l->failed; i++) {
		struct lt_mem_rec m = { .kind = LT_REC_MEM };

		o = ld_elem(l, a, i, "mem", w, sizeof(w));
		m.pa = ld_u64(l, o, w, "pa", UINT64_MAX);
		m.len = ld_u64(l, o, w, "len", LT_MEM_LEN);
		m.err = ld_int(l, o, w, "err", INT32_MIN, 0);
		ld_bytes(l, o, w, "data", m.data, sizeof(m.data));
		if (!l->failed && lt_snapshot_add(s, &m, sizeof(m)))
			ld_fail(l, "out of memory");
	}
	a = ld_records_of(l, snap, "pci", LT_MAX_PCI, &n);
	for (i = 0; i < n && !l->failed; i++) {
		struct lt_pci_dev d = {};
		json_object *v;

		o = ld_elem(l, a, i, "pci", w, sizeof(w));
		ld_pci(l, w, ld_str(l, o, w, "pci"), &d.segment, &d.bdf);
		d.iommu = ld_bool(l, o, w, "iommu");
		snprintf(d.driver, sizeof(d.driver), "%s",
			 ld_str(l, o, w, "driver"));
		if (json_object_object_get_ex(o, "command", &v) &&
		    !json_object_is_type(v, json_type_null)) {
			d.command = ld_u64(l, o, w, "command", UINT16_MAX);
			d.have_command = true;
		}
		if (json_object_object_get_ex(o, "parent", &v) &&
		    !json_object_is_type(v, json_type_null)) {
			ld_pci(l, w, ld_str(l, o, w, "parent"),
			       &d.parent_segment, &d.parent_bdf);
			d.have_parent = true;
		}
		if (!l->failed && lt_snapshot_add_pci(s, &d))
			ld_fail(l, "out of memory");
	}
}

static void ld_kexec(struct lt_loader *l, struct lt_snapshot *s,
		     json_object *snap)
{
	struct lt_kexec_rec *k = &s->kexec;
	const char *w = "snapshot.kexec", *cmdline;
	json_object *o;

	if (!json_object_object_get_ex(snap, "kexec", &o)) {
		ld_fail(l, "snapshot: no \"kexec\"");
		return;
	}
	if (json_object_is_type(o, json_type_null))
		return;
	if (!json_object_is_type(o, json_type_object)) {
		ld_fail(l, "%s: not an object", w);
		return;
	}
	memset(k, 0, sizeof(*k));
	k->kind = LT_REC_KEXEC;
	k->err = ld_int(l, o, w, "err", INT32_MIN, 0);
	k->loaded = ld_bool(l, o, w, "loaded");
	k->file_mode = ld_bool(l, o, w, "file_mode");
	k->have_cmdline = ld_bool(l, o, w, "have_cmdline");
	cmdline = ld_str(l, o, w, "cmdline");
	if (strlen(cmdline) >= sizeof(k->cmdline)) {
		ld_fail(l, "%s.cmdline: longer than %zu bytes", w,
			sizeof(k->cmdline) - 1);
		return;
	}
	strcpy(k->cmdline, cmdline);
	k->cmdline_len = k->have_cmdline ? strlen(cmdline) + 1 : 0;
	s->have_kexec = !l->failed;
}

/* This kernel's command line (format 2): a string, or null */
static void ld_cmdline(struct lt_loader *l, struct lt_snapshot *s,
		       json_object *snap)
{
	json_object *o;

	if (l->format < 2 || l->failed)
		return;
	if (!json_object_object_get_ex(snap, "cmdline", &o)) {
		ld_fail(l, "snapshot: no \"cmdline\"");
		return;
	}
	if (json_object_is_type(o, json_type_null))
		return;
	s->cmdline = strdup(ld_str(l, snap, "snapshot", "cmdline"));
	if (!s->cmdline)
		ld_fail(l, "out of memory");
}

/* The whole file, NUL terminated, its length in @len; NULL with the error */
static char *ld_read(struct lt_loader *l, size_t *lenp)
{
	char *buf = NULL;
	size_t len = 0, n;
	FILE *f;

	f = fopen(l->path, "r");
	if (!f) {
		ld_fail(l, "%s", strerror(errno));
		return NULL;
	}
	do {
		char *p = realloc(buf, len + 65536 + 1);

		if (!p) {
			ld_fail(l, "out of memory");
			break;
		}
		buf = p;
		n = fread(buf + len, 1, 65536, f);
		len += n;
		if (len > LT_LOAD_MAX)
			ld_fail(l, "larger than %lu MiB: not a dump",
				LT_LOAD_MAX >> 20);
	} while (n && !l->failed);
	if (!l->failed && ferror(f))
		ld_fail(l, "%s", strerror(errno));
	fclose(f);
	if (l->failed) {
		free(buf);
		return NULL;
	}
	buf[len] = 0;
	*lenp = len;
	return buf;
}

int lt_snapshot_load(struct lt_snapshot *s, const char *path, char *err,
		     size_t errlen)
{
	struct lt_loader l = { .path = path, .err = err, .errlen = errlen };
	enum json_tokener_error jerr = json_tokener_success;
	json_object *doc = NULL, *snap, *state;
	struct json_tokener *tok;
	size_t len, end;
	const char *dir;
	char *text;

	memset(s, 0, sizeof(*s));
	text = ld_read(&l, &len);
	if (!text)
		return -1;
	tok = json_tokener_new();
	if (!tok) {
		ld_fail(&l, "out of memory");
	} else if (strlen(text) != len) {
		ld_fail(&l, "not JSON: a NUL byte at byte %zu", strlen(text));
	} else {
		doc = json_tokener_parse_ex(tok, text, len + 1);
		jerr = json_tokener_get_error(tok);
		end = json_tokener_get_parse_end(tok);
		if (!doc)
			ld_fail(&l, "not JSON: %s at byte %zu",
				json_tokener_error_desc(jerr), end);
		/* One document: only white space may follow it */
		else if (end < len && strspn(text + end, " \t\r\n") != len - end)
			ld_fail(&l, "more after the JSON document, at byte %zu: not one dump",
				end + strspn(text + end, " \t\r\n"));
	}
	if (tok)
		json_tokener_free(tok);
	free(text);
	if (l.failed) {
		json_object_put(doc);
		return -1;
	}
	if (!json_object_is_type(doc, json_type_object)) {
		ld_fail(&l, "not a lutrace dump (the document is not an object)");
		goto out;
	}
	if (json_object_object_get_ex(doc, "error", NULL)) {
		ld_fail(&l, "the dump failed when it was taken: %s",
			ld_str(&l, doc, "document", "error"));
		goto out;
	}
	if (!json_object_object_get_ex(doc, "snapshot", &snap)) {
		ld_fail(&l, "no \"snapshot\": not the JSON of lutrace -j dump, or of a lutrace too old to replay");
		goto out;
	}
	if (!json_object_is_type(snap, json_type_object)) {
		ld_fail(&l, "snapshot: not an object");
		goto out;
	}
	l.format = ld_int(&l, snap, "snapshot", "format", 0, INT32_MAX);
	if (!l.failed && (l.format < 1 || l.format > LT_SNAPSHOT_FORMAT)) {
		ld_fail(&l, "snapshot format %" PRId64 ", this lutrace reads formats 1 to %d",
			l.format, LT_SNAPSHOT_FORMAT);
		goto out;
	}
	dir = ld_str(&l, doc, "document", "direction");
	s->incoming = ld_bool(&l, snap, "snapshot", "incoming");
	if (!l.failed && strcmp(dir, s->incoming ? "incoming" : "outgoing"))
		ld_fail(&l, "direction \"%s\" does not match the snapshot", dir);
	s->err = ld_int(&l, snap, "snapshot", "err", INT32_MIN, 0);
	s->lost = ld_u64(&l, snap, "snapshot", "lost", UINT32_MAX);
	if (l.format >= 2)
		s->truncated = ld_u64(&l, snap, "snapshot", "truncated",
				      UINT32_MAX);
	if (!l.failed && !json_object_object_get_ex(snap, "state", &state))
		ld_fail(&l, "snapshot: no \"state\"");
	else if (!l.failed && !json_object_is_type(state, json_type_null))
		ld_state(&l, s, ld_get(&l, snap, "snapshot", "state",
				       json_type_object));
	ld_records(&l, s, snap);
	ld_kexec(&l, s, snap);
	ld_cmdline(&l, s, snap);
	/* Format 1 did not count the kernel's refusals: all were read */
	if (l.format == 1)
		s->state.nr_refusals = s->nr_refusals;
out:
	json_object_put(doc);
	if (l.failed) {
		lt_snapshot_free(s);
		return -1;
	}
	return 0;
}
