// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace trace: every iommu_lu tracepoint, one record per event in a ring
 * buffer. BTF-typed tracepoints (tp_btf): the programs read the serialized
 * entries the events pass, with the ABI's types, through CO-RE.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "lutrace.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

/* Events that did not fit in the ring buffer */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

extern const void page_offset_base __ksym __weak;

static struct lt_event *ev_new(__u32 type)
{
	struct lt_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	__u32 zero = 0;

	if (!e) {
		__u64 *n = bpf_map_lookup_elem(&lost, &zero);

		if (n)
			__sync_fetch_and_add(n, 1);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->type = type;
	e->cpu = bpf_get_smp_processor_id();
	/* The thread, as the kernel's own trace shows it */
	e->pid = (__u32)bpf_get_current_pid_tgid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

static void ev_dev_name(struct lt_event *e, struct device *dev)
{
	const char *name = BPF_CORE_READ(dev, kobj.name);

	bpf_probe_read_kernel_str(e->name, sizeof(e->name), name);
}

static int ev_entry(__u32 type, const char *chain,
		    const struct iommu_lu_entry_hdr *hdr)
{
	struct lt_event *e = ev_new(type);

	if (!e)
		return 0;
	bpf_probe_read_kernel_str(e->name, sizeof(e->name), chain);
	e->index = BPF_CORE_READ(hdr, index);
	e->refcount = BPF_CORE_READ(hdr, refcount);
	e->flags = BPF_CORE_READ(hdr, flags);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static int ev_block(__u32 type, const char *chain, long nblocks)
{
	struct lt_event *e = ev_new(type);

	if (!e)
		return 0;
	bpf_probe_read_kernel_str(e->name, sizeof(e->name), chain);
	e->x = nblocks;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static int ev_hw_unit(__u32 type, const struct iommu_lu_hw_unit_ser *ser,
		      int ret)
{
	struct lt_event *e = ev_new(type);

	if (!e)
		return 0;
	e->ret = ret;
	if (ser) {
		e->index = BPF_CORE_READ(ser, hdr.index);
		e->refcount = BPF_CORE_READ(ser, hdr.refcount);
		e->flags = BPF_CORE_READ(ser, hdr.flags);
		e->a = BPF_CORE_READ(ser, type);
		e->x = BPF_CORE_READ(ser, token);
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static int ev_pt(__u32 type, const struct iommu_lu_domain_ser *ser,
		 __u64 nr_tables, __u64 mapped, int ret)
{
	struct lt_event *e = ev_new(type);

	if (!e)
		return 0;
	e->ret = ret;
	if (ser) {
		e->index = BPF_CORE_READ(ser, hdr.index);
		e->refcount = BPF_CORE_READ(ser, hdr.refcount);
		e->flags = BPF_CORE_READ(ser, hdr.flags);
		e->a = BPF_CORE_READ(ser, format);
		e->b = BPF_CORE_READ(ser, levels);
		e->c = BPF_CORE_READ(ser, addr_width);
		e->x = BPF_CORE_READ(ser, top_table);
	}
	e->y = nr_tables;
	e->z = mapped;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* A domain event is a page table event without the table's figures */
static int ev_domain(__u32 type, const struct iommu_lu_domain_ser *ser, int ret)
{
	return ev_pt(type, ser, 0, 0, ret);
}

static int ev_device(__u32 type, struct device *dev,
		     const struct iommu_lu_device_ser *ser, int ret)
{
	struct lt_event *e = ev_new(type);

	if (!e)
		return 0;
	e->ret = ret;
	ev_dev_name(e, dev);
	if (ser) {
		e->index = BPF_CORE_READ(ser, hdr.index);
		e->refcount = BPF_CORE_READ(ser, hdr.refcount);
		e->flags = BPF_CORE_READ(ser, hdr.flags);
		e->a = BPF_CORE_READ(ser, domain);
		e->b = BPF_CORE_READ(ser, hw_unit);
		e->x = BPF_CORE_READ(ser, token);
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/iommu_lu_match_hit")
int BPF_PROG(match_hit, struct device *dev, const struct iommu_lu_device_ser *ser)
{
	return ev_device(LT_EV_MATCH_HIT, dev, ser, 0);
}

SEC("tp_btf/iommu_lu_match_miss")
int BPF_PROG(match_miss, struct device *dev, __u32 segment, __u16 bdf)
{
	struct lt_event *e = ev_new(LT_EV_MATCH_MISS);

	if (!e)
		return 0;
	ev_dev_name(e, dev);
	e->a = segment;
	e->b = bdf;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static int ev_flb(__u32 type, const struct iommu_lu_root_ser *root, int ret)
{
	struct lt_event *e = ev_new(type);

	if (!e)
		return 0;
	e->ret = ret;
	if (root) {
		const void *ptr = root;
		__u64 base = 0, va = 0;

		/*
		 * The root is in the direct map: its physical address is its
		 * address minus the map's start. The verifier allows no
		 * arithmetic on a trusted pointer, so read the address as a
		 * number first.
		 */
		bpf_probe_read_kernel(&base, sizeof(base), &page_offset_base);
		bpf_probe_read_kernel(&va, sizeof(va), &ptr);
		e->x = base && va > base ? va - base : 0;
		e->a = BPF_CORE_READ(root, nr_entries[0]);
		e->b = BPF_CORE_READ(root, nr_entries[1]);
		e->c = BPF_CORE_READ(root, nr_entries[2]);
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/*
 * One program per event: the events of a class share a prototype and a
 * handler above.
 */
#define LT_EVENT(event, TYPE, handler, proto, ...)	\
SEC("tp_btf/iommu_lu_" #event)				\
int BPF_PROG(event, proto)				\
{							\
	return handler(TYPE, __VA_ARGS__);		\
}

#define LT_ARGS(...) __VA_ARGS__

LT_EVENT(entry_alloc, LT_EV_ENTRY_ALLOC, ev_entry,
	 LT_ARGS(const char *chain, const struct iommu_lu_entry_hdr *hdr), chain, hdr)
LT_EVENT(entry_free, LT_EV_ENTRY_FREE, ev_entry,
	 LT_ARGS(const char *chain, const struct iommu_lu_entry_hdr *hdr), chain, hdr)
LT_EVENT(block_alloc, LT_EV_BLOCK_ALLOC, ev_block,
	 LT_ARGS(const char *chain, long nblocks), chain, nblocks)
LT_EVENT(block_free, LT_EV_BLOCK_FREE, ev_block,
	 LT_ARGS(const char *chain, long nblocks), chain, nblocks)

#define LT_HW_UNIT_ARGS	LT_ARGS(const struct iommu_lu_hw_unit_ser *ser, int ret)
LT_EVENT(hw_unit_preserve, LT_EV_HW_UNIT_PRESERVE, ev_hw_unit, LT_HW_UNIT_ARGS, ser, ret)
LT_EVENT(hw_unit_unpreserve, LT_EV_HW_UNIT_UNPRESERVE, ev_hw_unit, LT_HW_UNIT_ARGS, ser, ret)
LT_EVENT(hw_unit_restore, LT_EV_HW_UNIT_RESTORE, ev_hw_unit, LT_HW_UNIT_ARGS, ser, ret)

#define LT_DOMAIN_ARGS	LT_ARGS(const struct iommu_lu_domain_ser *ser, int ret)
LT_EVENT(domain_preserve, LT_EV_DOMAIN_PRESERVE, ev_domain, LT_DOMAIN_ARGS, ser, ret)
LT_EVENT(domain_unpreserve, LT_EV_DOMAIN_UNPRESERVE, ev_domain, LT_DOMAIN_ARGS, ser, ret)
LT_EVENT(domain_restore, LT_EV_DOMAIN_RESTORE, ev_domain, LT_DOMAIN_ARGS, ser, ret)

#define LT_PT_ARGS	LT_ARGS(const struct iommu_lu_domain_ser *ser, __u64 nr_tables, \
				__u64 mapped, int ret)
LT_EVENT(pt_preserve, LT_EV_PT_PRESERVE, ev_pt, LT_PT_ARGS, ser, nr_tables, mapped, ret)
LT_EVENT(pt_unpreserve, LT_EV_PT_UNPRESERVE, ev_pt, LT_PT_ARGS, ser, nr_tables, mapped, ret)
LT_EVENT(pt_restore, LT_EV_PT_RESTORE, ev_pt, LT_PT_ARGS, ser, nr_tables, mapped, ret)

#define LT_DEVICE_ARGS	LT_ARGS(struct device *dev, const struct iommu_lu_device_ser *ser, \
				int ret)
LT_EVENT(device_preserve, LT_EV_DEVICE_PRESERVE, ev_device, LT_DEVICE_ARGS, dev, ser, ret)
LT_EVENT(device_unpreserve, LT_EV_DEVICE_UNPRESERVE, ev_device, LT_DEVICE_ARGS, dev, ser, ret)
LT_EVENT(device_restore, LT_EV_DEVICE_RESTORE, ev_device, LT_DEVICE_ARGS, dev, ser, ret)

#define LT_FLB_ARGS	LT_ARGS(const struct iommu_lu_root_ser *root, int ret)
LT_EVENT(flb_preserve, LT_EV_FLB_PRESERVE, ev_flb, LT_FLB_ARGS, root, ret)
LT_EVENT(flb_unpreserve, LT_EV_FLB_UNPRESERVE, ev_flb, LT_FLB_ARGS, root, ret)
LT_EVENT(flb_retrieve, LT_EV_FLB_RETRIEVE, ev_flb, LT_FLB_ARGS, root, ret)
LT_EVENT(flb_finish, LT_EV_FLB_FINISH, ev_flb, LT_FLB_ARGS, root, ret)
