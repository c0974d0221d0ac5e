# SPDX-License-Identifier: GPL-2.0
"""Every class of damage the next kernel refuses, through a real kexec.

Two VMMs preserve one edu device each, in sessions of their own, on HWPTs
(domains) of their own, behind one IOMMU; just before the kexec the
outgoing state is damaged in one named way (CONFIG_IOMMU_LIVEUPDATE_DEBUG,
debugfs iommu_lu/corrupt; scenario lu-corrupt-class). For each class the
next kernel must: log its refusal and boot; record why in the incoming
state, where lutrace reads it; block the DMA of what it refused (DMAR
faults on VT-d; on AMD-Vi, whose faults QEMU does not log, the
untranslated-DMA probe), never let it through untranslated; and, where the
class allows, keep the other device working through its restored domain.
One guest run per class, on vtd; on amdvi too where the driver's part
differs (its own checks of a device, its page table format, a unit without
state), not where the core alone decides.
"""
import json
import re
from dataclasses import dataclass

import pytest

from test_lutrace_check import assert_incoming_check
from test_iommufd_lu import (NO_STATE, PRESERVE_CHECKS, REFUSED_ONE_CHECKS,
                             RESTORED_DEVICE_CHECKS, SECOND_SESSION_CHECKS,
                             UNIT_PREFIX, _adopted, _assert_checks,
                             _assert_dma_blocked, _changed_at_kexec, _hitless)


@dataclass(frozen=True)
class Damage:
    target: str      # "-": the state; a chain name; "edu": the first device
    scope: str       # what the next kernel loses: "one" device or "all"
    log: str         # stage 2's refusal line (regular expression)
    reason: str      # the kernel's reason code for the refused object
    chain: str       # the chain of the refused object ("state": the root)
    machines: tuple = ("vtd",)
    # The reason on the damaged device's row of lutrace's matching table,
    # when it is not `reason` (the device lost with its domain); None:
    # no row is checked (a chain or the state refused as a whole)
    device: str = ""


REFUSING = r"iommu-lu: refusing incoming"
DAMAGE = {
    "root-magic": Damage("-", "all", rf"{REFUSING} state: bad magic",
                         "root-magic", "state", device=None),
    "abi-version": Damage("-", "all",
                          rf"{REFUSING} state: ABI version \d+, this kernel reads \d+",
                          "abi-version", "state", device=None),
    # No unit entry matches the unit: the driver finds no state for it and
    # blocks everything; each device is not restored because of its unit
    # (the unit's entry, matched by nothing, gets no record of its own)
    "hw-unit-token": Damage("-", "all", "NO_STATE", "hw-unit-refused", "device",
                            ("vtd", "amdvi")),
    "chain-loop": Damage("device", "all",
                         rf"{REFUSING} device chain: block \d+ at \S+ loops back "
                         r"or is used twice", "chain-loop", "device", device=None),
    "block-count": Damage("domain", "all",
                          rf"{REFUSING} domain chain: block 0 has \d+ entries, "
                          r"the limit is \d+", "block-count", "domain",
                          device="no-domain"),
    "entry-index": Damage("edu", "one", rf"{REFUSING} device \d+: index field says \d+",
                          "entry-index", "device"),
    "device-refcount": Damage("edu", "one", rf"{REFUSING} device \d+: refcount 2",
                              "refcount", "device"),
    "device-hw-unit": Damage("edu", "one",
                             rf"{REFUSING} device \d+: \S+ points at hw_unit "
                             r"4294967295, which is not a valid entry",
                             "no-hw-unit", "device"),
    # Two entries with one PCI address: which is right is unknown, both go
    "device-bdf": Damage("edu", "all",
                         rf"{REFUSING} device \d+: entry \d+ has the same PCI address",
                         "duplicate", "device"),
    "domain-levels": Damage("edu", "one",
                            rf"{REFUSING} domain \d+: page table levels out of range",
                            "entry-field", "domain", device="no-domain"),
    "domain-top-table": Damage("edu", "one",
                               rf"{REFUSING} domain \d+: top table \S+ was not preserved",
                               "top-table", "domain", device="no-domain"),
    # The walk at the domain's restore (generic_pt) finds a table twice
    "pt-loop": Damage("edu", "one",
                      rf"{REFUSING} domain \d+: table page is used twice \(a loop\?\)",
                      "page-table", "domain", ("vtd", "amdvi"), device="domain-refused"),
    "pt-leaf-size": Damage("edu", "one",
                           rf"{REFUSING} domain \d+: entry larger than its table",
                           "page-table", "domain", ("amdvi",),
                           device="domain-refused"),
    # The recorded context entry (DTE): the kexec's own check blocks it
    "device-context": Damage("edu", "one", "DRIVER", "device-entry", "device",
                             ("vtd", "amdvi")),
    "device-did": Damage("edu", "one", "DRIVER", "domain-id", "device",
                         ("vtd", "amdvi")),
}
# The IOMMU driver's words for a device it refuses (Damage.log "DRIVER")
DRIVER_WHY = {
    "vtd": {"device-context": "context entry changed",
            "device-did": "domain id out of range"},
    "amdvi": {"device-context": "device table entry not as written",
              "device-did": "domain id not the device table entry's"},
}
CASES = [pytest.param((m, what), id=f"{m}-{what}")
         for what, d in DAMAGE.items() for m in d.machines]
