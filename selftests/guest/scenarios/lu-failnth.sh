# SPDX-License-Identifier: GPL-2.0
# Allocation fault injection over the preserve operations (lu-failnth):
# stage 1 fails each allocation of the HWPT mark and of the LUO preserves
# of the memfd, the iommufd and the edu device in turn and checks what each
# failure leaves behind, then preserves everything as lu-vfio preserve does
# and kexecs with DMA in flight. Stage 2 takes it all back (lu-vfio
# retrieve: the DMA landed, the device translates through the restored
# HWPT), and the edu device then works with a new iommufd.
. /lib/lu.sh

case "$1" in
1)
	lu_kexec lu-failnth --
	lu_say "LU-ERROR kexec did not happen"
	exit 1 ;;
2)
	lu_run lu-vfio retrieve
	rc=$?
	lu_run edu-dma || rc=1
	exit $rc ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
