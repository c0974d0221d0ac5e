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
    "cancel_trace_pt_preserve", "cancel_trace_pt_unpreserve",
    "preserve_before_memfd_refused", "preserve_memfd_ok", "preserve_iommufd_ok",
)
RETRIEVE_CHECKS = (
    "memfd_has_dma_data", "iommufd_retrieve_unsupported", "session_finish_ok",
)


def test_iommufd_preserve_across_kexec(guest, machine):
    """The marked HWPT's page table goes to the next kernel with the
    iommufd: the IOMMU state there holds one valid domain entry, which the
    iommufd handler finds by the HWPT's token. Rebuilding the HWPT needs the
    preserved device (not implemented yet), so retrieving the iommufd is
    refused with EOPNOTSUPP, cleanly."""
    run = guest(machine, "lu-iommufd")
    s1, s2 = run.stage(1), run.stage(2)
    for stage, names in ((s1, PRESERVE_CHECKS), (s2, RETRIEVE_CHECKS)):
        for name in names:
            assert name in stage.checks, f"{name}: check missing; {run.describe()}"
            ok, detail = stage.checks[name]
            assert ok, f"{name}: {detail}; {run.describe()}"
    # The next kernel validated the handed-over state: the domain entry of
    # the HWPT's page table, and nothing else.
    assert run.grep(r"iommu-lu: incoming state: 0 hw units, 1 domains, 0 devices valid",
                    stage=2), run.describe()
    assert run.grep(r"iommufd: preserved HWPT 0x1234: domain 0, format [123], "
                    r"\d levels, [1-9]\d* table pages", stage=2), run.describe()
    assert not run.grep(r"refusing incoming", stage=2), run.describe()
    # The device works normally afterwards.
    assert s2.results.get("edu_dma") == "ok", run.describe()