# The state refused as a whole on a kernel whose default domains pass DMA
# through untranslated: the devices the previous kernel left bus mastering,
# which no entry names any more, must be stopped at probe
PASSTHROUGH = ("root-magic", "chain-loop")


def _refusal_line(run, what):
    d = DAMAGE[what]
    if d.log == "NO_STATE":
        return NO_STATE[run.machine]
    if d.log == "DRIVER":
        why = re.escape(DRIVER_WHY[run.machine][what])
        return rf"{REFUSING} device \d+: {why}"
    return d.log


def _assert_lutrace_reasons(run, what, bdfs):
    """lutrace read the kernel's reasons in stage 2, before anything
    finished: `dump --incoming` lists the refusal of the damaged object
    with its reason, and the row of each device in `bdfs` (the devices
    whose entries were damaged) in its matching table is refused with
    the kernel's reason for it; `check --incoming` is CRITICAL and names
    each refusal (test_lutrace_check.assert_incoming_check)."""
    d = DAMAGE[what]
    stage = run.stage(2)
    text = stage.blob("incoming")
    assert text, f"no lutrace dump --incoming output; {run.describe()}"
    dump = json.loads(text)
    ours = [r for r in dump["refusals"]
            if r["chain"] == d.chain and r["reason"] == d.reason]
    assert ours, f"{d.chain} {d.reason} not among {dump['refusals']}; {run.describe()}"
    # Nothing else was refused but what the damage explains: the refused
    # object, and the devices and units lost with it
    follow = {"no-domain", "no-hw-unit", "domain-refused", "hw-unit-refused",
              "refcount", "no-users"}
    others = [r for r in dump["refusals"] if r not in ours and r["reason"] not in follow]
    assert not others, f"refusals the damage does not explain: {others}; {run.describe()}"
    if d.chain == "state" or d.device is None:
        assert all(r["index"] is None for r in ours), ours
    if d.device is not None:
        want = d.device or d.reason
        for bdf in bdfs:
            # The entry preserved for it; an entry whose index field is
            # damaged is shown on the row of the device present there
            rows = [r for r in dump["matching"] if r.get("preserved") == bdf] or \
                   [r for r in dump["matching"] if r.get("pci") == bdf and r.get("kernel")]
            assert rows, f"no matching row for {bdf}: {dump['matching']}"
            for r in rows:
                assert r["status"] == "refused" and r["kernel"]["reason"] == want, \
                    f"{bdf}: {r}, expected refused for {want}; {run.describe()}"
    assert stage.results.get("check-rc") == "2", run.describe()
    assert_incoming_check(stage, [(r["chain"], r["index"], r["reason"]) for r in ours])


