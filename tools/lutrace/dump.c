// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace dump: run the dump BPF program, collect its records into a
 * snapshot with what else the model needs of this system (the PCI
 * devices, the kernel's reason codes, the live device entries), and print
 * it (decode.c); or print a snapshot saved with -j (--from).
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
#include "verdict.h"
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

/* One run of the dump program; LT_EXIT_OK or the error said */
static int lt_dump_run(struct dump_bpf *skel, struct ring_buffer *rb,
		       struct lt_dump_args *args)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts, .ctx_in = args,
		    .ctx_size_in = sizeof(*args));
	int err;

	/* A syscall program writes its results back into ctx_in */
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.dump), &topts);
	if (err == -ENOTSUPP_KERNEL) {
		lt_err("dump: this kernel cannot run BPF syscall programs (BPF_PROG_TEST_RUN of a syscall program needs CONFIG_NET=y)");
		return LT_EXIT_ERROR;
	}
	if (err) {
		lt_err("dump: running the BPF program failed: %s", strerror(-err));
		return LT_EXIT_ERROR;
	}
	if (args->err == -ENOENT) {
		lt_err("dump: the IOMMU live update state (iommu_lu_flb) is not in this kernel");
		return LT_EXIT_ERROR;
	}
	if (args->err == -ERANGE) {
		lt_err("dump: page_offset_base or max_pfn is not in /proc/kallsyms: lutrace cannot tell RAM from other addresses");
		return LT_EXIT_ERROR;
	}
	err = ring_buffer__consume(rb);
	if (err < 0) {
		lt_err("dump: reading the records failed: %s", strerror(-err));
		return LT_EXIT_ERROR;
	}
	return LT_EXIT_OK;
}

/*
 * Outgoing: read back the live entries of the preserved devices, for
 * check to compare with what was recorded
 */
static int lt_dump_mem(struct dump_bpf *skel, struct ring_buffer *rb,
		       struct lt_snapshot *s)
{
	struct lt_dump_args args = {};
	struct lt_model m;
	int ret;

	if (lt_model_build(&m, s)) {
		lt_err("dump: out of memory");
		return LT_EXIT_ERROR;
	}
	args.nr_mem = lt_verdict_mem_reqs(&m, skel->bss->lt_mem_req, LT_MEM_MAX);
	lt_model_free(&m);
	if (!args.nr_mem)
		return LT_EXIT_OK;
	ret = lt_dump_run(skel, rb, &args);
	s->lost += args.lost;
	return ret;
}

int lt_snapshot_take(struct lt_snapshot *s, bool incoming)
{
	struct lt_dump_args args = { .incoming = incoming };
	struct ring_buffer *rb = NULL;
	struct dump_bpf *skel;
	int err, attempt, ret = LT_EXIT_ERROR;

	memset(s, 0, sizeof(*s));
	skel = dump_bpf__open_and_load();
	if (!skel) {
		lt_err("dump: cannot load the BPF program: %s (run with -v for libbpf's messages)",
		       strerror(errno));
		return LT_EXIT_ERROR;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.records), lt_on_record,
			      s, NULL);
	if (!rb) {
		lt_err("dump: cannot set up the ring buffer: %s", strerror(errno));
		goto out;
	}
	/*
	 * A state that changed hands while it was read (preserved files
	 * closed, the session finished) is read again.
	 */
	for (attempt = 0; ; attempt++) {
		lt_snapshot_free(s);
		s->incoming = incoming;
		if (lt_dump_run(skel, rb, &args))
			goto out;
		if (args.err != -EAGAIN)
			break;
		if (attempt == LT_DUMP_ATTEMPTS - 1) {
			lt_err("dump: the state kept changing while it was read (%d attempts); try again when the session is quiet",
			       LT_DUMP_ATTEMPTS);
			goto out;
		}
	}
	s->err = args.err;
	s->lost = args.lost;
	s->truncated = args.truncated;
	if (s->have_kexec && s->kexec.err == -ENOENT) {
		/*
		 * Without kexec_image's address, sysfs says if one is loaded;
		 * if it cannot, whether one is is not known
		 */
		err = lt_kexec_loaded();
		s->kexec.loaded = err > 0;
		s->have_kexec = err >= 0;
	}
	/* What this kernel needed on its command line, the next one needs */
	if (!incoming)
		s->cmdline = lt_read_line("/proc/cmdline");
	err = lt_read_pci(s, "/sys/bus/pci/devices");
	if (err) {
		lt_err("dump: cannot list the PCI devices in /sys/bus/pci/devices: %s",
		       strerror(-err));
		goto out;
	}
	err = lt_btf_enum_codes("iommu_lu_reason", "IOMMU_LU_REASON_", s);
	if (err) {
		lt_err("dump: cannot read the refusal reasons from the kernel's BTF: %s",
		       strerror(-err));
		goto out;
	}
	if (!incoming && s->have_state && s->state.obj)
		ret = lt_dump_mem(skel, rb, s);
	else
		ret = LT_EXIT_OK;
out:
	ring_buffer__free(rb);
	dump_bpf__destroy(skel);
	if (ret)
		lt_snapshot_free(s);
	return ret;
}

static void lt_dump_usage(FILE *out)
{
	fprintf(out, "Usage: lutrace [-j|-p] dump [--outgoing | --incoming | --from FILE]\n");
}

int lt_cmd_dump(const struct lt_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "outgoing", no_argument, NULL, 'o' },
		{ "incoming", no_argument, NULL, 'i' },
		{ "from", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *from = NULL;
	struct lt_snapshot s;
	bool incoming = false, direction = false;
	char err[512];
	int c, ret;

	while ((c = getopt_long(argc, argv, "oif:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
		case 'i':
			incoming = c == 'i';
			direction = true;
			break;
		case 'f':
			from = optarg;
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
	if (from && direction) {
		lt_err("dump: --from replays the direction the dump was taken in; --outgoing and --incoming do not go with it");
		lt_dump_usage(stderr);
		return LT_EXIT_USAGE;
	}
	if (from) {
		if (lt_snapshot_load(&s, from, err, sizeof(err))) {
			lt_err("dump: %s", err);
			return LT_EXIT_ERROR;
		}
	} else {
		if (!lt_preflight_need(LT_NEED_STATE | LT_NEED_LIVEUPDATE))
			return LT_EXIT_ERROR;
		ret = lt_snapshot_take(&s, incoming);
		if (ret)
			return ret;
	}
	/* Problems in the state are reported in the output, not as failure */
	ret = LT_EXIT_OK;
	if (lt_dump_print(&s, stdout, o->fmt) < 0) {
		lt_err("dump: out of memory");
		ret = LT_EXIT_ERROR;
	}
	lt_snapshot_free(&s);
	return ret;
}
