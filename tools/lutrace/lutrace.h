/* SPDX-License-Identifier: GPL-2.0 */
/* lutrace: what the commands share. */
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

/* Exit statuses */
#define LT_EXIT_OK	0
#define LT_EXIT_ERROR	1	/* the command failed, or cannot run here */
#define LT_EXIT_USAGE	2	/* bad command line */

/* "lutrace: " + message on stderr */
void lt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Checks that lutrace can run on this kernel: root, BTF, the IOMMU live
 * update feature, with @need_state the state's address in /proc/kallsyms,
 * live update enabled. Says what is missing and returns false.
 */
bool lt_preflight(bool need_state);

/* Sets up libbpf logging (warnings, or everything with -v) */
void lt_libbpf_init(const struct lt_opts *o);

/* Set by SIGINT/SIGTERM */
extern volatile int lt_exiting;
void lt_handle_signals(void);

int lt_cmd_dump(const struct lt_opts *o, int argc, char **argv);
int lt_cmd_trace(const struct lt_opts *o, int argc, char **argv);
int lt_cmd_latency(const struct lt_opts *o, int argc, char **argv);

#endif /* LUTRACE_H */
