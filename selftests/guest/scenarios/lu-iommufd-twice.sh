# SPDX-License-Identifier: GPL-2.0
# Two live updates in a row: stage 1 as in lu-iommufd; stage 2 retrieves
# the iommufd and the device, checks DMA, marks the restored HWPT again,
# preserves everything in a second session and kexecs; stage 3 retrieves
# that session and checks DMA again.
. /lib/lu.sh

case "$1" in
1)
	echo 1 > /sys/kernel/tracing/events/iommu_lu/enable ||
		{ lu_say "LU-ERROR cannot enable the iommu_lu trace events"; exit 2; }
	lu_kexec lu-vfio preserve $(lu_args) --
	lu_say "LU-ERROR kexec did not happen"
	exit 1 ;;
2)
	lu_kexec lu-vfio retrieve --next-session lu-iommufd-2 --
	lu_say "LU-ERROR kexec did not happen"
	exit 1 ;;
3)
	lu_run lu-vfio retrieve --session lu-iommufd-2
	lu_run edu-dma ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
