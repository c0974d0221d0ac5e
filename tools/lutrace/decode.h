/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lutrace: decoding the IOMMU live update state. The dump command and the
 * host unit tests share this code: the BPF program (or a test) adds raw
 * records to a snapshot, and everything from there, checking the chains,
 * decoding the entries, matching devices and printing, happens here.
 */
#ifndef LUTRACE_DECODE_H
#define LUTRACE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "abi.h"
#include "json.h"

enum lt_format { LT_FMT_TEXT, LT_FMT_JSON, LT_FMT_PRETTY };

/* A PCI device of the running kernel: the matching table, check */
struct lt_pci_dev {
	__u32 segment;
	__u16 bdf;		/* bus << 8 | devfn */
	bool iommu;		/* in an IOMMU group */
	char driver[32];	/* bound driver, "" if none */
	bool have_command;	/* @command was read */
	__u16 command;		/* the command register */
	bool have_parent;	/* a PCI bridge is upstream: */
	__u32 parent_segment;
	__u16 parent_bdf;
};

/* PCI command register: bus master enable */
#define LT_PCI_COMMAND_MASTER	0x4

/*
 * The most a snapshot holds: what the dump program can produce (blocks per
 * chain, refusals, memory read back), and for what it cannot bound, more
 * than a host has (PCI functions: 256 buses of 256 in each of 16 segments;
 * lookup entries: every device and unit entry of full chains). A file
 * read back (--from) that holds more is refused.
 */
#define LT_MAX_PCI		(16 * 65536)
#define LT_MAX_LOOKUP		(2 * LT_MAX_BLOCKS * (LT_BLOCK_SIZE / 64))

/* The physical address bits (12-51) of an AMD-Vi table pointer */
#define LT_AMDVI_ADDR		0x000ffffffffff000ULL

/* Everything one dump read, in the order it came */
struct lt_snapshot {
	bool incoming;
	int err;			/* the dump program's error */
	__u32 lost;			/* records that did not fit */
	__u32 truncated;		/* hash buckets not read to their end */
	bool have_state;		/* the state record arrived */
	struct lt_state_rec state;
	struct lt_block_rec *blocks;
	size_t nr_blocks;
	struct lt_valid_rec *valid;
	size_t nr_valid;
	struct lt_pci_dev *pci;		/* the PCI devices present */
	size_t nr_pci;
	struct lt_refusal_rec *refusals;	/* incoming, oldest first */
	size_t nr_refusals;
	char **reasons;			/* reason codes by value, NULL: none */
	size_t nr_reasons;
	bool have_kexec;		/* outgoing: @kexec was read */
	struct lt_kexec_rec kexec;
	struct lt_mem_rec *mem;		/* outgoing: the live device entries */
	size_t nr_mem;
	char *cmdline;			/* outgoing: this kernel's command line
					 * (/proc/cmdline), NULL: not read */
};

/*
 * Whether records of the dump are missing (lost, or a walk cut short): the
 * chains may be truncated and the kernel's verdicts incomplete
 */
bool lt_snapshot_incomplete(const struct lt_snapshot *s);

/* A decoded entry: where it is and what it says */
struct lt_entry {
	__u32 chain;
	__u32 block;		/* block position in its chain */
	__u32 slot;		/* slot position in its block */
	__u32 pos;		/* slot number in the chain */
	const void *raw;	/* the entry in the snapshot's block */
};

/* Adds one ring buffer record; -EINVAL if it is malformed */
int lt_snapshot_add(struct lt_snapshot *s, const void *rec, size_t len);
int lt_snapshot_add_pci(struct lt_snapshot *s, const struct lt_pci_dev *dev);
void lt_snapshot_free(struct lt_snapshot *s);

/*
 * Names reason @value of the kernel's enum iommu_lu_reason: @name without
 * @prefix, lower case, '_' as '-' (IOMMU_LU_REASON_CHAIN_LOOP with prefix
 * "IOMMU_LU_REASON_" is "chain-loop"). 0 or -ENOMEM.
 */
int lt_snapshot_add_reason(struct lt_snapshot *s, __u32 value,
			   const char *name, const char *prefix);
/* The code of reason @value, or NULL if the kernel named none */
const char *lt_reason_code(const struct lt_snapshot *s, __u32 value);
/* What a reason means for an operator, or NULL for a code lutrace does
 * not know */
const char *lt_reason_meaning(const struct lt_snapshot *s, __u32 reason);

/* The kernel's refusal of (@chain, @index), or NULL (LT_REFUSED_ALL: the
 * whole chain; chain LT_NR_CHAINS: the whole state) */
const struct lt_refusal_rec *lt_refusal_of(const struct lt_snapshot *s,
					   __u32 chain, __u32 index);
/* The code of reason @reason, else "reason-N" in @buf */
const char *lt_refusal_code(const struct lt_snapshot *s, __u32 reason,
			    char *buf, size_t len);
/* "chain-loop (block 3)"; writes into @buf */
const char *lt_refusal_str(const struct lt_snapshot *s,
			   const struct lt_refusal_rec *r, char *buf,
			   size_t len);
/*
 * A refusal as JSON members. lt_json_place: chain ("state" for the whole
 * state) and index (null for a whole chain). lt_json_reason: reason,
 * reason_id, meaning when known, concerns; @code NULL (the kernel recorded
 * no reason): reason, reason_id and concerns null.
 */
