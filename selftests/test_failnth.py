# SPDX-License-Identifier: GPL-2.0
"""Allocation fault injection over the preserve operations of the device
live update (lu-failnth): each allocation of the HWPT mark and of the LUO
preserves of the memfd, the iommufd and the VFIO device fails in turn
(fail-nth); every failure must leave nothing behind, and the live update
made after all of them must work."""

import pytest

from test_iommufd_lu import (RETRIEVE_CHECKS, _assert_checks,
                             _assert_device_updated, _assert_incoming)

pytestmark = pytest.mark.qemu

OPS = ("mark", "memfd", "iommufd", "device")
# What lu-failnth checks over the failed calls of each operation; the
# memfd's state cannot be asked about without preserving it
OP_CHECKS = ("succeeded", "errno", "dump_unchanged", "entries_unchanged",
             "kho_no_leak", "state")
# Operations whose successful call preserves pages with KHO: the kprobes
# that count the preserved page ranges must see them, or a leak would not
# show either
KHO_KEEPERS = ("memfd", "iommufd")


def _failnth_checks():
    return ["dma_before_sweep"] + [
        f"failnth_{op}_{check}" for op in OPS for check in OP_CHECKS
        if (op, check) != ("memfd", "state")]


def test_preserve_allocation_failures(guest, machine):
    """For each preserve operation, its n-th allocation fails, n = 1, 2, ...
    until the call makes no n-th allocation: every call that failed
    returned ENOMEM and left lutrace's dump of the outgoing state byte for
    byte as it was (the same entries per chain), unpreserved every page
    range it had preserved with KHO and no other, and left the HWPT
    unmarked, the iommufd and the device unpreserved; the call then
    succeeded. Each operation had allocations to fail and failed on some
    (a sweep that injects nothing proves nothing). After the sweep the
    memfd, the iommufd and the device, preserved by those last calls, go
    through a kexec: the DMA started before it lands, the device comes back
    on its restored HWPT and works."""
    run = guest(machine, "lu-failnth", edu=2, timeout=900)
    s1 = run.stage(1)
    _assert_checks(run, 1, _failnth_checks())
    for op in OPS:
        res = {k: s1.results.get(f"failnth_{op}_{k}")
               for k in ("sites", "failed", "tolerated", "errnos", "kho_kept")}
        print(f"{machine}: {op}: {res['sites']} allocation sites, "
              f"{res['failed']} failed calls, {res['tolerated']} failures "
              f"tolerated, errnos {res['errnos']}, "
              f"{res['kho_kept']} KHO page ranges kept by the last call")
        assert res["sites"] is not None and int(res["sites"]) > 0, \
            f"{op}: no allocation failed: {res}; {run.describe()}"
        assert int(res["failed"]) > 0, \
            f"{op}: no failed allocation made the call fail: {res}; {run.describe()}"
        if op in KHO_KEEPERS:
            assert int(res["kho_kept"]) > 0, \
                f"{op}: the KHO probes saw no preservation: {res}; {run.describe()}"

    _assert_checks(run, 2, RETRIEVE_CHECKS)
    _assert_incoming(run, 2)
    _assert_device_updated(run, s1.results["edu_bdf"])
    assert run.stage(2).results.get("edu_dma") == "ok", run.describe()
