// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace trace: stream the iommu_lu events from the BPF ring buffer, or,
 * with --boot, read back the ones the kernel's trace buffer recorded.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "events.h"
#include "lutrace.h"
#include "trace.skel.h"

struct lt_trace_ctx {
	const struct lt_opts *o;
	__u64 mask;
	unsigned long nr;
};

static int lt_on_event(void *ctx, void *data, size_t len)
{
	struct lt_trace_ctx *t = ctx;
	const struct lt_event *e = data;

	if (len < sizeof(*e) || !lt_event_desc(e->type))
		return 0;
	if (!(t->mask & (1ULL << e->type)))
		return 0;
	lt_event_print(e, stdout, t->o->fmt);
	fflush(stdout);
	t->nr++;
	return 0;
}

static const char *const lt_trace_files[] = {
	"/sys/kernel/tracing/trace",
	"/sys/kernel/debug/tracing/trace",
};

/* --boot: the iommu_lu events in the kernel's trace buffer */
static int lt_trace_boot(struct lt_trace_ctx *t)
{
	char line[1024];
	FILE *f = NULL;
	size_t i;

	for (i = 0; i < sizeof(lt_trace_files) / sizeof(lt_trace_files[0]) && !f; i++)
		f = fopen(lt_trace_files[i], "r");
	if (!f) {
		lt_err("trace --boot: cannot open the kernel's trace buffer (%s): mount tracefs on /sys/kernel/tracing",
		       strerror(errno));
		return LT_EXIT_ERROR;
	}
	while (fgets(line, sizeof(line), f)) {
		struct lt_event e;

		if (lt_event_parse_ftrace(line, &e))
			lt_on_event(t, &e, sizeof(e));
	}
	fclose(f);
	if (!t->nr)
		lt_err("trace --boot: no iommu_lu event in the kernel's trace buffer; boot with trace_event=iommu_lu:* to record the restore at boot");
	return LT_EXIT_OK;
}

static void lt_trace_usage(FILE *out)
{
	fprintf(out, "Usage: lutrace [-j|-p] trace [--filter TYPE[,TYPE...]] [--duration SECONDS] [--boot]\n");
}

static double lt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int lt_cmd_trace(const struct lt_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "filter", required_argument, NULL, 'f' },
		{ "duration", required_argument, NULL, 'd' },
		{ "boot", no_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct lt_trace_ctx t = { .o = o, .mask = ~0ULL };
	struct ring_buffer *rb = NULL;
	struct trace_bpf *skel;
	double duration = 0, end;
	const char *bad = NULL;
	bool boot = false;
	int c, err, ret = LT_EXIT_ERROR;
	__u64 lost = 0;
	__u32 zero = 0;
	char *endp;

	while ((c = getopt_long(argc, argv, "f:d:bh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			bad = NULL;
			t.mask = lt_event_filter(optarg, &bad);
			if (!t.mask) {
				lt_err("trace: --filter: '%s' is no event, object or operation (see lutrace -h)",
				       bad ? bad : optarg);
				return LT_EXIT_USAGE;
			}
			break;
		case 'd':
			duration = strtod(optarg, &endp);
			if (endp == optarg || *endp || !isfinite(duration) ||
			    duration <= 0) {
				lt_err("trace: --duration: '%s' is not a positive number of seconds",
				       optarg);
				return LT_EXIT_USAGE;
			}
			break;
		case 'b':
			boot = true;
			break;
		case 'h':
			lt_trace_usage(stdout);
			return LT_EXIT_OK;
		default:
			lt_trace_usage(stderr);
			return LT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		lt_err("trace: unexpected argument '%s'", argv[optind]);
		lt_trace_usage(stderr);
		return LT_EXIT_USAGE;
	}
	if (!lt_preflight(false))
		return LT_EXIT_ERROR;
	if (boot)
		return lt_trace_boot(&t);

	skel = trace_bpf__open_and_load();
	if (!skel) {
		lt_err("trace: cannot load the BPF programs: %s (run with -v for libbpf's messages)",
		       strerror(errno));
		return LT_EXIT_ERROR;
	}
	err = trace_bpf__attach(skel);
	if (err) {
		lt_err("trace: cannot attach to the iommu_lu tracepoints: %s",
		       strerror(-err));
		goto out;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), lt_on_event, &t,
			      NULL);
	if (!rb) {
		lt_err("trace: cannot set up the ring buffer: %s", strerror(errno));
		goto out;
	}
	lt_handle_signals();
	if (o->fmt == LT_FMT_TEXT)
		printf("%13s %-16s %-7s %-18s %s\n", "TIME(s)", "COMM", "TID",
		       "EVENT", "DETAILS");
	fflush(stdout);
	fprintf(stderr, "Tracing iommu_lu events... Hit Ctrl-C to end.\n");
	end = lt_now() + duration;
	while (!lt_exiting && (!duration || lt_now() < end)) {
		err = ring_buffer__poll(rb, 100);
		if (err < 0 && err != -EINTR) {
			lt_err("trace: reading events failed: %s", strerror(-err));
			goto out;
		}
	}
	ring_buffer__consume(rb);
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.lost), &zero, &lost);
	if (lost)
		lt_err("trace: %llu events were lost (ring buffer full)",
		       (unsigned long long)lost);
	ret = LT_EXIT_OK;
out:
	ring_buffer__free(rb);
	trace_bpf__destroy(skel);
	return ret;
}