@pytest.mark.parametrize("case", CASES)
def test_corruption_class(guest, case):
    machine, what = case
    d = DAMAGE[what]
    target = d.target
    run = guest(machine, "lu-corrupt-class", edu=2,
                args=(what, target, d.scope), allow_fail=True)
    s1, s2 = run.stage(1), run.stage(2)
    edu, edu2 = s1.results["edu_bdf"], s1.results["edu2_bdf"]
    arg = edu if target == "edu" else ("" if target == "-" else target)
    _assert_checks(run, 1, PRESERVE_CHECKS + SECOND_SESSION_CHECKS + ("corrupt_written",))
    assert run.grep(r"iommu-lu: debug: corrupted the outgoing state: "
                    rf"{re.escape((what + ' ' + arg).strip())} \(\d+ entries\)",
                    stage=1), run.describe()
    # The kexec's check of the recorded entries finds the changed one
    assert bool(_changed_at_kexec(run, edu)) == (what == "device-context"), \
        run.describe()

    # The next kernel boots, says why it refuses, and never turns
    # translation off
    assert s2.checks, f"stage 2 did not run; {run.describe()}"
    assert run.grep(_refusal_line(run, what), stage=2), run.describe()
    assert not run.grep(r"Translation was enabled for \S+ but we are not in "
                        r"kdump mode", stage=2), run.describe()
    assert not run.grep(rf"{re.escape(edu)}: iommu-lu: restored its preserved domain",
                        stage=2), run.describe()
    # Which entries the damage was done to: the first device's, both
    # devices' for what reaches every device of the unit, the second
    # device's address twice for device-bdf
    if what == "device-bdf":
        damaged = (edu2,)
    elif d.scope == "all":
        damaged = (edu, edu2)
    else:
        damaged = (edu,)
    _assert_lutrace_reasons(run, what, damaged)

    if d.scope == "one":
        # Exactly one device entry lost, and every refusal is about it
        dev_refusals = [r for r in json.loads(s2.blob("incoming"))["refusals"]
                        if r["chain"] == "device"]
        assert len({r["index"] for r in dev_refusals}) == 1, (dev_refusals, run.describe())
        # The first device alone is lost; the second works, hitless
        _assert_checks(run, 2, REFUSED_ONE_CHECKS)
        assert run.grep(r"iommufd: preserved HWPT 0x1234 not restored", stage=2), \
            run.describe()
        _assert_dma_blocked(run, 2, "refused", edu)
        assert run.grep(rf"{re.escape(edu2)}: iommu-lu: restored its preserved domain",
                        stage=2), run.describe()
        _assert_checks(run, 2, RESTORED_DEVICE_CHECKS + ("session_finish_ok",))
        assert run.grep(r"iommufd: restored HWPT 0x1235: domain \d+", stage=2), \
            run.describe()
        assert _hitless(run, 2, edu2), run.describe()
        if d.log == "DRIVER":
            why = re.escape(DRIVER_WHY[machine][what])
            assert run.grep(rf"{UNIT_PREFIX[machine]}: live update: device "
                            rf"{re.escape(edu)}: {why}; its DMA is blocked",
                            stage=2), run.describe()
            assert _adopted(run, 2, 1), run.describe()
    else:
        # Both are lost: neither device's DMA goes anywhere
        if d.chain == "state":
            # Refused as a whole: nothing of it is used
            assert not run.grep(r"iommu-lu: incoming state:", stage=2), run.describe()
        if target == "-":
            assert not run.grep(r"live update: adopted", stage=2), run.describe()
        if what == "hw-unit-token":
            for bdf in (edu, edu2):
                assert run.grep(rf"{re.escape(bdf)}: iommu-lu: its IOMMU did not "
                                r"adopt the preserved state: not restoring its "
                                r"domain \d+", stage=2), run.describe()
        assert not run.grep(r"iommu-lu: restored its preserved domain", stage=2), \
            run.describe()
        _assert_checks(run, 2, ("offdma_issued", "second_offdma_issued"))
        assert s2.results.get("offdma_bdf") == edu, run.describe()
        assert s2.results.get("second_offdma_bdf") == edu2, run.describe()
        _assert_dma_blocked(run, 2, "offdma", edu)
        _assert_dma_blocked(run, 2, "second_offdma", edu2)


@pytest.mark.parametrize("what", PASSTHROUGH)
def test_corruption_passthrough_stops_devices(guest, what):
    """The state (or its device chain) is refused as a whole, so no entry
    names the devices the previous kernel kept bus mastering; with
    iommu.passthrough=1 their default domain would pass their DMA through
    untranslated. The kernel stops each at probe: bus mastering off, the
    blocked domain, one log line each."""
    d = DAMAGE[what]
    run = guest("vtd", "lu-corrupt-class", edu=2, append=("iommu.passthrough=1",),
                args=(what, d.target, "master"), allow_fail=True)
    s1 = run.stage(1)
    edu, edu2 = s1.results["edu_bdf"], s1.results["edu2_bdf"]
    _assert_checks(run, 1, PRESERVE_CHECKS + SECOND_SESSION_CHECKS + ("corrupt_written",))
    assert run.grep(DAMAGE[what].log, stage=2), run.describe()
    for bdf in (edu, edu2):
        assert run.grep(rf"{re.escape(bdf)}: iommu-lu: not restored: bus mastering "
                        r"cleared, DMA blocked", stage=2), f"{bdf} not stopped; {run.describe()}"
    _assert_checks(run, 2, ("bus_master_off_1", "bus_master_off_2"))
