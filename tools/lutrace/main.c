// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace: see the IOMMU live update state and trace the live update.
 *
 *   lutrace [OPTIONS] dump [--outgoing | --incoming]
 *   lutrace [OPTIONS] trace [--filter TYPE] [--duration SECONDS] [--boot]
 *   lutrace [OPTIONS] latency [INTERVAL [COUNT]]
 *
 * The manual is docs/lutrace.md.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "lutrace.h"

volatile int lt_exiting;

void lt_err(const char *fmt, ...)
{
	va_list ap;

	fputs("lutrace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void lt_on_signal(int sig)
{
	(void)sig;
	lt_exiting = 1;
}

void lt_handle_signals(void)
{
	struct sigaction sa = { .sa_handler = lt_on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static bool lt_verbose;

static int lt_libbpf_print(enum libbpf_print_level level, const char *fmt,
			   va_list ap)
{
	if (level == LIBBPF_DEBUG && !lt_verbose)
		return 0;
	if (level == LIBBPF_INFO && !lt_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void lt_libbpf_init(const struct lt_opts *o)
{
	lt_verbose = o->verbose;
	libbpf_set_print(lt_libbpf_print);
}

/*
 * Looks @sym up in /proc/kallsyms: 1 found with its address, 0 not there,
 * -EPERM there but with its address hidden (kptr_restrict, lockdown).
 */
static int lt_kallsyms_find(const char *sym)
{
	char line[512], name[256];
	unsigned long long addr;
	int found = 0;
	char type;
	FILE *f;

	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) == 3 &&
		    !strcmp(name, sym))
			found = addr ? 1 : -EPERM;
	fclose(f);
	return found;
}

/* Whether the process has the effective capability @cap */
static bool lt_capable(unsigned int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1U << (cap % 32));
}

bool lt_preflight(bool need_state)
{
	struct btf *btf;
	bool feature;
	int found;

	/* CAP_BPF and CAP_PERFMON are 39 and 38 (linux/capability.h >= 5.8) */
	if (!lt_capable(CAP_SYS_ADMIN) && !(lt_capable(39) && lt_capable(38))) {
		lt_err("must run as root: loading BPF programs and reading kernel memory needs CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON");
		return false;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		lt_err("this kernel has no BTF (/sys/kernel/btf/vmlinux: %s); lutrace needs a kernel built with CONFIG_DEBUG_INFO_BTF=y",
		       strerror(errno));
		return false;
	}
	btf = btf__load_vmlinux_btf();
	if (!btf) {
		lt_err("cannot read the kernel's BTF: %s", strerror(errno));
		return false;
	}
	feature = btf__find_by_name_kind(btf, "iommu_lu_state",
					 BTF_KIND_STRUCT) > 0 &&
		  btf__find_by_name_kind(btf, "btf_trace_iommu_lu_flb_preserve",
					 BTF_KIND_TYPEDEF) > 0;
	btf__free(btf);
	if (!feature) {
		lt_err("this kernel has no IOMMU live update support (no iommu_lu types in its BTF); it needs the IOMMU live update series and CONFIG_IOMMU_LIVEUPDATE=y");
		return false;
	}
	if (need_state) {
		found = lt_kallsyms_find("iommu_lu_flb");
		if (found == -EPERM) {
			lt_err("/proc/kallsyms hides kernel addresses (kernel.kptr_restrict, or lockdown): lutrace cannot find the IOMMU live update state");
			return false;
		}
		if (!found) {
			lt_err("iommu_lu_flb is not in /proc/kallsyms: lutrace needs CONFIG_KALLSYMS_ALL=y to find the IOMMU live update state");
			return false;
		}
	}
	if (access("/sys/class/misc/liveupdate", F_OK)) {
		lt_err("live update is disabled in this kernel (no /dev/liveupdate: booted with liveupdate=off or without KHO): nothing is preserved or restored");
		return false;
	}
	return true;
}

static void lt_usage(FILE *out)
{
	fprintf(out,
		"Usage: lutrace [OPTIONS] COMMAND [ARGS]\n"
		"See the IOMMU live update state and trace the live update.\n"
		"\n"
		"Commands:\n"
		"  dump [--outgoing | --incoming]\n"
		"        Print the preserved state: blocks, entries and, for the\n"
		"        incoming state, how each preserved device was matched.\n"
		"        Default: --outgoing.\n"
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
		"  -j, --json     JSON output (one document per line)\n"
		"  -p, --pretty   indented JSON output\n"
		"  -v, --verbose  print libbpf's messages\n"
		"  -h, --help     this help\n"
		"  -V, --version  print the version\n"
		"\n"
		"Exit status: 0 success, 1 failure (including a kernel lutrace cannot\n"
		"work on), 2 bad command line. Manual: docs/lutrace.md\n");
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
	const char *cmd;
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
	if (strcmp(cmd, "dump") && strcmp(cmd, "trace") &&
	    strcmp(cmd, "latency")) {
		lt_err("unknown command '%s'", cmd);
		lt_usage(stderr);
		return LT_EXIT_USAGE;
	}
	lt_libbpf_init(&o);
	if (!strcmp(cmd, "dump"))
		ret = lt_cmd_dump(&o, argc, argv);
	else if (!strcmp(cmd, "trace"))
		ret = lt_cmd_trace(&o, argc, argv);
	else
		ret = lt_cmd_latency(&o, argc, argv);
	/* Output that did not reach its file is a failure: say so */
	if (fflush(stdout) || ferror(stdout)) {
		lt_err("writing the output failed: %s", strerror(errno));
		return LT_EXIT_ERROR;
	}
	return ret;
}
