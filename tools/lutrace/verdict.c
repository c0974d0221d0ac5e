// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace check: the verdict on a model of the state, see verdict.h. Pure
 * logic on the snapshot (and, for --next-kernel, a file), so that a saved
 * dump is judged as the live state would be, and the unit tests judge
 * crafted ones.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "verdict.h"

const char *lt_check_status_name(int status)
{
	static const char *const names[] = { "OK", "WARNING", "CRITICAL",
					     "UNKNOWN" };

	return status >= 0 && status <= LT_CHECK_UNKNOWN ? names[status] :
	       "UNKNOWN";
}

/* How bad a status is, for the overall one: CRITICAL > UNKNOWN > WARNING */
static int lt_severity(int status)
{
	static const int rank[] = { 0, 1, 3, 2 };

	return rank[status];
}

static void __attribute__((format(printf, 5, 6)))
lt_set(struct lt_finding *f, int status, const char *code,
       const char *subject, const char *fmt, ...)
{
	va_list ap;

	f->status = status;
	f->code = code;
	snprintf(f->subject, sizeof(f->subject), "%s", subject);
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
}

static struct lt_finding *lt_add(struct lt_verdict *v)
{
	void *p = realloc(v->f, (v->nr + 1) * sizeof(*v->f));

	if (!p)
		return NULL;
	v->f = p;
	memset(&v->f[v->nr], 0, sizeof(*v->f));
	return &v->f[v->nr++];
}

#define LT_ADD(v, ...)							\
	do {								\
		struct lt_finding *f_ = lt_add(v);			\
		if (!f_)						\
			return -ENOMEM;					\
		lt_set(f_, __VA_ARGS__);				\
	} while (0)

/* LT_ADD() for a function with something to free: goes to @label */
#define LT_ADD_OR(v, label, ...)					\
	do {								\
		struct lt_finding *f_ = lt_add(v);			\
		if (!f_)						\
			goto label;					\
		lt_set(f_, __VA_ARGS__);				\
	} while (0)

/* kstrtobool(): y, t, 1, on true; n, f, 0, off false; -1 neither */
static int lt_strtobool(const char *s)
{
	if (!s)
		return -1;
	switch (s[0]) {
	case 'y': case 'Y': case 't': case 'T': case '1':
		return 1;
	case 'n': case 'N': case 'f': case 'F': case '0':
		return 0;
	case 'o': case 'O':
		if (s[1] == 'n' || s[1] == 'N')
			return 1;
		if (s[1] == 'f' || s[1] == 'F')
			return 0;
	}
	return -1;
}

/* What a command line says of the parameters check looks at */
struct lt_cmdline {
	const char *luo;	/* liveupdate= value ("" bare), NULL: absent */
	int kho;		/* kho=: 1 on, 0 off, -1 absent */
	int intel;		/* intel_iommu= on / off: 1, 0, -1 absent */
	int intel_sm;		/* intel_iommu= sm_on / sm_off: 1, 0, -1 */
	bool amd_off;		/* amd_iommu=off */
	bool iommu_off;		/* iommu=off */
	const char *pt;		/* what asks for passthrough, NULL: none */
};

/* Parses @cmdline (modified) as the kernel does: the last word wins */
static void lt_cmdline_parse(char *cmdline, struct lt_cmdline *c)
{
	char *p, *word, *opt;

	memset(c, 0, sizeof(*c));
	c->kho = c->intel = c->intel_sm = -1;
	for (p = cmdline; (word = strsep(&p, " \t\n"));) {
		char *val = strchr(word, '=');

		if (!*word)
			continue;
		/* What follows "--" is for init, not for the kernel */
		if (!strcmp(word, "--"))
			break;
		if (val)
			*val++ = 0;
		if (!strcmp(word, "liveupdate")) {
			c->luo = val ? val : "";
		} else if (!strcmp(word, "kho") && lt_strtobool(val) >= 0) {
			c->kho = lt_strtobool(val);
		} else if (!strcmp(word, "intel_iommu") && val) {
			/* Comma separated options, each as the driver reads it */
			while ((opt = strsep(&val, ","))) {
				if (!strncmp(opt, "on", 2))
					c->intel = 1;
				else if (!strncmp(opt, "off", 3))
					c->intel = 0;
				else if (!strncmp(opt, "sm_on", 5))
					c->intel_sm = 1;
				else if (!strncmp(opt, "sm_off", 6))
					c->intel_sm = 0;
			}
		} else if (!strcmp(word, "amd_iommu") && val) {
			while ((opt = strsep(&val, ",")))
				if (!strncmp(opt, "off", 3))
					c->amd_off = true;
		} else if (!strcmp(word, "iommu") && val) {
			while ((opt = strsep(&val, ","))) {
				if (!strncmp(opt, "off", 3))
					c->iommu_off = true;
				else if (!strncmp(opt, "nopt", 4))
					c->pt = NULL;
				else if (!strncmp(opt, "pt", 2))
					c->pt = "iommu=pt";
			}
		} else if (!strcmp(word, "iommu.passthrough")) {
			c->pt = lt_strtobool(val) == 1 ? "iommu.passthrough=1" :
				NULL;
		}
	}
}

