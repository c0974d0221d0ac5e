// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace: decoding and printing the IOMMU live update state, see decode.h.
 * The rules checked here are the ABI's (docs/abi.md); a dump reports every
 * rule a chain breaks as a problem, and decodes what it can anyway.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "decode.h"

static const size_t lt_entry_size[LT_NR_CHAINS] = {
	[IOMMU_LU_CHAIN_HW_UNIT] = sizeof(struct iommu_lu_hw_unit_ser),
	[IOMMU_LU_CHAIN_DOMAIN] = sizeof(struct iommu_lu_domain_ser),
	[IOMMU_LU_CHAIN_DEVICE] = sizeof(struct iommu_lu_device_ser),
};

static const char *const lt_chain_names[LT_NR_CHAINS] = {
	[IOMMU_LU_CHAIN_HW_UNIT] = "hw_unit",
	[IOMMU_LU_CHAIN_DOMAIN] = "domain",
	[IOMMU_LU_CHAIN_DEVICE] = "device",
};

/* JSON array names of the entries of each chain */
static const char *const lt_chain_plural[LT_NR_CHAINS] = {
	[IOMMU_LU_CHAIN_HW_UNIT] = "hw_units",
	[IOMMU_LU_CHAIN_DOMAIN] = "domains",
	[IOMMU_LU_CHAIN_DEVICE] = "devices",
};

/*
 * Room for element @n of the array at @arr (of @size bytes each), which
 * holds @n: it doubles when full, that is when @n is 0 or a power of two
 */
static int lt_grow(void **arr, size_t n, size_t size)
{
	void *p;

	if (n & (n - 1))
		return 0;
	p = realloc(*arr, (n ? 2 * n : 1) * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	return 0;
}

#define LT_GROW(arr, n)	lt_grow((void **)&(arr), (n), sizeof(*(arr)))

int lt_snapshot_add(struct lt_snapshot *s, const void *rec, size_t len)
{
	__u32 kind;

	if (len < sizeof(kind))
		return -EINVAL;
	memcpy(&kind, rec, sizeof(kind));
	switch (kind) {
	case LT_REC_STATE:
		if (len < sizeof(s->state))
			return -EINVAL;
		memcpy(&s->state, rec, sizeof(s->state));
		s->have_state = true;
		return 0;
	case LT_REC_BLOCK: {
		const struct lt_block_rec *b = rec;

		if (len < sizeof(*b) || b->chain >= LT_NR_CHAINS)
			return -EINVAL;
		if (LT_GROW(s->blocks, s->nr_blocks))
			return -ENOMEM;
		s->blocks[s->nr_blocks++] = *b;
		return 0;
	}
	case LT_REC_VALID: {
		const struct lt_valid_rec *v = rec;

		if (len < sizeof(*v) || v->chain >= LT_NR_CHAINS)
			return -EINVAL;
		if (LT_GROW(s->valid, s->nr_valid))
			return -ENOMEM;
		s->valid[s->nr_valid++] = *v;
		return 0;
	}
	case LT_REC_REFUSAL: {
		const struct lt_refusal_rec *r = rec;

		if (len < sizeof(*r) || r->chain > LT_NR_CHAINS)
			return -EINVAL;
		if (LT_GROW(s->refusals, s->nr_refusals))
			return -ENOMEM;
		s->refusals[s->nr_refusals++] = *r;
		return 0;
	}
	case LT_REC_KEXEC: {
		const struct lt_kexec_rec *k = rec;

		if (len < sizeof(*k) || k->cmdline_len > sizeof(k->cmdline))
			return -EINVAL;
		s->kexec = *k;
		/* The record is valid up to cmdline_len, a string */
		memset(s->kexec.cmdline + k->cmdline_len, 0,
		       sizeof(k->cmdline) - k->cmdline_len);
		s->kexec.cmdline[sizeof(k->cmdline) - 1] = 0;
		s->have_kexec = true;
		return 0;
	}
	case LT_REC_MEM: {
		const struct lt_mem_rec *m = rec;

		if (len < sizeof(*m) || m->len > LT_MEM_LEN)
			return -EINVAL;
		if (LT_GROW(s->mem, s->nr_mem))
			return -ENOMEM;
		s->mem[s->nr_mem++] = *m;
		return 0;
	}
	}
	return -EINVAL;
}

int lt_snapshot_add_reason(struct lt_snapshot *s, __u32 value,
			   const char *name, const char *prefix)
{
	size_t plen = strlen(prefix), i;
	char *code;
	void *p;

	if (!strncmp(name, prefix, plen))
		name += plen;
	/* An enumerator's name: letters, digits, '_' (a file's: also '-') */
	if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz"
			     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
		      strlen(name))
		return -EINVAL;
	code = strdup(name);
	if (!code)
		return -ENOMEM;
	for (i = 0; code[i]; i++)
		code[i] = code[i] == '_' ? '-' :
			  (code[i] >= 'A' && code[i] <= 'Z') ? code[i] - 'A' + 'a' :
			  code[i];
	if (value >= s->nr_reasons) {
		/* Values are small: the kernel's enum counts from 0 */
		if (value > 4096) {
			free(code);
			return -EINVAL;
		}
		p = realloc(s->reasons, (value + 1) * sizeof(*s->reasons));
		if (!p) {
			free(code);
			return -ENOMEM;
		}
		s->reasons = p;
		memset(s->reasons + s->nr_reasons, 0,
		       (value + 1 - s->nr_reasons) * sizeof(*s->reasons));
		s->nr_reasons = value + 1;
	}
	free(s->reasons[value]);
	s->reasons[value] = code;
	return 0;
}

const char *lt_reason_code(const struct lt_snapshot *s, __u32 value)
{
	return value < s->nr_reasons ? s->reasons[value] : NULL;
}

const struct lt_refusal_rec *lt_refusal_of(const struct lt_snapshot *s,
					   __u32 chain, __u32 index)
{
	size_t i;

	for (i = 0; i < s->nr_refusals; i++)
		if (s->refusals[i].chain == chain &&
		    s->refusals[i].index == index)
			return &s->refusals[i];
	return NULL;
}

/*
 * What each of the kernel's reason codes means for an operator, and what
 * its "concerns" value is (enum iommu_lu_reason's kernel-doc). Keyed by the
 * code, which lutrace reads from the kernel's BTF: a code this table does
 * not know is printed bare.
 */
static const struct lt_reason_info {
	const char *code;
	const char *concerns;	/* "block", "entry", "error", ...; NULL: none */
	const char *meaning;
} lt_reasons[] = {
	{ "root-unpreserved", NULL, "the root record is not memory the previous kernel preserved (KHO): nothing was handed over" },
	{ "root-magic", NULL, "the root record is not an IOMMU live update state: memory corruption, or another kernel's handover" },
	{ "abi-version", "version", "the previous kernel wrote another ABI version: run a kernel pair with the same iommu-lu version (lutrace check --next-kernel before the kexec)" },
	{ "root-reserved", NULL, "a reserved root field is set: a newer or damaged writer" },
	{ "chain-unpreserved", "block", "a block of the chain is not preserved memory: the chain and all that depends on it is dropped" },
	{ "chain-loop", "block", "the chain loops back to a block it already visited: damaged state" },
	{ "chain-length", NULL, "the chain is longer than any real host needs: damaged state" },
	{ "block-count", "block", "a block claims no entries, or more than fit: damaged state" },
	{ "block-not-full", "block", "a block before the last is not full: damaged state" },
	{ "chain-entries", "count", "the chain holds another number of entries than the root says" },
	{ "entry-index", "index", "the entry's index field is not its slot: damaged entry" },
	{ "entry-flags", "flags", "the entry has flags this kernel does not know" },
	{ "entry-reserved", NULL, "a reserved field of the entry is set" },
	{ "entry-field", NULL, "a field is out of range (page table format, levels, address width, unit type, segment): damaged entry or a newer writer" },
	{ "top-table", NULL, "the domain's top page table was not preserved" },
	{ "top-table-shared", NULL, "two domains claim the same top page table" },
	{ "no-users", NULL, "no device entry uses this hardware unit" },
	{ "refcount", "count", "its reference count is not the number of device entries naming it (the count found is given)" },
	{ "no-domain", "domain", "the device names a domain entry that is missing or was refused (see that domain)" },
	{ "no-hw-unit", "hw_unit", "the device names a hardware unit entry that is missing or was refused (see that unit)" },
	{ "domain-refused", "domain", "the device's domain was refused (see that domain's reason)" },
	{ "hw-unit-refused", "hw_unit", "the device's IOMMU did not take over the preserved state: no state for the unit (its token changed?) or its adoption refused" },
	{ "duplicate", "entry", "another entry has the same PCI address (or unit token): which one is right is unknown, both are dropped" },
	{ "nomem", NULL, "memory ran out while the kernel checked it" },
	{ "page-table", "error", "the domain's page table failed the check at restore: a loop, a bad entry, a leaf larger than its table, or a table page not preserved" },
	{ "restore-failed", "error", "re-attaching the device to its restored domain failed" },
	{ "hw-unit-not-adopted", "error", "the IOMMU driver did not take over the unit's preserved tables: its registers, capabilities or tables differ from the record" },
	{ "device-entry", NULL, "the device's context, PASID or device table entry is not the one preserved: it was re-attached or rewritten after the preserve" },
	{ "device-tables", NULL, "the tables holding the device's entries (context, PASID) or its page table root cannot be taken over" },
	{ "domain-id", NULL, "the device's domain id is out of range, not its entry's, another domain's, or cannot be reserved" },
	{ "device-alias", NULL, "a DMA alias of the device is malformed, another unit's, or shared with a device that is not kept" },
};

