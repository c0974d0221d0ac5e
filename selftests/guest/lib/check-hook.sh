# SPDX-License-Identifier: GPL-2.0
# Run by "lu-vfio preserve ... -- sh /lib/check-hook.sh WHAT -- CMD...",
# with the session preserved and still open, for test_lutrace_check.py:
# lutrace check with no kernel loaded (blob check-none), with one loaded
# whose command line has liveupdate=off (check-off), then with the kernel
# of the next stage loaded (check-good, check-good-text), its command line
# asking for KHO and, on VT-d, the IOMMU (this guest has them by its
# build's defaults, which check does not take for the next kernel's); WHAT other than
# "-" first damages the outgoing state through debugfs iommu_lu/corrupt
# ("device-context BDF": the live context entry no longer the recorded
# one, as after a re-attach). Then the outgoing dump, live and replayed
# (dump-outgoing, dump-outgoing-text, from-outgoing-text), and exec CMD
# (the kexec, which loads the kernel again).
. /lib/lu.sh

lu_hook_args "$@"
shift $hook_skip
what=$hook_what

lt_run check-none -j check
lu_run lu-kexec --kernel /boot/bzImage --initrd /run/self.cpio \
	--reuse-cmdline --set lu.stage=2 --set liveupdate=off --load-only
lt_run check-off -j check
vtd=
ls /sys/class/iommu 2>/dev/null | grep -q '^dmar' && vtd="--set intel_iommu=on"
lu_run lu-kexec --kernel /boot/bzImage --initrd /run/self.cpio \
	--reuse-cmdline --set lu.stage=2 --set kho=on $vtd --load-only
if [ "$what" != - ]; then
	printf '%s' "$what" > /sys/kernel/debug/iommu_lu/corrupt ||
		{ lu_say "LU-ERROR cannot write '$what' to iommu_lu/corrupt"; exit 1; }
fi
lt_run check-good -j check
lt_run check-good-text check
lt_run dump-outgoing -j dump
lt_run dump-outgoing-text dump
lt_run from-outgoing-text dump --from /run/lt-dump-outgoing.out
exec "$@"
