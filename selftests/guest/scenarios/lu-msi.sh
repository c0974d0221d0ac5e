# SPDX-License-Identifier: GPL-2.0
# MSI across a live update: stage 1 sets up the first edu's MSI through
# VFIO and checks that an interrupt arrives, then preserves as in
# lu-iommufd, MSI left on, and kexecs. The preserved device keeps its bus
# mastering across the kexec, but its interrupts are quiesced: stage 2,
# before it is retrieved, finds its MSI off (edu cannot mask its vector)
# and INTx disabled, and an interrupt it raises (BAR 0 through sysfs, no
# driver) goes nowhere: the kernel logs no interrupt remapping fault and no
# unhandled interrupt. Then the session is retrieved as in lu-iommufd, and
# MSI set up again on the retrieved device works.
. /lib/lu.sh

case "$1" in
1)
	lu_vfio_preserve_kexec --msi $(lu_args) ;;
2)
	lu_run lu-vfio retrieve --msi ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
