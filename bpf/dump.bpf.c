// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace dump: read the IOMMU live update state from kernel memory.
 *
 * A syscall program, run once per dump through BPF_PROG_TEST_RUN. It finds
 * the state through the core's FLB (iommu_lu_flb), copies the root record
 * and every block of every chain, following the blocks' physical "next"
 * addresses as the next kernel does, into the ring buffer; for the incoming
 * state also the entries the restore lookup hashes hold and the refusals
 * the kernel recorded and whether LUO received any state from the previous
 * kernel, for the outgoing state the kernel loaded for the next kexec and
 * its command line. It decodes nothing: the tool does, with
 * the same code its tests use. Run with nr_mem set, it reads back only the
 * pieces of memory the tool asks for in lt_mem_req[] (the live context or
 * device table entries, to compare with what was recorded).
 *
 * Nothing here takes the state's lock: a dump taken while objects are being
 * preserved may see a half-made change. Reads use bpf_probe_read_kernel(),
 * so a bad address in a corrupt chain gives an error record, not a fault.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "lutrace.h"

char LICENSE[] SEC("license") = "GPL";

#define ENOENT 2
#define EAGAIN 11
#define ERANGE 34

/*
 * Room for the worst case: every chain at its block limit (3 * 1025 blocks
 * of 4 KiB) and the hashes; a dump that still does not fit says so.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024);
} records SEC(".maps");

/*
 * Typeless: the BTF of this kernel has no variables but per-CPU ones, so
 * libbpf finds these in /proc/kallsyms. Weak: without the feature the
 * address is 0 and the program says so instead of failing to load.
 */
extern const void iommu_lu_flb __ksym __weak;
extern const void page_offset_base __ksym __weak;
extern const void max_pfn __ksym __weak;
extern const void kexec_image __ksym __weak;
extern const void luo_flb_global __ksym __weak;

/* The compatible string of the IOMMU FLB, without its version */
static const char lt_iommu_flb[] = "iommu-lu-v";

/* Filled by the tool before a run with nr_mem set */
struct lt_mem_req lt_mem_req[LT_MEM_MAX];

/*
 * The refusals, as a kernel that records them lays them out (the field
 * names are what CO-RE matches; a kernel without them has no such fields,
 * and the program reads none).
 */
struct iommu_lu_refusal___lt {
	struct list_head node;
	__u32 chain;
	__u32 index;
	__u32 reason;
	__u32 concerns;
} __attribute__((preserve_access_index));

struct iommu_lu_state___lt {
	struct list_head refusals;
	__u32 nr_refusals;
	__u32 refusals_lost;
} __attribute__((preserve_access_index));

/*
 * A corrupt chain can name any address, and reading device memory could
 * have side effects: only physical addresses below max_pfn are read, as
 * kernel pointers into the direct map. That is the direct map's extent,
 * not a proof of RAM: the holes below max_pfn are mostly left unmapped (a
 * read there fails with an error, it touches nothing), but the direct map
 * covers the first MiB, legacy device memory included.
 */
struct ram {
	__u64 base;		/* start of the direct map */
	__u64 size;		/* its extent in bytes: max_pfn pages */
};

static bool ram_pa(const struct ram *ram, __u64 pa, __u64 len)
{
	return !(pa & (LT_BLOCK_SIZE - 1)) && pa < ram->size &&
	       len <= ram->size - pa;
}

/* A range of RAM that need not be page aligned */
static bool ram_range(const struct ram *ram, __u64 pa, __u64 len)
{
	return pa < ram->size && len <= ram->size - pa;
}

static bool ram_ptr(const struct ram *ram, __u64 va, __u64 len)
{
	return va >= ram->base && va - ram->base < ram->size &&
	       len <= ram->size - (va - ram->base);
}

/* One walk with bpf_loop: a chain's blocks, or a lookup hash's buckets */
struct walk {
	struct ram ram;
	__u64 addr;		/* chain: next block's pa (0: end); hash: heads;
				 * list: the next node */
	__u64 head;		/* list: its head, where the walk ends */
	__u32 chain;
	__u32 nr;		/* records submitted */
	__u32 lost;		/* records that did not fit */
	__u32 truncated;	/* hash buckets longer than LT_BUCKET_MAX */
};

