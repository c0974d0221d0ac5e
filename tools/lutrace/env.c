// SPDX-License-Identifier: GPL-2.0
/* lutrace: what it reads of the running system, see env.h */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include "env.h"

bool lt_capable(unsigned int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};

	if (syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1U << (cap % 32));
}

int lt_kallsyms_find(const char *path, const char *sym)
{
	char line[512], name[256];
	unsigned long long addr;
	int found = 0;
	char type;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) == 3 &&
		    !strcmp(name, sym))
			found = addr ? 1 : LT_KSYM_HIDDEN;
	fclose(f);
	return found;
}

int lt_kptr_restrict(void)
{
	FILE *f = fopen("/proc/sys/kernel/kptr_restrict", "r");
	int v;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

const char *lt_kallsyms_hidden_why(int kptr_restrict, bool cap_syslog)
{
	if (kptr_restrict == 1 && !cap_syslog)
		return "/proc/kallsyms hides kernel addresses from this process: with kernel.kptr_restrict=1 reading them needs CAP_SYSLOG (CAP_BPF and CAP_PERFMON are not enough); run as root, add CAP_SYSLOG, or set kernel.kptr_restrict=0";
	if (kptr_restrict == 2)
		return "/proc/kallsyms hides kernel addresses from everyone (kernel.kptr_restrict=2): set it to 0 or 1 to let lutrace find the IOMMU live update state";
	return "/proc/kallsyms hides kernel addresses although kernel.kptr_restrict allows them (kernel lockdown?): lutrace cannot find the IOMMU live update state";
}

/* "DDDD:BB:DD.F" into a segment and a bdf; false if it is not one */
static bool lt_parse_pci(const char *name, __u32 *segment, __u16 *bdf)
{
	unsigned int seg, bus, dev, fn;
	char end;

	if (sscanf(name, "%x:%x:%x.%u%c", &seg, &bus, &dev, &fn, &end) != 4 ||
	    bus > 0xff || dev > 0x1f || fn > 7)
		return false;
	*segment = seg;
	*bdf = bus << 8 | dev << 3 | fn;
	return true;
}

static int lt_pci_cmp(const void *a, const void *b)
{
	const struct lt_pci_dev *x = a, *y = b;

	if (x->segment != y->segment)
		return x->segment < y->segment ? -1 : 1;
	return (int)x->bdf - (int)y->bdf;
}

/* The command register (config space offset 4, little endian) */
static bool lt_pci_command(const char *dir, __u16 *command)
{
	unsigned char b[2];
	char path[PATH_MAX + 8];
	FILE *f;
	bool ok;

	if (snprintf(path, sizeof(path), "%s/config", dir) >= (int)sizeof(path))
		return false;
	f = fopen(path, "rb");
	if (!f)
		return false;
	ok = !fseek(f, 4, SEEK_SET) && fread(b, 1, 2, f) == 2;
	fclose(f);
	if (ok)
		*command = b[0] | b[1] << 8;
	return ok;
}

/* The device's own sysfs directory's parent, if that is a PCI device */
static void lt_pci_parent(const char *dir, struct lt_pci_dev *d)
{
	char real[PATH_MAX], *slash;

	if (!realpath(dir, real))
		return;
	slash = strrchr(real, '/');
	if (!slash)
		return;
	*slash = 0;
	slash = strrchr(real, '/');
	d->have_parent = lt_parse_pci(slash ? slash + 1 : real,
				      &d->parent_segment, &d->parent_bdf);
}

int lt_read_pci(struct lt_snapshot *s, const char *root)
{
	size_t first = s->nr_pci;
	struct dirent *de;
	DIR *dir;

	dir = opendir(root);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		char path[PATH_MAX + 16], link[PATH_MAX];
		struct lt_pci_dev d = {};
		ssize_t n;

		if (!lt_parse_pci(de->d_name, &d.segment, &d.bdf))
			continue;
		if (s->nr_pci >= LT_MAX_PCI) {
			closedir(dir);
			return -E2BIG;
		}
		snprintf(path, sizeof(path), "%s/%s/iommu_group", root,
			 de->d_name);
		d.iommu = !access(path, F_OK);
		snprintf(path, sizeof(path), "%s/%s/driver", root, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			const char *slash;

			link[n] = 0;
			slash = strrchr(link, '/');
			snprintf(d.driver, sizeof(d.driver), "%.31s",
				 slash ? slash + 1 : link);
		}
		snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
		d.have_command = lt_pci_command(path, &d.command);
		lt_pci_parent(path, &d);
		if (lt_snapshot_add_pci(s, &d)) {
			closedir(dir);
			return -ENOMEM;
		}
	}
	closedir(dir);
	qsort(s->pci + first, s->nr_pci - first, sizeof(*s->pci), lt_pci_cmp);
	return 0;
}

char *lt_read_line(const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = getline(&line, &cap, f);
	fclose(f);
	if (n < 0) {
		free(line);
		return NULL;
	}
	if (n && line[n - 1] == '\n')
		line[n - 1] = 0;
	return line;
}

int lt_kexec_loaded(void)
{
	FILE *f = fopen("/sys/kernel/kexec_loaded", "r");
	int v;

	if (!f)
		return -errno;
	if (fscanf(f, "%d", &v) != 1)
		v = -EINVAL;
	fclose(f);
	return v;
}
