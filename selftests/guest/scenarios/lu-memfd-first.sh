# SPDX-License-Identifier: GPL-2.0
# Misuse after a live update: the memfd is changed before the iommufd is
# retrieved. Stage 1 as in lu-iommufd. In stage 2 (lu-vfio memfd-first) the
# memfd is retrieved first and a hole punched in it over A; then the
# iommufd: the restored HWPT's page table maps a page the memfd no longer
# holds, so the kernel does not restore the HWPT (its token is not found)
# and blocks and releases the device kept on it. The device binds to the
# retrieved iommufd, with bus mastering set again its DMA to the preserved
# IOVAs faults and B keeps what the device wrote there in stage 1; the
# session finishes. Then the device works with a new iommufd as usual
# (lu_vfio_then_edu_dma).
. /lib/lu.sh

case "$1" in
1)
	lu_vfio_preserve_kexec $(lu_args) ;;
2)
	lu_vfio_then_edu_dma memfd-first
	exit $? ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
