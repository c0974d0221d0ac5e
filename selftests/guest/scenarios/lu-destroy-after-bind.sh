# SPDX-License-Identifier: GPL-2.0
# Misuse after a live update: the device is retrieved and bound to the
# retrieved iommufd, then the restored HWPT is destroyed before the device
# is attached to it. The kernel refuses (EBUSY): the restored IOAS pins the
# memory the page table maps, and the device still uses the table; DMA
# through it keeps working. FINISH blocks the device.
. /lib/lu.sh

case "$1" in
1)
	lu_vfio_preserve_kexec $(lu_args) ;;
2)
	lu_run lu-vfio destroy-early --after-bind ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