#define LT_NEXT	"next kernel"

int lt_cmdline_verdict(struct lt_verdict *v, const char *next,
		       const char *now, const struct lt_units *units)
{
	char *ncopy = strdup(next), *tcopy = now ? strdup(now) : NULL;
	bool iommu = units->vtd || units->amdvi;
	struct lt_cmdline n, t;
	size_t first = v->nr;
	int ret = -ENOMEM;

	if (!ncopy || (now && !tcopy))
		goto out;
	lt_cmdline_parse(ncopy, &n);
	lt_cmdline_parse(tcopy ? tcopy : (char[]){ "" }, &t);
	/* Live update is off unless asked for, whatever the build */
	if (!n.luo || lt_strtobool(n.luo) != 1) {
		char val[64];

		if (n.luo)
			LT_ADD_OR(v, out, LT_CHECK_CRITICAL,
				  "cmdline-disables-liveupdate", LT_NEXT,
				  "the next kernel's command line has liveupdate=%s: it will not take the preserved state over",
				  lt_text_safe(n.luo, val, sizeof(val)));
		else
			LT_ADD_OR(v, out, LT_CHECK_CRITICAL,
				  "cmdline-disables-liveupdate", LT_NEXT,
				  "the next kernel's command line has no liveupdate=on: live update is off by default, it will not take the preserved state over");
	}
	if (!n.kho)
		LT_ADD_OR(v, out, LT_CHECK_CRITICAL, "cmdline-disables-kho",
			  LT_NEXT, "the next kernel's command line has kho=off: kexec handover off, the state is not handed over");
	else if (n.kho < 0 && t.kho == 1)
		LT_ADD_OR(v, out, LT_CHECK_CRITICAL, "cmdline-disables-kho",
			  LT_NEXT, "this kernel was booted with kho=on, the next kernel's command line does not have it: KHO is then its build's default (CONFIG_KEXEC_HANDOVER_ENABLE_DEFAULT, off upstream)");
	else if (n.kho < 0)
		LT_ADD_OR(v, out, LT_CHECK_WARNING, "cmdline-default", LT_NEXT,
			  "the next kernel's command line does not set kho=on: kexec handover depends on the next kernel's build default (CONFIG_KEXEC_HANDOVER_ENABLE_DEFAULT, off upstream)");
	if (iommu && n.iommu_off)
		LT_ADD_OR(v, out, LT_CHECK_CRITICAL, "cmdline-disables-iommu",
			  LT_NEXT, "the next kernel's command line has iommu=off: the IOMMU off, the preserved devices' DMA is not translated");
	if (units->vtd && !n.intel)
		LT_ADD_OR(v, out, LT_CHECK_CRITICAL, "cmdline-disables-iommu",
			  LT_NEXT, "the next kernel's command line has intel_iommu=off: VT-d off, the preserved VT-d state is not adopted");
	else if (units->vtd && n.intel < 0 && t.intel == 1)
		LT_ADD_OR(v, out, LT_CHECK_CRITICAL, "cmdline-disables-iommu",
			  LT_NEXT, "this kernel was booted with intel_iommu=on, the next kernel's command line does not have it: VT-d is then its build's default (CONFIG_INTEL_IOMMU_DEFAULT_ON)");
	else if (units->vtd && n.intel < 0)
		LT_ADD_OR(v, out, LT_CHECK_WARNING, "cmdline-default", LT_NEXT,
			  "the next kernel's command line does not set intel_iommu=on: VT-d depends on the next kernel's build default (CONFIG_INTEL_IOMMU_DEFAULT_ON)");
	if ((n.intel_sm == 1 && units->vtd_legacy) ||
	    (n.intel_sm == 0 && units->vtd_sm))
		LT_ADD_OR(v, out, LT_CHECK_CRITICAL, "cmdline-vtd-mode", LT_NEXT,
			  "the next kernel's command line has intel_iommu=%s, the preserved VT-d unit is in %s mode: the next kernel will not adopt it",
			  n.intel_sm ? "sm_on" : "sm_off",
			  n.intel_sm ? "legacy" : "scalable");
	else if (n.intel_sm < 0 && ((t.intel_sm == 1 && units->vtd_sm) ||
				    (t.intel_sm == 0 && units->vtd_legacy)))
		LT_ADD_OR(v, out, LT_CHECK_CRITICAL, "cmdline-vtd-mode", LT_NEXT,
			  "this kernel was booted with intel_iommu=%s, the next kernel's command line does not have it: the VT-d mode is then its build's default (CONFIG_INTEL_IOMMU_SCALABLE_MODE_DEFAULT_ON)",
			  t.intel_sm ? "sm_on" : "sm_off");
	if (units->amdvi && n.amd_off)
		LT_ADD_OR(v, out, LT_CHECK_CRITICAL, "cmdline-disables-iommu",
			  LT_NEXT, "the next kernel's command line has amd_iommu=off: AMD-Vi off, the preserved AMD-Vi state is not adopted");
	if (iommu && n.pt)
		LT_ADD_OR(v, out, LT_CHECK_CRITICAL, "cmdline-iommu-passthrough",
			  LT_NEXT, "the next kernel's command line has %s: DMA passes the IOMMU untranslated by default",
			  n.pt);
	if (v->nr == first)
		LT_ADD_OR(v, out, LT_CHECK_OK, "cmdline-ok", LT_NEXT,
			  "the next kernel's command line turns live update on and leaves KHO and the IOMMU on");
	ret = 0;
out:
	free(ncopy);
	free(tcopy);
	return ret;
}

