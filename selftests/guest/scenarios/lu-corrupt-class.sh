# SPDX-License-Identifier: GPL-2.0
# One class of damage to the preserved state, through a real kexec (test
# test_corruption_class). lu.args=WHAT,TARGET,SCOPE: WHAT is the kind of
# damage (debugfs iommu_lu/corrupt), TARGET what it is done to ("-" the
# state, a chain name, or "edu": the first edu device), SCOPE what the next
# kernel must lose: "one" the first device alone, "all" both, "master"
# both, on a kernel whose default domains pass DMA through untranslated
# (iommu.passthrough=1): the devices must have been stopped at probe.
# Stage 1: two VMMs preserve one edu device each, in sessions of their own,
# on HWPTs of their own (lu-vfio preserve --second-session); the state is
# damaged just before the kexec. Stage 2: lutrace reads the incoming state
# and checks it before anything finishes; then with SCOPE "one" the first
# session gets its iommufd back without the HWPT and its device's DMA
# faults, the second session is retrieved and works (lu-vfio
# retrieve-refused); with SCOPE "all" neither device's DMA goes anywhere
# (lu-vfio dma-sysfs on each, no driver).
. /lib/lu.sh

set -- "$1" $(lu_args)
what=$2 target=$3 scope=$4
case "$target" in
-) target= ;;
edu) target=$(lu_edu_bdf 1) ;;
esac

case "$1" in
1)
	LU_CORRUPT="$what${target:+ $target}" \
		lu_vfio_preserve_kexec --second-session ;;
2)
	# Before any session finishes: the finish releases the incoming state
	lt_run incoming -j dump --incoming
	lt_run check -j check --incoming
	if [ "$scope" = one ]; then
		lu_run lu-vfio retrieve-refused
	elif [ "$scope" = master ]; then
		# No DMA here: it would go through untranslated if allowed
		for i in 1 2; do
			bdf=$(lu_edu_bdf $i)
			cmd=$(od -An -tx2 -j4 -N2 "/sys/bus/pci/devices/$bdf/config" | tr -d ' ')
			if [ $((0x$cmd & 4)) -eq 0 ]; then
				lu_check "bus_master_off_$i" PASS "$bdf: command 0x$cmd"
			else
				lu_check "bus_master_off_$i" FAIL "$bdf: command 0x$cmd, bus mastering still on"
			fi
		done
	else
		lu_run lu-vfio dma-sysfs --bdf "$(lu_edu_bdf 1)"
		LU_PREFIX=second_ lu_run lu-vfio dma-sysfs --bdf "$(lu_edu_bdf 2)"
	fi ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