static const struct lt_reason_info *lt_reason_info(const char *code)
{
	size_t i;

	for (i = 0; code && i < sizeof(lt_reasons) / sizeof(lt_reasons[0]); i++)
		if (!strcmp(lt_reasons[i].code, code))
			return &lt_reasons[i];
	return NULL;
}

const char *lt_reason_meaning(const struct lt_snapshot *s, __u32 reason)
{
	const struct lt_reason_info *info;

	info = lt_reason_info(lt_reason_code(s, reason));
	return info ? info->meaning : NULL;
}

const char *lt_refusal_code(const struct lt_snapshot *s, __u32 reason,
			    char *buf, size_t len)
{
	const char *code = lt_reason_code(s, reason);

	if (code)
		return code;
	snprintf(buf, len, "reason-%u", reason);
	return buf;
}

const char *lt_refusal_str(const struct lt_snapshot *s,
			   const struct lt_refusal_rec *r, char *buf,
			   size_t len)
{
	const struct lt_reason_info *info;
	const char *code;
	int n;

	code = lt_refusal_code(s, r->reason, buf, len);
	info = lt_reason_info(lt_reason_code(s, r->reason));
	n = code == buf ? (int)strlen(buf) : snprintf(buf, len, "%s", code);
	if (r->concerns == LT_REFUSED_NONE || n < 0 || (size_t)n >= len)
		return buf;
	if (info && info->concerns && !strcmp(info->concerns, "error"))
		snprintf(buf + n, len - n, " (error %u, %s)", r->concerns,
			 strerrorname_np(r->concerns) ?: "unknown");
	else if (info && info->concerns)
		snprintf(buf + n, len - n, " (%s %u)", info->concerns,
			 r->concerns);
	else
		snprintf(buf + n, len - n, " (concerns %u)", r->concerns);
	return buf;
}

const struct lt_mem_rec *lt_snapshot_mem(const struct lt_snapshot *s,
					 __u64 pa)
{
	size_t i;

	for (i = 0; i < s->nr_mem; i++)
		if (s->mem[i].pa == pa)
			return &s->mem[i];
	return NULL;
}

int lt_snapshot_add_pci(struct lt_snapshot *s, const struct lt_pci_dev *dev)
{
	if (LT_GROW(s->pci, s->nr_pci))
		return -ENOMEM;
	s->pci[s->nr_pci++] = *dev;
	return 0;
}

const struct lt_pci_dev *lt_snapshot_pci(const struct lt_snapshot *s,
					 __u32 segment, __u16 bdf)
{
	size_t i;

	for (i = 0; i < s->nr_pci; i++)
		if (s->pci[i].segment == segment && s->pci[i].bdf == bdf)
			return &s->pci[i];
	return NULL;
}

bool lt_snapshot_incomplete(const struct lt_snapshot *s)
{
	return s->lost || s->truncated;
}

void lt_snapshot_free(struct lt_snapshot *s)
{
	size_t i;

	free(s->blocks);
	free(s->valid);
	free(s->pci);
	free(s->refusals);
	for (i = 0; i < s->nr_reasons; i++)
		free(s->reasons[i]);
	free(s->reasons);
	free(s->mem);
	free(s->cmdline);
	memset(s, 0, sizeof(*s));
}

__u32 lt_entries_per_block(__u32 chain)
{
	if (chain >= LT_NR_CHAINS)
		return 0;
	return (KHO_BLOCK_SIZE - sizeof(struct kho_block_header_ser)) /
	       lt_entry_size[chain];
}

const char *lt_chain_name(__u32 chain)
{
	return chain < LT_NR_CHAINS ? lt_chain_names[chain] : "unknown";
}

/*
 * The blocks of @chain, in chain order, up to the first one that comes back
 * (a loop: the dump program follows it until its block limit). @loop, if
 * not NULL, is set to the position of that repeat, or -1.
 */
static size_t lt_chain_blocks(const struct lt_snapshot *s, __u32 chain,
			      const struct lt_block_rec **out, size_t max,
			      long *loop)
{
	size_t i, j, n = 0, seen = 0;

	if (loop)
		*loop = -1;
	for (i = 0; i < s->nr_blocks; i++) {
		const struct lt_block_rec *b = &s->blocks[i];
		bool again = false;

		if (b->chain != chain)
			continue;
		/* A repeat is the same address as an earlier block of the chain */
		for (j = 0; j < i && !again; j++)
			again = s->blocks[j].chain == chain &&
				s->blocks[j].pa == b->pa;
		if (again) {
			if (loop)
				*loop = seen;
			break;
		}
		seen++;
		if (n < max)
			out[n] = b;
		n++;
	}
	return n;
}

static const struct kho_block_header_ser *
lt_block_hdr(const struct lt_block_rec *b)
{
	return (const struct kho_block_header_ser *)b->data;
}

size_t lt_chain_entries(const struct lt_snapshot *s, __u32 chain,
			struct lt_entry *out, size_t max)
{
	__u32 per = lt_entries_per_block(chain);
	size_t i, nb, n = 0;
	const struct lt_block_rec **blocks;

	nb = lt_chain_blocks(s, chain, NULL, 0, NULL);
	blocks = calloc(nb ? nb : 1, sizeof(*blocks));
	if (!blocks)
		return 0;
	lt_chain_blocks(s, chain, blocks, nb, NULL);
	for (i = 0; i < nb; i++) {
		const struct lt_block_rec *b = blocks[i];
		__u64 count = lt_block_hdr(b)->count;
		__u32 slot;

		if (b->err)
			continue;
		if (count > per)
			count = per;
		for (slot = 0; slot < count; slot++) {
			const void *raw = b->data +
				sizeof(struct kho_block_header_ser) +
				slot * lt_entry_size[chain];
			const struct iommu_lu_entry_hdr *hdr = raw;

			if (!(hdr->flags & IOMMU_LU_ENTRY_USED) ||
			    (hdr->flags & IOMMU_LU_ENTRY_DELETED))
				continue;
			if (n < max) {
				out[n].chain = chain;
				out[n].block = b->seq;
				out[n].slot = slot;
				out[n].pos = b->seq * per + slot;
				out[n].raw = raw;
			}
			n++;
		}
	}
	free(blocks);
	return n;
}

bool lt_entry_valid(const struct lt_snapshot *s, __u32 chain, __u32 index)
{
	size_t i;

	for (i = 0; i < s->nr_valid; i++)
		if (s->valid[i].chain == chain && s->valid[i].index == index)
			return true;
	return false;
}

const char *lt_hw_type_name(__u32 type)
{
	switch (type) {
	case IOMMU_LU_HW_VTD:
		return "vtd";
	case IOMMU_LU_HW_AMDVI:
		return "amdvi";
	}
	return "unknown";
}

const char *lt_pt_format_name(__u32 format)
{
	switch (format) {
	case IOMMU_LU_PT_VTDSS:
		return "vtdss";
	case IOMMU_LU_PT_X86_64:
		return "x86_64";
	case IOMMU_LU_PT_AMDV1:
		return "amdv1";
	case IOMMU_LU_PT_MOCK:
		return "mock";
	}
	return "unknown";
}

