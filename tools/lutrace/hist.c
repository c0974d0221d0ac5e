// SPDX-License-Identifier: GPL-2.0
/* lutrace: latency histograms, see hist.h */
#include <inttypes.h>
#include "hist.h"

static const char *const lt_ops[LT_NR_OPS] = {
	[LT_OP_PRESERVE] = "preserve",
	[LT_OP_UNPRESERVE] = "unpreserve",
	[LT_OP_RESTORE] = "restore",
};

static const char *const lt_objs[LT_NR_OBJS] = {
	[LT_OBJ_FLB] = "flb",
	[LT_OBJ_IOMMUFD] = "iommufd",
	[LT_OBJ_VFIO] = "vfio",
	[LT_OBJ_DOMAIN] = "domain",
	[LT_OBJ_DEVICE] = "device",
	[LT_OBJ_HW_UNIT] = "hw_unit",
};

const char *lt_op_name(unsigned int op)
{
	return op < LT_NR_OPS ? lt_ops[op] : "unknown";
}

const char *lt_obj_name(unsigned int obj)
{
	return obj < LT_NR_OBJS ? lt_objs[obj] : "unknown";
}

/* Highest slot in use, or -1 */
static int lt_hist_top(const struct lt_hist *h)
{
	int i;

	for (i = LT_HIST_SLOTS - 1; i >= 0; i--)
		if (h->slots[i])
			return i;
	return -1;
}

/*
 * Slot i holds [2^i, 2^(i+1)) microseconds; slot 0 also holds 0, the last
 * slot everything from its low bound up.
 */
static uint64_t lt_slot_low(int i)
{
	return i ? 1ULL << i : 0;
}

static uint64_t lt_slot_high(int i)
{
	return (1ULL << (i + 1)) - 1;
}

void lt_hist_print_text(FILE *out, unsigned int op, unsigned int obj,
			const struct lt_hist *h)
{
	int top = lt_hist_top(h), i, j, stars;
	uint64_t max = 0;

	if (!h->count || top < 0)
		return;
	for (i = 0; i <= top; i++)
		if (h->slots[i] > max)
			max = h->slots[i];
	fprintf(out, "\n%s %s: %llu operation%s, average %llu us, max %llu us\n",
		lt_op_name(op), lt_obj_name(obj), h->count,
		h->count == 1 ? "" : "s", h->total_ns / h->count / 1000,
		h->max_ns / 1000);
	fprintf(out, "%24s : %-8s %s\n", "usecs", "count", "distribution");
	for (i = 0; i <= top; i++) {
		stars = max ? (int)(h->slots[i] * 40 / max) : 0;
		if (i == LT_HIST_SLOTS - 1)
			fprintf(out, "%10" PRIu64 " -> %-10s : %-8llu |",
				lt_slot_low(i), "inf", h->slots[i]);
		else
			fprintf(out, "%10" PRIu64 " -> %-10" PRIu64 " : %-8llu |",
				lt_slot_low(i), lt_slot_high(i), h->slots[i]);
		for (j = 0; j < 40; j++)
			fputc(j < stars ? '*' : ' ', out);
		fputs("|\n", out);
	}
}

void lt_hist_print_json(struct jw *w, unsigned int op, unsigned int obj,
			const struct lt_hist *h)
{
	int top = lt_hist_top(h), i;

	jw_obj_begin(w);
	jw_kstr(w, "op", lt_op_name(op));
	jw_kstr(w, "object", lt_obj_name(obj));
	jw_ku64(w, "count", h->count);
	jw_ku64(w, "total_ns", h->total_ns);
	jw_ku64(w, "max_ns", h->max_ns);
	jw_kstr(w, "unit", "usecs");
	jw_key(w, "slots");
	jw_arr_begin(w);
	for (i = 0; i <= top; i++) {
		jw_obj_begin(w);
		jw_ku64(w, "low", lt_slot_low(i));
		/* The last slot holds everything above its low bound */
		jw_key(w, "high");
		if (i == LT_HIST_SLOTS - 1)
			jw_null(w);
		else
			jw_u64(w, lt_slot_high(i));
		jw_ku64(w, "count", h->slots[i]);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}
