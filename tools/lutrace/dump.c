// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace dump: run the dump BPF program once, collect its records into a
 * snapshot, add the PCI devices of this kernel, and print (decode.c).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lutrace.h"
#include "dump.skel.h"

/* The kernel's ENOTSUPP (not a user space errno) */
#define ENOTSUPP_KERNEL	524
/* Reads of a state that changes meanwhile before giving up */
#define LT_DUMP_ATTEMPTS	5

static int lt_on_record(void *ctx, void *data, size_t len)
{
	struct lt_snapshot *s = ctx;

	return lt_snapshot_add(s, data, len);
}

static int lt_pci_cmp(const void *a, const void *b)
{
	const struct lt_pci_dev *x = a, *y = b;

	if (x->segment != y->segment)
		return x->segment < y->segment ? -1 : 1;
	return (int)x->bdf - (int)y->bdf;
}

/* The PCI devices present, from sysfs, in address order */
static int lt_read_pci(struct lt_snapshot *s)
{
	const char *base = "/sys/bus/pci/devices";
	struct dirent *de;
	DIR *dir;

	dir = opendir(base);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir))) {
		unsigned int seg, bus, dev, fn;
		struct lt_pci_dev d = {};
		char path[PATH_MAX], link[PATH_MAX];
		ssize_t n;

		if (sscanf(de->d_name, "%x:%x:%x.%u", &seg, &bus, &dev, &fn) != 4)
			continue;
		d.segment = seg;
		d.bdf = (bus << 8) | (dev << 3) | fn;
		snprintf(path, sizeof(path), "%s/%s/iommu_group", base, de->d_name);
		d.iommu = !access(path, F_OK);
		snprintf(path, sizeof(path), "%s/%s/driver", base, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			const char *slash;

			link[n] = 0;
			slash = strrchr(link, '/');
			snprintf(d.driver, sizeof(d.driver), "%.31s",
				 slash ? slash + 1 : link);
		}
		if (lt_snapshot_add_pci(s, &d)) {
			closedir(dir);
			return -ENOMEM;
		}
	}
	closedir(dir);
	qsort(s->pci, s->nr_pci, sizeof(*s->pci), lt_pci_cmp);
	return 0;
}

static void lt_dump_usage(FILE *out)
{
	fprintf(out, "Usage: lutrace [-j|-p] dump [--outgoing | --incoming]\n");
}

int lt_cmd_dump(const struct lt_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "outgoing", no_argument, NULL, 'o' },
		{ "incoming", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct lt_dump_args args = {};
	/* A syscall program writes its results back into ctx_in */
	LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = &args,
		    .ctx_size_in = sizeof(args));
	struct lt_snapshot s = {};
	struct ring_buffer *rb = NULL;
	struct dump_bpf *skel;
	int c, err, attempt, ret = LT_EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "oih", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			args.incoming = 0;
			break;
		case 'i':
			args.incoming = 1;
			break;
		case 'h':
			lt_dump_usage(stdout);
			return LT_EXIT_OK;
		default:
			lt_dump_usage(stderr);
			return LT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		lt_err("dump: unexpected argument '%s'", argv[optind]);
		lt_dump_usage(stderr);
		return LT_EXIT_USAGE;
	}
	if (!lt_preflight(true))
		return LT_EXIT_ERROR;

	skel = dump_bpf__open_and_load();
	if (!skel) {
		lt_err("dump: cannot load the BPF program: %s (run with -v for libbpf's messages)",
		       strerror(errno));
		return LT_EXIT_ERROR;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.records), lt_on_record,
			      &s, NULL);
	if (!rb) {
		lt_err("dump: cannot set up the ring buffer: %s", strerror(errno));
		goto out;
	}
	/*
	 * A state that changed hands while it was read (preserved files
	 * closed, the session finished) is read again.
	 */
	for (attempt = 0; ; attempt++) {
		lt_snapshot_free(&s);
		s.incoming = args.incoming;
		err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.dump),
					     &topts);
		if (err == -ENOTSUPP_KERNEL) {
			lt_err("dump: this kernel cannot run BPF syscall programs (BPF_PROG_TEST_RUN of a syscall program needs CONFIG_NET=y)");
			goto out;
		}
		if (err) {
			lt_err("dump: running the BPF program failed: %s",
			       strerror(-err));
			goto out;
		}
		if (args.err == -ENOENT) {
			lt_err("dump: the IOMMU live update state (iommu_lu_flb) is not in this kernel");
			goto out;
		}
		if (args.err == -ERANGE) {
			lt_err("dump: page_offset_base or max_pfn is not in /proc/kallsyms: lutrace cannot tell RAM from other addresses");
			goto out;
		}
		err = ring_buffer__consume(rb);
		if (err < 0) {
			lt_err("dump: reading the records failed: %s", strerror(-err));
			goto out;
		}
		if (args.err != -EAGAIN)
			break;
		if (attempt == LT_DUMP_ATTEMPTS - 1) {
			lt_err("dump: the state kept changing while it was read (%d attempts); try again when the session is quiet",
			       LT_DUMP_ATTEMPTS);
			goto out;
		}
	}
	s.err = args.err;
	s.lost = args.lost;
	if (s.incoming) {
		err = lt_read_pci(&s);
		if (err) {
			lt_err("dump: cannot list the PCI devices: %s", strerror(-err));
			goto out;
		}
	}
	/* Problems in the state are reported in the output, not as failure */
	if (lt_dump_print(&s, stdout, o->fmt) < 0)
		lt_err("dump: out of memory");
	else
		ret = LT_EXIT_OK;
out:
	ring_buffer__free(rb);
	dump_bpf__destroy(skel);
	lt_snapshot_free(&s);
	return ret;
}
