# SPDX-License-Identifier: GPL-2.0
# The handed-over timeline damaged, the IOMMU state not: stage 1 preserves
# one edu device as lu-iommufd does and asks the kernel (debugfs
# iommu_lu/corrupt, timeline-magic) to break the timeline's magic at the
# kexec. Stage 2 must refuse the timeline alone: lutrace timeline says so,
# the device is retrieved, re-attached hitless and its DMA works.
. /lib/lu.sh

case "$1" in
1)
	LU_CORRUPT=timeline-magic lu_vfio_preserve_kexec $(lu_args) ;;
2)
	lt_run timeline -j timeline --trust-tsc
	lu_run lu-vfio retrieve
	lu_run edu-dma ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
