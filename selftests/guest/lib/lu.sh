# SPDX-License-Identifier: GPL-2.0
# Shell helpers for guest scenarios. The lines the harness parses go through
# the kernel log (/dev/kmsg, see lu_say), so that the console prints each one
# whole: a kernel message printed at the same moment cannot split it.
#   LU-RESULT <stage> <key> <value...>        a fact, for the test to assert
#   LU-CHECK <stage> <name> PASS|FAIL <detail> a check done in the guest
#   LU-KEXEC <stage>                           about to kexec into stage+1
# Static guest programs print "LU-RESULT <key> <value>" and
# "LU-CHECK <name> ..." without the stage; lu_run adds it.

# Print one protocol line on the console, through the kernel log.
lu_say() {
	echo "$*" > /dev/kmsg
}

lu_cmdline_get() {
	for w in $(cat /proc/cmdline); do
		case "$w" in
		"$1"=*) echo "${w#*=}"; return 0 ;;
		esac
	done
	return 1
}

# Extra arguments for the scenario: lu.args=a,b,c -> "a b c"
lu_args() {
	lu_cmdline_get lu.args | tr ',' ' '
}

lu_result() {
	k=$1; shift
	lu_say "LU-RESULT $LU_STAGE $k $*"
}

lu_check() {
	lu_say "LU-CHECK $LU_STAGE $1 $2 $3"
}

# Run a guest program, tagging its LU- lines with the stage; returns its
# exit status.
lu_run() {
	{ "$@"; echo "LU-EXIT $?"; } 2>&1 | {
		rc=1
		while IFS= read -r line; do
			case "$line" in
			"LU-RESULT "*|"LU-CHECK "*)
				lu_say "${line%% *} $LU_STAGE ${line#* }" ;;
			"LU-EXIT "*)
				rc=${line#LU-EXIT } ;;
			*)
				echo "$line" ;;
			esac
		done
		return "$rc"
	}
}

# Pack the running root file system as the next stage's initramfs.
lu_self_cpio() {
	(cd / && find . -xdev \( -path ./run -o -path ./tmp \) -prune -o -print |
		cpio -o -H newc 2>/dev/null) > /run/self.cpio
}

# kexec with KHO into the same kernel for the next stage. Extra arguments are
# a command (and its arguments) that lu-kexec runs under, e.g. a program that
# keeps a live update session open: "lu_kexec luo-memfd preserve --".
lu_kexec() {
	lu_self_cpio || { lu_say "LU-ERROR cannot pack the root file system"; return 1; }
	next=$((LU_STAGE + 1))
	lu_say "LU-KEXEC $LU_STAGE"
	lu_run "$@" lu-kexec --kernel /boot/bzImage --initrd /run/self.cpio \
		--reuse-cmdline --set "lu.stage=$next"
}

# BDF of the n-th (default first) QEMU edu device.
lu_edu_bdf() {
	n=${1:-1}
	i=0
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ]; then
			i=$((i + 1))
			[ $i -eq "$n" ] && { basename "$d"; return 0; }
		fi
	done
	return 1
}

# Stage 1 of the device live update scenarios: trace the iommu_lu events,
# then "lu-vfio preserve ARGS --" holds the session across the kexec.
lu_vfio_preserve_kexec() {
	echo 1 > /sys/kernel/tracing/events/iommu_lu/enable ||
		{ lu_say "LU-ERROR cannot enable the iommu_lu trace events"; exit 2; }
	lu_kexec lu-vfio preserve "$@" --
	lu_say "LU-ERROR kexec did not happen"
	exit 1
}