static long read_block(__u32 i, void *data)
{
	struct walk *c = data;
	struct lt_block_rec *r;
	__u64 next = 0;

	if (!c->addr)
		return 1;
	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r) {
		c->lost++;
		return 1;
	}
	r->kind = LT_REC_BLOCK;
	r->chain = c->chain;
	r->seq = i;
	r->pa = c->addr;
	if (!ram_pa(&c->ram, c->addr, LT_BLOCK_SIZE)) {
		/* Not a page of RAM: recorded, not read, the walk stops */
		r->err = -ERANGE;
	} else {
		r->err = bpf_probe_read_kernel(r->data, sizeof(r->data),
					       (const void *)(c->ram.base + c->addr));
	}
	if (!r->err)
		next = ((struct kho_block_header_ser *)r->data)->next;
	bpf_ringbuf_submit(r, 0);
	c->nr++;
	c->addr = next;
	return 0;
}

static long read_bucket(__u32 i, void *data)
{
	struct walk *h = data;
	struct hlist_node *node = NULL;
	int j;

	bpf_probe_read_kernel(&node, sizeof(node),
			      (const void *)(h->addr + i * sizeof(struct hlist_head)));
	for (j = 0; j < LT_BUCKET_MAX && node; j++) {
		struct iommu_lu_match *m;
		struct lt_valid_rec *r;

		m = (void *)node - bpf_core_field_offset(struct iommu_lu_match, node);
		if (!ram_ptr(&h->ram, (__u64)m, bpf_core_type_size(struct iommu_lu_match)))
			return 1;
		r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
		if (!r) {
			h->lost++;
			return 1;
		}
		r->kind = LT_REC_VALID;
		r->chain = h->chain;
		r->index = BPF_CORE_READ(m, index);
		r->type = BPF_CORE_READ(m, type);
		r->key = BPF_CORE_READ(m, key);
		bpf_ringbuf_submit(r, 0);
		h->nr++;
		node = BPF_CORE_READ(node, next);
	}
	/* The kernel's buckets hold a few: a longer one is not read whole */
	if (node)
		h->truncated++;
	return 0;
}

/* One refusal of the list, oldest first */
static long read_refusal(__u32 i, void *data)
{
	struct walk *l = data;
	struct iommu_lu_refusal___lt *f;
	struct lt_refusal_rec *r;

	if (l->addr == l->head)
		return 1;
	f = (void *)l->addr -
	    bpf_core_field_offset(struct iommu_lu_refusal___lt, node);
	if (!ram_ptr(&l->ram, (__u64)f,
		     bpf_core_type_size(struct iommu_lu_refusal___lt)))
		return 1;
	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r) {
		l->lost++;
		return 1;
	}
	r->kind = LT_REC_REFUSAL;
	r->chain = BPF_CORE_READ(f, chain);
	r->index = BPF_CORE_READ(f, index);
	r->reason = BPF_CORE_READ(f, reason);
	r->concerns = BPF_CORE_READ(f, concerns);
	r->pad = 0;
	bpf_ringbuf_submit(r, 0);
	l->nr++;
	l->addr = (__u64)BPF_CORE_READ(f, node.next);
	return 0;
}

/* One piece of memory the tool asked for */
static long read_mem(__u32 i, void *data)
{
	struct walk *m = data;
	struct lt_mem_rec *r;
	__u64 pa;
	__u32 len;

	if (i >= LT_MEM_MAX)
		return 1;
	pa = lt_mem_req[i].pa;
	len = lt_mem_req[i].len;
	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r) {
		m->lost++;
		return 1;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->kind = LT_REC_MEM;
	r->pa = pa;
	r->len = len;
	if (len > LT_MEM_LEN || !ram_range(&m->ram, pa, len))
		r->err = -ERANGE;
	else
		r->err = bpf_probe_read_kernel(r->data, len,
					       (const void *)(m->ram.base + pa));
	bpf_ringbuf_submit(r, 0);
	m->nr++;
	return 0;
}