/* Chunks a kernel image is searched in, with overlap for a split string */
#define LT_SCAN_CHUNK	(1 << 20)
#define LT_SCAN_KEEP	32

int lt_next_kernel_verdict(const char *path, const char *compat,
			   struct lt_finding *f)
{
	static const char prefix[] = "iommu-lu-v";
	char other[LT_SCAN_KEEP] = "", head[0x210];
	bool found = false, elf, bzimage;
	size_t len = 0, n, keep = 0;
	char *buf;
	FILE *file;

	file = fopen(path, "rb");
	if (!file) {
		lt_set(f, LT_CHECK_UNKNOWN, "next-kernel-unreadable", path,
		       "cannot read the next kernel %s: %s", path,
		       strerror(errno));
		return f->status;
	}
	buf = malloc(LT_SCAN_CHUNK + LT_SCAN_KEEP + 1);
	if (!buf) {
		fclose(file);
		lt_set(f, LT_CHECK_UNKNOWN, "no-memory", path, "out of memory");
		return f->status;
	}
	n = fread(head, 1, sizeof(head), file);
	elf = n >= 4 && !memcmp(head, "\177ELF", 4);
	bzimage = n >= 0x206 && !memcmp(head + 0x202, "HdrS", 4);
	rewind(file);
	while (!found && (n = fread(buf + keep, 1, LT_SCAN_CHUNK, file))) {
		char *p;

		len = keep + n;
		buf[len] = 0;
		for (p = memmem(buf, len, prefix, sizeof(prefix) - 1); p && !found;
		     p = memmem(p + 1, len - (p + 1 - buf), prefix,
				sizeof(prefix) - 1)) {
			size_t room = len - (p - buf);

			if (room < strlen(compat) + 1)
				break;
			if (!memcmp(p, compat, strlen(compat)) &&
			    !p[strlen(compat)])
				found = true;
			else if (!other[0] && p[sizeof(prefix) - 1] >= '0' &&
				 p[sizeof(prefix) - 1] <= '9')
				snprintf(other, sizeof(other), "%.*s",
					 (int)strnlen(p, room < 20 ? room : 20),
					 p);
		}
		keep = len < LT_SCAN_KEEP ? len : LT_SCAN_KEEP;
		memmove(buf, buf + len - keep, keep);
	}
	fclose(file);
	free(buf);
	if (found)
		lt_set(f, LT_CHECK_OK, "next-kernel-compatible", path,
		       "the next kernel %s has the compatible string %s of the preserved state (that it is the image loaded for kexec is not checked)",
		       path, compat);
	else if (other[0])
		lt_set(f, LT_CHECK_CRITICAL, "next-kernel-incompatible", path,
		       "the next kernel %s supports %s, not %s, the preserved state's: it will refuse the state",
		       path, other, compat);
	else if (elf)
		lt_set(f, LT_CHECK_CRITICAL, "next-kernel-no-liveupdate", path,
		       "the next kernel %s has no IOMMU live update compatible string (%s*): built without CONFIG_IOMMU_LIVEUPDATE",
		       path, prefix);
	else if (bzimage)
		lt_set(f, LT_CHECK_UNKNOWN, "next-kernel-compressed", path,
		       "%s is a compressed kernel (bzImage): its strings cannot be read; give the uncompressed ELF vmlinux of the same build",
		       path);
	else
		lt_set(f, LT_CHECK_UNKNOWN, "next-kernel-unrecognized", path,
		       "%s is neither an ELF vmlinux nor a bzImage (compressed, an EFI image, not a kernel?) and has no %s* string: it cannot be checked; give the uncompressed ELF vmlinux of the same build",
		       path, prefix);
	return f->status;
}

/*
 * Where a device's live entry is and what it must hold: VT-d its context
 * entry (2 words), AMD-Vi its device table entry (4 words, word 2, the
 * interrupt half, not compared). Returns the words, 0 if not known.
 */