static const struct {
	__u64 bit;
	const char *name;
} lt_ptf_names[] = {
	{ IOMMU_LU_PTF_DMA_INCOHERENT, "dma_incoherent" },
	{ IOMMU_LU_PTF_FULL_VA, "full_va" },
	{ IOMMU_LU_PTF_DYNAMIC_TOP, "dynamic_top" },
	{ IOMMU_LU_PTF_SIGN_EXTEND, "sign_extend" },
	{ IOMMU_LU_PTF_FLUSH_RANGE, "flush_range" },
	{ IOMMU_LU_PTF_FLUSH_RANGE_NO_GAPS, "flush_range_no_gaps" },
	{ IOMMU_LU_PTF_DETAILED_GATHER, "detailed_gather" },
	{ IOMMU_LU_PTF_ENCRYPT_TABLES, "encrypt_tables" },
	{ IOMMU_LU_PTF_FORCE_COHERENCE, "force_coherence" },
	{ IOMMU_LU_PTF_FORCE_WRITEABLE, "force_writeable" },
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

const char *lt_entry_flags_str(__u32 flags, char *buf, size_t len)
{
	static const char *const names[] = { "used", "deleted", "restored" };
	size_t i, off = 0;

	buf[0] = 0;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (flags & (1U << i))
			off += snprintf(buf + off, off < len ? len - off : 0,
					"%s%s", off ? "," : "", names[i]);
	if (flags & ~IOMMU_LU_ENTRY_FLAGS_MASK)
		off += snprintf(buf + off, off < len ? len - off : 0,
				"%sunknown(%#x)", off ? "," : "",
				flags & ~IOMMU_LU_ENTRY_FLAGS_MASK);
	if (!off)
		snprintf(buf, len, "none");
	return buf;
}

const char *lt_pci_name(__u32 segment, __u16 bdf, char *buf, size_t len)
{
	snprintf(buf, len, "%04x:%02x:%02x.%u", segment & 0xffff, bdf >> 8,
		 (bdf >> 3) & 0x1f, bdf & 7);
	return buf;
}

const char *lt_text_safe(const char *str, char *buf, size_t len)
{
	size_t n = 0;

	for (; *str; str++) {
		unsigned char c = *str;
		bool control = c < 0x20 || c == 0x7f;

		/* What fits, with the terminating NUL */
		if (n + (control ? 4 : 1) >= len)
			break;
		if (control)
			n += snprintf(buf + n, len - n, "\\x%02x", c);
		else
			buf[n++] = c;
	}
	if (len)
		buf[n] = 0;
	return buf;
}

const char *lt_match_status_name(enum lt_match_status status)
{
	switch (status) {
	case LT_MATCH_RESTORED:
		return "restored";
	case LT_MATCH_REFUSED:
		return "refused";
	case LT_MATCH_ABSENT:
		return "absent";
	case LT_MATCH_NOT_RESTORED:
		return "not restored";
	case LT_MATCH_NOT_PRESERVED:
		return "not preserved";
	case LT_MATCH_UNKNOWN:
		break;
	}
	return "unknown";
}

/* Printing context: the output, the format, the model */
struct lt_printer {
	FILE *out;
	enum lt_format fmt;
	struct jw jw;
	const struct lt_snapshot *s;
	const struct lt_model *m;
};

/* A problem: its stable code (the check's) and its text */
static void __attribute__((format(printf, 3, 4)))
lt_problem(struct lt_model *m, const char *code, const char *fmt, ...)
{
	va_list ap;

	if (m->nr_problems < LT_MAX_PROBLEMS) {
		m->problem_codes[m->nr_problems] = code;
		va_start(ap, fmt);
		vsnprintf(m->problems[m->nr_problems], LT_PROBLEM_LEN, fmt, ap);
		va_end(ap);
	}
	m->nr_problems++;
}

static bool lt_json(const struct lt_printer *p)
{
	return p->fmt != LT_FMT_TEXT;
}

static const struct iommu_lu_root_ser *lt_root(const struct lt_snapshot *s)
{
	return (const struct iommu_lu_root_ser *)s->state.root;
}

/* The problems of the blocks of every chain */
static void lt_check_blocks(struct lt_model *m)
{
	const struct lt_snapshot *s = m->s;
	const struct iommu_lu_root_ser *root = lt_root(s);
	const struct lt_block_rec **blocks;
	__u32 chain;

	blocks = calloc(LT_MAX_BLOCKS, sizeof(*blocks));
	if (!blocks) {
		lt_problem(m, "no-memory", "out of memory");
		return;
	}
	for (chain = 0; chain < LT_NR_CHAINS; chain++) {
		__u32 per = lt_entries_per_block(chain);
		const char *name = lt_chain_name(chain);
		size_t i, nb;
		long loop;

		nb = lt_chain_blocks(s, chain, blocks, LT_MAX_BLOCKS, &loop);
		if (nb > LT_MAX_BLOCKS)
			nb = LT_MAX_BLOCKS;
		if (loop >= 0)
			lt_problem(m, "chain-loop", "%s chain: block %zu links back to %#llx, an earlier block: the chain loops",
				   name, nb - 1,
				   (unsigned long long)lt_block_hdr(blocks[nb - 1])->next);
		else if (nb >= LT_MAX_BLOCKS)
			lt_problem(m, "chain-length", "%s chain: more than %d blocks: it is corrupt",
				   name, LT_MAX_BLOCKS - 1);
		if (s->state.have_root &&
		    root->chain[chain] != (nb ? blocks[0]->pa : 0))
			lt_problem(m, "chain-link", "%s chain: the root names block %#llx, the dump read %#llx",
				   name, (unsigned long long)root->chain[chain],
				   (unsigned long long)(nb ? blocks[0]->pa : 0));
		for (i = 0; i < nb; i++) {
			const struct lt_block_rec *b = blocks[i];
			__u64 next = b->err ? 0 : lt_block_hdr(b)->next;
			__u64 count = b->err ? 0 : lt_block_hdr(b)->count;

			if (!b->err && i + 1 < nb && next != blocks[i + 1]->pa)
				lt_problem(m, "chain-link", "%s chain: block %zu links to %#llx, the dump read %#llx next",
					   name, i, (unsigned long long)next,
					   (unsigned long long)blocks[i + 1]->pa);
			if (!b->err && count == 0)
				lt_problem(m, "block-count", "%s chain: block %zu holds no entry",
					   name, i);
			if (b->err)
				lt_problem(m, "block-unreadable", "%s chain: block %zu at %#llx cannot be read (error %d)",
					   name, i, (unsigned long long)b->pa,
					   b->err);
			if (b->pa & (KHO_BLOCK_SIZE - 1))
				lt_problem(m, "block-unaligned", "%s chain: block %zu at %#llx is not page aligned",
					   name, i, (unsigned long long)b->pa);
			if (count > per)
				lt_problem(m, "block-count", "%s chain: block %zu has %llu entries, the limit is %u",
					   name, i, (unsigned long long)count,
					   per);
			if (!b->err && next && count < per)
				lt_problem(m, "block-not-full", "%s chain: block %zu is not full but is not the last",
					   name, i);
		}
	}
	free(blocks);
}

/* Prints the blocks of every chain */
static void lt_print_blocks(struct lt_printer *p)
{
	const struct lt_snapshot *s = p->s;
	const struct lt_block_rec **blocks;
	__u32 chain;

	blocks = calloc(LT_MAX_BLOCKS, sizeof(*blocks));
	if (!blocks)
		return;
	if (lt_json(p)) {
		jw_key(&p->jw, "blocks");
		jw_arr_begin(&p->jw);
	}
	for (chain = 0; chain < LT_NR_CHAINS; chain++) {
		size_t i, nb;

		nb = lt_chain_blocks(s, chain, blocks, LT_MAX_BLOCKS, NULL);
		if (nb > LT_MAX_BLOCKS)
			nb = LT_MAX_BLOCKS;
		for (i = 0; i < nb; i++) {
			const struct lt_block_rec *b = blocks[i];
			__u64 next = b->err ? 0 : lt_block_hdr(b)->next;
			__u64 count = b->err ? 0 : lt_block_hdr(b)->count;

			if (lt_json(p)) {
				jw_obj_begin(&p->jw);
				jw_kstr(&p->jw, "chain", lt_chain_name(chain));
				jw_ku64(&p->jw, "seq", b->seq);
				jw_ku64(&p->jw, "pa", b->pa);
				jw_ku64(&p->jw, "count", count);
				jw_ku64(&p->jw, "next", next);
				jw_kint(&p->jw, "error", b->err);
				jw_obj_end(&p->jw);
			} else {
				fprintf(p->out, "  %s block %u at %#llx: %llu entr%s, next %#llx%s\n",
					lt_chain_name(chain), b->seq,
					(unsigned long long)b->pa,
					(unsigned long long)count,
					count == 1 ? "y" : "ies",
					(unsigned long long)next,
					b->err ? " (unreadable)" : "");
			}
		}
	}
	if (lt_json(p))
		jw_arr_end(&p->jw);
	free(blocks);
}

const struct iommu_lu_hw_unit_ser *lt_model_hw_unit(const struct lt_model *m,
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

void lt_json_place(struct jw *w, __u32 chain, __u32 index)
{
	jw_kstr(w, "chain", chain == LT_NR_CHAINS ? "state" :
		lt_chain_name(chain));
	jw_ku64_or_null(w, "index", index != LT_REFUSED_ALL, index);
}

void lt_json_reason(struct jw *w, const char *code, __u32 reason_id,
		    const char *meaning, __u32 concerns)
{
	jw_kstr_or_null(w, "reason", code);
	jw_ku64_or_null(w, "reason_id", code, reason_id);
	if (meaning)
		jw_kstr(w, "meaning", meaning);
	jw_ku64_or_null(w, "concerns", code && concerns != LT_REFUSED_NONE,
			concerns);
}

/* The kernel's record as JSON members: reason, reason_id, concerns */
static void lt_json_refusal(struct lt_printer *p, const struct lt_refusal_rec *r)
{
	char buf[32];

	lt_json_reason(&p->jw, lt_refusal_code(p->s, r->reason, buf,
					       sizeof(buf)),
		       r->reason, lt_reason_meaning(p->s, r->reason),
		       r->concerns);
}

static void lt_print_hdr(struct lt_printer *p, const struct lt_entry *e)
{
	const struct iommu_lu_entry_hdr *hdr = e->raw;
	const struct lt_refusal_rec *r = NULL;
	bool refused = false;
	char flags[64], why[64];

	lt_entry_flags_str(hdr->flags, flags, sizeof(flags));
	if (p->s->incoming) {
		r = lt_refusal_of(p->s, e->chain, e->pos);
		refused = r || (e->chain != IOMMU_LU_CHAIN_DOMAIN &&
				!lt_snapshot_incomplete(p->s) &&
				!lt_entry_valid(p->s, e->chain, e->pos));
	}
	if (lt_json(p)) {
		jw_ku64(&p->jw, "index", hdr->index);
		jw_ku64(&p->jw, "block", e->block);
		jw_ku64(&p->jw, "slot", e->slot);
		jw_ku64(&p->jw, "refcount", hdr->refcount);
		jw_kstr(&p->jw, "flags", flags);
		if (p->s->incoming && e->chain != IOMMU_LU_CHAIN_DOMAIN) {
			jw_key(&p->jw, "valid");
			if (lt_snapshot_incomplete(p->s))
				jw_null(&p->jw);
			else
				jw_bool(&p->jw, lt_entry_valid(p->s, e->chain,
							      e->pos));
		}
		if (r) {
			jw_key(&p->jw, "refusal");
			jw_obj_begin(&p->jw);
			lt_json_refusal(p, r);
			jw_obj_end(&p->jw);
		}
	} else {
		fprintf(p->out, "    %s %u (block %u slot %u): refcount %u, flags %s",
			lt_chain_name(e->chain), hdr->index, e->block, e->slot,
			hdr->refcount, flags);
		if (refused)
			fprintf(p->out, ", REFUSED by the kernel");
		if (r)
			fprintf(p->out, ": %s",
				lt_refusal_str(p->s, r, why, sizeof(why)));
		fputc('\n', p->out);
	}
}

/* The problems of an entry's header */
static void lt_check_hdr(struct lt_model *m, const struct lt_entry *e)
{
	const struct iommu_lu_entry_hdr *hdr = e->raw;

	if (hdr->index != e->pos)
		lt_problem(m, "entry-index", "%s entry in slot %u says index %u",
			   lt_chain_name(e->chain), e->pos, hdr->index);
	if (hdr->flags & ~IOMMU_LU_ENTRY_FLAGS_MASK)
		lt_problem(m, "entry-flags", "%s entry %u has unknown flags %#x",
			   lt_chain_name(e->chain), hdr->index, hdr->flags);
}

/* @v as "0x..." text in @buf */
static const char *lt_hex(char *buf, size_t size, __u64 v)
{
	snprintf(buf, size, "0x%llx", (unsigned long long)v);
	return buf;
}

/* Are a VT-d unit's tables in scalable mode? */
static bool lt_vtd_sm(const struct iommu_lu_hw_unit_ser *hw)
{
	return hw->data[IOMMU_LU_VTD_UNIT_FLAGS] & IOMMU_LU_VTD_UNIT_F_SM;
}

/*
 * The fields of AMD-Vi hardware registers and tables that the ABI records
 * as they are (the AMD I/O Virtualization Technology specification): the
 * device table base register, and words 0 and 1 of a device table entry.
 */
#define LT_AMDVI_DEVTAB_SIZE	0x1ffULL		/* 4K pages - 1 */
#define LT_AMDVI_DTE0_V		BIT_ULL(0)
#define LT_AMDVI_DTE0_TV	BIT_ULL(1)
#define LT_AMDVI_DTE0_MODE_SHIFT 9			/* bits 9-11 */
#define LT_AMDVI_DTE0_MODE	0x7ULL
#define LT_AMDVI_DTE0_IR	BIT_ULL(61)
#define LT_AMDVI_DTE0_IW	BIT_ULL(62)
#define LT_AMDVI_DTE1_IOTLB	BIT_ULL(32)

/* An AMD-Vi unit's payload, in text or as JSON members */
static void lt_print_amdvi_unit(struct lt_printer *p,
				const struct iommu_lu_hw_unit_ser *hw)
{
	__u64 devtab = hw->data[IOMMU_LU_AMDVI_UNIT_DEVTAB];
	__u64 size = ((devtab & LT_AMDVI_DEVTAB_SIZE) + 1) * 4096;

	if (lt_json(p)) {
		jw_khex(&p->jw, "devtab", devtab);
		jw_ku64(&p->jw, "dev_table", devtab & LT_AMDVI_ADDR);
		jw_ku64(&p->jw, "dev_table_size", size);
		jw_khex(&p->jw, "efr", hw->data[IOMMU_LU_AMDVI_UNIT_EFR]);
		jw_khex(&p->jw, "efr2", hw->data[IOMMU_LU_AMDVI_UNIT_EFR2]);
		jw_ku64(&p->jw, "segment", hw->data[IOMMU_LU_AMDVI_UNIT_SEGMENT]);
		return;
	}
	fprintf(p->out, ", device table %#llx (%llu bytes), efr %#llx, efr2 %#llx, segment %llu",
		(unsigned long long)(devtab & LT_AMDVI_ADDR),
		(unsigned long long)size,
		(unsigned long long)hw->data[IOMMU_LU_AMDVI_UNIT_EFR],
		(unsigned long long)hw->data[IOMMU_LU_AMDVI_UNIT_EFR2],
		(unsigned long long)hw->data[IOMMU_LU_AMDVI_UNIT_SEGMENT]);
}

static void lt_print_hw_unit(struct lt_printer *p, const struct lt_entry *e)
{
	const struct iommu_lu_hw_unit_ser *hw = e->raw;
	bool vtd = hw->type == IOMMU_LU_HW_VTD;
	bool amd = hw->type == IOMMU_LU_HW_AMDVI;

	if (lt_json(p)) {
		jw_kstr(&p->jw, "type", lt_hw_type_name(hw->type));
		jw_ku64(&p->jw, "type_id", hw->type);
		jw_khex(&p->jw, "token", hw->token);
		if (vtd) {
			jw_key(&p->jw, "vtd");
			jw_obj_begin(&p->jw);
			jw_ku64(&p->jw, "root_table",
				hw->data[IOMMU_LU_VTD_UNIT_ROOT]);
			jw_khex(&p->jw, "cap", hw->data[IOMMU_LU_VTD_UNIT_CAP]);
			jw_khex(&p->jw, "ecap", hw->data[IOMMU_LU_VTD_UNIT_ECAP]);
			jw_kstr(&p->jw, "mode", lt_vtd_sm(hw) ? "scalable" : "legacy");
			jw_obj_end(&p->jw);
		} else if (amd) {
			jw_key(&p->jw, "amdvi");
			jw_obj_begin(&p->jw);
			lt_print_amdvi_unit(p, hw);
			jw_obj_end(&p->jw);
		}
		return;
	}
	fprintf(p->out, "        %s unit, token %#llx", lt_hw_type_name(hw->type),
		(unsigned long long)hw->token);
	if (vtd)
		fprintf(p->out, ", root table %#llx, cap %#llx, ecap %#llx",
			(unsigned long long)hw->data[IOMMU_LU_VTD_UNIT_ROOT],
			(unsigned long long)hw->data[IOMMU_LU_VTD_UNIT_CAP],
			(unsigned long long)hw->data[IOMMU_LU_VTD_UNIT_ECAP]);
	if (vtd)
		fprintf(p->out, ", %s mode", lt_vtd_sm(hw) ? "scalable" : "legacy");
	if (amd)
		lt_print_amdvi_unit(p, hw);
	fputc('\n', p->out);
}

static void lt_check_hw_unit(struct lt_model *m, const struct lt_entry *e)
{
	const struct iommu_lu_hw_unit_ser *hw = e->raw;
	__u64 unknown = hw->data[IOMMU_LU_VTD_UNIT_FLAGS] & ~IOMMU_LU_VTD_UNIT_F_SM;

	if (hw->type == IOMMU_LU_HW_VTD && unknown)
		lt_problem(m, "entry-field", "hw_unit entry %u has unknown VT-d flags %#llx",
			   hw->hdr.index, (unsigned long long)unknown);
}

static void lt_print_domain(struct lt_printer *p, const struct lt_entry *e)
{
	const struct iommu_lu_domain_ser *d = e->raw;
	__u64 feat = d->data[IOMMU_LU_PT_DATA_FEATURES];
	size_t i;

	if (lt_json(p)) {
		jw_kstr(&p->jw, "format", lt_pt_format_name(d->format));
		jw_ku64(&p->jw, "format_id", d->format);
		jw_ku64(&p->jw, "levels", d->levels);
		jw_ku64(&p->jw, "top_table", d->top_table);
		jw_ku64(&p->jw, "addr_width", d->addr_width);
		jw_ku64(&p->jw, "oa_width", d->data[IOMMU_LU_PT_DATA_OA_WIDTH]);
		jw_ku64(&p->jw, "nr_tables", d->data[IOMMU_LU_PT_DATA_NR_TABLES]);
		jw_key(&p->jw, "features");
		jw_arr_begin(&p->jw);
	} else {
		fprintf(p->out, "        %s page table, %u levels, top %#llx, IOVA width %u, OA width %llu, %llu table pages, features",
			lt_pt_format_name(d->format), d->levels,
			(unsigned long long)d->top_table, d->addr_width,
			(unsigned long long)d->data[IOMMU_LU_PT_DATA_OA_WIDTH],
			(unsigned long long)d->data[IOMMU_LU_PT_DATA_NR_TABLES]);
	}
	for (i = 0; i < ARRAY_SIZE(lt_ptf_names); i++) {
		if (!(feat & lt_ptf_names[i].bit))
			continue;
		if (lt_json(p))
			jw_str(&p->jw, lt_ptf_names[i].name);
		else
			fprintf(p->out, " %s", lt_ptf_names[i].name);
	}
	if (lt_json(p)) {
		jw_arr_end(&p->jw);
	} else {
		if (!feat)
			fprintf(p->out, " none");
		fputc('\n', p->out);
	}
}

static void lt_check_domain(struct lt_model *m, const struct lt_entry *e)
{
	const struct iommu_lu_domain_ser *d = e->raw;
	__u64 feat = d->data[IOMMU_LU_PT_DATA_FEATURES];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(lt_ptf_names); i++)
		feat &= ~lt_ptf_names[i].bit;
	if (feat)
		lt_problem(m, "entry-field", "domain entry %u has unknown page table features %#llx",
			   d->hdr.index, (unsigned long long)feat);
}

/*
 * The DMA alias word of a device, in the layout of IOMMU_LU_VTD_DEV_ALIASES
 * for both VT-d and AMD-Vi; 0 (no alias) behind another or no unit
 */
static __u64 lt_alias_word(const struct iommu_lu_hw_unit_ser *hw,
			   const struct iommu_lu_device_ser *dev)
{
	if (!hw)
		return 0;
	switch (hw->type) {
	case IOMMU_LU_HW_VTD:
		return dev->data[IOMMU_LU_VTD_DEV_ALIASES];
	case IOMMU_LU_HW_AMDVI:
		return dev->data[IOMMU_LU_AMDVI_DEV_ALIASES];
	}
	return 0;
}

/* The first @nr DMA aliases of @word, a JSON array or ", DMA aliases ..." */
static void lt_print_aliases(struct lt_printer *p, __u32 segment, __u64 word,
			     unsigned int nr)
{
	unsigned int i;
	char alias[16];

	if (lt_json(p)) {
		jw_key(&p->jw, "aliases");
		jw_arr_begin(&p->jw);
	}
	for (i = 0; i < nr; i++) {
		lt_pci_name(segment, (__u16)(word >> (16 * i)), alias,
			    sizeof(alias));
		if (lt_json(p))
			jw_str(&p->jw, alias);
		else
			fprintf(p->out, "%s%s", i ? ", " : ", DMA aliases ", alias);
	}
	if (lt_json(p))
		jw_arr_end(&p->jw);
}

/* An AMD-Vi device's domain id and DTE, in text or as JSON members */
static void lt_print_amdvi_device(struct lt_printer *p,
				  const struct iommu_lu_device_ser *dev)
{
	/* The DTE's flags: word, bit, text name, JSON key */
	static const struct {
		unsigned int word;
		__u64 bit;
		const char *text;
		const char *key;
	} bits[] = {
		{ 0, LT_AMDVI_DTE0_V, "V", "v" },
		{ 0, LT_AMDVI_DTE0_TV, "TV", "tv" },
		{ 0, LT_AMDVI_DTE0_IR, "IR", "ir" },
		{ 0, LT_AMDVI_DTE0_IW, "IW", "iw" },
		{ 1, LT_AMDVI_DTE1_IOTLB, "IOTLB", "iotlb" },
	};
	__u64 dte[IOMMU_LU_AMDVI_DTE_WORDS];
	unsigned int i, mode;
	bool any = false;
	char hex[24];

	/* A copy: the packed entry's words may be unaligned */
	memcpy(dte, &dev->data[IOMMU_LU_AMDVI_DEV_DTE], sizeof(dte));
	mode = (dte[0] >> LT_AMDVI_DTE0_MODE_SHIFT) & LT_AMDVI_DTE0_MODE;
	if (lt_json(p)) {
		jw_ku64(&p->jw, "domain_id", dev->data[IOMMU_LU_AMDVI_DEV_DOMID]);
		jw_key(&p->jw, "dte");
		jw_arr_begin(&p->jw);
		for (i = 0; i < IOMMU_LU_AMDVI_DTE_WORDS; i++)
			jw_str(&p->jw, lt_hex(hex, sizeof(hex), dte[i]));
		jw_arr_end(&p->jw);
		for (i = 0; i < ARRAY_SIZE(bits); i++)
			jw_kbool(&p->jw, bits[i].key,
				 dte[bits[i].word] & bits[i].bit);
		jw_ku64(&p->jw, "mode", mode);
		jw_ku64(&p->jw, "top_table", dte[0] & LT_AMDVI_ADDR);
		return;
	}
	fprintf(p->out, ", AMD-Vi domain id %llu, DTE = 0x%llx:0x%llx:0x%llx:0x%llx (",
		(unsigned long long)dev->data[IOMMU_LU_AMDVI_DEV_DOMID],
		(unsigned long long)dte[3], (unsigned long long)dte[2],
		(unsigned long long)dte[1], (unsigned long long)dte[0]);
	for (i = 0; i < ARRAY_SIZE(bits); i++) {
		if (!(dte[bits[i].word] & bits[i].bit))
			continue;
		fprintf(p->out, "%s%s", any ? " " : "", bits[i].text);
		any = true;
	}
	fprintf(p->out, "%smode %u, top %#llx)", any ? ", " : "", mode,
		(unsigned long long)(dte[0] & LT_AMDVI_ADDR));
}

static void lt_print_device(struct lt_printer *p, const struct lt_entry *e)
{
	const struct iommu_lu_device_ser *dev = e->raw;
	const struct iommu_lu_hw_unit_ser *hw;
	unsigned int i, nr_alias;
	char name[16], hex[24];
	bool vtd, amd, sm;
	__u64 aliases;

	hw = lt_model_hw_unit(p->m, dev->hw_unit);
	vtd = hw && hw->type == IOMMU_LU_HW_VTD;
	amd = hw && hw->type == IOMMU_LU_HW_AMDVI;
	sm = vtd && lt_vtd_sm(hw);
	aliases = lt_alias_word(hw, dev);
	nr_alias = aliases >> IOMMU_LU_VTD_ALIASES_COUNT_SHIFT;
	/* More than the ABI allows is a problem (lt_check_device) */
	if (nr_alias > IOMMU_LU_VTD_MAX_ALIASES)
		nr_alias = 0;
	lt_pci_name(dev->segment, dev->bdf, name, sizeof(name));
	if (lt_json(p)) {
		jw_kstr(&p->jw, "pci", name);
		jw_ku64(&p->jw, "segment", dev->segment);
		jw_ku64(&p->jw, "bus", dev->bdf >> 8);
		jw_ku64(&p->jw, "dev", (dev->bdf >> 3) & 0x1f);
		jw_ku64(&p->jw, "fn", dev->bdf & 7);
		jw_khex(&p->jw, "token", dev->token);
		jw_ku64(&p->jw, "domain", dev->domain);
		jw_ku64(&p->jw, "hw_unit", dev->hw_unit);
		if (vtd) {
			jw_key(&p->jw, "vtd");
			jw_obj_begin(&p->jw);
			jw_ku64(&p->jw, "domain_id", dev->data[IOMMU_LU_VTD_DEV_DID]);
			jw_ku64(&p->jw, "context_entry",
				dev->data[IOMMU_LU_VTD_DEV_CONTEXT]);
			jw_khex(&p->jw, "context_lo",
				dev->data[IOMMU_LU_VTD_DEV_CONTEXT_LO]);
			jw_khex(&p->jw, "context_hi",
				dev->data[IOMMU_LU_VTD_DEV_CONTEXT_HI]);
			lt_print_aliases(p, dev->segment, aliases, nr_alias);
			if (sm) {
				jw_ku64(&p->jw, "pasid_dir",
					dev->data[IOMMU_LU_VTD_DEV_PASID_DIR]);
				jw_ku64(&p->jw, "pasid_table",
					dev->data[IOMMU_LU_VTD_DEV_PASID_TABLE]);
				jw_key(&p->jw, "pasid0_entry");
				jw_arr_begin(&p->jw);
				for (i = 0; i < IOMMU_LU_VTD_PASID_ENTRY_WORDS; i++)
					jw_str(&p->jw, lt_hex(hex, sizeof(hex),
							      dev->data[IOMMU_LU_VTD_DEV_PASID_ENTRY + i]));
				jw_arr_end(&p->jw);
			}
			jw_obj_end(&p->jw);
		} else if (amd) {
			jw_key(&p->jw, "amdvi");
			jw_obj_begin(&p->jw);
			lt_print_amdvi_device(p, dev);
			lt_print_aliases(p, dev->segment, aliases, nr_alias);
			jw_obj_end(&p->jw);
		}
		return;
	}
	fprintf(p->out, "        PCI %s, token %#llx, domain %u, hw_unit %u",
		name, (unsigned long long)dev->token, dev->domain, dev->hw_unit);
	if (vtd)
		fprintf(p->out, ", VT-d domain id %llu, context entry at %#llx = %#llx:%#llx",
			(unsigned long long)dev->data[IOMMU_LU_VTD_DEV_DID],
			(unsigned long long)dev->data[IOMMU_LU_VTD_DEV_CONTEXT],
			(unsigned long long)dev->data[IOMMU_LU_VTD_DEV_CONTEXT_HI],
			(unsigned long long)dev->data[IOMMU_LU_VTD_DEV_CONTEXT_LO]);
	if (amd)
		lt_print_amdvi_device(p, dev);
	lt_print_aliases(p, dev->segment, aliases, nr_alias);
	if (sm)
		fprintf(p->out, ", PASID directory %#llx, PASID 0 entry at %#llx = %#llx:%#llx",
			(unsigned long long)dev->data[IOMMU_LU_VTD_DEV_PASID_DIR],
			(unsigned long long)dev->data[IOMMU_LU_VTD_DEV_PASID_TABLE],
			(unsigned long long)dev->data[IOMMU_LU_VTD_DEV_PASID_ENTRY + 1],
			(unsigned long long)dev->data[IOMMU_LU_VTD_DEV_PASID_ENTRY]);
	fputc('\n', p->out);
}

static void lt_check_device(struct lt_model *m, const struct lt_entry *e)
{
	const struct iommu_lu_device_ser *dev = e->raw;
	const struct iommu_lu_hw_unit_ser *hw;
	unsigned int nr_alias;
	size_t i;
	bool domain = false;

	hw = lt_model_hw_unit(m, dev->hw_unit);
	nr_alias = lt_alias_word(hw, dev) >> IOMMU_LU_VTD_ALIASES_COUNT_SHIFT;
	if (nr_alias > IOMMU_LU_VTD_MAX_ALIASES)
		lt_problem(m, "device-alias", "device entry %u claims %u DMA aliases (at most %u)",
			   dev->hdr.index, nr_alias, IOMMU_LU_VTD_MAX_ALIASES);
	if (dev->hdr.refcount != 1)
		lt_problem(m, "refcount", "device entry %u has refcount %u, a device entry's is 1",
			   dev->hdr.index, dev->hdr.refcount);
	/* With records missing, the unit or domain may be in what is lost */
	if (lt_snapshot_incomplete(m->s))
		return;
	if (!hw)
		lt_problem(m, "no-hw-unit", "device entry %u names hw_unit %u, which is not in the state",
			   dev->hdr.index, dev->hw_unit);
	for (i = 0; i < m->nr_entries[IOMMU_LU_CHAIN_DOMAIN]; i++)
		domain |= ((const struct iommu_lu_entry_hdr *)
			   m->entries[IOMMU_LU_CHAIN_DOMAIN][i].raw)->index ==
			  dev->domain;
	if (!domain)
		lt_problem(m, "no-domain", "device entry %u names domain %u, which is not in the state",
			   dev->hdr.index, dev->domain);
}

/*
 * A hw unit's and a domain's refcount is the number of device entries that
 * name it, as the kernel counts (every used device entry)
 */
static void lt_check_refcounts(struct lt_model *m)
{
	static const __u32 owners[] = { IOMMU_LU_CHAIN_HW_UNIT,
					IOMMU_LU_CHAIN_DOMAIN };
	size_t i, j, k;

	for (k = 0; k < ARRAY_SIZE(owners); k++) {
		__u32 chain = owners[k];

		for (i = 0; i < m->nr_entries[chain]; i++) {
			const struct iommu_lu_entry_hdr *hdr = m->entries[chain][i].raw;
			__u32 n = 0;

			for (j = 0; j < m->nr_entries[IOMMU_LU_CHAIN_DEVICE]; j++) {
				const struct iommu_lu_device_ser *dev =
					m->entries[IOMMU_LU_CHAIN_DEVICE][j].raw;

				n += (chain == IOMMU_LU_CHAIN_DOMAIN ?
				      dev->domain : dev->hw_unit) == hdr->index;
			}
			if (n != hdr->refcount)
				lt_problem(m, "refcount", "%s entry %u has refcount %u, but %u device entr%s name it",
					   lt_chain_name(chain), hdr->index,
					   hdr->refcount, n, n == 1 ? "y" : "ies");
		}
	}
}

static void lt_print_entries(struct lt_printer *p, __u32 chain)
{
	const struct lt_snapshot *s = p->s;
	const struct lt_refusal_rec *r;
	size_t i, n = p->m->nr_entries[chain];
	struct lt_entry *e = p->m->entries[chain];
	char why[64];

	if (lt_json(p)) {
		jw_key(&p->jw, lt_chain_plural[chain]);
		jw_arr_begin(&p->jw);
	} else {
		r = s->incoming ? lt_refusal_of(s, chain, LT_REFUSED_ALL) : NULL;
		fprintf(p->out, "  %s entries: %zu", lt_chain_name(chain), n);
		if (s->incoming && (s->state.refused[chain] || r))
			fprintf(p->out, " (the whole chain was REFUSED by the kernel%s%s)",
				r ? ": " : "",
				r ? lt_refusal_str(s, r, why, sizeof(why)) : "");
		fputc('\n', p->out);
	}
	for (i = 0; i < n; i++) {
		if (lt_json(p))
			jw_obj_begin(&p->jw);
		lt_print_hdr(p, &e[i]);
		if (chain == IOMMU_LU_CHAIN_HW_UNIT)
			lt_print_hw_unit(p, &e[i]);
		else if (chain == IOMMU_LU_CHAIN_DOMAIN)
			lt_print_domain(p, &e[i]);
		else
			lt_print_device(p, &e[i]);
		if (lt_json(p))
			jw_obj_end(&p->jw);
	}
	if (lt_json(p))
		jw_arr_end(&p->jw);
}

static void lt_match_device(const struct lt_snapshot *s,
			    const struct lt_entry *e, struct lt_match_row *r)
{
	const struct iommu_lu_device_ser *dev = e->raw;
	const struct lt_refusal_rec *whole;

	r->chain = IOMMU_LU_CHAIN_DEVICE;
	r->entry = e->pos;
	r->domain = dev->domain;
	r->token = dev->token;
	lt_pci_name(dev->segment, dev->bdf, r->preserved, sizeof(r->preserved));
	r->pci = lt_snapshot_pci(s, dev->segment, dev->bdf);
	r->refusal = lt_refusal_of(s, IOMMU_LU_CHAIN_DEVICE, e->pos);
	whole = lt_refusal_of(s, IOMMU_LU_CHAIN_DEVICE, LT_REFUSED_ALL);
	if (!r->refusal)
		r->refusal = whole;
	if (lt_snapshot_incomplete(s)) {
		/* What is missing may be the lookup hash */
		r->status = LT_MATCH_UNKNOWN;
		r->reason = "the dump is incomplete: the kernel's verdict was not read";
	} else if (r->refusal) {
		r->status = LT_MATCH_REFUSED;
		r->reason = r->refusal == whole ?
			    "the kernel refused the whole device chain:" :
			    "the kernel refused the entry:";
	} else if (s->state.refused[IOMMU_LU_CHAIN_DEVICE] ||
		   !lt_entry_valid(s, IOMMU_LU_CHAIN_DEVICE, e->pos)) {
		r->status = LT_MATCH_REFUSED;
		r->reason = "the entry failed validation: see 'iommu-lu: refusing incoming device' in the kernel log";
	} else if (dev->hdr.flags & IOMMU_LU_ENTRY_RESTORED) {
		r->status = LT_MATCH_RESTORED;
		r->reason = r->pci ? "matched at probe, its domain restored" :
			    "restored, but the PCI device is gone now";
	} else if (!r->pci) {
		r->status = LT_MATCH_ABSENT;
		r->reason = "no PCI device at this address in this kernel";
	} else if (!r->pci->iommu) {
		r->status = LT_MATCH_NOT_RESTORED;
		r->reason = "the PCI device has no IOMMU group: no IOMMU driver probed it";
	} else {
		r->status = LT_MATCH_NOT_RESTORED;
		r->reason = "matched at probe but its domain was not restored: see 'iommu-lu: cannot restore its preserved domain' in the kernel log";
	}
}

static int lt_add_row(struct lt_model *m, const struct lt_match_row *r)
{
	void *p = realloc(m->rows, (m->nr_rows + 1) * sizeof(*r));

	if (!p)
		return -ENOMEM;
	m->rows = p;
	m->rows[m->nr_rows++] = *r;
	return 0;
}

/*
 * Incoming: each preserved device and what became of it, each hw unit
 * whose adoption the kernel refused, and the devices that were not
 * preserved
 */
static int lt_build_matching(struct lt_model *m)
{
	const struct lt_snapshot *s = m->s;
	const struct lt_entry *e = m->entries[IOMMU_LU_CHAIN_DEVICE];
	size_t i, j, n = m->nr_entries[IOMMU_LU_CHAIN_DEVICE];
	struct lt_match_row r;

	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		lt_match_device(s, &e[i], &r);
		if (lt_add_row(m, &r))
			return -ENOMEM;
	}
	for (i = 0; i < m->nr_entries[IOMMU_LU_CHAIN_HW_UNIT]; i++) {
		const struct lt_entry *u = &m->entries[IOMMU_LU_CHAIN_HW_UNIT][i];
		const struct iommu_lu_hw_unit_ser *hw = u->raw;

		memset(&r, 0, sizeof(r));
		r.refusal = lt_refusal_of(s, IOMMU_LU_CHAIN_HW_UNIT, u->pos);
		if (!r.refusal)
			continue;
		r.chain = IOMMU_LU_CHAIN_HW_UNIT;
		r.entry = u->pos;
		r.token = hw->token;
		snprintf(r.preserved, sizeof(r.preserved), "hw_unit");
		r.status = LT_MATCH_REFUSED;
		r.reason = "the kernel refused the unit:";
		if (lt_add_row(m, &r))
			return -ENOMEM;
	}
	/* The devices that were not preserved */
	for (i = 0; i < s->nr_pci; i++) {
		const struct lt_pci_dev *d = &s->pci[i];
		bool found = false;

		if (!d->iommu)
			continue;
		for (j = 0; j < n && !found; j++) {
			const struct iommu_lu_device_ser *dev = e[j].raw;

			found = dev->segment == d->segment && dev->bdf == d->bdf;
		}
		if (found)
			continue;
		memset(&r, 0, sizeof(r));
		r.chain = IOMMU_LU_CHAIN_DEVICE;
		r.entry = -1;
		r.pci = d;
		r.status = LT_MATCH_NOT_PRESERVED;
		r.reason = "no entry: probed as on a normal boot";
		if (lt_add_row(m, &r))
			return -ENOMEM;
	}
	return 0;
}

