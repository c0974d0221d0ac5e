/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lutrace: what the commands share (common.c): error messages, the check
 * that lutrace can run on this kernel, libbpf's logging, signals.
 */
#ifndef LUTRACE_H
#define LUTRACE_H

#include <stdbool.h>
#include "decode.h"

#ifndef LUTRACE_VERSION
#define LUTRACE_VERSION "unknown"
#endif

struct lt_opts {
	enum lt_format fmt;
	bool verbose;
};

/* Exit statuses (check has its own, see verdict.h) */
#define LT_EXIT_OK	0
#define LT_EXIT_ERROR	1	/* the command failed, or cannot run here */
#define LT_EXIT_USAGE	2	/* bad command line */

/*
 * "lutrace: " + message on stderr; with -j or -p also {"error":"message"}
 * on stdout, one line, so that a JSON reader of the output sees why there
 * is no document (as bpftool does).
 */
void lt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The message of the last lt_err(), "" if none */
const char *lt_last_error(void);

/* What lt_preflight_need() checks besides root, BTF and the feature */
#define LT_NEED_STATE		(1U << 0)	/* the state's address: dump, check */
#define LT_NEED_LIVEUPDATE	(1U << 1)	/* live update on: /dev/liveupdate */

/*
 * Checks that lutrace can run on this kernel: root (CAP_SYS_ADMIN, or
 * CAP_BPF and CAP_PERFMON), BTF, the IOMMU live update feature, and what
 * @need names (LT_NEED_*): with LT_NEED_STATE, iommu_lu_flb's address in
 * /proc/kallsyms (readable with CAP_SYSLOG or kernel.kptr_restrict=0);
 * with LT_NEED_LIVEUPDATE, live update enabled. A command that only reads
 * tracefs (trace --boot) needs neither. Says what is missing and returns
 * false.
 */
bool lt_preflight_need(unsigned int need);

/*
 * Whether kernel symbol @sym is in /proc/kallsyms: 1, 0 if not, or -1 with
 * the error said (unreadable, or addresses hidden), naming @what lutrace
 * looks for through it.
 */
int lt_ksym_lookup(const char *sym, const char *what);

/* lt_preflight_need(LT_NEED_LIVEUPDATE | (@need_state ? LT_NEED_STATE : 0)) */
bool lt_preflight(bool need_state);

/* Sets up lt_err's format and libbpf's logging (warnings, or all with -v) */
void lt_init(const struct lt_opts *o);

/*
 * Adds the names of the running kernel's enum @name (its BTF) to @s as
 * reason codes (lt_snapshot_add_reason()); nothing if the kernel has no
 * such enum. 0 or -errno.
 */
int lt_btf_enum_codes(const char *name, const char *prefix,
		      struct lt_snapshot *s);

/*
 * Reads the state of this kernel in one direction into @s, with the PCI
 * devices, the reason codes and (outgoing) the live device entries
 * (dump.c). LT_EXIT_OK, or LT_EXIT_ERROR with the error said.
 */
int lt_snapshot_take(struct lt_snapshot *s, bool incoming);

/* Set by SIGINT/SIGTERM */
extern volatile int lt_exiting;
void lt_handle_signals(void);

int lt_cmd_dump(const struct lt_opts *o, int argc, char **argv);
int lt_cmd_check(const struct lt_opts *o, int argc, char **argv);
int lt_cmd_diff(const struct lt_opts *o, int argc, char **argv);
int lt_cmd_trace(const struct lt_opts *o, int argc, char **argv);
int lt_cmd_latency(const struct lt_opts *o, int argc, char **argv);
int lt_cmd_timeline(const struct lt_opts *o, int argc, char **argv);

#endif /* LUTRACE_H */