static int lt_device_entry(const struct lt_model *m,
			   const struct iommu_lu_device_ser *dev, __u64 *pa,
			   __u64 *want, __u64 *mask)
{
	const struct iommu_lu_hw_unit_ser *hw = lt_model_hw_unit(m, dev->hw_unit);
	int i;

	if (hw && hw->type == IOMMU_LU_HW_VTD) {
		*pa = dev->data[IOMMU_LU_VTD_DEV_CONTEXT];
		want[0] = dev->data[IOMMU_LU_VTD_DEV_CONTEXT_LO];
		want[1] = dev->data[IOMMU_LU_VTD_DEV_CONTEXT_HI];
		mask[0] = mask[1] = ~0ULL;
		return 2;
	}
	if (hw && hw->type == IOMMU_LU_HW_AMDVI) {
		*pa = (hw->data[IOMMU_LU_AMDVI_UNIT_DEVTAB] & LT_AMDVI_ADDR) +
		      (__u64)dev->bdf * 32;
		memcpy(want, &dev->data[IOMMU_LU_AMDVI_DEV_DTE], 4 * sizeof(__u64));
		for (i = 0; i < 4; i++)
			mask[i] = i == 2 ? 0 : ~0ULL;
		return 4;
	}
	return 0;
}

/* The live entries that the kernel reads back for check (dump.c) */
size_t lt_verdict_mem_reqs(const struct lt_model *m, struct lt_mem_req *req,
			   size_t max)
{
	__u64 want[4], mask[4], pa;
	size_t i, n = 0;
	int words;

	for (i = 0; i < m->nr_entries[IOMMU_LU_CHAIN_DEVICE] && n < max; i++) {
		words = lt_device_entry(m, m->entries[IOMMU_LU_CHAIN_DEVICE][i].raw,
					&pa, want, mask);
		if (!words)
			continue;
		req[n].pa = pa;
		req[n].len = words * sizeof(__u64);
		req[n].pad = 0;
		n++;
	}
	return n;
}

/* Outgoing: a preserved device's live entry, and its bus mastering */
static int lt_check_device(struct lt_verdict *v, const struct lt_model *m,
			   const struct iommu_lu_device_ser *dev)
{
	const struct lt_snapshot *s = m->s;
	const struct lt_pci_dev *d, *up;
	__u64 want[4], mask[4], have[4], pa;
	const struct lt_mem_rec *r;
	char name[16], br[16];
	int words, i, depth;
	bool same = true;

	lt_pci_name(dev->segment, dev->bdf, name, sizeof(name));
	words = lt_device_entry(m, dev, &pa, want, mask);
	r = words ? lt_snapshot_mem(s, pa) : NULL;
	if (!words) {
		LT_ADD(v, LT_CHECK_UNKNOWN, "device-entry-unknown", name,
		       "device entry %u names no known hw unit: its live entry cannot be compared",
		       dev->hdr.index);
	} else if (!r) {
		LT_ADD(v, LT_CHECK_UNKNOWN, "device-entry-unread", name,
		       "its live %s at %#llx was not read",
		       words == 2 ? "context entry" : "device table entry",
		       (unsigned long long)pa);
	} else if (r->err || r->len < words * sizeof(__u64)) {
		LT_ADD(v, LT_CHECK_UNKNOWN, "device-entry-unread", name,
		       "its live entry at %#llx cannot be read (error %d)",
		       (unsigned long long)pa, r->err);
	} else {
		memcpy(have, r->data, words * sizeof(__u64));
		for (i = 0; i < words; i++)
			same &= !((have[i] ^ want[i]) & mask[i]);
		if (same)
			LT_ADD(v, LT_CHECK_OK, "device-entry-live", name,
			       "its live %s at %#llx is the one recorded",
			       words == 2 ? "context entry" : "device table entry",
			       (unsigned long long)pa);
		else if (words == 2)
			LT_ADD(v, LT_CHECK_CRITICAL, "device-entry-changed", name,
			       "its live context entry at %#llx is %#llx:%#llx, the state records %#llx:%#llx: the device was attached elsewhere or its entry rewritten after it was preserved; the next kernel will refuse it",
			       (unsigned long long)pa,
			       (unsigned long long)have[1],
			       (unsigned long long)have[0],
			       (unsigned long long)want[1],
			       (unsigned long long)want[0]);
		else
			LT_ADD(v, LT_CHECK_CRITICAL, "device-entry-changed", name,
			       "its live device table entry at %#llx is %#llx:%#llx:-:%#llx, the state records %#llx:%#llx:-:%#llx: the device was attached elsewhere or its entry rewritten after it was preserved; the next kernel will refuse it",
			       (unsigned long long)pa,
			       (unsigned long long)have[3],
			       (unsigned long long)have[1],
			       (unsigned long long)have[0],
			       (unsigned long long)want[3],
			       (unsigned long long)want[1],
			       (unsigned long long)want[0]);
	}

	d = lt_snapshot_pci(s, dev->segment, dev->bdf);
	if (!d) {
		LT_ADD(v, LT_CHECK_CRITICAL, "device-absent", name,
		       "no PCI device at this address: the preserved device is gone");
		return 0;
	}
	if (!d->have_command) {
		LT_ADD(v, LT_CHECK_UNKNOWN, "bus-master-unknown", name,
		       "its PCI command register cannot be read");
		return 0;
	}
	if (!(d->command & LT_PCI_COMMAND_MASTER)) {
		LT_ADD(v, LT_CHECK_CRITICAL, "bus-master-off", name,
		       "bus mastering is off (command register %#x): its DMA stops, the VM loses the device",
		       d->command);
		return 0;
	}
	/* Every bridge on the way up must forward its DMA */
	for (up = d, depth = 0; up->have_parent && depth < 256; depth++) {
		lt_pci_name(up->parent_segment, up->parent_bdf, br, sizeof(br));
		up = lt_snapshot_pci(s, up->parent_segment, up->parent_bdf);
		if (!up || !up->have_command) {
			LT_ADD(v, LT_CHECK_UNKNOWN, "bus-master-unknown", name,
			       "the command register of the bridge %s above it cannot be read",
			       br);
			return 0;
		}
		if (!(up->command & LT_PCI_COMMAND_MASTER)) {
			LT_ADD(v, LT_CHECK_CRITICAL, "bridge-bus-master-off",
			       name,
			       "bus mastering is off on the bridge %s above it (command register %#x): its DMA does not reach memory",
			       br, up->command);
			return 0;
		}
	}
	LT_ADD(v, LT_CHECK_OK, "bus-master-on", name,
	       "bus mastering is on, on the device and %d bridge%s above it",
	       depth, depth == 1 ? "" : "s");
	return 0;
}

