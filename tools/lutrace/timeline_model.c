// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace timeline: decoding the two rings, merging them on the TSC,
 * cutting the update into phases, printing; see timeline_model.h.
 *
 * Every time is a TSC value until the very end, where it becomes ns from
 * the handover at the new kernel's rate: a phase's duration is the
 * difference of its two boundaries' ns, so the phases add up to the total
 * exactly, whatever the rounding.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "timeline_model.h"

static const char *const lt_tl_step_names[IOMMU_LU_STEP_NR] = {
	[IOMMU_LU_STEP_FLB_PRESERVE] = "flb_preserve",
	[IOMMU_LU_STEP_FLB_UNPRESERVE] = "flb_unpreserve",
	[IOMMU_LU_STEP_DOMAIN_PRESERVE] = "domain_preserve",
	[IOMMU_LU_STEP_DOMAIN_UNPRESERVE] = "domain_unpreserve",
	[IOMMU_LU_STEP_DEVICE_PRESERVE] = "device_preserve",
	[IOMMU_LU_STEP_DEVICE_UNPRESERVE] = "device_unpreserve",
	[IOMMU_LU_STEP_IOMMUFD_PRESERVE] = "iommufd_preserve",
	[IOMMU_LU_STEP_VFIO_PRESERVE] = "vfio_preserve",
	[IOMMU_LU_STEP_DEVICE_FREEZE] = "device_freeze",
	[IOMMU_LU_STEP_DEVICE_UNFREEZE] = "device_unfreeze",
	[IOMMU_LU_STEP_NO_RETURN] = "no_return",
	[IOMMU_LU_STEP_UNIT_SHUTDOWN] = "unit_shutdown",
	[IOMMU_LU_STEP_HANDOVER] = "handover",
	[IOMMU_LU_STEP_VALIDATE] = "validate",
	[IOMMU_LU_STEP_UNIT_ADOPT] = "unit_adopt",
	[IOMMU_LU_STEP_DEVICE_RESTORE] = "device_restore",
	[IOMMU_LU_STEP_IOMMUFD_RETRIEVE] = "iommufd_retrieve",
	[IOMMU_LU_STEP_VFIO_RETRIEVE] = "vfio_retrieve",
	[IOMMU_LU_STEP_DEVICE_ATTACH] = "device_attach",
	[IOMMU_LU_STEP_FLB_FINISH] = "flb_finish",
};

/*
 * The phases, each from the end of the one before to the boundary @until
 * names (for messages); lt_tl_bounds() finds the boundaries.
 */
static const struct {
	const char *name;
	const char *label;
	const char *until;
} lt_tl_phase_desc[LT_TL_NR_PHASES] = {
	{ "preserve", "preserve", "preserve step" },
	{ "wait", "wait for the kexec", "device_freeze or no_return" },
	{ "freeze", "freeze", "no_return" },
	{ "shutdown", "shutdown", "handover" },
	{ "kexec", "kexec and boot", "validate or unit_adopt" },
	{ "adopt", "validate and adopt", "validate or unit_adopt" },
	{ "restore", "restore at probe", "successful device_restore" },
	{ "userspace", "user space", "iommufd_retrieve or vfio_retrieve" },
	{ "retrieve", "retrieve and attach", "device_attach or retrieve" },
	{ "finish", "finish", "flb_finish" },
};

const char *lt_tl_step_name(unsigned int step)
{
	return step < IOMMU_LU_STEP_NR ? lt_tl_step_names[step] : NULL;
}

const char *lt_tl_object(unsigned int step, __u32 key, char *buf,
			 size_t len)
{
	switch (step) {
	case IOMMU_LU_STEP_DEVICE_PRESERVE:
	case IOMMU_LU_STEP_DEVICE_UNPRESERVE:
	case IOMMU_LU_STEP_DEVICE_FREEZE:
	case IOMMU_LU_STEP_DEVICE_UNFREEZE:
	case IOMMU_LU_STEP_DEVICE_RESTORE:
	case IOMMU_LU_STEP_DEVICE_ATTACH:
	case IOMMU_LU_STEP_VFIO_PRESERVE:
	case IOMMU_LU_STEP_VFIO_RETRIEVE:
		/* segment << 16 | bus << 8 | devfn */
		snprintf(buf, len, "%04x:%02x:%02x.%x", key >> 16,
			 key >> 8 & 0xff, key >> 3 & 0x1f, key & 7);
		return buf;
	case IOMMU_LU_STEP_DOMAIN_PRESERVE:
	case IOMMU_LU_STEP_DOMAIN_UNPRESERVE:
		snprintf(buf, len, "domain %u", key);
		return buf;
	case IOMMU_LU_STEP_UNIT_SHUTDOWN:
	case IOMMU_LU_STEP_UNIT_ADOPT:
		snprintf(buf, len, "unit %u", key);
		return buf;
	default:
		return NULL;
	}
}