/* The kernel loaded for the next kexec, and its command line */
static void read_kexec(struct lt_dump_args *args)
{
	struct lt_kexec_rec *r;
	struct kimage *img = NULL;
	char *cmdline;
	long n;

	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r) {
		args->lost++;
		return;
	}
	/* Too big for a memset: @cmdline is valid up to cmdline_len */
	r->kind = LT_REC_KEXEC;
	r->err = 0;
	r->loaded = 0;
	r->file_mode = 0;
	r->have_cmdline = 0;
	r->cmdline_len = 0;
	if (!&kexec_image) {
		r->err = -ENOENT;
		goto out;
	}
	n = bpf_probe_read_kernel(&img, sizeof(img), &kexec_image);
	if (n < 0) {
		r->err = n;
		goto out;
	}
	if (!img)
		goto out;
	r->loaded = 1;
	r->file_mode = BPF_CORE_READ_BITFIELD_PROBED(img, file_mode);
	cmdline = BPF_CORE_READ(img, cmdline_buf);
	if (!cmdline)
		goto out;
	n = bpf_probe_read_kernel_str(r->cmdline, sizeof(r->cmdline), cmdline);
	if (n < 0) {
		r->err = n;
	} else {
		r->have_cmdline = 1;
		r->cmdline_len = n;
	}
out:
	bpf_ringbuf_submit(r, 0);
	args->nr_records++;
}

static void walk(struct lt_dump_args *args, const struct ram *ram,
		 __u64 addr, __u32 chain, __u32 steps,
		 long (*step)(__u32 i, void *data))
{
	struct walk w = {};

	w.ram = *ram;
	w.addr = addr;
	w.head = addr;
	w.chain = chain;
	bpf_loop(steps, step, &w, 0);
	args->nr_records += w.nr;
	args->lost += w.lost;
	args->truncated += w.truncated;
}

/* A list_head's entries: from its first node back to the head itself */
static void walk_list(struct lt_dump_args *args, const struct ram *ram,
		      __u64 head, __u32 steps, long (*step)(__u32 i, void *data))
{
	struct walk w = {};

	if (!ram_ptr(ram, head, sizeof(struct list_head)))
		return;
	w.ram = *ram;
	w.head = head;
	w.addr = (__u64)BPF_CORE_READ((struct list_head *)head, next);
	bpf_loop(steps, step, &w, 0);
	args->nr_records += w.nr;
	args->lost += w.lost;
}

/* One FLB LUO received: is it the IOMMU's? */
struct flb_scan {
	__u64 ser;		/* the array of struct luo_flb_ser */
	__u32 nr;
	__u32 found;
};

static long scan_flb(__u32 i, void *data)
{
	struct flb_scan *f = data;
	char name[sizeof(lt_iommu_flb)];
	__u64 addr;

	if (i >= f->nr)
		return 1;
	addr = f->ser + i * bpf_core_type_size(struct luo_flb_ser) +
	       bpf_core_field_offset(struct luo_flb_ser, name);
	if (bpf_probe_read_kernel(name, sizeof(name), (const void *)addr))
		return 1;
	if (!bpf_strncmp(name, sizeof(lt_iommu_flb) - 1, lt_iommu_flb)) {
		f->found = 1;
		return 1;
	}
	return 0;
}

/* What LUO received from the previous kernel: LT_HANDOVER_* */
static __u32 read_handover(void)
{
	struct luo_flb_global *g = (struct luo_flb_global *)&luo_flb_global;
	struct luo_flb_header_ser *hdr;
	struct flb_scan f = {};

	if (!g)
		return LT_HANDOVER_UNKNOWN;
	hdr = BPF_CORE_READ(g, incoming.header_ser);
	if (!BPF_CORE_READ(g, incoming.active) || !hdr)
		return LT_HANDOVER_NONE;
	f.nr = BPF_CORE_READ(hdr, count);
	f.ser = (__u64)BPF_CORE_READ(g, incoming.ser);
	if (!f.nr)
		return LT_HANDOVER_NONE;
	bpf_loop(LT_MAX_FLBS, scan_flb, &f, 0);
	return f.found ? LT_HANDOVER_IOMMU : LT_HANDOVER_OTHER;
}

