# SPDX-License-Identifier: GPL-2.0
"""iommufd live update marks: the rules of IOMMU_HWPT_LU_SET_PRESERVE,
checked in the guest by lu-vfio mark-checks on an edu device."""

import pytest

pytestmark = pytest.mark.qemu

MARK_CHECKS = (
    "dma_before_mark",
    # Refused marks
    "mark_anon_refused", "mark_bad_flags_refused", "mark_bad_reserved_refused",
    "mark_bad_id_refused", "mark_unknown_id_refused",
    "mark_ok",
    # The marked HWPT's IOAS is immutable
    "ioas_map_file_busy", "ioas_map_busy", "ioas_unmap_busy",
    "ioas_allow_iovas_busy", "ioas_copy_busy",
    "hwpt_alloc_after_mark", "hwpt_destroy_unmarked_ok",
    # One mark per HWPT, one HWPT per token
    "mark_twice_refused", "mark_dup_token_refused", "mark_second_ok",
    "hwpt_destroy_busy",
    "dma_after_mark",
    # The marks die with the iommufd
    "unmarked_after_close",
)


def test_hwpt_mark_rules(guest, machine):
    run = guest(machine, "lu-mark")
    s1 = run.stage(1)
    checks = s1.checks
    for name in MARK_CHECKS:
        assert name in checks, f"{name}: check missing; {run.describe()}"
        ok, detail = checks[name]
        assert ok, f"{name}: {detail}; {run.describe()}"
    assert s1.rc == 0, f"scenario exit status {s1.rc}; {run.describe()}"
    assert s1.results.get("lu_mark") == "ok", run.describe()


PRESERVE_CHECKS = (
    "dma_before_preserve",
    # A cancelled session preserved and then unpreserved everything
    "cancel_trace_pt_preserve", "cancel_trace_hw_unit_preserve",
    "cancel_trace_device_preserve", "cancel_trace_device_unpreserve",
    "cancel_trace_pt_unpreserve",
    # Order and attachment rules
    "preserve_before_memfd_refused", "preserve_memfd_ok",
    "preserve_device_before_iommufd_refused", "preserve_iommufd_ok",
    "preserve_device_unmarked_refused", "preserve_device_ok",
)
RETRIEVE_CHECKS = (
    "inflight_dma_landed",
    "bus_master_kept", "bus_master_cleared_unpreserved",
    "dma_after_update_no_map", "dma_to_unmapped_issued",
    # The iommufd and the device come back and keep translating
    "retrieve_unknown_token_refused", "iommufd_retrieved",
    "iommufd_second_retrieve_same", "get_id_unknown_refused", "get_id_ok",
    "device_retrieved", "bind_new_iommufd_refused", "device_bind_ok", "restored_ioas_immutable",
    "restored_hwpt_destroy_busy", "dma_restored_hwpt",
    "dma_unmapped_after_attach_issued",
    "session_finish_ok",
)


def test_preserve_across_kexec(lu_e2e):
    """The marked HWPT's page table, its VT-d unit and the edu device attached
    to it go to the next kernel with the iommufd and the device cdev: the
    IOMMU state there holds exactly one valid entry of each kind; DMA
    started before the kexec lands, the VT-d unit keeps translating through
    the adopted tables, the iommufd and the device are retrieved and the
    device re-attached without a change in the hardware, and both edu
    devices then work normally."""
    run = lu_e2e
    s1, s2 = run.stage(1), run.stage(2)
    for stage, names in ((s1, PRESERVE_CHECKS), (s2, RETRIEVE_CHECKS)):
        for name in names:
            assert name in stage.checks, f"{name}: check missing; {run.describe()}"
            ok, detail = stage.checks[name]
            assert ok, f"{name}: {detail}; {run.describe()}"
    assert run.grep(r"iommu-lu: incoming state: 1 hw units, 1 domains, 1 devices valid",
                    stage=2), run.describe()
    assert run.grep(r"iommufd: restored HWPT 0x1234: domain 0, format 1, "
                    r"\d levels, [1-9]\d* table pages", stage=2), run.describe()
    edu = s1.results["edu_bdf"]
    assert run.grep(rf"{edu}: iommu-lu: restored its preserved domain 0", stage=2), \
        run.describe()
    assert run.grep(rf"{edu}: vfio: retrieved the preserved device \(HWPT 0x1234\)",
                    stage=2), run.describe()
    # Attaching the retrieved device to the restored HWPT kept the context
    # entry the unit adopted, with its domain id: no change in the hardware.
    assert run.grep(rf"DMAR: dmar\d+: live update: {edu[5:]} keeps its context entry",
                    stage=2), run.describe()
    assert not run.grep(r"refusing incoming", stage=2), run.describe()
    # VT-d adopted the preserved tables instead of clearing them...
    assert run.grep(r"DMAR: dmar\d+: live update: adopted the root table "
                    r"with 1 preserved device", stage=2), run.describe()
    # ...and they still block what was never mapped: the DMA to it faulted.
    blocked = s2.results["blocked_dma_iova"]
    addr = format(int(blocked, 16), "x")
    assert run.grep(rf"DMAR: .*\[DMA Write.*\] Request device \[00:0?{edu[-4:-2]}\.0\]"
                    rf".*fault addr 0x0*{addr}", stage=2) or \
        run.grep(rf"DMAR: .*fault addr 0x0*{addr}", stage=2), run.describe()
    # Through the restored HWPT, a never mapped IOVA is blocked as well.
    addr2 = format(int(s2.results["blocked_dma_iova_attached"], 16), "x")
    assert run.grep(rf"DMAR: .*fault addr 0x0*{addr2}", stage=2), run.describe()
    # Both devices work normally afterwards, the one that was not preserved
    # included.
    dma_ok = [l for l in s2.lines if "LU-RESULT" in l and "edu_dma ok" in l]
    assert len(dma_ok) == 2, f"edu DMA after the update: {dma_ok}; {run.describe()}"


