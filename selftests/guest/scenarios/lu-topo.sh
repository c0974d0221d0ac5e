# SPDX-License-Identifier: GPL-2.0
# The device live update on other PCI topologies (harness/topology.py).
# lu.edus= names the edu devices, the preserved ones first, the control
# last (lu_edu_bdf, lu_edu_control); lu.args= says how they are preserved:
#
#   one            the first edu, as lu-iommufd does (lu-vfio preserve;
#                  retrieve)
#   one-hwpt       every preserved device (two to four) on one marked
#                  HWPT, in one session, each with DMA in flight (preserve
#                  --extra-device, once for each after the first; retrieve
#                  --extra-device the same)
#   sessions       the first two, by two VMMs, processes of their own, each
#                  with its own session, memfd, iommufd and marked HWPT:
#                  the second (preserve-session2) preserves first, in the
#                  background, and holds its session open across the first
#                  one's kexec. (The iommu_lu trace events are on before
#                  it: the VT-d unit is preserved with the first device
#                  preserved on it, the second VMM's, and the first VMM's
#                  check cancel_trace_hw_unit_preserve finds that.)
#                  Stage 2: the first VMM retrieves its device and
#                  finishes while the second device is still pending; the
#                  second VMM then finds its device still translating
#                  through its preserved table, with no map call, and
#                  retrieves it (its checks named second_...)
#   hitless        the edu devices, as one-hwpt; in stage 2, once they are
#                  attached to the restored HWPT, the first one's HWPT is
#                  replaced with its DMA running, before the FINISH and
#                  after (lu-vfio retrieve --hitless-replace; an IOMMU
#                  group is replaced whole, its other members with it)
#   alias-refused  the edu devices, as one-hwpt, the first one's device
#                  entry damaged before the kexec (LU_CORRUPT
#                  device-refcount: the next kernel's core refuses it).
#                  Stage 2: the DMA of each, with no user, to the IOVAs it
#                  used (lu-vfio dma-sysfs; the second's checks and
#                  results named member_...)
#   alias-removal  one stage, no live update: the first two edu on one
#                  HWPT, the first removed from the bus; the second's DMA
#                  goes on (lu-vfio alias-removal)
#   group-refused  one stage: the first edu alone, the second (the other
#                  member of its IOMMU group) bound to no iommufd: the
#                  preserve is refused, or else the kexec (lu-vfio
#                  group-refused), which then must not happen
#
# lutrace dumps the outgoing state in stage 1, once every session is
# preserved (blob dump-outgoing), and the incoming one in stage 2 before
# anything is retrieved (blob dump-incoming).
#
# Stage 2 first reads the command register of every bridge above each
# preserved device, before anything is retrieved (lu-vfio bridges). With
# lu.dump_trace=1 on the command line, stage 2 ends by sending the kernel's
# trace buffer (blob ftrace; boot with trace_event=iommu_lu:* for the
# events of the restore at boot), whose timeline selftests/bench reads.
. /lib/lu.sh

how=$(lu_args)
p1=$(lu_edu_bdf 1)
p2=
# The preserved devices after the first: lu.edus= but its first and its
# last (the control)
rest=
case "$how" in
one) ;;
*)
	p2=$(lu_edu_bdf 2)
	control=$(lu_edu_control)
	i=2
	while d=$(lu_edu_bdf $i) && [ "$d" != "$control" ]; do
		rest="$rest $d"
		i=$((i + 1))
	done ;;
esac
# preserve and retrieve --extra-device, for each of them
extras=
for d in $rest; do
	extras="$extras --extra-device $d"
done

# The IOMMU group of each edu device, for the test and its reader
lu_groups() {
	for d in $p1 $rest $(lu_edu_control); do
		g=$(readlink "/sys/bus/pci/devices/$d/iommu_group")
		lu_result "iommu_group_$d" \
			"$(ls "/sys/kernel/iommu_groups/${g##*/}/devices" | tr '\n' ',' | sed 's/,$//')"
	done
}

# The second VMM: preserves its device and keeps its session open, in
# the background, until the kexec; returns once it has its session
vmm2_start() {
	lu_run lu-vfio preserve-session2 --bdf "$p2" -- \
		sh -c 'touch /run/vmm2-ready; exec sleep 1000000' &
	pid=$!
	for i in $(seq 600); do
		[ -e /run/vmm2-ready ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	lu_say "LU-ERROR the second VMM did not preserve its session"
	return 1
}

case "$1-$how" in
1-one)
	lu_groups
	LU_DUMP=1 lu_vfio_preserve_kexec --bdf "$p1" ;;
1-one-hwpt|1-hitless)
	lu_groups
	# $extras unquoted: one word per option and value
	LU_DUMP=1 lu_vfio_preserve_kexec --bdf "$p1" $extras ;;
1-sessions)
	lu_groups
	echo 1 > /sys/kernel/tracing/events/iommu_lu/enable
	vmm2_start || exit 1
	LU_DUMP=1 lu_vfio_preserve_kexec --bdf "$p1" ;;
1-alias-refused)
	lu_groups
	# $extras unquoted: one word per option and value
	LU_CORRUPT="device-refcount $p1" LU_DUMP=1 \
		lu_vfio_preserve_kexec --bdf "$p1" $extras ;;
2-alias-refused)
	lt_run dump-incoming -j dump --incoming
	lu_run lu-vfio dma-sysfs --bdf "$p1"
	rc=$?
	LU_PREFIX=member_ lu_run lu-vfio dma-sysfs --bdf "$p2" || rc=1
	exit $rc ;;
1-alias-removal)
	lu_groups
	lu_run lu-vfio alias-removal --bdf "$p1" --member "$p2" ;;
1-group-refused)
	lu_groups
	lu_self_cpio || { lu_say "LU-ERROR cannot pack the root file system"; exit 1; }
	lu_run lu-vfio group-refused --bdf "$p1" --member "$p2" -- \
		lu-kexec --kernel /boot/bzImage --initrd /run/self.cpio \
		--reuse-cmdline --set lu.stage=2 --load-only ;;
2-one|2-one-hwpt|2-sessions|2-hitless)
	# $rest unquoted: no word when there is no second device
	lu_run lu-vfio bridges "$p1" $rest
	rc=$?
	# What arrived and how each device was matched, before any retrieve
	lt_run dump-incoming -j dump --incoming
	case "$how" in
	one)
		lu_run lu-vfio retrieve --bdf "$p1" || rc=1 ;;
	one-hwpt)
		lu_run lu-vfio retrieve --bdf "$p1" $extras || rc=1 ;;
	hitless)
		lu_run lu-vfio retrieve --bdf "$p1" $extras --hitless-replace ||
			rc=1 ;;
	sessions)
		lu_run lu-vfio retrieve --bdf "$p1" || rc=1
		LU_PREFIX=second_ lu_run lu-vfio retrieve --session lu-iommufd-vmm2 \
			--bdf "$p2" --hwpt-token 0x1235 || rc=1 ;;
	esac
	if lu_cmdline_get lu.dump_trace > /dev/null; then
		lu_blob ftrace /sys/kernel/tracing/trace
	fi
	exit $rc ;;
*)
	lu_say "LU-ERROR no stage $1 of '$how' in this scenario"; exit 2 ;;
esac