void lt_json_place(struct jw *w, __u32 chain, __u32 index);
void lt_json_reason(struct jw *w, const char *code, __u32 reason_id,
		    const char *meaning, __u32 concerns);

/* The PCI device at @segment:@bdf in the snapshot, or NULL */
const struct lt_pci_dev *lt_snapshot_pci(const struct lt_snapshot *s,
					 __u32 segment, __u16 bdf);

/* The memory read back at @pa, or NULL */
const struct lt_mem_rec *lt_snapshot_mem(const struct lt_snapshot *s,
					 __u64 pa);

/* Entries that fit in one block of @chain */
__u32 lt_entries_per_block(__u32 chain);
const char *lt_chain_name(__u32 chain);

/*
 * The used entries of @chain in chain order, as the next kernel reads them
 * (deleted slots skipped). Returns how many; fills up to @max of @out.
 */
size_t lt_chain_entries(const struct lt_snapshot *s, __u32 chain,
			struct lt_entry *out, size_t max);

/* Incoming: whether an entry is in the kernel's restore lookup hash */
bool lt_entry_valid(const struct lt_snapshot *s, __u32 chain, __u32 index);

/* Names of values in the ABI; "unknown" for values it does not define */
const char *lt_hw_type_name(__u32 type);
const char *lt_pt_format_name(__u32 format);
/* "used,restored"; writes into @buf */
const char *lt_entry_flags_str(__u32 flags, char *buf, size_t len);
/* "DDDD:BB:DD.F"; writes into @buf (at least 13 bytes) */
const char *lt_pci_name(__u32 segment, __u16 bdf, char *buf, size_t len);

/*
 * @str for a terminal: control characters (and DEL) as \xNN, so that a
 * string read from a file or the kernel cannot drive the terminal; writes
 * into @buf, cut to fit
 */
const char *lt_text_safe(const char *str, char *buf, size_t len);

/* Problems kept with their text; more are counted */
#define LT_MAX_PROBLEMS		64
#define LT_PROBLEM_LEN		200

/* What became of a preserved device (a row of the matching table) */
enum lt_match_status {
	LT_MATCH_RESTORED,		/* matched at probe, domain restored */
	LT_MATCH_REFUSED,		/* the kernel refused the entry */
	LT_MATCH_ABSENT,		/* no PCI device at its address */
	LT_MATCH_NOT_RESTORED,		/* there, but its domain not restored */
	LT_MATCH_NOT_PRESERVED,		/* a device with no entry */
	LT_MATCH_UNKNOWN,		/* the dump is incomplete */
};

/* "restored", "not preserved", ... */
const char *lt_match_status_name(enum lt_match_status status);

/* One row of the matching table (incoming) */
struct lt_match_row {
	__u32 chain;			/* device, or a refused hw unit */
	int entry;			/* the entry's slot in its chain (its
					 * index, unless that field is damaged),
					 * which the kernel's refusals name;
					 * -1: no entry */
	char preserved[16];		/* the device entry's PCI address */
	const struct lt_pci_dev *pci;	/* the device present, or NULL */
	__u32 domain;
	__u64 token;			/* hw unit */
	enum lt_match_status status;
	const char *reason;
	const struct lt_refusal_rec *refusal;	/* the kernel's, or NULL */
};

/*
 * The state as lutrace understands it: what dump prints, check judges and
 * diff compares. Built from a snapshot, which must outlive it.
 */
struct lt_model {
	const struct lt_snapshot *s;
	const char *why;		/* why there is no state to show, or NULL */
	struct lt_entry *entries[LT_NR_CHAINS];	/* the used entries, chain order */
	size_t nr_entries[LT_NR_CHAINS];
	struct lt_match_row *rows;	/* incoming: the matching table */
	size_t nr_rows;
	int nr_problems;		/* every ABI rule the state breaks */
	char problems[LT_MAX_PROBLEMS][LT_PROBLEM_LEN];	/* the first ones */
	const char *problem_codes[LT_MAX_PROBLEMS];	/* "chain-loop", ... */
};

/* The hardware unit entry with index @index, or NULL */
const struct iommu_lu_hw_unit_ser *lt_model_hw_unit(const struct lt_model *m,
						    __u32 index);

/* 0 or -ENOMEM; lt_model_free() in both cases */
int lt_model_build(struct lt_model *m, const struct lt_snapshot *s);
void lt_model_free(struct lt_model *m);

/*
 * Prints the model as the dump does (text or JSON, the JSON with the
 * snapshot it was built from, so that lt_snapshot_load() can read it back).
 */
void lt_model_print(const struct lt_model *m, FILE *out, enum lt_format fmt);

/* Builds, prints and frees the model; the number of problems or -ENOMEM */
int lt_dump_print(const struct lt_snapshot *s, FILE *out, enum lt_format fmt);

/*
 * The version of the "snapshot" object in the dump's JSON. Format 2: the
 * state's object a boolean (no kernel address), the refusals the kernel
 * counted, what LUO received, walks cut short, this kernel's command line.
 * Format 1 is read too, without them.
 */
#define LT_SNAPSHOT_FORMAT	2

/*
 * Reads a dump's JSON (lutrace -j dump) back into @s. 0, or -1 with what
 * is wrong in @err.
 */
int lt_snapshot_load(struct lt_snapshot *s, const char *path, char *err,
		     size_t errlen);

#endif /* LUTRACE_DECODE_H */