static void lt_print_match_row(struct lt_printer *p,
			       const struct lt_match_row *r)
{
	char pci[16], why[64], driver[4 * sizeof(r->pci->driver)];

	if (r->pci)
		lt_pci_name(r->pci->segment, r->pci->bdf, pci, sizeof(pci));
	if (r->refusal)
		lt_refusal_str(p->s, r->refusal, why, sizeof(why));
	if (lt_json(p)) {
		jw_obj_begin(&p->jw);
		if (r->entry >= 0) {
			jw_kint(&p->jw, "entry", r->entry);
			if (r->chain == IOMMU_LU_CHAIN_HW_UNIT) {
				jw_kstr(&p->jw, "chain", "hw_unit");
				jw_khex(&p->jw, "token", r->token);
			} else {
				jw_kstr(&p->jw, "preserved", r->preserved);
				jw_kint(&p->jw, "domain", r->domain);
			}
		} else {
			jw_key(&p->jw, "entry");
			jw_null(&p->jw);
		}
		jw_kstr_or_null(&p->jw, "pci", r->pci ? pci : NULL);
		jw_kstr(&p->jw, "driver", r->pci ? r->pci->driver : "");
		jw_kstr(&p->jw, "status", lt_match_status_name(r->status));
		if (r->refusal) {
			char reason[160];

			snprintf(reason, sizeof(reason), "%s %s", r->reason, why);
			jw_kstr(&p->jw, "reason", reason);
			jw_key(&p->jw, "kernel");
			jw_obj_begin(&p->jw);
			lt_json_refusal(p, r->refusal);
			jw_obj_end(&p->jw);
		} else {
			jw_kstr(&p->jw, "reason", r->reason);
		}
		jw_obj_end(&p->jw);
		return;
	}
	if (r->entry >= 0)
		fprintf(p->out, "  %-6d %-13s", r->entry, r->preserved);
	else
		fprintf(p->out, "  %-6s %-13s", "-", "-");
	fprintf(p->out, " %-13s %-10s %-12s %s%s%s\n", r->pci ? pci : "-",
		r->pci && r->pci->driver[0] ?
		lt_text_safe(r->pci->driver, driver, sizeof(driver)) : "-",
		lt_match_status_name(r->status),
		r->reason, r->refusal ? " " : "", r->refusal ? why : "");
}

