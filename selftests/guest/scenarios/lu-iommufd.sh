# SPDX-License-Identifier: GPL-2.0
# An iommufd and a VFIO device across a live update: stage 1 attaches edu
# to a marked HWPT whose IOAS maps a memfd (a second edu to an unmarked
# one), cancels one session, then preserves the memfd, the iommufd and the
# first edu in another and kexecs. Stage 2 retrieves what it can (the
# memfd; the HWPT and the device cannot be rebuilt yet) and finishes, and
# both edu devices work normally.
. /lib/lu.sh

case "$1" in
1)
	lu_vfio_preserve_kexec $(lu_args) ;;
2)
	lu_run lu-vfio retrieve
	lu_run edu-dma
	lu_run edu-dma --bdf "$(lu_edu_bdf 2)" ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