int lt_tl_ring_decode(struct lt_tl_ring *r, const void *blob, size_t len,
		      char *err, size_t errlen)
{
	const struct iommu_lu_tl_hdr *h = &r->hdr;
	size_t fit;

	memset(r, 0, sizeof(*r));
	if (len < sizeof(r->hdr)) {
		snprintf(err, errlen, "%zu bytes, too short for its header",
			 len);
		return -EINVAL;
	}
	/* Copied: the blob need not be aligned for the header */
	memcpy(&r->hdr, blob, sizeof(r->hdr));
	if (h->magic != IOMMU_LU_TL_MAGIC) {
		snprintf(err, errlen, "bad magic 0x%llx",
			 (unsigned long long)h->magic);
		return -EINVAL;
	}
	/* Any other version may mean anything: the ABI says exact match */
	if (h->version != IOMMU_LU_TL_VERSION) {
		snprintf(err, errlen, "version %u, lutrace reads %u",
			 h->version, IOMMU_LU_TL_VERSION);
		return -EINVAL;
	}
	if (h->rec_size != sizeof(struct iommu_lu_tl_rec)) {
		snprintf(err, errlen, "record size %u, lutrace reads %zu",
			 h->rec_size, sizeof(struct iommu_lu_tl_rec));
		return -EINVAL;
	}
	/* Whatever the header says, no record is read past the blob */
	fit = (len - sizeof(*h)) / sizeof(struct iommu_lu_tl_rec);
	if (!h->capacity || h->capacity > fit) {
		snprintf(err, errlen, "capacity %u, but %zu records fit in its %zu bytes",
			 h->capacity, fit, len);
		return -EINVAL;
	}
	r->slots = (const unsigned char *)blob + sizeof(*h);
	r->nr = h->nr_written < h->capacity ? h->nr_written : h->capacity;
	/* A kernel's own ring keeps its first records, a handed-over one its
	 * newest */
	if (h->flags & IOMMU_LU_TL_KEEP_FIRST)
		r->dropped = h->nr_written - r->nr;
	else
		r->first = h->nr_written - r->nr;
	return 0;
}

void lt_tl_ring_rec(const struct lt_tl_ring *r, __u64 i,
		    struct iommu_lu_tl_rec *rec)
{
	__u64 slot = (r->first + i) % r->hdr.capacity;

	memcpy(rec, r->slots + slot * sizeof(*rec), sizeof(*rec));
}

