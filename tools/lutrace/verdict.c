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

/* How bad a status is, for the overall one */
static int lt_severity(int status)
{
	static const int rank[] = { 0, 2, 3, 1 };

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

/* Does a comma separated option of @val start with @opt (as the drivers') */
static bool lt_has_option(const char *val, const char *opt)
{
	while (val && *val) {
		if (!strncmp(val, opt, strlen(opt)))
			return true;
		val = strchr(val, ',');
		if (val)
			val++;
	}
	return false;
}

int lt_cmdline_verdict(const char *cmdline, bool vtd, bool amdvi,
		       struct lt_finding *f)
{
	const char *luo = NULL, *kho = NULL, *intel = NULL, *amd = NULL;
	const char *iommu_off = NULL, *pt = NULL;
	char *copy, *p, *word;

	copy = strdup(cmdline);
	if (!copy) {
		lt_set(f, LT_CHECK_UNKNOWN, "no-memory", "", "out of memory");
		return f->status;
	}
	/* The last word for a parameter wins, as when the kernel parses it */
	for (p = copy; (word = strsep(&p, " \t\n"));) {
		char *val = strchr(word, '=');

		if (!*word)
			continue;
		/* What follows "--" is for init, not for the kernel */
		if (!strcmp(word, "--"))
			break;
		if (val)
			*val++ = 0;
		if (!strcmp(word, "liveupdate"))
			luo = val ? val : "";
		else if (!strcmp(word, "kho") && lt_strtobool(val) >= 0)
			kho = val;
		else if (!strcmp(word, "intel_iommu") && lt_has_option(val, "off"))
			intel = "intel_iommu=off";
		else if (!strcmp(word, "intel_iommu") && lt_has_option(val, "on"))
			intel = NULL;
		else if (!strcmp(word, "amd_iommu") && lt_has_option(val, "off"))
			amd = "amd_iommu=off";
		else if (!strcmp(word, "iommu") && lt_has_option(val, "off"))
			iommu_off = "iommu=off";
		else if (!strcmp(word, "iommu") && lt_has_option(val, "pt"))
			pt = "iommu=pt";
		else if (!strcmp(word, "iommu") && lt_has_option(val, "nopt"))
			pt = NULL;
		else if (!strcmp(word, "iommu.passthrough"))
			pt = lt_strtobool(val) == 1 ? "iommu.passthrough=1" : NULL;
	}
	if (!luo || lt_strtobool(luo) != 1)
		lt_set(f, LT_CHECK_CRITICAL, "cmdline-disables-liveupdate",
		       "next kernel",
		       luo ? "the next kernel's command line has liveupdate=%s: it will not take the preserved state over" :
		       "the next kernel's command line has no liveupdate=on%s: live update is off by default, it will not take the preserved state over",
		       luo ? luo : "");
	else if (kho && !lt_strtobool(kho))
		lt_set(f, LT_CHECK_CRITICAL, "cmdline-disables-kho",
		       "next kernel",
		       "the next kernel's command line has kho=%s: kexec handover off, the state is not handed over",
		       kho);
	else if ((vtd || amdvi) && iommu_off)
		lt_set(f, LT_CHECK_CRITICAL, "cmdline-disables-iommu",
		       "next kernel",
		       "the next kernel's command line has %s: the IOMMU off, the preserved devices' DMA is not translated",
		       iommu_off);
	else if (vtd && intel)
		lt_set(f, LT_CHECK_CRITICAL, "cmdline-disables-iommu",
		       "next kernel",
		       "the next kernel's command line has %s: VT-d off, the preserved VT-d state is not adopted",
		       intel);
	else if (amdvi && amd)
		lt_set(f, LT_CHECK_CRITICAL, "cmdline-disables-iommu",
		       "next kernel",
		       "the next kernel's command line has %s: AMD-Vi off, the preserved AMD-Vi state is not adopted",
		       amd);
	else if ((vtd || amdvi) && pt)
		lt_set(f, LT_CHECK_CRITICAL, "cmdline-iommu-passthrough",
		       "next kernel",
		       "the next kernel's command line has %s: DMA passes the IOMMU untranslated by default",
		       pt);
	else
		lt_set(f, LT_CHECK_OK, "cmdline-ok", "next kernel",
		       "the next kernel's command line turns live update on and leaves KHO and the IOMMU on");
	free(copy);
	return f->status;
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
		       "the next kernel %s has the compatible string %s of the preserved state",
		       path, compat);
	else if (other[0])
		lt_set(f, LT_CHECK_CRITICAL, "next-kernel-incompatible", path,
		       "the next kernel %s supports %s, not %s, the preserved state's: it will refuse the state",
		       path, other, compat);
	else if (bzimage && !elf)
		lt_set(f, LT_CHECK_UNKNOWN, "next-kernel-compressed", path,
		       "%s is a compressed kernel (bzImage): its strings cannot be read; give the uncompressed ELF vmlinux of the same build",
		       path);
	else
		lt_set(f, LT_CHECK_CRITICAL, "next-kernel-no-liveupdate", path,
		       "the next kernel %s has no IOMMU live update compatible string (%s*): built without CONFIG_IOMMU_LIVEUPDATE, or not a kernel",
		       path, prefix);
	return f->status;
}

