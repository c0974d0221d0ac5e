// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace check: a go/no-go verdict for fleets, on the live state or on a
 * saved dump (verdict.c judges, this file runs it). Its exit status is the
 * verdict, in the monitoring-plugin convention: 0 OK, 1 WARNING,
 * 2 CRITICAL, 3 UNKNOWN; a check that did not run (a bad command line, -h,
 * an error) is UNKNOWN too, and says so as a verdict of its own.
 */
#include <getopt.h>
#include <stdio.h>
#include "lutrace.h"
#include "verdict.h"

static void lt_check_usage(FILE *out)
{
	fprintf(out, "Usage: lutrace [-j|-p] check [--outgoing | --incoming] [--next-kernel FILE] [--from FILE]\n"
		"Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also: check did not run, -h included)\n");
}

/*
 * A check that did not run: the error (said by lt_err()) as the verdict,
 * UNKNOWN check-failed, so that a reader of the output, text or JSON, gets
 * a verdict and a summary whatever happened
 */
static int lt_check_failed(const struct lt_opts *o, const char *direction)
{
	struct lt_verdict v;

	if (!lt_verdict_failed(&v, direction, lt_last_error())) {
		lt_verdict_print(&v, stdout, o->fmt);
		lt_verdict_free(&v);
	}
	return LT_CHECK_UNKNOWN;
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
	const char *from = NULL, *next = NULL, *dir;
	bool incoming = false, direction = false;
	struct lt_verdict v;
	struct lt_snapshot s;
	struct lt_model m;
	char err[512];
	int c, ret;

	/* lt_err() says what is wrong, in the verdict too */
	opterr = 0;
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
			/* Help is no verdict: UNKNOWN, as any check that did not run */
			lt_check_usage(stdout);
			return LT_CHECK_UNKNOWN;
		default:
			lt_err("check: bad option '%s', or its argument missing",
			       argv[optind - 1]);
			lt_check_usage(stderr);
			return lt_check_failed(o, "unknown");
		}
	}
	dir = from ? "unknown" : incoming ? "incoming" : "outgoing";
	if (optind < argc) {
		lt_err("check: unexpected argument '%s'", argv[optind]);
		lt_check_usage(stderr);
		return lt_check_failed(o, dir);
	}
	if (from && direction) {
		lt_err("check: --from checks the direction the dump was taken in; --outgoing and --incoming do not go with it");
		return lt_check_failed(o, dir);
	}
	if (from) {
		if (lt_snapshot_load(&s, from, err, sizeof(err))) {
			lt_err("check: %s", err);
			return lt_check_failed(o, dir);
		}
	} else {
		if (!lt_preflight_need(LT_NEED_STATE | LT_NEED_LIVEUPDATE))
			return lt_check_failed(o, dir);
		if (lt_snapshot_take(&s, incoming))
			return lt_check_failed(o, dir);
	}
	dir = s.incoming ? "incoming" : "outgoing";
	if (next && s.incoming) {
		lt_err("check: --next-kernel is for the outgoing state, before the kexec");
		lt_snapshot_free(&s);
		return lt_check_failed(o, dir);
	}
	if (lt_model_build(&m, &s)) {
		lt_err("check: out of memory");
		ret = lt_check_failed(o, dir);
	} else if (lt_verdict_build(&v, &m, next)) {
		lt_err("check: out of memory");
		lt_model_free(&m);
		ret = lt_check_failed(o, dir);
	} else {
		lt_verdict_print(&v, stdout, o->fmt);
		ret = v.status;
		lt_verdict_free(&v);
		lt_model_free(&m);
	}
	lt_snapshot_free(&s);
	return ret;
}
