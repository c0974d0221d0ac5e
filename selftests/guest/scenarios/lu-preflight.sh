# SPDX-License-Identifier: GPL-2.0
# Pre-flight: stage 1 preserves as in lu-iommufd, then tries four kexecs
# that the live update must refuse before it starts (EOPNOTSUPP), because
# the kernel they load could not take the preserved device over: with
# liveupdate=off, the IOMMU driver off (intel_iommu=off on VT-d,
# amd_iommu=off on AMD-Vi), iommu=off and kho=off. Each refusal leaves the
# session as it was; the real kexec follows, from the same process. Stage
# 2 retrieves everything as in lu-iommufd: the update still works.
. /lib/lu.sh

driver=intel_iommu
[ ! -e /sys/class/iommu/ivhd0 ] || driver=amd_iommu

case "$1" in
1)
	LU_KEXEC_TRY="liveupdate=off $driver=off iommu=off kho=off" \
		lu_vfio_preserve_kexec $(lu_args) ;;
2)
	lu_run lu-vfio retrieve ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