static void lt_print_matching(struct lt_printer *p)
{
	size_t i;

	if (lt_json(p)) {
		jw_key(&p->jw, "matching");
		jw_arr_begin(&p->jw);
	} else {
		fprintf(p->out, "matching:\n  %-6s %-13s %-13s %-10s %-12s %s\n",
			"entry", "preserved", "PCI device", "driver", "status",
			"why");
	}
	for (i = 0; i < p->m->nr_rows; i++)
		lt_print_match_row(p, &p->m->rows[i]);
	if (lt_json(p))
		jw_arr_end(&p->jw);
}

/* Incoming: the kernel's refusals, every one, oldest first */
static void lt_print_refusals(struct lt_printer *p)
{
	const struct lt_snapshot *s = p->s;
	size_t i;

	jw_key(&p->jw, "refusals");
	jw_arr_begin(&p->jw);
	for (i = 0; i < s->nr_refusals; i++) {
		const struct lt_refusal_rec *r = &s->refusals[i];

		jw_obj_begin(&p->jw);
		lt_json_place(&p->jw, r->chain, r->index);
		lt_json_refusal(p, r);
		jw_obj_end(&p->jw);
	}
	jw_arr_end(&p->jw);
	jw_kbool(&p->jw, "refusals_known", s->state.has_refusals);
	jw_ku64(&p->jw, "refusals_lost", s->state.refusals_lost);
}

