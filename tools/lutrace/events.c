// SPDX-License-Identifier: GPL-2.0
/* lutrace: the iommu_lu trace events, see events.h */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "events.h"

static const struct lt_event_desc lt_events[LT_EV_MAX] = {
	[LT_EV_ENTRY_ALLOC] = { "entry_alloc", "entry", "alloc", LT_CL_ENTRY },
	[LT_EV_ENTRY_FREE] = { "entry_free", "entry", "free", LT_CL_ENTRY },
	[LT_EV_BLOCK_ALLOC] = { "block_alloc", "block", "alloc", LT_CL_BLOCK },
	[LT_EV_BLOCK_FREE] = { "block_free", "block", "free", LT_CL_BLOCK },
	[LT_EV_HW_UNIT_PRESERVE] = { "hw_unit_preserve", "hw_unit", "preserve", LT_CL_HW_UNIT },
	[LT_EV_HW_UNIT_UNPRESERVE] = { "hw_unit_unpreserve", "hw_unit", "unpreserve", LT_CL_HW_UNIT },
	[LT_EV_HW_UNIT_RESTORE] = { "hw_unit_restore", "hw_unit", "restore", LT_CL_HW_UNIT },
	[LT_EV_DOMAIN_PRESERVE] = { "domain_preserve", "domain", "preserve", LT_CL_DOMAIN },
	[LT_EV_DOMAIN_UNPRESERVE] = { "domain_unpreserve", "domain", "unpreserve", LT_CL_DOMAIN },
	[LT_EV_DOMAIN_RESTORE] = { "domain_restore", "domain", "restore", LT_CL_DOMAIN },
	[LT_EV_PT_PRESERVE] = { "pt_preserve", "pt", "preserve", LT_CL_PT },
	[LT_EV_PT_UNPRESERVE] = { "pt_unpreserve", "pt", "unpreserve", LT_CL_PT },
	[LT_EV_PT_RESTORE] = { "pt_restore", "pt", "restore", LT_CL_PT },
	[LT_EV_DEVICE_PRESERVE] = { "device_preserve", "device", "preserve", LT_CL_DEVICE },
	[LT_EV_DEVICE_UNPRESERVE] = { "device_unpreserve", "device", "unpreserve", LT_CL_DEVICE },
	[LT_EV_DEVICE_RESTORE] = { "device_restore", "device", "restore", LT_CL_DEVICE },
	[LT_EV_MATCH_HIT] = { "match_hit", "match", "hit", LT_CL_MATCH_HIT },
	[LT_EV_MATCH_MISS] = { "match_miss", "match", "miss", LT_CL_MATCH_MISS },
	[LT_EV_FLB_PRESERVE] = { "flb_preserve", "flb", "preserve", LT_CL_FLB },
	[LT_EV_FLB_UNPRESERVE] = { "flb_unpreserve", "flb", "unpreserve", LT_CL_FLB },
	[LT_EV_FLB_RETRIEVE] = { "flb_retrieve", "flb", "retrieve", LT_CL_FLB },
	[LT_EV_FLB_FINISH] = { "flb_finish", "flb", "finish", LT_CL_FLB },
};

const struct lt_event_desc *lt_event_desc(__u32 type)
{
	if (type == 0 || type >= LT_EV_MAX)
		return NULL;
	return &lt_events[type];
}

__u32 lt_event_type(const char *name)
{
	__u32 t;

	if (!strncmp(name, "iommu_lu_", 9))
		name += 9;
	for (t = 1; t < LT_EV_MAX; t++)
		if (!strcmp(lt_events[t].name, name))
			return t;
	return 0;
}

__u64 lt_event_filter(const char *spec, const char **bad)
{
	static char word[64];
	__u64 mask = 0;
	const char *p = spec;

	while (*p) {
		size_t len = strcspn(p, ",");
		__u64 m = 0;
		__u32 t;

		if (len >= sizeof(word))
			len = sizeof(word) - 1;
		memcpy(word, p, len);
		word[len] = 0;
		for (t = 1; t < LT_EV_MAX; t++)
			if (!strcmp(word, lt_events[t].name) ||
			    !strcmp(word, lt_events[t].object) ||
			    !strcmp(word, lt_events[t].op))
				m |= 1ULL << t;
		t = lt_event_type(word);
		if (t)
			m |= 1ULL << t;
		if (!m) {
			*bad = word;
			return 0;
		}
		mask |= m;
		p += strcspn(p, ",");
		if (*p)
			p++;
	}
	return mask;
}

