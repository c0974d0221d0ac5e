# SPDX-License-Identifier: GPL-2.0
# An iommufd and a VFIO device across a live update: stage 1 attaches edu
# to a marked HWPT whose IOAS maps a memfd (a second edu to an unmarked
# one), cancels one session, then preserves the memfd, the iommufd and the
# first edu in another and kexecs. Stage 2 retrieves the memfd, the iommufd
# and the device, re-attaches the device, finishes, and both edu devices
# work normally.
#
# lutrace watches all of it (boot with trace_event=iommu_lu:* for the boot
# part): stage 1 traces and dumps the outgoing state before the kexec;
# stage 2 reads the restore at boot back from the kernel's trace buffer,
# dumps the incoming state, then traces the retrieve, and a re-probe of the
# edu device that was not preserved; once the update finished, prints its
# timeline across both kernels; then "latency 1 5" while a session is
# preserved and cancelled, latency with too few file descriptors to attach
# its probes, and trace --boot once the kernel's trace buffer lost events
# (lib/lt-checks.sh).
#
# On AMD-Vi, the IOMMU's device table base register and the preserved edu's
# device table entry are read right before the kexec, at the new kernel's
# /init and once the device is attached again (lu_amdvi_regs, run by
# lu-vfio retrieve as LU_AFTER_ATTACH).
. /lib/lu.sh
. /lib/lt-checks.sh

case "$1" in
1)
	LU_LUTRACE=1 LU_AMDVI_REGS=1 lu_vfio_preserve_kexec $(lu_args) ;;
2)
	lu_amdvi_regs boot "$(lu_edu_bdf 1)"
	cp /sys/kernel/tracing/trace /run/ftrace-boot
	lu_blob ftrace-boot /run/ftrace-boot
	lt_run trace-boot -j trace --boot
	lt_run trace-boot-filtered trace --boot --filter finish
	lt_run dump-incoming -j dump --incoming
	lutrace dump --incoming
	lt_start s2 || exit 1
	other=$(lu_edu_bdf 2)
	echo 1 > "/sys/bus/pci/devices/$other/remove"
	echo 1 > /sys/bus/pci/rescan
	lu_result rescanned "$other"
	LU_AFTER_ATTACH=". /lib/lu.sh; lu_amdvi_regs attached $(lu_edu_bdf 1)" \
		lu_run lu-vfio retrieve
	lt_stop s2
	lu_blob ftrace /sys/kernel/tracing/trace
	lt_run dump-finished -j dump --incoming
	# The update's timeline, once it finished. TCG's CPU does not say its
	# TSC is invariant, though it counts on across the kexec (docs/lutrace.md)
	lt_run timeline -j timeline --trust-tsc
	lt_run timeline-text timeline --trust-tsc
	lt_run timeline-untrusted timeline
	lt_latency_interval
	lt_latency_fd_limit
	lt_trace_boot_lost
	lu_run edu-dma
	lu_run edu-dma --bdf "$(lu_edu_bdf 2)" ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