static const struct lt_pci_dev *lt_pci(const struct lt_snapshot *s,
				       __u32 segment, __u16 bdf)
{
	size_t i;

	for (i = 0; i < s->nr_pci; i++)
		if (s->pci[i].segment == segment && s->pci[i].bdf == bdf)
			return &s->pci[i];
	return NULL;
}

static const struct iommu_lu_hw_unit_ser *lt_unit(const struct lt_model *m,
						  __u32 index)
{
	size_t i;

	for (i = 0; i < m->nr_entries[IOMMU_LU_CHAIN_HW_UNIT]; i++) {
		const struct iommu_lu_hw_unit_ser *hw =
			m->entries[IOMMU_LU_CHAIN_HW_UNIT][i].raw;

		if (hw->hdr.index == index)
			return hw;
	}
	return NULL;
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
	const struct iommu_lu_hw_unit_ser *hw = lt_unit(m, dev->hw_unit);
	int i;

	if (hw && hw->type == IOMMU_LU_HW_VTD) {
		*pa = dev->data[IOMMU_LU_VTD_DEV_CONTEXT];
		want[0] = dev->data[IOMMU_LU_VTD_DEV_CONTEXT_LO];
		want[1] = dev->data[IOMMU_LU_VTD_DEV_CONTEXT_HI];
		mask[0] = mask[1] = ~0ULL;
		return 2;
	}
	if (hw && hw->type == IOMMU_LU_HW_AMDVI) {
		*pa = (hw->data[IOMMU_LU_AMDVI_UNIT_DEVTAB] &
		       0x000ffffffffff000ULL) + (__u64)dev->bdf * 32;
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

	d = lt_pci(s, dev->segment, dev->bdf);
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
		up = lt_pci(s, up->parent_segment, up->parent_bdf);
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
		bool lost = !strcmp(m->problem_codes[i], "records-lost");

		LT_ADD(v, lost ? LT_CHECK_UNKNOWN : status,
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
	bool vtd = false, amdvi = false;
	struct lt_finding *f;
	size_t i;

	if (!m->s->have_kexec) {
		LT_ADD(v, LT_CHECK_UNKNOWN, "kexec-unknown", "next kernel",
		       "whether a next kernel is loaded was not read");
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
	for (i = 0; i < m->nr_entries[IOMMU_LU_CHAIN_HW_UNIT]; i++) {
		const struct iommu_lu_hw_unit_ser *hw =
			m->entries[IOMMU_LU_CHAIN_HW_UNIT][i].raw;

		vtd |= hw->type == IOMMU_LU_HW_VTD;
		amdvi |= hw->type == IOMMU_LU_HW_AMDVI;
	}
	f = lt_add(v);
	if (!f)
		return -ENOMEM;
	lt_cmdline_verdict(k->cmdline, vtd, amdvi, f);
	return 0;
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
		return lt_check_problems(v, m, LT_CHECK_CRITICAL);
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

static int lt_check_incoming(struct lt_verdict *v, const struct lt_model *m)
{
	const struct lt_snapshot *s = m->s;
	const struct lt_state_rec *st = &s->state;
	char subject[48], why[64], pci[32];
	const char *meaning;
	size_t i, j;

	for (i = 0; i < s->nr_refusals; i++) {
		const struct lt_refusal_rec *r = &s->refusals[i];

		if (r->chain == LT_NR_CHAINS)
			snprintf(subject, sizeof(subject), "state");
		else if (r->index == LT_REFUSED_ALL)
			snprintf(subject, sizeof(subject), "%s chain",
				 lt_chain_name(r->chain));
		else
			snprintf(subject, sizeof(subject), "%s %u",
				 lt_chain_name(r->chain), r->index);
		/* A device entry: the PCI address it was preserved for */
		pci[0] = '\0';
		for (j = 0; j < m->nr_rows; j++)
			if (r->chain == IOMMU_LU_CHAIN_DEVICE &&
			    m->rows[j].chain == IOMMU_LU_CHAIN_DEVICE &&
			    r->index != LT_REFUSED_ALL &&
			    m->rows[j].entry == (int)r->index) {
				snprintf(pci, sizeof(pci), " (PCI %s)",
					 m->rows[j].preserved);
				break;
			}
		meaning = lt_reason_meaning(s, r->reason);
		LT_ADD(v, LT_CHECK_CRITICAL, "refused", subject,
		       "the kernel refused it%s: %s%s%s", pci,
		       lt_refusal_str(s, r, why, sizeof(why)),
		       meaning ? ": " : "", meaning ?: "");
	}
	if (st->refusals_lost)
		LT_ADD(v, LT_CHECK_WARNING, "refusals-lost", "state",
		       "the kernel could not record %u refusals (out of memory)",
		       st->refusals_lost);
	if (m->why) {
		bool released = s->have_state && !st->obj && st->finished;

		if (!s->have_state || st->root_err)
			LT_ADD(v, LT_CHECK_UNKNOWN, "state-unreadable", "state",
			       "%s", m->why);
		else if (released)
			LT_ADD(v, LT_CHECK_UNKNOWN, "state-released", "state",
			       "%s: check before the session finishes, or check --from a dump saved before",
			       m->why);
		else if (st->obj && !s->nr_refusals)
			LT_ADD(v, LT_CHECK_CRITICAL, "state-refused", "state",
			       "%s", m->why);
		else if (!st->obj)
			LT_ADD(v, LT_CHECK_CRITICAL,
			       st->retrieve_status < 0 ? "retrieve-failed" :
			       "no-incoming-state", "state", "%s", m->why);
		return lt_check_problems(v, m, LT_CHECK_WARNING);
	}
	if (lt_check_problems(v, m, LT_CHECK_WARNING))
		return -ENOMEM;
	for (i = 0; i < m->nr_rows; i++) {
		const struct lt_match_row *r = &m->rows[i];

		if (r->entry < 0 || r->chain != IOMMU_LU_CHAIN_DEVICE)
			continue;
		if (!strcmp(r->status, "restored"))
			LT_ADD(v, LT_CHECK_OK, "device-restored", r->preserved,
			       "device entry %d: %s", r->entry, r->reason);
		else if (!strcmp(r->status, "refused") && !r->refusal)
			LT_ADD(v, LT_CHECK_CRITICAL, "refused", r->preserved,
			       "device entry %d: %s", r->entry, r->reason);
		else if (!strcmp(r->status, "absent"))
			LT_ADD(v, LT_CHECK_CRITICAL, "device-absent",
			       r->preserved, "device entry %d: %s", r->entry,
			       r->reason);
		else if (!strcmp(r->status, "not restored"))
			LT_ADD(v, LT_CHECK_CRITICAL, "device-not-restored",
			       r->preserved, "device entry %d: %s", r->entry,
			       r->reason);
		else if (!strcmp(r->status, "unknown"))
			LT_ADD(v, LT_CHECK_UNKNOWN, "verdict-unknown",
			       r->preserved, "device entry %d: %s", r->entry,
			       r->reason);
	}
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

int lt_verdict_build(struct lt_verdict *v, const struct lt_model *m,
		     const char *next_kernel)
{
	size_t i;
	int err;

	memset(v, 0, sizeof(*v));
	v->incoming = m->s->incoming;
	err = v->incoming ? lt_check_incoming(v, m) :
	      lt_check_outgoing(v, m, next_kernel);
	if (err) {
		lt_verdict_free(v);
		return err;
	}
	v->status = LT_CHECK_OK;
	for (i = 0; i < v->nr; i++) {
		v->count[v->f[i].status]++;
		if (lt_severity(v->f[i].status) > lt_severity(v->status))
			v->status = v->f[i].status;
	}
	return 0;
}

void lt_verdict_print(const struct lt_verdict *v, FILE *out,
		      enum lt_format fmt)
{
	const char *dir = v->incoming ? "incoming" : "outgoing";
	struct jw w;
	size_t i;
	int s;

	if (fmt == LT_FMT_TEXT) {
		fprintf(out, "LUTRACE CHECK %s - %s: %zu critical, %zu warning, %zu unknown, %zu ok\n",
			lt_check_status_name(v->status), dir,
			v->count[LT_CHECK_CRITICAL], v->count[LT_CHECK_WARNING],
			v->count[LT_CHECK_UNKNOWN], v->count[LT_CHECK_OK]);
		/* The worst first, each status in the order found */
		for (s = 0; s < 4; s++) {
			static const int order[] = { LT_CHECK_CRITICAL,
						     LT_CHECK_WARNING,
						     LT_CHECK_UNKNOWN,
						     LT_CHECK_OK };

			for (i = 0; i < v->nr; i++)
				if (v->f[i].status == order[s])
					fprintf(out, "%s %s%s%s: %s\n",
						lt_check_status_name(order[s]),
						v->f[i].code,
						v->f[i].subject[0] ? " " : "",
						v->f[i].subject, v->f[i].text);
		}
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
		jw_obj_end(&w);
		jw_end(&w);
	}
	jw_obj_begin(&w);
	jw_kstr(&w, "type", "summary");
	jw_kstr(&w, "status", lt_check_status_name(v->status));
	jw_ku64(&w, "exit", v->status);
	jw_kstr(&w, "direction", dir);
	jw_ku64(&w, "critical", v->count[LT_CHECK_CRITICAL]);
	jw_ku64(&w, "warning", v->count[LT_CHECK_WARNING]);
	jw_ku64(&w, "unknown", v->count[LT_CHECK_UNKNOWN]);
	jw_ku64(&w, "ok", v->count[LT_CHECK_OK]);
	jw_obj_end(&w);
	jw_end(&w);
}
