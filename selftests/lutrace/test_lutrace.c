// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of lutrace's decoding, event parsing and printing
 * (tools/lutrace/{decode,events,json,hist,timeline_model}.c). No kernel, no
 * BPF: the tests build the records the dump program would hand over from
 * the ABI's own structures (<linux/kho/abi/iommu.h>, <linux/kho/abi/block.h>),
 * feed them to a snapshot and check what is printed; the same for the two
 * timeline rings (<linux/kho/abi/iommu_timeline.h>).
 *
 * Output: one "ok N name" / "not ok N name: reason" line per test, the
 * output that failed as "# " lines, and a closing
 * "# lutrace unit: P passed, F failed". Exits 1 if a test failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include "compare.h"
#include "decode.h"
#include "env.h"
#include "events.h"
#include "hist.h"
#include "json.h"
#include "timeline_model.h"
#include "verdict.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- the runner ------------------------------------------------------ */

static char t_msg[1024];
static const char *t_ctx;	/* output to show when the test fails */

#define EXPECT(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			snprintf(t_msg, sizeof(t_msg), __VA_ARGS__);	\
			return -1;					\
		}							\
	} while (0)

/* @buf contains / does not contain @str; on failure, @buf is shown */
#define HAS(buf, str)							\
	do {								\
		t_ctx = (buf);						\
		EXPECT(strstr((buf), (str)), "missing \"%s\" (line %d)", \
		       (str), __LINE__);				\
	} while (0)
#define HASNT(buf, str)							\
	do {								\
		t_ctx = (buf);						\
		EXPECT(!strstr((buf), (str)), "unexpected \"%s\" (line %d)", \
		       (str), __LINE__);				\
	} while (0)
