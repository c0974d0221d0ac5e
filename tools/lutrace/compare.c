// SPDX-License-Identifier: GPL-2.0
/* lutrace diff: comparing two models of the state, see compare.h */
#include <stddef.h>
#include <string.h>
#include "compare.h"
#include "json.h"

/* One field of an entry: its name, where it is, its size (4 or 8, 2) */
struct lt_field {
	const char *name;
	size_t off;
	size_t size;
};

#define F(type, member, name) \
	{ name, offsetof(type, member), sizeof(((type *)0)->member) }
#define W(type, i) \
	{ "data[" #i "]", offsetof(type, data) + 8 * (i), 8 }

/* The W() lists below name every payload word of the ABI's entries */
static_assert(IOMMU_LU_HW_UNIT_DATA_WORDS == 8, "hw unit payload words");
static_assert(IOMMU_LU_DOMAIN_DATA_WORDS == 4, "domain payload words");
static_assert(IOMMU_LU_DEVICE_DATA_WORDS == 16, "device payload words");

static const struct lt_field lt_hw_fields[] = {
	F(struct iommu_lu_hw_unit_ser, hdr.index, "index"),
	F(struct iommu_lu_hw_unit_ser, hdr.refcount, "refcount"),
	F(struct iommu_lu_hw_unit_ser, hdr.flags, "flags"),
	F(struct iommu_lu_hw_unit_ser, type, "type"),
	F(struct iommu_lu_hw_unit_ser, token, "token"),
	W(struct iommu_lu_hw_unit_ser, 0), W(struct iommu_lu_hw_unit_ser, 1),
	W(struct iommu_lu_hw_unit_ser, 2), W(struct iommu_lu_hw_unit_ser, 3),
	W(struct iommu_lu_hw_unit_ser, 4), W(struct iommu_lu_hw_unit_ser, 5),
	W(struct iommu_lu_hw_unit_ser, 6), W(struct iommu_lu_hw_unit_ser, 7),
	{}
};

static const struct lt_field lt_domain_fields[] = {
	F(struct iommu_lu_domain_ser, hdr.index, "index"),
	F(struct iommu_lu_domain_ser, hdr.refcount, "refcount"),
	F(struct iommu_lu_domain_ser, hdr.flags, "flags"),
	F(struct iommu_lu_domain_ser, format, "format"),
	F(struct iommu_lu_domain_ser, levels, "levels"),
	F(struct iommu_lu_domain_ser, top_table, "top_table"),
	F(struct iommu_lu_domain_ser, addr_width, "addr_width"),
	W(struct iommu_lu_domain_ser, 0), W(struct iommu_lu_domain_ser, 1),
	W(struct iommu_lu_domain_ser, 2), W(struct iommu_lu_domain_ser, 3),
	{}
};

static const struct lt_field lt_device_fields[] = {
	F(struct iommu_lu_device_ser, hdr.index, "index"),
	F(struct iommu_lu_device_ser, hdr.refcount, "refcount"),
	F(struct iommu_lu_device_ser, hdr.flags, "flags"),
	F(struct iommu_lu_device_ser, segment, "segment"),
	F(struct iommu_lu_device_ser, bdf, "bdf"),
	F(struct iommu_lu_device_ser, token, "token"),
	F(struct iommu_lu_device_ser, domain, "domain"),
	F(struct iommu_lu_device_ser, hw_unit, "hw_unit"),
	W(struct iommu_lu_device_ser, 0), W(struct iommu_lu_device_ser, 1),
	W(struct iommu_lu_device_ser, 2), W(struct iommu_lu_device_ser, 3),
	W(struct iommu_lu_device_ser, 4), W(struct iommu_lu_device_ser, 5),
	W(struct iommu_lu_device_ser, 6), W(struct iommu_lu_device_ser, 7),
	W(struct iommu_lu_device_ser, 8), W(struct iommu_lu_device_ser, 9),
	W(struct iommu_lu_device_ser, 10), W(struct iommu_lu_device_ser, 11),
	W(struct iommu_lu_device_ser, 12), W(struct iommu_lu_device_ser, 13),
	W(struct iommu_lu_device_ser, 14), W(struct iommu_lu_device_ser, 15),
	{}
};

static const struct lt_field *const lt_fields[LT_NR_CHAINS] = {
	[IOMMU_LU_CHAIN_HW_UNIT] = lt_hw_fields,
	[IOMMU_LU_CHAIN_DOMAIN] = lt_domain_fields,
	[IOMMU_LU_CHAIN_DEVICE] = lt_device_fields,
};

static __u64 lt_field_get(const void *raw, const struct lt_field *f)
{
	__u64 v = 0;

	/* Little endian, as the ABI and the host */
	memcpy(&v, (const char *)raw + f->off, f->size);
	return v;
}

/* How a field's value reads: flags as names, the rest in hex */
static const char *lt_field_str(const struct lt_field *f, __u64 v, char *buf,
				size_t len)
{
	if (!strcmp(f->name, "flags"))
		return lt_entry_flags_str(v, buf, len);
	if (!strcmp(f->name, "refcount") || !strcmp(f->name, "domain") ||
	    !strcmp(f->name, "index") ||
	    !strcmp(f->name, "hw_unit") || !strcmp(f->name, "levels") ||
	    !strcmp(f->name, "addr_width"))
		snprintf(buf, len, "%llu", (unsigned long long)v);
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)v);
	return buf;
}