static void lt_tl_warn(struct lt_timeline *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void lt_tl_warn(struct lt_timeline *t, const char *fmt, ...)
{
	va_list ap;

	/* The model never has more warnings than it has kinds of them */
	if (t->nr_warnings >= LT_TL_MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(t->warnings[t->nr_warnings++], LT_TL_MSG_LEN, fmt, ap);
	va_end(ap);
}

static int lt_tl_fail(struct lt_timeline *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int lt_tl_fail(struct lt_timeline *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->error, sizeof(t->error), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * @tsc as ns from the handover, at this kernel's rate. Truncated toward
 * zero, which keeps the order of the TSC values: the phases never come
 * out overlapping when their TSC boundaries do not.
 */
static __s64 lt_tl_ns(const struct lt_timeline *t, __u64 tsc)
{
	bool before = tsc < t->handover;
	unsigned __int128 ns;

	ns = (unsigned __int128)(before ? t->handover - tsc :
				 tsc - t->handover) * 1000000 / t->khz;
	if (ns > INT64_MAX)
		ns = INT64_MAX;
	return before ? -(__s64)ns : (__s64)ns;
}

static int lt_tl_step_cmp(const void *a, const void *b)
{
	const struct lt_tl_step *x = a, *y = b;

	if (x->rec.begin != y->rec.begin)
		return x->rec.begin < y->rec.begin ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Appends record @i of @r to @t's steps */
static void lt_tl_add(struct lt_timeline *t, const struct lt_tl_ring *r,
		      __u64 i, bool old)
{
	struct lt_tl_step *s = &t->steps[t->nr_steps];

	lt_tl_ring_rec(r, i, &s->rec);
	s->old = old;
	s->seq = t->nr_steps++;
	s->end = s->rec.end < s->rec.begin ? s->rec.begin : s->rec.end;
}

/*
 * The steps of this update: the old kernel's from its last flb_preserve
 * (what it recorded before belongs to an earlier update, if its ring holds
 * any), the new kernel's up to its first flb_preserve (from there on, the
 * next update's). Sorted by begin; steps are spans and may nest.
 */
static int lt_tl_merge(struct lt_timeline *t, const struct lt_tl_ring *old,
		       const struct lt_tl_ring *new)
{
	struct iommu_lu_tl_rec rec;
	__u64 i, from = 0, until;
	size_t unknown = 0, reversed = 0;

	for (i = 0; i < old->nr; i++) {
		lt_tl_ring_rec(old, i, &rec);
		if (rec.step == IOMMU_LU_STEP_FLB_PRESERVE)
			from = i;
	}
	for (until = 0; until < new->nr; until++) {
		lt_tl_ring_rec(new, until, &rec);
		if (rec.step == IOMMU_LU_STEP_FLB_PRESERVE)
			break;
	}
	t->steps = calloc(old->nr - from + until, sizeof(*t->steps));
	if (!t->steps)
		return -ENOMEM;
	for (i = from; i < old->nr; i++)
		lt_tl_add(t, old, i, true);
	for (i = 0; i < until; i++)
		lt_tl_add(t, new, i, false);
	qsort(t->steps, t->nr_steps, sizeof(*t->steps), lt_tl_step_cmp);

	if (old->first)
		lt_tl_warn(t, "the oldest %llu of the %llu steps the previous kernel recorded were overwritten (its ring holds %u): the preserve phase starts at the oldest step kept",
			   (unsigned long long)old->first,
			   (unsigned long long)old->hdr.nr_written,
			   old->hdr.capacity);
	if (from)
		lt_tl_warn(t, "%llu steps of the previous kernel come before its last flb_preserve: an earlier update's, left out",
			   (unsigned long long)from);
	if (new->first)
		lt_tl_warn(t, "the oldest %llu of the %llu steps this kernel recorded were overwritten (its ring holds %u): steps of the restore may be missing",
			   (unsigned long long)new->first,
			   (unsigned long long)new->hdr.nr_written,
			   new->hdr.capacity);
	if (new->dropped)
		lt_tl_warn(t, "the newest %llu of the %llu steps this kernel recorded were not kept (its ring holds its first %u): later phases may show as pending",
			   (unsigned long long)new->dropped,
			   (unsigned long long)new->hdr.nr_written,
			   new->hdr.capacity);
	for (i = 0; i < t->nr_steps; i++) {
		unknown += !lt_tl_step_name(t->steps[i].rec.step);
		reversed += t->steps[i].rec.end < t->steps[i].rec.begin;
	}
	if (unknown)
		lt_tl_warn(t, "%zu steps are of no kind lutrace knows: shown, not placed in a phase",
			   unknown);
	if (reversed)
		lt_tl_warn(t, "%zu steps end before they begin: taken as points at their begin",
			   reversed);
	return 0;
}

/* One clock check failed: an error, or with --trust-tsc a warning */
static int lt_tl_clock_bad(struct lt_timeline *t, const struct lt_tl_clock *c,
			   const char *why)
{
	if (!c->trust)
		return lt_tl_fail(t, "the TSC cannot be compared across the kexec: %s; --trust-tsc compares it anyway",
				  why);
	lt_tl_warn(t, "the TSC cannot be compared across the kexec: %s; compared anyway (--trust-tsc)",
		   why);
	return 0;
}

/*
 * Whether one TSC runs through both kernels at one rate: the old kernel
 * said so in its ring's flags, this kernel's CPU flags and clocksource say
 * so, and no step of this kernel begins before the handover.
 */
static int lt_tl_check_clock(struct lt_timeline *t, const struct lt_tl_clock *c,
			     __u32 old_flags)
{
	char why[LT_TL_MSG_LEN];
	__u64 first_new = 0;
	bool have_new = false;
	size_t i;
	int err = 0;

	t->old_invariant = (old_flags & IOMMU_LU_TL_CLOCK_INVARIANT) &&
			   !(old_flags & IOMMU_LU_TL_CLOCK_UNSTABLE);
	t->new_invariant = c->constant_tsc && c->nonstop_tsc &&
			   c->clocksource && !strcmp(c->clocksource, "tsc");
	if (!(old_flags & IOMMU_LU_TL_CLOCK_INVARIANT))
		err = lt_tl_clock_bad(t, c, "the previous kernel's TSC was not invariant");
	if (!err && (old_flags & IOMMU_LU_TL_CLOCK_UNSTABLE))
		err = lt_tl_clock_bad(t, c, "the previous kernel marked its TSC unstable");
	if (!err && (!c->constant_tsc || !c->nonstop_tsc)) {
		snprintf(why, sizeof(why), "this kernel's CPU does not advertise %s in /proc/cpuinfo",
			 !c->constant_tsc && !c->nonstop_tsc ?
			 "constant_tsc and nonstop_tsc" :
			 !c->constant_tsc ? "constant_tsc" : "nonstop_tsc");
		err = lt_tl_clock_bad(t, c, why);
	}
	if (!err && !c->clocksource)
		err = lt_tl_clock_bad(t, c, "this kernel's clocksource is not known");
	else if (!err && strcmp(c->clocksource, "tsc")) {
		snprintf(why, sizeof(why), "this kernel's clocksource is %s, not tsc",
			 c->clocksource);
		err = lt_tl_clock_bad(t, c, why);
	}
	for (i = 0; i < t->nr_steps; i++) {
		if (t->steps[i].old)
			continue;
		if (!have_new || t->steps[i].rec.begin < first_new)
			first_new = t->steps[i].rec.begin;
		have_new = true;
	}
	if (!err && have_new && first_new < t->handover) {
		snprintf(why, sizeof(why), "the TSC went backwards by %llu cycles (a step of this kernel begins before the handover)",
			 (unsigned long long)(t->handover - first_new));
		err = lt_tl_clock_bad(t, c, why);
	}
	if (err)
		return err;

	/* Both kernels calibrate; a real difference means another clock */
	if (t->old_khz && (t->old_khz > t->khz ? t->old_khz - t->khz :
			   t->khz - t->old_khz) * 1000ULL > t->khz)
		lt_tl_warn(t, "the kernels' TSC rates differ by more than 0.1%%: %u kHz before the kexec, %u kHz after; every time uses this kernel's",
			   t->old_khz, t->khz);
	return 0;
}

/* The boundaries: bound[k] ends phase k (1-based), bound[0] starts phase 1 */
struct lt_tl_bounds {
	bool have[LT_TL_NR_PHASES + 1];
	__u64 tsc[LT_TL_NR_PHASES + 1];
	__u32 restore_key;	/* the device restored last */
};

static void lt_tl_min(struct lt_tl_bounds *b, int k, __u64 tsc)
{
	if (!b->have[k] || tsc < b->tsc[k])
		b->tsc[k] = tsc;
	b->have[k] = true;
}

static void lt_tl_max(struct lt_tl_bounds *b, int k, __u64 tsc)
{
	if (!b->have[k] || tsc > b->tsc[k])
		b->tsc[k] = tsc;
	b->have[k] = true;
}

static void lt_tl_bounds(const struct lt_timeline *t, struct lt_tl_bounds *b)
{
	bool freeze = false, no_return = false, retrieved = false;
	__u64 freeze_at = 0, no_return_at = 0, retrieved_at = 0;
	size_t i;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < t->nr_steps; i++) {
		const struct lt_tl_step *s = &t->steps[i];

		if (s->old) {
			lt_tl_min(b, 0, s->rec.begin);
			switch (s->rec.step) {
			case IOMMU_LU_STEP_FLB_PRESERVE:
			case IOMMU_LU_STEP_DOMAIN_PRESERVE:
			case IOMMU_LU_STEP_DEVICE_PRESERVE:
			case IOMMU_LU_STEP_IOMMUFD_PRESERVE:
			case IOMMU_LU_STEP_VFIO_PRESERVE:
				lt_tl_max(b, 1, s->end);
				break;
			/*
			 * A failed kexec unfreezes what it froze, and the
			 * freeze that failed is not unfrozen: the freeze that
			 * counts is the first of the last run of successful
			 * ones
			 */
			case IOMMU_LU_STEP_DEVICE_UNFREEZE:
				freeze = false;
				break;
			case IOMMU_LU_STEP_DEVICE_FREEZE:
				if (s->rec.ret) {
					freeze = false;
					break;
				}
				if (!freeze)
					freeze_at = s->rec.begin;
				freeze = true;
				break;
			case IOMMU_LU_STEP_NO_RETURN:
				no_return = true;
				no_return_at = s->rec.begin;
				break;
			case IOMMU_LU_STEP_HANDOVER:
				b->have[4] = true;
				b->tsc[4] = s->rec.begin;
				break;
			}
			continue;
		}
		switch (s->rec.step) {
		/* The validation may nest in the first unit's adoption */
		case IOMMU_LU_STEP_VALIDATE:
		case IOMMU_LU_STEP_UNIT_ADOPT:
			lt_tl_min(b, 5, s->rec.begin);
			lt_tl_max(b, 6, s->end);
			break;
		case IOMMU_LU_STEP_DEVICE_RESTORE:
			if (s->rec.ret)
				break;
			if (!b->have[7] || s->end >= b->tsc[7])
				b->restore_key = s->rec.key;
			lt_tl_max(b, 7, s->end);
			break;
		case IOMMU_LU_STEP_IOMMUFD_RETRIEVE:
		case IOMMU_LU_STEP_VFIO_RETRIEVE:
			lt_tl_min(b, 8, s->rec.begin);
			if (!retrieved || s->end > retrieved_at)
				retrieved_at = s->end;
			retrieved = true;
			break;
		case IOMMU_LU_STEP_DEVICE_ATTACH:
			lt_tl_max(b, 9, s->end);
			break;
		case IOMMU_LU_STEP_FLB_FINISH:
			if (!b->have[10])
				b->tsc[10] = s->end;
			b->have[10] = true;
			break;
		}
	}
	if (freeze || no_return) {
		b->have[2] = true;
		b->tsc[2] = freeze ? freeze_at : no_return_at;
	}
	b->have[3] = no_return;
	b->tsc[3] = no_return_at;
	/* Nothing attached again (no device kept): the retrieves end it */
	if (!b->have[9] && retrieved) {
		b->have[9] = true;
		b->tsc[9] = retrieved_at;
	}
}

/*
 * The union of the steps' spans (both kernels) inside [@from, @to]: the
 * time some IOMMU step was running. The steps are sorted by begin.
 */
static __s64 lt_tl_union(const struct lt_timeline *t, __s64 from, __s64 to)
{
	__s64 sum = 0, s, e, cur_s = 0, cur_e = 0;
	bool open = false;
	size_t i;

	for (i = 0; i < t->nr_steps; i++) {
		s = t->steps[i].start_ns > from ? t->steps[i].start_ns : from;
		e = t->steps[i].end_ns < to ? t->steps[i].end_ns : to;
		if (e <= s)
			continue;
		if (open && s <= cur_e) {
			if (e > cur_e)
				cur_e = e;
			continue;
		}
		if (open)
			sum += cur_e - cur_s;
		cur_s = s;
		cur_e = e;
		open = true;
	}
	if (open)
		sum += cur_e - cur_s;
	return sum;
}

/*
 * The phases make no sense as an update: each is shown as unknown, the
 * steps as they are, so that what happened can still be read
 */
static int lt_tl_partial(struct lt_timeline *t)
{
	int k;

	t->partial = true;
	for (k = 0; k < LT_TL_NR_PHASES; k++) {
		t->phases[k].name = lt_tl_phase_desc[k].name;
		t->phases[k].label = lt_tl_phase_desc[k].label;
		t->phases[k].pending = true;
	}
	return -EINVAL;
}

/* The phases from the boundaries: in order, none missing in between */
static int lt_tl_phases(struct lt_timeline *t, const struct lt_tl_bounds *b)
{
	__s64 duration;
	int k, j, last = 0;

	for (k = 1; k <= LT_TL_NR_PHASES; k++)
		if (b->have[k])
			last = k;
	for (k = 1; k <= last; k++) {
		if (!b->have[k]) {
			for (j = k + 1; !b->have[j]; j++)
				;
			lt_tl_fail(t, "phase '%s' never ended (no %s), yet '%s' did: the timeline is incomplete",
				   lt_tl_phase_desc[k - 1].label,
				   lt_tl_phase_desc[k - 1].until,
				   lt_tl_phase_desc[j - 1].label);
			return lt_tl_partial(t);
		}
		/* Not for k = 1: a preserve ends after the first step begins */
		if (k > 1 && b->tsc[k] < b->tsc[k - 1]) {
			lt_tl_fail(t, "phase '%s' ends before '%s': the phases overlap",
				   lt_tl_phase_desc[k - 1].label,
				   lt_tl_phase_desc[k - 2].label);
			return lt_tl_partial(t);
		}
	}
	for (k = 1; k <= LT_TL_NR_PHASES; k++) {
		struct lt_tl_phase *p = &t->phases[k - 1];

		p->name = lt_tl_phase_desc[k - 1].name;
		p->label = lt_tl_phase_desc[k - 1].label;
		p->pending = k > last;
		if (p->pending)
			continue;
		p->start_ns = lt_tl_ns(t, b->tsc[k - 1]);
		p->end_ns = lt_tl_ns(t, b->tsc[k]);
		p->iommu_ns = lt_tl_union(t, p->start_ns, p->end_ns);
	}
	t->start_ns = lt_tl_ns(t, b->tsc[0]);
	t->total_ns = lt_tl_ns(t, b->tsc[last]) - t->start_ns;
	if (last < LT_TL_NR_PHASES)
		lt_tl_warn(t, "the update is not finished: no %s yet",
			   lt_tl_phase_desc[last].until);

	/* The handover to the last device's restore: phases 5 to 7 */
	if (!b->have[7])
		return 0;
	t->have_blackout = true;
	t->blackout.start_ns = 0;
	t->blackout.end_ns = lt_tl_ns(t, b->tsc[7]);
	t->blackout.iommu_ns = lt_tl_union(t, 0, t->blackout.end_ns);
	t->blackout.end_key = b->restore_key;
	duration = t->blackout.end_ns;
	if (duration > 0)
		t->blackout.permille = (t->blackout.iommu_ns * 1000 +
					duration / 2) / duration;
	return 0;
}

int lt_tl_build(struct lt_timeline *t, const void *in, size_t in_len,
		const void *self, size_t self_len, const struct lt_tl_clock *c)
{
	struct lt_tl_ring old, new;
	struct lt_tl_bounds b;
	char why[LT_TL_MSG_LEN];
	size_t i;
	int err;

	memset(t, 0, sizeof(*t));
	if (lt_tl_ring_decode(&old, in, in_len, why, sizeof(why)))
		return lt_tl_fail(t, "the previous kernel's timeline: %s", why);
	if (lt_tl_ring_decode(&new, self, self_len, why, sizeof(why)))
		return lt_tl_fail(t, "this kernel's timeline: %s", why);
	if (!c->khz)
		return lt_tl_fail(t, "this kernel's TSC rate is not known (tsc_khz is 0): lutrace cannot tell time from its cycle counts");
	if (!old.nr)
		return lt_tl_fail(t, "the previous kernel's timeline holds no step");
	t->khz = c->khz;
	t->old_khz = old.hdr.clock_khz;
	t->trusted = c->trust;
	t->version = old.hdr.version;
	t->capacity = old.hdr.capacity;
	t->written = old.hdr.nr_written;
	t->overwritten = old.first;

	err = lt_tl_merge(t, &old, &new);
	if (err)
		return err;
	lt_tl_bounds(t, &b);
	/* t = 0; the last old step, never overwritten */
	if (!b.have[4])
		return lt_tl_fail(t, "the previous kernel's timeline has no handover step: it did not record the kexec");
	t->handover = b.tsc[4];
	err = lt_tl_check_clock(t, c, old.hdr.flags);
	if (err)
		return err;
	for (i = 0; i < t->nr_steps; i++) {
		t->steps[i].start_ns = lt_tl_ns(t, t->steps[i].rec.begin);
		t->steps[i].end_ns = lt_tl_ns(t, t->steps[i].end);
	}
	return lt_tl_phases(t, &b);
}

void lt_tl_free(struct lt_timeline *t)
{
	free(t->steps);
	t->steps = NULL;
	t->nr_steps = 0;
}

/* ---- printing ------------------------------------------------------------ */

/* @ns rounded to the nearest microsecond, halves away from zero */
static __s64 lt_tl_us(__s64 ns)
{
	return ns < 0 ? -((-ns + 500) / 1000) : (ns + 500) / 1000;
}

/* @us as milliseconds with three decimals */
static const char *lt_tl_ms(__s64 us, char *buf, size_t len)
{
	unsigned long long a = us < 0 ? -(unsigned long long)us :
					 (unsigned long long)us;

	snprintf(buf, len, "%s%llu.%03llu", us < 0 ? "-" : "", a / 1000,
		 a % 1000);
	return buf;
}

/* A rate in kHz as MHz with three decimals */
static const char *lt_tl_mhz(__u32 khz, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%03u", khz / 1000, khz % 1000);
	return buf;
}

/* The step's name, or "step_N" for one lutrace does not know */
static const char *lt_tl_step_str(const struct lt_tl_step *s, char *buf,
				  size_t len)
{
	const char *name = lt_tl_step_name(s->rec.step);

	if (name)
		return name;
	snprintf(buf, len, "step_%u", s->rec.step);
	return buf;
}

static const char *lt_tl_invariance(const struct lt_timeline *t)
{
	if (t->old_invariant && t->new_invariant)
		return "invariant in both kernels";
	if (t->new_invariant)
		return "not invariant in the old kernel";
	if (t->old_invariant)
		return "not invariant in this kernel";
	return "invariant in neither kernel";
}

static void lt_tl_print_text(const struct lt_timeline *t, FILE *out)
{
	char a[32], b[32], c[32], name[32], obj[32];
	const struct lt_tl_phase *p;
	__s64 start, end;
	size_t i;

	fprintf(out, "IOMMU live update timeline: TSC at %s MHz (old kernel %s), %s%s; t=0 at the handover\n",
		lt_tl_mhz(t->khz, a, sizeof(a)),
		lt_tl_mhz(t->old_khz, b, sizeof(b)), lt_tl_invariance(t),
		t->old_invariant && t->new_invariant ? "" :
		", compared anyway (--trust-tsc)");
	fprintf(out, "  %-20s%11s%14s%11s\n", "PHASE", "START(ms)",
		"DURATION(ms)", "IOMMU(ms)");
	/*
	 * A phase's duration is the difference of its rounded boundaries,
	 * so that the column adds up to the total as printed.
	 */
	for (i = 0; i < LT_TL_NR_PHASES; i++) {
		p = &t->phases[i];
		if (p->pending) {
			fprintf(out, "  %-20s%11s%14s%11s\n", p->label, "-",
				"-", "-");
			continue;
		}
		start = lt_tl_us(p->start_ns);
		end = lt_tl_us(p->end_ns);
		fprintf(out, "  %-20s%11s%14s%11s\n", p->label,
			lt_tl_ms(start, a, sizeof(a)),
			lt_tl_ms(end - start, b, sizeof(b)),
			lt_tl_ms(lt_tl_us(p->iommu_ns), c, sizeof(c)));
	}
	start = lt_tl_us(t->start_ns);
	end = lt_tl_us(t->start_ns + t->total_ns);
	if (t->partial)
		fprintf(out, "  %-20s%11s%14s\n", "total", "-", "-");
	else
		fprintf(out, "  %-20s%11s%14s\n", "total",
			lt_tl_ms(start, a, sizeof(a)),
			lt_tl_ms(end - start, b, sizeof(b)));
	if (t->partial)
		fprintf(out, "  blackout: - (%s)\n", t->error);
	else if (t->have_blackout)
		fprintf(out, "  blackout: %s ms from the handover to %s's restore; IOMMU %s ms (%u.%u%%)\n",
			lt_tl_ms(lt_tl_us(t->blackout.end_ns), a, sizeof(a)),
			lt_tl_object(IOMMU_LU_STEP_DEVICE_RESTORE,
				     t->blackout.end_key, obj, sizeof(obj)),
			lt_tl_ms(lt_tl_us(t->blackout.iommu_ns), b, sizeof(b)),
			t->blackout.permille / 10, t->blackout.permille % 10);
	else
		fprintf(out, "  blackout: - (no device restored yet)\n");

	fprintf(out, "STEPS\n");
	fprintf(out, "  %11s%14s  %-6s  %-17s  %-17s  %s\n", "START(ms)",
		"DURATION(ms)", "KERNEL", "STEP", "OBJECT", "RESULT");
	for (i = 0; i < t->nr_steps; i++) {
		const struct lt_tl_step *s = &t->steps[i];
		const char *o = lt_tl_object(s->rec.step, s->rec.key, obj,
					     sizeof(obj));

		const char *step = lt_tl_step_str(s, name, sizeof(name));

		start = lt_tl_us(s->start_ns);
		fprintf(out, "  %11s%14s  %-6s  ", lt_tl_ms(start, a, sizeof(a)),
			lt_tl_ms(lt_tl_us(s->end_ns - s->start_ns), b, sizeof(b)),
			s->old ? "old" : "new");
		/* A column is padded only when another follows it */
		if (s->rec.ret)
			fprintf(out, "%-17s  %-17s  error %d (%s)\n", step,
				o ? o : "-", s->rec.ret,
				strerrorname_np(-s->rec.ret) ?: "unknown");
		else if (o)
			fprintf(out, "%-17s  %s\n", step, o);
		else
			fprintf(out, "%s\n", step);
	}
	for (i = 0; i < t->nr_warnings; i++)
		fprintf(out, "warning: %s\n", t->warnings[i]);
}

/*
 * JSON: times in integer ns from the handover, TSC values as "0x..."
 * strings. The writer has no floats: the blackout's IOMMU share is in
 * per mille (iommu_permille); iommu_ns / duration_ns gives it exactly.
 */
static void lt_tl_print_json(const struct lt_timeline *t, FILE *out,
			     bool pretty)
{
	char name[32], obj[32];
	const struct lt_tl_phase *p;
	struct jw w;
	size_t i;

	jw_init(&w, out, pretty);
	jw_obj_begin(&w);
	jw_key(&w, "clock");
	jw_obj_begin(&w);
	jw_ku64(&w, "khz", t->khz);
	jw_ku64(&w, "old_khz", t->old_khz);
	jw_key(&w, "invariant");
	jw_obj_begin(&w);
	jw_kbool(&w, "old", t->old_invariant);
	jw_kbool(&w, "new", t->new_invariant);
	jw_obj_end(&w);
	jw_kbool(&w, "trusted", t->trusted);
	jw_obj_end(&w);

	jw_key(&w, "handover");
	jw_obj_begin(&w);
	jw_ku64(&w, "version", t->version);
	jw_ku64(&w, "capacity", t->capacity);
	jw_ku64(&w, "written", t->written);
	jw_ku64(&w, "overwritten", t->overwritten);
	jw_obj_end(&w);

	jw_key(&w, "phases");
	jw_arr_begin(&w);
	for (i = 0; i < LT_TL_NR_PHASES; i++) {
		p = &t->phases[i];
		jw_obj_begin(&w);
		jw_kstr(&w, "name", p->name);
		if (p->pending) {
			jw_key(&w, "start_ns");
			jw_null(&w);
			jw_key(&w, "duration_ns");
			jw_null(&w);
			jw_key(&w, "iommu_ns");
			jw_null(&w);
		} else {
			jw_kint(&w, "start_ns", p->start_ns);
			jw_kint(&w, "duration_ns", p->end_ns - p->start_ns);
			jw_kint(&w, "iommu_ns", p->iommu_ns);
		}
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	if (t->partial) {
		jw_key(&w, "total_ns");
		jw_null(&w);
	} else {
		jw_kint(&w, "total_ns", t->total_ns);
	}

	jw_key(&w, "blackout");
	if (t->have_blackout) {
		jw_obj_begin(&w);
		jw_kint(&w, "start_ns", t->blackout.start_ns);
		jw_kint(&w, "end_ns", t->blackout.end_ns);
		jw_kint(&w, "duration_ns",
			t->blackout.end_ns - t->blackout.start_ns);
		jw_kint(&w, "iommu_ns", t->blackout.iommu_ns);
		jw_ku64(&w, "iommu_permille", t->blackout.permille);
		jw_kstr(&w, "end_device",
			lt_tl_object(IOMMU_LU_STEP_DEVICE_RESTORE,
				     t->blackout.end_key, obj, sizeof(obj)));
		jw_obj_end(&w);
	} else {
		jw_null(&w);
	}

	jw_key(&w, "steps");
	jw_arr_begin(&w);
	for (i = 0; i < t->nr_steps; i++) {
		const struct lt_tl_step *s = &t->steps[i];

		jw_obj_begin(&w);
		jw_kstr(&w, "kernel", s->old ? "old" : "new");
		jw_kstr(&w, "step", lt_tl_step_str(s, name, sizeof(name)));
		jw_kstr_or_null(&w, "object",
				lt_tl_object(s->rec.step, s->rec.key, obj,
					     sizeof(obj)));
		jw_kint(&w, "start_ns", s->start_ns);
		jw_kint(&w, "duration_ns", s->end_ns - s->start_ns);
		jw_kint(&w, "ret", s->rec.ret);
		jw_ku64(&w, "cpu", s->rec.cpu);
		jw_khex(&w, "tsc_begin", s->rec.begin);
		jw_khex(&w, "tsc_end", s->rec.end);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);

	jw_key(&w, "warnings");
	jw_arr_begin(&w);
	for (i = 0; i < t->nr_warnings; i++)
		jw_str(&w, t->warnings[i]);
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_end(&w);
}

void lt_tl_print(const struct lt_timeline *t, FILE *out, enum lt_format fmt)
{
	if (fmt == LT_FMT_TEXT)
		lt_tl_print_text(t, out);
	else
		lt_tl_print_json(t, out, fmt == LT_FMT_PRETTY);
}
