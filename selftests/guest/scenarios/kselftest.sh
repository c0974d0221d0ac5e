# SPDX-License-Identifier: GPL-2.0
# The kernel's own selftests of the parts the series changes, from the
# kselftest initramfs (scripts/build-kselftests.sh): /kselftest/SUITE/PROG.
# lu.args= names what to run, in order:
#   SUITE/PROG   run it once in stage 1; a vfio program gets the first edu
#                device, bound to vfio-pci, as its argument
#   vfio/PROG@VENDOR:DEVICE   the same on the first PCI device VENDOR:DEVICE
#   luo          the LUO kexec tests: stage 1 of each (its daemon holds its
#                sessions), one kexec for all of them, stage 2 of each
# Each program's output goes back whole as the blob ksft-SUITE-PROG (with
# a device: ksft-vfio-PROG@VENDOR:DEVICE; the LUO tests:
# ksft-liveupdate-PROG-sN), its exit status as the result of the same name;
# test_kselftest.py parses the KTAP.
. /lib/lu.sh

LUO_TESTS="luo_kexec_simple luo_multi_session luo_stress_sessions luo_stress_files"

# "ksft_run NAME DIR PROG ARGS...": run one program in its directory, as
# kselftest's runner does; send its output and its exit status
ksft_run() {
	name=$1 dir=$2
	shift 2
	lu_say "LU-KSELFTEST $LU_STAGE $name start"
	(cd "$dir" && "$@") > "/run/$name.out" 2>&1 < /dev/null
	rc=$?
	lu_blob "$name" "/run/$name.out"
	lu_result "$name" "$rc"
}

# Bind PCI device $1 to vfio-pci, as the vfio suite's scripts/setup.sh does
vfio_bind() {
	d=/sys/bus/pci/devices/$1
	[ -e "$d/driver" ] && echo "$1" > "$d/driver/unbind"
	echo vfio-pci > "$d/driver_override" &&
		echo "$1" > /sys/bus/pci/drivers/vfio-pci/bind
}

# "vfio_run vfio/PROG[@ID] BDF": PROG on the device BDF, bound to vfio-pci
vfio_run() {
	p=${1#vfio/}
	[ "$(cat "/sys/bus/pci/devices/$2/driver_override")" = vfio-pci ] ||
		vfio_bind "$2" ||
		{ lu_say "LU-ERROR cannot bind $2 to vfio-pci"; return 1; }
	ksft_run "ksft-vfio-$p" /kselftest/vfio "./${p%@*}" "$2"
}

case "$1" in
1)
	# The type1 variants of the vfio suite use the VFIO container's type1
	# backend, a module as in the kernels users run
	modprobe vfio_iommu_type1 ||
		{ lu_say "LU-ERROR cannot load vfio_iommu_type1"; exit 1; }
	for t in $(lu_args); do
		case "$t" in
		luo)
			for p in $LUO_TESTS; do
				ksft_run "ksft-liveupdate-$p-s1" /kselftest/liveupdate ./$p -s 1
			done
			lu_kexec
			lu_say "LU-ERROR kexec did not happen"
			exit 1 ;;
		vfio/*@*)
			id=${t#*@}
			bdf=$(lu_pci_bdf "0x${id%:*}" "0x${id#*:}") ||
				{ lu_say "LU-ERROR no PCI device $id"; exit 1; }
			vfio_run "$t" "$bdf" || exit 1 ;;
		vfio/*)
			vfio_run "$t" "$(lu_edu_bdf 1)" || exit 1 ;;
		*/*)
			ksft_run "ksft-${t%%/*}-${t#*/}" "/kselftest/${t%%/*}" "./${t#*/}" ;;
		*)
			lu_say "LU-ERROR kselftest: no such program '$t'"
			exit 2 ;;
		esac
	done ;;
2)
	for p in $LUO_TESTS; do
		ksft_run "ksft-liveupdate-$p-s2" /kselftest/liveupdate ./$p -s 2
	done ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
