# SPDX-License-Identifier: GPL-2.0
# The next kernel refuses the preserved state: stage 1 preserves as in
# lu-iommufd and damages the outgoing state just before the kexec, as
# lu.args=WHAT says (abi-version: the next kernel refuses the whole state;
# hw-unit-token: it finds no state for its VT-d unit). Stage 2: VT-d keeps
# translating with an empty root table instead of turning translation off,
# and the device's DMA to the IOVAs the preserved table mapped is blocked
# (DMA through BAR 0 in sysfs, no driver).
. /lib/lu.sh

case "$1" in
1)
	LU_CORRUPT="$(lu_args)" lu_vfio_preserve_kexec ;;
2)
	lu_run lu-vfio dma-sysfs --bdf "$(lu_edu_bdf 1)" ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