/* The model's problems: every ABI rule the state breaks */
static int lt_check_problems(struct lt_verdict *v, const struct lt_model *m,
			     int status)
{
	int i, nr = m->nr_problems < LT_MAX_PROBLEMS ? m->nr_problems :
		    LT_MAX_PROBLEMS;

	for (i = 0; i < nr; i++) {
		/* What the dump could not read is not known to be wrong */
		bool unread = !strcmp(m->problem_codes[i], "records-lost") ||
			      !strcmp(m->problem_codes[i], "dump-truncated") ||
			      !strcmp(m->problem_codes[i], "refusals-unread");

		LT_ADD(v, unread ? LT_CHECK_UNKNOWN : status,
		       m->problem_codes[i], "state", "%s", m->problems[i]);
	}
	if (m->nr_problems > nr)
		LT_ADD(v, status, "state-invalid", "state",
		       "%d more problems, not listed", m->nr_problems - nr);
	return 0;
}

static int lt_check_kexec(struct lt_verdict *v, const struct lt_model *m)
{
	const struct lt_kexec_rec *k = &m->s->kexec;
	struct lt_units units = {};
	size_t i;

	if (!m->s->have_kexec) {
		LT_ADD(v, LT_CHECK_UNKNOWN, "kexec-unknown", "next kernel",
		       "whether a next kernel is loaded was not read");
		return 0;
	}
	if (!k->loaded && k->err && k->err != -ENOENT) {
		LT_ADD(v, LT_CHECK_UNKNOWN, "kexec-unknown", "next kernel",
		       "whether a next kernel is loaded cannot be read: reading kexec_image failed (error %d)",
		       k->err);
		return 0;
	}
	if (!k->loaded) {
		LT_ADD(v, LT_CHECK_CRITICAL, "no-kexec-loaded", "next kernel",
		       "no kernel is loaded for kexec (/sys/kernel/kexec_loaded is 0): load the next kernel with kexec_file_load (kexec -s) before the update");
		return 0;
	}
	if (!k->err && !k->file_mode) {
		LT_ADD(v, LT_CHECK_CRITICAL, "kexec-not-file-load", "next kernel",
		       "the next kernel was loaded with kexec_load(), which hands no KHO state over: load it with kexec_file_load (kexec -s)");
		return 0;
	}
	if (!k->have_cmdline) {
		if (k->err == -ENOENT)
			LT_ADD(v, LT_CHECK_UNKNOWN, "cmdline-unknown",
			       "next kernel",
			       "the next kernel's command line cannot be read: kexec_image is not in /proc/kallsyms");
		else if (k->err)
			LT_ADD(v, LT_CHECK_UNKNOWN, "cmdline-unknown",
			       "next kernel",
			       "the next kernel's command line cannot be read (error %d)",
			       k->err);
		else
			LT_ADD(v, LT_CHECK_UNKNOWN, "cmdline-unknown",
			       "next kernel",
			       "this kernel did not keep the next kernel's command line (it needs the series' kexec_file patch that keeps it)");
		return 0;
	}
	if (k->cmdline_len >= LT_CMDLINE_LEN) {
		LT_ADD(v, LT_CHECK_UNKNOWN, "cmdline-unknown", "next kernel",
		       "the next kernel's command line is %d bytes or longer: the dump read only its first %d, what follows is not known",
		       LT_CMDLINE_LEN - 1, LT_CMDLINE_LEN - 1);
		return 0;
	}
	for (i = 0; i < m->nr_entries[IOMMU_LU_CHAIN_HW_UNIT]; i++) {
		const struct iommu_lu_hw_unit_ser *hw =
			m->entries[IOMMU_LU_CHAIN_HW_UNIT][i].raw;
		bool sm = hw->data[IOMMU_LU_VTD_UNIT_FLAGS] &
			  IOMMU_LU_VTD_UNIT_F_SM;

		if (hw->type == IOMMU_LU_HW_VTD) {
			units.vtd = true;
			units.vtd_sm |= sm;
			units.vtd_legacy |= !sm;
		}
		units.amdvi |= hw->type == IOMMU_LU_HW_AMDVI;
	}
	return lt_cmdline_verdict(v, k->cmdline, m->s->cmdline, &units);
}

