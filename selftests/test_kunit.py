# SPDX-License-Identifier: GPL-2.0
"""The kernel's built-in KUnit suites, run at boot in each guest. Every case
is listed in the "KUnit cases" section of the summary."""

import pytest

pytestmark = pytest.mark.qemu

# The IOMMU live update suite: a case that disappears is a failure too.
IOMMU_LU_CASES = [
    "lu_chain_grow_shrink", "lu_slot_reuse", "lu_roundtrip", "lu_lookup_o1",
    "lu_bad_root_not_preserved", "lu_bad_magic", "lu_bad_version",
    "lu_bad_block_not_preserved", "lu_bad_chain_cycle", "lu_bad_block_count",
    "lu_bad_nr_entries", "lu_bad_entry_index", "lu_bad_entry_flags",
    "lu_bad_domain_format", "lu_bad_domain_levels", "lu_bad_domain_width",
    "lu_bad_domain_table", "lu_bad_hw_type", "lu_bad_device_domain_index",
    "lu_bad_device_hw_index", "lu_bad_refcount", "lu_bad_duplicate_device",
    "lu_bad_duplicate_hw_unit", "lu_bad_shared_table", "lu_bad_reserved",
    "lu_bad_restored_on_arrival", "lu_bad_root_reserved", "lu_bad_short_block",
    "lu_bad_triple_duplicate",
]

# VT-d's live update checks that need no hardware (scalable mode: a device
# using a PASID other than 0 is not preserved; the alias word of a device
# entry from the previous kernel is parsed or refused; a context or PASID
# entry from it is kept only if it reads as the driver writes it, never
# pass-through, at the table's address width)
INTEL_LU_CASES = ["lu_pasid_only_zero", "lu_pasid_same_table", "lu_pasid_other_table",
                  "lu_pasid_empty_table", "lu_pasid_beyond_dir",
                  "lu_rids_valid", "lu_rids_malformed",
                  "lu_legacy_entry", "lu_sm_entry", "lu_pasid_entry"]
# The live update timeline: a full ring keeps the newest records, a step is
# recorded with its span and result, a handed-over ring that cannot be
# read is refused
TL_LU_CASES = ["lu_tl_wrap", "lu_tl_step", "lu_tl_refused"]
AMD_LU_CASES = ["lu_dte_ok", "lu_rids_valid", "lu_rids_malformed", "lu_intr_reset"]

# Page table live update, one suite per generic_pt format with a live
# update format id; each case runs once per configuration of the format.
PT_LU_SUITES = ["vtdss_iommu_lu_test", "x86_64_iommu_lu_test",
                "amdv1_iommu_lu_test", "amdv1_mock_iommu_lu_test"]
PT_LU_CASES = ["test_lu_empty", "test_lu_dense_pages", "test_lu_sparse",
               "test_lu_huge", "test_lu_unpreserve", "test_lu_preserve_fails",
               "test_lu_refuse"]
# What test_lu_refuse's cases must have been refused for, one line each.
PT_LU_REFUSALS = [
    "another page table format", "levels out of range", "address width differs",
    "output address width differs", "features differ",
    "reserved data is not zero", "no table pages",
    "more table pages than preserved", "fewer table pages than preserved",
    "bad top table address", "top table page was not preserved",
    "table page was not preserved", r"table page is used twice",
]


def test_kunit_at_boot(guest, machine):
    run = guest(machine, "boot", kunit=True, timeout=600)
    cases = run.kunit
    assert cases, f"no KUnit results on the console; {run.describe()}"
    failed = [c.id for c in cases if c.status == "fail"]
    assert not failed, f"KUnit cases failed: {failed}; {run.describe()}"
    lu = {c.name: c.status for c in cases if c.suite == "iommu_liveupdate"}
    missing = [n for n in IOMMU_LU_CASES if n not in lu]
    assert not missing, f"iommu_liveupdate cases did not run: {missing}; {run.describe()}"
    skipped = [n for n, st in lu.items() if st != "pass"]
    assert not skipped, f"iommu_liveupdate cases not passed: {skipped}"
    intel = {c.name: c.status for c in cases if c.suite == "intel_iommu_liveupdate"}
    bad = [n for n in INTEL_LU_CASES if intel.get(n) != "pass"]
    assert not bad, f"intel_iommu_liveupdate cases missing or not passed: {bad}; " \
        f"{run.describe()}"
    tl = {c.name: c.status for c in cases if c.suite == "iommu_liveupdate_timeline"}
    bad = [n for n in TL_LU_CASES if tl.get(n) != "pass"]
    assert not bad, f"iommu_liveupdate_timeline cases missing or not passed: {bad}; " \
        f"{run.describe()}"
    amd = {c.name: c.status for c in cases if c.suite == "amd_iommu_liveupdate"}
    bad = [n for n in AMD_LU_CASES if amd.get(n) != "pass"]
    assert not bad, f"amd_iommu_liveupdate cases missing or not passed: {bad}; " \
        f"{run.describe()}"
    # Each corruption case is refused with one clear log line.
    assert run.grep(r"iommu-lu: refusing incoming device \d+: .*points at domain"), \
        run.describe()
    # generic_pt: every page table live update case ran and passed...
    for suite in PT_LU_SUITES:
        got = {c.name: c.status for c in cases if c.suite == suite}
        assert got, f"suite {suite} did not run; {run.describe()}"
        bad = [n for n in PT_LU_CASES if got.get(n) != "pass"]
        assert not bad, f"{suite}: cases missing or not passed: {bad}"
    # ...and the refusals said why, with the kernel's log line.
    for why in PT_LU_REFUSALS:
        assert run.grep(r"iommu-lu: refusing incoming domain \d+: " + why), \
            f"no refusal for {why!r}; {run.describe()}"
    # generic_pt's own suites still pass with the live update changes (their
    # slow cases run in test_kunit_generic_pt_slow).
    pt = [c for c in cases if c.suite.endswith("_iommu_test")
          or c.suite.endswith("_fmt_test")]
    assert pt, f"generic_pt's suites did not run; {run.describe()}"


@pytest.mark.slow
def test_kunit_generic_pt_slow(guest):
    """generic_pt's cases marked slow (random maps), minutes under TCG."""
    run = guest("vtd", "boot", kunit=True, timeout=1200,
                kunit_filter=("kunit.filter=speed=slow",
                              "kunit.filter_glob=*_iommu_test"))
    cases = run.kunit
    assert cases, f"no KUnit results; {run.describe()}"
    failed = [c.id for c in cases if c.status == "fail"]
    assert not failed, f"KUnit cases failed: {failed}; {run.describe()}"