SEC("syscall")
int dump(struct lt_dump_args *args)
{
	struct liveupdate_flb *flb = (struct liveupdate_flb *)&iommu_lu_flb;
	struct luo_flb_private_state *ps;
	struct iommu_lu_root_ser *root;
	struct iommu_lu_state *st;
	struct lt_state_rec *r;
	__u64 chains[LT_NR_CHAINS] = {};
	__u64 pages = 0, st_addr, root_pa;
	struct ram ram = {};
	int i;

	args->nr_records = 0;
	args->lost = 0;
	args->truncated = 0;
	if (!flb) {
		args->err = -ENOENT;
		return 0;
	}
	if (!&page_offset_base || !&max_pfn) {
		args->err = -ERANGE;
		return 0;
	}
	args->err = 0;
	bpf_probe_read_kernel(&ram.base, sizeof(ram.base), &page_offset_base);
	bpf_probe_read_kernel(&pages, sizeof(pages), &max_pfn);
	ram.size = pages * LT_BLOCK_SIZE;
	if (args->nr_mem) {
		walk(args, &ram, 0, 0, args->nr_mem < LT_MEM_MAX ?
		     args->nr_mem : LT_MEM_MAX, read_mem);
		return 0;
	}

	if (args->incoming)
		ps = &flb->private.incoming;
	else
		ps = &flb->private.outgoing;

	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r) {
		args->lost++;
		return 0;
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->kind = LT_REC_STATE;
	r->incoming = args->incoming;
	st = BPF_CORE_READ(ps, obj);
	r->obj = (__u64)st;
	r->root_pa = BPF_CORE_READ(ps, data);
	r->count = BPF_CORE_READ(ps, count.refs.counter);
	r->retrieve_status = BPF_CORE_READ(ps, retrieve_status);
	r->finished = BPF_CORE_READ(ps, finished);
	if (args->incoming)
		r->handover = read_handover();
	if (st) {
		root = BPF_CORE_READ(st, root);
		if (root && !ram_ptr(&ram, (__u64)root, LT_ROOT_SIZE)) {
			r->root_err = -ERANGE;
		} else if (root) {
			r->root_err = bpf_probe_read_kernel(r->root,
							    sizeof(r->root),
							    root);
			r->have_root = !r->root_err;
		}
		r->nr_used[0] = BPF_CORE_READ(st, chain[0].nr_used);
		r->nr_used[1] = BPF_CORE_READ(st, chain[1].nr_used);
		r->nr_used[2] = BPF_CORE_READ(st, chain[2].nr_used);
		r->refused[0] = BPF_CORE_READ(st, chain[0].refused);
		r->refused[1] = BPF_CORE_READ(st, chain[1].refused);
		r->refused[2] = BPF_CORE_READ(st, chain[2].refused);
		if (bpf_core_field_exists(struct iommu_lu_state___lt, refusals)) {
			r->has_refusals = 1;
			r->refusals_lost = BPF_CORE_READ((struct iommu_lu_state___lt *)st,
							 refusals_lost);
			r->nr_refusals = BPF_CORE_READ((struct iommu_lu_state___lt *)st,
						       nr_refusals);
		}
		if (r->have_root)
			for (i = 0; i < LT_NR_CHAINS; i++)
				chains[i] = ((struct iommu_lu_root_ser *)r->root)->chain[i];
	}
	root_pa = r->root_pa;
	bpf_ringbuf_submit(r, 0);
	args->nr_records++;
	if (!args->incoming)
		read_kexec(args);
	if (!st)
		return 0;

	/* The hashes first: small, and what the validity verdicts rest on */
	if (args->incoming) {
		st_addr = (__u64)st;
		/* Sized by the kernel from the number of devices */
		walk(args, &ram, (__u64)BPF_CORE_READ(st, dev_hash),
		     LT_CHAIN_DEVICE,
		     1U << (BPF_CORE_READ(st, dev_hash_bits) & 31),
		     read_bucket);
		walk(args, &ram, st_addr +
		     bpf_core_field_offset(struct iommu_lu_state, hw_hash),
		     LT_CHAIN_HW_UNIT,
		     bpf_core_field_size(struct iommu_lu_state, hw_hash) /
		     sizeof(struct hlist_head), read_bucket);
		if (bpf_core_field_exists(struct iommu_lu_state___lt, refusals)) {
			st_addr += bpf_core_field_offset(struct iommu_lu_state___lt,
							 refusals);
			walk_list(args, &ram, st_addr, LT_MAX_REFUSALS,
				  read_refusal);
		}
	}
	for (i = 0; i < LT_NR_CHAINS; i++)
		walk(args, &ram, chains[i], i, LT_MAX_BLOCKS, read_block);

	/*
	 * The kernel frees a state before it forgets it: if the state
	 * changed hands meanwhile, what was read may be freed memory. The
	 * tool runs the dump again.
	 */
	if (BPF_CORE_READ(ps, obj) != st || BPF_CORE_READ(ps, data) != root_pa)
		args->err = -EAGAIN;
	return 0;
}
