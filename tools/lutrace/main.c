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
		"        Exit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n"
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
		"work on), 2 bad command line; check: its verdict, as above (3 when it\n"
		"cannot run). Manual: docs/lutrace.md\n");
}

static const struct {
	const char *name;
	int (*fn)(const struct lt_opts *o, int argc, char **argv);
} lt_cmds[] = {
	{ "dump", lt_cmd_dump },
	{ "check", lt_cmd_check },
	{ "diff", lt_cmd_diff },
	{ "trace", lt_cmd_trace },
	{ "latency", lt_cmd_latency },
};

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
	const char *cmd;
	size_t i;
	int c, ret;

	/* Options before the command only; the command parses the rest */
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
			lt_usage(stdout);
			return LT_EXIT_OK;
		case 'V':
			printf("lutrace %s (libbpf %s, IOMMU live update ABI %s version %d)\n",
			       LUTRACE_VERSION, libbpf_version_string(),
			       IOMMU_LU_FLB_COMPATIBLE, IOMMU_LU_ABI_VERSION);
			return LT_EXIT_OK;
		default:
			lt_usage(stderr);
			return LT_EXIT_USAGE;
		}
	}
	lt_init(&o);
	if (optind >= argc) {
		lt_err("no command given");
		lt_usage(stderr);
		return LT_EXIT_USAGE;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	optind = 1;
	if (!strcmp(cmd, "help")) {
		lt_usage(stdout);
		return LT_EXIT_OK;
	}
	for (i = 0; i < sizeof(lt_cmds) / sizeof(lt_cmds[0]); i++)
		if (!strcmp(cmd, lt_cmds[i].name))
			break;
	if (i == sizeof(lt_cmds) / sizeof(lt_cmds[0])) {
		lt_err("unknown command '%s'", cmd);
		lt_usage(stderr);
		return LT_EXIT_USAGE;
	}
	ret = lt_cmds[i].fn(&o, argc, argv);
	/* Output that did not reach its file is a failure: say so */
	if (fflush(stdout) || ferror(stdout)) {
		lt_err("writing the output failed: %s", strerror(errno));
		return LT_EXIT_ERROR;
	}
	return ret;
}
