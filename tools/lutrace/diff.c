// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace diff OUT.json IN.json: what changed between two saved dumps,
 * usually the outgoing state before a kexec and the incoming one after
 * it (compare.c).
 */
#include <stdio.h>
#include <string.h>
#include "compare.h"
#include "lutrace.h"

static void lt_diff_usage(FILE *out)
{
	fprintf(out, "Usage: lutrace [-j|-p] diff OUT.json IN.json\n");
}

int lt_cmd_diff(const struct lt_opts *o, int argc, char **argv)
{
	struct lt_snapshot a, b;
	struct lt_model ma, mb;
	int ret = LT_EXIT_ERROR;
	char err[512];

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		lt_diff_usage(stdout);
		return LT_EXIT_OK;
	}
	if (argc != 3) {
		lt_err("diff: two dumps are compared (lutrace -j dump > FILE), got %d",
		       argc - 1);
		lt_diff_usage(stderr);
		return LT_EXIT_USAGE;
	}
	if (lt_snapshot_load(&a, argv[1], err, sizeof(err))) {
		lt_err("diff: %s", err);
		return LT_EXIT_ERROR;
	}
	if (lt_snapshot_load(&b, argv[2], err, sizeof(err))) {
		lt_err("diff: %s", err);
		lt_snapshot_free(&a);
		return LT_EXIT_ERROR;
	}
	if (lt_model_build(&ma, &a)) {
		lt_err("diff: out of memory");
	} else if (lt_model_build(&mb, &b)) {
		lt_err("diff: out of memory");
		lt_model_free(&ma);
	} else {
		lt_compare_print(&ma, argv[1], &mb, argv[2], stdout, o->fmt);
		ret = LT_EXIT_OK;
		lt_model_free(&ma);
		lt_model_free(&mb);
	}
	lt_snapshot_free(&a);
	lt_snapshot_free(&b);
	return ret;
}
