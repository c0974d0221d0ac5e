# SPDX-License-Identifier: GPL-2.0
# Devices removed and found again by a PCI rescan before the live update is
# finished. Stage 1: two VMMs preserve one edu device each, in sessions of
# their own (lu-vfio preserve --second-session). Stage 2 (lu-vfio rescan):
# the second device, kept for its session and never retrieved, is removed,
# which blocks it, and rescanned; its DMA to the IOVAs of its preserved
# table then faults. The first device is retrieved, attached to the
# restored HWPT, moved to an HWPT of its own and the restored HWPT
# destroyed; once its session finished (the session holds its file until
# then), it is removed and rescanned while the second session still holds
# the incoming state. Neither device is restored again when it is probed
# again. The second session finishes; then both devices work with a new
# iommufd (edu-dma, at other IOVAs so that its own faults are not taken for
# the blocked DMA's).
. /lib/lu.sh

case "$1" in
1)
	lu_vfio_preserve_kexec --second-session ;;
2)
	lu_run lu-vfio rescan
	rc=$?
	lu_run edu-dma --bdf "$(lu_edu_bdf 1)" --map-iova 0x400000
	lu_run edu-dma --bdf "$(lu_edu_bdf 2)" --map-iova 0x400000
	exit $rc ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
