# SPDX-License-Identifier: GPL-2.0
# Live update cycle: stage 1 preserves a memfd with known contents in a LUO
# session and kexecs with KHO; stage 2 retrieves the session and verifies
# every byte.
. /lib/lu.sh

case "$1" in
1)
	lu_kexec luo-memfd preserve $(lu_args) --
	lu_say "LU-ERROR kexec did not happen"
	exit 1 ;;
2)
	lu_run luo-memfd verify $(lu_args) ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
