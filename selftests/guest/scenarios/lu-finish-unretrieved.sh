# SPDX-License-Identifier: GPL-2.0
# Misuse after a live update: the session is finished with nothing
# retrieved from it. Stage 1 as in lu-iommufd. In stage 2 the preserved
# device was not taken by its user, so FINISH blocks and releases it: it
# loses bus mastering, and with bus mastering set again its DMA to the
# IOVAs the preserved table mapped faults. Then the device works with a new
# iommufd as usual (edu-dma, at other IOVAs so that its own faults are not
# taken for the blocked DMA's).
. /lib/lu.sh

case "$1" in
1)
	lu_vfio_preserve_kexec $(lu_args) ;;
2)
	lu_run lu-vfio finish-unretrieved
	rc=$?
	lu_run edu-dma --bdf "$(lu_edu_bdf 1)" --map-iova 0x400000
	exit $rc ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
