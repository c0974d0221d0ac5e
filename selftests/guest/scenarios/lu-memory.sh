# SPDX-License-Identifier: GPL-2.0
# The memory a restored HWPT maps is pinned by its IOAS, as
# IOMMU_IOAS_MAP_FILE pins it (the test boots with init_on_free=1, kept by
# the kexec: a page freed under the device reads zeros). Stage 1 preserves
# as in lu-iommufd. Stage 2 (lu-vfio memory) retrieves the memfd, the
# iommufd and the device and attaches the device to the restored HWPT,
# whose IOAS is immutable until the FINISH; finishes; prepares the next
# update and cancels it: the restored HWPT marked again, the iommufd is
# refused in a session without the memfd, taken with it. After that the
# restored IOAS maps a new memfd page the device copies into; a hole
# punched in the memfd, the memfd truncated, then closed, do not free the
# pages the device reaches: its DMA reads the data written before; and A
# unmapped from the IOAS, the device's read of it faults.
. /lib/lu.sh

case "$1" in
1)
	lu_vfio_preserve_kexec $(lu_args) ;;
2)
	lu_run lu-vfio memory ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
