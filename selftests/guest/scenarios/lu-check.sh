# SPDX-License-Identifier: GPL-2.0
# lutrace check, dump --from and the dumps diff compares, on a live update
# of one edu device (test_lutrace_check.py). lu.args=WHAT[,BDF]: "-" for a
# good update; else the damage lib/check-hook.sh does before the check
# (device-context: BDF empty means the first edu device).
# Stage 1, a cold boot, checks the incoming side (no live update: OK,
# and no timeline),
# preserves the first edu device (lu-vfio preserve), checks and dumps the
# outgoing state (lib/check-hook.sh) and kexecs. Stage 2 checks
# and dumps the incoming state before anything is retrieved, replays the
# dump, then, after a good update, retrieves the device.
. /lib/lu.sh

set -- "$1" $(lu_args)
what=$2
[ "$what" = device-context ] && what="$what $(lu_edu_bdf 1)"

case "$1" in
1)
	lt_run check-cold -j check --incoming
	lt_run timeline-cold timeline --trust-tsc
	lt_run timeline-cold-json -j timeline --trust-tsc
	# lu-vfio preserve checks the trace of its cancelled first attempt
	echo 1 > /sys/kernel/tracing/events/iommu_lu/enable ||
		{ lu_say "LU-ERROR cannot enable the iommu_lu trace events"; exit 2; }
	lu_kexec lu-vfio preserve -- sh /lib/check-hook.sh $what --
	lu_say "LU-ERROR kexec did not happen"
	exit 1 ;;
2)
	lt_run check-incoming -j check --incoming
	lt_run check-incoming-text check --incoming
	lt_run dump-incoming -j dump --incoming
	lt_run dump-incoming-text dump --incoming
	lt_run from-incoming-text dump --from /run/lt-dump-incoming.out
	[ "$2" = - ] || exit 0
	lu_run lu-vfio retrieve
	# After the finish: UNKNOWN, the state is gone (its status is a result)
	lt_run check-finished -j check --incoming || true ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
