# SPDX-License-Identifier: GPL-2.0
"""PCI topologies for the device live update tests.

Each topology is a set of QEMU devices at fixed addresses (addr= on every
device; the firmware numbers the buses depth first), so that every BDF
below is known before the guest boots, and the roles of its edu devices:
which are preserved, and the control, an edu device on bus 0 that is never
preserved. The guest learns the roles from the kernel command line,
lu.edus=BDF,... (the preserved devices first, the control last), which
pci_find_edu_nth() in guest/edu-vfio.h and lu_edu_bdf in guest/lib/lu.sh
honour.

`how` says how scenario lu-topo preserves the devices (its lu.args=):
  one            the one preserved edu, as lu-iommufd does
  one-hwpt       the preserved edu (two to four) attached to one marked
                 HWPT, preserved in one session (lu-vfio preserve
                 --extra-device, once for each after the first)
  sessions       two edu, each preserved by a process (a VMM) of its own,
                 in a session of its own, with its own memfd, iommufd and
                 marked HWPT
  group-refused  the first edu alone, the other member of its IOMMU group
                 not bound: the preserve must be refused
"""

from dataclasses import dataclass, field

# The control: on bus 0, next to where edu devices always were
CONTROL = "0000:00:02.0"
ROOT_PORT = "0000:00:04.0"


@dataclass(frozen=True)
class Topology:
    name: str
    devices: tuple          # QEMU -device values, in creation order
    preserved: tuple        # BDFs of the preserved edu devices
    how: str = "one"
    # BDF -> the bridges above it, from the root bus down (sysfs path)
    bridges: dict = field(default_factory=dict)
    # BDF -> the requester ID the IOMMU sees for its DMA, where it is an
    # alias (behind a PCIe-to-PCI bridge: secondary bus, devfn 00.0)
    requester: dict = field(default_factory=dict)
    control: str = CONTROL

    def qemu_args(self):
        args = []
        for dev in self.devices:
            args += ["-device", dev]
        return args

    def append(self):
        """The kernel command line words that name the edu devices."""
        return ("lu.edus=" + ",".join(self.preserved + (self.control,)),)

    def requester_of(self, bdf):
        return self.requester.get(bdf, bdf)

    def bridges_of(self, bdf):
        return tuple(self.bridges.get(bdf, ()))

    @property
    def domains(self):
        """Marked HWPTs preserved: one per session."""
        return len(self.preserved) if self.how == "sessions" else 1


_CONTROL_EDU = "edu,bus=pcie.0,addr=0x2"
_ROOT_PORT = "pcie-root-port,id=rp1,bus=pcie.0,addr=0x4,chassis=1,slot=1"
# Four edu on bus 0 (slots 1, 3, 4, 5) and the control (slot 2)
_FOUR_EDU = ("edu,bus=pcie.0,addr=0x1", _CONTROL_EDU,
             "edu,bus=pcie.0,addr=0x3", "edu,bus=pcie.0,addr=0x4",
             "edu,bus=pcie.0,addr=0x5")

TOPOLOGIES = {t.name: t for t in (
    # lu-iommufd's machine: the preserved edu on bus 0
    Topology("bus0", ("edu,bus=pcie.0,addr=0x1", _CONTROL_EDU),
             ("0000:00:01.0",)),
    # Behind a PCIe root port (secondary bus 1)
    Topology("rootport", (_ROOT_PORT, "edu,bus=rp1,addr=0x0", _CONTROL_EDU),
             ("0000:01:00.0",),
             bridges={"0000:01:00.0": (ROOT_PORT,)}),
    # Behind a switch under a root port: upstream port 01:00.0, downstream
    # port 02:00.0, the edu on bus 3
    Topology("switch", (_ROOT_PORT,
                        "x3130-upstream,id=up1,bus=rp1,addr=0x0",
                        "xio3130-downstream,id=dn1,bus=up1,addr=0x0,chassis=2,slot=1",
                        "edu,bus=dn1,addr=0x0", _CONTROL_EDU),
             ("0000:03:00.0",),
             bridges={"0000:03:00.0": (ROOT_PORT, "0000:01:00.0", "0000:02:00.0")}),
    # Two edu on the conventional PCI bus (2) of a PCIe-to-PCI bridge
    # (01:00.0) under a root port: both DMA with the bridge's alias
    # requester ID 02:00.0 and are one IOMMU group, preserved together on
    # one marked HWPT. (Slot 0 of the bridge's bus is its hotplug
    # controller's: the edu devices are in slots 1 and 2.)
    Topology("bridge-pair", (_ROOT_PORT,
                             "pcie-pci-bridge,id=pb1,bus=rp1,addr=0x0",
                             "edu,bus=pb1,addr=0x1", "edu,bus=pb1,addr=0x2",
                             _CONTROL_EDU),
             ("0000:02:01.0", "0000:02:02.0"), how="one-hwpt",
             bridges={bdf: (ROOT_PORT, "0000:01:00.0")
                      for bdf in ("0000:02:01.0", "0000:02:02.0")},
             requester={bdf: "0000:02:00.0"
                        for bdf in ("0000:02:01.0", "0000:02:02.0")}),
    # Two edu on bus 0 on one marked HWPT (the control between them in bus
    # order)
    Topology("two-one-hwpt", ("edu,bus=pcie.0,addr=0x1", _CONTROL_EDU,
                              "edu,bus=pcie.0,addr=0x3"),
             ("0000:00:01.0", "0000:00:03.0"), how="one-hwpt"),
    # The same machine, the two edu preserved by two VMMs
    Topology("two-sessions", ("edu,bus=pcie.0,addr=0x1", _CONTROL_EDU,
                              "edu,bus=pcie.0,addr=0x3"),
             ("0000:00:01.0", "0000:00:03.0"), how="sessions"),
    # Four edu on bus 0 on one marked HWPT, and the same machine with only
    # the last of them preserved (the same PCI devices probed up to the
    # last preserved one): selftests/bench/lu_restore_devices.py, no test
    Topology("four-one-hwpt", _FOUR_EDU,
             ("0000:00:01.0", "0000:00:03.0", "0000:00:04.0", "0000:00:05.0"),
             how="one-hwpt"),
    Topology("four-last-only", _FOUR_EDU, ("0000:00:05.0",)),
)}