static void lt_event_text(const struct lt_event *e, FILE *out)
{
	const struct lt_event_desc *d = lt_event_desc(e->type);
	char flags[64], pci[16];

	fprintf(out, "%6llu.%06llu %-16s %-7u %-18s ",
		e->ts_ns / 1000000000, (e->ts_ns % 1000000000) / 1000,
		e->comm, e->pid, d->name);
	switch (d->cls) {
	case LT_CL_ENTRY:
		fprintf(out, "%s index=%u refcount=%u flags=%s", e->name,
			e->index, e->refcount,
			lt_entry_flags_str(e->flags, flags, sizeof(flags)));
		break;
	case LT_CL_BLOCK:
		fprintf(out, "%s blocks=%llu", e->name, (__u64)e->x);
		break;
	case LT_CL_HW_UNIT:
		fprintf(out, "index=%u refcount=%u type=%s token=%#llx ret=%d",
			e->index, e->refcount, lt_hw_type_name(e->a),
			(__u64)e->x, e->ret);
		break;
	case LT_CL_DOMAIN:
		fprintf(out, "index=%u refcount=%u format=%s levels=%u top=%#llx width=%u ret=%d",
			e->index, e->refcount, lt_pt_format_name(e->a), e->b,
			(__u64)e->x, e->c, e->ret);
		break;
	case LT_CL_PT:
		fprintf(out, "index=%u format=%s levels=%u top=%#llx tables=%llu mapped=%llu ret=%d",
			e->index, lt_pt_format_name(e->a), e->b, (__u64)e->x,
			(__u64)e->y, (__u64)e->z, e->ret);
		break;
	case LT_CL_DEVICE:
		fprintf(out, "%s index=%u domain=%u hw_unit=%u token=%#llx ret=%d",
			e->name, e->index, e->a, e->b, (__u64)e->x, e->ret);
		break;
	case LT_CL_MATCH_HIT:
		fprintf(out, "%s index=%u domain=%u token=%#llx", e->name,
			e->index, e->a, (__u64)e->x);
		break;
	case LT_CL_MATCH_MISS:
		fprintf(out, "%s pci=%s (not preserved)", e->name,
			lt_pci_name(e->a, e->b, pci, sizeof(pci)));
		break;
	case LT_CL_FLB:
		fprintf(out, "root=%#llx hw_units=%u domains=%u devices=%u ret=%d",
			(__u64)e->x, e->a, e->b, e->c, e->ret);
		break;
	}
	fputc('\n', out);
}

