// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace latency: time each preserve, unpreserve and restore operation of
 * the IOMMU live update, per object type, into log2 histograms.
 *
 * A kprobe at the entry of the function that does the operation stores the
 * time per thread and operation; its kretprobe adds the difference to the
 * histogram. Kprobes, not fentry/fexit: they need no ftrace in the kernel.
 * The tool attaches each pair by name and skips a function the running
 * kernel does not have: each IOMMU driver's functions are optional, a kernel
 * without the VT-d or the AMD-Vi driver has none of them.
 *
 * What runs at boot (a unit's adoption by its driver at init, the domain
 * restore at device probe) is over before user space can attach anything;
 * only iommu_lu_restore_domain() can also run later, for a device probed
 * after boot. The restore side that user space drives is the retrieve of
 * the iommufd and VFIO files.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "lutrace.h"

char LICENSE[] SEC("license") = "GPL";

struct start_key {
	__u32 tid;
	__u32 op_obj;		/* op * LT_NR_OBJS + obj */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct start_key);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, LT_NR_OPS * LT_NR_OBJS);
	__type(key, __u32);
	__type(value, struct lt_hist);
} hists SEC(".maps");

static int lat_begin(__u32 op, __u32 obj)
{
	struct start_key k = {
		.tid = (__u32)bpf_get_current_pid_tgid(),
		.op_obj = op * LT_NR_OBJS + obj,
	};
	__u64 ts = bpf_ktime_get_ns();

	bpf_map_update_elem(&start, &k, &ts, BPF_ANY);
	return 0;
}

static __u32 log2_u64(__u64 v)
{
	__u32 r = 0;
	int i;

	for (i = 0; i < 64 && v > 1; i++) {
		v >>= 1;
		r++;
	}
	return r;
}

static int lat_end(__u32 op, __u32 obj)
{
	struct start_key k = {
		.tid = (__u32)bpf_get_current_pid_tgid(),
		.op_obj = op * LT_NR_OBJS + obj,
	};
	struct lt_hist *h;
	__u64 *tsp, delta;
	__u32 slot;
	int i;

	tsp = bpf_map_lookup_elem(&start, &k);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&start, &k);
	h = bpf_map_lookup_elem(&hists, &k.op_obj);
	if (!h)
		return 0;
	slot = log2_u64(delta / 1000);
	if (slot >= LT_HIST_SLOTS)
		slot = LT_HIST_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->total_ns, delta);
	for (i = 0; i < 8; i++) {
		__u64 max = h->max_ns;

		if (delta <= max ||
		    __sync_val_compare_and_swap(&h->max_ns, max, delta) == max)
			break;
	}
	return 0;
}

/*
 * One kprobe/kretprobe pair per function. The section names carry the
 * function; the tool reads them to attach (tools/lutrace/latency.c).
 */
#define LT_LATENCY(fn, op, obj)					\
SEC("kprobe/" #fn)						\
int BPF_KPROBE(fn##_enter)					\
{								\
	return lat_begin(op, obj);				\
}								\
SEC("kretprobe/" #fn)						\
int BPF_KRETPROBE(fn##_exit)					\
{								\
	return lat_end(op, obj);				\
}

LT_LATENCY(iommu_lu_flb_preserve, LT_OP_PRESERVE, LT_OBJ_FLB)
LT_LATENCY(iommufd_lu_preserve, LT_OP_PRESERVE, LT_OBJ_IOMMUFD)
LT_LATENCY(vfio_lu_preserve, LT_OP_PRESERVE, LT_OBJ_VFIO)
LT_LATENCY(iommu_domain_lu_preserve, LT_OP_PRESERVE, LT_OBJ_DOMAIN)
LT_LATENCY(iommu_device_lu_preserve, LT_OP_PRESERVE, LT_OBJ_DEVICE)
LT_LATENCY(intel_iommu_lu_preserve_hw_unit, LT_OP_PRESERVE, LT_OBJ_HW_UNIT)
LT_LATENCY(amd_iommu_lu_preserve_hw_unit, LT_OP_PRESERVE, LT_OBJ_HW_UNIT)

LT_LATENCY(iommu_lu_flb_unpreserve, LT_OP_UNPRESERVE, LT_OBJ_FLB)
LT_LATENCY(iommufd_lu_unpreserve, LT_OP_UNPRESERVE, LT_OBJ_IOMMUFD)
LT_LATENCY(vfio_lu_unpreserve, LT_OP_UNPRESERVE, LT_OBJ_VFIO)
LT_LATENCY(iommu_domain_lu_unpreserve, LT_OP_UNPRESERVE, LT_OBJ_DOMAIN)
LT_LATENCY(iommu_device_lu_unpreserve, LT_OP_UNPRESERVE, LT_OBJ_DEVICE)
LT_LATENCY(intel_iommu_lu_unpreserve_hw_unit, LT_OP_UNPRESERVE, LT_OBJ_HW_UNIT)
LT_LATENCY(amd_iommu_lu_unpreserve_hw_unit, LT_OP_UNPRESERVE, LT_OBJ_HW_UNIT)

LT_LATENCY(iommu_lu_flb_retrieve, LT_OP_RESTORE, LT_OBJ_FLB)
LT_LATENCY(iommufd_lu_retrieve, LT_OP_RESTORE, LT_OBJ_IOMMUFD)
LT_LATENCY(vfio_lu_retrieve, LT_OP_RESTORE, LT_OBJ_VFIO)
LT_LATENCY(iommu_lu_restore_domain, LT_OP_RESTORE, LT_OBJ_DOMAIN)