/*
 * The entry in slot @pos of @chain: entries are matched by their place, as
 * the next kernel reads them (a damaged index field is a change of them)
 */
static const struct lt_entry *lt_find_entry(const struct lt_model *m,
					    __u32 chain, __u32 pos)
{
	size_t i;

	for (i = 0; i < m->nr_entries[chain]; i++)
		if (m->entries[chain][i].pos == pos)
			return &m->entries[chain][i];
	return NULL;
}

struct lt_differ {
	FILE *out;
	enum lt_format fmt;
	struct jw jw;
	int changes;
};

static bool lt_djson(const struct lt_differ *d)
{
	return d->fmt != LT_FMT_TEXT;
}

/* "device 0 (0000:00:01.0)", "domain 0": the slot */
static const char *lt_entry_name(const struct lt_entry *e, char *buf,
				 size_t len)
{
	const struct iommu_lu_device_ser *dev = e->raw;
	char pci[16];

	if (e->chain == IOMMU_LU_CHAIN_DEVICE)
		snprintf(buf, len, "device %u (%s)", e->pos,
			 lt_pci_name(dev->segment, dev->bdf, pci, sizeof(pci)));
	else
		snprintf(buf, len, "%s %u", lt_chain_name(e->chain), e->pos);
	return buf;
}

static void lt_change(struct lt_differ *d, const struct lt_entry *e,
		      const char *what, const char *field, const char *from,
		      const char *to)
{
	char name[48];

	d->changes++;
	if (lt_djson(d)) {
		jw_obj_begin(&d->jw);
		jw_kstr(&d->jw, "chain", lt_chain_name(e->chain));
		jw_ku64(&d->jw, "index", e->pos);
		jw_kstr(&d->jw, "change", what);
		if (field) {
			jw_kstr(&d->jw, "field", field);
			jw_kstr(&d->jw, "from", from);
			jw_kstr(&d->jw, "to", to);
		}
		jw_obj_end(&d->jw);
		return;
	}
	lt_entry_name(e, name, sizeof(name));
	if (field)
		fprintf(d->out, "  %s: %s %s -> %s\n", name, field, from, to);
	else
		fprintf(d->out, "  %s: %s\n", name, what);
}

static void lt_compare_chain(struct lt_differ *d, const struct lt_model *a,
			     const struct lt_model *b, __u32 chain)
{
	const struct lt_field *f;
	char x[64], y[64];
	size_t i;

	for (i = 0; i < a->nr_entries[chain]; i++) {
		const struct lt_entry *ea = &a->entries[chain][i], *eb;

		eb = lt_find_entry(b, chain, ea->pos);
		if (!eb) {
			lt_change(d, ea, "removed", NULL, NULL, NULL);
			continue;
		}
		for (f = lt_fields[chain]; f->name; f++) {
			__u64 va = lt_field_get(ea->raw, f);
			__u64 vb = lt_field_get(eb->raw, f);

			if (va != vb)
				lt_change(d, ea, "changed", f->name,
					  lt_field_str(f, va, x, sizeof(x)),
					  lt_field_str(f, vb, y, sizeof(y)));
		}
	}
	for (i = 0; i < b->nr_entries[chain]; i++) {
		const struct lt_entry *eb = &b->entries[chain][i];

		if (!lt_find_entry(a, chain, eb->pos))
			lt_change(d, eb, "added", NULL, NULL, NULL);
	}
}