AGAIN_CHECKS = ("remark_restored_hwpt_ok", "again_preserve_memfd_ok",
                "again_preserve_iommufd_ok", "again_preserve_device_ok")


def test_two_updates_in_a_row(guest):
    """Preserve, kexec, restore, preserve again, kexec, restore: the
    restored HWPT and device are preserved like new ones, and the device's
    DMA keeps going through both updates."""
    run = guest("vtd", "lu-iommufd-twice", edu=2)
    s2, s3 = run.stage(2), run.stage(3)
    for stage, names in ((s2, RETRIEVE_CHECKS[:-1] + AGAIN_CHECKS),
                         (s3, RETRIEVE_CHECKS)):
        for name in names:
            assert name in stage.checks, \
                f"stage {stage.number}: {name}: check missing; {run.describe()}"
            ok, detail = stage.checks[name]
            assert ok, f"stage {stage.number}: {name}: {detail}; {run.describe()}"
    for n in (2, 3):
        assert run.grep(r"iommu-lu: incoming state: 1 hw units, 1 domains, 1 devices valid",
                        stage=n), run.describe()
        assert run.grep(r"live update: \S+ keeps its context entry", stage=n), \
            run.describe()
    assert s3.results.get("edu_dma") == "ok", run.describe()


def test_cancel_leaves_nothing(guest):
    """A session closed before the kexec unpreserves everything: the next
    kernel boots as usual, with no IOMMU state handed over and translation
    started from scratch, and the device works."""
    run = guest("vtd", "lu-cancel", edu=2)
    for name in ("cancel_trace_pt_preserve", "cancel_trace_device_unpreserve",
                 "cancel_trace_pt_unpreserve"):
        ok, detail = run.stage(1).checks[name]
        assert ok, f"{name}: {detail}; {run.describe()}"
    assert not run.grep(r"iommu-lu: incoming state", stage=2), run.describe()
    assert not run.grep(r"live update: adopted", stage=2), run.describe()
    assert not run.grep(r"Translation was enabled", stage=2), run.describe()
    assert run.stage(2).results.get("edu_dma") == "ok", run.describe()


def test_destroy_restored_hwpt_early(guest):
    """Destroying a restored HWPT before its device was attached again must
    not free the page table the device is still translated by: the kernel
    leaks it, says so, and the device's DMA keeps working."""
    run = guest("vtd", "lu-destroy-early", edu=2)
    s2 = run.stage(2)
    for name in ("restored_hwpt_destroy_early_ok", "dma_after_early_destroy",
                 "session_finish_ok"):
        assert name in s2.checks, f"{name}: check missing; {run.describe()}"
        ok, detail = s2.checks[name]
        assert ok, f"{name}: {detail}; {run.describe()}"
    assert run.grep(r"iommufd: restored HWPT 0x1234 destroyed while a preserved "
                    r"device still uses its page table: leaking it", stage=2), \
        run.describe()
