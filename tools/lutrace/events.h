/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lutrace: the iommu_lu trace events, their names and fields, how to print
 * them, and how to read them back from the kernel's own trace buffer.
 * Shared by the trace command and the host unit tests.
 */
#ifndef LUTRACE_EVENTS_H
#define LUTRACE_EVENTS_H

#include <stdbool.h>
#include <stdio.h>
#include "abi.h"
#include "decode.h"

/* Event classes: which fields of struct lt_event an event fills */
enum lt_event_class {
	LT_CL_ENTRY,
	LT_CL_BLOCK,
	LT_CL_HW_UNIT,
	LT_CL_DOMAIN,
	LT_CL_PT,
	LT_CL_DEVICE,
	LT_CL_MATCH_HIT,
	LT_CL_MATCH_MISS,
	LT_CL_FLB,
};

struct lt_event_desc {
	const char *name;	/* short name: "domain_preserve" */
	const char *object;	/* "domain" */
	const char *op;		/* "preserve" */
	enum lt_event_class cls;
};

/* The event of @type, or NULL */
const struct lt_event_desc *lt_event_desc(__u32 type);
/* The LT_EV_* of an event name, short or "iommu_lu_" prefixed; 0 if none */
__u32 lt_event_type(const char *name);

/*
 * A filter: a comma-separated list of event names, object types ("domain",
 * "pt", "device", "hw_unit", "match", "flb", "entry", "block") or
 * operations ("preserve", "unpreserve", "restore", ...). Returns a bitmask
 * of LT_EV_* bits, or 0 for a word that names nothing (*bad points at it).
 */
__u64 lt_event_filter(const char *spec, const char **bad);

/* Prints one event: a text line, or a JSON object on one line */
void lt_event_print(const struct lt_event *e, FILE *out, enum lt_format fmt);

/*
 * Parses one line of the kernel's trace buffer (/sys/kernel/tracing/trace)
 * that holds an iommu_lu event into @e. Returns false for any other line.
 */
bool lt_event_parse_ftrace(const char *line, struct lt_event *e);

/* What reading the kernel's trace buffer found, besides the events */
struct lt_ftrace_stats {
	unsigned long events;		/* iommu_lu events parsed */
	unsigned long unparsed;		/* iommu_lu event lines not parsed */
	/*
	 * Events the kernel dropped, of any kind: overwritten before the
	 * read (the header's entries-written minus entries-in-buffer), and
	 * its "[LOST N EVENTS]" marks; a mark without a count counts 1, so
	 * this is a lower bound.
	 */
	unsigned long lost;
	char first_unparsed[160];	/* the first line not parsed */
};

/*
 * One line of the kernel's trace buffer: true with @e filled for an
 * iommu_lu event; otherwise counts in @st what the line says (a lost
 * count, an iommu_lu event that cannot be parsed) and returns false.
 */
bool lt_ftrace_line(const char *line, struct lt_event *e,
		    struct lt_ftrace_stats *st);

#endif /* LUTRACE_EVENTS_H */
