# SPDX-License-Identifier: GPL-2.0
"""The kernel's own selftests of the parts the series changes, as a
regression gate: iommufd and iommufd_fail_nth (tools/testing/selftests/iommu),
the live update API test and the four LUO kexec tests (liveupdate), and the
VFIO suite (vfio), built from the kernel tree as static programs
(scripts/build-kselftests.sh) and run in the guest of each machine, one boot
per machine (scenario kselftest; the LUO tests: stage 1 of each, one kexec,
stage 2 of each).

Each program's KTAP is parsed; every case is listed in the summary with the
KUnit cases. A program's test fails on any failed case not in
EXPECTED_FAIL, on a case of EXPECTED_FAIL that passed (the list is kept
short and true), on a skipped case not in EXPECTED_SKIP (a case that stops
running here is lost coverage, not a pass), on a run that stopped early and
on a plan or totals line that does not add up. A program that skips as a
whole is a pytest skip with its reason, never a pass.

How to run one suite alone: docs/development.md.
"""

import fnmatch
import os

import pytest

from conftest import _shared_run, report_cases
from harness import ktap, qemu

# Every case asserts on one guest run per machine
pytestmark = [pytest.mark.qemu, pytest.mark.shares("kselftest-{machine}")]

# What the guest runs, in order (SUITE/PROG[@VENDOR:DEVICE]; see
# guest/scenarios/kselftest.sh). The vfio programs run on the edu device,
# vfio_pci_device_test on the e1000e: it has MSI-X and a reset, which the
# edu has not.
PROGRAMS = [
    "iommu/iommufd", "iommu/iommufd_fail_nth", "liveupdate/liveupdate",
    "vfio/vfio_dma_mapping_test", "vfio/vfio_dma_mapping_mmio_test",
    "vfio/vfio_iommufd_setup_test", "vfio/vfio_pci_device_test@8086:10d3",
    "vfio/vfio_pci_device_init_perf_test", "vfio/vfio_pci_driver_test",
    "vfio/vfio_pci_sriov_uapi_test",
]
LUO_TESTS = ["luo_kexec_simple", "luo_multi_session", "luo_stress_sessions",
             "luo_stress_files"]

# The series' own cases in the upstream suites (kernel-patches 0069): each
# must run and pass, so that none disappears unnoticed
REQUIRED = {
    "iommu/iommufd": ["iommufd_lu." + n for n in (
        "set_preserve_args", "mark_once", "mark_needs_memfd", "mark_unsupported",
        "mark_freezes_ioas", "mark_dies_with_iommufd", "marks_freeze_together",
        "mark_not_paging", "mark_needs_shmem", "get_id", "preserved_iommufd",
        "preserve_needs_mark", "preserved_iommufd_closed")],
    "iommu/iommufd_fail_nth": ["basic_fail_nth.lu_mark"],
}

# Failures we know of, each with its reason: case id (fnmatch pattern) ->
# why. Empty today; an entry needs a reason a reviewer accepts and is
# removed when the case passes again.
EXPECTED_FAIL = {}

# Cases the suites skip on these machines, each with why: (case id or
# program, fnmatch pattern) -> (what the suite must give as its reason, a
# substring; why that is expected here). A skip for another reason fails.
EXPECTED_SKIP = {
    "iommufd.iommufd_viommu.no_viommu.*": (
        "Skipping test for variant no_viommu",
        "the fixture's variant without a vIOMMU skips the vIOMMU cases by design"),
    "vfio_pci_driver_test": (
        "No driver found for device",
        "the vfio suite drives only ioat, dsa, nv_falcon and igb devices; "
        "QEMU 7.2 has none of them"),
    "vfio_pci_sriov_uapi_test": (
        "SR-IOV may not be supported by the PF",
        "no SR-IOV device in QEMU 7.2 (edu and e1000e have no SR-IOV capability)"),
}

# The guest: 4 GiB and 1 GiB pages in the CPU, for one 1 GiB huge page
# (vfio_dma_mapping_test's hugetlb_1gb variants) and 64 2 MiB ones
# (iommufd's and vfio's hugepage variants); an e1000e beside the edu.
GUEST = dict(memory="4G", edu=1,
             qemu_extra=("-device", "e1000e", "-cpu", "qemu64,+pdpe1gb"),
             append=("hugepagesz=1G", "hugepages=1", "hugepagesz=2M", "hugepages=64"))
# On amdvi, interrupt remapping is off (see harness/qemu.py): the VFIO
# container's type1 backend refuses devices unless told otherwise.
MACHINE_APPEND = {"amdvi": ("vfio_iommu_type1.allow_unsafe_interrupts=1",)}


def _name(prog):
    suite, p = prog.split("/", 1)
    return f"ksft-{suite}-{p}"


def _run(machine):
    args = PROGRAMS + ["luo"]
    return _shared_run(f"kselftest-{machine}", machine, "kselftest",
                       args=args, initrd=qemu.KSFT_INITRAMFS, timeout=900,
                       memory=GUEST["memory"], edu=GUEST["edu"],
                       qemu_extra=GUEST["qemu_extra"],
                       append=GUEST["append"] + MACHINE_APPEND.get(machine, ()))


