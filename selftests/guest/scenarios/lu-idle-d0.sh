# SPDX-License-Identifier: GPL-2.0
# An idle preserved device bound to vfio-pci in the new kernel stays in D0.
# With runtime PM, vfio-pci suspends a device it is bound to (D3hot) until
# user space opens it; a preserved device is bound to vfio-pci again before
# its VMM retrieves it, and must keep doing its DMA for the VM meanwhile.
# QEMU's edu has no PCI power management capability, its e1000e has one:
# the machine has two edu and two e1000e devices.
#
# Stage 1 preserves as lu-iommufd does (memfd, iommufd, marked HWPT, the
# first edu) and the first e1000e with them (lu-vfio preserve
# --extra-device): bound to the same iommufd, attached to the same marked
# HWPT, preserved after the iommufd with a token of its own. The second
# e1000e is not preserved: it is the control.
#
# Stage 2 (lu-vfio retrieve --extra-device --idle-control): the first edu
# and both e1000e are bound to vfio-pci and left idle for 3 s, not opened;
# then the control must be in D3hot (runtime PM works in this guest) and
# the preserved e1000e in D0 (preserved_idle_d0). The session, the
# iommufd, the edu and the e1000e are retrieved and attached to the
# restored HWPT, the edu's DMA checked through it; the opened e1000e is in
# D0 (preserved_retrieved_d0). After the FINISH, its fds closed, the
# update no longer holds it: vfio-pci suspends it as any idle device
# (released_suspends).
. /lib/lu.sh

# The n-th QEMU e1000e (8086:10d3)
e1000e_bdf() {
	lu_pci_bdf 0x8086 0x10d3 "$1"
}

case "$1" in
1)
	lu_vfio_preserve_kexec --extra-device "$(e1000e_bdf 1)" ;;
2)
	lu_run lu-vfio retrieve --extra-device "$(e1000e_bdf 1)" \
		--idle-control "$(e1000e_bdf 2)" ;;
*)
	lu_say "LU-ERROR no stage $1 in this scenario"; exit 2 ;;
esac
