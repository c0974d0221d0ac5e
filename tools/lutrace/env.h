/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lutrace: what it reads of the running system besides kernel memory:
 * /proc/kallsyms and who may read its addresses, capabilities, the PCI
 * devices in sysfs, whether a kernel is loaded for kexec. No libbpf: the
 * unit tests use it too.
 */
#ifndef LUTRACE_ENV_H
#define LUTRACE_ENV_H

#include <stdbool.h>
#include "decode.h"

/* Not in older <linux/capability.h> */
#define LT_CAP_SYSLOG	34
#define LT_CAP_PERFMON	38
#define LT_CAP_BPF	39

/* Whether the process has the effective capability @cap */
bool lt_capable(unsigned int cap);

/*
 * Looks @sym up in @path (/proc/kallsyms): 1 found with its address, 0 not
 * there, LT_KSYM_HIDDEN there but with its address hidden, -errno the file
 * cannot be read.
 */
#define LT_KSYM_HIDDEN	2
int lt_kallsyms_find(const char *path, const char *sym);

/* kernel.kptr_restrict (0, 1, 2), or -1 if it cannot be read */
int lt_kptr_restrict(void);

/*
 * Why /proc/kallsyms shows this process no addresses, given
 * kernel.kptr_restrict (-1: unknown) and whether it has CAP_SYSLOG: the
 * message lutrace prints.
 */
const char *lt_kallsyms_hidden_why(int kptr_restrict, bool cap_syslog);

/*
 * Adds the PCI devices of @root (a sysfs directory laid out like
 * /sys/bus/pci/devices: links named DDDD:BB:DD.F) to @s, in address order:
 * their driver, whether they are in an IOMMU group, their command register
 * and the bridge upstream of each. 0 or -errno (-ENOENT: no @root, which
 * is not "no device"; -E2BIG: more than LT_MAX_PCI).
 */
int lt_read_pci(struct lt_snapshot *s, const char *root);

/* The first line of @path (/proc/cmdline), malloc'd; NULL if unreadable */
char *lt_read_line(const char *path);

/* /sys/kernel/kexec_loaded: 1 a kernel is loaded, 0 none, -errno */
int lt_kexec_loaded(void);

#endif /* LUTRACE_ENV_H */
