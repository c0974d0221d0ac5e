# SPDX-License-Identifier: GPL-2.0
"""The kernel's built-in KUnit suites, run at boot in each guest. Every case
is listed in the "KUnit cases" section of the summary."""

import pytest

pytestmark = pytest.mark.qemu


def test_kunit_at_boot(guest, machine):
    run = guest(machine, "boot", kunit=True, timeout=600)
    cases = run.kunit
    assert cases, f"no KUnit results on the console; {run.describe()}"
    failed = [c.id for c in cases if c.status == "fail"]
    assert not failed, f"KUnit cases failed: {failed}; {run.describe()}"
