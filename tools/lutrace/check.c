// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace check: a go/no-go verdict for fleets, on the live state or on a
 * saved dump (verdict.c judges, this file runs it). Its exit status is the
 * verdict, in the monitoring-plugin convention: 0 OK, 1 WARNING,
 * 2 CRITICAL, 3 UNKNOWN (also for a check that cannot run at all).
 */
#include <getopt.h>
#include <stdio.h>
#include "lutrace.h"
#include "verdict.h"

static void lt_check_usage(FILE *out)
{
	fprintf(out, "Usage: lutrace [-j|-p] check [--outgoing | --incoming] [--next-kernel FILE] [--from FILE]\n"
		"Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also: check could not run)\n");
}

int lt_cmd_check(const struct lt_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "outgoing", no_argument, NULL, 'o' },
		{ "incoming", no_argument, NULL, 'i' },
		{ "from", required_argument, NULL, 'f' },
		{ "next-kernel", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *from = NULL, *next = NULL;
	bool incoming = false, direction = false;
	struct lt_verdict v;
	struct lt_snapshot s;
	struct lt_model m;
	char err[512];
	int c, ret;

	while ((c = getopt_long(argc, argv, "oif:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
		case 'i':
			incoming = c == 'i';
			direction = true;
			break;
		case 'f':
			from = optarg;
			break;
		case 'n':
			next = optarg;
			break;
		case 'h':
			lt_check_usage(stdout);
			return LT_CHECK_OK;
		default:
			lt_check_usage(stderr);
			return LT_CHECK_UNKNOWN;
		}
	}
	if (optind < argc) {
		lt_err("check: unexpected argument '%s'", argv[optind]);
		lt_check_usage(stderr);
		return LT_CHECK_UNKNOWN;
	}
	if (from && direction) {
		lt_err("check: --from checks the direction the dump was taken in; --outgoing and --incoming do not go with it");
		return LT_CHECK_UNKNOWN;
	}
	if (from) {
		if (lt_snapshot_load(&s, from, err, sizeof(err))) {
			lt_err("check: %s", err);
			return LT_CHECK_UNKNOWN;
		}
	} else {
		if (!lt_preflight_need(LT_NEED_STATE | LT_NEED_LIVEUPDATE))
			return LT_CHECK_UNKNOWN;
		if (lt_snapshot_take(&s, incoming))
			return LT_CHECK_UNKNOWN;
	}
	if (next && s.incoming) {
		lt_err("check: --next-kernel is for the outgoing state, before the kexec");
		lt_snapshot_free(&s);
		return LT_CHECK_UNKNOWN;
	}
	ret = LT_CHECK_UNKNOWN;
	if (lt_model_build(&m, &s)) {
		lt_err("check: out of memory");
	} else if (lt_verdict_build(&v, &m, next)) {
		lt_err("check: out of memory");
		lt_model_free(&m);
	} else {
		lt_verdict_print(&v, stdout, o->fmt);
		ret = v.status;
		lt_verdict_free(&v);
		lt_model_free(&m);
	}
	lt_snapshot_free(&s);
	return ret;
}
