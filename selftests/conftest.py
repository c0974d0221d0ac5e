# SPDX-License-Identifier: GPL-2.0
"""Shared fixtures: the machines, a runner that checks for kernel splats, and
a per-case KUnit and kselftest report in the terminal summary.

`make check` runs the tests on pytest-xdist workers, one per core (a guest
keeps about one host core busy), fewer when memory is short (Makefile).
The tests that assert on one shared guest run are kept on one worker
(--dist loadgroup), so that each run boots once."""

import os

import pytest

from harness import qemu

MACHINES = ("vtd", "amdvi")
_kunit_reports = []


def pytest_generate_tests(metafunc):
    if "machine" in metafunc.fixturenames:
        marks = getattr(metafunc.function, "pytestmark", [])
        only = [m.args for m in marks if m.name == "machines"]
        names = only[0] if only else MACHINES
        metafunc.parametrize("machine", names)


def pytest_configure(config):
    config.addinivalue_line("markers", "machines(*names): run on these machines only")
    config.addinivalue_line(
        "markers", "shares(name): asserts on the shared run `name` ({machine} "
        "is the test's machine): on the same xdist worker as its other tests")


# The fixtures that hand out a shared run, and the run's name
_SHARED_FIXTURES = {
    "lu_e2e": "lu-iommufd-e2e-{param}",
    "lu_e2e_amdvi": "lu-iommufd-e2e-amdvi",
    "lu_memory": "lu-memory-{param}",
}


def _shared_group(item):
    """The shared run `item` asserts on, or None"""
    params = getattr(getattr(item, "callspec", None), "params", {})
    for fixture, name in _SHARED_FIXTURES.items():
        if fixture in item.fixturenames:
            return name.format(param=params.get(fixture, ""))
    mark = item.get_closest_marker("shares")
    if mark and "machine" in params:
        return mark.args[0].format(machine=params["machine"])
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Before xdist reads the groups"""
    for item in items:
        group = _shared_group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


_pending_cases = []


def report_cases(nodeid, machine, cases):
    """List KTAP cases (KUnit's, a kselftest program's) in the summary."""
    _pending_cases.append((nodeid, machine,
                           [(c.id, c.status, c.directive) for c in cases]))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Carry the cases in the test's report: under xdist the summary is
    written by the controller, which sees only the reports."""
    outcome = yield
    if _pending_cases:
        report = outcome.get_result()
        report.user_properties = list(report.user_properties) + \
            [("ktap-cases", list(_pending_cases))]
        _pending_cases.clear()


def pytest_runtest_logreport(report):
    for key, value in report.user_properties:
        if key == "ktap-cases":
            _kunit_reports.extend(value)


def _checked_run(nodeid, machine, scenario, *, allow_fail=False, **kw):
    run = qemu.run(machine, scenario, **kw)
    if run.kunit:
        report_cases(nodeid, machine, run.kunit)
    assert not run.timed_out, f"guest timed out after {run.seconds:.0f}s; {run.describe()}"
    splats = run.splats()
    assert not splats, "kernel splat:\n" + "".join(splats[:10]) + run.describe()
    assert run.done, f"guest never reached LU-DONE; {run.describe()}"
    if not allow_fail:
        failed = run.failed_checks()
        assert not failed, "guest checks failed:\n  " + "\n  ".join(failed) + \
            "\n" + run.describe()
        assert run.rc == 0, f"scenario exit status {run.rc}; {run.describe()}"
    return run


@pytest.fixture
def guest(request):
    """Run a scenario; fail the test on a kernel splat or a timeout, and
    name the serial log in every failure."""

    def _run(machine, scenario, **kw):
        kw.setdefault("name", request.node.name.replace("/", "_"))
        return _checked_run(request.node.nodeid, machine, scenario, **kw)

    return _run


_shared = {}
_shared_groups = {}
_current = {}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Remember the test whose fixtures are set up next (_shared_run)"""
    _current["item"] = item


def _shared_run(name, machine, scenario, **kw):
    """Boot `scenario` once for every test that asserts on it (a guest boot
    costs about a minute): the first test to ask runs it, the others get the
    same Run. If that run failed, each of them fails. Under xdist a test
    without a group would boot the run again on its own worker: it fails
    instead, naming what to add."""
    item = _current.get("item")
    if os.environ.get("PYTEST_XDIST_WORKER") and item is not None:
        mark = item.get_closest_marker("xdist_group")
        group = mark.args[0] if mark else None
        # xdist sets loadgroup on its workers (their own dist is "no")
        if not getattr(item.config.option, "loadgroup", False):
            why = "xdist runs without --dist loadgroup (make check gives it)"
        elif group is None:
            why = ("the test has no xdist group: name its fixture in "
                   "_SHARED_FIXTURES (conftest.py) or mark it shares(...)")
        elif _shared_groups.setdefault(name, group) != group:
            why = f"its group {group} is not the run's, {_shared_groups[name]}"
        else:
            why = None
        if why:
            pytest.fail(f"{item.nodeid} asserts on the shared run {name}, but "
                        f"{why}: each worker would boot it", pytrace=False)
    if name not in _shared:
        _shared[name] = None
        _shared[name] = _checked_run(name, machine, scenario, name=name, **kw)
    assert _shared[name] is not None, f"the {name} run failed in an earlier test"
    return _shared[name]


def lu_e2e_run(machine):
    """The shared lu-iommufd run of `machine`: see lu_e2e."""
    return _shared_run(f"lu-iommufd-e2e-{machine}", machine, "lu-iommufd",
                       edu=2, append=("trace_event=iommu_lu:*",) + qemu.TIMELINE_APPEND)


@pytest.fixture(params=MACHINES)
def lu_e2e(request):
    """The end-to-end device live update on each machine (scenario
    lu-iommufd, two edu devices, the first preserved), booted once per
    machine for every test that asserts on it: the live update itself
    (test_iommufd_lu) and what lutrace saw of it (test_lutrace). The kernel
    records its iommu_lu events from boot on (trace_event=), so that the
    restore at boot can be compared with lutrace's view."""
    return lu_e2e_run(request.param)


@pytest.fixture
def lu_e2e_amdvi():
    """lu_e2e's run on the amdvi machine alone."""
    return lu_e2e_run("amdvi")


@pytest.fixture(params=MACHINES)
def lu_memory(request):
    """The memory the restored HWPT maps, after a live update on each
    machine (scenario lu-memory, two edu devices, the first preserved),
    booted once per machine for test_iommufd_lu's test_memory_* tests.
    init_on_free=1 zeroes freed pages, so that DMA from a page freed under
    the device reads zeros. A failed guest check fails only the tests that
    assert it (allow_fail): each test asserts its own."""
    machine = request.param
    return _shared_run(f"lu-memory-{machine}", machine, "lu-memory", edu=2,
                       append=("init_on_free=1",), allow_fail=True)


def pytest_terminal_summary(terminalreporter):
    if not _kunit_reports:
        return
    tr = terminalreporter
    tr.section("KUnit and kselftest cases")
    for nodeid, machine, cases in _kunit_reports:
        npass = sum(status == "pass" for _, status, _ in cases)
        nfail = sum(status == "fail" for _, status, _ in cases)
        nskip = sum(status == "skip" for _, status, _ in cases)
        tr.write_line(f"{machine}: {npass} passed, {nfail} failed, {nskip} skipped ({nodeid})")
        for case_id, status, directive in cases:
            extra = f"  # {directive}" if directive else ""
            tr.write_line(f"  {status.upper():4} {machine} {case_id}{extra}")
