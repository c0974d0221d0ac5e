# SPDX-License-Identifier: GPL-2.0
# Run by "lu-vfio preserve ... -- sh /lib/corrupt-hook.sh WHAT [ARG] --
# CMD...", with everything preserved and the session still open: ask the
# kernel (debugfs iommu_lu/corrupt; the kinds of damage are listed in
# docs/liveupdate-flow.md section 5) to damage the outgoing IOMMU state as
# WHAT says when the kexec is past its point of no return, so that the
# next kernel must refuse it; then exec CMD (the kexec). Check
# corrupt_written says the kernel took the request.
. /lib/lu.sh

corrupt=/sys/kernel/debug/iommu_lu/corrupt
lu_hook_args "$@"
shift $hook_skip
what=$hook_what
if [ -z "$what" ] || [ $# -eq 0 ]; then
	lu_say "LU-ERROR usage: corrupt-hook.sh WHAT [ARG] -- CMD..."
	exit 2
fi
# One write(2) of the whole request; an error is the kernel refusing it
if printf '%s' "$what" > "$corrupt" 2> /run/corrupt.err; then
	lu_check corrupt_written PASS "'$what' written to $corrupt"
else
	lu_check corrupt_written FAIL "'$what' to $corrupt: $(cat /run/corrupt.err)"
	exit 1
fi
exec "$@"
