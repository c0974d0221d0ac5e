# SPDX-License-Identifier: GPL-2.0
# Two live updates in a row: stage 1 as in lu-iommufd; stage 2 retrieves
# the iommufd and the device, checks DMA, marks the restored HWPT again,
# preserves everything in a second session and kexecs; stage 3 retrieves
# that session, prints the second update's timeline and checks DMA again.
. /lib/lu.sh

case "$1" in
1)
	lu_vfio_preserve_kexec $(lu_args) ;;
2)
	lu_kexec lu-vfio retrieve --next-session lu-iommufd-2 --
	lu_say "LU-ERROR kexec did not happen"
	exit 1 ;;
3)
	lu_run lu-vfio retrieve --session lu-iommufd-2
	# The second update's timeline: what the middle kernel handed over
	lt_run timeline -j timeline --trust-tsc
	lu_run edu-dma ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