static int lt_check_outgoing(struct lt_verdict *v, const struct lt_model *m,
			     const char *next_kernel)
{
	const struct lt_snapshot *s = m->s;
	const struct iommu_lu_root_ser *root =
		(const struct iommu_lu_root_ser *)s->state.root;
	struct lt_finding *f;
	char compat[32];
	size_t i, n = m->nr_entries[IOMMU_LU_CHAIN_DEVICE];

	if (m->why) {
		bool none = s->have_state && !s->state.obj;

		LT_ADD(v, none ? LT_CHECK_WARNING : LT_CHECK_UNKNOWN,
		       none ? "nothing-preserved" : "state-unreadable", "state",
		       "%s", m->why);
		if (lt_check_problems(v, m, LT_CHECK_CRITICAL))
			return -ENOMEM;
		/* No state: the image is checked against this lutrace's ABI */
		if (next_kernel) {
			f = lt_add(v);
			if (!f)
				return -ENOMEM;
			snprintf(compat, sizeof(compat), "iommu-lu-v%u",
				 IOMMU_LU_ABI_VERSION);
			lt_next_kernel_verdict(next_kernel, compat, f);
			strncat(f->text, " (no state is preserved: checked against the ABI version this lutrace reads)",
				sizeof(f->text) - strlen(f->text) - 1);
		}
		return 0;
	}
	if (lt_check_problems(v, m, LT_CHECK_CRITICAL))
		return -ENOMEM;
	if (!m->nr_problems)
		LT_ADD(v, LT_CHECK_OK, "state-valid", "state",
		       "%zu hw unit%s, %zu domain%s, %zu device%s: chains well formed, refcounts equal the references, every device's domain and unit present",
		       m->nr_entries[0], m->nr_entries[0] == 1 ? "" : "s",
		       m->nr_entries[1], m->nr_entries[1] == 1 ? "" : "s",
		       n, n == 1 ? "" : "s");
	if (!n)
		LT_ADD(v, LT_CHECK_WARNING, "nothing-preserved", "state",
		       "no device is preserved");
	for (i = 0; i < n; i++)
		if (lt_check_device(v, m, m->entries[IOMMU_LU_CHAIN_DEVICE][i].raw))
			return -ENOMEM;
	if (lt_check_kexec(v, m))
		return -ENOMEM;
	if (next_kernel) {
		snprintf(compat, sizeof(compat), "iommu-lu-v%u", root->version);
		f = lt_add(v);
		if (!f)
			return -ENOMEM;
		lt_next_kernel_verdict(next_kernel, compat, f);
	}
	return 0;
}

/* A refused finding for the kernel's refusal @r */
static int lt_check_refusal(struct lt_verdict *v, const struct lt_model *m,
			    const struct lt_refusal_rec *r)
{
	const struct lt_snapshot *s = m->s;
	char subject[48], why[64], pci[64] = "", buf[32];
	struct lt_finding *f;
	size_t j;

	if (r->chain == LT_NR_CHAINS)
		snprintf(subject, sizeof(subject), "state");
	else if (r->index == LT_REFUSED_ALL)
		snprintf(subject, sizeof(subject), "%s chain",
			 lt_chain_name(r->chain));
	else
		snprintf(subject, sizeof(subject), "%s %u",
			 lt_chain_name(r->chain), r->index);
	/* A device entry: named by the PCI address it was preserved for */
	for (j = 0; j < m->nr_rows && r->chain == IOMMU_LU_CHAIN_DEVICE &&
		    r->index != LT_REFUSED_ALL; j++) {
		if (m->rows[j].chain != IOMMU_LU_CHAIN_DEVICE ||
		    m->rows[j].entry != (int)r->index)
			continue;
		snprintf(pci, sizeof(pci), " (%s)", subject);
		snprintf(subject, sizeof(subject), "%s", m->rows[j].preserved);
		break;
	}
	f = lt_add(v);
	if (!f)
		return -ENOMEM;
	lt_set(f, LT_CHECK_CRITICAL, "refused", subject,
	       "the kernel refused it%s: %s%s%s", pci,
	       lt_refusal_str(s, r, why, sizeof(why)),
	       lt_reason_meaning(s, r->reason) ? ": " : "",
	       lt_reason_meaning(s, r->reason) ?: "");
	f->is_refused = true;
	f->refused.chain = r->chain;
	f->refused.index = r->index;
	f->refused.has_reason = true;
	snprintf(f->refused.reason, sizeof(f->refused.reason), "%s",
		 lt_refusal_code(s, r->reason, buf, sizeof(buf)));
	f->refused.reason_id = r->reason;
	f->refused.concerns = r->concerns;
	f->refused.meaning = lt_reason_meaning(s, r->reason);
	return 0;
}