/* Why there is no state to show, or NULL when there is one */
static const char *lt_no_state_reason(const struct lt_snapshot *s)
{
	const struct lt_state_rec *st = &s->state;

	if (!s->have_state)
		return "the dump program returned no state record";
	if (st->obj && st->root_err)
		return "the root record cannot be read";
	if (!s->incoming)
		return st->obj ? NULL :
		       "no outgoing state: nothing is preserved in this kernel";
	if (st->obj)
		return st->have_root ? NULL :
		       "the previous kernel's state was refused as a whole (see 'iommu-lu: refusing incoming state' in the kernel log): nothing was restored";
	if (st->finished)
		return "the incoming state was finished and released";
	if (st->retrieve_status < 0)
		return "retrieving the incoming state failed";
	switch (st->handover) {
	case LT_HANDOVER_NONE:
		return "no incoming state: this boot was not a live update (LUO received nothing from the previous kernel)";
	case LT_HANDOVER_OTHER:
		return "no incoming state: the previous kernel handed no IOMMU state over (it preserved no device)";
	case LT_HANDOVER_IOMMU:
		return "no incoming state yet: the previous kernel handed IOMMU state over, but no IOMMU driver has asked for it (it is retrieved when the first IOMMU probes a device)";
	}
	return "no incoming state: the previous kernel handed no IOMMU state over, or no IOMMU driver has asked for it (it is retrieved when the first IOMMU probes a device)";
}