static void lt_event_json(const struct lt_event *e, FILE *out, bool pretty)
{
	const struct lt_event_desc *d = lt_event_desc(e->type);
	struct jw w;
	char flags[64], pci[16];

	jw_init(&w, out, pretty);
	jw_obj_begin(&w);
	jw_ku64(&w, "ts_ns", e->ts_ns);
	jw_kstr(&w, "event", d->name);
	jw_kstr(&w, "object", d->object);
	jw_kstr(&w, "op", d->op);
	jw_kstr(&w, "comm", e->comm);
	jw_ku64(&w, "pid", e->pid);
	jw_ku64(&w, "cpu", e->cpu);
	switch (d->cls) {
	case LT_CL_ENTRY:
		jw_kstr(&w, "chain", e->name);
		jw_ku64(&w, "index", e->index);
		jw_ku64(&w, "refcount", e->refcount);
		jw_kstr(&w, "flags",
			lt_entry_flags_str(e->flags, flags, sizeof(flags)));
		break;
	case LT_CL_BLOCK:
		jw_kstr(&w, "chain", e->name);
		jw_ku64(&w, "blocks", e->x);
		break;
	case LT_CL_HW_UNIT:
		jw_ku64(&w, "index", e->index);
		jw_ku64(&w, "refcount", e->refcount);
		jw_kstr(&w, "type", lt_hw_type_name(e->a));
		jw_khex(&w, "token", e->x);
		jw_kint(&w, "ret", e->ret);
		break;
	case LT_CL_DOMAIN:
	case LT_CL_PT:
		jw_ku64(&w, "index", e->index);
		if (d->cls == LT_CL_DOMAIN)
			jw_ku64(&w, "refcount", e->refcount);
		jw_kstr(&w, "format", lt_pt_format_name(e->a));
		jw_ku64(&w, "levels", e->b);
		jw_ku64(&w, "top_table", e->x);
		if (d->cls == LT_CL_DOMAIN) {
			jw_ku64(&w, "addr_width", e->c);
		} else {
			jw_ku64(&w, "nr_tables", e->y);
			jw_ku64(&w, "mapped", e->z);
		}
		jw_kint(&w, "ret", e->ret);
		break;
	case LT_CL_DEVICE:
		jw_kstr(&w, "dev", e->name);
		jw_ku64(&w, "index", e->index);
		jw_ku64(&w, "domain", e->a);
		jw_ku64(&w, "hw_unit", e->b);
		jw_khex(&w, "token", e->x);
		jw_kint(&w, "ret", e->ret);
		break;
	case LT_CL_MATCH_HIT:
		jw_kstr(&w, "dev", e->name);
		jw_ku64(&w, "index", e->index);
		jw_ku64(&w, "domain", e->a);
		jw_khex(&w, "token", e->x);
		break;
	case LT_CL_MATCH_MISS:
		jw_kstr(&w, "dev", e->name);
		jw_kstr(&w, "pci", lt_pci_name(e->a, e->b, pci, sizeof(pci)));
		break;
	case LT_CL_FLB:
		jw_ku64(&w, "root_pa", e->x);
		jw_ku64(&w, "hw_units", e->a);
		jw_ku64(&w, "domains", e->b);
		jw_ku64(&w, "devices", e->c);
		jw_kint(&w, "ret", e->ret);
		break;
	}
	jw_obj_end(&w);
	jw_end(&w);
}

void lt_event_print(const struct lt_event *e, FILE *out, enum lt_format fmt)
{
	if (!lt_event_desc(e->type))
		return;
	if (fmt == LT_FMT_TEXT)
		lt_event_text(e, out);
	else
		lt_event_json(e, out, fmt == LT_FMT_PRETTY);
}

/* The payload of an event, as its TP_printk() in the kernel prints it */
static bool lt_parse_payload(const char *p, struct lt_event *e)
{
	const struct lt_event_desc *d = lt_event_desc(e->type);
	unsigned long long x = 0, y = 0, z = 0;
	unsigned int seg, bus, dev, fn;
	long nblocks;
	int n;

	switch (d->cls) {
	case LT_CL_ENTRY:
		n = sscanf(p, "%31s index=%u refcount=%u flags=%x", e->name,
			   &e->index, &e->refcount, &e->flags);
		return n == 4;
	case LT_CL_BLOCK:
		n = sscanf(p, "%31s blocks=%ld", e->name, &nblocks);
		e->x = nblocks;
		return n == 2;
	case LT_CL_HW_UNIT:
		n = sscanf(p, "index=%u refcount=%u type=%u token=%llx ret=%d",
			   &e->index, &e->refcount, &e->a, &x, &e->ret);
		e->x = x;
		return n == 5;
	case LT_CL_DOMAIN:
		n = sscanf(p, "index=%u refcount=%u format=%u levels=%u top=%llx width=%u ret=%d",
			   &e->index, &e->refcount, &e->a, &e->b, &x, &e->c,
			   &e->ret);
		e->x = x;
		return n == 7;
	case LT_CL_PT:
		n = sscanf(p, "index=%u format=%u levels=%u top=%llx tables=%llu mapped=%llu ret=%d",
			   &e->index, &e->a, &e->b, &x, &y, &z, &e->ret);
		e->x = x;
		e->y = y;
		e->z = z;
		return n == 7;
	case LT_CL_DEVICE:
		n = sscanf(p, "%31s index=%u domain=%u hw_unit=%u token=%llx ret=%d",
			   e->name, &e->index, &e->a, &e->b, &x, &e->ret);
		e->x = x;
		return n == 6;
	case LT_CL_MATCH_HIT:
		n = sscanf(p, "%31s matches device entry %u (domain %u, token %llx)",
			   e->name, &e->index, &e->a, &x);
		e->x = x;
		return n == 4;
	case LT_CL_MATCH_MISS:
		n = sscanf(p, "%31s (%x:%x:%x.%u) was not preserved", e->name,
			   &seg, &bus, &dev, &fn);
		e->a = seg;
		e->b = (bus << 8) | (dev << 3) | fn;
		return n == 5;
	case LT_CL_FLB:
		n = sscanf(p, "root=%llx hw_units=%u domains=%u devices=%u ret=%d",
			   &x, &e->a, &e->b, &e->c, &e->ret);
		e->x = x;
		return n == 5;
	}
	return false;
}