/* The finding for a preserved device's row of the matching table */
static int lt_check_row(struct lt_verdict *v, const struct lt_match_row *r)
{
	struct lt_finding *f;
	const char *code;
	int status;

	switch (r->status) {
	case LT_MATCH_RESTORED:
		status = LT_CHECK_OK;
		code = "device-restored";
		break;
	case LT_MATCH_REFUSED:
		/* With the kernel's record, its refused finding says it */
		if (r->refusal)
			return 0;
		status = LT_CHECK_CRITICAL;
		code = "refused";
		break;
	case LT_MATCH_ABSENT:
		status = LT_CHECK_CRITICAL;
		code = "device-absent";
		break;
	case LT_MATCH_NOT_RESTORED:
		status = LT_CHECK_CRITICAL;
		code = "device-not-restored";
		break;
	default:
		status = LT_CHECK_UNKNOWN;
		code = "verdict-unknown";
		break;
	}
	f = lt_add(v);
	if (!f)
		return -ENOMEM;
	lt_set(f, status, code, r->preserved, "device entry %d: %s", r->entry,
	       r->reason);
	if (r->status == LT_MATCH_REFUSED) {
		f->is_refused = true;
		f->refused.chain = IOMMU_LU_CHAIN_DEVICE;
		f->refused.index = r->entry;
	}
	return 0;
}

/* Incoming without a state: why, and whether that is a failure */
static int lt_check_no_state(struct lt_verdict *v, const struct lt_model *m)
{
	const struct lt_snapshot *s = m->s;
	const struct lt_state_rec *st = &s->state;

	if (!s->have_state || st->root_err)
		LT_ADD(v, LT_CHECK_UNKNOWN, "state-unreadable", "state", "%s",
		       m->why);
	else if (!st->obj && st->finished)
		LT_ADD(v, LT_CHECK_UNKNOWN, "state-released", "state",
		       "%s: check before the session finishes, or check --from a dump saved before",
		       m->why);
	else if (st->obj && !s->nr_refusals)
		LT_ADD(v, LT_CHECK_CRITICAL, "state-refused", "state", "%s",
		       m->why);
	else if (st->obj)
		return 0;	/* the state's refusal says it */
	else if (st->retrieve_status < 0)
		LT_ADD(v, LT_CHECK_CRITICAL, "retrieve-failed", "state",
		       "%s (error %d)", m->why, st->retrieve_status);
	else if (st->handover == LT_HANDOVER_NONE ||
		 st->handover == LT_HANDOVER_OTHER)
		LT_ADD(v, LT_CHECK_OK, "no-live-update", "state", "%s",
		       m->why);
	else
		LT_ADD(v, LT_CHECK_CRITICAL, "no-incoming-state", "state", "%s",
		       m->why);
	return 0;
}

static int lt_check_incoming(struct lt_verdict *v, const struct lt_model *m)
{
	const struct lt_snapshot *s = m->s;
	const struct lt_state_rec *st = &s->state;
	size_t i;

	for (i = 0; i < s->nr_refusals; i++)
		if (lt_check_refusal(v, m, &s->refusals[i]))
			return -ENOMEM;
	if (st->refusals_lost)
		LT_ADD(v, LT_CHECK_WARNING, "refusals-lost", "state",
		       "the kernel could not record %u refusals (out of memory)",
		       st->refusals_lost);
	if (m->why) {
		if (lt_check_no_state(v, m))
			return -ENOMEM;
		return lt_check_problems(v, m, LT_CHECK_WARNING);
	}
	if (lt_check_problems(v, m, LT_CHECK_WARNING))
		return -ENOMEM;
	for (i = 0; i < m->nr_rows; i++)
		if (m->rows[i].entry >= 0 &&
		    m->rows[i].chain == IOMMU_LU_CHAIN_DEVICE &&
		    lt_check_row(v, &m->rows[i]))
			return -ENOMEM;
	if (!m->nr_entries[IOMMU_LU_CHAIN_DEVICE])
		LT_ADD(v, LT_CHECK_WARNING, "nothing-preserved", "state",
		       "the previous kernel handed no device over");
	LT_ADD(v, LT_CHECK_OK, "session", "state",
	       "retrieved, %d preserved file%s depend%s on it, not finished",
	       st->count, st->count == 1 ? "" : "s",
	       st->count == 1 ? "s" : "");
	return 0;
}

