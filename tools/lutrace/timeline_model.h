/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lutrace timeline: one timeline of an IOMMU live update across both
 * kernels. The old kernel hands its steps over in a ring
 * (<linux/kho/abi/iommu_timeline.h>); the new kernel keeps its own in a
 * ring of the same layout. This code decodes the two rings, merges them on
 * the TSC both kernels read, cuts the update into phases and prints the
 * result. No BPF, no system access: the timeline command reads the rings
 * and the clock's facts (timeline.c), the unit tests craft them.
 */
#ifndef LUTRACE_TIMELINE_MODEL_H
#define LUTRACE_TIMELINE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "abi.h"
#include LT_ABI_TL_H
#include "decode.h"

/* The BPF program copies blobs of the ABI's size */
static_assert(LT_TL_SIZE == IOMMU_LU_TL_SIZE, "timeline size");

/* A ring as read: its header and which records it still holds */
struct lt_tl_ring {
	struct iommu_lu_tl_hdr hdr;
	const unsigned char *slots;	/* the ring, in the caller's blob */
	__u64 first;		/* n of the oldest record kept, which is also
				 * how many were overwritten */
	__u64 nr;		/* records kept: first .. first + nr - 1 */
	__u64 dropped;		/* IOMMU_LU_TL_KEEP_FIRST: the newest records
				 * that did not fit, not kept */
};

/*
 * Checks the header of the blob @blob of @len bytes (magic, version,
 * record size, a capacity that fits) and fills @r, which points into
 * @blob. 0, or -EINVAL with the reason in @err ("bad magic 0x...").
 */
int lt_tl_ring_decode(struct lt_tl_ring *r, const void *blob, size_t len,
		      char *err, size_t errlen);

/* Record @i of @r, 0 the oldest kept, copied into @rec */
void lt_tl_ring_rec(const struct lt_tl_ring *r, __u64 i,
		    struct iommu_lu_tl_rec *rec);

/* "domain_preserve" for IOMMU_LU_STEP_DOMAIN_PRESERVE; NULL if unknown */
const char *lt_tl_step_name(unsigned int step);

/*
 * What the step's key names, into @buf: a PCI address "SSSS:BB:DD.F" for
 * a device step, "domain N", "unit N"; NULL for a step without an object.
 */
const char *lt_tl_object(unsigned int step, __u32 key, char *buf,
			 size_t len);

/*
 * What lutrace knows of the new kernel's clock besides its timeline:
 * inputs of the model, read by the command, crafted by the tests.
 */
struct lt_tl_clock {
	__u32 khz;		/* tsc_khz: the rate every cycle count uses */
	bool constant_tsc;	/* /proc/cpuinfo flags */
	bool nonstop_tsc;
	const char *clocksource;	/* the current one; NULL: unknown */
	bool trust;		/* --trust-tsc: compare across the kexec
				 * even when a check fails */
};

/* One step on the merged timeline */
struct lt_tl_step {
	struct iommu_lu_tl_rec rec;	/* as recorded */
	bool old;		/* the previous kernel's */
	__u64 seq;		/* merge order for steps that begin together */
	__u64 end;		/* rec.end, or rec.begin if it was earlier */
	__s64 start_ns;		/* from the handover */
	__s64 end_ns;
};

#define LT_TL_NR_PHASES		10
#define LT_TL_MAX_WARNINGS	16
#define LT_TL_MSG_LEN		256

struct lt_tl_phase {
	const char *name;	/* JSON: "preserve" */
	const char *label;	/* text: "validate and adopt" */
	bool pending;		/* its end has not happened yet */
	__s64 start_ns;		/* from the handover; not when pending */
	__s64 end_ns;
	__s64 iommu_ns;		/* the steps' union inside it */
};

/* The handover to the end of the last device's restore */
struct lt_tl_blackout {
	__s64 start_ns;		/* 0: the handover */
	__s64 end_ns;
	__s64 iommu_ns;		/* the steps' union inside it */
	__u32 permille;		/* iommu_ns / duration, rounded */
	__u32 end_key;		/* the device that was restored last */
};

struct lt_timeline {
	__u32 khz;		/* this kernel's: all ns use it */
	__u32 old_khz;		/* the previous kernel's, as it knew it */
	bool old_invariant;	/* the old ring's flags: invariant, stable */
	bool new_invariant;	/* constant_tsc, nonstop_tsc, clocksource tsc */
	bool trusted;		/* --trust-tsc was given */
	__u32 version;		/* of the old ring */
	__u32 capacity;
	__u64 written;		/* records the old kernel wrote */
	__u64 overwritten;	/* of them, lost to the ring's wrap */
	__u64 handover;		/* TSC of the handover: t = 0 */

	struct lt_tl_step *steps;	/* both kernels', by begin */
	size_t nr_steps;
	struct lt_tl_phase phases[LT_TL_NR_PHASES];
	__s64 start_ns;		/* the first phase's start */
	__s64 total_ns;		/* to the last phase that ended */
	bool have_blackout;	/* a device was restored */
	bool partial;		/* the phases make no sense (t->error says
				 * why): only the steps can be printed */
	struct lt_tl_blackout blackout;

	char warnings[LT_TL_MAX_WARNINGS][LT_TL_MSG_LEN];
	size_t nr_warnings;
	char error[LT_TL_MSG_LEN];	/* why lt_tl_build() failed */
};

/*
 * Builds @t from the old kernel's ring @in and the new kernel's @self
 * (blobs of @in_len and @self_len bytes) and the facts of @c. 0: @t holds
 * the timeline (its warnings may say it is incomplete); -EINVAL: it
 * cannot be trusted or makes no sense, @t->error says why; -ENOMEM. Free
 * @t with lt_tl_free() in any case.
 */
int lt_tl_build(struct lt_timeline *t, const void *in, size_t in_len,
		const void *self, size_t self_len, const struct lt_tl_clock *c);
void lt_tl_free(struct lt_timeline *t);

/* Prints @t: text, or one JSON document */
void lt_tl_print(const struct lt_timeline *t, FILE *out, enum lt_format fmt);

#endif /* LUTRACE_TIMELINE_MODEL_H */
