# SPDX-License-Identifier: GPL-2.0
"""Baseline on both machines: the IOMMU is up, DMA goes through it, and a
live update (kexec with KHO) carries a memfd across."""

import pytest

pytestmark = pytest.mark.qemu

IOMMU_LU_EVENTS = {
    f"iommu_lu_{e}" for e in (
        "entry_alloc", "entry_free", "block_alloc", "block_free",
        "hw_unit_preserve", "hw_unit_unpreserve", "hw_unit_restore",
        "domain_preserve", "domain_unpreserve", "domain_restore",
        "device_preserve", "device_unpreserve", "device_restore",
        "match_hit", "match_miss",
        "flb_preserve", "flb_unpreserve", "flb_retrieve", "flb_finish",
        "pt_preserve", "pt_unpreserve", "pt_restore")}
UNIT_PREFIX = {"vtd": "dmar", "amdvi": "ivhd"}
# CONFIG_IOMMUFD_TEST (for generic_pt's mock format in KUnit) registers a
# software IOMMU of its own; it serves no PCI device.
MOCK_UNIT = "iommufd_selftest_iommu."
DRIVER_UP = {
    "vtd": r"DMAR: Intel\(R\) Virtualization Technology for Directed I/O",
    "amdvi": r"AMD-Vi: Interrupt remapping|AMD-Vi: Found IOMMU|pci 0000:00:0[0-9a-f]\.0: Adding to iommu group",
}


def test_boot(guest, machine):
    run = guest(machine, "boot")
    r = run.stage(1).results
    units = [u for u in r["iommu_units"].split() if not u.startswith(MOCK_UNIT)]
    assert units and all(u.startswith(UNIT_PREFIX[machine]) for u in units), r
    assert r["edu_iommu"] in units, r
    # A translated default domain, not identity/passthrough.
    assert r["edu_group_type"] in ("DMA", "DMA-FQ"), r
    # edu alone in its group.
    assert r["edu_group_devices"].split() == [r["edu_bdf"]], r
    assert run.grep(DRIVER_UP[machine]), f"no IOMMU driver banner; {run.describe()}"
    # The live update tracepoints, one trace system.
    events = set(r["iommu_lu_events"].split())
    assert IOMMU_LU_EVENTS <= events, sorted(IOMMU_LU_EVENTS - events)


def test_edu_dma_through_iommu(guest, machine):
    run = guest(machine, "dma")
    checks = run.stage(1).checks
    for name in ("edu_id", "dma_to_device", "dma_from_device",
                 "unmapped_write_blocked", "unmapped_read_blocked"):
        assert checks.get(name, (False,))[0], f"{name}: {checks.get(name)}; {run.describe()}"
    assert run.stage(1).results.get("edu_dma") == "ok"
    if machine == "vtd":
        # The blocked write is a DMAR fault the kernel reports.
        assert run.grep(r"DMAR: \[DMA (Write|Read)"), \
            f"no DMAR fault for the unmapped IOVA; {run.describe()}"


def test_edu_dma_wrong_iova_fails(guest, machine):
    """The DMA check must notice when the device is pointed at an IOVA that
    is not where the buffer is mapped."""
    run = guest(machine, "dma", args=("--dma-iova", "0x200000"), allow_fail=True)
    checks = run.stage(1).checks
    assert run.rc != 0, f"edu-dma passed with a wrong IOVA; {run.describe()}"
    assert checks.get("dma_from_device", (True,))[0] is False, checks


def test_live_update_memfd(guest, machine):
    run = guest(machine, "luo-memfd")
    assert run.stage(1).kexec, run.describe()
    assert run.stage(1).results.get("memfd_preserved"), run.describe()
    s2 = run.stage(2)
    assert s2.checks.get("memfd_size", (False,))[0], s2.checks
    assert s2.checks.get("memfd_contents", (False,))[0], s2.checks
    assert run.grep("KHO: found kexec handover data", stage=2), run.describe()
    assert run.grep("luo: Retrieved live update data", stage=2), run.describe()
