# SPDX-License-Identifier: GPL-2.0
"""The device live update through iommufd and VFIO, checked in the guest
by lu-vfio on edu devices: the rules of IOMMU_HWPT_LU_SET_PRESERVE, the
preserve and retrieve across a kexec, the kexecs the pre-flight refuses,
state the next kernel refuses (as a whole, or one device), and misuses."""

import contextlib
import json
import re

import pytest

from harness import qemu
from harness.topology import TOPOLOGIES
from test_lutrace import blob_json

pytestmark = pytest.mark.qemu


def _assert_checks(run, n, names):
    """Every check of `names` was done in stage `n`, and passed."""
    stage = run.stage(n)
    for name in names:
        assert name in stage.checks, \
            f"stage {n}: {name}: check missing; {run.describe()}"
        ok, detail = stage.checks[name]
        assert ok, f"stage {n}: {name}: {detail}; {run.describe()}"


def _dmar_fault(run, n, iova, bdf=None):
    """Stage `n` logged a DMAR fault at `iova` (an LU-RESULT value, hex),
    of the device `bdf` (SSSS:BB:DD.F) if given."""
    addr = format(int(iova, 16), "x")
    dev = rf"Request device \[{re.escape(bdf)}\] " if bdf else ""
    return run.grep(rf"DMAR: .*{dev}fault addr 0x0*{addr}\b", stage=n)


# lu-vfio's untranslated-DMA probe, where the kernel logs no fault of a
# blocked DMA (QEMU's AMD-Vi): the device wrote to the IOVA equal to the
# physical address of a page of lu-vfio's, and the page kept its data
PROBE_BLOCKED = "(the physical address of a page of ours, never mapped): completed, the page kept its data"


def _blocked_by_data(run, n, check):
    """Check `check` of stage `n` passed, and its untranslated-DMA probe
    showed the block."""
    ok, detail = run.stage(n).checks.get(check, (False, "check missing"))
    return ok and PROBE_BLOCKED in detail


def _assert_dma_blocked(run, n, prefix, bdf):
    """lu-vfio's DMA of `bdf` to its preserved IOVAs (LU-RESULT
    <prefix>_read_iova and _write_iova) faulted in stage `n`: DMAR faults
    on VT-d; on AMD-Vi, whose faults QEMU does not report, the probe of
    check <prefix>_issued shows that its DMA went nowhere."""
    results = run.stage(n).results
    if run.machine == "amdvi":
        assert _blocked_by_data(run, n, f"{prefix}_issued"), \
            f"{prefix}_issued: {run.stage(n).checks.get(f'{prefix}_issued')}; {run.describe()}"
        return
    for key in (f"{prefix}_read_iova", f"{prefix}_write_iova"):
        assert _dmar_fault(run, n, results[key], bdf), \
            f"{key} {results[key]}: no DMAR fault of {bdf}; {run.describe()}"


def _in_order(run, n, *patterns):
    """Stage `n` logged a line matching each of `patterns`, in that order."""
    rxs = [re.compile(p) for p in patterns]
    for line in run.stage(n).lines:
        if rxs and rxs[0].search(line):
            rxs.pop(0)
    return not rxs


def _refusing_next_kernel(why):
    """The pre-flight's log line when the loaded kernel cannot take the
    preserved devices over; `why` is a regular expression."""
    return (r"iommu-lu: the next kernel cannot take over the preserved "
            rf"devices: {why}; not starting the live update")


RESTORED_KEEP = (r"iommufd: restored HWPT 0x1234 destroyed while a preserved "
                 r"device still uses its page table: keeping the table until "
                 r"the session finishes")


