# SPDX-License-Identifier: GPL-2.0
# Cancel: stage 1 preserves the memfd, the iommufd and the device in a
# session and closes it, then kexecs with nothing preserved. Stage 2 is a
# normal boot: nothing handed over, translation started fresh, edu works.
. /lib/lu.sh

case "$1" in
1)
	lu_vfio_preserve_kexec --cancel-only $(lu_args) ;;
2)
	lu_run edu-dma ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
