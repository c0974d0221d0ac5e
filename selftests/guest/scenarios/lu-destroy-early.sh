# SPDX-License-Identifier: GPL-2.0
# Misuse after a live update: the restored HWPT is destroyed before its
# device is attached again. The kernel keeps the page table the device
# still uses (and says so); DMA through it keeps working.
. /lib/lu.sh

case "$1" in
1)
	echo 1 > /sys/kernel/tracing/events/iommu_lu/enable ||
		{ lu_say "LU-ERROR cannot enable the iommu_lu trace events"; exit 2; }
	lu_kexec lu-vfio preserve $(lu_args) --
	lu_say "LU-ERROR kexec did not happen"
	exit 1 ;;
2)
	lu_run lu-vfio destroy-early ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