def _match(table, key):
    return next((why for pat, why in table.items() if fnmatch.fnmatchcase(key, pat)),
                None)


def _expected_skip(key, reason):
    """Why the skip of `key` for `reason` is expected, or None"""
    want = _match(EXPECTED_SKIP, key)
    return want[1] if want and want[0] in reason else None


def _check_program(request, machine, run, stage, name, prog):
    st = run.stage(stage)
    out = st.blob(name)
    assert out is not None and name in st.results, \
        f"{name} did not run in stage {stage}; {run.describe()}"
    rc = int(st.results[name])
    res = ktap.parse_kselftest(out, prog)
    if res.cases:
        report_cases(request.node.nodeid, machine, res.cases)
    return rc, res, out


@pytest.mark.parametrize("prog", PROGRAMS)
def test_kselftest(request, machine, prog):
    run = _run(machine)
    binary = prog.split("/", 1)[1].split("@")[0]
    rc, res, out = _check_program(request, machine, run, 1, _name(prog), binary)
    # A program that skips as a whole (kselftest's exit status 4) says why
    if rc == 4 and not res.cases:
        why = _expected_skip(binary, out)
        assert why, f"{prog} skipped, not as EXPECTED_SKIP expects:\n{out}"
        pytest.skip(f"{prog}: {res.skip_reason or out.strip()} ({why})")
    assert not res.problems, f"{prog}: {res.problems}; {run.describe()}"
    failed = [c.id for c in res.cases if c.status == "fail" and
              not _match(EXPECTED_FAIL, c.id)]
    stale = [c.id for c in res.cases if c.status != "fail" and
             _match(EXPECTED_FAIL, c.id)]
    skipped = [f"{c.id} ({c.directive})" for c in res.cases
               if c.status == "skip" and not _expected_skip(c.id, c.directive)]
    assert not failed, f"{prog}: unexpected failures {failed}; {run.describe()}"
    assert not stale, f"{prog}: on EXPECTED_FAIL but did not fail: {stale}"
    assert not skipped, f"{prog}: unexpected skips {skipped}; {run.describe()}"
    got = {c.name: c.status for c in res.cases}
    missing = [n for n in REQUIRED.get(prog, ()) if got.get(n) != "pass"]
    assert not missing, f"{prog}: the series' cases missing or not passed: {missing}"
    # kselftest's exit status agrees: 0 unless a case failed
    want = 1 if any(c.status == "fail" for c in res.cases) else 0
    assert rc == want, f"{prog} exited {rc}, its cases say {want}; {run.describe()}"


@pytest.mark.parametrize("prog", LUO_TESTS)
def test_luo_kexec(request, machine, prog):
    """A LUO kexec test: stage 1 preserves and leaves a process holding its
    sessions, stage 2 (after the kexec, through the state session it
    preserved) retrieves and checks them. Neither stage prints KTAP; the
    exit status is the verdict, and the stage 2 run must have found the
    state stage 1 left (it fails on a stage mismatch)."""
    run = _run(machine)
    assert run.stage(1).kexec, f"stage 1 never kexeced; {run.describe()}"
    # The iommufd selftest preserved mock domains in sessions it closed
    # before the kexec: nothing of the IOMMU's reached the next kernel
    left = run.grep(r"iommu-lu: ", stage=2)
    assert not left, f"IOMMU live update state after the kexec: {left[:3]}"
    cases, failed = [], []
    for stage in (1, 2):
        name = f"ksft-liveupdate-{prog}-s{stage}"
        try:
            rc, res, out = _check_program(request, machine, run, stage, name, prog)
        except AssertionError as e:
            # The stage did not run (the kexec failed, say)
            cases.append(ktap.KunitCase(prog, f"stage{stage}", "fail"))
            failed.append(str(e))
            continue
        ok = rc == 0 and f"[STAGE {stage}]" in out
        cases.append(ktap.KunitCase(prog, f"stage{stage}", "pass" if ok else "fail"))
        if rc:
            failed.append(f"{prog} stage {stage} exited {rc}:\n{out}")
        elif not ok:
            failed.append(f"{prog} stage {stage} said nothing:\n{out}")
    # Both stages reach the summary, a failed or missing one too
    report_cases(request.node.nodeid, machine, cases)
    assert not failed, "\n".join(failed) + f"\n{run.describe()}"


def test_kselftest_programs_listed():
    """Every program the build made is run by PROGRAMS or LUO_TESTS: a new
    upstream program is not silently left out."""
    root = os.path.join(qemu.GUEST, "kselftest", "root", "kselftest")
    built = {f"{s}/{p}" for s in os.listdir(root)
             for p in os.listdir(os.path.join(root, s))}
    listed = {p.split("@")[0] for p in PROGRAMS} | {f"liveupdate/{p}" for p in LUO_TESTS}
    assert built == listed, (sorted(built - listed), sorted(listed - built))