void lt_model_free(struct lt_model *m)
{
	__u32 chain;

	for (chain = 0; chain < LT_NR_CHAINS; chain++)
		free(m->entries[chain]);
	free(m->rows);
	memset(m, 0, sizeof(*m));
}

int lt_model_build(struct lt_model *m, const struct lt_snapshot *s)
{
	const struct iommu_lu_root_ser *root = lt_root(s);
	__u32 chain;
	size_t i, n;

	memset(m, 0, sizeof(*m));
	m->s = s;
	m->why = lt_no_state_reason(s);
	if (s->have_state && s->state.obj && s->state.root_err)
		lt_problem(m, "root-unreadable", "root record of the state at %#llx cannot be read (error %d)",
			   (unsigned long long)s->state.root_pa,
			   s->state.root_err);
	if (s->lost)
		lt_problem(m, "records-lost", "%u records did not fit in the ring buffer: the dump is incomplete",
			   s->lost);
	if (s->truncated)
		lt_problem(m, "dump-truncated", "%u lookup hash buckets hold more than %d entries: the dump did not read them whole",
			   s->truncated, LT_BUCKET_MAX);
	if (s->incoming && s->have_state &&
	    s->nr_refusals < s->state.nr_refusals)
		lt_problem(m, "refusals-unread", "the kernel recorded %u refusals, the dump read %zu",
			   s->state.nr_refusals, s->nr_refusals);
	if (s->have_state && s->state.have_root) {
		if (root->magic != IOMMU_LU_ROOT_MAGIC)
			lt_problem(m, "root-magic", "root record: bad magic %#llx",
				   (unsigned long long)root->magic);
		if (root->version != IOMMU_LU_ABI_VERSION)
			lt_problem(m, "abi-version", "root record: ABI version %u, lutrace reads %u",
				   root->version, IOMMU_LU_ABI_VERSION);
	}
	if (m->why)
		return 0;

	/* A chain cut short by lost records breaks rules it does not */
	if (!lt_snapshot_incomplete(s))
		lt_check_blocks(m);
	for (chain = 0; chain < LT_NR_CHAINS; chain++) {
		n = lt_chain_entries(s, chain, NULL, 0);
		m->entries[chain] = calloc(n ? n : 1, sizeof(struct lt_entry));
		if (!m->entries[chain])
			goto nomem;
		m->nr_entries[chain] = lt_chain_entries(s, chain,
							m->entries[chain], n);
		if (s->state.have_root && root->nr_entries[chain] != n &&
		    !lt_snapshot_incomplete(s))
			lt_problem(m, "chain-entries", "%s chain holds %zu entries, the root says %llu",
				   lt_chain_name(chain), n,
				   (unsigned long long)root->nr_entries[chain]);
	}
	for (chain = 0; chain < LT_NR_CHAINS; chain++) {
		for (i = 0; i < m->nr_entries[chain]; i++) {
			const struct lt_entry *e = &m->entries[chain][i];

			lt_check_hdr(m, e);
			if (chain == IOMMU_LU_CHAIN_HW_UNIT)
				lt_check_hw_unit(m, e);
			else if (chain == IOMMU_LU_CHAIN_DOMAIN)
				lt_check_domain(m, e);
			else
				lt_check_device(m, e);
		}
	}
	if (!lt_snapshot_incomplete(s))
		lt_check_refcounts(m);
	if (s->incoming && lt_build_matching(m))
		goto nomem;
	return 0;
nomem:
	lt_model_free(m);
	return -ENOMEM;
}

