/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lutrace: the records the BPF programs hand to user space. Shared by the
 * BPF objects (built against vmlinux.h) and the tool (built against the
 * uapi <linux/types.h>), so fixed-width types only, and no padding that the
 * two compilers could lay out differently.
 */
#ifndef LUTRACE_BPF_H
#define LUTRACE_BPF_H

/* Number of chains in the IOMMU live update state (IOMMU_LU_NR_CHAINS) */
#define LT_NR_CHAINS		3
/* IOMMU_LU_CHAIN_*; the tool checks that they agree with the ABI header */
#define LT_CHAIN_HW_UNIT	0
#define LT_CHAIN_DOMAIN		1
#define LT_CHAIN_DEVICE		2
/* A KHO serialization block (KHO_BLOCK_SIZE on x86-64) */
#define LT_BLOCK_SIZE		4096
/* Blocks read per chain before giving up (the kernel's limit is 1024) */
#define LT_MAX_BLOCKS		1025
/* Size of the root record (struct iommu_lu_root_ser) */
#define LT_ROOT_SIZE		64
#define LT_NAME_LEN		32

/* dump: record kinds in the ring buffer */
#define LT_REC_STATE		1
#define LT_REC_BLOCK		2
#define LT_REC_VALID		3
#define LT_REC_REFUSAL		4
#define LT_REC_KEXEC		5
#define LT_REC_MEM		6

/* dump: kernel memory read back on request (lt_mem_req), at most */
#define LT_MEM_MAX		256
#define LT_MEM_LEN		64
/* dump: refusals followed, at most (the kernel records one per object) */
#define LT_MAX_REFUSALS		4096
/* dump: bytes of the loaded kexec image's command line read, at most */
#define LT_CMDLINE_LEN		2048
/* dump: entries of one restore lookup hash bucket followed, at most */
#define LT_BUCKET_MAX		64
/* dump: FLBs LUO received from the previous kernel searched, at most */
#define LT_MAX_FLBS		64

/* dump, incoming: what LUO received from the previous kernel */
#define LT_HANDOVER_UNKNOWN	0	/* not read (luo_flb_global not found) */
#define LT_HANDOVER_NONE	1	/* no FLB at all: not a live update */
#define LT_HANDOVER_OTHER	2	/* FLBs, but no IOMMU one */
#define LT_HANDOVER_IOMMU	3	/* an iommu-lu-v* FLB */

/* dump: the syscall program's context, in and out */
struct lt_dump_args {
	__u32 incoming;		/* in: 1 = incoming state, 0 = outgoing */
	__s32 err;		/* out: 0, or -ENOENT without the feature */
	__u32 nr_records;	/* out: records submitted */
	__u32 lost;		/* out: records that did not fit */
	__u32 nr_mem;		/* in: 0 = read the state; else read only the
				 * first nr_mem requests of lt_mem_req[] */
	__u32 truncated;	/* out: hash buckets not followed to their end
				 * (longer than LT_BUCKET_MAX) */
};

/* dump: one piece of kernel memory to read back, by physical address */
struct lt_mem_req {
	__u64 pa;
	__u32 len;		/* at most LT_MEM_LEN */
	__u32 pad;
};

/* The FLB's state in one direction, and the root record */
struct lt_state_rec {
	__u32 kind;		/* LT_REC_STATE */
	__u32 incoming;
	__u64 obj;		/* struct iommu_lu_state *, 0: no state */
	__u64 root_pa;		/* the FLB handle: physical address of the root */
	__s32 count;		/* preserved files depending on the FLB */
	__s32 retrieve_status;	/* incoming: 0 not tried, 1 done, <0 error */
	__u32 finished;		/* incoming: the FLB was finished */
	__u32 have_root;	/* the state has a root record (read into @root) */
	__s32 root_err;		/* error reading the root record */
	__u32 has_refusals;	/* incoming: the kernel records refusals */
	__u32 nr_used[LT_NR_CHAINS];	/* entries in use (incoming: valid) */
	__u32 refused[LT_NR_CHAINS];	/* incoming: the chain was refused */
	__u32 refusals_lost;	/* incoming: refusals the kernel could not record */
	__u32 nr_refusals;	/* incoming: refusals the kernel recorded */
	__u32 handover;		/* incoming: LT_HANDOVER_* */
	__u32 pad;
	__u8 root[LT_ROOT_SIZE];	/* struct iommu_lu_root_ser */
};

/* One block of a chain, as the kernel's memory holds it */
struct lt_block_rec {
	__u32 kind;		/* LT_REC_BLOCK */
	__u32 chain;		/* IOMMU_LU_CHAIN_* */
	__u32 seq;		/* position in the chain, 0 first */
	__s32 err;		/* error reading the block; @data is then undefined:
				 * -ERANGE: not a page of RAM, not read */
	__u64 pa;		/* physical address */
	__u8 data[LT_BLOCK_SIZE];
};

/* Incoming: an entry in the restore lookup hash (valid, matchable) */
struct lt_valid_rec {
	__u32 kind;		/* LT_REC_VALID */
	__u32 chain;		/* IOMMU_LU_CHAIN_DEVICE or _HW_UNIT */
	__u32 index;
	__u32 type;		/* hw unit type */
	__u64 key;		/* segment << 16 | bdf, or the hw unit token */
};

