# SPDX-License-Identifier: GPL-2.0
"""Fault injection over the preserve operations of the device live update
(lu-failnth): each allocation (each fault point: with CONFIG_IOMMUFD_TEST,
iommufd's object lookups too) of the HWPT mark and of the LUO preserves of
the memfd, the iommufd and the VFIO device fails in turn (fail-nth); every
failure must leave nothing behind, and the live update made after all of
them must work."""

import re

import pytest

from harness import qemu
from test_iommufd_lu import (RETRIEVE_CHECKS, _assert_checks,
                             _assert_device_updated, _assert_incoming)

pytestmark = pytest.mark.qemu

OPS = ("mark", "memfd", "iommufd", "device")
# What lu-failnth checks over the failed calls of each operation; the
# memfd's state cannot be asked about without preserving it
OP_CHECKS = ("succeeded", "errno", "dump_unchanged", "entries_unchanged",
             "kho_no_leak", "state")
# The preserves, whose failure paths the sweep is about: some failed
# allocation must make each fail. (The mark's one allocation is an
# xarray's, which retries a failed allocation.)
FAILING = ("memfd", "iommufd", "device")
# Operations whose successful call preserves pages with KHO: the kprobes
# that count the preserved page ranges must see them, or a leak would not
# show either
KHO_KEEPERS = ("memfd", "iommufd", "device")
RESULTS = ("sites", "points", "failed", "tolerated", "errnos", "kho_kept")

# warn_alloc()'s report of a failed allocation, followed by a stack dump:
# what vmalloc() prints when lu-failnth fails one of its allocations. Not a
# kernel bug, unlike any other stack dump.
ALLOC_REPORT = re.compile(r"\] lu-failnth: (vmalloc error|page allocation failure): ")


def _failnth_checks():
    return ["dma_before_sweep"] + [
        f"failnth_{op}_{check}" for op in OPS for check in OP_CHECKS
        if (op, check) != ("memfd", "state")]


def _splats(run):
    """The kernel splats of `run` but for the stack dumps of the allocation
    failure reports that lu-failnth's failed allocations caused; and how
    many such reports there were."""
    splats, reports, in_report = [], 0, False
    for line in run.lines:
        if ALLOC_REPORT.search(line):
            reports += 1
            in_report = True
        elif in_report and "</TASK>" in line:
            in_report = False
        elif qemu.SPLATS.search(line) and not (in_report and "Call Trace:" in line):
            splats.append(line)
    return splats, reports


def _failnth_run(request, machine):
    """The lu-failnth scenario on `machine`, checked as the guest fixture
    checks a run, but for the allocation failure reports (_splats)."""
    run = qemu.run(machine, "lu-failnth", edu=2, timeout=900,
                   name=request.node.name.replace("/", "_"))
    assert not run.timed_out, f"guest timed out after {run.seconds:.0f}s; {run.describe()}"
    splats, reports = _splats(run)
    assert not splats, "kernel splat:\n" + "".join(splats[:10]) + run.describe()
    assert run.done, f"guest never reached LU-DONE; {run.describe()}"
    failed = run.failed_checks()
    assert not failed, "guest checks failed:\n  " + "\n  ".join(failed) + \
        "\n" + run.describe()
    assert run.rc == 0, f"scenario exit status {run.rc}; {run.describe()}"
    print(f"{machine}: {reports} allocation failure reports (warn_alloc) in "
          f"the kernel log, {run.seconds:.0f} s")
    return run


# The preserve paths are the core's, iommufd's and VFIO's, the same on
# both machines but for the driver's unit entry: one machine in make check
# (about 110 s of QEMU); the sweep passes on amdvi too (docs/development.md)
@pytest.mark.machines("vtd")
def test_preserve_fault_injection(request, machine):
    """For each preserve operation, its n-th fault point fails, n = 1, 2,
    ... until the call passes no n-th one: every call that failed returned
    ENOMEM for an allocation (ENOENT for an iommufd object lookup), left
    lutrace's dump of the outgoing state byte for byte as it was (the same
    entries per chain), unpreserved every page range it had preserved with
    KHO and no other, and left the HWPT unmarked, the iommufd and the
    device unpreserved; then the call succeeded. Each operation has
    allocations that were failed (a sweep that injects nothing proves
    nothing), and each preserve failed on some. After the sweep the memfd,
    the iommufd and the device, preserved by those last calls, go through a
    kexec: the DMA started before it lands, the device comes back on its
    restored HWPT and works."""
    run = _failnth_run(request, machine)
    s1 = run.stage(1)
    _assert_checks(run, 1, _failnth_checks())
    for op in OPS:
        res = {k: s1.results.get(f"failnth_{op}_{k}") for k in RESULTS}
        assert None not in res.values(), f"{op}: {res}; {run.describe()}"
        print(f"{machine}: {op}: {res['sites']} allocation sites of "
              f"{res['points']} fault points, {res['failed']} failed calls "
              f"(errnos {res['errnos']}), {res['tolerated']} failures "
              f"survived, {res['kho_kept']} page ranges preserved by the "
              f"last call")
        assert int(res["sites"]) > 0, \
            f"{op}: no allocation was failed: {res}; {run.describe()}"
        if op in FAILING:
            assert int(res["failed"]) > 0, \
                f"{op}: no failure made the call fail: {res}; {run.describe()}"
        if op in KHO_KEEPERS:
            assert int(res["kho_kept"]) > 0, \
                f"{op}: the KHO probes saw no preservation: {res}; {run.describe()}"

    _assert_checks(run, 2, RETRIEVE_CHECKS)
    _assert_incoming(run, 2)
    _assert_device_updated(run, s1.results["edu_bdf"])
    assert run.stage(2).results.get("edu_dma") == "ok", run.describe()
