// SPDX-License-Identifier: GPL-2.0
/*
 * lutrace timeline: copy the two IOMMU live update timelines out of kernel
 * memory.
 *
 * A syscall program, run once through BPF_PROG_TEST_RUN. The kernel keeps
 * the timeline the previous kernel handed over (iommu_lu_tl_in) and its own
 * (iommu_lu_tl_self), each one blob of IOMMU_LU_TL_SIZE bytes: a header and
 * a ring of records. The program copies both, as they are, into .bss,
 * where the tool reads them through the skeleton, with the status of the
 * handover and the TSC rate. It decodes nothing: the layout is ABI
 * (<linux/kho/abi/iommu_timeline.h>), and the tool checks and decodes it
 * with the same code its tests use. So nothing here needs CO-RE, or any
 * type of vmlinux.h beyond the fixed-width integers.
 *
 * The kernel appends to its own ring meanwhile, without a lock lutrace
 * could take: a record that ends during the copy may be missing, and once
 * the ring has wrapped its oldest slot may already hold a newer record.
 * The header comes first in the blob, so its count never covers a record
 * the copy could not have seen.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "lutrace.h"

char LICENSE[] SEC("license") = "GPL";

#define ENOENT 2
#define ENODATA 61

/*
 * Typeless and weak, as for dump: this kernel's BTF holds no global
 * variables, so libbpf finds them in /proc/kallsyms; one that is not there
 * has address 0, and the program says so instead of failing to load.
 * tsc_khz exists on x86 only.
 */
extern const void iommu_lu_tl_in __ksym __weak;
extern const void iommu_lu_tl_in_status __ksym __weak;
extern const void iommu_lu_tl_self __ksym __weak;
extern const void tsc_khz __ksym __weak;

/* Aligned so that the tool can read the header in place */
__u8 lt_tl_in[LT_TL_SIZE] __attribute__((aligned(8)));
__u8 lt_tl_self[LT_TL_SIZE] __attribute__((aligned(8)));

/*
 * The blob a pointer variable of the kernel points to, into @buf. 0,
 * -ENODATA if the pointer is NULL, or the read's error.
 */
static long read_blob(const void *var, __u8 *buf)
{
	__u64 addr = 0;
	long err;

	err = bpf_probe_read_kernel(&addr, sizeof(addr), var);
	if (err)
		return err;
	if (!addr)
		return -ENODATA;
	return bpf_probe_read_kernel(buf, LT_TL_SIZE, (const void *)addr);
}

SEC("syscall")
int timeline(struct lt_tl_args *args)
{
	__s32 status = 0;
	__u32 khz = 0;

	args->err = 0;
	args->in_status = 0;
	args->have_in = 0;
	args->in_err = -ENODATA;
	args->self_err = -ENODATA;
	args->khz = 0;
	/* Without its own timeline the kernel keeps no handed-over one */
	if (!&iommu_lu_tl_self) {
		args->err = -ENOENT;
		return 0;
	}
	args->self_err = read_blob(&iommu_lu_tl_self, lt_tl_self);

	/* Both are of the same patch as iommu_lu_tl_self; if not, nothing */
	if (&iommu_lu_tl_in_status &&
	    !bpf_probe_read_kernel(&status, sizeof(status),
				   &iommu_lu_tl_in_status))
		args->in_status = status;
	if (&iommu_lu_tl_in) {
		args->in_err = read_blob(&iommu_lu_tl_in, lt_tl_in);
		args->have_in = args->in_err != -ENODATA;
	}

	if (&tsc_khz &&
	    !bpf_probe_read_kernel(&khz, sizeof(khz), &tsc_khz))
		args->khz = khz;
	return 0;
}
