// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace: what the commands share, see lutrace.h. What lutrace reads of
 * the system besides kernel memory (kallsyms, capabilities, sysfs) is in
 * env.c, without libbpf, so that the unit tests can use it.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "env.h"
#include "json.h"
#include "lutrace.h"

volatile int lt_exiting;

static bool lt_verbose;
static bool lt_json_errors;
static char lt_last_msg[1024];

const char *lt_last_error(void)
{
	return lt_last_msg;
}

void lt_err(const char *fmt, ...)
{
	char *msg = lt_last_msg;
	struct jw w;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(lt_last_msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "lutrace: %s\n", msg);
	if (!lt_json_errors)
		return;
	jw_init(&w, stdout, false);
	jw_obj_begin(&w);
	jw_kstr(&w, "error", msg);
	jw_obj_end(&w);
	jw_end(&w);
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

static int lt_libbpf_print(enum libbpf_print_level level, const char *fmt,
			   va_list ap)
{
	if (level != LIBBPF_WARN && !lt_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void lt_init(const struct lt_opts *o)
{
	lt_verbose = o->verbose;
	lt_json_errors = o->fmt != LT_FMT_TEXT;
	libbpf_set_print(lt_libbpf_print);
}

int lt_ksym_lookup(const char *sym, const char *what)
{
	int found = lt_kallsyms_find("/proc/kallsyms", sym);

	if (found < 0) {
		lt_err("cannot read /proc/kallsyms: %s: lutrace finds %s through it",
		       strerror(-found), what);
		return -1;
	}
	if (found == LT_KSYM_HIDDEN) {
		lt_err("%s", lt_kallsyms_hidden_why(lt_kptr_restrict(),
						   lt_capable(LT_CAP_SYSLOG)));
		return -1;
	}
	return found ? 1 : 0;
}

bool lt_preflight_need(unsigned int need)
{
	struct btf *btf;
	bool feature;
	int found;

	if (!lt_capable(CAP_SYS_ADMIN) &&
	    !(lt_capable(LT_CAP_BPF) && lt_capable(LT_CAP_PERFMON))) {
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
	if (need & LT_NEED_STATE) {
		found = lt_ksym_lookup("iommu_lu_flb",
				       "the IOMMU live update state");
		if (found < 0)
			return false;
		if (!found) {
			lt_err("iommu_lu_flb is not in /proc/kallsyms: lutrace needs CONFIG_KALLSYMS_ALL=y to find the IOMMU live update state");
			return false;
		}
	}
	if ((need & LT_NEED_LIVEUPDATE) &&
	    access("/sys/class/misc/liveupdate", F_OK)) {
		lt_err("live update is disabled in this kernel (no /dev/liveupdate: booted with liveupdate=off or without KHO): nothing is preserved or restored");
		return false;
	}
	return true;
}

bool lt_preflight(bool need_state)
{
	return lt_preflight_need(LT_NEED_LIVEUPDATE |
				 (need_state ? LT_NEED_STATE : 0));
}

/*
 * The names of enum @name in the running kernel's BTF, as lower-case kebab
 * codes without @prefix, indexed by value; 0 if the kernel has no such enum.
 */
int lt_btf_enum_codes(const char *name, const char *prefix,
		      struct lt_snapshot *s)
{
	const struct btf_enum *e;
	const struct btf_type *t;
	struct btf *btf;
	int id, i, err = 0;

	btf = btf__load_vmlinux_btf();
	if (!btf)
		return -errno;
	id = btf__find_by_name_kind(btf, name, BTF_KIND_ENUM);
	if (id <= 0)
		goto out;
	t = btf__type_by_id(btf, id);
	e = btf_enum(t);
	for (i = 0; i < btf_vlen(t) && !err; i++)
		err = lt_snapshot_add_reason(s, e[i].val,
					     btf__name_by_offset(btf, e[i].name_off),
					     prefix);
out:
	btf__free(btf);
	return err;
}
