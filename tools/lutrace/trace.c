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
	const char *filter;	/* --filter as given, or NULL */
	unsigned long events;	/* iommu_lu events read */
	unsigned long printed;	/* of them, those --filter kept */
	unsigned long unparsed;	/* records or lines that are no known event */
	unsigned long lost;	/* events lost before lutrace could read them */
};

static int lt_on_event(void *ctx, void *data, size_t len)
{
	struct lt_trace_ctx *t = ctx;
	const struct lt_event *e = data;

	if (len < sizeof(*e) || !lt_event_desc(e->type)) {
		t->unparsed++;
		return 0;
	}
	t->events++;
	if (!(t->mask & (1ULL << e->type)))
		return 0;
	lt_event_print(e, stdout, t->o->fmt);
	fflush(stdout);
	t->printed++;
	return 0;
}

/*
 * With -j, the last record: what was read, printed, not understood and
 * lost, so that a reader of the events knows whether it saw them all.
 */
static void lt_trace_summary(const struct lt_trace_ctx *t)
{
	struct jw w;

	if (t->o->fmt == LT_FMT_TEXT)
		return;
	jw_init(&w, stdout, t->o->fmt == LT_FMT_PRETTY);
	jw_obj_begin(&w);
	jw_key(&w, "summary");
	jw_obj_begin(&w);
	jw_ku64(&w, "events", t->events);
	jw_ku64(&w, "printed", t->printed);
	jw_ku64(&w, "unparsed", t->unparsed);
	jw_ku64(&w, "lost", t->lost);
	jw_obj_end(&w);
	jw_obj_end(&w);
	jw_end(&w);
}

static const char *const lt_trace_files[] = {
	"/sys/kernel/tracing/trace",
	"/sys/kernel/debug/tracing/trace",
};

/*
 * --boot: the iommu_lu events in the kernel's trace buffer. Lines that
 * name an iommu_lu event but cannot be parsed, events the kernel lost, and
 * nothing to print are errors.
 */
static int lt_trace_boot(struct lt_trace_ctx *t)
{
	struct lt_ftrace_stats st = {};
	const char *path = NULL;
	int ret = LT_EXIT_OK;
	char *line = NULL;
	size_t cap = 0;
	FILE *f = NULL;
	size_t i;

	for (i = 0; i < sizeof(lt_trace_files) / sizeof(lt_trace_files[0]) && !f; i++) {
		path = lt_trace_files[i];
		f = fopen(path, "r");
	}
	if (!f) {
		lt_err("trace --boot: cannot open the kernel's trace buffer (%s): mount tracefs on /sys/kernel/tracing",
		       strerror(errno));
		return LT_EXIT_ERROR;
	}
	while (getline(&line, &cap, f) > 0) {
		struct lt_event e;

		if (lt_ftrace_line(line, &e, &st))
			lt_on_event(t, &e, sizeof(e));
	}
	if (ferror(f)) {
		lt_err("trace --boot: reading %s failed: %s", path,
		       strerror(errno));
		ret = LT_EXIT_ERROR;
	}
	free(line);
	fclose(f);
	t->unparsed += st.unparsed;
	t->lost = st.lost;
	lt_trace_summary(t);
	if (st.unparsed) {
		lt_err("trace --boot: %lu lines of iommu_lu events in %s could not be parsed (a kernel newer than this lutrace?), the first: %s",
		       st.unparsed, path, st.first_unparsed);
		ret = LT_EXIT_ERROR;
	}
	if (st.lost) {
		lt_err("trace --boot: the kernel's trace buffer lost at least %lu events: it was full and overwrote the oldest (boot with a larger trace_buf_size=), or it was written to while read",
		       st.lost);
		ret = LT_EXIT_ERROR;
	}
	if (!t->events && !st.unparsed) {
		lt_err("trace --boot: no iommu_lu event in the kernel's trace buffer; boot with trace_event=iommu_lu:* to record the restore at boot");
		ret = LT_EXIT_ERROR;
	} else if (t->events && !t->printed) {
		lt_err("trace --boot: none of the %lu iommu_lu events in the kernel's trace buffer matches --filter %s",
		       t->events, t->filter);
		ret = LT_EXIT_ERROR;
	}
	return ret;
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
			t.filter = optarg;
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
	/* --boot reads tracefs alone: live update may be off */
	if (!lt_preflight_need(boot ? 0 : LT_NEED_LIVEUPDATE))
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
	err = ring_buffer__consume(rb);
	if (err < 0) {
		lt_err("trace: reading events failed: %s", strerror(-err));
		goto out;
	}
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.lost), &zero, &lost)) {
		lt_err("trace: cannot read how many events were lost: %s",
		       strerror(errno));
		goto out;
	}
	t.lost = lost;
	lt_trace_summary(&t);
	ret = LT_EXIT_OK;
	if (lost) {
		lt_err("trace: %llu events were lost (the ring buffer was full)",
		       (unsigned long long)lost);
		ret = LT_EXIT_ERROR;
	}
	if (t.unparsed) {
		lt_err("trace: %lu records from the BPF programs were no known event",
		       t.unparsed);
		ret = LT_EXIT_ERROR;
	}
out:
	ring_buffer__free(rb);
	trace_bpf__destroy(skel);
	return ret;
}
