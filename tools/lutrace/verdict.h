/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lutrace check: the go/no-go verdict on a model of the state (decode.h),
 * one finding per thing checked, in the monitoring-plugin convention.
 */
#ifndef LUTRACE_VERDICT_H
#define LUTRACE_VERDICT_H

#include <stdio.h>
#include "decode.h"

/*
 * Statuses, also check's exit status (the monitoring-plugin convention).
 * From the worst: CRITICAL, UNKNOWN (what was not known may be critical),
 * WARNING, OK.
 */
#define LT_CHECK_OK		0
#define LT_CHECK_WARNING	1
#define LT_CHECK_CRITICAL	2
#define LT_CHECK_UNKNOWN	3

/* A refused finding: what the kernel refused and, if it said, why */
struct lt_refused {
	__u32 chain;		/* IOMMU_LU_CHAIN_*, LT_NR_CHAINS: the state */
	__u32 index;		/* the slot, LT_REFUSED_ALL: the whole chain */
	bool has_reason;	/* the kernel recorded its reason: */
	char reason[48];	/* its code, "reason-N" if the kernel named none */
	__u32 reason_id;	/* its value in that kernel */
	__u32 concerns;		/* what it names, LT_REFUSED_NONE: nothing */
	const char *meaning;	/* what it means, NULL if lutrace does not know */
};

struct lt_finding {
	int status;		/* LT_CHECK_* */
	const char *code;	/* stable: "device-not-restored", ... */
	char subject[48];	/* what it is about: "0000:00:01.0", "" */
	char text[320];
	bool is_refused;	/* code "refused": @refused is set */
	struct lt_refused refused;
};

struct lt_verdict {
	const char *direction;	/* "outgoing", "incoming" */
	struct lt_finding *f;
	size_t nr;
	int status;		/* the worst: CRITICAL > UNKNOWN > WARNING > OK */
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

/*
 * The verdict of a check that could not run: one UNKNOWN finding
 * check-failed saying @why; @direction as asked ("outgoing", "incoming",
 * or "unknown" for a file that could not be read). 0 or -ENOMEM.
 */
int lt_verdict_failed(struct lt_verdict *v, const char *direction,
		      const char *why);

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

/* What the preserved hardware units need of the next kernel */
struct lt_units {
	bool vtd;		/* VT-d units */
	bool vtd_sm;		/* one in scalable mode */
	bool vtd_legacy;	/* one in legacy mode */
	bool amdvi;		/* AMD-Vi units */
};

/*
 * What in the next kernel's command line @next keeps it from taking the
 * state of @units over, compared with @now, this kernel's (NULL: not
 * known): a parameter this kernel was booted with to turn live update, KHO
 * or VT-d (or its mode) on must be on the next one's too; one neither has
 * depends on the next kernel's build defaults (WARNING). Adds the findings
 * to @v (cmdline-ok if nothing is wrong); 0 or -ENOMEM.
 */
int lt_cmdline_verdict(struct lt_verdict *v, const char *next,
		       const char *now, const struct lt_units *units);

/*
 * Whether the kernel image @path supports compatible string @compat
 * ("iommu-lu-v3"), as a finding for @f; returns the status. CRITICAL only
 * for an ELF image without it (or any file naming another version).
 */
int lt_next_kernel_verdict(const char *path, const char *compat,
			   struct lt_finding *f);

#endif /* LUTRACE_VERDICT_H */
