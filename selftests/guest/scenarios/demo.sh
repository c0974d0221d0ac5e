# SPDX-License-Identifier: GPL-2.0
# Demo: DMA through the IOMMU, then a live update (kexec with KHO) that
# carries a memfd across, verified in the new kernel.
. /lib/lu.sh

case "$1" in
1)
	echo "=== demo stage 1 ($(uname -r)): DMA through the IOMMU ==="
	lu_run edu-dma || exit 1
	echo "=== demo stage 1: preserving a memfd in a live update session, kexec ==="
	lu_kexec luo-memfd preserve --
	lu_say "LU-ERROR kexec did not happen"
	exit 1 ;;
2)
	echo "=== demo stage 2: new kernel booted through KHO; verifying ==="
	dmesg | grep -E "KHO: found|luo: Retrieved" | sed 's/^/  dmesg: /'
	lu_run luo-memfd verify || exit 1
	echo "=== demo stage 2: DMA through the IOMMU in the new kernel ==="
	lu_run edu-dma ;;
esac