void lt_verdict_free(struct lt_verdict *v)
{
	free(v->f);
	memset(v, 0, sizeof(*v));
}

/* The overall status and the counts */
static void lt_verdict_sum(struct lt_verdict *v)
{
	size_t i;

	v->status = LT_CHECK_OK;
	memset(v->count, 0, sizeof(v->count));
	for (i = 0; i < v->nr; i++) {
		v->count[v->f[i].status]++;
		if (lt_severity(v->f[i].status) > lt_severity(v->status))
			v->status = v->f[i].status;
	}
}

int lt_verdict_build(struct lt_verdict *v, const struct lt_model *m,
		     const char *next_kernel)
{
	int err;

	memset(v, 0, sizeof(*v));
	v->direction = m->s->incoming ? "incoming" : "outgoing";
	err = m->s->incoming ? lt_check_incoming(v, m) :
	      lt_check_outgoing(v, m, next_kernel);
	if (err) {
		lt_verdict_free(v);
		return err;
	}
	lt_verdict_sum(v);
	return 0;
}

int lt_verdict_failed(struct lt_verdict *v, const char *direction,
		      const char *why)
{
	struct lt_finding *f;

	memset(v, 0, sizeof(*v));
	v->direction = direction;
	f = lt_add(v);
	if (!f)
		return -ENOMEM;
	lt_set(f, LT_CHECK_UNKNOWN, "check-failed", "", "%s", why);
	lt_verdict_sum(v);
	return 0;
}

/* A finding's refused members: chain, index, the kernel's reason */
static void lt_json_refused(struct jw *w, const struct lt_refused *r)
{
	lt_json_place(w, r->chain, r->index);
	lt_json_reason(w, r->has_reason ? r->reason : NULL, r->reason_id,
		       r->meaning, r->concerns);
}

void lt_verdict_print(const struct lt_verdict *v, FILE *out,
		      enum lt_format fmt)
{
	/* The worst first, each status in the order found */
	static const int order[] = { LT_CHECK_CRITICAL, LT_CHECK_UNKNOWN,
				     LT_CHECK_WARNING, LT_CHECK_OK };
	char subject[4 * sizeof(v->f->subject)], text[4 * sizeof(v->f->text)];
	struct jw w;
	size_t i, s;

	if (fmt == LT_FMT_TEXT) {
		fprintf(out, "LUTRACE CHECK %s - %s: %zu critical, %zu warning, %zu unknown, %zu ok\n",
			lt_check_status_name(v->status), v->direction,
			v->count[LT_CHECK_CRITICAL], v->count[LT_CHECK_WARNING],
			v->count[LT_CHECK_UNKNOWN], v->count[LT_CHECK_OK]);
		for (s = 0; s < sizeof(order) / sizeof(order[0]); s++)
			for (i = 0; i < v->nr; i++)
				if (v->f[i].status == order[s])
					fprintf(out, "%s %s%s%s: %s\n",
						lt_check_status_name(order[s]),
						v->f[i].code,
						v->f[i].subject[0] ? " " : "",
						lt_text_safe(v->f[i].subject, subject,
							     sizeof(subject)),
						lt_text_safe(v->f[i].text, text,
							     sizeof(text)));
		return;
	}
	jw_init(&w, out, fmt == LT_FMT_PRETTY);
	for (i = 0; i < v->nr; i++) {
		jw_obj_begin(&w);
		jw_kstr(&w, "type", "finding");
		jw_kstr(&w, "status", lt_check_status_name(v->f[i].status));
		jw_kstr(&w, "code", v->f[i].code);
		jw_kstr(&w, "subject", v->f[i].subject);
		jw_kstr(&w, "message", v->f[i].text);
		if (v->f[i].is_refused)
			lt_json_refused(&w, &v->f[i].refused);
		jw_obj_end(&w);
		jw_end(&w);
	}
	jw_obj_begin(&w);
	jw_kstr(&w, "type", "summary");
	jw_kstr(&w, "status", lt_check_status_name(v->status));
	jw_ku64(&w, "exit", v->status);
	jw_kstr(&w, "direction", v->direction);
	jw_ku64(&w, "critical", v->count[LT_CHECK_CRITICAL]);
	jw_ku64(&w, "warning", v->count[LT_CHECK_WARNING]);
	jw_ku64(&w, "unknown", v->count[LT_CHECK_UNKNOWN]);
	jw_ku64(&w, "ok", v->count[LT_CHECK_OK]);
	jw_obj_end(&w);
	jw_end(&w);
}
