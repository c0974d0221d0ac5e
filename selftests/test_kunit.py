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
    # Each corruption case is refused with one clear log line.
    assert run.grep(r"iommu-lu: refusing incoming device \d+: .*points at domain"), \
        run.describe()
