# SPDX-License-Identifier: GPL-2.0
# Demo: a VFIO device keeps its IOMMU mappings and its DMA across a kexec
# live update. Stage 1: edu behind VT-d through iommufd, HWPT marked, memfd,
# iommufd and device preserved in a session, DMA started, kexec. Stage 2:
# the DMA landed; the session gives the HWPT and the device back and DMA
# goes on through the very same page table. lutrace shows the state before
# and after the kexec, and the restore at boot.
. /lib/lu.sh

case "$1" in
1)
	echo "=== demo stage 1 ($(uname -r)): edu on a marked HWPT, preserving it, kexec ==="
	echo 1 > /sys/kernel/tracing/events/iommu_lu/enable || exit 2
	# With the session preserved, before the kexec: what lutrace sees
	lu_kexec lu-vfio preserve -- sh -c \
		'. /lib/lu.sh
		 echo "=== demo stage 1: lutrace dump (the outgoing state) ==="
		 lt_show dump dump; exec "$@"' lt-dump
	lu_say "LU-ERROR kexec did not happen"
	exit 1 ;;
2)
	echo "=== demo stage 2: new kernel; IOMMU state adopted, device retrieved ==="
	dmesg | grep -E "iommu-lu:|live update:|KHO: found" | sed 's/^/  dmesg: /'
	echo "=== demo stage 2: lutrace trace --boot (the restore at boot, from the kernel's trace buffer) ==="
	lt_show trace_boot trace --boot --filter flb,hw_unit,match,pt,domain,device
	echo "=== demo stage 2: lutrace dump --incoming ==="
	lt_show dump_incoming dump --incoming
	lu_run lu-vfio retrieve || exit 1
	echo "=== demo stage 2: both edu devices work normally afterwards ==="
	lu_run edu-dma ;;
esac
