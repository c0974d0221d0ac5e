/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lutrace check: the go/no-go verdict on a model of the state (decode.h),
 * one finding per thing checked, in the monitoring-plugin convention.
 */
#ifndef LUTRACE_VERDICT_H
#define LUTRACE_VERDICT_H

#include <stdio.h>
#include "decode.h"

/* Statuses, worst last but UNKNOWN; also check's exit status */
#define LT_CHECK_OK		0
#define LT_CHECK_WARNING	1
#define LT_CHECK_CRITICAL	2
#define LT_CHECK_UNKNOWN	3

struct lt_finding {
	int status;		/* LT_CHECK_* */
	const char *code;	/* stable: "device-not-restored", ... */
	char subject[48];	/* what it is about: "0000:00:01.0", "" */
	char text[320];
};

struct lt_verdict {
	bool incoming;
	struct lt_finding *f;
	size_t nr;
	int status;		/* the worst: CRITICAL > WARNING > UNKNOWN > OK */
	size_t count[4];	/* findings per status */
};

/*
 * Judges the model of a dump (outgoing: before the kexec; incoming: after
 * it). @next_kernel, outgoing only and may be NULL: the image that is to
 * be kexec'd, checked for the state's compatible string. 0 or -ENOMEM.
 */
int lt_verdict_build(struct lt_verdict *v, const struct lt_model *m,
		     const char *next_kernel);
void lt_verdict_free(struct lt_verdict *v);

/* LUTRACE CHECK <STATUS> - summary, then a line per finding; or JSON lines */
void lt_verdict_print(const struct lt_verdict *v, FILE *out,
		      enum lt_format fmt);

const char *lt_check_status_name(int status);

/*
 * Outgoing: the live context or device table entries of the preserved
 * devices, to read back (dump.c) and compare with what was recorded. Fills
 * up to @max of @req; returns how many.
 */
size_t lt_verdict_mem_reqs(const struct lt_model *m, struct lt_mem_req *req,
			   size_t max);

/*
 * What in a kernel command line keeps the next kernel from taking the
 * state over, as a finding (code and text) for @f; @vtd and @amdvi: units
 * of that kind are preserved. Returns the status.
 */
int lt_cmdline_verdict(const char *cmdline, bool vtd, bool amdvi,
		       struct lt_finding *f);

/*
 * Whether the kernel image @path supports compatible string @compat
 * ("iommu-lu-v3"), as a finding for @f; returns the status.
 */
int lt_next_kernel_verdict(const char *path, const char *compat,
			   struct lt_finding *f);

#endif /* LUTRACE_VERDICT_H */
