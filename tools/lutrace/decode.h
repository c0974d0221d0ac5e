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

/* A PCI device of the running kernel, for the matching table */
struct lt_pci_dev {
	__u32 segment;
	__u16 bdf;		/* bus << 8 | devfn */
	bool iommu;		/* in an IOMMU group */
	char driver[32];	/* bound driver, "" if none */
};

/* Everything one dump read, in the order it came */
struct lt_snapshot {
	bool incoming;
	int err;			/* the dump program's error */
	__u32 lost;			/* records that did not fit */
	bool have_state;		/* the state record arrived */
	struct lt_state_rec state;
	struct lt_block_rec *blocks;
	size_t nr_blocks;
	struct lt_valid_rec *valid;
	size_t nr_valid;
	struct lt_pci_dev *pci;		/* incoming: the PCI devices present */
	size_t nr_pci;
};

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

/* Prints the whole dump; returns the number of problems found */
int lt_dump_print(const struct lt_snapshot *s, FILE *out, enum lt_format fmt);

#endif /* LUTRACE_DECODE_H */
