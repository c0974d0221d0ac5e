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
	e->pid = bpf_get_current_pid_tgid() >> 32;
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

SEC("tp_btf/iommu_lu_entry_alloc")
int BPF_PROG(entry_alloc, const char *chain, const struct iommu_lu_entry_hdr *hdr)
{
	return ev_entry(LT_EV_ENTRY_ALLOC, chain, hdr);
}

SEC("tp_btf/iommu_lu_entry_free")
int BPF_PROG(entry_free, const char *chain, const struct iommu_lu_entry_hdr *hdr)
{
	return ev_entry(LT_EV_ENTRY_FREE, chain, hdr);
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

SEC("tp_btf/iommu_lu_block_alloc")
int BPF_PROG(block_alloc, const char *chain, long nblocks)
{
	return ev_block(LT_EV_BLOCK_ALLOC, chain, nblocks);
}

SEC("tp_btf/iommu_lu_block_free")
int BPF_PROG(block_free, const char *chain, long nblocks)
{
	return ev_block(LT_EV_BLOCK_FREE, chain, nblocks);
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

SEC("tp_btf/iommu_lu_hw_unit_preserve")
int BPF_PROG(hw_unit_preserve, const struct iommu_lu_hw_unit_ser *ser, int ret)
{
	return ev_hw_unit(LT_EV_HW_UNIT_PRESERVE, ser, ret);
}

SEC("tp_btf/iommu_lu_hw_unit_unpreserve")
int BPF_PROG(hw_unit_unpreserve, const struct iommu_lu_hw_unit_ser *ser, int ret)
{
	return ev_hw_unit(LT_EV_HW_UNIT_UNPRESERVE, ser, ret);
}

SEC("tp_btf/iommu_lu_hw_unit_restore")
int BPF_PROG(hw_unit_restore, const struct iommu_lu_hw_unit_ser *ser, int ret)
{
	return ev_hw_unit(LT_EV_HW_UNIT_RESTORE, ser, ret);
}

static void ev_domain_fields(struct lt_event *e,
			     const struct iommu_lu_domain_ser *ser)
{
	e->index = BPF_CORE_READ(ser, hdr.index);
	e->refcount = BPF_CORE_READ(ser, hdr.refcount);
	e->flags = BPF_CORE_READ(ser, hdr.flags);
	e->a = BPF_CORE_READ(ser, format);
	e->b = BPF_CORE_READ(ser, levels);
	e->c = BPF_CORE_READ(ser, addr_width);
	e->x = BPF_CORE_READ(ser, top_table);
}

static int ev_domain(__u32 type, const struct iommu_lu_domain_ser *ser, int ret)
{
	struct lt_event *e = ev_new(type);

	if (!e)
		return 0;
	e->ret = ret;
	if (ser)
		ev_domain_fields(e, ser);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/iommu_lu_domain_preserve")
int BPF_PROG(domain_preserve, const struct iommu_lu_domain_ser *ser, int ret)
{
	return ev_domain(LT_EV_DOMAIN_PRESERVE, ser, ret);
}

SEC("tp_btf/iommu_lu_domain_unpreserve")
int BPF_PROG(domain_unpreserve, const struct iommu_lu_domain_ser *ser, int ret)
{
	return ev_domain(LT_EV_DOMAIN_UNPRESERVE, ser, ret);
}

SEC("tp_btf/iommu_lu_domain_restore")
int BPF_PROG(domain_restore, const struct iommu_lu_domain_ser *ser, int ret)
{
	return ev_domain(LT_EV_DOMAIN_RESTORE, ser, ret);
}

static int ev_pt(__u32 type, const struct iommu_lu_domain_ser *ser,
		 __u64 nr_tables, __u64 mapped, int ret)
{
	struct lt_event *e = ev_new(type);

	if (!e)
		return 0;
	e->ret = ret;
	if (ser)
		ev_domain_fields(e, ser);
	e->y = nr_tables;
	e->z = mapped;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/iommu_lu_pt_preserve")
int BPF_PROG(pt_preserve, const struct iommu_lu_domain_ser *ser, __u64 nr_tables,
	     __u64 mapped, int ret)
{
	return ev_pt(LT_EV_PT_PRESERVE, ser, nr_tables, mapped, ret);
}

SEC("tp_btf/iommu_lu_pt_unpreserve")
int BPF_PROG(pt_unpreserve, const struct iommu_lu_domain_ser *ser,
	     __u64 nr_tables, __u64 mapped, int ret)
{
	return ev_pt(LT_EV_PT_UNPRESERVE, ser, nr_tables, mapped, ret);
}

SEC("tp_btf/iommu_lu_pt_restore")
int BPF_PROG(pt_restore, const struct iommu_lu_domain_ser *ser, __u64 nr_tables,
	     __u64 mapped, int ret)
{
	return ev_pt(LT_EV_PT_RESTORE, ser, nr_tables, mapped, ret);
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

SEC("tp_btf/iommu_lu_device_preserve")
int BPF_PROG(device_preserve, struct device *dev,
	     const struct iommu_lu_device_ser *ser, int ret)
{
	return ev_device(LT_EV_DEVICE_PRESERVE, dev, ser, ret);
}

SEC("tp_btf/iommu_lu_device_unpreserve")
int BPF_PROG(device_unpreserve, struct device *dev,
	     const struct iommu_lu_device_ser *ser, int ret)
{
	return ev_device(LT_EV_DEVICE_UNPRESERVE, dev, ser, ret);
}

SEC("tp_btf/iommu_lu_device_restore")
int BPF_PROG(device_restore, struct device *dev,
	     const struct iommu_lu_device_ser *ser, int ret)
{
	return ev_device(LT_EV_DEVICE_RESTORE, dev, ser, ret);
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

SEC("tp_btf/iommu_lu_flb_preserve")
int BPF_PROG(flb_preserve, const struct iommu_lu_root_ser *root, int ret)
{
	return ev_flb(LT_EV_FLB_PRESERVE, root, ret);
}

SEC("tp_btf/iommu_lu_flb_unpreserve")
int BPF_PROG(flb_unpreserve, const struct iommu_lu_root_ser *root, int ret)
{
	return ev_flb(LT_EV_FLB_UNPRESERVE, root, ret);
}

SEC("tp_btf/iommu_lu_flb_retrieve")
int BPF_PROG(flb_retrieve, const struct iommu_lu_root_ser *root, int ret)
{
	return ev_flb(LT_EV_FLB_RETRIEVE, root, ret);
}

SEC("tp_btf/iommu_lu_flb_finish")
int BPF_PROG(flb_finish, const struct iommu_lu_root_ser *root, int ret)
{
	return ev_flb(LT_EV_FLB_FINISH, root, ret);
}