/* The snapshot the model was built from, for lt_snapshot_load() */
static void lt_print_snapshot(struct lt_printer *p)
{
	const struct lt_snapshot *s = p->s;
	const struct lt_state_rec *st = &s->state;
	struct jw *w = &p->jw;
	size_t i, len;
	__u32 c;
	char name[16];

	jw_key(w, "snapshot");
	jw_obj_begin(w);
	jw_ku64(w, "format", LT_SNAPSHOT_FORMAT);
	jw_kbool(w, "incoming", s->incoming);
	jw_kint(w, "err", s->err);
	jw_ku64(w, "lost", s->lost);
	jw_ku64(w, "truncated", s->truncated);
	jw_kstr_or_null(w, "cmdline", s->cmdline);
	jw_key(w, "state");
	if (!s->have_state) {
		jw_null(w);
	} else {
		jw_obj_begin(w);
		jw_kbool(w, "have_obj", st->obj);
		jw_ku64(w, "root_pa", st->root_pa);
		jw_kint(w, "count", st->count);
		jw_kint(w, "retrieve_status", st->retrieve_status);
		jw_kbool(w, "finished", st->finished);
		jw_kbool(w, "have_root", st->have_root);
		jw_kint(w, "root_err", st->root_err);
		jw_kbool(w, "has_refusals", st->has_refusals);
		jw_ku64(w, "refusals_lost", st->refusals_lost);
		jw_ku64(w, "nr_refusals", st->nr_refusals);
		jw_ku64(w, "handover", st->handover);
		jw_key(w, "nr_used");
		jw_arr_begin(w);
		for (c = 0; c < LT_NR_CHAINS; c++)
			jw_u64(w, st->nr_used[c]);
		jw_arr_end(w);
		jw_key(w, "refused");
		jw_arr_begin(w);
		for (c = 0; c < LT_NR_CHAINS; c++)
			jw_bool(w, st->refused[c]);
		jw_arr_end(w);
		jw_kbytes(w, "root_record", st->root, sizeof(st->root));
		jw_obj_end(w);
	}
	jw_key(w, "blocks");
	jw_arr_begin(w);
	for (i = 0; i < s->nr_blocks; i++) {
		const struct lt_block_rec *b = &s->blocks[i];

		/* Trailing zero bytes left out: the reader puts them back */
		for (len = sizeof(b->data); len && !b->data[len - 1]; len--)
			;
		jw_obj_begin(w);
		jw_kstr(w, "chain", lt_chain_name(b->chain));
		jw_ku64(w, "seq", b->seq);
		jw_ku64(w, "pa", b->pa);
		jw_kint(w, "err", b->err);
		jw_kbytes(w, "data", b->data, b->err ? 0 : len);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "lookup");
	jw_arr_begin(w);
	for (i = 0; i < s->nr_valid; i++) {
		jw_obj_begin(w);
		jw_kstr(w, "chain", lt_chain_name(s->valid[i].chain));
		jw_ku64(w, "index", s->valid[i].index);
		jw_ku64(w, "type", s->valid[i].type);
		jw_khex(w, "key", s->valid[i].key);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "refusals");
	jw_arr_begin(w);
	for (i = 0; i < s->nr_refusals; i++) {
		jw_obj_begin(w);
		jw_ku64(w, "chain", s->refusals[i].chain);
		jw_ku64(w, "index", s->refusals[i].index);
		jw_ku64(w, "reason", s->refusals[i].reason);
		jw_ku64(w, "concerns", s->refusals[i].concerns);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "reasons");
	jw_arr_begin(w);
	for (i = 0; i < s->nr_reasons; i++) {
		if (s->reasons[i])
			jw_str(w, s->reasons[i]);
		else
			jw_null(w);
	}
	jw_arr_end(w);
	jw_key(w, "kexec");
	if (!s->have_kexec) {
		jw_null(w);
	} else {
		jw_obj_begin(w);
		jw_kint(w, "err", s->kexec.err);
		jw_kbool(w, "loaded", s->kexec.loaded);
		jw_kbool(w, "file_mode", s->kexec.file_mode);
		jw_kbool(w, "have_cmdline", s->kexec.have_cmdline);
		jw_kstr(w, "cmdline", s->kexec.cmdline);
		jw_obj_end(w);
	}
	jw_key(w, "mem");
	jw_arr_begin(w);
	for (i = 0; i < s->nr_mem; i++) {
		const struct lt_mem_rec *r = &s->mem[i];

		jw_obj_begin(w);
		jw_ku64(w, "pa", r->pa);
		jw_ku64(w, "len", r->len);
		jw_kint(w, "err", r->err);
		jw_kbytes(w, "data", r->data, r->err ? 0 : r->len);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "pci");
	jw_arr_begin(w);
	for (i = 0; i < s->nr_pci; i++) {
		const struct lt_pci_dev *d = &s->pci[i];

		jw_obj_begin(w);
		jw_kstr(w, "pci", lt_pci_name(d->segment, d->bdf, name,
					      sizeof(name)));
		jw_kbool(w, "iommu", d->iommu);
		jw_kstr(w, "driver", d->driver);
		jw_ku64_or_null(w, "command", d->have_command, d->command);
		jw_kstr_or_null(w, "parent", d->have_parent ?
				lt_pci_name(d->parent_segment, d->parent_bdf,
					    name, sizeof(name)) : NULL);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

void lt_model_print(const struct lt_model *m, FILE *out, enum lt_format fmt)
{
	const struct lt_snapshot *s = m->s;
	const struct iommu_lu_root_ser *root = lt_root(s);
	const struct lt_refusal_rec *whole;
	struct lt_printer pr = { .out = out, .fmt = fmt, .s = s, .m = m };
	struct lt_printer *p = &pr;
	const char *why = m->why;
	char code[64];
	__u32 chain;
	int i, nr;

	jw_init(&p->jw, out, fmt == LT_FMT_PRETTY);
	whole = s->incoming ? lt_refusal_of(s, LT_NR_CHAINS, LT_REFUSED_ALL) :
		NULL;
	if (lt_json(p)) {
		jw_obj_begin(&p->jw);
		jw_kstr(&p->jw, "direction", s->incoming ? "incoming" : "outgoing");
		jw_kbool(&p->jw, "state", !why);
		if (why)
			jw_kstr(&p->jw, "reason", why);
		if (s->have_state) {
			jw_key(&p->jw, "flb");
			jw_obj_begin(&p->jw);
			jw_ku64(&p->jw, "root_pa", s->state.root_pa);
			jw_kint(&p->jw, "users", s->state.count);
			if (s->incoming) {
				jw_kint(&p->jw, "retrieve_status",
					s->state.retrieve_status);
				jw_kbool(&p->jw, "finished", s->state.finished);
			}
			jw_obj_end(&p->jw);
		}
		if (s->incoming)
			lt_print_refusals(p);
	} else {
		fprintf(out, "%s IOMMU live update state", s->incoming ? "incoming" : "outgoing");
		if (why) {
			fprintf(out, ": %s", why);
			if (whole)
				fprintf(out, "; the kernel's reason: %s",
					lt_refusal_str(s, whole, code, sizeof(code)));
			fputc('\n', out);
		} else {
			fprintf(out, ": root at %#llx, %d preserved file%s depend%s on it\n",
				(unsigned long long)s->state.root_pa,
				s->state.count, s->state.count == 1 ? "" : "s",
				s->state.count == 1 ? "s" : "");
		}
	}

	if (!why) {
		if (lt_json(p)) {
			jw_key(&p->jw, "root");
			jw_obj_begin(&p->jw);
			jw_khex(&p->jw, "magic", root->magic);
			jw_ku64(&p->jw, "version", root->version);
			jw_key(&p->jw, "nr_entries");
			jw_obj_begin(&p->jw);
			for (chain = 0; chain < LT_NR_CHAINS; chain++)
				jw_ku64(&p->jw, lt_chain_name(chain),
					root->nr_entries[chain]);
			jw_obj_end(&p->jw);
			if (s->incoming) {
				jw_key(&p->jw, "valid");
				jw_obj_begin(&p->jw);
				for (chain = 0; chain < LT_NR_CHAINS; chain++)
					jw_ku64(&p->jw, lt_chain_name(chain),
						s->state.nr_used[chain]);
				jw_obj_end(&p->jw);
			}
			jw_obj_end(&p->jw);
		} else {
			fprintf(out, "  root: magic %#llx, ABI version %u, entries: %llu hw_unit, %llu domain, %llu device\n",
				(unsigned long long)root->magic, root->version,
				(unsigned long long)root->nr_entries[0],
				(unsigned long long)root->nr_entries[1],
				(unsigned long long)root->nr_entries[2]);
			if (s->incoming)
				fprintf(out, "  valid after the kernel's checks: %u hw_unit, %u domain, %u device\n",
					s->state.nr_used[0], s->state.nr_used[1],
					s->state.nr_used[2]);
		}
		lt_print_blocks(p);
		for (chain = 0; chain < LT_NR_CHAINS; chain++)
			lt_print_entries(p, chain);
		if (s->incoming)
			lt_print_matching(p);
	}

	nr = m->nr_problems < LT_MAX_PROBLEMS ? m->nr_problems : LT_MAX_PROBLEMS;
	if (lt_json(p)) {
		jw_key(&p->jw, "problems");
		jw_arr_begin(&p->jw);
		for (i = 0; i < nr; i++)
			jw_str(&p->jw, m->problems[i]);
		jw_arr_end(&p->jw);
		jw_ku64(&p->jw, "problems_not_listed", m->nr_problems - nr);
		lt_print_snapshot(p);
		jw_obj_end(&p->jw);
		jw_end(&p->jw);
	} else if (m->nr_problems) {
		fprintf(out, "problems: %d\n", m->nr_problems);
		for (i = 0; i < nr; i++)
			fprintf(out, "  %s\n", m->problems[i]);
		if (m->nr_problems > nr)
			fprintf(out, "  ... and %d more, not listed\n",
				m->nr_problems - nr);
	}
}

int lt_dump_print(const struct lt_snapshot *s, FILE *out, enum lt_format fmt)
{
	struct lt_model m;
	int nr;

	if (lt_model_build(&m, s))
		return -ENOMEM;
	lt_model_print(&m, out, fmt);
	nr = m.nr_problems;
	lt_model_free(&m);
	return nr;
}