#define EQ(a, b)							\
	EXPECT((unsigned long long)(a) == (unsigned long long)(b),	\
	       "%s == %llu, expected %s == %llu (line %d)", #a,		\
	       (unsigned long long)(a), #b, (unsigned long long)(b), __LINE__)
#define STREQ(a, b)							\
	EXPECT(!strcmp((a), (b)), "%s == \"%s\", expected \"%s\" (line %d)", \
	       #a, (a), (b), __LINE__)

/* ---- building the state ------------------------------------------------ */

/* The layout of the standard state: one page each, like the kernel's */
#define ROOT_PA		0x11f000ULL
#define HW_BLOCK_PA	0x120000ULL
#define DOM_BLOCK_PA	0x121000ULL
#define DEV_BLOCK_PA	0x122000ULL
#define DEV_BLOCK2_PA	0x12a000ULL
#define VTD_TOKEN	0xfed90000ULL
#define VTD_ROOT_TABLE	0x123000ULL
#define VTD_CAP		0xd2008c40660462ULL
#define VTD_ECAP	0xf050daULL
#define AMDVI_TOKEN	0xfeb80000ULL
#define AMDVI_DEV_TABLE	0x2000000ULL
#define AMDVI_EFR	0x246577efa2254afaULL
#define AMDVI_EFR2	0x5ULL
#define TOP_TABLE	0x1234000ULL
#define TOKEN0		0x1235ULL
#define TOKEN1		0x1236ULL
#define TOKEN2		0x1237ULL
#define BDF(bus, dev, fn)	((__u16)((bus) << 8 | (dev) << 3 | (fn)))

static const size_t entry_size[LT_NR_CHAINS] = {
	[IOMMU_LU_CHAIN_HW_UNIT] = sizeof(struct iommu_lu_hw_unit_ser),
	[IOMMU_LU_CHAIN_DOMAIN] = sizeof(struct iommu_lu_domain_ser),
	[IOMMU_LU_CHAIN_DEVICE] = sizeof(struct iommu_lu_device_ser),
};

static struct iommu_lu_root_ser *root_of(struct lt_snapshot *s)
{
	return (struct iommu_lu_root_ser *)s->state.root;
}

static void add_state(struct lt_snapshot *s, bool incoming)
{
	struct lt_state_rec st;
	struct iommu_lu_root_ser root;

	memset(&st, 0, sizeof(st));
	memset(&root, 0, sizeof(root));
	s->incoming = incoming;
	st.kind = LT_REC_STATE;
	st.incoming = incoming;
	st.obj = 0xffff888012345000ULL;
	st.root_pa = ROOT_PA;
	st.count = 1;
	st.have_root = 1;
	if (incoming)
		st.retrieve_status = 1;
	root.magic = IOMMU_LU_ROOT_MAGIC;
	root.version = IOMMU_LU_ABI_VERSION;
	memcpy(st.root, &root, sizeof(root));
	if (lt_snapshot_add(s, &st, sizeof(st)))
		abort();
}

/* Adds an empty block of @chain to @s (count 0, next 0); returns it */
static struct lt_block_rec *add_block(struct lt_snapshot *s, __u32 chain,
				      __u32 seq, __u64 pa)
{
	struct lt_block_rec *b = calloc(1, sizeof(*b));

	if (!b)
		abort();
	b->kind = LT_REC_BLOCK;
	b->chain = chain;
	b->seq = seq;
	b->pa = pa;
	if (lt_snapshot_add(s, b, sizeof(*b)))
		abort();
	free(b);
	/* The root names the first block of the chain */
	if (seq == 0)
		root_of(s)->chain[chain] = pa;
	return &s->blocks[s->nr_blocks - 1];
}

static struct kho_block_header_ser *bhdr(struct lt_block_rec *b)
{
	return (struct kho_block_header_ser *)b->data;
}

/* The @slot-th entry of block @b (packed structures: any alignment) */
static void *slot_of(struct lt_block_rec *b, __u32 slot)
{
	return b->data + sizeof(struct kho_block_header_ser) +
	       slot * entry_size[b->chain];
}

static struct lt_block_rec *find_block(struct lt_snapshot *s, __u32 chain,
				       __u32 seq)
{
	size_t i;

	for (i = 0; i < s->nr_blocks; i++)
		if (s->blocks[i].chain == chain && s->blocks[i].seq == seq)
			return &s->blocks[i];
	abort();
}

/*
 * Writes an entry into @slot of @b, grows the block's count to cover it
 * and, when the entry is in use, counts it in the root.
 */
static void put_entry(struct lt_snapshot *s, struct lt_block_rec *b,
		      __u32 slot, const void *entry)
{
	const struct iommu_lu_entry_hdr *hdr = entry;

	memcpy(slot_of(b, slot), entry, entry_size[b->chain]);
	if (bhdr(b)->count < slot + 1)
		bhdr(b)->count = slot + 1;
	if ((hdr->flags & IOMMU_LU_ENTRY_USED) &&
	    !(hdr->flags & IOMMU_LU_ENTRY_DELETED))
		root_of(s)->nr_entries[b->chain]++;
}

static void put_hw_unit(struct lt_snapshot *s, struct lt_block_rec *b,
			__u32 slot, __u32 index, __u32 refcount, __u32 flags)
{
	struct iommu_lu_hw_unit_ser hw;

	memset(&hw, 0, sizeof(hw));
	hw.hdr.index = index;
	hw.hdr.refcount = refcount;
	hw.hdr.flags = flags;
	hw.type = IOMMU_LU_HW_VTD;
	hw.token = VTD_TOKEN;
	hw.data[IOMMU_LU_VTD_UNIT_ROOT] = VTD_ROOT_TABLE;
	hw.data[IOMMU_LU_VTD_UNIT_CAP] = VTD_CAP;
	hw.data[IOMMU_LU_VTD_UNIT_ECAP] = VTD_ECAP;
	put_entry(s, b, slot, &hw);
}

static void put_domain(struct lt_snapshot *s, struct lt_block_rec *b,
		       __u32 slot, __u32 index, __u32 refcount, __u32 flags)
{
	struct iommu_lu_domain_ser d;

	memset(&d, 0, sizeof(d));
	d.hdr.index = index;
	d.hdr.refcount = refcount;
	d.hdr.flags = flags;
	d.format = IOMMU_LU_PT_VTDSS;
	d.levels = 3;
	d.top_table = TOP_TABLE;
	d.addr_width = 39;
	d.data[IOMMU_LU_PT_DATA_FEATURES] = IOMMU_LU_PTF_DYNAMIC_TOP |
					    IOMMU_LU_PTF_FORCE_COHERENCE;
	d.data[IOMMU_LU_PT_DATA_OA_WIDTH] = 39;
	d.data[IOMMU_LU_PT_DATA_NR_TABLES] = 3;
	put_entry(s, b, slot, &d);
}

static void put_device(struct lt_snapshot *s, struct lt_block_rec *b,
		       __u32 slot, __u32 index, __u32 flags, __u16 bdf,
		       __u64 token, __u32 did)
{
	struct iommu_lu_device_ser dev;

	memset(&dev, 0, sizeof(dev));
	dev.hdr.index = index;
	dev.hdr.refcount = 1;
	dev.hdr.flags = flags;
	dev.segment = 0;
	dev.bdf = bdf;
	dev.token = token;
	dev.domain = 0;
	dev.hw_unit = 0;
	dev.data[IOMMU_LU_VTD_DEV_DID] = did;
	dev.data[IOMMU_LU_VTD_DEV_CONTEXT] = VTD_ROOT_TABLE + 0x1000 + (bdf & 0xff) * 16;
	dev.data[IOMMU_LU_VTD_DEV_CONTEXT_LO] = TOP_TABLE | 1;
	dev.data[IOMMU_LU_VTD_DEV_CONTEXT_HI] = (__u64)did << 8 | 1;
	put_entry(s, b, slot, &dev);
	/* A used device entry is a reference to its unit and its domain */
	if ((flags & IOMMU_LU_ENTRY_USED) && !(flags & IOMMU_LU_ENTRY_DELETED)) {
		((struct iommu_lu_entry_hdr *)
		 slot_of(find_block(s, IOMMU_LU_CHAIN_HW_UNIT, 0), 0))->refcount++;
		((struct iommu_lu_entry_hdr *)
		 slot_of(find_block(s, IOMMU_LU_CHAIN_DOMAIN, 0), 0))->refcount++;
	}
}

/*
 * The standard state: a VT-d unit serving two devices, 0000:00:03.0 and
 * 0000:00:04.0, both attached to one VT-d second stage domain.
 */
static void std_state(struct lt_snapshot *s, bool incoming, __u32 flags)
{
	struct lt_block_rec *b;

	memset(s, 0, sizeof(*s));
	add_state(s, incoming);
	b = add_block(s, IOMMU_LU_CHAIN_HW_UNIT, 0, HW_BLOCK_PA);
	put_hw_unit(s, b, 0, 0, 0, flags);
	b = add_block(s, IOMMU_LU_CHAIN_DOMAIN, 0, DOM_BLOCK_PA);
	put_domain(s, b, 0, 0, 0, flags);
	b = add_block(s, IOMMU_LU_CHAIN_DEVICE, 0, DEV_BLOCK_PA);
	put_device(s, b, 0, 0, flags, BDF(0, 3, 0), TOKEN0, 1);
	put_device(s, b, 1, 1, flags, BDF(0, 4, 0), TOKEN1, 1);
}

static __attribute__((noinline)) char *
dump(const struct lt_snapshot *s, enum lt_format fmt, int *problems)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	*problems = lt_dump_print(s, f, fmt);
	fclose(f);
	return buf;
}

/* The line of @buf that contains @needle, copied into @line; NULL if none */
static const char *line_with(const char *buf, const char *needle,
			     char *line, size_t len)
{
	const char *p = strstr(buf, needle), *b, *e;

	if (!p)
		return NULL;
	for (b = p; b > buf && b[-1] != '\n'; b--)
		;
	e = strchr(p, '\n');
	if (!e)
		e = p + strlen(p);
	if ((size_t)(e - b) >= len)
		return NULL;
	memcpy(line, b, e - b);
	line[e - b] = 0;
	return line;
}

static int count_of(const char *buf, const char *needle)
{
	int n = 0;

	for (buf = strstr(buf, needle); buf; buf = strstr(buf + 1, needle))
		n++;
	return n;
}

static int count_lines(const char *buf)
{
	return count_of(buf, "\n");
}

/* ---- a tiny JSON validator (RFC 8259 grammar, no number ranges) ------- */

static void js_ws(const char **p)
{
	while (**p == ' ' || **p == '\n' || **p == '\t' || **p == '\r')
		(*p)++;
}

static bool js_value(const char **p, int depth);

static bool js_string(const char **p)
{
	if (**p != '"')
		return false;
	for ((*p)++; **p != '"'; (*p)++) {
		if ((unsigned char)**p < 0x20)
			return false;
		if (**p == '\\') {
			(*p)++;
			if (**p == 'u') {
				int i;

				for (i = 0; i < 4; i++) {
					(*p)++;
					if (!strchr("0123456789abcdefABCDEF", **p) || !**p)
						return false;
				}
			} else if (!**p || !strchr("\"\\/bfnrt", **p)) {
				return false;
			}
		}
	}
	(*p)++;
	return true;
}

static bool js_number(const char **p)
{
	const char *s = *p;

	if (**p == '-')
		(*p)++;
	if (**p == '0')
		(*p)++;
	else if (**p >= '1' && **p <= '9')
		while (**p >= '0' && **p <= '9')
			(*p)++;
	else
		return false;
	if (**p == '.') {
		(*p)++;
		if (!(**p >= '0' && **p <= '9'))
			return false;
		while (**p >= '0' && **p <= '9')
			(*p)++;
	}
	return *p > s;
}

static bool js_value(const char **p, int depth)
{
	if (depth > 64)
		return false;
	js_ws(p);
	if (**p == '{' || **p == '[') {
		char close = **p == '{' ? '}' : ']';
		bool obj = **p == '{';

		(*p)++;
		js_ws(p);
		if (**p == close) {
			(*p)++;
			return true;
		}
		for (;;) {
			if (obj) {
				js_ws(p);
				if (!js_string(p))
					return false;
				js_ws(p);
				if (**p != ':')
					return false;
				(*p)++;
			}
			if (!js_value(p, depth + 1))
				return false;
			js_ws(p);
			if (**p == ',') {
				(*p)++;
				continue;
			}
			if (**p != close)
				return false;
			(*p)++;
			return true;
		}
	}
	if (**p == '"')
		return js_string(p);
	if (!strncmp(*p, "true", 4) || !strncmp(*p, "null", 4)) {
		*p += 4;
		return true;
	}
	if (!strncmp(*p, "false", 5)) {
		*p += 5;
		return true;
	}
	return js_number(p);
}

/* One JSON document, then only white space */
static bool json_valid(const char *s)
{
	if (!js_value(&s, 0))
		return false;
	js_ws(&s);
	return !*s;
}

/* The JSON array that follows "key":[ in @buf, copied (compact output) */
static char *json_array(const char *buf, const char *key)
{
	char pat[64];
	const char *p, *q;
	int depth = 0;
	bool str = false;

	snprintf(pat, sizeof(pat), "\"%s\":[", key);
	p = strstr(buf, pat);
	if (!p)
		return NULL;
	p += strlen(pat) - 1;
	for (q = p; *q; q++) {
		if (str) {
			if (*q == '\\')
				q++;
			else if (*q == '"')
				str = false;
			continue;
		}
		if (*q == '"')
			str = true;
		else if (*q == '[' || *q == '{')
			depth++;
		else if ((*q == ']' || *q == '}') && --depth == 0)
			return strndup(p, q - p + 1);
	}
	return NULL;
}

/* ---- tests: the basics ------------------------------------------------- */

static int t_json_validator(void)
{
	/* The validator itself must be able to fail */
	EXPECT(json_valid("{\"a\":[1,2,{\"b\":null}],\"c\":\"x\\\"y\"}\n"), "valid");
	EXPECT(!json_valid("{\"a\":[1,2,}"), "unbalanced");
	EXPECT(!json_valid("{\"a\":1,}"), "trailing comma");
	EXPECT(!json_valid("{\"a\" 1}"), "no colon");
	EXPECT(!json_valid("{\"a\":1}{"), "two documents");
	EXPECT(!json_valid("[\"abc]"), "open string");
	return 0;
}

static int t_entries_per_block(void)
{
	__u32 c;

	for (c = 0; c < LT_NR_CHAINS; c++)
		EQ(lt_entries_per_block(c),
		   (KHO_BLOCK_SIZE - sizeof(struct kho_block_header_ser)) / entry_size[c]);
	EQ(lt_entries_per_block(IOMMU_LU_CHAIN_HW_UNIT), 42);
	EQ(lt_entries_per_block(IOMMU_LU_CHAIN_DEVICE), 24);
	EQ(lt_entries_per_block(LT_NR_CHAINS), 0);
	STREQ(lt_chain_name(IOMMU_LU_CHAIN_HW_UNIT), "hw_unit");
	STREQ(lt_chain_name(IOMMU_LU_CHAIN_DOMAIN), "domain");
	STREQ(lt_chain_name(IOMMU_LU_CHAIN_DEVICE), "device");
	STREQ(lt_chain_name(7), "unknown");
	return 0;
}

static int t_names(void)
{
	char buf[64];

	STREQ(lt_pci_name(0, BDF(0, 3, 0), buf, sizeof(buf)), "0000:00:03.0");
	STREQ(lt_pci_name(0x10, BDF(0xaf, 0x1f, 7), buf, sizeof(buf)), "0010:af:1f.7");
	STREQ(lt_entry_flags_str(IOMMU_LU_ENTRY_USED | IOMMU_LU_ENTRY_RESTORED,
				 buf, sizeof(buf)), "used,restored");
	STREQ(lt_entry_flags_str(0, buf, sizeof(buf)), "none");
	STREQ(lt_entry_flags_str(IOMMU_LU_ENTRY_USED | 0x10, buf, sizeof(buf)),
	      "used,unknown(0x10)");
	STREQ(lt_hw_type_name(IOMMU_LU_HW_VTD), "vtd");
	STREQ(lt_hw_type_name(IOMMU_LU_HW_AMDVI), "amdvi");
	STREQ(lt_hw_type_name(0), "unknown");
	STREQ(lt_pt_format_name(IOMMU_LU_PT_VTDSS), "vtdss");
	STREQ(lt_pt_format_name(IOMMU_LU_PT_X86_64), "x86_64");
	STREQ(lt_pt_format_name(IOMMU_LU_PT_AMDV1), "amdv1");
	STREQ(lt_pt_format_name(IOMMU_LU_PT_MOCK), "mock");
	STREQ(lt_pt_format_name(4), "unknown");
	return 0;
}

static int t_snapshot_add_rejects(void)
{
	struct lt_snapshot s;
	struct lt_valid_rec v = { .kind = LT_REC_VALID, .chain = LT_NR_CHAINS };
	struct lt_state_rec st = { .kind = LT_REC_STATE };
	__u32 kind = 99;

	memset(&s, 0, sizeof(s));
	EQ(lt_snapshot_add(&s, &kind, 2) < 0, 1);
	EQ(lt_snapshot_add(&s, &kind, sizeof(kind)) < 0, 1);
	EQ(lt_snapshot_add(&s, &v, sizeof(v)) < 0, 1);
	v.chain = IOMMU_LU_CHAIN_DEVICE;
	EQ(lt_snapshot_add(&s, &v, sizeof(v) - 1) < 0, 1);
	EQ(lt_snapshot_add(&s, &st, sizeof(st) - 1) < 0, 1);
	EQ(s.have_state, 0);
	EQ(lt_snapshot_add(&s, &v, sizeof(v)), 0);
	EQ(s.nr_valid, 1);
	EQ(lt_entry_valid(&s, IOMMU_LU_CHAIN_DEVICE, 0), 1);
	EQ(lt_entry_valid(&s, IOMMU_LU_CHAIN_DEVICE, 1), 0);
	EQ(lt_entry_valid(&s, IOMMU_LU_CHAIN_HW_UNIT, 0), 0);
	lt_snapshot_free(&s);
	EQ(s.nr_valid, 0);
	return 0;
}

/* ---- tests: outgoing state --------------------------------------------- */

static int t_chain_entries(void)
{
	struct lt_snapshot s;
	struct lt_entry e[4];
	const struct iommu_lu_device_ser *d;

	std_state(&s, false, IOMMU_LU_ENTRY_USED);
	EQ(lt_chain_entries(&s, IOMMU_LU_CHAIN_DEVICE, e, ARRAY_SIZE(e)), 2);
	EQ(e[1].pos, 1);
	EQ(e[1].slot, 1);
	EQ(e[1].block, 0);
	d = e[1].raw;
	EQ(d->token, TOKEN1);
	EQ(lt_chain_entries(&s, IOMMU_LU_CHAIN_HW_UNIT, NULL, 0), 1);
	lt_snapshot_free(&s);
	return 0;
}

/* A VT-d device's DMA aliases, in the text and the JSON dump */
static int t_vtd_aliases(void)
{
	struct iommu_lu_device_ser *d;
	static char line[512];
	struct lt_snapshot s;
	char *out;
	int problems;

	std_state(&s, false, IOMMU_LU_ENTRY_USED);
	d = slot_of(find_block(&s, IOMMU_LU_CHAIN_DEVICE, 0), 1);
	d->data[IOMMU_LU_VTD_DEV_ALIASES] =
		2ULL << IOMMU_LU_VTD_ALIASES_COUNT_SHIFT | 0x0208ULL << 16 | 0x0100;
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	EQ(problems, 0);
	EXPECT(line_with(out, "PCI 0000:00:04.0", line, sizeof(line)), "no 00:04.0 line");
	HAS(line, "= 0x101:0x1234001, DMA aliases 0000:01:00.0, 0000:02:01.0");
	EXPECT(line_with(out, "PCI 0000:00:03.0", line, sizeof(line)), "no 00:03.0 line");
	EXPECT(!strstr(line, "aliases"), "00:03.0 has no alias: %s", line);
	free(out);
	out = dump(&s, LT_FMT_JSON, &problems);
	t_ctx = out;
	EQ(problems, 0);
	HAS(out, "\"aliases\":[\"0000:01:00.0\",\"0000:02:01.0\"]}");
	HAS(out, "\"aliases\":[]}");
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

/* A VT-d unit in scalable mode and its devices' PASID directories */
static int t_vtd_scalable(void)
{
	struct iommu_lu_hw_unit_ser *hw;
	struct iommu_lu_device_ser *d;
	static char line[512];
	struct lt_snapshot s;
	char *out;
	int problems;

	std_state(&s, false, IOMMU_LU_ENTRY_USED);
	hw = slot_of(find_block(&s, IOMMU_LU_CHAIN_HW_UNIT, 0), 0);
	hw->data[IOMMU_LU_VTD_UNIT_FLAGS] = IOMMU_LU_VTD_UNIT_F_SM;
	d = slot_of(find_block(&s, IOMMU_LU_CHAIN_DEVICE, 0), 0);
	d->data[IOMMU_LU_VTD_DEV_PASID_DIR] = 0x777000;
	d->data[IOMMU_LU_VTD_DEV_PASID_TABLE] = 0x778000;
	d->data[IOMMU_LU_VTD_DEV_PASID_ENTRY] = 0x1234089;
	d->data[IOMMU_LU_VTD_DEV_PASID_ENTRY + 1] = 0x1;
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	EQ(problems, 0);
	HAS(out, "ecap 0xf050da, scalable mode\n");
	EXPECT(line_with(out, "PCI 0000:00:03.0", line, sizeof(line)), "no 00:03.0 line");
	HAS(line, ", PASID directory 0x777000, PASID 0 entry at 0x778000 = 0x1:0x1234089");
	free(out);
	out = dump(&s, LT_FMT_JSON, &problems);
	t_ctx = out;
	EQ(problems, 0);
	HAS(out, "\"mode\":\"scalable\"");
	HAS(out, "\"pasid_dir\":7827456,\"pasid_table\":7831552,\"pasid0_entry\":[\"0x1234089\",\"0x1\",\"0x0\",");
	free(out);
	/* A flag this lutrace does not know */
	hw->data[IOMMU_LU_VTD_UNIT_FLAGS] |= 0x4;
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	EQ(problems, 1);
	HAS(out, "hw_unit entry 0 has unknown VT-d flags 0x4");
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

/*
 * The standard state behind an AMD-Vi unit on segment 1 instead: the unit
 * with a 2 MiB device table, device 0 with IOTLB, device 1 with two DMA
 * aliases and a DTE word 3 that would read as three aliases at the VT-d
 * alias word's place.
 */
static void amdvi_state(struct lt_snapshot *s)
{
	struct iommu_lu_hw_unit_ser *hw;
	struct iommu_lu_device_ser *d;
	__u32 i;

	std_state(s, false, IOMMU_LU_ENTRY_USED);
	((struct iommu_lu_domain_ser *)slot_of(find_block(s, IOMMU_LU_CHAIN_DOMAIN, 0), 0))
		->format = IOMMU_LU_PT_AMDV1;
	hw = slot_of(find_block(s, IOMMU_LU_CHAIN_HW_UNIT, 0), 0);
	memset(hw->data, 0, sizeof(hw->data));
	hw->type = IOMMU_LU_HW_AMDVI;
	hw->token = AMDVI_TOKEN;
	hw->data[IOMMU_LU_AMDVI_UNIT_DEVTAB] = AMDVI_DEV_TABLE | 0x1ff;
	hw->data[IOMMU_LU_AMDVI_UNIT_EFR] = AMDVI_EFR;
	hw->data[IOMMU_LU_AMDVI_UNIT_EFR2] = AMDVI_EFR2;
	hw->data[IOMMU_LU_AMDVI_UNIT_SEGMENT] = 1;
	for (i = 0; i < 2; i++) {
		d = slot_of(find_block(s, IOMMU_LU_CHAIN_DEVICE, 0), i);
		memset(d->data, 0, sizeof(d->data));
		d->segment = 1;
		d->data[IOMMU_LU_AMDVI_DEV_DOMID] = 1;
		/* IW, IR, mode 3, the top table, TV, V */
		d->data[IOMMU_LU_AMDVI_DEV_DTE] = 3ULL << 61 | TOP_TABLE |
						  3 << 9 | 3;
		/* the domain id */
		d->data[IOMMU_LU_AMDVI_DEV_DTE + 1] = 1;
	}
	d = slot_of(find_block(s, IOMMU_LU_CHAIN_DEVICE, 0), 0);
	d->data[IOMMU_LU_AMDVI_DEV_DTE + 1] |= 1ULL << 32;
	d = slot_of(find_block(s, IOMMU_LU_CHAIN_DEVICE, 0), 1);
	d->data[IOMMU_LU_AMDVI_DEV_DTE + 3] =
		3ULL << IOMMU_LU_VTD_ALIASES_COUNT_SHIFT | 0xabcd;
	d->data[IOMMU_LU_AMDVI_DEV_ALIASES] =
		2ULL << IOMMU_LU_VTD_ALIASES_COUNT_SHIFT | 0x0208ULL << 16 | 0x0100;
}

/* An AMD-Vi unit and its devices in the text dump */
static int t_amdvi_text(void)
{
	struct iommu_lu_device_ser *d;
	static char line[512];
	struct lt_snapshot s;
	char *out;
	int problems;

	amdvi_state(&s);
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	EQ(problems, 0);
	HAS(out, "amdvi unit, token 0xfeb80000, device table 0x2000000 (2097152 bytes), efr 0x246577efa2254afa, efr2 0x5, segment 1\n");
	EXPECT(line_with(out, "PCI 0001:00:03.0", line, sizeof(line)), "no 0001:00:03.0 line");
	HAS(line, "token 0x1235, domain 0, hw_unit 0, AMD-Vi domain id 1, DTE = 0x0:0x0:0x100000001:0x6000000001234603 (V TV IR IW IOTLB, mode 3, top 0x1234000)");
	EXPECT(!strstr(line, "aliases"), "0001:00:03.0 has no alias: %s", line);
	EXPECT(line_with(out, "PCI 0001:00:04.0", line, sizeof(line)), "no 0001:00:04.0 line");
	HAS(line, "AMD-Vi domain id 1, DTE = 0x30000000000abcd:0x0:0x1:0x6000000001234603 (V TV IR IW, mode 3, top 0x1234000), DMA aliases 0001:01:00.0, 0001:02:01.0");
	HASNT(out, "VT-d");
	HASNT(out, "root table");
	free(out);

	/* An entry that translates nothing has no flag to show */
	d = slot_of(find_block(&s, IOMMU_LU_CHAIN_DEVICE, 0), 0);
	memset(&d->data[IOMMU_LU_AMDVI_DEV_DTE], 0,
	       IOMMU_LU_AMDVI_DTE_WORDS * sizeof(__u64));
	/* A table of one page */
	((struct iommu_lu_hw_unit_ser *)slot_of(find_block(&s, IOMMU_LU_CHAIN_HW_UNIT, 0), 0))
		->data[IOMMU_LU_AMDVI_UNIT_DEVTAB] = AMDVI_DEV_TABLE;
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	EQ(problems, 0);
	HAS(out, "device table 0x2000000 (4096 bytes)");
	HAS(out, "AMD-Vi domain id 1, DTE = 0x0:0x0:0x0:0x0 (mode 0, top 0)\n");
	free(out);

	/* The alias count is checked as VT-d's is */
	d = slot_of(find_block(&s, IOMMU_LU_CHAIN_DEVICE, 0), 1);
	d->data[IOMMU_LU_AMDVI_DEV_ALIASES] =
		4ULL << IOMMU_LU_VTD_ALIASES_COUNT_SHIFT;
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	EQ(problems, 1);
	HAS(out, "device entry 1 claims 4 DMA aliases (at most 3)");
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

/* The same in the JSON dump: the "amdvi" objects of the unit and devices */
static int t_amdvi_json(void)
{
	struct iommu_lu_device_ser *d;
	struct lt_snapshot s;
	char *out, *arr;
	int problems;

	amdvi_state(&s);
	out = dump(&s, LT_FMT_JSON, &problems);
	t_ctx = out;
	EQ(problems, 0);
	EXPECT(json_valid(out), "not valid JSON");
	HAS(out, "\"type\":\"amdvi\",\"type_id\":2,\"token\":\"0xfeb80000\",\"amdvi\":{\"devtab\":\"0x20001ff\",\"dev_table\":33554432,\"dev_table_size\":2097152,\"efr\":\"0x246577efa2254afa\",\"efr2\":\"0x5\",\"segment\":1}}");
	arr = json_array(out, "devices");
	EXPECT(arr, "no devices array");
	t_ctx = arr;
	HAS(arr, "\"pci\":\"0001:00:03.0\",\"segment\":1,\"bus\":0,\"dev\":3,\"fn\":0,\"token\":\"0x1235\",\"domain\":0,\"hw_unit\":0,\"amdvi\":{\"domain_id\":1,\"dte\":[\"0x6000000001234603\",\"0x100000001\",\"0x0\",\"0x0\"],\"v\":true,\"tv\":true,\"ir\":true,\"iw\":true,\"iotlb\":true,\"mode\":3,\"top_table\":19087360,\"aliases\":[]}}");
	HAS(arr, "\"amdvi\":{\"domain_id\":1,\"dte\":[\"0x6000000001234603\",\"0x1\",\"0x0\",\"0x30000000000abcd\"],\"v\":true,\"tv\":true,\"ir\":true,\"iw\":true,\"iotlb\":false,\"mode\":3,\"top_table\":19087360,\"aliases\":[\"0001:01:00.0\",\"0001:02:01.0\"]}}");
	HASNT(arr, "\"vtd\"");
	free(arr);
	free(out);

	/* An entry that translates nothing */
	d = slot_of(find_block(&s, IOMMU_LU_CHAIN_DEVICE, 0), 0);
	memset(&d->data[IOMMU_LU_AMDVI_DEV_DTE], 0,
	       IOMMU_LU_AMDVI_DTE_WORDS * sizeof(__u64));
	out = dump(&s, LT_FMT_JSON, &problems);
	t_ctx = out;
	EQ(problems, 0);
	HAS(out, "\"dte\":[\"0x0\",\"0x0\",\"0x0\",\"0x0\"],\"v\":false,\"tv\":false,\"ir\":false,\"iw\":false,\"iotlb\":false,\"mode\":0,\"top_table\":0,\"aliases\":[]}");
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

static int t_outgoing_text(void)
{
	struct lt_snapshot s;
	static char line[512];
	char *out;
	int problems;

	std_state(&s, false, IOMMU_LU_ENTRY_USED);
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	EQ(problems, 0);
	HAS(out, "outgoing IOMMU live update state: root at 0x11f000, 1 preserved file depends on it");
	HAS(out, "magic 0x31554c554d4d4f49, ABI version 3, entries: 1 hw_unit, 1 domain, 2 device");
	HAS(out, "hw_unit block 0 at 0x120000: 1 entry, next 0");
	HAS(out, "device block 0 at 0x122000: 2 entries, next 0");
	HAS(out, "hw_unit entries: 1");
	HAS(out, "hw_unit 0 (block 0 slot 0): refcount 2, flags used");
	HAS(out, "vtd unit, token 0xfed90000, root table 0x123000, cap 0xd2008c40660462, ecap 0xf050da, legacy mode\n");
	HAS(out, "domain entries: 1");
	HAS(out, "domain 0 (block 0 slot 0): refcount 2, flags used");
	HAS(out, "vtdss page table, 3 levels, top 0x1234000, IOVA width 39, OA width 39, 3 table pages, features dynamic_top force_coherence\n");
	HAS(out, "device entries: 2");
	HAS(out, "device 0 (block 0 slot 0): refcount 1, flags used\n");
	HAS(out, "device 1 (block 0 slot 1): refcount 1, flags used\n");
	EXPECT(line_with(out, "PCI 0000:00:03.0", line, sizeof(line)), "no 00:03.0 line");
	HAS(line, "token 0x1235, domain 0, hw_unit 0, VT-d domain id 1");
	HAS(line, "context entry at 0x124180 = 0x101:0x1234001");
	EXPECT(line_with(out, "PCI 0000:00:04.0", line, sizeof(line)), "no 00:04.0 line");
	HAS(line, "token 0x1236, domain 0, hw_unit 0, VT-d domain id 1");
	HASNT(out, "problems");
	HASNT(out, "REFUSED");
	/* the outgoing state has no matching table */
	HASNT(out, "matching");
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

static int t_outgoing_json(void)
{
	struct lt_snapshot s;
	char *out, *arr;
	int problems;

	std_state(&s, false, IOMMU_LU_ENTRY_USED);
	out = dump(&s, LT_FMT_JSON, &problems);
	t_ctx = out;
	EQ(problems, 0);
	EXPECT(json_valid(out), "not valid JSON");
	EQ(count_lines(out), 1);
	EXPECT(out[strlen(out) - 1] == '\n', "no final newline");
	HAS(out, "{\"direction\":\"outgoing\",\"state\":true,");
	HAS(out, "\"flb\":{\"root_pa\":1175552,\"users\":1}");
	HAS(out, "\"nr_entries\":{\"hw_unit\":1,\"domain\":1,\"device\":2}");
	HAS(out, "{\"chain\":\"device\",\"seq\":0,\"pa\":1187840,\"count\":2,\"next\":0,\"error\":0}");
	HAS(out, "\"hw_units\":[{\"index\":0,\"block\":0,\"slot\":0,\"refcount\":2,\"flags\":\"used\",\"type\":\"vtd\",\"type_id\":1,\"token\":\"0xfed90000\",\"vtd\":{\"root_table\":1191936,");
	HAS(out, "\"domains\":[{\"index\":0,\"block\":0,\"slot\":0,\"refcount\":2,\"flags\":\"used\",\"format\":\"vtdss\",\"format_id\":1,\"levels\":3,\"top_table\":19087360,\"addr_width\":39,\"oa_width\":39,\"nr_tables\":3,\"features\":[\"dynamic_top\",\"force_coherence\"]}]");
	HAS(out, "\"devices\":[");
	HAS(out, "{\"index\":0,\"block\":0,\"slot\":0,\"refcount\":1,\"flags\":\"used\",\"pci\":\"0000:00:03.0\",\"segment\":0,\"bus\":0,\"dev\":3,\"fn\":0,\"token\":\"0x1235\",\"domain\":0,\"hw_unit\":0,\"vtd\":{\"domain_id\":1,");
	HAS(out, "{\"index\":1,\"block\":0,\"slot\":1,\"refcount\":1,\"flags\":\"used\",\"pci\":\"0000:00:04.0\",\"segment\":0,\"bus\":0,\"dev\":4,\"fn\":0,\"token\":\"0x1236\",");
	HAS(out, "\"problems\":[],\"problems_not_listed\":0,\"snapshot\":{");
	HASNT(out, "\"valid\"");
	HASNT(out, "\"matching\"");
	arr = json_array(out, "devices");
	EXPECT(arr, "no devices array");
	EQ(count_of(arr, "\"pci\":"), 2);
	free(arr);
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

static int t_outgoing_pretty(void)
{
	struct lt_snapshot s;
	char *out;
	int problems;

	std_state(&s, false, IOMMU_LU_ENTRY_USED);
	out = dump(&s, LT_FMT_PRETTY, &problems);
	t_ctx = out;
	EQ(problems, 0);
	EXPECT(json_valid(out), "not valid JSON");
	EXPECT(count_lines(out) > 50, "pretty JSON on %d lines", count_lines(out));
	HAS(out, "\n    \"direction\": \"outgoing\",\n");
	HAS(out, "\"devices\": [\n");
	HAS(out, "\"pci\": \"0000:00:04.0\",\n");
	HAS(out, "\"features\": [\n");
	HAS(out, "\"problems\": [],\n    \"problems_not_listed\": 0,\n    \"snapshot\": {\n");
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

static int t_deleted_slot(void)
{
	struct lt_snapshot s;
	struct lt_block_rec *b;
	char *out, *arr;
	int problems;

	std_state(&s, false, IOMMU_LU_ENTRY_USED);
	b = find_block(&s, IOMMU_LU_CHAIN_DEVICE, 0);
	/* 0000:00:04.0 in slot 1 was unpreserved, 0000:00:05.0 is in slot 2 */
	put_device(&s, b, 2, 2, IOMMU_LU_ENTRY_USED, BDF(0, 5, 0), TOKEN2, 2);
	((struct iommu_lu_device_ser *)slot_of(b, 1))->hdr.flags |= IOMMU_LU_ENTRY_DELETED;
	root_of(&s)->nr_entries[IOMMU_LU_CHAIN_DEVICE]--;
	/* The unpreserve dropped its references */
	((struct iommu_lu_entry_hdr *)
	 slot_of(find_block(&s, IOMMU_LU_CHAIN_HW_UNIT, 0), 0))->refcount--;
	((struct iommu_lu_entry_hdr *)
	 slot_of(find_block(&s, IOMMU_LU_CHAIN_DOMAIN, 0), 0))->refcount--;

	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	EQ(problems, 0);
	HAS(out, "device block 0 at 0x122000: 3 entries, next 0");
	HAS(out, "device entries: 2\n");
	HAS(out, "device 0 (block 0 slot 0)");
	HAS(out, "device 2 (block 0 slot 2): refcount 1, flags used\n");
	HASNT(out, "device 1 (");
	HASNT(out, "0000:00:04.0");
	HASNT(out, "deleted");
	HAS(out, "PCI 0000:00:05.0, token 0x1237, domain 0, hw_unit 0, VT-d domain id 2");
	free(out);

	out = dump(&s, LT_FMT_JSON, &problems);
	t_ctx = out;
	EQ(problems, 0);
	EXPECT(json_valid(out), "not valid JSON");
	arr = json_array(out, "devices");
	EXPECT(arr, "no devices array");
	EQ(count_of(arr, "\"pci\":"), 2);
	HAS(arr, "{\"index\":2,\"block\":0,\"slot\":2,");
	HASNT(arr, "0000:00:04.0");
	free(arr);
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

static int t_two_blocks(void)
{
	struct lt_snapshot s;
	struct lt_block_rec *b0, *b1;
	__u32 per = lt_entries_per_block(IOMMU_LU_CHAIN_DEVICE), i;
	struct lt_entry e[200];
	char *out, want[128];
	size_t n;
	int problems;

	std_state(&s, false, IOMMU_LU_ENTRY_USED);
	b0 = find_block(&s, IOMMU_LU_CHAIN_DEVICE, 0);
	/* fill the first block; 5 more entries in a second one */
	for (i = 2; i < per; i++)
		put_device(&s, b0, i, i, IOMMU_LU_ENTRY_USED, BDF(1, i & 31, i >> 5), 0x2000 + i, 1);
	b1 = add_block(&s, IOMMU_LU_CHAIN_DEVICE, 1, DEV_BLOCK2_PA);
	b0 = find_block(&s, IOMMU_LU_CHAIN_DEVICE, 0);	/* add_block reallocs */
	bhdr(b0)->next = DEV_BLOCK2_PA;
	for (i = 0; i < 5; i++)
		put_device(&s, b1, i, per + i, IOMMU_LU_ENTRY_USED, BDF(2, i, 0), 0x3000 + i, 1);

	n = lt_chain_entries(&s, IOMMU_LU_CHAIN_DEVICE, e, ARRAY_SIZE(e));
	EQ(n, per + 5);
	for (i = 0; i < n; i++) {
		const struct iommu_lu_device_ser *d = e[i].raw;

		EQ(e[i].pos, i);
		EQ(d->hdr.index, i);
		EQ(e[i].block, i >= per);
		EQ(e[i].slot, i >= per ? i - per : i);
	}

	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	EQ(problems, 0);
	snprintf(want, sizeof(want), "device block 0 at 0x122000: %u entries, next 0x12a000", per);
	HAS(out, want);
	HAS(out, "device block 1 at 0x12a000: 5 entries, next 0\n");
	snprintf(want, sizeof(want), "device entries: %u\n", per + 5);
	HAS(out, want);
	snprintf(want, sizeof(want), "device %u (block 0 slot %u)", per - 1, per - 1);
	HAS(out, want);
	snprintf(want, sizeof(want), "device %u (block 1 slot 0)", per);
	HAS(out, want);
	snprintf(want, sizeof(want), "device %u (block 1 slot 4)", per + 4);
	HAS(out, want);
	HAS(out, "PCI 0000:02:04.0, token 0x3004");
	/* in chain order */
	EXPECT(strstr(out, "PCI 0000:00:04.0") < strstr(out, "PCI 0000:01:02.0") &&
	       strstr(out, "PCI 0000:01:02.0") < strstr(out, "PCI 0000:02:00.0") &&
	       strstr(out, "PCI 0000:02:00.0") < strstr(out, "PCI 0000:02:04.0"),
	       "entries out of order");
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

/* ---- tests: corruption ------------------------------------------------- */

/*
 * Dumps @s in text and JSON; both must report at least one problem with
 * @msg, and the text dump must still show the two standard devices.
 */
static int check_problem(struct lt_snapshot *s, const char *msg)
{
	char *out, *arr, want[256];
	int problems, jproblems;

	out = dump(s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	EXPECT(problems > 0, "no problem reported (wanted \"%s\")", msg);
	snprintf(want, sizeof(want), "problems: %d\n", problems);
	HAS(out, want);
	snprintf(want, sizeof(want), "\n  %s", msg);
	HAS(out, want);
	HAS(out, "PCI 0000:00:03.0, token 0x1235");
	HAS(out, "PCI 0000:00:04.0, token 0x1236");
	HAS(out, "vtd unit, token 0xfed90000");
	HAS(out, "vtdss page table");
	free(out);

	out = dump(s, LT_FMT_JSON, &jproblems);
	t_ctx = out;
	EQ(jproblems, problems);
	EXPECT(json_valid(out), "not valid JSON");
	arr = json_array(out, "problems");
	EXPECT(arr, "no problems array");
	HAS(arr, msg);
	free(arr);
	HAS(out, "\"pci\":\"0000:00:03.0\"");
	HAS(out, "\"pci\":\"0000:00:04.0\"");
	free(out);
	return 0;
}

static void c_bad_unaligned(struct lt_snapshot *s)
{
	find_block(s, IOMMU_LU_CHAIN_DEVICE, 0)->pa = DEV_BLOCK_PA + 0x40;
	root_of(s)->chain[IOMMU_LU_CHAIN_DEVICE] = DEV_BLOCK_PA + 0x40;
}

static int t_bad_count(void)
{
	struct lt_snapshot s;
	char msg[128];
	__u32 per = lt_entries_per_block(IOMMU_LU_CHAIN_DOMAIN);

	std_state(&s, false, IOMMU_LU_ENTRY_USED);
	bhdr(find_block(&s, IOMMU_LU_CHAIN_DOMAIN, 0))->count = per + 1;
	snprintf(msg, sizeof(msg), "domain chain: block 0 has %u entries, the limit is %u",
		 per + 1, per);
	if (check_problem(&s, msg))
		return -1;
	lt_snapshot_free(&s);
	return 0;
}

static void c_bad_not_full(struct lt_snapshot *s)
{
	struct lt_block_rec *b;

	/* a second device block after a first one with 2 of 24 slots used */
	b = add_block(s, IOMMU_LU_CHAIN_DEVICE, 1, DEV_BLOCK2_PA);
	put_device(s, b, 0, lt_entries_per_block(IOMMU_LU_CHAIN_DEVICE),
		   IOMMU_LU_ENTRY_USED, BDF(0, 6, 0), TOKEN2, 1);
	bhdr(find_block(s, IOMMU_LU_CHAIN_DEVICE, 0))->next = DEV_BLOCK2_PA;
}

/*
 * Fill the hw unit chain's first block, and make it link to @next, where the
 * dump read a block at @pa with @count entries (a copy of the first block
 * if @pa is the first's).
 */
static void link_hw_blocks(struct lt_snapshot *s, __u64 next, __u64 pa,
			   __u64 count)
{
	__u32 per = lt_entries_per_block(IOMMU_LU_CHAIN_HW_UNIT), i;
	struct lt_block_rec *b, *first;

	first = find_block(s, IOMMU_LU_CHAIN_HW_UNIT, 0);
	for (i = 1; i < per; i++)
		put_hw_unit(s, first, i, i, 0, IOMMU_LU_ENTRY_USED);
	bhdr(first)->next = next;
	b = add_block(s, IOMMU_LU_CHAIN_HW_UNIT, 1, pa);
	first = find_block(s, IOMMU_LU_CHAIN_HW_UNIT, 0);
	if (pa == first->pa)
		memcpy(b->data, first->data, LT_BLOCK_SIZE);
	else
		bhdr(b)->count = count;
}

/* A full block that names itself as the next: the dump reads it again */
static void c_bad_loop(struct lt_snapshot *s)
{
	link_hw_blocks(s, HW_BLOCK_PA, HW_BLOCK_PA, 0);
}

static void c_bad_nr_entries(struct lt_snapshot *s)
{
	root_of(s)->nr_entries[IOMMU_LU_CHAIN_DEVICE] = 3;
}

/* The root names another first block than the one the dump read */
static void c_bad_root_link(struct lt_snapshot *s)
{
	root_of(s)->chain[IOMMU_LU_CHAIN_DOMAIN] = 0x777000;
}

/* A block links to another block than the one read after it */
static void c_bad_next_link(struct lt_snapshot *s)
{
	link_hw_blocks(s, 0x555000, 0x556000, 1);
}

/* A trailing block without an entry breaks the ABI */
static void c_bad_empty_block(struct lt_snapshot *s)
{
	link_hw_blocks(s, 0x556000, 0x556000, 0);
}

static void c_bad_index(struct lt_snapshot *s)
{
	struct iommu_lu_device_ser *d;

	d = slot_of(find_block(s, IOMMU_LU_CHAIN_DEVICE, 0), 1);
	d->hdr.index = 7;
}

static void c_bad_flags(struct lt_snapshot *s)
{
	struct iommu_lu_domain_ser *d;

	d = slot_of(find_block(s, IOMMU_LU_CHAIN_DOMAIN, 0), 0);
	d->hdr.flags |= 0x100;
}

static void c_bad_magic(struct lt_snapshot *s)
{
	root_of(s)->magic = 0x1234;
}

static void c_bad_version(struct lt_snapshot *s)
{
	root_of(s)->version = IOMMU_LU_ABI_VERSION + 1;
}

static void c_bad_aliases(struct lt_snapshot *s)
{
	struct iommu_lu_device_ser *d;

	d = slot_of(find_block(s, IOMMU_LU_CHAIN_DEVICE, 0), 1);
	d->data[IOMMU_LU_VTD_DEV_ALIASES] =
		4ULL << IOMMU_LU_VTD_ALIASES_COUNT_SHIFT;
}

static void c_bad_hw_unit_ref(struct lt_snapshot *s)
{
	struct iommu_lu_device_ser *d;

	d = slot_of(find_block(s, IOMMU_LU_CHAIN_DEVICE, 0), 1);
	d->hw_unit = 3;
}

static void c_bad_pt_features(struct lt_snapshot *s)
{
	struct iommu_lu_domain_ser *d;

	d = slot_of(find_block(s, IOMMU_LU_CHAIN_DOMAIN, 0), 0);
	d->data[IOMMU_LU_PT_DATA_FEATURES] |= 1ULL << 40;
}

static void c_bad_lost(struct lt_snapshot *s)
{
	s->lost = 2;
}

/* Several problems at once are all counted and listed */
static int t_bad_several(void)
{
	struct lt_snapshot s;
	char *out;
	int problems;

	std_state(&s, false, IOMMU_LU_ENTRY_USED);
	root_of(&s)->version = 9;
	root_of(&s)->nr_entries[IOMMU_LU_CHAIN_HW_UNIT] = 0;
	((struct iommu_lu_device_ser *)slot_of(find_block(&s, IOMMU_LU_CHAIN_DEVICE, 0), 0))->hdr.index = 5;
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	EQ(problems, 3);
	HAS(out, "problems: 3\n");
	HAS(out, "ABI version 9");
	HAS(out, "hw_unit chain holds 1 entries, the root says 0");
	HAS(out, "device entry in slot 0 says index 5");
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

/*
 * A chain whose last block names itself, read by the dump program until its
 * limit (LT_MAX_BLOCKS blocks at one address): the loop is a problem, but
 * one, and the entries of the looping block are shown once, not once per
 * time the block was read again.
 */
static int t_bad_loop_at_limit(void)
{
	struct lt_snapshot s;
	struct lt_block_rec *b;
	__u32 per = lt_entries_per_block(IOMMU_LU_CHAIN_DEVICE), i;
	char *out;
	int problems;

	std_state(&s, false, IOMMU_LU_ENTRY_USED);
	b = find_block(&s, IOMMU_LU_CHAIN_DEVICE, 0);
	for (i = 2; i < per; i++)
		put_device(&s, b, i, i, IOMMU_LU_ENTRY_USED, BDF(1, i & 31, i >> 5), 0x2000 + i, 1);
	bhdr(b)->next = DEV_BLOCK_PA;
	for (i = 1; i < LT_MAX_BLOCKS; i++) {
		b = add_block(&s, IOMMU_LU_CHAIN_DEVICE, i, DEV_BLOCK_PA);
		memcpy(b->data, find_block(&s, IOMMU_LU_CHAIN_DEVICE, 0)->data,
		       LT_BLOCK_SIZE);
	}
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = NULL;
	EXPECT(problems > 0, "no problem reported");
	EXPECT(strstr(out, "device chain: block 0 links back to 0x122000, an earlier block: the chain loops"),
	       "loop not reported");
	EXPECT(problems < 64,
	       "%d problems for one looping block (%d \"the chain loops\" lines listed, %d \"PCI 0000:00:03.0\" lines, %zu bytes of output)",
	       problems, count_of(out, "the chain loops"),
	       count_of(out, "PCI 0000:00:03.0,"), strlen(out));
	EQ(count_of(out, "PCI 0000:00:03.0,"), 1);
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

/*
 * The dump program could not read the root record (root_err set, have_root
 * 0): that is a problem to report with its error, not a state with a zero
 * root (outgoing) nor a state the kernel refused (incoming).
 */
static int t_root_unreadable(void)
{
	struct lt_snapshot s;
	char *out;
	int problems;

	std_state(&s, false, IOMMU_LU_ENTRY_USED);
	s.state.have_root = 0;
	s.state.root_err = -14;
	memset(s.state.root, 0, sizeof(s.state.root));
	s.nr_blocks = 0;	/* without a root, no chain is read */
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	EXPECT(problems > 0, "an unreadable root record is not reported");
	HAS(out, "-14");
	HASNT(out, "magic 0,");
	free(out);

	s.incoming = true;
	s.state.incoming = 1;
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	HASNT(out, "refused as a whole");
	HAS(out, "-14");
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

/* ---- tests: no state ----------------------------------------------------- */

static int t_no_state(void)
{
	struct lt_snapshot s;
	struct lt_state_rec st;
	char *out;
	int problems;

	memset(&s, 0, sizeof(s));
	memset(&st, 0, sizeof(st));
	st.kind = LT_REC_STATE;
	EQ(lt_snapshot_add(&s, &st, sizeof(st)), 0);
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	EQ(problems, 0);
	HAS(out, "outgoing IOMMU live update state: no outgoing state");
	EQ(count_lines(out), 1);
	free(out);
	out = dump(&s, LT_FMT_JSON, &problems);
	t_ctx = out;
	EQ(problems, 0);
	EXPECT(json_valid(out), "not valid JSON");
	HAS(out, "\"direction\":\"outgoing\",\"state\":false,\"reason\":\"no outgoing state");
	HASNT(out, "\"root\":");
	HASNT(out, "\"devices\"");
	free(out);

	/* no state record at all */
	s.have_state = false;
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	HAS(out, "the dump program returned no state record");
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

static int t_incoming_refused_whole(void)
{
	struct lt_snapshot s;
	char *out;
	int problems;

	std_state(&s, true, IOMMU_LU_ENTRY_USED);
	s.state.have_root = 0;
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	EQ(problems, 0);
	HAS(out, "incoming IOMMU live update state: the previous kernel's state was refused as a whole");
	HASNT(out, "matching");
	HASNT(out, "PCI 0000:00:03.0");
	free(out);
	out = dump(&s, LT_FMT_JSON, &problems);
	t_ctx = out;
	EXPECT(json_valid(out), "not valid JSON");
	HAS(out, "\"direction\":\"incoming\",\"state\":false,\"reason\":\"the previous kernel's state was refused as a whole");
	HAS(out, "\"retrieve_status\":1,\"finished\":false");
	free(out);

	/* finished, and no state */
	s.state.obj = 0;
	s.state.finished = 1;
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	HAS(out, "the incoming state was finished and released");
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

/* ---- tests: incoming state and the matching table ---------------------- */

/*
 * The standard state as the next kernel sees it: the unit, the domain and
 * 0000:00:03.0 restored, 0000:00:04.0 valid but gone, 0000:00:05.0 refused;
 * PCI devices 0000:00:03.0 and 0000:00:05.0 (preserved), 0000:00:06.0 in an
 * IOMMU group and 0000:00:1f.0 without one.
 */
static void incoming_state(struct lt_snapshot *s)
{
	const __u32 rf = IOMMU_LU_ENTRY_USED | IOMMU_LU_ENTRY_RESTORED;
	struct lt_valid_rec v;
	struct lt_pci_dev pci;
	struct lt_block_rec *b;
	struct iommu_lu_device_ser *d;

	std_state(s, true, rf);
	b = find_block(s, IOMMU_LU_CHAIN_DEVICE, 0);
	d = slot_of(b, 1);
	d->hdr.flags = IOMMU_LU_ENTRY_USED;
	put_device(s, b, 2, 2, IOMMU_LU_ENTRY_USED, BDF(0, 5, 0), TOKEN2, 2);
	s->state.nr_used[IOMMU_LU_CHAIN_HW_UNIT] = 1;
	s->state.nr_used[IOMMU_LU_CHAIN_DOMAIN] = 1;
	s->state.nr_used[IOMMU_LU_CHAIN_DEVICE] = 2;

	memset(&v, 0, sizeof(v));
	v.kind = LT_REC_VALID;
	v.chain = IOMMU_LU_CHAIN_HW_UNIT;
	v.index = 0;
	v.type = IOMMU_LU_HW_VTD;
	v.key = VTD_TOKEN;
	lt_snapshot_add(s, &v, sizeof(v));
	v.chain = IOMMU_LU_CHAIN_DEVICE;
	v.type = 0;
	v.key = BDF(0, 3, 0);
	lt_snapshot_add(s, &v, sizeof(v));
	v.index = 1;
	v.key = BDF(0, 4, 0);
	lt_snapshot_add(s, &v, sizeof(v));

	memset(&pci, 0, sizeof(pci));
	pci.bdf = BDF(0, 3, 0);
	pci.iommu = true;
	strcpy(pci.driver, "vfio-pci");
	lt_snapshot_add_pci(s, &pci);
	pci.bdf = BDF(0, 5, 0);
	lt_snapshot_add_pci(s, &pci);
	pci.bdf = BDF(0, 6, 0);
	strcpy(pci.driver, "e1000e");
	lt_snapshot_add_pci(s, &pci);
	pci.bdf = BDF(0, 0x1f, 0);
	pci.iommu = false;
	strcpy(pci.driver, "lpc_ich");
	lt_snapshot_add_pci(s, &pci);
}

static int t_incoming_text(void)
{
	struct lt_snapshot s;
	static char line[512];
	char *out;
	const char *m;
	int problems;

	incoming_state(&s);
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	EQ(problems, 0);
	HAS(out, "incoming IOMMU live update state: root at 0x11f000");
	HAS(out, "valid after the kernel's checks: 1 hw_unit, 1 domain, 2 device");
	HAS(out, "hw_unit 0 (block 0 slot 0): refcount 3, flags used,restored\n");
	HAS(out, "domain 0 (block 0 slot 0): refcount 3, flags used,restored\n");
	HAS(out, "device 0 (block 0 slot 0): refcount 1, flags used,restored\n");
	HAS(out, "device 1 (block 0 slot 1): refcount 1, flags used\n");
	HAS(out, "device 2 (block 0 slot 2): refcount 1, flags used, REFUSED by the kernel\n");
	m = strstr(out, "matching:\n");
	EXPECT(m, "no matching table");
	EXPECT(line_with(m, "  0      0000:00:03.0", line, sizeof(line)), "no row for entry 0");
	HAS(line, "0000:00:03.0  vfio-pci   restored     matched at probe");
	EXPECT(line_with(m, "  1      0000:00:04.0", line, sizeof(line)), "no row for entry 1");
	HAS(line, "0000:00:04.0  -             -          absent       no PCI device");
	EXPECT(line_with(m, "  2      0000:00:05.0", line, sizeof(line)), "no row for entry 2");
	HAS(line, "vfio-pci   refused      the entry failed validation");
	EXPECT(line_with(m, "0000:00:06.0", line, sizeof(line)), "no row for 00:06.0");
	HAS(line, "  -      -             0000:00:06.0  e1000e     not preserved");
	HASNT(out, "0000:00:1f.0");
	EQ(count_lines(m), 6);
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

static int t_incoming_json(void)
{
	struct lt_snapshot s;
	char *out, *arr;
	int problems;

	incoming_state(&s);
	out = dump(&s, LT_FMT_JSON, &problems);
	t_ctx = out;
	EQ(problems, 0);
	EXPECT(json_valid(out), "not valid JSON");
	EQ(count_lines(out), 1);
	HAS(out, "\"direction\":\"incoming\",\"state\":true,");
	HAS(out, "\"valid\":{\"hw_unit\":1,\"domain\":1,\"device\":2}");
	HAS(out, "\"flags\":\"used,restored\",\"valid\":true,\"type\":\"vtd\"");
	HAS(out, "{\"index\":2,\"block\":0,\"slot\":2,\"refcount\":1,\"flags\":\"used\",\"valid\":false,\"pci\":\"0000:00:05.0\"");
	arr = json_array(out, "matching");
	EXPECT(arr, "no matching array");
	t_ctx = arr;
	EXPECT(json_valid(arr), "matching is not valid JSON");
	EQ(count_of(arr, "\"status\":"), 4);
	HAS(arr, "[{\"entry\":0,\"preserved\":\"0000:00:03.0\",\"domain\":0,\"pci\":\"0000:00:03.0\",\"driver\":\"vfio-pci\",\"status\":\"restored\",\"reason\":");
	HAS(arr, "{\"entry\":1,\"preserved\":\"0000:00:04.0\",\"domain\":0,\"pci\":null,\"driver\":\"\",\"status\":\"absent\",\"reason\":");
	HAS(arr, "{\"entry\":2,\"preserved\":\"0000:00:05.0\",\"domain\":0,\"pci\":\"0000:00:05.0\",\"driver\":\"vfio-pci\",\"status\":\"refused\",\"reason\":");
	HAS(arr, "{\"entry\":null,\"pci\":\"0000:00:06.0\",\"driver\":\"e1000e\",\"status\":\"not preserved\",\"reason\":");
	HASNT(arr, "0000:00:1f.0");
	free(arr);
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

/* A chain the kernel refused as a whole: every device row is "refused" */
static int t_incoming_chain_refused(void)
{
	struct lt_snapshot s;
	char *out, *arr;
	int problems;

	incoming_state(&s);
	s.state.refused[IOMMU_LU_CHAIN_DEVICE] = 1;
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	HAS(out, "device entries: 3 (the whole chain was REFUSED by the kernel)");
	free(out);
	out = dump(&s, LT_FMT_JSON, &problems);
	t_ctx = out;
	arr = json_array(out, "matching");
	EXPECT(arr, "no matching array");
	EQ(count_of(arr, "\"status\":\"refused\""), 3);
	free(arr);
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

/* ---- tests: review fixes -------------------------------------------------- */

/* A zero that a JSON reader expects as a "0x..." string */
static int t_json_khex_zero(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct jw w;

	jw_init(&w, f, false);
	jw_obj_begin(&w);
	jw_khex(&w, "token", 0);
	jw_khex(&w, "magic", 0x1234);
	jw_obj_end(&w);
	jw_end(&w);
	fclose(f);
	t_ctx = buf;
	HAS(buf, "{\"token\":\"0x0\",\"magic\":\"0x1234\"}\n");
	free(buf);
	return 0;
}

/* More problems than are listed: how many were left out is said */
static int t_problems_not_listed(void)
{
	struct lt_snapshot s;
	struct lt_block_rec *b;
	__u32 per = lt_entries_per_block(IOMMU_LU_CHAIN_DEVICE), i;
	char *out, want[64];
	int problems;

	std_state(&s, false, IOMMU_LU_ENTRY_USED);
	b = find_block(&s, IOMMU_LU_CHAIN_DEVICE, 0);
	for (i = 2; i < per; i++)
		put_device(&s, b, i, i, IOMMU_LU_ENTRY_USED, BDF(1, i, 0), 0x2000 + i, 1);
	/* Every device entry: unknown flags, a wrong index, no such unit */
	for (i = 0; i < per; i++) {
		struct iommu_lu_device_ser *d = slot_of(b, i);

		d->hdr.flags |= 0x100;
		d->hdr.index += 100;
		d->hw_unit = 7;
	}
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	EXPECT(problems > LT_MAX_PROBLEMS, "only %d problems", problems);
	snprintf(want, sizeof(want), "problems: %d\n", problems);
	HAS(out, want);
	EQ(count_of(out, "\n  device entry"), LT_MAX_PROBLEMS);
	snprintf(want, sizeof(want), "  ... and %d more, not listed\n",
		 problems - LT_MAX_PROBLEMS);
	HAS(out, want);
	free(out);
	out = dump(&s, LT_FMT_JSON, &problems);
	t_ctx = out;
	EXPECT(json_valid(out), "not valid JSON");
	snprintf(want, sizeof(want), "],\"problems_not_listed\":%d,", problems - LT_MAX_PROBLEMS);
	HAS(out, want);
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

/* /proc/kallsyms without addresses: the message names what is missing */
static int t_kallsyms_why(void)
{
	const char *m;

	m = lt_kallsyms_hidden_why(1, false);
	t_ctx = m;
	HAS(m, "needs CAP_SYSLOG (CAP_BPF and CAP_PERFMON are not enough)");
	m = lt_kallsyms_hidden_why(2, true);
	t_ctx = m;
	HAS(m, "kernel.kptr_restrict=2");
	m = lt_kallsyms_hidden_why(1, true);
	t_ctx = m;
	HAS(m, "lockdown");
	HASNT(m, "CAP_SYSLOG");
	m = lt_kallsyms_hidden_why(0, false);
	t_ctx = m;
	HAS(m, "lockdown");
	return 0;
}

/* ---- tests: the kernel's refusal reasons ----------------------------------- */

static void add_reasons(struct lt_snapshot *s)
{
	static const char *const names[] = {
		"IOMMU_LU_REASON_NONE", "IOMMU_LU_REASON_ROOT_UNPRESERVED",
		"IOMMU_LU_REASON_ROOT_MAGIC", "IOMMU_LU_REASON_ABI_VERSION",
		"IOMMU_LU_REASON_CHAIN_LOOP", "IOMMU_LU_REASON_ENTRY_FIELD",
		"IOMMU_LU_REASON_HW_UNIT_NOT_ADOPTED",
	};
	__u32 i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (lt_snapshot_add_reason(s, i, names[i], "IOMMU_LU_REASON_"))
			abort();
}

#define R_ABI_VERSION	3
#define R_CHAIN_LOOP	4
#define R_ENTRY_FIELD	5
#define R_NOT_ADOPTED	6

static void add_refusal(struct lt_snapshot *s, __u32 chain, __u32 index,
			__u32 reason, __u32 concerns)
{
	struct lt_refusal_rec r = {
		.kind = LT_REC_REFUSAL, .chain = chain, .index = index,
		.reason = reason, .concerns = concerns,
	};

	if (lt_snapshot_add(s, &r, sizeof(r)))
		abort();
	s->state.has_refusals = 1;
}

static int t_reason_codes(void)
{
	struct lt_snapshot s;
	struct lt_refusal_rec r = { .reason = R_CHAIN_LOOP, .concerns = 2 };
	char buf[64];

	memset(&s, 0, sizeof(s));
	add_reasons(&s);
	STREQ(lt_reason_code(&s, R_NOT_ADOPTED), "hw-unit-not-adopted");
	STREQ(lt_reason_code(&s, 0), "none");
	EXPECT(!lt_reason_code(&s, 99), "a code for an unnamed value");
	STREQ(lt_refusal_str(&s, &r, buf, sizeof(buf)), "chain-loop (block 2)");
	r.concerns = LT_REFUSED_NONE;
	STREQ(lt_refusal_str(&s, &r, buf, sizeof(buf)), "chain-loop");
	r.reason = 40;
	STREQ(lt_refusal_str(&s, &r, buf, sizeof(buf)), "reason-40");
	/* A refusal record naming no chain the ABI has */
	r.kind = LT_REC_REFUSAL;
	r.chain = LT_NR_CHAINS + 1;
	EQ(lt_snapshot_add(&s, &r, sizeof(r)) < 0, 1);
	lt_snapshot_free(&s);
	return 0;
}

/*
 * incoming_state() with the kernel's reasons: device 2 refused for a field
 * (nothing concerned), the unit's adoption refused; the text dump says so
 * next to the entries and in the matching table
 */
static int t_refusals_text(void)
{
	struct lt_snapshot s;
	static char line[512];
	const char *m;
	char *out;
	int problems;

	incoming_state(&s);
	add_reasons(&s);
	add_refusal(&s, IOMMU_LU_CHAIN_DEVICE, 2, R_ENTRY_FIELD, LT_REFUSED_NONE);
	add_refusal(&s, IOMMU_LU_CHAIN_HW_UNIT, 0, R_NOT_ADOPTED, 19);
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	EQ(problems, 0);
	HAS(out, "device 2 (block 0 slot 2): refcount 1, flags used, REFUSED by the kernel: entry-field\n");
	HAS(out, "hw_unit 0 (block 0 slot 0): refcount 3, flags used,restored, REFUSED by the kernel: hw-unit-not-adopted (error 19, ENODEV)\n");
	m = strstr(out, "matching:\n");
	EXPECT(m, "no matching table");
	EXPECT(line_with(m, "  2      0000:00:05.0", line, sizeof(line)), "no row for entry 2");
	HAS(line, "refused      the kernel refused the entry: entry-field");
	EXPECT(line_with(m, "hw_unit", line, sizeof(line)), "no row for the unit");
	HAS(line, "  0      hw_unit       -             -          refused      the kernel refused the unit: hw-unit-not-adopted (error 19, ENODEV)");
	free(out);
	out = dump(&s, LT_FMT_JSON, &problems);
	t_ctx = out;
	EXPECT(json_valid(out), "not valid JSON");
	HAS(out, "\"refusal\":{\"reason\":\"entry-field\",\"reason_id\":5,\"meaning\":\"a field is out of range (page table format, levels, address width, unit type, segment): damaged entry or a newer writer\",\"concerns\":null}");
	HAS(out, "{\"entry\":0,\"chain\":\"hw_unit\",\"token\":\"0xfed90000\",\"pci\":null,\"driver\":\"\",\"status\":\"refused\",\"reason\":\"the kernel refused the unit: hw-unit-not-adopted (error 19, ENODEV)\",\"kernel\":{\"reason\":\"hw-unit-not-adopted\",\"reason_id\":6,\"meaning\":\"the IOMMU driver did not take over the unit's preserved tables: its registers, capabilities or tables differ from the record\",\"concerns\":19}}");
	HAS(out, "\"refusals\":[{\"chain\":\"device\",\"index\":2,\"reason\":\"entry-field\",\"reason_id\":5,\"meaning\":\"a field is out of range (page table format, levels, address width, unit type, segment): damaged entry or a newer writer\",\"concerns\":null},{\"chain\":\"hw_unit\",\"index\":0,");
	HAS(out, "\"refusals_known\":true,\"refusals_lost\":0");
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

/* Whole-chain and whole-state refusals */
static int t_refusals_whole(void)
{
	struct lt_snapshot s;
	char *out;
	int problems;

	incoming_state(&s);
	add_reasons(&s);
	s.state.refused[IOMMU_LU_CHAIN_DEVICE] = 1;
	add_refusal(&s, IOMMU_LU_CHAIN_DEVICE, LT_REFUSED_ALL, R_CHAIN_LOOP, 1);
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	HAS(out, "device entries: 3 (the whole chain was REFUSED by the kernel: chain-loop (block 1))\n");
	HAS(out, "refused      the kernel refused the whole device chain: chain-loop (block 1)");
	free(out);
	lt_snapshot_free(&s);

	incoming_state(&s);
	add_reasons(&s);
	s.state.have_root = 0;
	add_refusal(&s, LT_NR_CHAINS, LT_REFUSED_ALL, R_ABI_VERSION, 4);
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	HAS(out, "the previous kernel's state was refused as a whole (see 'iommu-lu: refusing incoming state' in the kernel log): nothing was restored; the kernel's reason: abi-version (version 4)\n");
	free(out);
	out = dump(&s, LT_FMT_JSON, &problems);
	t_ctx = out;
	HAS(out, "\"refusals\":[{\"chain\":\"state\",\"index\":null,\"reason\":\"abi-version\",\"reason_id\":3,\"meaning\":\"the previous kernel wrote another ABI version: run a kernel pair with the same iommu-lu version (lutrace check --next-kernel before the kexec)\",\"concerns\":4}]");
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

/* ---- tests: dump --from ----------------------------------------------------- */

/* @s's JSON dump in a temporary file; its name in @path */
static int save_json(const struct lt_snapshot *s, char *path)
{
	int fd, problems;
	char *out;
	FILE *f;

	strcpy(path, "/tmp/lutrace-unit-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	out = dump(s, LT_FMT_JSON, &problems);
	fputs(out, f);
	free(out);
	return fclose(f);
}

static int write_file(char *path, const void *data, size_t len)
{
	int fd;

	strcpy(path, "/tmp/lutrace-unit-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* A next kernel command line that asks for all the defaults it needs */
#define OK_CMDLINE	"console=ttyS0 liveupdate=on kho=on intel_iommu=on"

/* The outgoing state with what check reads: PCI devices, kexec, entries */
static void outgoing_full(struct lt_snapshot *s, const char *cmdline)
{
	struct lt_kexec_rec *k = calloc(1, sizeof(*k));
	struct lt_mem_rec m;
	struct lt_pci_dev pci;
	__u32 i;

	std_state(s, false, IOMMU_LU_ENTRY_USED);
	for (i = 0; i < 2; i++) {
		const struct iommu_lu_device_ser *d =
			slot_of(find_block(s, IOMMU_LU_CHAIN_DEVICE, 0), i);

		memset(&m, 0, sizeof(m));
		m.kind = LT_REC_MEM;
		m.pa = d->data[IOMMU_LU_VTD_DEV_CONTEXT];
		m.len = 16;
		memcpy(m.data, &d->data[IOMMU_LU_VTD_DEV_CONTEXT_LO], 16);
		lt_snapshot_add(s, &m, sizeof(m));
	}
	/* 00:03.0 on the root bus, 00:04.0 behind the root port 00:1c.0 */
	memset(&pci, 0, sizeof(pci));
	pci.iommu = true;
	pci.have_command = true;
	pci.command = 0x406;
	strcpy(pci.driver, "vfio-pci");
	pci.bdf = BDF(0, 3, 0);
	lt_snapshot_add_pci(s, &pci);
	pci.bdf = BDF(0, 4, 0);
	pci.have_parent = true;
	pci.parent_bdf = BDF(0, 0x1c, 0);
	lt_snapshot_add_pci(s, &pci);
	pci.bdf = BDF(0, 0x1c, 0);
	pci.have_parent = false;
	strcpy(pci.driver, "pcieport");
	lt_snapshot_add_pci(s, &pci);
	k->kind = LT_REC_KEXEC;
	k->loaded = 1;
	k->file_mode = 1;
	k->have_cmdline = 1;
	snprintf(k->cmdline, sizeof(k->cmdline), "%s", cmdline);
	k->cmdline_len = strlen(k->cmdline) + 1;
	lt_snapshot_add(s, k, sizeof(*k));
	free(k);
}

/* A dump read back prints as it did, text and JSON, in both directions */
static int t_from_roundtrip(void)
{
	struct lt_snapshot s, r;
	char path[64], err[256];
	char *a, *b;
	int pa, pb, dir;

	for (dir = 0; dir < 2; dir++) {
		if (dir) {
			incoming_state(&s);
			add_reasons(&s);
			add_refusal(&s, IOMMU_LU_CHAIN_DEVICE, 2, R_ENTRY_FIELD,
				    LT_REFUSED_NONE);
			s.lost = 0;
		} else {
			outgoing_full(&s, "console=ttyS0 liveupdate=on \"quoted word\"");
		}
		EXPECT(!save_json(&s, path), "cannot write %s", path);
		EXPECT(!lt_snapshot_load(&r, path, err, sizeof(err)),
		       "%s did not load: %s", path, err);
		unlink(path);
		a = dump(&s, LT_FMT_JSON, &pa);
		b = dump(&r, LT_FMT_JSON, &pb);
		t_ctx = b;
		EQ(pa, pb);
		EXPECT(!strcmp(a, b), "the JSON read back differs");
		free(a);
		free(b);
		a = dump(&s, LT_FMT_TEXT, &pa);
		b = dump(&r, LT_FMT_TEXT, &pb);
		t_ctx = b;
		EXPECT(!strcmp(a, b), "the text read back differs");
		free(a);
		free(b);
		EQ(r.incoming, dir);
		EQ(r.nr_pci, s.nr_pci);
		EQ(r.nr_mem, s.nr_mem);
		EQ(r.have_kexec, s.have_kexec);
		if (!dir)
			EXPECT(!strcmp(r.kexec.cmdline, "console=ttyS0 liveupdate=on \"quoted word\""),
			       "the command line read back differs");
		else
			STREQ(lt_reason_code(&r, R_ENTRY_FIELD), "entry-field");
		lt_snapshot_free(&s);
		lt_snapshot_free(&r);
	}
	return 0;
}

/* A file that is not a dump: a clear error with the file's name, no crash */
static int t_from_bad_files(void)
{
	static const struct {
		const char *text;
		const char *error;
	} bad[] = {
		{ "", "not JSON" },
		{ "{\"direction\":", "not JSON" },
		{ "[1,2]", "not a lutrace dump" },
		{ "{\"error\":\"must run as root\"}", "the dump failed when it was taken: must run as root" },
		{ "{\"direction\":\"outgoing\"}", "no \"snapshot\"" },
		{ "{\"direction\":\"outgoing\",\"snapshot\":{\"format\":99}}", "snapshot format 99, this lutrace reads formats 1 to 2" },
		{ "{\"direction\":\"outgoing\"} garbage", "more after the JSON document, at byte 25: not one dump" },
		{ "{\"direction\":\"outgoing\"}\n{\"error\":\"x\"}\n", "more after the JSON document, at byte 25" },
		{ "{\"direction\":\"outgoing\",\"snapshot\":{\"format\":2,\"incoming\":false,\"err\":0,\"lost\":0,\"truncated\":0,\"state\":null,\"blocks\":[{\"chain\":\"device\",\"seq\":1,\"pa\":4096,\"err\":0,\"data\":\"\"}]}}", "snapshot.blocks[0].seq: 1, block 0 of its chain in the dump" },
		{ "{\"direction\":\"outgoing\",\"snapshot\":{\"format\":2,\"incoming\":false,\"err\":0,\"lost\":0,\"truncated\":0,\"state\":{\"have_obj\":true,\"root_pa\":0,\"count\":0,\"retrieve_status\":0,\"finished\":false,\"have_root\":false,\"root_err\":0,\"has_refusals\":false,\"refusals_lost\":0,\"nr_refusals\":0,\"handover\":0,\"nr_used\":[0,-1,0]}}}", "snapshot.state.nr_used[1]: not a count" },
		{ "{\"direction\":\"outgoing\",\"snapshot\":{\"format\":2,\"incoming\":false,\"err\":0,\"lost\":0,\"truncated\":0,\"state\":null,\"blocks\":[],\"lookup\":[],\"refusals\":[],\"reasons\":[\"chain-loop\\u001b[2J\"]}}", "snapshot.reasons[0]: not a reason code" },
		{ "{\"direction\":\"outgoing\",\"snapshot\":{\"format\":1,\"incoming\":false,\"err\":0,\"lost\":0}}", "snapshot: no \"state\"" },
		{ "{\"direction\":\"incoming\",\"snapshot\":{\"format\":1,\"incoming\":false}}", "direction \"incoming\" does not match" },
		{ "{\"direction\":\"outgoing\",\"snapshot\":{\"format\":1,\"incoming\":false,\"err\":0,\"lost\":0,\"state\":null,\"blocks\":[{\"chain\":\"device\",\"seq\":0,\"pa\":4096,\"err\":0,\"data\":\"0g\"}]}}", "snapshot.blocks[0].data: not lower-case hex digits" },
		{ "{\"direction\":\"outgoing\",\"snapshot\":{\"format\":1,\"incoming\":false,\"err\":0,\"lost\":0,\"state\":null,\"blocks\":[{\"chain\":\"bogus\"}]}}", "snapshot.blocks[0].chain: \"bogus\" is no chain" },
		{ "{\"direction\":\"outgoing\",\"snapshot\":{\"format\":1,\"incoming\":false,\"err\":0,\"lost\":0,\"state\":null,\"blocks\":[{\"chain\":\"device\",\"seq\":-1}]}}", "snapshot.blocks[0].seq: negative" },
		{ "{\"direction\":\"outgoing\",\"snapshot\":{\"format\":1,\"incoming\":false,\"err\":0,\"lost\":0,\"state\":null,\"blocks\":[],\"lookup\":[],\"refusals\":[],\"reasons\":[],\"mem\":[],\"pci\":[{\"pci\":\"0000:00:40.0\"}]}}", "\"0000:00:40.0\" is not a PCI address" },
	};
	static char err[256];
	char path[64], want[320];
	struct lt_snapshot s;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT(!write_file(path, bad[i].text, strlen(bad[i].text)),
		       "cannot write a file");
		err[0] = 0;
		EXPECT(lt_snapshot_load(&s, path, err, sizeof(err)) == -1,
		       "case %zu loaded", i);
		unlink(path);
		t_ctx = err;
		snprintf(want, sizeof(want), "%s: ", path);
		EXPECT(!strncmp(err, want, strlen(want)), "case %zu: no file name: %s", i, err);
		HAS(err, bad[i].error);
		EQ(s.nr_blocks, 0);
	}
	EXPECT(lt_snapshot_load(&s, "/nonexistent/dump.json", err, sizeof(err)) == -1,
	       "a missing file loaded");
	t_ctx = err;
	HAS(err, "/nonexistent/dump.json: No such file or directory");
	return 0;
}

/* ---- tests: check ------------------------------------------------------------ */

/* The verdict on @s; its text in *@text (to free) */
static int verdict_of(const struct lt_snapshot *s, const char *next,
		      char **text)
{
	struct lt_verdict v;
	struct lt_model m;
	size_t len = 0;
	FILE *f;
	int status;

	*text = NULL;
	f = open_memstream(text, &len);
	if (!f || lt_model_build(&m, s))
		abort();
	if (lt_verdict_build(&v, &m, next))
		abort();
	lt_verdict_print(&v, f, LT_FMT_TEXT);
	fclose(f);
	status = v.status;
	lt_verdict_free(&v);
	lt_model_free(&m);
	return status;
}

static int t_check_outgoing_ok(void)
{
	struct lt_snapshot s;
	char *out;

	outgoing_full(&s, OK_CMDLINE);
	EQ(verdict_of(&s, NULL, &out), LT_CHECK_OK);
	t_ctx = out;
	HAS(out, "LUTRACE CHECK OK - outgoing: 0 critical, 0 warning, 0 unknown, 6 ok\n");
	HAS(out, "OK state-valid state: 1 hw unit, 1 domain, 2 devices");
	HAS(out, "OK device-entry-live 0000:00:03.0: its live context entry at 0x124180 is the one recorded\n");
	HAS(out, "OK bus-master-on 0000:00:04.0: bus mastering is on, on the device and 1 bridge above it\n");
	HAS(out, "OK cmdline-ok next kernel");
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

/* Each thing that makes an update fail, alone, with its code */
static int t_check_outgoing_critical(void)
{
	static const struct {
		const char *cmdline;
		int damage;
		const char *want;
	} cases[] = {
		{ "liveupdate=off", 0, "CRITICAL cmdline-disables-liveupdate next kernel: the next kernel's command line has liveupdate=off" },
		{ "liveupdate=on liveupdate=0", 0, "CRITICAL cmdline-disables-liveupdate" },
		{ "quiet", 0, "CRITICAL cmdline-disables-liveupdate next kernel: the next kernel's command line has no liveupdate=on" },
		{ OK_CMDLINE " -- liveupdate=off", 0, "OK cmdline-ok" },
		{ "liveupdate=on kho=off", 0, "CRITICAL cmdline-disables-kho" },
		{ "liveupdate=on intel_iommu=off", 0, "CRITICAL cmdline-disables-iommu next kernel: the next kernel's command line has intel_iommu=off" },
		{ OK_CMDLINE " intel_iommu=off intel_iommu=on", 0, "OK cmdline-ok" },
		{ OK_CMDLINE " amd_iommu=off", 0, "OK cmdline-ok" },
		/* Neither kernel asks: the next one's build defaults decide */
		{ "liveupdate=on intel_iommu=on", 0, "WARNING cmdline-default next kernel: the next kernel's command line does not set kho=on: kexec handover depends on the next kernel's build default" },
		{ "liveupdate=on kho=on", 0, "WARNING cmdline-default next kernel: the next kernel's command line does not set intel_iommu=on" },
		/* This kernel needed it (/proc/cmdline), the next one lacks it */
		{ "liveupdate=on intel_iommu=on", 10, "CRITICAL cmdline-disables-kho next kernel: this kernel was booted with kho=on, the next kernel's command line does not have it" },
		{ "liveupdate=on kho=on", 11, "CRITICAL cmdline-disables-iommu next kernel: this kernel was booted with intel_iommu=on" },
		/* The preserved unit is in legacy mode */
		{ OK_CMDLINE " intel_iommu=sm_on", 0, "CRITICAL cmdline-vtd-mode next kernel: the next kernel's command line has intel_iommu=sm_on, the preserved VT-d unit is in legacy mode" },
		{ OK_CMDLINE, 12, "CRITICAL cmdline-vtd-mode next kernel: this kernel was booted with intel_iommu=sm_off" },
		{ OK_CMDLINE " intel_iommu=sm_off", 12, "OK cmdline-ok" },
		{ OK_CMDLINE, 13, "UNKNOWN kexec-unknown next kernel: whether a next kernel is loaded cannot be read: reading kexec_image failed (error -14)" },
		{ OK_CMDLINE, 14, "UNKNOWN cmdline-unknown next kernel: the next kernel's command line is 2047 bytes or longer" },
		{ "liveupdate=on liveupdate=\033[2J", 0, "CRITICAL cmdline-disables-liveupdate next kernel: the next kernel's command line has liveupdate=\\x1b[2J:" },
		{ "liveupdate=on iommu=off", 0, "CRITICAL cmdline-disables-iommu" },
		{ "liveupdate=on iommu=pt", 0, "CRITICAL cmdline-iommu-passthrough" },
		{ "liveupdate=on iommu.passthrough=1", 0, "CRITICAL cmdline-iommu-passthrough" },
		{ "liveupdate=on", 1, "CRITICAL device-entry-changed 0000:00:04.0: its live context entry at 0x124200 is 0x101:0x1234005, the state records 0x101:0x1234001" },
		{ "liveupdate=on", 2, "CRITICAL bus-master-off 0000:00:03.0: bus mastering is off (command register 0x402)" },
		{ "liveupdate=on", 3, "CRITICAL bridge-bus-master-off 0000:00:04.0: bus mastering is off on the bridge 0000:00:1c.0 above it" },
		{ "liveupdate=on", 4, "CRITICAL no-kexec-loaded next kernel" },
		{ "liveupdate=on", 5, "CRITICAL refcount state: device entry 1 has refcount 2, a device entry's is 1" },
		{ "liveupdate=on", 6, "UNKNOWN cmdline-unknown next kernel: this kernel did not keep" },
		{ "liveupdate=on", 7, "CRITICAL kexec-not-file-load" },
		/* UNKNOWN ranks above WARNING (the defaults): 2 warnings */
		{ "liveupdate=on", 8, "LUTRACE CHECK UNKNOWN - outgoing: 0 critical, 2 warning, 2 unknown, 3 ok\nUNKNOWN device-entry-unread 0000:00:03.0" },
		{ "liveupdate=on", 9, "CRITICAL device-absent 0000:00:04.0" },
	};
	struct iommu_lu_device_ser *d;
	struct lt_snapshot s;
	size_t i;
	char *out;
	int st;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		outgoing_full(&s, cases[i].cmdline);
		switch (cases[i].damage) {
		case 1:	/* the device's live entry changed: bit 2 */
			s.mem[1].data[0] ^= 4;
			break;
		case 2:
			s.pci[0].command &= ~LT_PCI_COMMAND_MASTER;
			break;
		case 3:
			s.pci[2].command &= ~LT_PCI_COMMAND_MASTER;
			break;
		case 4:
			s.kexec.loaded = 0;
			break;
		case 5:
			d = slot_of(find_block(&s, IOMMU_LU_CHAIN_DEVICE, 0), 1);
			d->hdr.refcount++;
			break;
		case 6:
			s.kexec.have_cmdline = 0;
			break;
		case 7:
			s.kexec.file_mode = 0;
			break;
		case 8:
			s.nr_mem = 0;
			break;
		case 9:
			s.pci[1].bdf = BDF(0, 9, 0);
			break;
		case 10:
			s.cmdline = strdup("console=ttyS0 liveupdate=on kho=on");
			break;
		case 11:
			s.cmdline = strdup("liveupdate=on intel_iommu=on");
			break;
		case 12:
			s.cmdline = strdup("liveupdate=on intel_iommu=sm_off");
			break;
		case 13:
			s.kexec.loaded = 0;
			s.kexec.err = -14;
			break;
		case 14:
			memset(s.kexec.cmdline, 'x', LT_CMDLINE_LEN - 1);
			s.kexec.cmdline_len = LT_CMDLINE_LEN;
			break;
		}
		st = verdict_of(&s, NULL, &out);
		t_ctx = out;
		HAS(out, cases[i].want);
		if (!strncmp(cases[i].want, "OK", 2))
			EQ(st, LT_CHECK_OK);
		else if (!strncmp(cases[i].want, "WARNING", 7))
			EQ(st, LT_CHECK_WARNING);
		else if (!strncmp(cases[i].want, "CRITICAL", 8))
			EQ(st, LT_CHECK_CRITICAL);
		else
			EQ(st, LT_CHECK_UNKNOWN);
		free(out);
		lt_snapshot_free(&s);
	}
	return 0;
}

static int t_check_incoming(void)
{
	const __u32 rf = IOMMU_LU_ENTRY_USED | IOMMU_LU_ENTRY_RESTORED;
	struct lt_valid_rec v = { .kind = LT_REC_VALID };
	struct lt_pci_dev pci = { .iommu = true };
	struct lt_snapshot s;
	char *out;

	/* Everything restored */
	std_state(&s, true, rf);
	s.state.count = 3;
	v.chain = IOMMU_LU_CHAIN_DEVICE;
	lt_snapshot_add(&s, &v, sizeof(v));
	v.index = 1;
	lt_snapshot_add(&s, &v, sizeof(v));
	pci.bdf = BDF(0, 3, 0);
	lt_snapshot_add_pci(&s, &pci);
	pci.bdf = BDF(0, 4, 0);
	lt_snapshot_add_pci(&s, &pci);
	EQ(verdict_of(&s, NULL, &out), LT_CHECK_OK);
	t_ctx = out;
	HAS(out, "LUTRACE CHECK OK - incoming: 0 critical, 0 warning, 0 unknown, 3 ok\n");
	HAS(out, "OK device-restored 0000:00:04.0: device entry 1: matched at probe");
	HAS(out, "OK session state: retrieved, 3 preserved files depend on it");
	free(out);
	lt_snapshot_free(&s);

	/* One refused with the kernel's reason, one gone, one not restored */
	incoming_state(&s);
	add_reasons(&s);
	add_refusal(&s, IOMMU_LU_CHAIN_DEVICE, 2, R_ENTRY_FIELD, LT_REFUSED_NONE);
	EQ(verdict_of(&s, NULL, &out), LT_CHECK_CRITICAL);
	t_ctx = out;
	HAS(out, "LUTRACE CHECK CRITICAL - incoming: 2 critical");
	HAS(out, "CRITICAL refused 0000:00:05.0: the kernel refused it (device 2): entry-field: a field is out of range (page table format, levels, address width, unit type, segment): damaged entry or a newer writer\n");
	HAS(out, "CRITICAL device-absent 0000:00:04.0: device entry 1: no PCI device");
	HASNT(out, "UNKNOWN");
	free(out);
	lt_snapshot_free(&s);

	/* Finished and released: nothing to judge */
	memset(&s, 0, sizeof(s));
	s.incoming = true;
	s.have_state = true;
	s.state.finished = 1;
	EQ(verdict_of(&s, NULL, &out), LT_CHECK_UNKNOWN);
	t_ctx = out;
	HAS(out, "UNKNOWN state-released state: the incoming state was finished and released");
	free(out);
	return 0;
}

static int t_check_next_kernel(void)
{
	static const char v3[] = "\177ELF....iommu-lu-v3\0...";
	static const char v2[] = "\177ELF....iommu-lu-v2\0...";
	static const char none[] = "\177ELF....nothing here";
	static const char gz[] = "\037\213\010\0compressed";
	static char bz[0x300];
	/* Each image, its verdict, its code, and words of its message */
	static const struct {
		const char *data;
		size_t len;
		int status;
		const char *code;
		const char *has;
	} cases[] = {
		{ v3, sizeof(v3), LT_CHECK_OK, "next-kernel-compatible",
		  "(that it is the image loaded for kexec is not checked)" },
		/* Not an ELF image: its strings are not known, not missing */
		{ gz, sizeof(gz), LT_CHECK_UNKNOWN, "next-kernel-unrecognized", "" },
		{ v2, sizeof(v2), LT_CHECK_CRITICAL, "next-kernel-incompatible",
		  "supports iommu-lu-v2, not iommu-lu-v3" },
		{ none, sizeof(none), LT_CHECK_CRITICAL,
		  "next-kernel-no-liveupdate", "" },
		{ bz, sizeof(bz), LT_CHECK_UNKNOWN, "next-kernel-compressed", "" },
	};
	struct lt_finding f;
	char path[64];
	size_t i;

	memcpy(bz + 0x202, "HdrS", 4);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_ctx = cases[i].code;
		EXPECT(!write_file(path, cases[i].data, cases[i].len), "write");
		EQ(lt_next_kernel_verdict(path, "iommu-lu-v3", &f),
		   cases[i].status);
		STREQ(f.code, cases[i].code);
		t_ctx = f.text;
		HAS(f.text, cases[i].has);
		unlink(path);
	}
	EQ(lt_next_kernel_verdict("/nonexistent", "iommu-lu-v3", &f), LT_CHECK_UNKNOWN);
	STREQ(f.code, "next-kernel-unreadable");
	return 0;
}

/* ---- tests: diff ------------------------------------------------------------- */

static int t_diff(void)
{
	struct lt_snapshot a, b;
	struct lt_model ma, mb;
	char *out = NULL;
	size_t len = 0;
	FILE *f;
	int n;

	std_state(&a, false, IOMMU_LU_ENTRY_USED);
	incoming_state(&b);
	add_reasons(&b);
	add_refusal(&b, IOMMU_LU_CHAIN_DEVICE, 2, R_ENTRY_FIELD, LT_REFUSED_NONE);
	if (lt_model_build(&ma, &a) || lt_model_build(&mb, &b))
		abort();
	f = open_memstream(&out, &len);
	n = lt_compare_print(&ma, "out.json", &mb, "in.json", f, LT_FMT_TEXT);
	fclose(f);
	t_ctx = out;
	HAS(out, "lutrace diff: out.json (outgoing) -> in.json (incoming)\n");
	HAS(out, "  root: at 0x11f000 in both\n");
	HAS(out, "  hw_unit 0: refcount 2 -> 3\n");
	HAS(out, "  hw_unit 0: flags used -> used,restored\n");
	HAS(out, "  device 0 (0000:00:03.0): flags used -> used,restored\n");
	HASNT(out, "device 1 (0000:00:04.0): flags");
	HAS(out, "  device 2 (0000:00:05.0): added\n");
	HAS(out, "matching (incoming):\n  device 0 0000:00:03.0: restored\n");
	HAS(out, "  device 2 0000:00:05.0: refused, the kernel's reason: entry-field\n");
	EQ(n, 6);
	free(out);
	out = NULL;
	f = open_memstream(&out, &len);
	lt_compare_print(&ma, "out.json", &mb, "in.json", f, LT_FMT_JSON);
	fclose(f);
	t_ctx = out;
	EXPECT(json_valid(out), "not valid JSON");
	HAS(out, "{\"chain\":\"device\",\"index\":0,\"change\":\"changed\",\"field\":\"flags\",\"from\":\"used\",\"to\":\"used,restored\"}");
	HAS(out, "\"nr_changes\":6}");
	free(out);
	lt_model_free(&ma);
	lt_model_free(&mb);
	lt_snapshot_free(&a);
	lt_snapshot_free(&b);
	return 0;
}

/* ---- tests: the PCI devices in sysfs ----------------------------------------- */

static int t_read_pci(void)
{
	char root[64], path[256], dev[200];
	unsigned char config[8] = { 0x86, 0x80, 0x00, 0x00, 0x06, 0x04 };
	struct lt_snapshot s;
	FILE *f;

	strcpy(root, "/tmp/lutrace-pci-XXXXXX");
	EXPECT(mkdtemp(root), "mkdtemp");
	/* devices/0000:00:1c.0/0000:01:00.0, linked from bus/ as in sysfs */
	snprintf(path, sizeof(path), "%s/devices", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/devices/0000:00:1c.0", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/devices/0000:00:1c.0/0000:01:00.0", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/bus", root);
	mkdir(path, 0755);
	snprintf(dev, sizeof(dev), "%s/devices/0000:00:1c.0/0000:01:00.0", root);
	snprintf(path, sizeof(path), "%s/bus/0000:01:00.0", root);
	EXPECT(!symlink(dev, path), "symlink");
	snprintf(dev, sizeof(dev), "%s/devices/0000:00:1c.0", root);
	snprintf(path, sizeof(path), "%s/bus/0000:00:1c.0", root);
	EXPECT(!symlink(dev, path), "symlink");
	snprintf(path, sizeof(path), "%s/bus/0000:01:00.0/config", root);
	f = fopen(path, "w");
	fwrite(config, 1, sizeof(config), f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/bus/0000:01:00.0/iommu_group", root);
	mkdir(path, 0755);

	memset(&s, 0, sizeof(s));
	snprintf(path, sizeof(path), "%s/bus", root);
	EQ(lt_read_pci(&s, path), 0);
	EQ(s.nr_pci, 2);
	EQ(s.pci[0].bdf, BDF(0, 0x1c, 0));
	EQ(s.pci[0].have_command, 0);
	EQ(s.pci[0].have_parent, 0);
	EQ(s.pci[1].bdf, BDF(1, 0, 0));
	EQ(s.pci[1].have_command, 1);
	EQ(s.pci[1].command, 0x406);
	EQ(s.pci[1].iommu, 1);
	EQ(s.pci[1].have_parent, 1);
	EQ(s.pci[1].parent_bdf, BDF(0, 0x1c, 0));
	lt_snapshot_free(&s);
	snprintf(path, sizeof(path), "rm -rf %s", root);
	EQ(system(path), 0);
	/* No sysfs PCI directory is an error, not a machine without devices */
	EQ(lt_read_pci(&s, path + 7), -ENOENT);
	return 0;
}

/* kallsyms: found, absent, hidden (address 0), and unreadable */
static int t_kallsyms_find(void)
{
	static const char syms[] =
		"ffffffff81000000 T _stext\n"
		"0000000000000000 d hidden_sym\n"
		"ffffffff82345678 b iommu_lu_flb\n";
	char path[64];

	EXPECT(!write_file(path, syms, sizeof(syms) - 1), "write");
	EQ(lt_kallsyms_find(path, "iommu_lu_flb"), 1);
	EQ(lt_kallsyms_find(path, "kexec_image"), 0);
	EQ(lt_kallsyms_find(path, "hidden_sym"), LT_KSYM_HIDDEN);
	unlink(path);
	EQ(lt_kallsyms_find(path, "iommu_lu_flb"), -ENOENT);
	return 0;
}

/* The JSON of a check's verdict on @s */
static char *verdict_json(const struct lt_snapshot *s)
{
	struct lt_verdict v;
	struct lt_model m;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	f = open_memstream(&text, &len);
	if (!f || lt_model_build(&m, s) || lt_verdict_build(&v, &m, NULL))
		abort();
	lt_verdict_print(&v, f, LT_FMT_JSON);
	fclose(f);
	lt_verdict_free(&v);
	lt_model_free(&m);
	return text;
}

/*
 * A refused finding names the device by the PCI address of the slot the
 * kernel's record names, also when the entry's index field is damaged
 * (its own, or another slot's), and carries the reason as members
 */
static int t_check_refused_slot(void)
{
	static const __u32 bad_index[] = { 7, 1, 0xffffffff };
	struct iommu_lu_device_ser *d;
	struct lt_snapshot s;
	int problems;
	char *out;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_index); i++) {
		incoming_state(&s);
		add_reasons(&s);
		d = slot_of(find_block(&s, IOMMU_LU_CHAIN_DEVICE, 0), 2);
		d->hdr.index = bad_index[i];
		add_refusal(&s, IOMMU_LU_CHAIN_DEVICE, 2, R_ENTRY_FIELD,
			    bad_index[i]);
		out = verdict_json(&s);
		t_ctx = out;
		HAS(out, "{\"type\":\"finding\",\"status\":\"CRITICAL\",\"code\":\"refused\",\"subject\":\"0000:00:05.0\",\"message\":\"the kernel refused it (device 2): entry-field");
		HAS(out, "\"chain\":\"device\",\"index\":2,\"reason\":\"entry-field\",\"reason_id\":5,\"meaning\":\"a field is out of range");
		HASNT(out, "\"subject\":\"0000:00:04.0\",\"message\":\"the kernel refused");
		free(out);
		/* The dump's matching row: the slot, with its PCI address */
		out = dump(&s, LT_FMT_JSON, &problems);
		t_ctx = out;
		HAS(out, "{\"entry\":2,\"preserved\":\"0000:00:05.0\",");
		free(out);
		lt_snapshot_free(&s);
	}
	/* A whole chain and the state: no PCI address, index null */
	incoming_state(&s);
	add_reasons(&s);
	s.state.refused[IOMMU_LU_CHAIN_DEVICE] = 1;
	add_refusal(&s, IOMMU_LU_CHAIN_DEVICE, LT_REFUSED_ALL, R_CHAIN_LOOP, 1);
	out = verdict_json(&s);
	t_ctx = out;
	HAS(out, "\"subject\":\"device chain\"");
	HAS(out, "\"chain\":\"device\",\"index\":null,\"reason\":\"chain-loop\",\"reason_id\":4,");
	HAS(out, "\"concerns\":1}");
	free(out);
	lt_snapshot_free(&s);
	/* A kernel without refusal records: the row's refusal, reason null */
	incoming_state(&s);
	out = verdict_json(&s);
	t_ctx = out;
	HAS(out, "\"code\":\"refused\",\"subject\":\"0000:00:05.0\",\"message\":\"device entry 2: the entry failed validation");
	HAS(out, "\"chain\":\"device\",\"index\":2,\"reason\":null,\"reason_id\":null,\"concerns\":null}");
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

/* No incoming state: a cold boot is OK, a lost handover CRITICAL */
static int t_check_cold_boot(void)
{
	static const struct {
		__u32 handover;
		int retrieve;
		int status;
		const char *want;
	} cases[] = {
		{ LT_HANDOVER_NONE, 0, LT_CHECK_OK, "OK no-live-update state: no incoming state: this boot was not a live update (LUO received nothing from the previous kernel)\n" },
		{ LT_HANDOVER_OTHER, 0, LT_CHECK_OK, "OK no-live-update state: no incoming state: the previous kernel handed no IOMMU state over (it preserved no device)\n" },
		{ LT_HANDOVER_IOMMU, 0, LT_CHECK_CRITICAL, "CRITICAL no-incoming-state state: no incoming state yet: the previous kernel handed IOMMU state over, but no IOMMU driver has asked for it" },
		{ LT_HANDOVER_UNKNOWN, 0, LT_CHECK_CRITICAL, "CRITICAL no-incoming-state state" },
		{ LT_HANDOVER_IOMMU, -22, LT_CHECK_CRITICAL, "CRITICAL retrieve-failed state: retrieving the incoming state failed (error -22)" },
	};
	struct lt_snapshot s;
	size_t i;
	char *out;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(&s, 0, sizeof(s));
		s.incoming = true;
		s.have_state = true;
		s.state.incoming = 1;
		s.state.handover = cases[i].handover;
		s.state.retrieve_status = cases[i].retrieve;
		EQ(verdict_of(&s, NULL, &out), cases[i].status);
		t_ctx = out;
		HAS(out, cases[i].want);
		free(out);
	}
	return 0;
}

/*
 * What the dump could not read is UNKNOWN, never a CRITICAL broken chain:
 * records lost (a device block missing, the root counts 3 entries), a hash
 * bucket cut short, fewer refusals read than the kernel recorded
 */
static int t_check_incomplete(void)
{
	struct lt_snapshot s;
	char *out;
	int i;

	for (i = 0; i < 3; i++) {
		incoming_state(&s);
		add_reasons(&s);
		if (i == 0) {
			s.lost = 1;
			root_of(&s)->nr_entries[IOMMU_LU_CHAIN_DEVICE] = 40;
			root_of(&s)->chain[IOMMU_LU_CHAIN_DOMAIN] = 0x999000;
		} else if (i == 1) {
			s.truncated = 1;
		} else {
			add_refusal(&s, IOMMU_LU_CHAIN_DEVICE, 2, R_ENTRY_FIELD,
				    LT_REFUSED_NONE);
			s.state.nr_refusals = 4097;
		}
		EQ(verdict_of(&s, NULL, &out), i == 2 ? LT_CHECK_CRITICAL :
		   LT_CHECK_UNKNOWN);
		t_ctx = out;
		HASNT(out, "chain-entries");
		HASNT(out, "chain-link");
		if (i < 2)
			HASNT(out, "device-absent");
		if (i == 0)
			HAS(out, "UNKNOWN records-lost state: 1 records did not fit");
		if (i < 2)
			HAS(out, "UNKNOWN verdict-unknown 0000:00:04.0");
		if (i == 1)
			HAS(out, "UNKNOWN dump-truncated state: 1 lookup hash buckets hold more than 64 entries");
		if (i == 2)
			HAS(out, "UNKNOWN refusals-unread state: the kernel recorded 4097 refusals, the dump read 1\n");
		free(out);
		lt_snapshot_free(&s);
	}
	return 0;
}

/*
 * diff matches entries by slot: a device whose index field says another
 * slot's is that index changed, not the other device's entry
 */
static int t_diff_by_slot(void)
{
	struct iommu_lu_device_ser *d;
	struct lt_snapshot a, b;
	struct lt_model ma, mb;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	std_state(&a, false, IOMMU_LU_ENTRY_USED);
	std_state(&b, false, IOMMU_LU_ENTRY_USED);
	d = slot_of(find_block(&b, IOMMU_LU_CHAIN_DEVICE, 0), 1);
	d->hdr.index = 0;
	if (lt_model_build(&ma, &a) || lt_model_build(&mb, &b))
		abort();
	f = open_memstream(&out, &len);
	EQ(lt_compare_print(&ma, "a", &mb, "b", f, LT_FMT_TEXT), 1);
	fclose(f);
	t_ctx = out;
	HAS(out, "  device 1 (0000:00:04.0): index 1 -> 0\n");
	HASNT(out, "bdf");
	free(out);
	lt_model_free(&ma);
	lt_model_free(&mb);
	lt_snapshot_free(&a);
	lt_snapshot_free(&b);
	return 0;
}

/*
 * Strings from a file or the kernel reach a terminal escaped; the
 * snapshot keeps no kernel address
 */
static int t_text_safe(void)
{
	struct lt_snapshot s;
	char buf[32], *out;
	int problems;

	STREQ(lt_text_safe("a\033[2Jb\x7f\n", buf, sizeof(buf)),
	      "a\\x1b[2Jb\\x7f\\x0a");
	STREQ(lt_text_safe("0123456789\033", buf, 12), "0123456789");
	incoming_state(&s);
	strcpy(s.pci[0].driver, "vfio\033]0;x\a");
	out = dump(&s, LT_FMT_TEXT, &problems);
	t_ctx = out;
	HAS(out, " vfio\\x1b]0;x\\x07 ");
	HASNT(out, "\033");
	free(out);
	out = dump(&s, LT_FMT_JSON, &problems);
	t_ctx = out;
	HAS(out, "\"driver\":\"vfio\\u001b]0;x\\u0007\"");
	HAS(out, "\"have_obj\":true,");
	HASNT(out, "ffff888012345000");
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

/* ---- tests: ftrace lines ------------------------------------------------- */

static int t_ftrace_domain(void)
{
	struct lt_event e;

	EXPECT(lt_event_parse_ftrace("          lu-vfio-97      [000] .....    12.345678: iommu_lu_domain_preserve: index=0 refcount=0 format=1 levels=3 top=0x1234000 width=39 ret=0\n", &e), "not parsed");
	EQ(e.type, LT_EV_DOMAIN_PRESERVE);
	EQ(e.ts_ns, 12345678000ULL);
	STREQ(e.comm, "lu-vfio");
	EQ(e.pid, 97);
	EQ(e.cpu, 0);
	EQ(e.index, 0);
	EQ(e.refcount, 0);
	EQ(e.a, IOMMU_LU_PT_VTDSS);
	EQ(e.b, 3);
	EQ(e.x, 0x1234000);
	EQ(e.c, 39);
	EQ(e.ret, 0);
	EXPECT(lt_event_parse_ftrace("  lu-vfio-97 [003] ..... 13.000001: iommu_lu_domain_restore: index=2 refcount=1 format=2 levels=4 top=0x5000 width=48 ret=-22", &e), "not parsed");
	EQ(e.type, LT_EV_DOMAIN_RESTORE);
	EQ(e.cpu, 3);
	EQ(e.ts_ns, 13000001000ULL);
	EQ(e.index, 2);
	EQ(e.refcount, 1);
	EQ(e.a, IOMMU_LU_PT_X86_64);
	EQ(e.ret, -22);
	return 0;
}

static int t_ftrace_match(void)
{
	struct lt_event e;

	EXPECT(lt_event_parse_ftrace("swapper/0-1 [001] ..... 0.943210: iommu_lu_match_miss: 0000:00:04.0 (0000:00:04.0) was not preserved", &e), "miss not parsed");
	EQ(e.type, LT_EV_MATCH_MISS);
	STREQ(e.comm, "swapper/0");
	EQ(e.pid, 1);
	EQ(e.cpu, 1);
	EQ(e.ts_ns, 943210000ULL);
	STREQ(e.name, "0000:00:04.0");
	EQ(e.a, 0);
	EQ(e.b, BDF(0, 4, 0));

	EXPECT(lt_event_parse_ftrace("swapper/0-1 [001] ..... 0.943211: iommu_lu_match_miss: 0001:3a:1f.7 (0001:3a:1f.7) was not preserved", &e), "miss not parsed");
	EQ(e.a, 1);
	EQ(e.b, BDF(0x3a, 0x1f, 7));

	EXPECT(lt_event_parse_ftrace("       swapper/0-1       [002] .....     0.912345: iommu_lu_match_hit: 0000:00:03.0 matches device entry 0 (domain 0, token 0x1235)", &e), "hit not parsed");
	EQ(e.type, LT_EV_MATCH_HIT);
	EQ(e.cpu, 2);
	EQ(e.ts_ns, 912345000ULL);
	STREQ(e.name, "0000:00:03.0");
	EQ(e.index, 0);
	EQ(e.a, 0);
	EQ(e.x, TOKEN0);
	return 0;
}

static int t_ftrace_flb(void)
{
	struct lt_event e;

	EXPECT(lt_event_parse_ftrace("    lu-preserve-120   [001] .....   25.100200: iommu_lu_flb_preserve: root=0x11f000 hw_units=1 domains=1 devices=1 ret=0", &e), "not parsed");
	EQ(e.type, LT_EV_FLB_PRESERVE);
	STREQ(e.comm, "lu-preserve");
	EQ(e.pid, 120);
	EQ(e.ts_ns, 25100200000ULL);
	EQ(e.x, ROOT_PA);
	EQ(e.a, 1);
	EQ(e.b, 1);
	EQ(e.c, 1);
	EQ(e.ret, 0);
	EXPECT(lt_event_parse_ftrace("   swapper/0-1   [000] .....   1.5: iommu_lu_flb_retrieve: root=0 hw_units=0 domains=0 devices=0 ret=-2", &e), "retrieve not parsed");
	EQ(e.type, LT_EV_FLB_RETRIEVE);
	EQ(e.x, 0);
	EQ(e.ret, -2);
	return 0;
}

static int t_ftrace_device(void)
{
	struct lt_event e;

	EXPECT(lt_event_parse_ftrace("          lu-vfio-97      [000] .....    12.345700: iommu_lu_device_preserve: 0000:00:03.0 index=1 domain=2 hw_unit=3 token=0x1235 ret=0", &e), "not parsed");
	EQ(e.type, LT_EV_DEVICE_PRESERVE);
	STREQ(e.name, "0000:00:03.0");
	EQ(e.index, 1);
	EQ(e.a, 2);
	EQ(e.b, 3);
	EQ(e.x, TOKEN0);
	EQ(e.ret, 0);
	EXPECT(lt_event_parse_ftrace("          lu-vfio-97      [000] .....    12.345701: iommu_lu_device_unpreserve: 0000:00:03.0 index=1 domain=2 hw_unit=3 token=0x1235 ret=-16", &e), "not parsed");
	EQ(e.type, LT_EV_DEVICE_UNPRESERVE);
	EQ(e.ret, -16);
	return 0;
}

static int t_ftrace_pt_hw_unit(void)
{
	struct lt_event e;

	EXPECT(lt_event_parse_ftrace("          lu-vfio-97      [000] .....    12.345690: iommu_lu_pt_preserve: index=0 format=1 levels=3 top=0x1234000 tables=3 mapped=2097152 ret=0", &e), "pt not parsed");
	EQ(e.type, LT_EV_PT_PRESERVE);
	EQ(e.index, 0);
	EQ(e.a, 1);
	EQ(e.b, 3);
	EQ(e.x, TOP_TABLE);
	EQ(e.y, 3);
	EQ(e.z, 2097152);
	EQ(e.ret, 0);
	EXPECT(lt_event_parse_ftrace("          lu-vfio-97      [000] .....    12.345680: iommu_lu_hw_unit_preserve: index=0 refcount=1 type=1 token=0xfed90000 ret=0", &e), "hw_unit not parsed");
	EQ(e.type, LT_EV_HW_UNIT_PRESERVE);
	EQ(e.index, 0);
	EQ(e.refcount, 1);
	EQ(e.a, IOMMU_LU_HW_VTD);
	EQ(e.x, VTD_TOKEN);
	EQ(e.ret, 0);
	return 0;
}

static int t_ftrace_entry_block(void)
{
	struct lt_event e;

	EXPECT(lt_event_parse_ftrace("          lu-vfio-97      [000] .....    12.345670: iommu_lu_entry_alloc: device index=4 refcount=0 flags=0x1", &e), "entry not parsed");
	EQ(e.type, LT_EV_ENTRY_ALLOC);
	STREQ(e.name, "device");
	EQ(e.index, 4);
	EQ(e.refcount, 0);
	EQ(e.flags, IOMMU_LU_ENTRY_USED);
	EXPECT(lt_event_parse_ftrace("          lu-vfio-97      [000] .....    12.345671: iommu_lu_entry_free: hw_unit index=0 refcount=0 flags=0x3", &e), "entry_free not parsed");
	EQ(e.type, LT_EV_ENTRY_FREE);
	STREQ(e.name, "hw_unit");
	EQ(e.flags, 3);
	EXPECT(lt_event_parse_ftrace("          lu-vfio-97      [000] .....    12.345660: iommu_lu_block_alloc: domain blocks=2", &e), "block not parsed");
	EQ(e.type, LT_EV_BLOCK_ALLOC);
	STREQ(e.name, "domain");
	EQ(e.x, 2);
	return 0;
}

static int t_ftrace_rejects(void)
{
	static const char *const bad[] = {
		"# tracer: nop",
		"#",
		"#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION",
		"",
		"          <idle>-0       [000] d..2.    12.000000: sched_switch: prev_comm=swapper/0 prev_pid=0",
		"          lu-vfio-97      [000] .....    12.345678: iommu_lu_bogus: index=0",
		"          lu-vfio-97      [000] .....    12.345678: iommu_map: IOMMU: iova=0x0000000000001000",
		/* the right event with a payload that is not its format */
		"          lu-vfio-97      [000] .....    12.345678: iommu_lu_domain_preserve: something else",
		"          lu-vfio-97      [000] .....    12.345678: iommu_lu_flb_finish: root=0x1000",
	};
	struct lt_event e;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		EXPECT(!lt_event_parse_ftrace(bad[i], &e), "accepted: %s", bad[i]);
	return 0;
}

/*
 * Reading a whole trace buffer: events, the kernel's lost counts (header
 * and marks), and iommu_lu lines that cannot be parsed are counted; a
 * marker or another event that only names an iommu_lu event is neither.
 */
static int t_ftrace_line_counts(void)
{
	static const char *const lines[] = {
		"# tracer: nop\n",
		"#\n",
		"# entries-in-buffer/entries-written: 40/52   #P:2\n",
		"       swapper/0-1       [001] .....     0.912345: iommu_lu_match_hit: 0000:00:03.0 matches device entry 0 (domain 0, token 0x1235)\n",
		"CPU:1 [LOST 7 EVENTS]\n",
		"          lu-vfio-97      [000] .....    12.345678: iommu_lu_domain_preserve: something else\n",
		"              sh-80       [000] .....    12.400000: tracing_mark_write: iommu_lu_domain_preserve: index=0\n",
		"          <idle>-0       [000] d..2.    12.500000: sched_switch: prev_comm=swapper/0 prev_pid=0\n",
		"CPU:0 [LOST EVENTS]\n",
		"          lu-vfio-97      [000] .....    12.600000: iommu_lu_bogus: index=0\n",
		"          lu-vfio-97      [000] .....    12.700000: iommu_lu_block_free: domain blocks=0\n",
	};
	struct lt_ftrace_stats st = {};
	struct lt_event e;
	unsigned int nr = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(lines); i++)
		nr += lt_ftrace_line(lines[i], &e, &st);
	EQ(nr, 2);
	EQ(st.events, 2);
	EQ(e.type, LT_EV_BLOCK_FREE);
	EQ(st.unparsed, 2);
	STREQ(st.first_unparsed, "          lu-vfio-97      [000] .....    12.345678: iommu_lu_domain_preserve: something else");
	/* 52 written, 40 in the buffer: 12 overwritten; 7; a mark without a count */
	EQ(st.lost, 12 + 7 + 1);
	return 0;
}

static int t_event_names(void)
{
	__u32 t;

	EQ(lt_event_type("domain_preserve"), LT_EV_DOMAIN_PRESERVE);
	EQ(lt_event_type("iommu_lu_match_miss"), LT_EV_MATCH_MISS);
	EQ(lt_event_type("iommu_lu_"), 0);
	EQ(lt_event_type("nothing"), 0);
	EXPECT(!lt_event_desc(0) && !lt_event_desc(LT_EV_MAX), "desc of bad type");
	for (t = 1; t < LT_EV_MAX; t++) {
		const struct lt_event_desc *d = lt_event_desc(t);
		char name[64];

		EXPECT(d && d->name, "no desc for %u", t);
		snprintf(name, sizeof(name), "%s_%s", d->object, d->op);
		STREQ(d->name, name);
		EQ(lt_event_type(d->name), t);
	}
	return 0;
}

/* ---- tests: filters and printing events ---------------------------------- */

#define EVB(t)	(1ULL << (t))

static int t_event_filter(void)
{
	const char *bad = NULL;

	EQ(lt_event_filter("domain", &bad),
	   EVB(LT_EV_DOMAIN_PRESERVE) | EVB(LT_EV_DOMAIN_UNPRESERVE) |
	   EVB(LT_EV_DOMAIN_RESTORE));
	EQ(lt_event_filter("preserve", &bad),
	   EVB(LT_EV_HW_UNIT_PRESERVE) | EVB(LT_EV_DOMAIN_PRESERVE) |
	   EVB(LT_EV_PT_PRESERVE) | EVB(LT_EV_DEVICE_PRESERVE) |
	   EVB(LT_EV_FLB_PRESERVE));
	EQ(lt_event_filter("match_hit", &bad), EVB(LT_EV_MATCH_HIT));
	EQ(lt_event_filter("iommu_lu_match_hit", &bad), EVB(LT_EV_MATCH_HIT));
	EQ(lt_event_filter("match", &bad), EVB(LT_EV_MATCH_HIT) | EVB(LT_EV_MATCH_MISS));
	EQ(lt_event_filter("domain,match_hit", &bad),
	   EVB(LT_EV_DOMAIN_PRESERVE) | EVB(LT_EV_DOMAIN_UNPRESERVE) |
	   EVB(LT_EV_DOMAIN_RESTORE) | EVB(LT_EV_MATCH_HIT));
	EQ(lt_event_filter("flb", &bad),
	   EVB(LT_EV_FLB_PRESERVE) | EVB(LT_EV_FLB_UNPRESERVE) |
	   EVB(LT_EV_FLB_RETRIEVE) | EVB(LT_EV_FLB_FINISH));
	bad = NULL;
	EQ(lt_event_filter("bogus", &bad), 0);
	EXPECT(bad && !strcmp(bad, "bogus"), "bad = %s", bad ? bad : "(null)");
	bad = NULL;
	EQ(lt_event_filter("domain,nope", &bad), 0);
	EXPECT(bad && !strcmp(bad, "nope"), "bad = %s", bad ? bad : "(null)");
	return 0;
}

static __attribute__((noinline)) char *print_event(const struct lt_event *e, enum lt_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	lt_event_print(e, f, fmt);
	fclose(f);
	return buf;
}

static int t_event_print(void)
{
	struct lt_event e;
	char *out;

	memset(&e, 0, sizeof(e));
	e.type = LT_EV_DEVICE_PRESERVE;
	e.ts_ns = 12345678000ULL;
	e.pid = 97;
	e.cpu = 1;
	e.index = 1;
	e.a = 0;
	e.b = 0;
	e.x = TOKEN0;
	strcpy(e.name, "0000:00:03.0");
	strcpy(e.comm, "lu-vfio");
	out = print_event(&e, LT_FMT_TEXT);
	t_ctx = out;
	HAS(out, "    12.345678 lu-vfio          97      device_preserve    0000:00:03.0 index=1 domain=0 hw_unit=0 token=0x1235 ret=0\n");
	EQ(count_lines(out), 1);
	free(out);
	out = print_event(&e, LT_FMT_JSON);
	t_ctx = out;
	EXPECT(json_valid(out), "not valid JSON");
	EQ(count_lines(out), 1);
	HAS(out, "{\"ts_ns\":12345678000,\"event\":\"device_preserve\",\"object\":\"device\",\"op\":\"preserve\",\"comm\":\"lu-vfio\",\"pid\":97,\"cpu\":1,\"dev\":\"0000:00:03.0\",\"index\":1,\"domain\":0,\"hw_unit\":0,\"token\":\"0x1235\",\"ret\":0}\n");
	free(out);

	/* a parsed line prints back */
	EXPECT(lt_event_parse_ftrace("  lu-vfio-97 [000] ..... 12.345678: iommu_lu_domain_preserve: index=0 refcount=0 format=1 levels=3 top=0x1234000 width=39 ret=0", &e), "not parsed");
	out = print_event(&e, LT_FMT_TEXT);
	t_ctx = out;
	HAS(out, "domain_preserve    index=0 refcount=0 format=vtdss levels=3 top=0x1234000 width=39 ret=0");
	free(out);
	out = print_event(&e, LT_FMT_PRETTY);
	t_ctx = out;
	EXPECT(json_valid(out), "not valid JSON");
	HAS(out, "\"event\": \"domain_preserve\"");
	HAS(out, "\"format\": \"vtdss\"");
	HAS(out, "\"top_table\": 19087360");
	HAS(out, "\"addr_width\": 39");
	free(out);

	EXPECT(lt_event_parse_ftrace("swapper/0-1 [001] ..... 0.943210: iommu_lu_match_miss: 0000:00:04.0 (0000:00:04.0) was not preserved", &e), "not parsed");
	out = print_event(&e, LT_FMT_TEXT);
	t_ctx = out;
	HAS(out, "match_miss         0000:00:04.0 pci=0000:00:04.0 (not preserved)");
	free(out);
	out = print_event(&e, LT_FMT_JSON);
	t_ctx = out;
	HAS(out, "\"event\":\"match_miss\",\"object\":\"match\",\"op\":\"miss\",\"comm\":\"swapper/0\",\"pid\":1,\"cpu\":1,\"dev\":\"0000:00:04.0\",\"pci\":\"0000:00:04.0\"}");
	free(out);

	/* an unknown type prints nothing */
	e.type = LT_EV_MAX;
	out = print_event(&e, LT_FMT_TEXT);
	EQ(strlen(out), 0);
	free(out);
	return 0;
}

/* ---- tests: histograms ----------------------------------------------------- */

static int t_hist_text(void)
{
	struct lt_hist h;
	static char line[256];
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	memset(&h, 0, sizeof(h));
	h.slots[0] = 4;
	h.slots[3] = 2;
	h.count = 6;
	h.total_ns = 6 * 3500;		/* average 3 us */
	h.max_ns = 12000;
	f = open_memstream(&buf, &len);
	lt_hist_print_text(f, LT_OP_PRESERVE, LT_OBJ_DOMAIN, &h);
	fclose(f);
	t_ctx = buf;
	HAS(buf, "\npreserve domain: 6 operations, average 3 us, max 12 us\n");
	HAS(buf, "                   usecs : count    distribution\n");
	EXPECT(line_with(buf, "0 -> 1 ", line, sizeof(line)), "no slot 0 row");
	HAS(line, "         0 -> 1          : 4        |****************************************|");
	EXPECT(line_with(buf, "8 -> 15", line, sizeof(line)), "no slot 3 row");
	HAS(line, "         8 -> 15         : 2        |********************                    |");
	/* the empty slots up to the last in use are shown */
	HAS(buf, "         2 -> 3          : 0        |                                        |");
	HAS(buf, "         4 -> 7          : 0        |");
	HASNT(buf, "16 -> 31");
	EQ(count_lines(buf), 7);
	free(buf);

	/* one operation: singular */
	memset(&h, 0, sizeof(h));
	h.slots[10] = 1;
	h.count = 1;
	h.total_ns = 1500000;
	h.max_ns = 1500000;
	buf = NULL;
	f = open_memstream(&buf, &len);
	lt_hist_print_text(f, LT_OP_RESTORE, LT_OBJ_FLB, &h);
	fclose(f);
	t_ctx = buf;
	HAS(buf, "restore flb: 1 operation, average 1500 us, max 1500 us\n");
	HAS(buf, "      1024 -> 2047       : 1        |****************************************|");
	free(buf);
	return 0;
}

static int t_hist_json(void)
{
	struct lt_hist h;
	char *buf = NULL;
	size_t len = 0;
	struct jw w;
	FILE *f;

	memset(&h, 0, sizeof(h));
	h.slots[0] = 4;
	h.slots[3] = 2;
	h.count = 6;
	h.total_ns = 21000;
	h.max_ns = 12000;
	f = open_memstream(&buf, &len);
	jw_init(&w, f, false);
	jw_arr_begin(&w);
	lt_hist_print_json(&w, LT_OP_UNPRESERVE, LT_OBJ_DEVICE, &h);
	jw_arr_end(&w);
	jw_end(&w);
	fclose(f);
	t_ctx = buf;
	EXPECT(json_valid(buf), "not valid JSON");
	HAS(buf, "[{\"op\":\"unpreserve\",\"object\":\"device\",\"count\":6,\"total_ns\":21000,\"max_ns\":12000,\"unit\":\"usecs\",\"slots\":[");
	HAS(buf, "\"slots\":[{\"low\":0,\"high\":1,\"count\":4},{\"low\":2,\"high\":3,\"count\":0},{\"low\":4,\"high\":7,\"count\":0},{\"low\":8,\"high\":15,\"count\":2}]}]\n");
	free(buf);
	return 0;
}

static int t_hist_empty(void)
{
	struct lt_hist h;
	char *buf = NULL;
	size_t len = 0;
	struct jw w;
	FILE *f;

	memset(&h, 0, sizeof(h));
	f = open_memstream(&buf, &len);
	lt_hist_print_text(f, LT_OP_PRESERVE, LT_OBJ_DOMAIN, &h);
	fclose(f);
	EQ(len, 0);
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	jw_init(&w, f, false);
	lt_hist_print_json(&w, LT_OP_PRESERVE, LT_OBJ_HW_UNIT, &h);
	jw_end(&w);
	fclose(f);
	t_ctx = buf;
	EXPECT(json_valid(buf), "not valid JSON");
	HAS(buf, "\"object\":\"hw_unit\",\"count\":0,");
	HAS(buf, "\"slots\":[]}");
	STREQ(lt_op_name(LT_NR_OPS), "unknown");
	STREQ(lt_obj_name(LT_OBJ_VFIO), "vfio");
	free(buf);
	return 0;
}

/* ---- tests: the JSON writer -------------------------------------------- */

static int t_json_writer(void)
{
	char *buf = NULL;
	size_t len = 0;
	struct jw w;
	FILE *f = open_memstream(&buf, &len);

	jw_init(&w, f, false);
	jw_obj_begin(&w);
	jw_kstr(&w, "s", "a\"b\\c\nd\te\x01");
	jw_kint(&w, "neg", -5);
	jw_ku64(&w, "big", UINT64_MAX);
	jw_kbool(&w, "t", true);
	jw_key(&w, "n");
	jw_null(&w);
	jw_key(&w, "e");
	jw_arr_begin(&w);
	jw_arr_end(&w);
	jw_key(&w, "o");
	jw_obj_begin(&w);
	jw_obj_end(&w);
	jw_obj_end(&w);
	jw_end(&w);
	/* a second document after jw_end starts afresh */
	jw_arr_begin(&w);
	jw_u64(&w, 1);
	jw_str(&w, "x");
	jw_arr_end(&w);
	jw_end(&w);
	fclose(f);
	t_ctx = buf;
	STREQ(buf, "{\"s\":\"a\\\"b\\\\c\\nd\\te\\u0001\",\"neg\":-5,\"big\":18446744073709551615,\"t\":true,\"n\":null,\"e\":[],\"o\":{}}\n[1,\"x\"]\n");
	free(buf);
	return 0;
}

/* Bytes that are not UTF-8 (a comm can hold any) become U+FFFD; UTF-8 stays */
static int t_json_utf8(void)
{
	char *buf = NULL;
	size_t len = 0;
	struct jw w;
	FILE *f = open_memstream(&buf, &len);

	jw_init(&w, f, false);
	jw_arr_begin(&w);
	jw_str(&w, "a\xff\xfe");
	jw_str(&w, "caf\xc3\xa9");
	jw_str(&w, "\xc3");
	jw_str(&w, "\xe0\x80\x80");
	jw_arr_end(&w);
	jw_end(&w);
	fclose(f);
	t_ctx = buf;
	STREQ(buf, "[\"a\\ufffd\\ufffd\",\"caf\xc3\xa9\",\"\\ufffd\",\"\\ufffd\\ufffd\\ufffd\"]\n");
	free(buf);
	return 0;
}

/* Records were lost: no entry is called refused, the verdict is unknown */
static int t_incoming_lost(void)
{
	struct lt_snapshot s;
	char *out;
	int problems;

	incoming_state(&s);
	s.lost = 3;
	out = dump(&s, LT_FMT_JSON, &problems);
	t_ctx = out;
	EXPECT(problems > 0, "lost records not reported");
	HAS(out, "3 records did not fit in the ring buffer");
	HASNT(out, "\"status\":\"refused\"");
	HASNT(out, "\"valid\":false");
	HAS(out, "\"status\":\"unknown\"");
	HAS(out, "\"valid\":null");
	free(out);
	lt_snapshot_free(&s);
	return 0;
}

/*
 * Corruptions of the standard state: each must be reported as a problem,
 * in text and JSON, with every entry still decoded (check_problem()).
 */
static const struct {
	const char *name;
	void (*corrupt)(struct lt_snapshot *s);
	const char *msg;
} corruptions[] = {
	{ "bad_unaligned", c_bad_unaligned,
	  "device chain: block 0 at 0x122040 is not page aligned" },
	{ "bad_not_full", c_bad_not_full,
	  "device chain: block 0 is not full but is not the last" },
	{ "bad_loop", c_bad_loop,
	  "hw_unit chain: block 0 links back to 0x120000, an earlier block: the chain loops" },
	{ "bad_nr_entries", c_bad_nr_entries,
	  "device chain holds 2 entries, the root says 3" },
	{ "bad_root_link", c_bad_root_link,
	  "domain chain: the root names block 0x777000, the dump read 0x121000" },
	{ "bad_next_link", c_bad_next_link,
	  "hw_unit chain: block 0 links to 0x555000, the dump read 0x556000 next" },
	{ "bad_empty_block", c_bad_empty_block,
	  "hw_unit chain: block 1 holds no entry" },
	{ "bad_index", c_bad_index,
	  "device entry in slot 1 says index 7" },
	{ "bad_flags", c_bad_flags,
	  "domain entry 0 has unknown flags 0x101" },
	{ "bad_magic", c_bad_magic,
	  "root record: bad magic 0x1234" },
	{ "bad_version", c_bad_version,
	  "root record: ABI version 4, lutrace reads 3" },
	{ "bad_aliases", c_bad_aliases,
	  "device entry 1 claims 4 DMA aliases (at most 3)" },
	{ "bad_hw_unit_ref", c_bad_hw_unit_ref,
	  "device entry 1 names hw_unit 3, which is not in the state" },
	{ "bad_pt_features", c_bad_pt_features,
	  "domain entry 0 has unknown page table features 0x10000000000" },
	{ "bad_lost", c_bad_lost,
	  "2 records did not fit in the ring buffer" },
};

static int run_corruption(size_t i)
{
	struct lt_snapshot s;

	std_state(&s, false, IOMMU_LU_ENTRY_USED);
	corruptions[i].corrupt(&s);
	if (check_problem(&s, corruptions[i].msg))
		return -1;
	lt_snapshot_free(&s);
	return 0;
}

/* ---- tests: the timeline ------------------------------------------------- */

/*
 * Timelines are crafted as the kernels write them: a header and a ring of
 * records from the ABI's own structures. The TSC runs at 2 GHz, so that a
 * microsecond is 2000 cycles and every time below comes out in whole ns;
 * AT(us) is the TSC @us microseconds from the handover.
 */
#define TL_KHZ		2000000
#define TL_HANDOVER	100000000000ULL
#define AT(us)		((__u64)((__s64)TL_HANDOVER + (__s64)(us) * 2000))
#define TL_DEV(bus, dev, fn)	((__u32)BDF(bus, dev, fn))

static unsigned char tl_old[LT_TL_SIZE] __attribute__((aligned(8)));
static unsigned char tl_new[LT_TL_SIZE] __attribute__((aligned(8)));

static struct iommu_lu_tl_hdr *tl_hdr(unsigned char *blob)
{
	return (struct iommu_lu_tl_hdr *)blob;
}

static void tl_init(unsigned char *blob, __u32 flags)
{
	struct iommu_lu_tl_hdr *h = tl_hdr(blob);

	memset(blob, 0, LT_TL_SIZE);
	h->magic = IOMMU_LU_TL_MAGIC;
	h->version = IOMMU_LU_TL_VERSION;
	h->rec_size = sizeof(struct iommu_lu_tl_rec);
	h->capacity = IOMMU_LU_TL_CAPACITY;
	h->flags = flags;
	h->clock_khz = TL_KHZ;
}

/*
 * Appends a step as the kernel does: record n in slot n % capacity, or,
 * in a full ring that keeps its first records, nowhere
 */
static void tl_rec(unsigned char *blob, __u16 step, __u32 key, __u64 begin,
		   __u64 end, __s32 ret)
{
	struct iommu_lu_tl_hdr *h = tl_hdr(blob);
	struct iommu_lu_tl_rec *r = (struct iommu_lu_tl_rec *)(h + 1) +
				    h->nr_written % h->capacity;

	if ((h->flags & IOMMU_LU_TL_KEEP_FIRST) && h->nr_written >= h->capacity) {
		h->nr_written++;
		return;
	}
	memset(r, 0, sizeof(*r));
	r->begin = begin;
	r->end = end;
	r->key = key;
	r->step = step;
	r->cpu = 1;
	r->ret = ret;
	h->nr_written++;
}

/* The old kernel's steps of the standard update, up to the handover */
static void tl_old_steps(void)
{
	tl_rec(tl_old, IOMMU_LU_STEP_FLB_PRESERVE, 0, AT(-15000000),
	       AT(-14990000), 0);
	tl_rec(tl_old, IOMMU_LU_STEP_DOMAIN_PRESERVE, 0, AT(-14980000),
	       AT(-14970000), 0);
	tl_rec(tl_old, IOMMU_LU_STEP_DEVICE_PRESERVE, TL_DEV(0, 1, 0),
	       AT(-14960000), AT(-14955000), 0);
	/* Ends last, so recorded last: the domain and device nest in it */
	tl_rec(tl_old, IOMMU_LU_STEP_IOMMUFD_PRESERVE, 0, AT(-14985000),
	       AT(-14950000), 0);
	tl_rec(tl_old, IOMMU_LU_STEP_VFIO_PRESERVE, 0, AT(-14945000),
	       AT(-14940000), 0);
	tl_rec(tl_old, IOMMU_LU_STEP_DEVICE_FREEZE, TL_DEV(0, 1, 0),
	       AT(-2000000), AT(-1998000), 0);
	tl_rec(tl_old, IOMMU_LU_STEP_NO_RETURN, 0, AT(-500000), AT(-500000), 0);
	tl_rec(tl_old, IOMMU_LU_STEP_UNIT_SHUTDOWN, 0, AT(-300000),
	       AT(-299000), 0);
	tl_rec(tl_old, IOMMU_LU_STEP_HANDOVER, 0, AT(0), AT(0), 0);
}

static void tl_old_std(void)
{
	tl_init(tl_old, IOMMU_LU_TL_CLOCK_INVARIANT);
	tl_old_steps();
}

/* The new kernel's part, up to the restore (the blackout's end) */
static void tl_new_boot(void)
{
	tl_init(tl_new, IOMMU_LU_TL_CLOCK_INVARIANT);
	/* The validation runs inside the first unit's adoption */
	tl_rec(tl_new, IOMMU_LU_STEP_VALIDATE, 0, AT(1002000), AT(1005000), 0);
	tl_rec(tl_new, IOMMU_LU_STEP_UNIT_ADOPT, 0, AT(1000000), AT(1010000), 0);
	tl_rec(tl_new, IOMMU_LU_STEP_DEVICE_RESTORE, TL_DEV(0, 1, 0),
	       AT(1300000), AT(1302000), 0);
	/* A failed restore does not end the phase */
	tl_rec(tl_new, IOMMU_LU_STEP_DEVICE_RESTORE, TL_DEV(0, 2, 0),
	       AT(1303000), AT(1303500), -EINVAL);
}

/* The rest: user space retrieves, attaches, finishes; then a next update */
static void tl_new_finish(void)
{
	tl_rec(tl_new, IOMMU_LU_STEP_IOMMUFD_RETRIEVE, 0, AT(5000000),
	       AT(5020000), 0);
	tl_rec(tl_new, IOMMU_LU_STEP_VFIO_RETRIEVE, 0, AT(5030000),
	       AT(5031000), 0);
	tl_rec(tl_new, IOMMU_LU_STEP_DEVICE_ATTACH, TL_DEV(0, 1, 0),
	       AT(5040000), AT(5041000), 0);
	tl_rec(tl_new, IOMMU_LU_STEP_FLB_FINISH, 0, AT(9000000), AT(9001000), 0);
	tl_rec(tl_new, IOMMU_LU_STEP_FLB_PRESERVE, 0, AT(12000000),
	       AT(12001000), 0);
}

static const struct lt_tl_clock tl_clock_ok = {
	.khz = TL_KHZ,
	.constant_tsc = true,
	.nonstop_tsc = true,
	.clocksource = "tsc",
};

/* The standard update's phases, in us: end and IOMMU time */
static const struct {
	const char *name;
	const char *label;
	__s64 end_us;
	__s64 iommu_us;
} tl_std_phases[LT_TL_NR_PHASES] = {
	{ "preserve", "preserve", -14940000, 50000 },
	{ "wait", "wait for the kexec", -2000000, 0 },
	{ "freeze", "freeze", -500000, 2000 },
	{ "shutdown", "shutdown", 0, 1000 },
	{ "kexec", "kexec and boot", 1000000, 0 },
	{ "adopt", "validate and adopt", 1010000, 10000 },
	{ "restore", "restore at probe", 1302000, 2000 },
	{ "userspace", "user space", 5000000, 500 },
	{ "retrieve", "retrieve and attach", 5041000, 22000 },
	{ "finish", "finish", 9001000, 1000 },
};
#define TL_STD_START_US	(-15000000)

static __attribute__((noinline)) char *
tl_print(const struct lt_timeline *t, enum lt_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	lt_tl_print(t, f, fmt);
	fclose(f);
	return buf;
}

/* Builds the timeline of the two rings as they are */
static int tl_build(struct lt_timeline *t, const struct lt_tl_clock *c)
{
	return lt_tl_build(t, tl_old, sizeof(tl_old), tl_new, sizeof(tl_new),
			   c);
}

/* The model's phases: in order, exact, the nested validation once */
static int t_tl_phases(void)
{
	struct lt_timeline t;
	__s64 sum = 0, start = TL_STD_START_US * 1000LL;
	size_t i;

	tl_old_std();
	tl_new_boot();
	tl_new_finish();
	EQ(tl_build(&t, &tl_clock_ok), 0);
	EQ(t.nr_warnings, 0);
	EQ(t.start_ns, start);
	for (i = 0; i < LT_TL_NR_PHASES; i++) {
		const struct lt_tl_phase *p = &t.phases[i];

		STREQ(p->name, tl_std_phases[i].name);
		STREQ(p->label, tl_std_phases[i].label);
		EQ(p->pending, false);
		EQ(p->start_ns, start);
		EQ(p->end_ns, tl_std_phases[i].end_us * 1000);
		EXPECT(p->iommu_ns == tl_std_phases[i].iommu_us * 1000,
		       "phase %s: iommu_ns %lld, expected %lld", p->name,
		       (long long)p->iommu_ns,
		       (long long)tl_std_phases[i].iommu_us * 1000);
		sum += p->end_ns - p->start_ns;
		start = p->end_ns;
	}
	EQ(sum, t.total_ns);
	EQ(t.total_ns, (9001000LL - TL_STD_START_US) * 1000);
	/* validate (3 ms) inside unit_adopt (10 ms): 10 ms, not 13 */
	EQ(t.phases[5].end_ns - t.phases[5].start_ns, 10000000);
	EQ(t.phases[5].iommu_ns, 10000000);
	EQ(t.have_blackout, true);
	EQ(t.blackout.start_ns, 0);
	EQ(t.blackout.end_ns, 1302000000);
	EQ(t.blackout.iommu_ns, 12000000);
	EQ(t.blackout.permille, 9);
	EQ(t.blackout.end_key, TL_DEV(0, 1, 0));
	/* 9 old, 8 new: the next update's flb_preserve is not this one's */
	EQ(t.nr_steps, 17);
	for (i = 1; i < t.nr_steps; i++)
		EXPECT(t.steps[i].rec.begin >= t.steps[i - 1].rec.begin,
		       "step %zu out of order", i);
	lt_tl_free(&t);
	return 0;
}

/* "-12.345" (ms, three decimals, as printed) in us; LLONG_MIN if not */
static long long tl_us(const char *ms)
{
	long long whole, frac;
	bool neg = *ms == '-';
	char *end;

	whole = strtoll(ms + neg, &end, 10);
	if (*end != '.' || strlen(end + 1) != 3)
		return LLONG_MIN;
	frac = strtoll(end + 1, &end, 10);
	if (*end)
		return LLONG_MIN;
	return (neg ? -1 : 1) * (whole * 1000 + frac);
}

/* The phase rows of the text: their durations add up to the total row */
static int t_tl_text(void)
{
	struct lt_timeline t;
	long long sum = 0, start_us, dur_us, total_start, total;
	char line[256], s[32], d[32], m[32], *out;
	size_t i;

	tl_old_std();
	tl_new_boot();
	tl_new_finish();
	EQ(tl_build(&t, &tl_clock_ok), 0);
	out = tl_print(&t, LT_FMT_TEXT);
	t_ctx = out;
	HAS(out, "IOMMU live update timeline: TSC at 2000.000 MHz (old kernel 2000.000), invariant in both kernels; t=0 at the handover\n");
	HAS(out, "  PHASE                 START(ms)  DURATION(ms)  IOMMU(ms)\n");
	HAS(out, "  preserve             -15000.000        60.000     50.000\n");
	for (i = 0; i < LT_TL_NR_PHASES; i++) {
		char want[64];

		snprintf(want, sizeof(want), "  %s ", tl_std_phases[i].label);
		EXPECT(line_with(out, want, line, sizeof(line)),
		       "no row for %s", tl_std_phases[i].label);
		EXPECT(sscanf(line + strlen(want), "%31s %31s %31s", s, d,
			      m) == 3, "row: %s", line);
		start_us = tl_us(s);
		dur_us = tl_us(d);
		EXPECT(start_us + dur_us == tl_std_phases[i].end_us,
		       "row %s ends at %lld us", line, start_us + dur_us);
		EXPECT(tl_us(m) == tl_std_phases[i].iommu_us, "row %s", line);
		sum += dur_us;
	}
	EXPECT(line_with(out, "  total ", line, sizeof(line)), "no total");
	EXPECT(sscanf(line + 8, "%31s %31s", s, d) == 2, "total: %s", line);
	total_start = tl_us(s);
	total = tl_us(d);
	EQ(total_start, -15000000);
	EQ(sum, total);
	HAS(out, "  blackout: 1302.000 ms from the handover to 0000:00:01.0's restore; IOMMU 12.000 ms (0.9%)\n");
	HAS(out, "STEPS\n");
	HAS(out, "  -14980.000        10.000  old     domain_preserve    domain 0\n");
	HAS(out, "        0.000         0.000  old     handover\n");
	HAS(out, "     1000.000        10.000  new     unit_adopt         unit 0\n");
	HAS(out, "     1303.000         0.500  new     device_restore     0000:00:02.0       error -22 (EINVAL)\n");
	EQ(count_of(out, "flb_preserve"), 1);
	HASNT(out, "warning:");
	HASNT(out, " \n");
	free(out);
	lt_tl_free(&t);
	return 0;
}

/* The JSON: valid, read back, its phases add up to total_ns exactly */
static int t_tl_json(void)
{
	struct json_object *doc, *o, *a, *p, *v;
	struct lt_timeline t;
	long long sum = 0;
	char *out;
	size_t i;

	tl_old_std();
	tl_new_boot();
	tl_new_finish();
	EQ(tl_build(&t, &tl_clock_ok), 0);
	out = tl_print(&t, LT_FMT_JSON);
	t_ctx = out;
	EXPECT(json_valid(out), "invalid JSON");
	EQ(count_lines(out), 1);
	HAS(out, "{\"clock\":{\"khz\":2000000,\"old_khz\":2000000,\"invariant\":{\"old\":true,\"new\":true},\"trusted\":false},");
	HAS(out, "\"handover\":{\"version\":1,\"capacity\":2044,\"written\":9,\"overwritten\":0}");
	HAS(out, "\"blackout\":{\"start_ns\":0,\"end_ns\":1302000000,\"duration_ns\":1302000000,\"iommu_ns\":12000000,\"iommu_permille\":9,\"end_device\":\"0000:00:01.0\"}");
	HAS(out, "{\"kernel\":\"new\",\"step\":\"device_restore\",\"object\":\"0000:00:02.0\",\"start_ns\":1303000000,\"duration_ns\":500000,\"ret\":-22,\"cpu\":1,\"tsc_begin\":\"0x17e3cb4f80\",\"tsc_end\":\"0x17e3da91c0\"}");
	HAS(out, "{\"kernel\":\"old\",\"step\":\"handover\",\"object\":null,\"start_ns\":0,");
	HAS(out, "\"warnings\":[]}");
	doc = json_tokener_parse(out);
	EXPECT(doc, "json-c cannot read it");
	EXPECT(json_object_object_get_ex(doc, "phases", &a) &&
	       json_object_array_length(a) == LT_TL_NR_PHASES, "phases");
	for (i = 0; i < LT_TL_NR_PHASES; i++) {
		p = json_object_array_get_idx(a, i);
		EXPECT(json_object_object_get_ex(p, "name", &v) &&
		       !strcmp(json_object_get_string(v), tl_std_phases[i].name),
		       "phase %zu's name", i);
		EXPECT(json_object_object_get_ex(p, "duration_ns", &v) &&
		       json_object_is_type(v, json_type_int), "duration %zu", i);
		sum += json_object_get_int64(v);
		EXPECT(json_object_object_get_ex(p, "iommu_ns", &v) &&
		       json_object_get_int64(v) == tl_std_phases[i].iommu_us * 1000,
		       "iommu %zu", i);
	}
	EXPECT(json_object_object_get_ex(doc, "total_ns", &v), "total_ns");
	EQ(sum, json_object_get_int64(v));
	EQ(sum, (9001000LL + 15000000) * 1000);
	EXPECT(json_object_object_get_ex(doc, "steps", &o) &&
	       json_object_array_length(o) == 17, "steps");
	json_object_put(doc);
	free(out);

	/* Pretty: the same document, indented */
	out = tl_print(&t, LT_FMT_PRETTY);
	t_ctx = out;
	EXPECT(json_valid(out), "invalid pretty JSON");
	HAS(out, "\n    \"phases\": [\n");
	free(out);
	lt_tl_free(&t);
	return 0;
}

/*
 * At a rate that makes no time a whole number of ns or us, the phases
 * still add up: exactly in ns (JSON), and in the text's rounded ms too.
 */
static int t_tl_rounding(void)
{
	struct lt_tl_clock c = tl_clock_ok;
	struct lt_timeline t;
	long long sum = 0, total;
	char line[256], s[32], d[32], *out;
	__s64 ns = 0;
	size_t i;

	tl_old_std();
	tl_new_boot();
	tl_new_finish();
	c.khz = 2095997;
	tl_hdr(tl_old)->clock_khz = c.khz;
	EQ(tl_build(&t, &c), 0);
	EQ(t.nr_warnings, 0);
	for (i = 0; i < LT_TL_NR_PHASES; i++)
		ns += t.phases[i].end_ns - t.phases[i].start_ns;
	EQ(ns, t.total_ns);
	/* 24001 ms of cycles at 2 GHz are 22.9 s at 2095.997 MHz */
	EQ(t.total_ns, 48002000000000000ULL / 2095997);
	out = tl_print(&t, LT_FMT_TEXT);
	t_ctx = out;
	HAS(out, "TSC at 2095.997 MHz (old kernel 2095.997)");
	for (i = 0; i < LT_TL_NR_PHASES; i++) {
		char want[64];

		snprintf(want, sizeof(want), "  %s ", tl_std_phases[i].label);
		EXPECT(line_with(out, want, line, sizeof(line)),
		       "no row for %s", tl_std_phases[i].label);
		EXPECT(sscanf(line + strlen(want), "%31s %31s", s, d) == 2,
		       "row: %s", line);
		EXPECT(tl_us(d) != LLONG_MIN, "row: %s", line);
		sum += tl_us(d);
	}
	EXPECT(line_with(out, "  total ", line, sizeof(line)), "no total");
	EXPECT(sscanf(line + 8, "%31s %31s", s, d) == 2, "total: %s", line);
	total = tl_us(d);
	EQ(sum, total);
	/* The text's total is of its rounded ends: within 1 us of the ns */
	EXPECT(llabs(total - (t.total_ns + 500) / 1000) <= 1,
	       "total %lld us, %lld ns", total, (long long)t.total_ns);
	free(out);
	lt_tl_free(&t);
	return 0;
}

/* Before FINISH, before the retrieves: pending phases, a warning, no error */
static int t_tl_pending(void)
{
	struct lt_timeline t;
	char *out;
	size_t i;

	tl_old_std();
	tl_new_boot();
	EQ(tl_build(&t, &tl_clock_ok), 0);
	for (i = 0; i < LT_TL_NR_PHASES; i++)
		EQ(t.phases[i].pending, i >= 7);
	EQ(t.total_ns, (1302000LL + 15000000) * 1000);
	EQ(t.have_blackout, true);
	EQ(t.nr_warnings, 1);
	STREQ(t.warnings[0], "the update is not finished: no iommufd_retrieve or vfio_retrieve yet");
	out = tl_print(&t, LT_FMT_TEXT);
	t_ctx = out;
	HAS(out, "  user space                    -             -          -\n");
	HAS(out, "  finish                        -             -          -\n");
	HAS(out, "  total                -15000.000     16302.000\n");
	HAS(out, "\nwarning: the update is not finished: no iommufd_retrieve or vfio_retrieve yet\n");
	free(out);
	out = tl_print(&t, LT_FMT_JSON);
	t_ctx = out;
	EXPECT(json_valid(out), "invalid JSON");
	HAS(out, "{\"name\":\"userspace\",\"start_ns\":null,\"duration_ns\":null,\"iommu_ns\":null}");
	HAS(out, "{\"name\":\"restore\",\"start_ns\":1010000000,\"duration_ns\":292000000,\"iommu_ns\":2000000}");
	HAS(out, "\"total_ns\":16302000000,");
	HAS(out, "\"warnings\":[\"the update is not finished: no iommufd_retrieve or vfio_retrieve yet\"]");
	free(out);
	lt_tl_free(&t);

	/* Only FINISH to come */
	tl_new_finish();
	tl_hdr(tl_new)->nr_written -= 2;
	EQ(tl_build(&t, &tl_clock_ok), 0);
	EQ(t.phases[9].pending, true);
	EQ(t.phases[8].pending, false);
	STREQ(t.warnings[0], "the update is not finished: no flb_finish yet");
	lt_tl_free(&t);

	/* Nothing restored yet: no blackout */
	tl_hdr(tl_new)->nr_written = 2;
	EQ(tl_build(&t, &tl_clock_ok), 0);
	EQ(t.have_blackout, false);
	out = tl_print(&t, LT_FMT_JSON);
	t_ctx = out;
	HAS(out, "\"blackout\":null,");
	free(out);
	out = tl_print(&t, LT_FMT_TEXT);
	t_ctx = out;
	HAS(out, "  blackout: - (no device restored yet)\n");
	free(out);
	lt_tl_free(&t);
	return 0;
}

/* A device restored before its unit's adoption ended: an error */
static int t_tl_overlap(void)
{
	struct lt_timeline t;
	char *out;

	tl_old_std();
	tl_init(tl_new, IOMMU_LU_TL_CLOCK_INVARIANT);
	tl_rec(tl_new, IOMMU_LU_STEP_UNIT_ADOPT, 0, AT(1000000), AT(1010000), 0);
	tl_rec(tl_new, IOMMU_LU_STEP_DEVICE_RESTORE, TL_DEV(0, 1, 0),
	       AT(1003000), AT(1004000), 0);
	tl_new_finish();
	EQ(tl_build(&t, &tl_clock_ok), -EINVAL);
	STREQ(t.error, "phase 'restore at probe' ends before 'validate and adopt': the phases overlap");
	/* What happened can still be read: the steps, no phase, no total */
	EQ(t.partial, true);
	out = tl_print(&t, LT_FMT_TEXT);
	t_ctx = out;
	HAS(out, "  restore at probe              -             -          -\n");
	HAS(out, "  total                         -             -\n");
	HAS(out, "  blackout: - (phase 'restore at probe' ends before");
	HAS(out, "new     device_restore     0000:00:01.0\n");
	free(out);
	out = tl_print(&t, LT_FMT_JSON);
	t_ctx = out;
	EXPECT(json_valid(out), "invalid JSON");
	HAS(out, "\"total_ns\":null");
	HAS(out, "\"step\":\"device_restore\"");
	free(out);
	lt_tl_free(&t);
	return 0;
}

/* No device restored, yet user space went on: the middle is missing */
static int t_tl_missing(void)
{
	struct lt_timeline t;

	tl_old_std();
	tl_new_boot();
	/* The successful restore becomes a failed one */
	((struct iommu_lu_tl_rec *)(tl_hdr(tl_new) + 1))[2].ret = -ENODEV;
	tl_new_finish();
	EQ(tl_build(&t, &tl_clock_ok), -EINVAL);
	STREQ(t.error, "phase 'restore at probe' never ended (no successful device_restore), yet 'user space' did: the timeline is incomplete");
	lt_tl_free(&t);

	/* No handover: there is no t = 0 */
	tl_old_std();
	tl_hdr(tl_old)->nr_written--;
	tl_new_boot();
	EQ(tl_build(&t, &tl_clock_ok), -EINVAL);
	STREQ(t.error, "the previous kernel's timeline has no handover step: it did not record the kexec");
	lt_tl_free(&t);
	return 0;
}

/* The old ring wrapped: the oldest steps are gone, and said to be */
static int t_tl_wrap(void)
{
	struct lt_timeline t;
	char *out;
	size_t i, old = 0;
	int n;

	tl_init(tl_old, IOMMU_LU_TL_CLOCK_INVARIANT);
	tl_rec(tl_old, IOMMU_LU_STEP_FLB_PRESERVE, 0, AT(-16000000),
	       AT(-15999000), 0);
	for (n = 0; n < 2200; n++)
		tl_rec(tl_old, IOMMU_LU_STEP_DOMAIN_PRESERVE, n,
		       AT(-15000000 + n * 10), AT(-15000000 + n * 10 + 5), 0);
	tl_rec(tl_old, IOMMU_LU_STEP_DEVICE_FREEZE, TL_DEV(0, 1, 0),
	       AT(-2000000), AT(-1998000), 0);
	tl_rec(tl_old, IOMMU_LU_STEP_NO_RETURN, 0, AT(-500000), AT(-500000), 0);
	tl_rec(tl_old, IOMMU_LU_STEP_UNIT_SHUTDOWN, 0, AT(-300000),
	       AT(-299000), 0);
	tl_rec(tl_old, IOMMU_LU_STEP_HANDOVER, 0, AT(0), AT(0), 0);
	EQ(tl_hdr(tl_old)->nr_written, 2205);
	tl_new_boot();
	tl_new_finish();
	EQ(tl_build(&t, &tl_clock_ok), 0);
	EQ(t.written, 2205);
	EQ(t.overwritten, 2205 - 2044);
	for (i = 0; i < t.nr_steps; i++)
		old += t.steps[i].old;
	EQ(old, 2044);
	/* The oldest kept: the flb_preserve and 160 domains are gone */
	EQ(t.steps[0].rec.step, IOMMU_LU_STEP_DOMAIN_PRESERVE);
	EQ(t.steps[0].rec.key, 160);
	EQ(t.start_ns, (-15000000LL + 1600) * 1000);
	EQ(t.phases[0].end_ns, (-15000000LL + 21990 + 5) * 1000);
	EQ(t.nr_warnings, 1);
	STREQ(t.warnings[0], "the oldest 161 of the 2205 steps the previous kernel recorded were overwritten (its ring holds 2044): the preserve phase starts at the oldest step kept");
	out = tl_print(&t, LT_FMT_JSON);
	t_ctx = out;
	EXPECT(json_valid(out), "invalid JSON");
	HAS(out, "\"handover\":{\"version\":1,\"capacity\":2044,\"written\":2205,\"overwritten\":161}");
	HASNT(out, "\"step\":\"flb_preserve\"");
	HASNT(out, "\"object\":\"domain 159\"");
	HAS(out, "\"object\":\"domain 160\"");
	free(out);
	lt_tl_free(&t);
	return 0;
}

/*
 * A failed kexec and a retry: the freeze that counts is the one after the
 * unfreeze. An earlier update's steps before the last flb_preserve are
 * left out.
 */
static int t_tl_retry(void)
{
	struct iommu_lu_tl_rec *r;
	struct lt_timeline t;

	tl_init(tl_old, IOMMU_LU_TL_CLOCK_INVARIANT);
	/* The old kernel's own restore, of the update that booted it */
	tl_rec(tl_old, IOMMU_LU_STEP_VALIDATE, 0, AT(-90000000),
	       AT(-89990000), 0);
	tl_rec(tl_old, IOMMU_LU_STEP_FLB_FINISH, 0, AT(-80000000),
	       AT(-79990000), 0);
	tl_old_steps();
	/* Frozen at -4 s, unfrozen at -3 s, frozen again at -2 s */
	r = (struct iommu_lu_tl_rec *)(tl_hdr(tl_old) + 1) + 2 + 5;
	EQ(r->step, IOMMU_LU_STEP_DEVICE_FREEZE);
	r->begin = AT(-4000000);
	r->end = AT(-3999000);
	tl_rec(tl_old, IOMMU_LU_STEP_DEVICE_UNFREEZE, TL_DEV(0, 1, 0),
	       AT(-3000000), AT(-2999000), 0);
	tl_rec(tl_old, IOMMU_LU_STEP_DEVICE_FREEZE, TL_DEV(0, 1, 0),
	       AT(-2000000), AT(-1998000), 0);
	tl_new_boot();
	tl_new_finish();
	EQ(tl_build(&t, &tl_clock_ok), 0);
	EQ(t.start_ns, -15000000000LL);
	EQ(t.phases[1].end_ns, -2000000000LL);
	/* The first freeze and the unfreeze count in the wait */
	EQ(t.phases[1].iommu_ns, 50000000 - 50000000 + 2000000);
	EQ(t.phases[2].iommu_ns, 2000000);
	EQ(t.nr_steps, 11 + 8);
	EQ(t.nr_warnings, 1);
	STREQ(t.warnings[0], "2 steps of the previous kernel come before its last flb_preserve: an earlier update's, left out");
	lt_tl_free(&t);
	return 0;
}

/*
 * A failed kexec whose first freeze failed: LUO unfreezes only what froze,
 * so the failed freeze has no unfreeze; the retry's freeze counts
 */
static int t_tl_failed_freeze(void)
{
	struct iommu_lu_tl_rec *r;
	struct lt_timeline t;

	tl_old_std();
	r = (struct iommu_lu_tl_rec *)(tl_hdr(tl_old) + 1) + 5;
	EQ(r->step, IOMMU_LU_STEP_DEVICE_FREEZE);
	r->begin = AT(-4000000);
	r->end = AT(-3999000);
	r->ret = -EBUSY;
	tl_rec(tl_old, IOMMU_LU_STEP_DEVICE_FREEZE, TL_DEV(0, 1, 0),
	       AT(-2000000), AT(-1998000), 0);
	tl_new_boot();
	tl_new_finish();
	EQ(tl_build(&t, &tl_clock_ok), 0);
	EQ(t.phases[1].end_ns, -2000000000LL);
	EQ(t.phases[2].start_ns, -2000000000LL);
	EQ(t.nr_warnings, 0);
	lt_tl_free(&t);
	return 0;
}

/*
 * This kernel's ring keeps its first records: the restore stays, the
 * newest steps are counted, not kept, and said
 */
static int t_tl_keep_first(void)
{
	struct lt_timeline t;
	size_t i, new = 0;
	int n;

	tl_old_std();
	tl_new_boot();
	tl_hdr(tl_new)->flags |= IOMMU_LU_TL_KEEP_FIRST;
	tl_new_finish();
	for (n = 0; n < 3000; n++)
		tl_rec(tl_new, IOMMU_LU_STEP_DEVICE_UNPRESERVE, n,
		       AT(13000000 + n), AT(13000000 + n), 0);
	EQ(tl_hdr(tl_new)->nr_written, 3009);
	EQ(tl_build(&t, &tl_clock_ok), 0);
	for (i = 0; i < t.nr_steps; i++)
		new += !t.steps[i].old;
	/* Up to the finish: the next update's steps are not this one's */
	EQ(new, 8);
	EQ(t.phases[9].pending, false);
	EQ(t.phases[9].end_ns, 9001000000LL);
	EQ(t.nr_warnings, 1);
	STREQ(t.warnings[0], "the newest 965 of the 3009 steps this kernel recorded were not kept (its ring holds its first 2044): later phases may show as pending");
	lt_tl_free(&t);
	return 0;
}

/* A step of the new kernel before the handover: the TSC went backwards */
static int t_tl_backwards(void)
{
	struct lt_tl_clock c = tl_clock_ok;
	struct lt_timeline t;

	tl_old_std();
	tl_new_boot();
	tl_new_finish();
	((struct iommu_lu_tl_rec *)(tl_hdr(tl_new) + 1))[1].begin = AT(-1000);
	EQ(tl_build(&t, &c), -EINVAL);
	STREQ(t.error, "the TSC cannot be compared across the kexec: the TSC went backwards by 2000000 cycles (a step of this kernel begins before the handover); --trust-tsc compares it anyway");
	lt_tl_free(&t);
	/* Trusted, the phases still cannot overlap */
	c.trust = true;
	EQ(tl_build(&t, &c), -EINVAL);
	STREQ(t.error, "phase 'kexec and boot' ends before 'shutdown': the phases overlap");
	STREQ(t.warnings[0], "the TSC cannot be compared across the kexec: the TSC went backwards by 2000000 cycles (a step of this kernel begins before the handover); compared anyway (--trust-tsc)");
	lt_tl_free(&t);
	return 0;
}

/* Each clock check: an error without --trust-tsc, a warning with it */
static int t_tl_clock(void)
{
	static const struct {
		__u32 flags;
		bool constant, nonstop;
		const char *source;
		const char *why;
	} cases[] = {
		{ 0, true, true, "tsc",
		  "the previous kernel's TSC was not invariant" },
		{ IOMMU_LU_TL_CLOCK_INVARIANT | IOMMU_LU_TL_CLOCK_UNSTABLE,
		  true, true, "tsc",
		  "the previous kernel marked its TSC unstable" },
		{ IOMMU_LU_TL_CLOCK_INVARIANT, false, true, "tsc",
		  "this kernel's CPU does not advertise constant_tsc in /proc/cpuinfo" },
		{ IOMMU_LU_TL_CLOCK_INVARIANT, true, false, "tsc",
		  "this kernel's CPU does not advertise nonstop_tsc in /proc/cpuinfo" },
		{ IOMMU_LU_TL_CLOCK_INVARIANT, false, false, "tsc",
		  "this kernel's CPU does not advertise constant_tsc and nonstop_tsc in /proc/cpuinfo" },
		{ IOMMU_LU_TL_CLOCK_INVARIANT, true, true, "hpet",
		  "this kernel's clocksource is hpet, not tsc" },
		{ IOMMU_LU_TL_CLOCK_INVARIANT, true, true, NULL,
		  "this kernel's clocksource is not known" },
	};
	struct lt_tl_clock c;
	struct lt_timeline t;
	char want[LT_TL_MSG_LEN];
	char *out;
	size_t i;

	tl_old_std();
	tl_new_boot();
	tl_new_finish();
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		tl_hdr(tl_old)->flags = cases[i].flags;
		c = tl_clock_ok;
		c.constant_tsc = cases[i].constant;
		c.nonstop_tsc = cases[i].nonstop;
		c.clocksource = cases[i].source;
		EQ(tl_build(&t, &c), -EINVAL);
		snprintf(want, sizeof(want), "the TSC cannot be compared across the kexec: %s; --trust-tsc compares it anyway",
			 cases[i].why);
		STREQ(t.error, want);
		lt_tl_free(&t);
		c.trust = true;
		EQ(tl_build(&t, &c), 0);
		EQ(t.nr_warnings, 1);
		snprintf(want, sizeof(want), "the TSC cannot be compared across the kexec: %s; compared anyway (--trust-tsc)",
			 cases[i].why);
		STREQ(t.warnings[0], want);
		EQ(t.trusted, true);
		EQ(t.phases[9].pending, false);
		lt_tl_free(&t);
	}

	/* Old not invariant, this kernel without the flags: both said */
	tl_hdr(tl_old)->flags = 0;
	c = tl_clock_ok;
	c.constant_tsc = c.nonstop_tsc = false;
	c.trust = true;
	EQ(tl_build(&t, &c), 0);
	EQ(t.nr_warnings, 2);
	out = tl_print(&t, LT_FMT_TEXT);
	t_ctx = out;
	HAS(out, "), invariant in neither kernel, compared anyway (--trust-tsc); t=0 at the handover\n");
	HAS(out, "warning: the TSC cannot be compared across the kexec: the previous kernel's TSC was not invariant; compared anyway (--trust-tsc)\n");
	HAS(out, "warning: the TSC cannot be compared across the kexec: this kernel's CPU does not advertise constant_tsc and nonstop_tsc in /proc/cpuinfo; compared anyway (--trust-tsc)\n");
	free(out);
	out = tl_print(&t, LT_FMT_JSON);
	t_ctx = out;
	HAS(out, "\"invariant\":{\"old\":false,\"new\":false},\"trusted\":true}");
	free(out);
	lt_tl_free(&t);

	/* Rates that differ: a warning, the new kernel's rate used */
	tl_hdr(tl_old)->flags = IOMMU_LU_TL_CLOCK_INVARIANT;
	tl_hdr(tl_old)->clock_khz = 1990000;
	EQ(tl_build(&t, &tl_clock_ok), 0);
	EQ(t.nr_warnings, 1);
	STREQ(t.warnings[0], "the kernels' TSC rates differ by more than 0.1%: 1990000 kHz before the kexec, 2000000 kHz after; every time uses this kernel's");
	lt_tl_free(&t);

	/* No rate at all */
	c = tl_clock_ok;
	c.khz = 0;
	EQ(tl_build(&t, &c), -EINVAL);
	STREQ(t.error, "this kernel's TSC rate is not known (tsc_khz is 0): lutrace cannot tell time from its cycle counts");
	lt_tl_free(&t);
	return 0;
}

/* A ring lutrace cannot read is refused whole, with the reason */
static int t_tl_refused(void)
{
	struct lt_timeline t;

	tl_old_std();
	tl_new_boot();
	tl_hdr(tl_old)->magic = 0x1234;
	EQ(tl_build(&t, &tl_clock_ok), -EINVAL);
	STREQ(t.error, "the previous kernel's timeline: bad magic 0x1234");
	lt_tl_free(&t);
	tl_old_std();
	tl_hdr(tl_old)->version = 2;
	EQ(tl_build(&t, &tl_clock_ok), -EINVAL);
	STREQ(t.error, "the previous kernel's timeline: version 2, lutrace reads 1");
	lt_tl_free(&t);
	tl_old_std();
	tl_hdr(tl_old)->rec_size = 40;
	EQ(tl_build(&t, &tl_clock_ok), -EINVAL);
	STREQ(t.error, "the previous kernel's timeline: record size 40, lutrace reads 32");
	lt_tl_free(&t);
	tl_old_std();
	tl_hdr(tl_old)->capacity = 2045;
	EQ(tl_build(&t, &tl_clock_ok), -EINVAL);
	STREQ(t.error, "the previous kernel's timeline: capacity 2045, but 2044 records fit in its 65536 bytes");
	lt_tl_free(&t);
	tl_old_std();
	tl_hdr(tl_new)->magic = 0;
	EQ(tl_build(&t, &tl_clock_ok), -EINVAL);
	STREQ(t.error, "this kernel's timeline: bad magic 0x0");
	lt_tl_free(&t);
	tl_new_boot();
	EQ(lt_tl_build(&t, tl_old, 100, tl_new, sizeof(tl_new), &tl_clock_ok),
	   -EINVAL);
	STREQ(t.error, "the previous kernel's timeline: 100 bytes, too short for its header");
	lt_tl_free(&t);
	/* Nothing recorded at all */
	tl_init(tl_old, IOMMU_LU_TL_CLOCK_INVARIANT);
	EQ(tl_build(&t, &tl_clock_ok), -EINVAL);
	STREQ(t.error, "the previous kernel's timeline holds no step");
	lt_tl_free(&t);
	return 0;
}

/* Step names and what the keys name */
static int t_tl_names(void)
{
	char buf[32];

	STREQ(lt_tl_step_name(IOMMU_LU_STEP_DOMAIN_PRESERVE), "domain_preserve");
	STREQ(lt_tl_step_name(IOMMU_LU_STEP_FLB_FINISH), "flb_finish");
	EXPECT(!lt_tl_step_name(0), "step 0 has a name");
	EXPECT(!lt_tl_step_name(IOMMU_LU_STEP_NR), "step NR has a name");
	STREQ(lt_tl_object(IOMMU_LU_STEP_DEVICE_ATTACH,
			   1 << 16 | BDF(0x3a, 0x1f, 7), buf, sizeof(buf)),
	      "0001:3a:1f.7");
	STREQ(lt_tl_object(IOMMU_LU_STEP_DOMAIN_UNPRESERVE, 4, buf,
			   sizeof(buf)), "domain 4");
	STREQ(lt_tl_object(IOMMU_LU_STEP_UNIT_SHUTDOWN, 1, buf, sizeof(buf)),
	      "unit 1");
	EXPECT(!lt_tl_object(IOMMU_LU_STEP_HANDOVER, 0, buf, sizeof(buf)),
	       "the handover names an object");
	return 0;
}

/* ---- main ------------------------------------------------------------------ */

static const struct {
	const char *name;
	int (*fn)(void);
} tests[] = {
	{ "json_validator", t_json_validator },
	{ "entries_per_block", t_entries_per_block },
	{ "names", t_names },
	{ "snapshot_add_rejects", t_snapshot_add_rejects },
	{ "chain_entries", t_chain_entries },
	{ "outgoing_text", t_outgoing_text },
	{ "vtd_aliases", t_vtd_aliases },
	{ "vtd_scalable", t_vtd_scalable },
	{ "amdvi_text", t_amdvi_text },
	{ "amdvi_json", t_amdvi_json },
	{ "outgoing_json", t_outgoing_json },
	{ "outgoing_pretty", t_outgoing_pretty },
	{ "deleted_slot", t_deleted_slot },
	{ "two_blocks", t_two_blocks },
	{ "bad_count", t_bad_count },
	{ "json_utf8", t_json_utf8 },
	{ "incoming_lost", t_incoming_lost },
	{ "bad_several", t_bad_several },
	{ "bad_loop_at_limit", t_bad_loop_at_limit },
	{ "root_unreadable", t_root_unreadable },
	{ "no_state", t_no_state },
	{ "incoming_refused_whole", t_incoming_refused_whole },
	{ "incoming_text", t_incoming_text },
	{ "incoming_json", t_incoming_json },
	{ "incoming_chain_refused", t_incoming_chain_refused },
	{ "ftrace_domain", t_ftrace_domain },
	{ "ftrace_match", t_ftrace_match },
	{ "ftrace_flb", t_ftrace_flb },
	{ "ftrace_device", t_ftrace_device },
	{ "ftrace_pt_hw_unit", t_ftrace_pt_hw_unit },
	{ "ftrace_entry_block", t_ftrace_entry_block },
	{ "ftrace_rejects", t_ftrace_rejects },
	{ "ftrace_line_counts", t_ftrace_line_counts },
	{ "event_names", t_event_names },
	{ "event_filter", t_event_filter },
	{ "event_print", t_event_print },
	{ "hist_text", t_hist_text },
	{ "hist_json", t_hist_json },
	{ "hist_empty", t_hist_empty },
	{ "json_writer", t_json_writer },
	{ "json_khex_zero", t_json_khex_zero },
	{ "problems_not_listed", t_problems_not_listed },
	{ "kallsyms_why", t_kallsyms_why },
	{ "reason_codes", t_reason_codes },
	{ "refusals_text", t_refusals_text },
	{ "refusals_whole", t_refusals_whole },
	{ "from_roundtrip", t_from_roundtrip },
	{ "from_bad_files", t_from_bad_files },
	{ "check_outgoing_ok", t_check_outgoing_ok },
	{ "check_outgoing_critical", t_check_outgoing_critical },
	{ "check_incoming", t_check_incoming },
	{ "check_next_kernel", t_check_next_kernel },
	{ "diff", t_diff },
	{ "read_pci", t_read_pci },
	{ "kallsyms_find", t_kallsyms_find },
	{ "check_refused_slot", t_check_refused_slot },
	{ "check_cold_boot", t_check_cold_boot },
	{ "check_incomplete", t_check_incomplete },
	{ "diff_by_slot", t_diff_by_slot },
	{ "text_safe", t_text_safe },
	{ "tl_names", t_tl_names },
	{ "tl_phases", t_tl_phases },
	{ "tl_text", t_tl_text },
	{ "tl_json", t_tl_json },
	{ "tl_rounding", t_tl_rounding },
	{ "tl_pending", t_tl_pending },
	{ "tl_overlap", t_tl_overlap },
	{ "tl_missing", t_tl_missing },
	{ "tl_wrap", t_tl_wrap },
	{ "tl_retry", t_tl_retry },
	{ "tl_failed_freeze", t_tl_failed_freeze },
	{ "tl_keep_first", t_tl_keep_first },
	{ "tl_backwards", t_tl_backwards },
	{ "tl_clock", t_tl_clock },
	{ "tl_refused", t_tl_refused },
};

/* One KTAP line per test, with the failing output after it */
static void report(size_t n, const char *name, int rc, int *passed,
		   int *failed)
{
	const char *p;

	if (rc == 0) {
		printf("ok %zu %s\n", n, name);
		(*passed)++;
		return;
	}
	(*failed)++;
	printf("not ok %zu %s: %s\n", n, name, t_msg);
	for (p = t_ctx; p && *p;) {
		const char *e = strchr(p, '\n');
		int len = e ? (int)(e - p) : (int)strlen(p);

		printf("#   %.*s\n", len, p);
		p += len + (e ? 1 : 0);
	}
}

/* @s's JSON dump written to @dir/@name */
static int save_as(const struct lt_snapshot *s, const char *dir,
		   const char *name)
{
	char path[4096];
	int problems;
	char *out;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		return 1;
	}
	out = dump(s, LT_FMT_JSON, &problems);
	fputs(out, f);
	free(out);
	if (fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}

/*
 * --save DIR: the crafted dumps the host tests run lutrace on (the
 * command line, exit statuses, reading files back): out.json, an outgoing
 * state a check finds OK; in.json, an incoming one with a refusal;
 * cold.json, the incoming side of a boot that was no live update
 */
static int save_dumps(const char *dir)
{
	struct lt_snapshot s;
	int err;

	outgoing_full(&s, OK_CMDLINE);
	s.cmdline = strdup("console=ttyS0 liveupdate=on");
	err = save_as(&s, dir, "out.json");
	lt_snapshot_free(&s);
	incoming_state(&s);
	add_reasons(&s);
	add_refusal(&s, IOMMU_LU_CHAIN_DEVICE, 2, R_ENTRY_FIELD,
		    LT_REFUSED_NONE);
	s.state.nr_refusals = 1;
	s.state.handover = LT_HANDOVER_IOMMU;
	err |= save_as(&s, dir, "in.json");
	lt_snapshot_free(&s);
	memset(&s, 0, sizeof(s));
	s.incoming = true;
	s.have_state = true;
	s.state.incoming = 1;
	s.state.handover = LT_HANDOVER_NONE;
	err |= save_as(&s, dir, "cold.json");
	return err;
}

/*
 * --bench: what `lutrace dump` does in user space (the model, its checks,
 * and the text or JSON view) on crafted outgoing states of 10, 1,000 and
 * 10,000 device entries (one unit, one domain), LT_BENCH_REPS runs each.
 * Prints min/median/max per run and the median per entry, and each size's
 * median per entry against the smallest's: linear when the ratios stay
 * near 1. The dump program's part, copying each block of the chain once
 * with bpf_loop, is not in it.
 */
#define LT_BENCH_REPS	5
#define LT_BENCH_PA	0x10000000ULL

/* The standard state grown to @n device entries, in as many blocks */
static void scale_state(struct lt_snapshot *s, __u32 n)
{
	__u32 per = lt_entries_per_block(IOMMU_LU_CHAIN_DEVICE), i;
	struct lt_block_rec *b;

	std_state(s, false, IOMMU_LU_ENTRY_USED);
	b = find_block(s, IOMMU_LU_CHAIN_DEVICE, 0);
	for (i = 2; i < n; i++) {
		__u32 blk = i / per;
		__u64 pa = LT_BENCH_PA + (__u64)blk * 0x1000;

		if (i % per == 0) {
			add_block(s, IOMMU_LU_CHAIN_DEVICE, blk, pa);
			bhdr(find_block(s, IOMMU_LU_CHAIN_DEVICE, blk - 1))->next = pa;
			/* add_block reallocs the blocks */
			b = find_block(s, IOMMU_LU_CHAIN_DEVICE, blk);
		}
		put_device(s, b, i % per, i, IOMMU_LU_ENTRY_USED,
			   (__u16)(0x100 + i), 0x10000 + i, 1);
	}
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static int bench_dump(void)
{
	static const __u32 sizes[] = { 10, 1000, 10000 };
	static const struct {
		enum lt_format fmt;
		const char *name;
	} fmts[] = { { LT_FMT_TEXT, "text" }, { LT_FMT_JSON, "json" } };
	double base[ARRAY_SIZE(fmts)] = {};
	size_t f, i, r;

	printf("lutrace dump, user space part, %d runs per size (us per run: min/median/max; ns per entry: median)\n",
	       LT_BENCH_REPS);
	printf("format | entries | min | median | max | ns/entry | ns/entry against %u entries'\n",
	       sizes[0]);
	for (f = 0; f < ARRAY_SIZE(fmts); f++) {
		for (i = 0; i < ARRAY_SIZE(sizes); i++) {
			__u64 t[LT_BENCH_REPS];
			struct lt_snapshot s;
			double per;
			int problems;

			scale_state(&s, sizes[i]);
			for (r = 0; r < LT_BENCH_REPS; r++) {
				__u64 t0 = now_ns();
				char *out = dump(&s, fmts[f].fmt, &problems);

				t[r] = now_ns() - t0;
				free(out);
				if (problems) {
					fprintf(stderr, "bench: the crafted state of %u entries has %d problems\n",
						sizes[i], problems);
					lt_snapshot_free(&s);
					return 1;
				}
			}
			lt_snapshot_free(&s);
			qsort(t, LT_BENCH_REPS, sizeof(t[0]), cmp_u64);
			per = (double)t[LT_BENCH_REPS / 2] / sizes[i];
			if (!i)
				base[f] = per;
			printf("%s | %u | %.0f | %.0f | %.0f | %.0f | %.2f\n",
			       fmts[f].name, sizes[i], t[0] / 1e3,
			       t[LT_BENCH_REPS / 2] / 1e3,
			       t[LT_BENCH_REPS - 1] / 1e3, per, per / base[f]);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	size_t i, n = ARRAY_SIZE(tests) + ARRAY_SIZE(corruptions);
	int passed = 0, failed = 0;

	if (argc == 3 && !strcmp(argv[1], "--save"))
		return save_dumps(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "--bench"))
		return bench_dump();
	if (argc != 1) {
		fprintf(stderr, "usage: %s [--save DIR | --bench]\n", argv[0]);
		return 2;
	}

	printf("KTAP version 1\n1..%zu\n", n);
	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		t_msg[0] = 0;
		t_ctx = NULL;
		report(i + 1, tests[i].name, tests[i].fn(), &passed, &failed);
	}
	for (i = 0; i < ARRAY_SIZE(corruptions); i++) {
		t_msg[0] = 0;
		t_ctx = NULL;
		report(ARRAY_SIZE(tests) + i + 1, corruptions[i].name,
		       run_corruption(i), &passed, &failed);
	}
	printf("# lutrace unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