MARK_CHECKS = (
    "dma_before_mark",
    # Refused marks
    "mark_anon_refused", "mark_bad_flags_refused", "mark_bad_reserved_refused",
    "mark_bad_id_refused", "mark_unknown_id_refused", "clear_unmarked_refused",
    "mark_ok",
    # The marked HWPT's IOAS is immutable
    "ioas_map_file_busy", "ioas_map_busy", "ioas_unmap_busy",
    "ioas_allow_iovas_busy", "ioas_copy_busy",
    "hwpt_alloc_after_mark", "hwpt_destroy_unmarked_ok",
    # Clearing the mark makes it mutable again; marked again after
    "clear_with_token_refused", "clear_ok", "ioas_map_after_clear",
    "remark_after_clear_ok",
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
    _assert_checks(run, 1, MARK_CHECKS)
    assert s1.rc == 0, f"scenario exit status {s1.rc}; {run.describe()}"
    assert s1.results.get("lu_mark") == "ok", run.describe()


PRESERVE_CHECKS = (
    "dma_before_preserve",
    # A cancelled session preserved and then unpreserved everything
    "cancel_trace_pt_preserve", "cancel_trace_hw_unit_preserve",
    "cancel_trace_device_preserve", "cancel_trace_device_unpreserve",
    "cancel_trace_pt_unpreserve", "attach_after_cancel_ok",
    # Order and attachment rules
    "preserve_before_memfd_refused", "preserve_memfd_ok",
    "preserve_device_before_iommufd_refused", "preserve_iommufd_ok",
    # No mark is set or cleared while the iommufd is preserved
    "mark_while_preserved_refused", "clear_while_preserved_refused",
    "preserve_device_unmarked_refused", "preserve_device_ok",
    # A preserved device stays on its HWPT
    "reattach_preserved_refused", "detach_preserved_refused",
)
# A preserved device in stage 2, before its user takes it back: the DMA it
# started before the kexec landed, it kept bus mastering, and it still
# translates through the preserved table
KEPT_CHECKS = ("inflight_dma_landed", "bus_master_kept",
               "dma_after_update_no_map", "dma_to_unmapped_issued")
# Taken back and attached to the restored HWPT, it translates through it
RESTORED_DMA_CHECKS = ("dma_restored_hwpt", "dma_unmapped_after_attach_issued")
# The iommufd and the device come back and keep translating
RESTORED_DEVICE_CHECKS = (
    "retrieve_unknown_token_refused", "iommufd_retrieved",
    "iommufd_second_retrieve_same", "get_id_unknown_refused", "get_id_ok",
    "device_retrieved", "bind_new_iommufd_refused", "device_bind_ok", "restored_ioas_immutable",
    "restored_hwpt_destroy_busy",
) + RESTORED_DMA_CHECKS
RETRIEVE_CHECKS = KEPT_CHECKS + (
    "bus_master_cleared_unpreserved",
) + RESTORED_DEVICE_CHECKS + (
    "session_finish_ok",
)


def test_untranslated_probe_control(guest, machine):
    """lu-vfio's probe, which shows a block by data where the kernel logs
    no fault (AMD-Vi under QEMU), can fail: with the edu device's DMA
    passed through untranslated (iommu.passthrough=1, no driver), the
    device's write to the IOVA equal to the physical address of the probe's
    page lands in that page, and the check says so."""
    run = guest(machine, "probe", append=("iommu.passthrough=1",),
                allow_fail=True)
    ok, detail = run.stage(1).checks.get("untranslated_probe_blocked",
                                         (True, "check missing"))
    assert not ok and "went through untranslated" in detail, \
        f"untranslated_probe_blocked: {ok} {detail}; {run.describe()}"


def _hitless(run, n, bdf):
    """Stage `n`'s line saying that attaching `bdf` to its restored domain
    kept the entry the IOMMU adopted, with its domain id."""
    if run.machine == "vtd-sm":
        rx = rf"{re.escape(bdf)}: DMAR: dmar\d+: live update: keeps its PASID entry"
    elif run.machine == "amdvi":
        rx = (rf"{re.escape(bdf)}: AMD-Vi: IOMMU:\d+: live update: keeps its "
              r"device table entry \(domain id \d+\)")
    else:
        rx = rf"DMAR: dmar\d+: live update: {re.escape(bdf[5:])} keeps its context entry"
    return run.grep(rx, stage=n)


def _adopted(run, n, devices):
    """Stage `n`'s line saying that the IOMMU adopted what was preserved,
    with `devices` preserved devices."""
    if run.machine == "amdvi":
        rx = r"AMD-Vi: IOMMU:\d+: live update: adopted the device table"
    else:
        rx = r"DMAR: dmar\d+: live update: adopted the root table"
    return run.grep(rf"{rx} with {devices} preserved device\(s\)", stage=n)


# The IOMMU_LU_PT_* format of a machine's paging domains
PT_FORMAT = {"vtd": 1, "vtd-sm": 1, "amdvi": 3}


def _assert_incoming(run, n, *, domains=1, devices=1):
    """Stage `n`'s kernel found valid incoming state: one hardware unit,
    `domains` domains and `devices` devices."""
    assert run.grep(rf"iommu-lu: incoming state: 1 hw units, {domains} domains, "
                    rf"{devices} devices valid", stage=n), run.describe()


def _assert_device_updated(run, bdf, *, prefix="", requester=None, token="0x1234"):
    """The preserved edu device `bdf`, its checks and results named with
    `prefix` in stage 2, came through the live update (KEPT_CHECKS): before
    its user took it back, its DMA to a never mapped IOVA faulted. The
    kernel restored its domain at probe, its user retrieved it and attached
    it to the restored HWPT (marked with `token`), where DMA works and a
    never mapped IOVA faults too (RESTORED_DMA_CHECKS). Its faults are
    those of `requester`, its DMA alias, if it has one."""
    requester = requester or bdf
    s2 = run.stage(2)
    _assert_checks(run, 2, [prefix + c for c in KEPT_CHECKS + RESTORED_DMA_CHECKS])
    for key, check in (("blocked_dma_iova", "dma_to_unmapped_issued"),
                       ("blocked_dma_iova_attached", "dma_unmapped_after_attach_issued")):
        iova = s2.results[prefix + key]
        if run.machine == "amdvi":
            assert _blocked_by_data(run, 2, prefix + check), \
                f"{bdf}: {prefix}{check}: {s2.checks.get(prefix + check)}; {run.describe()}"
            continue
        assert _dmar_fault(run, 2, iova, requester), \
            f"{bdf}: {prefix}{key} {iova}: no DMAR fault of {requester}; {run.describe()}"
    assert _restored(run, 2, bdf), f"{bdf}: domain not restored; {run.describe()}"
    assert run.grep(rf"{re.escape(bdf)}: vfio: retrieved the preserved device "
                    rf"\(HWPT {token}\)", stage=2), run.describe()
    # Attached to its restored HWPT without a change in the hardware: the
    # entry the unit adopted was kept, with its domain id
    assert _hitless(run, 2, bdf), f"{bdf}: not attached hitless; {run.describe()}"


def test_preserve_across_kexec(lu_e2e):
    """The marked HWPT's page table, its IOMMU (VT-d unit, AMD-Vi IOMMU)
    and the edu device attached to it go to the next kernel with the
    iommufd and the device cdev: the IOMMU state there holds exactly one
    valid entry of each kind; DMA started before the kexec lands, the IOMMU
    keeps translating through the adopted tables, the iommufd and the
    device are retrieved and the device re-attached without a change in the
    hardware, and both edu devices then work normally."""
    run = lu_e2e
    s1, s2 = run.stage(1), run.stage(2)
    _assert_checks(run, 1, PRESERVE_CHECKS)
    _assert_checks(run, 2, RETRIEVE_CHECKS)
    _assert_incoming(run, 2)
    assert run.grep(rf"iommufd: restored HWPT 0x1234: domain 0, format "
                    rf"{PT_FORMAT[run.machine]}, \d levels, [1-9]\d* table pages",
                    stage=2), run.describe()
    edu = s1.results["edu_bdf"]
    assert run.grep(rf"{edu}: iommu-lu: restored its preserved domain 0", stage=2), \
        run.describe()
    # Attaching the retrieved device to the restored HWPT kept the entry
    # the unit adopted, with its domain id: no change in the hardware.
    assert _hitless(run, 2, edu), run.describe()
    assert not run.grep(r"refusing incoming", stage=2), run.describe()
    # The IOMMU adopted the preserved tables instead of clearing them...
    assert _adopted(run, 2, 1), run.describe()
    # ...and they still block what was never mapped, as the restored HWPT
    # does: the DMA to it faulted, before and after the retrieve.
    _assert_device_updated(run, edu)
    # Both devices work normally afterwards, the one that was not preserved
    # included.
    dma_ok = [l for l in s2.lines if "LU-RESULT" in l and "edu_dma ok" in l]
    assert len(dma_ok) == 2, f"edu DMA after the update: {dma_ok}; {run.describe()}"


def test_amdvi_registers_across_kexec(lu_e2e_amdvi):
    """On AMD-Vi, read through the driver's debugfs: the IOMMU's device
    table base register is the same right before the kexec, at the new
    kernel's /init and after the device is attached again (the table was
    used in place, never moved), and the preserved device's entry keeps its
    translation half (words 0 and 1) and word 3 through all three: adopted
    as it was, and attached again without a write. Its interrupt half (word
    2) is the new kernel's. What lutrace dumped of the outgoing state
    records the same register and entry."""
    run = lu_e2e_amdvi
    s1, s2 = run.stage(1), run.stage(2)
    devtab = [s1.results.get("amdvi_devtab_kexec"),
              s2.results.get("amdvi_devtab_boot"),
              s2.results.get("amdvi_devtab_attached")]
    dte = [s1.results.get("amdvi_dte_kexec"), s2.results.get("amdvi_dte_boot"),
           s2.results.get("amdvi_dte_attached")]
    where = f"base register {devtab}, DTE {dte}; {run.describe()}"
    assert all(devtab) and all(dte), where
    assert len(set(devtab)) == 1 and int(devtab[0], 16), where
    # debugfs prints the words from the highest: 3, 2, 1, 0
    words = [[int(w, 16) for w in d.split()] for d in dte]
    assert all(len(w) == 4 for w in words), where
    kept = {(w[0], w[2], w[3]) for w in words}
    assert len(kept) == 1, where
    # Word 2 at /init: the new kernel's default, remapping off in QEMU (its
    # IVRS has no IOAPIC); the previous kernel's was blocked at the kexec
    assert words[1][1] == 0, f"interrupt half at /init: {where}"
    w3, w1, w0 = kept.pop()
    assert w0 & 0x3 == 0x3 and (w0 >> 9) & 7, f"not a translating entry: {where}"
    dev = blob_json(s1, "dump-outgoing")["devices"][0]["amdvi"]
    hw = blob_json(s1, "dump-outgoing")["hw_units"][0]["amdvi"]
    assert int(hw["devtab"], 16) == int(devtab[0], 16), f"{hw}; {where}"
    assert [int(w, 16) if isinstance(w, str) else w for w in dev["dte"]][:2] == \
        [w0, w1], f"{dev}; {where}"


AGAIN_CHECKS = ("remark_restored_hwpt_ok", "again_preserve_memfd_ok",
                "again_preserve_iommufd_ok", "again_preserve_device_ok")


def test_two_updates_in_a_row(guest, machine):
    """Preserve, kexec, restore, preserve again, kexec, restore: the
    restored HWPT and device are preserved like new ones, and the device's
    DMA keeps going through both updates."""
    run = guest(machine, "lu-iommufd-twice", edu=2, append=qemu.TIMELINE_APPEND)
    s3 = run.stage(3)
    _assert_checks(run, 2, RETRIEVE_CHECKS[:-1] + AGAIN_CHECKS)
    _assert_checks(run, 3, RETRIEVE_CHECKS)
    edu = run.stage(1).results["edu_bdf"]
    for n in (2, 3):
        _assert_incoming(run, n)
        assert _hitless(run, n, edu), run.describe()
    assert s3.results.get("edu_dma") == "ok", run.describe()
    # The last kernel's timeline is the second update's alone: the middle
    # kernel handed over the steps from its own preserve on, not those of
    # the restore it did at its boot
    assert s3.results.get("timeline-rc") == "0", s3.blob("timeline-err")
    tl = json.loads(s3.blob("timeline"))
    old = [x for x in tl["steps"] if x["kernel"] == "old"]
    assert old[0]["step"] == "flb_preserve", old[:3]
    assert not [x for x in old if x["step"] in ("validate", "unit_adopt", "device_restore")], old
    assert edu in {x["object"] for x in old if x["step"] == "device_preserve"}, old
    assert [p["name"] for p in tl["phases"] if p["duration_ns"] is None] == [], tl["phases"]
    assert tl["blackout"]["end_device"] == edu, tl["blackout"]


def test_timeline_refused_state_restored(guest, machine):
    """The timeline handed over damaged (debugfs timeline-magic), the IOMMU
    state intact: the next kernel refuses the timeline alone, with its
    reason, and restores the device hitless all the same; lutrace timeline
    says the timeline was refused."""
    run = guest(machine, "lu-timeline-refused", edu=2)
    s2 = run.stage(2)
    edu = run.stage(1).results["edu_bdf"]
    assert run.grep(r"iommu-lu: debug: corrupted the outgoing state: timeline-magic "
                    r"\(1 entries\)", stage=1), run.describe()
    assert run.grep(r"iommu-lu: timeline from the previous kernel refused: bad magic",
                    stage=2), run.describe()
    _assert_checks(run, 2, RETRIEVE_CHECKS)
    _assert_incoming(run, 2)
    assert _hitless(run, 2, edu), run.describe()
    assert s2.results.get("edu_dma") == "ok", run.describe()
    err = s2.blob("timeline-err")
    assert s2.results.get("timeline-rc") == "1", err
    assert "this kernel refused the previous kernel's timeline" in err, err


def test_cancel_leaves_nothing(guest, machine):
    """A session closed before the kexec unpreserves everything: the next
    kernel boots as usual, with no IOMMU state handed over and translation
    started from scratch, and the device works."""
    run = guest(machine, "lu-cancel", edu=2)
    _assert_checks(run, 1, ("cancel_trace_pt_preserve", "cancel_trace_device_unpreserve",
                            "cancel_trace_pt_unpreserve", "attach_after_cancel_ok"))
    assert not run.grep(r"iommu-lu: incoming state", stage=2), run.describe()
    assert not run.grep(r"live update: adopted", stage=2), run.describe()
    assert not run.grep(r"Translation was enabled|arrives translating", stage=2), \
        run.describe()
    assert run.stage(2).results.get("edu_dma") == "ok", run.describe()


def _finish_blocked(edu):
    """FINISH's line for a preserved device `edu` its user did not attach."""
    return rf"{re.escape(edu)}: iommu-lu: not taken by its user at FINISH: blocked and released"


RESTORED_FREED = r"iommu-lu: restored domain 0 was not taken by its user: freed"
# Printed once FINISH returned: the kernel's FINISH lines come before it (a
# guest line printed before FINISH may reach the log after them)
FINISHED = r"LU-CHECK 2 session_finish_ok PASS"


def _assert_destroy_refused(run, check, errno_key, dma_check):
    """lu-vfio destroy-early's IOMMU_DESTROY of the restored HWPT, its device
    not attached, was refused with EBUSY (LU-RESULT `errno_key`, check
    `check`), and DMA through the restored table kept working (`dma_check`).
    Nothing was destroyed, so no table was kept for the device; at FINISH
    the device, never attached, was blocked and released."""
    err = run.stage(2).results.get(errno_key)
    assert err == "EBUSY", f"IOMMU_DESTROY: {err}, expected EBUSY; {run.describe()}"
    _assert_checks(run, 2, (check, dma_check, "session_finish_ok"))
    edu = run.stage(1).results["edu_bdf"]
    assert not run.grep(RESTORED_KEEP, stage=2), run.describe()
    assert _in_order(run, 2, _finish_blocked(edu), FINISHED), run.describe()


def test_destroy_restored_hwpt_early(guest, machine):
    """Destroying a restored HWPT before its device was retrieved and
    attached again is refused (EBUSY): the restored IOAS pins the memory its
    page table maps, and the device nobody attached yet still translates
    through that table. The device's DMA keeps working. At FINISH the
    device, never attached, is blocked and released."""
    run = guest(machine, "lu-destroy-early", edu=2)
    _assert_checks(run, 1, PRESERVE_CHECKS)
    _assert_destroy_refused(run, "restored_hwpt_destroy_early_busy",
                            "destroy_early_errno", "dma_after_early_destroy")


def test_destroy_restored_hwpt_after_bind(guest, machine):
    """Destroying a restored HWPT once its device is retrieved and bound to
    the iommufd, but not attached, is refused (EBUSY), as before the
    device is bound: DMA keeps working. At FINISH the device, never
    attached, is blocked and released."""
    run = guest(machine, "lu-destroy-after-bind", edu=2)
    _assert_checks(run, 1, PRESERVE_CHECKS)
    _assert_checks(run, 2, ("device_bind_ok",))
    _assert_destroy_refused(run, "restored_hwpt_destroy_after_bind",
                            "destroy_after_bind_errno",
                            "dma_after_destroy_after_bind")


# lu-memory: what the memory rule's checks run on (stage 2)
MEMORY_SETUP_CHECKS = RESTORED_DEVICE_CHECKS + ("session_finish_ok",)
# A chained update after the FINISH, cancelled
MEMORY_CHAIN_CHECKS = ("chain_remark_ok", "chain_preserve_without_memfd_refused",
                       "chain_preserve_memfd_ok", "chain_preserve_iommufd_ok",
                       "chain_clear_mark_ok")
# After the FINISH, the memfd punched, truncated and closed
MEMORY_PINNED_CHECKS = ("memfd_hole_reads_zeros", "dma_after_punch", "memfd_truncated",
                        "dma_b_after_truncate", "dma_a_after_truncate",
                        "dma_b_after_close", "dma_a_after_close")
MEMFD_NOT_PRESERVED = r"from a memfd not preserved in this session"


def _memory_run(run):
    """lu-memory got to its memory checks: the preserve, and in stage 2 the
    device attached to the restored HWPT (whose IOAS is immutable until the
    FINISH), the session finished, in a kernel that zeroes freed pages."""
    _assert_checks(run, 1, PRESERVE_CHECKS)
    _assert_checks(run, 2, MEMORY_SETUP_CHECKS)
    assert run.grep(r"mem auto-init: .*heap free:on", stage=2), \
        f"stage 2 does not zero freed pages (init_on_free=1); {run.describe()}"
    return run.stage(2)


def test_memory_chained_update_needs_memfd(lu_memory):
    """The restored HWPT marked again for the next update: the iommufd may
    not be preserved in a session without the memfd its restored IOAS maps
    (ENOENT, and the kernel says why), and is preserved once the memfd is.
    That session is cancelled and the mark cleared. (After the FINISH: until
    then the retrieved files count as preserved by their session, and no
    other session may preserve them.)"""
    run = lu_memory
    _memory_run(run)
    _assert_checks(run, 2, MEMORY_CHAIN_CHECKS)
    assert run.grep(MEMFD_NOT_PRESERVED, stage=2), run.describe()


def test_memory_restored_ioas_ordinary_after_finish(lu_memory):
    """After the FINISH, the restored HWPT's IOAS is an ordinary IOAS: a new
    memfd page maps at a free IOVA and the device's DMA goes through it; A
    unmaps, and the device's DMA to it then faults."""
    run = lu_memory
    s2 = _memory_run(run)
    _assert_checks(run, 2, ("restored_ioas_map_after_finish", "dma_restored_ioas_new_map",
                            "restored_ioas_unmap_ok", "dma_unmapped_a_issued"))
    edu = run.stage(1).results["edu_bdf"]
    iova = s2.results["unmapped_dma_iova"]
    if run.machine == "amdvi":
        assert _blocked_by_data(run, 2, "dma_unmapped_a_issued"), run.describe()
        return
    assert _dmar_fault(run, 2, iova, edu), \
        f"DMA to unmapped {iova}: no DMAR fault of {edu}; {run.describe()}"
    assert _in_order(run, 2, FINISHED, r"LU-CHECK 2 restored_ioas_unmap_ok PASS",
                     rf"DMAR: .*fault addr 0x0*{int(iova, 16):x}\b"), run.describe()


def test_memory_pinned_after_finish(lu_memory):
    """The pages a restored HWPT maps are the memfd's, pinned by the
    iommufd: after the FINISH, a hole punched in the memfd, the memfd
    truncated, then closed, free none of them while the device maps them.
    Its DMA keeps reading the data written before, never the zeros of a
    freed page (init_on_free=1); the memfd itself reads zeros where the
    hole was punched."""
    run = lu_memory
    _memory_run(run)
    _assert_checks(run, 2, MEMORY_PINNED_CHECKS)


def test_finish_without_retrieve(guest, machine):
    """A session finished with nothing retrieved: the preserved device was
    not taken back by its user, so FINISH blocks and releases it. It loses
    bus mastering, the IOMMU blocks the IOVAs of its preserved table (with
    bus mastering set again, DMA to them faults), and it then works with a
    new iommufd."""
    run = guest(machine, "lu-finish-unretrieved", edu=2)
    s1, s2 = run.stage(1), run.stage(2)
    _assert_checks(run, 1, PRESERVE_CHECKS)
    _assert_checks(run, 2, ("finish_unretrieved_ok", "bus_master_cleared_at_finish",
                            "finish_blocked_issued"))
    edu = s1.results["edu_bdf"]
    assert s2.results.get("finish_edu_bdf") == edu, run.describe()
    assert run.grep(rf"{re.escape(edu)}: iommu-lu: not taken by its user at FINISH: "
                    r"blocked and released", stage=2), run.describe()
    _assert_dma_blocked(run, 2, "finish_blocked", edu)
    _assert_works_after(run, edu)


def _assert_works_after(run, edu):
    """The device `edu` worked with a new iommufd at the end of stage 2
    (edu-dma, the only program of stage 2 that prints edu_bdf)."""
    s2 = run.stage(2)
    assert s2.results.get("edu_bdf") == edu, run.describe()
    assert s2.results.get("edu_dma") == "ok", run.describe()


MEMFD_CHANGED = (r"iommufd: preserved HWPT 0x1234 not restored: its page table "
                 r"does not map the memfd pages of its IOAS")


def _hwpt_refused_blocked(edu):
    """The line of a device `edu` kept on a restored domain whose HWPT
    could not be restored: blocked and released."""
    return (rf"{re.escape(edu)}: iommu-lu: not taken by its user as its HWPT "
            r"could not be restored: blocked and released")


def test_memfd_changed_before_iommufd_retrieve(guest, machine):
    """The memfd is retrieved first and a hole punched in it over A, before
    the iommufd is retrieved: the restored HWPT's page table maps a page
    the memfd no longer holds. The kernel does not restore the HWPT (its
    token is not found) and, as nobody owns the pages its table maps, blocks
    and releases the device kept on it: the device binds to the retrieved
    iommufd, with bus mastering set again its DMA to the preserved IOVAs
    faults, and B keeps what the device wrote there before the kexec. The
    session finishes, and the device then works with a new iommufd."""
    run = guest(machine, "lu-memfd-first", edu=2, allow_fail=True)
    s2 = run.stage(2)
    _assert_checks(run, 1, PRESERVE_CHECKS)
    edu = run.stage(1).results["edu_bdf"]
    assert _in_order(run, 2, MEMFD_CHANGED, _hwpt_refused_blocked(edu)), \
        f"stage 2 did not log, in this order: {MEMFD_CHANGED!r}, " \
        f"{_hwpt_refused_blocked(edu)!r}; {run.describe()}"
    _assert_checks(run, 2, ("memfd_a_punched", "get_id_refused_memfd_changed"))
    err = s2.results.get("memfd_first_bind_errno")
    assert err == "0", f"bind after the HWPT was refused: {err}, expected " \
        f"success; {run.describe()}"
    _assert_checks(run, 2, ("device_bind_after_refusal", "memfd_first_blocked_issued"))
    _assert_dma_blocked(run, 2, "memfd_first_blocked", edu)
    _assert_checks(run, 2, ("memfd_b_untouched", "session_finish_ok"))
    _assert_works_after(run, edu)
    assert run.rc == 0, f"scenario exit status {run.rc}; {run.describe()}"


def _restored(run, n, bdf):
    """Stage `n`'s lines saying that the kernel restored the preserved domain
    of `bdf`."""
    return run.grep(rf"{re.escape(bdf)}: iommu-lu: restored its preserved domain",
                    stage=n)


RESCAN_CHECKS = (
    # The kept device, removed and rescanned, its DMA blocked
    "rescan_kept_issued",
    # The device its user took, moved off the restored HWPT
    "device_bind_ok", "moved_dma_own_hwpt", "moved_restored_hwpt_destroy_ok",
    "session_finish_ok",
    # The kept device's session
    "kept_session_finish_ok",
)


def test_rescan_before_finish(guest, machine):
    """Two VMMs preserve one edu device each, in sessions of their own, and
    each device is removed and found again by a PCI rescan before the live
    update is finished. The one its session kept, never retrieved, is
    blocked when it is removed, its bus mastering cleared: after the
    rescan its DMA to the IOVAs of its preserved table faults. The other was taken by its user, moved to
    an HWPT of its own, and the restored HWPT destroyed, which frees the
    restored domain; it is removed once its session finished, while the
    other session still holds the incoming state. Neither is restored again
    when it is probed again (the freed domain is not looked up again), both
    sessions finish, and both devices then work with a new iommufd."""
    run = guest(machine, "lu-rescan", edu=2)
    s1, s2 = run.stage(1), run.stage(2)
    _assert_checks(run, 1, PRESERVE_CHECKS + SECOND_SESSION_CHECKS)
    _assert_checks(run, 2, RESCAN_CHECKS)
    edu, edu2 = s1.results["edu_bdf"], s1.results["edu2_bdf"]
    assert s2.results.get("rescan_kept_bdf") == edu2, run.describe()
    assert s2.results.get("rescan_moved_bdf") == edu, run.describe()
    # The kept device is blocked when it is removed, before the rescan
    released = r"{}: iommu-lu: released before its user took it: bus mastering cleared, blocked"
    assert _in_order(run, 2, released.format(re.escape(edu2)),
                     r"LU-CHECK 2 rescan_kept_issued"), run.describe()
    # Found again by the rescan without bus mastering
    cmd = int(s2.results["rescan_kept_command"], 16)
    assert not cmd & 0x4, f"command 0x{cmd:04x} after the rescan; {run.describe()}"
    _assert_dma_blocked(run, 2, "rescan_kept", edu2)
    # Its user had attached the moved one: not blocked, not kept for it
    assert not run.grep(released.format(re.escape(edu)), stage=2), run.describe()
    for bdf in (edu, edu2):
        # Restored at boot, not again when probed after the rescan
        restored = _restored(run, 2, bdf)
        assert len(restored) == 1, f"{bdf} restored {len(restored)} times: " \
            f"{restored}; {run.describe()}"
        # Nothing left to block at FINISH
        assert not run.grep(_finish_blocked(bdf), stage=2), run.describe()
    dma_ok = [l for l in s2.lines if "LU-RESULT" in l and "edu_dma ok" in l]
    assert len(dma_ok) == 2, f"edu DMA after the update: {dma_ok}; {run.describe()}"


MSI_CHECKS = ("msi_off_after_kexec", "intx_off_after_kexec", "irq_raised_quiesced",
              "msi_after_retrieve")


def test_msi_quiet_across_kexec(guest, machine):
    """A preserved device whose MSI was on before the update keeps its bus
    mastering across the kexec, not its interrupts: the kexec turns its MSI
    off (edu cannot mask its MSI vector) and disables INTx, so that an
    interrupt it raises before its user set interrupts up again goes
    nowhere, neither through the new kernel's interrupt remapping with the
    old kernel's index nor to another handler. The device is retrieved as
    usual, and MSI set up again through VFIO works."""
    run = guest(machine, "lu-msi", edu=2)
    _assert_checks(run, 1, PRESERVE_CHECKS + ("msi_before_preserve",))
    _assert_checks(run, 2, MSI_CHECKS + RETRIEVE_CHECKS)
    edu = run.stage(1).results["edu_bdf"]
    # The interrupt was raised with no driver, before the device was retrieved
    assert _in_order(run, 2, r"LU-CHECK 2 irq_raised_quiesced",
                     rf"{re.escape(edu)}: vfio: retrieved the preserved device"), \
        run.describe()
    assert not run.grep(r"INTR-REMAP"), run.describe()
    assert not run.grep(r"nobody cared"), run.describe()


# lu-idle-d0: two QEMU e1000e (PCI power management, which edu lacks);
# QEMU only warns that they have no network backend
E1000E_PAIR = ("-device", "e1000e", "-device", "e1000e")
# The power states lu-vfio saw (LU-RESULT, "D3hot suspended")
IDLE_POWER_RESULTS = ("control_idle_power", "preserved_idle_power",
                      "preserved_retrieved_power", "released_power")
EXTRA_RETRIEVE_CHECKS = ("extra_device_retrieved", "extra_device_bind_ok",
                         "extra_device_attach_ok")


def _check_ok(run, n, name):
    """Check `name` of stage `n`: (passed, detail); missing fails."""
    return run.stage(n).checks.get(name, (False, "check missing"))


def test_idle_preserved_device_stays_d0(guest, machine):
    """With runtime PM, vfio-pci suspends an idle device it is bound to
    (D3hot) until user space opens it. A preserved device is bound to
    vfio-pci again in the new kernel before its VMM retrieves it, and keeps
    doing DMA for the VM meanwhile: it must stay in D0. The first e1000e is
    preserved with the edu device, on the same marked HWPT; the second is
    the control. Bound to vfio-pci and left idle in the new kernel, the
    control is suspended (runtime PM works in this guest), the preserved
    one is not; once retrieved and opened it is in D0, and after the
    FINISH, its fds closed, the update no longer holds it: vfio-pci
    suspends it as any idle device. The edu device's DMA goes through the
    restored HWPT as after any update."""
    run = guest(machine, "lu-idle-d0", edu=2, qemu_extra=E1000E_PAIR,
                allow_fail=True)
    s1, s2 = run.stage(1), run.stage(2)
    states = ", ".join(f"{k}={s2.results.get(k, '(none)')}" for k in IDLE_POWER_RESULTS)
    print(f"power states: {states}")
    where = f"power states: {states}; {run.describe()}"
    _assert_checks(run, 1, PRESERVE_CHECKS + ("preserve_extra_device_ok",))
    extra = s1.results["extra_bdf"]
    # The control shows that runtime PM suspends idle devices here; if it
    # does not, the other power checks prove nothing
    ok, detail = _check_ok(run, 2, "control_idle_suspended")
    assert ok, f"the control e1000e did not suspend on vfio-pci, runtime PM " \
        f"does not work in this guest: {detail}; {where}"
    # The update itself, the edu device's DMA through the restored HWPT
    # included, and the e1000e on the same restored HWPT
    _assert_checks(run, 2, RETRIEVE_CHECKS + EXTRA_RETRIEVE_CHECKS)
    _assert_incoming(run, 2, devices=2)
    assert run.grep(rf"{re.escape(extra)}: iommu-lu: restored its preserved domain 0",
                    stage=2), run.describe()
    for name, what in (
            ("preserved_idle_d0", "idle on vfio-pci before it was retrieved"),
            ("preserved_retrieved_d0", "retrieved and opened"),
            ("released_suspends", "after the FINISH, its fds closed")):
        ok, detail = _check_ok(run, 2, name)
        assert ok, f"{name}: preserved e1000e {extra}, {what}: {detail}; {where}"
    assert run.rc == 0, f"scenario exit status {run.rc}; {run.describe()}"


PREFLIGHT_REFUSED = {
    # --try-first word: why the kernel it loads cannot take the devices over
    "liveupdate": r"live update not turned on \(no liveupdate=on\)",
    "iommu": r"the IOMMU turned off \(iommu=off\)",
    "kho": r"kexec handover turned off \(kho=off\)",
}
# The IOMMU driver's own switch, per machine
PREFLIGHT_DRIVER = {
    "vtd": ("intel_iommu", r"VT-d turned off \(intel_iommu=off\)"),
    "amdvi": ("amd_iommu", r"AMD-Vi turned off \(amd_iommu=off\)"),
}


def test_preflight_refuses_next_kernel(guest, machine):
    """A live update kexec into a kernel that could not take the preserved
    device over (live update off, the IOMMU driver or every IOMMU off, KHO
    off) is refused before it starts: reboot(KEXEC) fails with EOPNOTSUPP
    and the kernel says why.
    The session survives each refusal: the kexec that follows, into a
    kernel that can, updates as usual."""
    run = guest(machine, "lu-preflight", edu=2)
    refused = dict(PREFLIGHT_REFUSED)
    refused.update([PREFLIGHT_DRIVER[machine]])
    _assert_checks(run, 1, PRESERVE_CHECKS +
                   tuple(f"preflight_refused_{k}" for k in refused))
    for why in refused.values():
        assert run.grep(_refusing_next_kernel(why), stage=1), \
            f"no refusal: {why}; {run.describe()}"
    assert len(run.grep(_refusing_next_kernel(".*"), stage=1)) == len(refused), \
        run.describe()
    _assert_checks(run, 2, RETRIEVE_CHECKS)
    assert _hitless(run, 2, run.stage(1).results["edu_bdf"]), run.describe()


# What the IOMMU says when it has no state for the unit it arrives translating
NO_STATE = {
    "vtd": r"DMAR: dmar\d+: live update: no state for this unit: translation "
           r"stays on, with an empty root table",
    "amdvi": r"AMD-Vi: IOMMU:\d+: live update: no state for this unit: every "
             r"device it serves is blocked",
}


SECOND_SESSION_CHECKS = ("second_dma_before_preserve", "second_preserve_memfd_ok",
                         "second_preserve_iommufd_ok", "second_preserve_device_ok")
REFUSED_ONE_CHECKS = ("refused_issued", "refused_iommufd_retrieved",
                      "refused_get_id_absent", "refused_session_finish_ok")


UNIT_PREFIX = {"vtd": r"DMAR: dmar\d+", "amdvi": r"AMD-Vi: IOMMU:\d+"}


def _changed_at_kexec(run, bdf):
    """Stage 1's line: the kexec found the entry of `bdf` changed since it
    was preserved, and cleared (blocked) it."""
    if run.machine == "amdvi":
        rx = (rf"AMD-Vi: IOMMU:\d+: live update: the device table entry of "
              rf"{re.escape(bdf[5:])} changed since it was preserved: blocked")
    else:
        rx = (rf"DMAR: dmar\d+: live update: the context entry of "
              rf"{re.escape(bdf[5:])} changed since it was preserved: cleared")
    return run.grep(rx, stage=1)


# The device live update on the PCI topologies of harness/topology.py, on
# VT-d in legacy and in scalable mode: scenario lu-topo, one guest boot each
TOPOLOGY_MACHINES = ("vtd", "vtd-sm")
TOPOLOGY_CASES = ("bus0", "rootport", "switch", "bridge-pair", "two-one-hwpt",
                  "two-sessions")
# Stage 1, by how the devices are preserved (Topology.how), in the order
# they are done (with two sessions, the second VMM preserves first)
TOPOLOGY_PRESERVE_CHECKS = {
    "one": PRESERVE_CHECKS,
    "one-hwpt": PRESERVE_CHECKS + ("extra_dma_before_preserve", "preserve_extra_device_ok"),
    "sessions": SECOND_SESSION_CHECKS + PRESERVE_CHECKS,
}
# What a guest program says when it gives up (not a check)
GUEST_ERRORS = r"LU-ERROR|^(lu-vfio|lu-kexec|edu-dma): "


def _topology_run(guest, machine, topo, how=None):
    """Boot `machine` with the devices of topology `topo` and run lu-topo,
    the devices preserved as `how` (default: the topology's way). A failed
    check does not fail the run: the test asserts each."""
    return guest(machine, "lu-topo", edu=0, qemu_extra=topo.qemu_args(),
                 append=topo.append(), args=(how or topo.how,), allow_fail=True)


@contextlib.contextmanager
def _with_guest_errors(run):
    """A failed assertion in the block says what the guest programs said
    when they gave up (often the cause: a setup step that failed)."""
    try:
        yield
    except AssertionError as e:
        said = run.grep(GUEST_ERRORS)
        if not said:
            raise
        raise AssertionError(f"{e}\nthe guest said:\n" + "".join(said[:10])) from None


def _assert_bridges_kept(run, topo):
    """The old kernel's kexec left bus mastering on for each bridge above a
    preserved device, and said so; in stage 2, before anything was
    retrieved, the guest found the bridges the topology puts above each
    preserved device, and each of them had bus mastering on."""
    s2 = run.stage(2)
    for bdf in topo.preserved:
        want = topo.bridges_of(bdf)
        seen = s2.results.get(f"upstream_bridges_{bdf}")
        assert seen == (",".join(want) or "none"), \
            f"bridges above {bdf}: {seen}, expected {want}; {run.describe()}"
        for b in want:
            assert run.grep(rf"{re.escape(b)}: live update: bus mastering kept "
                            r"for the device\(s\) below", stage=1), \
                f"the kexec did not keep bus mastering of bridge {b} above " \
                f"{bdf}; {run.describe()}"
        _assert_checks(run, 2, [f"bridge_bus_master_kept_{b}" for b in want])


def _blob_json(stage, name):
    text = stage.blob(name)
    assert text, f"no {name} from lutrace (its rc {stage.results.get(name + '-rc')}, " \
        f"stderr: {stage.blob(name + '-err')})"
    return json.loads(text)


def _assert_lutrace_topology(run, topo):
    """lutrace's dump shows the topology's state as it is: before the kexec
    one hw unit serving every preserved device, one domain per marked HWPT
    with a refcount of its devices, each device with its DMA aliases and,
    in scalable mode, its PASID directory; after it the same entries, each
    restored, and every preserved device matched and restored."""
    sm = run.machine == "vtd-sm"
    n = len(topo.preserved)
    for stage, direction in ((1, "outgoing"), (2, "incoming")):
        d = _blob_json(run.stage(stage), f"dump-{direction}")
        where = f"lutrace dump --{direction}: {run.describe()}"
        assert d["direction"] == direction and d["problems"] == [], f"{d['problems']}; {where}"
        assert len(d["hw_units"]) == 1 and d["hw_units"][0]["refcount"] == n, where
        assert d["hw_units"][0]["vtd"]["mode"] == ("scalable" if sm else "legacy"), where
        assert len(d["domains"]) == topo.domains, where
        per_domain = n // topo.domains
        assert [x["refcount"] for x in d["domains"]] == [per_domain] * topo.domains, where
        devs = {x["pci"]: x for x in d["devices"]}
        assert sorted(devs) == sorted(topo.preserved), f"{sorted(devs)}; {where}"
        for bdf, dev in devs.items():
            alias = topo.requester_of(bdf)
            assert dev["vtd"]["aliases"] == ([] if alias == bdf else [alias]), \
                f"{bdf}: {dev['vtd']}; {where}"
            assert bool(dev["vtd"].get("pasid_dir")) == sm, f"{bdf}: {dev['vtd']}; {where}"
        if direction == "incoming":
            for chain in ("hw_units", "domains", "devices"):
                for x in d[chain]:
                    assert "restored" in x["flags"].split(","), f"{chain} {x}; {where}"
            rows = {r["pci"]: r for r in d["matching"]}
            for bdf in topo.preserved:
                assert rows.get(bdf, {}).get("status") == "restored", \
                    f"{bdf}: {rows.get(bdf)}; {where}"


@pytest.mark.machines(*TOPOLOGY_MACHINES)
@pytest.mark.parametrize("topology", TOPOLOGY_CASES)
def test_topology_live_update(guest, machine, topology):
    """test_preserve_across_kexec's live update on other PCI topologies, in
    VT-d legacy and scalable mode (harness/topology.py): an edu device on
    bus 0 (bus0), behind a PCIe root port (rootport), behind a switch under
    a root port (switch); two edu devices behind a PCIe-to-PCI bridge,
    which share its requester ID (a DMA alias) and one IOMMU group, on one
    marked HWPT (bridge-pair); two edu devices on bus 0 on one marked HWPT
    (two-one-hwpt); two edu devices preserved by two VMMs, processes of
    their own, each in its own session with its own memfd, iommufd and
    HWPT, and in the next kernel one VMM takes its device back and finishes
    while the other device is still pending and keeps translating through
    its preserved table (two-sessions). Each preserved device has DMA in
    flight when the kexec starts; in the next kernel, before anything is
    retrieved, it has kept bus mastering, its DMA works with no map call,
    and a never mapped IOVA is blocked (a DMAR fault of its requester ID);
    it is then retrieved and attached to its restored HWPT and works
    there. The control, an edu device on bus 0 never preserved, has lost
    bus mastering.

    Bridges: every bridge above a preserved device must have kept bus
    mastering, which the guest reads in its command register before
    anything is retrieved. That read proves little for ports the PCIe port
    driver (pcieport, built in) sets bus mastering on when it probes them
    in the new kernel (ports with port services: the root ports here); it
    matters for a bridge no driver enables, such as the PCIe-to-PCI bridge.
    And QEMU (7.2) does not gate DMA on a bridge's bus master bit: DMA
    from behind a root port whose bus mastering is cleared still reaches
    the IOMMU. So under QEMU, DMA that works in the new kernel does not
    show that the bridges kept bus mastering; only the command register
    does."""
    topo = TOPOLOGIES[topology]
    run = _topology_run(guest, machine, topo)
    with _with_guest_errors(run):
        p1 = topo.preserved[0]
        _assert_checks(run, 1, TOPOLOGY_PRESERVE_CHECKS[topo.how])
        assert run.stage(1).results.get("edu_bdf") == p1, run.describe()
        _assert_incoming(run, 2, domains=topo.domains, devices=len(topo.preserved))
        assert not run.grep(r"refusing incoming", stage=2), run.describe()
        _assert_bridges_kept(run, topo)
        _assert_lutrace_topology(run, topo)
        _assert_checks(run, 2, RETRIEVE_CHECKS)
        _assert_device_updated(run, p1, requester=topo.requester_of(p1))
        if topo.how == "one-hwpt":
            p2 = topo.preserved[1]
            _assert_checks(run, 2, EXTRA_RETRIEVE_CHECKS)
            _assert_device_updated(run, p2, prefix="extra_",
                                   requester=topo.requester_of(p2))
        elif topo.how == "sessions":
            p2 = topo.preserved[1]
            _assert_checks(run, 2, ["second_" + c for c in RETRIEVE_CHECKS])
            _assert_device_updated(run, p2, prefix="second_", token="0x1235")
            # Its DMA went through its preserved table after the first VMM
            # had finished with its own
            assert _in_order(run, 2, FINISHED,
                             r"LU-CHECK 2 second_dma_after_update_no_map"), run.describe()
        failed = run.failed_checks()
        assert not failed, "guest checks failed:\n  " + "\n  ".join(failed) + \
            "\n" + run.describe()
        assert run.rc == 0, f"scenario exit status {run.rc}; {run.describe()}"


# The kernel's log lines, not the guest's
_KERNEL_LINE = re.compile(r"^\[\s*\d+\.\d+\] (?!.*LU-)")


def _kernel_lines_between(run, n, first, last):
    """Stage `n`'s kernel log lines after the first line matching `first`
    and before the next matching `last`."""
    out, inside = [], False
    for line in run.stage(n).lines:
        if not inside:
            inside = bool(re.search(first, line))
        elif re.search(last, line):
            return out
        elif _KERNEL_LINE.search(line):
            out.append(line)
    return out


@pytest.mark.machines(*TOPOLOGY_MACHINES)
def test_bridge_pair_one_refused(guest, machine):
    """The two edu devices behind the PCIe-to-PCI bridge (topology
    bridge-pair) are one IOMMU group: a group is preserved whole or not at
    all. One of them preserved while the other is bound to no iommufd must
    be refused with EBUSY, and the kernel must name the other one in its
    log. The kernel can only tell that a group is whole once nothing more
    can be added to the session: the preserve succeeds, and the kexec (the
    freeze of the session) fails, before the jump. The refusal leaves no
    trace: the device's DMA works, and once the other is attached to the
    same HWPT both are preserved (that session is cancelled)."""
    topo = TOPOLOGIES["bridge-pair"]
    run = _topology_run(guest, machine, topo, how="group-refused")
    with _with_guest_errors(run):
        p1, p2 = topo.preserved
        s1 = run.stage(1)
        group = s1.results.get(f"iommu_group_{p1}", "")
        assert p2 in group.split(","), \
            f"{p1} and {p2} are not one IOMMU group: {group}; {run.describe()}"
        _assert_checks(run, 1, ("group_dma_before_preserve", "group_preserve_memfd_ok",
                                "group_preserve_iommufd_ok"))
        assert 2 not in run.stages, \
            f"the kexec with {p1} preserved alone was not refused; {run.describe()}"
        preserve = s1.results.get("group_preserve_errno")
        kexec = s1.results.get("group_kexec_errno")
        assert preserve == "0" and kexec == "EBUSY", \
            f"{p1} preserved alone: the preserve gave {preserve}, the kexec " \
            f"{kexec or '(not tried)'}; expected success, then EBUSY; " \
            f"{run.describe()}"
        said = _kernel_lines_between(run, 1, r"LU-BOOT stage=1",
                                     r"LU-CHECK 1 group_member_unbound_refused")
        assert [l for l in said if re.search(
            rf"{re.escape(p2)}: iommu-lu: not preserved, but {re.escape(p1)} "
            r"of its IOMMU group is", l)], \
            f"the kernel did not name {p2} when it refused {p1}; {run.describe()}"
        _assert_checks(run, 1, ("group_member_unbound_refused", "group_dma_after_refusal",
                                "group_whole_preserve_ok", "group_whole_preserve_member_ok"))
        assert run.rc == 0, f"scenario exit status {run.rc}; {run.describe()}"


@pytest.mark.machines(*TOPOLOGY_MACHINES)
def test_bridge_alias_refused(guest, machine):
    """The two edu devices behind the PCIe-to-PCI bridge (topology
    bridge-pair) preserved on one HWPT, the first one's device entry
    damaged before the kexec (its refcount: the next kernel's core refuses
    it before any IOMMU driver sees it). Both DMA with the bridge's
    requester ID, so the entry the second one keeps would translate the
    first one's DMA too: the second must be refused as well (legacy mode:
    a device not kept DMAs with its alias, and a log line names the first;
    scalable mode: the alias's entry points at the first one's PASID
    directory, which no kept device owns). In the next kernel the DMA of each (no user, BAR
    0 through sysfs) to the IOVAs they used must fault: a DMAR fault of the
    bridge's requester ID for each IOVA, in each device's own turn."""
    topo = TOPOLOGIES["bridge-pair"]
    run = _topology_run(guest, machine, topo, how="alias-refused")
    with _with_guest_errors(run):
        p1, p2 = topo.preserved
        alias = topo.requester_of(p1)
        s2 = run.stage(2)
        _assert_checks(run, 1, TOPOLOGY_PRESERVE_CHECKS["one-hwpt"] + ("corrupt_written",))
        assert run.grep(r"iommu-lu: refusing incoming device \d+: refcount 2", stage=2), \
            f"the next kernel's core did not refuse {p1}'s entry; {run.describe()}"
        # Legacy mode: the alias's entry reads as the second one's own, kept
        # but for the first one, which DMAs with it. Scalable mode: it points
        # at the first one's PASID directory, which no kept device owns.
        why = {"vtd": "a device that DMAs with its alias is not kept",
               "vtd-sm": "context entry of a DMA alias is no kept device's"}[machine]
        refused = run.grep(rf"live update: device {re.escape(p2)}: {re.escape(why)}; "
                           r"its DMA is blocked", stage=2)
        assert refused, f"{p2} was not refused with {p1} ({why}); {run.describe()}"
        if machine == "vtd":
            said = run.grep(rf"{re.escape(p1)}: DMAR: dmar\d+: live update: DMAs with "
                            rf"the requester ID {re.escape(alias[5:])} of a preserved "
                            r"device, and is not kept", stage=2)
            assert said, f"no log line names {p1}, which DMAs with the alias; " \
                f"{run.describe()}"
        for prefix, bdf, first, last in (
                ("offdma", p1, r"LU-RESULT 2 offdma_bdf ", r"LU-RESULT 2 member_offdma_bdf "),
                ("member_offdma", p2, r"LU-RESULT 2 member_offdma_bdf ", r"LU-STAGE-END")):
            assert s2.results.get(f"{prefix}_bdf") == bdf, run.describe()
            _assert_checks(run, 2, (f"{prefix}_issued",))
            lines = _kernel_lines_between(run, 2, first, last)
            for key in (f"{prefix}_read_iova", f"{prefix}_write_iova"):
                addr = format(int(s2.results[key], 16), "x")
                rx = re.compile(rf"DMAR: .*Request device \[{re.escape(alias)}\] "
                                rf"fault addr 0x0*{addr}\b")
                assert [l for l in lines if rx.search(l)], \
                    f"{bdf}: DMA to {key} {s2.results[key]} with no DMAR fault of " \
                    f"{alias} in its turn; {run.describe()}"


@pytest.mark.machines(*TOPOLOGY_MACHINES)
def test_bridge_alias_removal(guest, machine):
    """No live update: the two edu devices behind the PCIe-to-PCI bridge
    (topology bridge-pair) on one HWPT. Their DMA arrives with the
    bridge's requester ID, whose context entry serves both: in VT-d
    scalable mode it points at the PASID table of the device whose probe
    set it up, the first; in legacy mode it holds their domain. The first
    is closed and removed from the bus: the entry must stay for the other
    (scalable mode: pass to its PASID table), whose DMA must go on with no
    DMAR fault. (The base kernel wrote no such entry in scalable mode, and
    cleared it in legacy mode when either device was removed.)"""
    topo = TOPOLOGIES["bridge-pair"]
    run = _topology_run(guest, machine, topo, how="alias-removal")
    with _with_guest_errors(run):
        p1, _ = topo.preserved
        s1 = run.stage(1)
        _assert_checks(run, 1, ("alias_dma_before_removal",
                                "alias_member_dma_before_removal"))
        assert s1.results.get("alias_removed_bdf") == p1, run.describe()
        _assert_checks(run, 1, ("alias_member_dma_after_removal",))
        faults = [l for l in s1.lines[s1.lines.index(next(
            l for l in s1.lines if "LU-RESULT 1 alias_removed_bdf" in l)):]
            if re.search(DMAR_FAULT, l)]
        assert not faults, "DMAR faults after the removal:\n" + \
            "".join(faults[:6]) + run.describe()
        assert run.rc == 0, f"scenario exit status {run.rc}; {run.describe()}"


# lu-topo's hitless mode (lu-vfio retrieve --hitless-replace): the HWPT
# replaced with DMA running, the restored one by an HWPT of the same IOAS
# ("same", before the FINISH), that by one of a new IOAS with the same
# memfd pages ("other", after the FINISH)
HITLESS_SAME_CHECKS = ("hitless_same_hwpt_alloc_ok", "restored_hwpt_destroy_after_replace_ok",
                       "restored_table_freed")
HITLESS_OTHER_CHECKS = ("hitless_old_only_map_ok", "hitless_old_only_dma_ok",
                        "hitless_other_ioas_ok", "hitless_other_new_iova_dma_ok",
                        "hitless_other_old_iova_issued", "hitless_other_old_iova_untouched")
DMAR_FAULT = r"DMAR: .*fault"


def _assert_replace_hitless(run, case):
    """Replace window `case` of lu-vfio (LU-RESULT <name>_begin to _end):
    every replace succeeded, the DMA loop's data was intact in every
    round, and the kernel logged no DMAR fault in between."""
    s2, name = run.stage(2), f"hitless_replace_{case}"
    assert f"{name}_end" in s2.results, \
        f"{name}: the replace window did not run to its end; {run.describe()}"
    lines = _kernel_lines_between(run, 2, rf"LU-RESULT 2 {name}_begin ",
                                  rf"LU-RESULT 2 {name}_end ")
    faults = [l for l in lines if re.search(DMAR_FAULT, l)]
    _, dma = _check_ok(run, 2, f"{name}_dma_intact")
    assert not faults, \
        f"{name}: {len(faults)} DMAR fault line(s) while the device's DMA ran " \
        f"and its HWPT was replaced ({s2.results[f'{name}_begin']}; " \
        f"{s2.results[f'{name}_end']}); the DMA loop: {dma}; the faults:\n" + \
        "".join(faults[:6]) + run.describe()
    _assert_checks(run, 2, (f"{name}_attach_ok", f"{name}_dma_intact"))


@pytest.mark.machines(*TOPOLOGY_MACHINES)
def test_hitless_replace_after_update(guest, machine):
    """After the live update (topology bus0: one edu preserved on a marked
    HWPT whose IOAS maps memfd pages A and B), the VMM, its device attached
    to the restored HWPT, replaces its HWPT while its DMA (A to device to
    B) runs in a loop: _check_hitless_replace()."""
    _check_hitless_replace(guest, machine, TOPOLOGIES["bus0"])


@pytest.mark.slow
@pytest.mark.machines("vtd")
def test_hitless_replace_alias_after_update(guest, machine):
    """test_hitless_replace_after_update with the two edu behind a
    PCIe-to-PCI bridge (topology bridge-pair) on the restored HWPT: one
    IOMMU group, replaced together, whose DMA all arrives with the
    bridge's requester ID. In legacy mode the alias's context entry is
    switched on its own (the first device's replace switches it, the
    second finds it switched); in scalable mode it points at one device's
    PASID table, whose PASID 0 entry switches as bus0's does, so the
    scalable mode case adds nothing that is not tested there. In "make
    check-slow", not "make check": 40 s of the CI's time budget for a
    path the replace code shares with bus0 but for its alias check."""
    _check_hitless_replace(guest, machine, TOPOLOGIES["bridge-pair"])


def _check_hitless_replace(guest, machine, topo):
    """After the live update, the VMM, its devices attached to the restored
    HWPT, replaces the first one's HWPT while its DMA (A to device to B)
    runs in a loop. Before the FINISH, the restored HWPT by a
    new HWPT of the restored IOAS (same mappings: the IOAS is immutable
    until the FINISH, but may take another HWPT); after the FINISH, that
    one by an HWPT of a new IOAS that maps the same memfd pages at the same
    IOVAs and a page C (other mappings). In each window lu-vfio replaces
    again and again (to a spare HWPT of the same IOAS and back) for 2 s,
    so that a replace which leaves the device without a translation,
    however briefly, meets a transfer: no DMAR fault may be logged in the
    window, every transfer completes and B is right each time. Destroying
    the restored HWPT once nothing uses it frees its table pages
    (nr_iommu_pages drops by the count its restore logged). After the
    second replace the device reaches C, and D, which only the old IOAS
    mapped (after the FINISH), faults."""
    run = _topology_run(guest, machine, topo, how="hitless")
    with _with_guest_errors(run):
        p1 = topo.preserved[0]
        s2 = run.stage(2)
        _assert_checks(run, 1, TOPOLOGY_PRESERVE_CHECKS[topo.how])
        _assert_incoming(run, 2, domains=topo.domains, devices=len(topo.preserved))
        _assert_checks(run, 2, RETRIEVE_CHECKS)
        _assert_device_updated(run, p1, requester=topo.requester_of(p1))
        if len(topo.preserved) > 1:
            _assert_checks(run, 2, EXTRA_RETRIEVE_CHECKS)
        _assert_checks(run, 2, HITLESS_SAME_CHECKS[:1])
        _assert_replace_hitless(run, "same")
        # The restored table freed once its HWPT is destroyed
        logged = run.grep(r"iommufd: restored HWPT 0x1234: domain \d+, format \d+, "
                          r"\d+ levels, \d+ table pages", stage=2)
        assert logged, f"no restored HWPT line; {run.describe()}"
        pages = int(re.search(r"(\d+) table pages", logged[0]).group(1))
        _assert_checks(run, 2, HITLESS_SAME_CHECKS[1:2])
        before = int(s2.results["iommu_pages_before_destroy"])
        after = int(s2.results["iommu_pages_after_destroy"])
        assert before - after >= pages, \
            f"nr_iommu_pages {before} before the restored HWPT was destroyed, " \
            f"{after} after: {before - after} freed, its table has {pages} " \
            f"pages; {run.describe()}"
        assert s2.results.get("restored_table_pages") == str(pages), run.describe()
        _assert_checks(run, 2, HITLESS_SAME_CHECKS[2:])
        _assert_replace_hitless(run, "other")
        _assert_checks(run, 2, HITLESS_OTHER_CHECKS)
        iova = s2.results["hitless_other_old_iova"]
        assert _dmar_fault(run, 2, iova, topo.requester_of(p1)), \
            f"DMA to {iova}, which only the old IOAS mapped: no DMAR fault " \
            f"of {topo.requester_of(p1)}; {run.describe()}"
        failed = run.failed_checks()
        assert not failed, "guest checks failed:\n  " + "\n  ".join(failed) + \
            "\n" + run.describe()
        assert run.rc == 0, f"scenario exit status {run.rc}; {run.describe()}"
