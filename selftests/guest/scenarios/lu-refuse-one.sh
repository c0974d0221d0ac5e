# SPDX-License-Identifier: GPL-2.0
# One preserved device refused, the other kept: two VMMs preserve the two
# edu devices, both behind the same VT-d unit, each in a session of its own
# (lu-vfio preserve --second-session), and the first device's entry is
# damaged just before the kexec, in the way lu.args names (device-context:
# its recorded context entry, which the kexec's own check then clears;
# device-did: its recorded domain id). Stage 2: the unit is
# adopted with the second device only; the first device's DMA faults and
# its session gives its iommufd back without the HWPT; the second session
# is retrieved and its device works through its restored HWPT.
. /lib/lu.sh

case "$1" in
1)
	LU_CORRUPT="$(lu_args) $(lu_edu_bdf 1)" \
		lu_vfio_preserve_kexec --second-session ;;
2)
	lu_run lu-vfio retrieve-refused ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
