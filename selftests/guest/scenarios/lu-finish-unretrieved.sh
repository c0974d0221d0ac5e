# SPDX-License-Identifier: GPL-2.0
# Misuse after a live update: the session is finished with nothing
# retrieved from it. Stage 1 as in lu-iommufd. In stage 2 the preserved
# device was not taken by its user, so FINISH blocks and releases it: it
# loses bus mastering, and with bus mastering set again its DMA to the
# IOVAs the preserved table mapped faults. Then the device works with a new
# iommufd as usual (lu_vfio_then_edu_dma).
. /lib/lu.sh

case "$1" in
1)
	lu_vfio_preserve_kexec $(lu_args) ;;
2)
	lu_vfio_then_edu_dma finish-unretrieved
	exit $? ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