/* @b incoming: its verdict on each preserved device, and its refusals */
static void lt_compare_verdicts(struct lt_differ *d, const struct lt_model *b)
{
	const struct lt_snapshot *s = b->s;
	char why[64];
	size_t i;

	if (lt_djson(d)) {
		jw_key(&d->jw, "matching");
		jw_arr_begin(&d->jw);
	} else {
		fprintf(d->out, "matching (incoming):\n");
	}
	for (i = 0; i < b->nr_rows; i++) {
		const struct lt_match_row *r = &b->rows[i];

		if (r->entry < 0)
			continue;
		if (r->refusal)
			lt_refusal_str(s, r->refusal, why, sizeof(why));
		if (lt_djson(d)) {
			jw_obj_begin(&d->jw);
			jw_kstr(&d->jw, "chain", lt_chain_name(r->chain));
			jw_ku64(&d->jw, "entry", r->entry);
			if (r->chain == IOMMU_LU_CHAIN_DEVICE)
				jw_kstr(&d->jw, "preserved", r->preserved);
			jw_kstr(&d->jw, "status", lt_match_status_name(r->status));
			jw_kstr_or_null(&d->jw, "kernel_reason",
					r->refusal ? why : NULL);
			jw_obj_end(&d->jw);
		} else {
			fprintf(d->out, "  %s %d%s%s: %s%s%s\n",
				lt_chain_name(r->chain), r->entry,
				r->chain == IOMMU_LU_CHAIN_DEVICE ? " " : "",
				r->chain == IOMMU_LU_CHAIN_DEVICE ?
				r->preserved : "", lt_match_status_name(r->status),
				r->refusal ? ", the kernel's reason: " : "",
				r->refusal ? why : "");
		}
	}
	if (lt_djson(d))
		jw_arr_end(&d->jw);
}

int lt_compare_print(const struct lt_model *a, const char *an,
		     const struct lt_model *b, const char *bn, FILE *out,
		     enum lt_format fmt)
{
	struct lt_differ d = { .out = out, .fmt = fmt };
	const char *ad = a->s->incoming ? "incoming" : "outgoing";
	const char *bd = b->s->incoming ? "incoming" : "outgoing";
	__u64 ra = a->s->state.root_pa, rb = b->s->state.root_pa;
	__u32 chain;

	jw_init(&d.jw, out, fmt == LT_FMT_PRETTY);
	if (lt_djson(&d)) {
		jw_obj_begin(&d.jw);
		jw_key(&d.jw, "from");
		jw_obj_begin(&d.jw);
		jw_kstr(&d.jw, "file", an);
		jw_kstr(&d.jw, "direction", ad);
		jw_kbool(&d.jw, "state", !a->why);
		jw_ku64(&d.jw, "root_pa", ra);
		jw_obj_end(&d.jw);
		jw_key(&d.jw, "to");
		jw_obj_begin(&d.jw);
		jw_kstr(&d.jw, "file", bn);
		jw_kstr(&d.jw, "direction", bd);
		jw_kbool(&d.jw, "state", !b->why);
		jw_ku64(&d.jw, "root_pa", rb);
		jw_obj_end(&d.jw);
		jw_key(&d.jw, "changes");
		jw_arr_begin(&d.jw);
	} else {
		fprintf(out, "lutrace diff: %s (%s) -> %s (%s)\n", an, ad, bn,
			bd);
		if (a->why)
			fprintf(out, "  %s: %s\n", an, a->why);
		if (b->why)
			fprintf(out, "  %s: %s\n", bn, b->why);
		if (ra != rb)
			fprintf(out, "  root: at %#llx -> at %#llx\n",
				(unsigned long long)ra, (unsigned long long)rb);
		else if (!a->why && !b->why)
			fprintf(out, "  root: at %#llx in both\n",
				(unsigned long long)ra);
	}
	for (chain = 0; chain < LT_NR_CHAINS; chain++)
		lt_compare_chain(&d, a, b, chain);
	if (lt_djson(&d))
		jw_arr_end(&d.jw);
	else
		fprintf(out, "  %d change%s in the entries\n", d.changes,
			d.changes == 1 ? "" : "s");
	if (b->s->incoming && !b->why)
		lt_compare_verdicts(&d, b);
	if (lt_djson(&d)) {
		jw_ku64(&d.jw, "nr_changes", d.changes);
		jw_obj_end(&d.jw);
		jw_end(&d.jw);
	}
	return d.changes;
}
