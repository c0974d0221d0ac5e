// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace timeline: run the timeline BPF program, which copies the
 * previous kernel's handed-over timeline and this kernel's own out of
 * kernel memory, read what the model needs to know of this kernel's clock
 * (CPU flags, clocksource) and print the timeline (timeline_model.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "env.h"
#include "lutrace.h"
#include "timeline_model.h"
#include "timeline.skel.h"

/* The kernel's ENOTSUPP (not a user space errno) */
#define ENOTSUPP_KERNEL	524

#define LT_CLOCKSOURCE \
	"/sys/devices/system/clocksource/clocksource0/current_clocksource"

/*
 * Whether the first CPU's "flags" line of /proc/cpuinfo has
 * constant_tsc and nonstop_tsc: the kernel sets them for every CPU alike.
 * Unreadable counts as absent, which the model then reports.
 */
static void lt_tl_cpu_flags(struct lt_tl_clock *c)
{
	char *line = NULL, *tok, *save;
	size_t cap = 0;
	FILE *f;

	f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "flags", 5) || !strchr(line, ':'))
			continue;
		for (tok = strtok_r(strchr(line, ':') + 1, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save)) {
			if (!strcmp(tok, "constant_tsc"))
				c->constant_tsc = true;
			else if (!strcmp(tok, "nonstop_tsc"))
				c->nonstop_tsc = true;
		}
		break;
	}
	free(line);
	fclose(f);
}

/*
 * Says why this kernel's symbols cannot be found; false if they can. A
 * kernel without CONFIG_KALLSYMS_ALL lists no variable at all: then
 * iommu_lu_flb is missing too, and the message says that instead of
 * blaming the kernel for having no timeline.
 */
static bool lt_tl_no_symbols(void)
{
	int found = lt_ksym_lookup("iommu_lu_tl_self",
				   "the IOMMU live update timeline");

	if (found < 0)
		return true;
	if (found)
		return false;
	if (lt_kallsyms_find("/proc/kallsyms", "iommu_lu_flb") == 0)
		lt_err("iommu_lu_flb is not in /proc/kallsyms: lutrace needs CONFIG_KALLSYMS_ALL=y to find the IOMMU live update timeline");
	else
		lt_err("timeline: this kernel has no IOMMU live update timeline (no iommu_lu_tl_self in /proc/kallsyms)");
	return true;
}

/* One run of the timeline program; LT_EXIT_OK or the error said */
static int lt_tl_run(struct timeline_bpf *skel, struct lt_tl_args *args)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = args,
		    .ctx_size_in = sizeof(*args));
	int err;

	/* A syscall program writes its results back into ctx_in */
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.timeline),
				     &topts);
	if (err == -ENOTSUPP_KERNEL) {
		lt_err("timeline: this kernel cannot run BPF syscall programs (BPF_PROG_TEST_RUN of a syscall program needs CONFIG_NET=y)");
		return LT_EXIT_ERROR;
	}
	if (err) {
		lt_err("timeline: running the BPF program failed: %s",
		       strerror(-err));
		return LT_EXIT_ERROR;
	}
	if (args->err == -ENOENT) {
		lt_err("timeline: this kernel has no IOMMU live update timeline (no iommu_lu_tl_self in /proc/kallsyms)");
		return LT_EXIT_ERROR;
	}
	/* What was handed over first: a cold boot is the usual failure */
	if (!args->in_status) {
		lt_err("timeline: the previous kernel handed over no timeline: this boot was not a live update, or the previous kernel does not record one");
		return LT_EXIT_ERROR;
	}
	if (args->in_status < 0) {
		lt_err("timeline: this kernel refused the previous kernel's timeline: %s (see 'iommu-lu: timeline' in the kernel log)",
		       strerror(-args->in_status));
		return LT_EXIT_ERROR;
	}
	if (!args->have_in || args->in_err) {
		lt_err("timeline: cannot read the previous kernel's timeline: %s",
		       args->have_in ? strerror(-args->in_err) :
		       "this kernel accepted it but keeps no pointer to it");
		return LT_EXIT_ERROR;
	}
	if (args->self_err == -ENODATA) {
		lt_err("timeline: this kernel keeps no timeline of its own (iommu_lu_tl_self is NULL: see 'iommu-lu: timeline' in the kernel log)");
		return LT_EXIT_ERROR;
	}
	if (args->self_err) {
		lt_err("timeline: cannot read this kernel's timeline: %s",
		       strerror(-args->self_err));
		return LT_EXIT_ERROR;
	}
	return LT_EXIT_OK;
}

static void lt_tl_usage(FILE *out)
{
	fprintf(out, "Usage: lutrace [-j|-p] timeline [--trust-tsc]\n");
}

int lt_cmd_timeline(const struct lt_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "trust-tsc", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct lt_tl_clock clock = {};
	struct lt_tl_args args = {};
	struct timeline_bpf *skel;
	struct lt_timeline t;
	char *source = NULL;
	int c, err, ret;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			clock.trust = true;
			break;
		case 'h':
			lt_tl_usage(stdout);
			return LT_EXIT_OK;
		default:
			lt_tl_usage(stderr);
			return LT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		lt_err("timeline: unexpected argument '%s'", argv[optind]);
		lt_tl_usage(stderr);
		return LT_EXIT_USAGE;
	}
	/*
	 * Neither the IOMMU state nor live update itself: the timeline
	 * outlives the update's FINISH, which is when it is usually read
	 */
	if (!lt_preflight_need(0) || lt_tl_no_symbols())
		return LT_EXIT_ERROR;

	skel = timeline_bpf__open_and_load();
	if (!skel) {
		lt_err("timeline: cannot load the BPF program: %s (run with -v for libbpf's messages)",
		       strerror(errno));
		return LT_EXIT_ERROR;
	}
	ret = lt_tl_run(skel, &args);
	if (ret)
		goto out;

	clock.khz = args.khz;
	lt_tl_cpu_flags(&clock);
	source = lt_read_line(LT_CLOCKSOURCE);
	clock.clocksource = source;
	err = lt_tl_build(&t, skel->bss->lt_tl_in, sizeof(skel->bss->lt_tl_in),
			  skel->bss->lt_tl_self,
			  sizeof(skel->bss->lt_tl_self), &clock);
	/* Steps that make no update are still printed, before the error */
	if (!err || t.partial)
		lt_tl_print(&t, stdout, o->fmt);
	if (err == -ENOMEM)
		lt_err("timeline: out of memory");
	else if (err)
		lt_err("timeline: %s", t.error);
	ret = err ? LT_EXIT_ERROR : LT_EXIT_OK;
	lt_tl_free(&t);
out:
	free(source);
	timeline_bpf__destroy(skel);
	return ret;
}
