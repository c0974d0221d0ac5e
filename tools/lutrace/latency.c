// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace latency: attach the kprobe pairs of latency.bpf.c by name, skip
 * the functions this kernel does not have, and print the histograms.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "hist.h"
#include "lutrace.h"
#include "latency.skel.h"

static int lt_silent(enum libbpf_print_level level, const char *fmt,
		     va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static void lt_latency_usage(FILE *out)
{
	fprintf(out, "Usage: lutrace [-j|-p] latency [INTERVAL [COUNT]]\n");
}

/* Longest interval accepted: a day */
#define LT_MAX_INTERVAL		86400
#define LT_MAX_COUNT		1000000

static int lt_parse_uint(const char *s, const char *what, unsigned long max,
			 unsigned long *v)
{
	char *end;

	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno || *end || !*s || *s == '-' || *s == '+' || *v == 0 ||
	    *v > max) {
		lt_err("latency: %s '%s' is not a whole number from 1 to %lu",
		       what, s, max);
		return -EINVAL;
	}
	return 0;
}

/*
 * The local time of @ts in RFC 3339, with microseconds and the zone's
 * offset: 2026-11-30T17:01:02.123456+01:00.
 */
static void lt_rfc3339(const struct timespec *ts, char *buf, size_t size)
{
	char date[32], zone[8];
	struct tm tm;

	localtime_r(&ts->tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	/* strftime's %z is +hhmm; RFC 3339 wants +hh:mm */
	strftime(zone, sizeof(zone), "%z", &tm);
	snprintf(buf, size, "%s.%06ld%.3s:%.2s", date,
		 ts->tv_nsec / 1000 % 1000000, zone, zone + 3);
}

/*
 * The histograms only grow in the kernel: each interval prints the
 * difference to the previous one (@prev), so that nothing counted while
 * printing is lost. Returns how many were non-empty, or -errno if the
 * histograms could not be read.
 */
static int lt_print_hists(const struct lt_opts *o, int fd,
			  struct lt_hist *prev)
{
	struct lt_hist h;
	struct jw w;
	unsigned int op, obj, i;
	struct timespec now;
	char ts[64];
	int n = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	if (o->fmt == LT_FMT_TEXT) {
		strftime(ts, sizeof(ts), "%H:%M:%S", localtime(&now.tv_sec));
		printf("\n%s\n", ts);
	} else {
		lt_rfc3339(&now, ts, sizeof(ts));
		jw_init(&w, stdout, o->fmt == LT_FMT_PRETTY);
		jw_obj_begin(&w);
		jw_kstr(&w, "time", ts);
		jw_key(&w, "histograms");
		jw_arr_begin(&w);
	}
	for (op = 0; op < LT_NR_OPS; op++) {
		for (obj = 0; obj < LT_NR_OBJS; obj++) {
			__u32 key = op * LT_NR_OBJS + obj;
			struct lt_hist *p = &prev[key], d;

			if (bpf_map_lookup_elem(fd, &key, &h)) {
				n = -errno;
				lt_err("latency: cannot read the %s %s histogram: %s",
				       lt_op_name(op), lt_obj_name(obj),
				       strerror(errno));
				goto end;
			}
			d = h;
			for (i = 0; i < LT_HIST_SLOTS; i++)
				d.slots[i] -= p->slots[i];
			d.count -= p->count;
			d.total_ns -= p->total_ns;
			/* max_ns stays the largest since the start */
			*p = h;
			if (!d.count)
				continue;
			n++;
			if (o->fmt == LT_FMT_TEXT)
				lt_hist_print_text(stdout, op, obj, &d);
			else
				lt_hist_print_json(&w, op, obj, &d);
		}
	}
end:
	if (o->fmt == LT_FMT_TEXT) {
		if (!n)
			printf("no preserve, unpreserve or restore operation\n");
	} else {
		jw_arr_end(&w);
		jw_obj_end(&w);
		jw_end(&w);
	}
	fflush(stdout);
	return n;
}

int lt_cmd_latency(const struct lt_opts *o, int argc, char **argv)
{
	unsigned long interval = 0, count = 0;
	struct bpf_link **links = NULL;
	struct latency_bpf *skel;
	libbpf_print_fn_t old_print = NULL;
	struct lt_hist prev[LT_NR_OPS * LT_NR_OBJS] = {};
	struct bpf_program *prog;
	sigset_t sigs;
	int i, fd, err, nr_links = 0, nr_missing = 0, ret = LT_EXIT_ERROR;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			lt_latency_usage(stdout);
			return LT_EXIT_OK;
		}
	}
	if (argc > 3) {
		lt_err("latency: too many arguments");
		lt_latency_usage(stderr);
		return LT_EXIT_USAGE;
	}
	if (argc > 1 && lt_parse_uint(argv[1], "interval", LT_MAX_INTERVAL,
				      &interval))
		return LT_EXIT_USAGE;
	if (argc > 2 && lt_parse_uint(argv[2], "count", LT_MAX_COUNT, &count))
		return LT_EXIT_USAGE;
	if (!lt_preflight(false))
		return LT_EXIT_ERROR;

	skel = latency_bpf__open_and_load();
	if (!skel) {
		lt_err("latency: cannot load the BPF programs: %s (run with -v for libbpf's messages)",
		       strerror(errno));
		return LT_EXIT_ERROR;
	}
	bpf_object__for_each_program(prog, skel->obj)
		nr_links++;
	links = calloc(nr_links, sizeof(*links));
	if (!links) {
		lt_err("latency: out of memory");
		goto out;
	}
	nr_links = 0;
	/*
	 * Each kprobe/kretprobe is attached by the function its section
	 * names; libbpf's warning for an absent one is noise unless -v.
	 */
	if (!o->verbose)
		old_print = libbpf_set_print(lt_silent);
	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_link *l = bpf_program__attach(prog);

		if (l) {
			links[nr_links++] = l;
			continue;
		}
		/*
		 * The kernel says ENOENT for a function it does not have;
		 * any other error leaves a function it has untimed: the
		 * histograms would be silently incomplete.
		 */
		err = errno;
		if (err != ENOENT) {
			if (!o->verbose)
				libbpf_set_print(old_print);
			lt_err("latency: cannot attach %s: %s",
			       bpf_program__section_name(prog), strerror(err));
			goto out;
		}
		nr_missing++;
		if (o->verbose)
			fprintf(stderr, "lutrace: latency: %s: not in this kernel, skipped\n",
				bpf_program__section_name(prog));
	}
	if (!o->verbose)
		libbpf_set_print(old_print);
	if (!nr_links) {
		lt_err("latency: none of the live update functions can be probed in this kernel (needs CONFIG_KPROBES)");
		goto out;
	}
	/*
	 * Ctrl-C is waited for, not caught: blocked, then taken with
	 * sigtimedwait(), so that one arriving just before the wait is not
	 * lost.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	fprintf(stderr, "Tracing IOMMU live update latency (%d probes, %d functions absent)... Hit Ctrl-C to end.\n",
		nr_links, nr_missing / 2);
	fd = bpf_map__fd(skel->maps.hists);
	if (!interval) {
		while (sigwaitinfo(&sigs, NULL) < 0 && errno == EINTR)
			;
		if (lt_print_hists(o, fd, prev) < 0)
			goto out;
	} else {
		for (;;) {
			struct timespec left = { .tv_sec = interval };
			int sig;

			do
				sig = sigtimedwait(&sigs, NULL, &left);
			while (sig < 0 && errno == EINTR);
			if (lt_print_hists(o, fd, prev) < 0)
				goto out;
			if (sig > 0 || (count && !--count))
				break;
		}
	}
	ret = LT_EXIT_OK;
out:
	for (i = 0; i < nr_links; i++)
		bpf_link__destroy(links[i]);
	free(links);
	latency_bpf__destroy(skel);
	return ret;
}
