# SPDX-License-Identifier: GPL-2.0
# Demo: a VFIO device keeps its IOMMU mappings and its DMA across a kexec
# live update. Stage 1: edu behind VT-d through iommufd, HWPT marked, memfd,
# iommufd and device preserved in a session, DMA started, kexec. Stage 2:
# the DMA landed; the session gives the HWPT and the device back and DMA
# goes on through the very same page table.
. /lib/lu.sh

case "$1" in
1)
	echo "=== demo stage 1 ($(uname -r)): edu on a marked HWPT, preserving it, kexec ==="
	echo 1 > /sys/kernel/tracing/events/iommu_lu/enable || exit 2
	lu_kexec lu-vfio preserve --
	lu_say "LU-ERROR kexec did not happen"
	exit 1 ;;
2)
	echo "=== demo stage 2: new kernel; IOMMU state adopted, device retrieved ==="
	dmesg | grep -E "iommu-lu:|live update:|KHO: found" | sed 's/^/  dmesg: /'
	lu_run lu-vfio retrieve || exit 1
	echo "=== demo stage 2: both edu devices work normally afterwards ==="
	lu_run edu-dma ;;
esac