/* Incoming: one refusal the kernel recorded (struct iommu_lu_refusal) */
struct lt_refusal_rec {
	__u32 kind;		/* LT_REC_REFUSAL */
	__u32 chain;		/* IOMMU_LU_CHAIN_*, LT_NR_CHAINS: the state */
	__u32 index;		/* the entry, LT_REFUSED_ALL: the whole chain */
	__u32 reason;		/* enum iommu_lu_reason of the running kernel */
	__u32 concerns;		/* what the reason names, LT_REFUSED_NONE: none */
	__u32 pad;
};
#define LT_REFUSED_ALL		0xffffffffU
#define LT_REFUSED_NONE		0xffffffffU

/* Outgoing: the kernel loaded for the next kexec (kexec_image) */
struct lt_kexec_rec {
	__u32 kind;		/* LT_REC_KEXEC */
	__s32 err;		/* -ENOENT: kexec_image is not in kallsyms;
				 * other: reading kexec_image or the command
				 * line failed */
	__u32 loaded;		/* an image is loaded */
	__u32 file_mode;	/* loaded with kexec_file_load() */
	__u32 have_cmdline;	/* the kernel kept its command line */
	__u32 cmdline_len;	/* bytes in @cmdline, the NUL included;
				 * LT_CMDLINE_LEN: it may have been cut */
	char cmdline[LT_CMDLINE_LEN];
};

/* Kernel memory read back on request (lt_mem_req) */
struct lt_mem_rec {
	__u32 kind;		/* LT_REC_MEM */
	__s32 err;		/* -ERANGE: not RAM, not read */
	__u32 len;
	__u32 pad;
	__u64 pa;
	__u8 data[LT_MEM_LEN];
};

/* trace: event types, in the order of lt_event_names[] in the tool */
enum lt_event_type {
	LT_EV_ENTRY_ALLOC = 1,
	LT_EV_ENTRY_FREE,
	LT_EV_BLOCK_ALLOC,
	LT_EV_BLOCK_FREE,
	LT_EV_HW_UNIT_PRESERVE,
	LT_EV_HW_UNIT_UNPRESERVE,
	LT_EV_HW_UNIT_RESTORE,
	LT_EV_DOMAIN_PRESERVE,
	LT_EV_DOMAIN_UNPRESERVE,
	LT_EV_DOMAIN_RESTORE,
	LT_EV_PT_PRESERVE,
	LT_EV_PT_UNPRESERVE,
	LT_EV_PT_RESTORE,
	LT_EV_DEVICE_PRESERVE,
	LT_EV_DEVICE_UNPRESERVE,
	LT_EV_DEVICE_RESTORE,
	LT_EV_MATCH_HIT,
	LT_EV_MATCH_MISS,
	LT_EV_FLB_PRESERVE,
	LT_EV_FLB_UNPRESERVE,
	LT_EV_FLB_RETRIEVE,
	LT_EV_FLB_FINISH,
	LT_EV_MAX
};

/*
 * One traced event. Which fields mean what depends on the event's class;
 * the tool's event table says it (tools/lutrace/events.c).
 */
struct lt_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 type;		/* LT_EV_* */
	__u32 cpu;
	__u32 pid;		/* thread id */
	__s32 ret;
	__u32 index;
	__u32 refcount;
	__u32 flags;
	__u32 a;		/* type, format, domain, segment, nr hw units */
	__u32 b;		/* levels, hw_unit, bdf, nr domains */
	__u32 c;		/* addr_width, nr devices */
	__u64 x;		/* token, top table, root pa, blocks */
	__u64 y;		/* table pages */
	__u64 z;		/* mapped bytes */
	char name[LT_NAME_LEN];	/* chain or device name */
	char comm[16];
};

/* latency: operations and object types */
#define LT_OP_PRESERVE		0
#define LT_OP_UNPRESERVE	1
#define LT_OP_RESTORE		2
#define LT_NR_OPS		3

#define LT_OBJ_FLB		0	/* the whole state (LUO FLB) */
#define LT_OBJ_IOMMUFD		1	/* an iommufd file (LUO handler) */
#define LT_OBJ_VFIO		2	/* a VFIO device file (LUO handler) */
#define LT_OBJ_DOMAIN		3	/* a domain and its page table */
#define LT_OBJ_DEVICE		4	/* a device attachment */
#define LT_OBJ_HW_UNIT		5	/* an IOMMU hardware unit */
#define LT_NR_OBJS		6

/* log2 slots of microseconds: slot n counts [2^n, 2^(n+1)) us, 0 is < 2 */
#define LT_HIST_SLOTS		27

/* One histogram per (op, object) in an array map, indexed op * NR_OBJS + obj */
struct lt_hist {
	__u64 slots[LT_HIST_SLOTS];
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
};

/* timeline: size of a timeline ring with its header (IOMMU_LU_TL_SIZE) */
#define LT_TL_SIZE		65536

/*
 * timeline: the syscall program's context, out only. The blobs themselves
 * are too big for a context: the program copies them into lt_tl_in[] and
 * lt_tl_self[] in its .bss, which the tool reads through the skeleton.
 */
struct lt_tl_args {
	__s32 err;		/* 0, or -ENOENT: iommu_lu_tl_self is not in
				 * kallsyms (no timeline in this kernel) */
	__s32 in_status;	/* iommu_lu_tl_in_status: 0 nothing handed
				 * over, 1 accepted, -errno refused */
	__u32 have_in;		/* iommu_lu_tl_in was set: lt_tl_in[] read */
	__s32 in_err;		/* error reading it, or -ENODATA: not set */
	__s32 self_err;		/* error reading lt_tl_self[], or -ENODATA:
				 * iommu_lu_tl_self is NULL */
	__u32 khz;		/* tsc_khz; 0: not known (not x86) */
};

#endif /* LUTRACE_BPF_H */