/*
 * An iommu_lu event line is
 *   "  <comm>-<pid>  [<cpu>] <flags> <secs>.<usecs>: iommu_lu_<event>: <payload>"
 * Returns where ": iommu_lu_" follows the timestamp, which it reads into
 * @ts_ns, or NULL: a header, another event, or a marker or another event
 * whose text only names an iommu_lu event.
 */
static const char *lt_ftrace_event_at(const char *line, __u64 *ts_ns)
{
	const char *ev, *ts;
	unsigned long secs, usecs;
	char *end;

	if (line[0] == '#')
		return NULL;
	ev = strstr(line, ": iommu_lu_");
	if (!ev)
		return NULL;
	ts = ev;
	while (ts > line && !isspace((unsigned char)ts[-1]))
		ts--;
	if (!isdigit((unsigned char)*ts))
		return NULL;
	secs = strtoul(ts, &end, 10);
	if (*end != '.' || !isdigit((unsigned char)end[1]))
		return NULL;
	usecs = strtoul(end + 1, &end, 10);
	if (end != ev)
		return NULL;
	*ts_ns = secs * 1000000000ULL + usecs * 1000ULL;
	return ev;
}

bool lt_event_parse_ftrace(const char *line, struct lt_event *e)
{
	const char *ev, *colon, *ts, *p, *dash;
	char name[64];
	size_t len;

	memset(e, 0, sizeof(*e));
	ev = lt_ftrace_event_at(line, &e->ts_ns);
	if (!ev)
		return false;
	colon = strchr(ev + 2, ':');
	if (!colon)
		return false;
	len = colon - (ev + 2);
	if (len >= sizeof(name))
		return false;
	memcpy(name, ev + 2, len);
	name[len] = 0;
	e->type = lt_event_type(name);
	if (!e->type)
		return false;
	/* comm-pid, then [cpu] */
	p = line;
	while (isspace((unsigned char)*p))
		p++;
	ts = strstr(p, " [");
	if (!ts)
		return false;
	for (dash = ts; dash > p && *dash != '-'; dash--)
		;
	if (dash > p) {
		len = dash - p;
		if (len >= sizeof(e->comm))
			len = sizeof(e->comm) - 1;
		memcpy(e->comm, p, len);
		e->pid = strtoul(dash + 1, NULL, 10);
	}
	e->cpu = strtoul(ts + 2, NULL, 10);
	p = colon + 1;
	while (*p == ' ')
		p++;
	return lt_parse_payload(p, e);
}

bool lt_ftrace_line(const char *line, struct lt_event *e,
		    struct lt_ftrace_stats *st)
{
	unsigned long in, written, n;
	__u64 ts_ns;
	size_t len;
	char end;
	int cpu;

	if (lt_event_parse_ftrace(line, e)) {
		st->events++;
		return true;
	}
	if (sscanf(line, "# entries-in-buffer/entries-written: %lu/%lu",
		   &in, &written) == 2) {
		if (written > in)
			st->lost += written - in;
	} else if (sscanf(line, "CPU:%d [LOST %lu EVENTS%c", &cpu, &n,
			  &end) == 3 && end == ']') {
		st->lost += n;
	} else if (sscanf(line, "CPU:%d [LOST EVENTS%c", &cpu, &end) == 2 &&
		   end == ']') {
		st->lost++;
	} else if (lt_ftrace_event_at(line, &ts_ns)) {
		if (!st->unparsed) {
			len = strcspn(line, "\n");
			if (len >= sizeof(st->first_unparsed))
				len = sizeof(st->first_unparsed) - 1;
			memcpy(st->first_unparsed, line, len);
			st->first_unparsed[len] = 0;
		}
		st->unparsed++;
	}
	return false;
}
