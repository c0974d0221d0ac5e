// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace: see the IOMMU live update state and trace the live update.
 *
 *   lutrace [OPTIONS] dump [--outgoing | --incoming | --from FILE]
 *   lutrace [OPTIONS] check [--outgoing | --incoming] [--next-kernel FILE]
 *                           [--from FILE]
 *   lutrace [OPTIONS] diff OUT.json IN.json
 *   lutrace [OPTIONS] trace [--filter TYPE] [--duration SECONDS] [--boot]
 *   lutrace [OPTIONS] latency [INTERVAL [COUNT]]
 *   lutrace [OPTIONS] timeline [--trust-tsc]
 *
 * This file parses the global options and runs the command; what the
 * commands share is in common.c. The manual is docs/lutrace.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "lutrace.h"
#include "verdict.h"

static void lt_usage(FILE *out)
{
	fprintf(out,
		"Usage: lutrace [OPTIONS] COMMAND [ARGS]\n"
		"See the IOMMU live update state and trace the live update.\n"
		"\n"
		"Commands:\n"
		"  dump [--outgoing | --incoming | --from FILE]\n"
		"        Print the preserved state: blocks, entries and, for the\n"
		"        incoming state, how each preserved device was matched and\n"
		"        why the kernel refused what it refused. Default:\n"
		"        --outgoing. -j output saved to FILE is printed again, as\n"
		"        it was, by --from FILE.\n"
		"  check [--outgoing | --incoming] [--next-kernel FILE] [--from FILE]\n"
		"        Go/no-go: outgoing (before the kexec) the state, the\n"
		"        preserved devices' entries and bus mastering, the kernel\n"
		"        loaded for kexec and its command line, and with\n"
		"        --next-kernel an uncompressed kernel image (ELF vmlinux)\n"
		"        for the state's compatible string; incoming (after it)\n"
		"        every preserved device restored, nothing refused.\n"
		"        Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN;\n"
		"        3 also whenever check did not run (bad command line,\n"
		"        -h, an error, output that could not be written).\n"
		"  diff OUT.json IN.json\n"
		"        What changed between two saved dumps (-j), e.g. the\n"
		"        outgoing state and the incoming one of one update.\n"
		"  trace [--filter TYPE[,TYPE...]] [--duration SECONDS] [--boot]\n"
		"        Print each iommu_lu event as it happens, until Ctrl-C or\n"
		"        the duration. TYPE: an event (domain_preserve), an object\n"
		"        (hw_unit, domain, pt, device, match, flb, entry, block) or\n"
		"        an operation (preserve, unpreserve, restore, retrieve, ...).\n"
		"        --boot prints the events the kernel recorded in its trace\n"
		"        buffer (boot with trace_event=iommu_lu:*), e.g. the restore\n"
		"        at boot, which happens before any tool can run.\n"
		"  latency [INTERVAL [COUNT]]\n"
		"        Log2 histograms of preserve, unpreserve and restore latency\n"
		"        per object type, every INTERVAL seconds, COUNT times (or\n"
		"        once, at Ctrl-C).\n"
		"  timeline [--trust-tsc]\n"
		"        After a live update: how long each phase of it took,\n"
		"        across both kernels (the previous kernel hands its\n"
		"        steps over), and the IOMMU's share of the blackout.\n"
		"        --trust-tsc compares the TSC across the kexec even when\n"
		"        a kernel does not call it invariant (emulators).\n"
		"\n"
		"Options:\n"
		"  -j, --json     JSON output (one document per line); errors as\n"
		"                 {\"error\":\"...\"} on stdout too\n"
		"  -p, --pretty   indented JSON output\n"
		"  -v, --verbose  print libbpf's messages\n"
		"  -h, --help     this help\n"
		"  -V, --version  print the version\n"
		"\n"
		"Exit status: 0 success, 1 failure (including a kernel lutrace cannot\n"
		"work on), 2 bad command line; check: its verdict, as above, and 3\n"
		"for anything else, a bad option before it included. Manual:\n"
		"docs/lutrace.md\n");
}

static const struct lt_cmd {
	const char *name;
	int (*fn)(const struct lt_opts *o, int argc, char **argv);
	int not_run;	/* the exit status when it did not run, -1: the usual */
} lt_cmds[] = {
	{ "dump", lt_cmd_dump, -1 },
	/* check's exit status is a verdict: one that did not run is UNKNOWN */
	{ "check", lt_cmd_check, LT_CHECK_UNKNOWN },
	{ "diff", lt_cmd_diff, -1 },
	{ "trace", lt_cmd_trace, -1 },
	{ "latency", lt_cmd_latency, -1 },
	{ "timeline", lt_cmd_timeline, -1 },
};

/* The command named @name, or NULL */
static const struct lt_cmd *lt_cmd_find(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(lt_cmds) / sizeof(lt_cmds[0]); i++)
		if (!strcmp(name, lt_cmds[i].name))
			return &lt_cmds[i];
	return NULL;
}

/* @status for @cmd (NULL: none given), unless it did not run */
static int lt_status(const struct lt_cmd *cmd, int status)
{
	return cmd && cmd->not_run >= 0 ? cmd->not_run : status;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	struct lt_opts o = { .fmt = LT_FMT_TEXT };
	bool bad = false, help = false;
	const struct lt_cmd *cmd;
	int c, ret;

	/*
	 * Options before the command only; the command parses the rest.
	 * What a bad option or -h returns depends on the command after them.
	 */
	while ((c = getopt_long(argc, argv, "+jpvhV", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (o.fmt == LT_FMT_TEXT)
				o.fmt = LT_FMT_JSON;
			break;
		case 'p':
			o.fmt = LT_FMT_PRETTY;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			help = true;
			break;
		case 'V':
			printf("lutrace %s (libbpf %s, IOMMU live update ABI %s version %d)\n",
			       LUTRACE_VERSION, libbpf_version_string(),
			       IOMMU_LU_FLB_COMPATIBLE, IOMMU_LU_ABI_VERSION);
			return LT_EXIT_OK;
		default:
			bad = true;
			break;
		}
	}
	lt_init(&o);
	cmd = lt_cmd_find(optind < argc ? argv[optind] : NULL);
	if (help) {
		lt_usage(stdout);
		return lt_status(cmd, LT_EXIT_OK);
	}
	if (bad) {
		lt_usage(stderr);
		return lt_status(cmd, LT_EXIT_USAGE);
	}
	if (optind >= argc) {
		lt_err("no command given");
		lt_usage(stderr);
		return LT_EXIT_USAGE;
	}
	if (!strcmp(argv[optind], "help")) {
		lt_usage(stdout);
		return LT_EXIT_OK;
	}
	if (!cmd) {
		lt_err("unknown command '%s'", argv[optind]);
		lt_usage(stderr);
		return LT_EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	optind = 1;
	ret = cmd->fn(&o, argc, argv);
	/* Output that did not reach its file is a failure: say so */
	if (fflush(stdout) || ferror(stdout)) {
		lt_err("writing the output failed: %s", strerror(errno));
		return lt_status(cmd, LT_EXIT_ERROR);
	}
	return ret;
}
