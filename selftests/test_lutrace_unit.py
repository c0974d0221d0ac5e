# SPDX-License-Identifier: GPL-2.0
"""lutrace's host unit tests (selftests/lutrace/test_lutrace.c): decoding the
IOMMU live update state, parsing and printing the trace events, the latency
histograms and the JSON writer. No QEMU; 'make lutrace-unit' builds them."""

import os
import re
import subprocess

from harness import qemu

BINARY = os.path.join(qemu.LUTRACE_BUILD, "test-lutrace")


def test_lutrace_unit():
    if not os.path.exists(BINARY):
        raise AssertionError(f"{BINARY} is missing: run 'make lutrace-unit' first")
    p = subprocess.run([BINARY], cwd=qemu.TOP, text=True, timeout=120,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout
    failed = [line for line in out.splitlines() if line.startswith("not ok ")]
    m = re.search(r"^# lutrace unit: (\d+) passed, (\d+) failed$", out, re.M)
    assert m, f"no summary line in the output of {BINARY}:\n{out}"
    passed, nfailed = int(m.group(1)), int(m.group(2))
    assert p.returncode == 0 and nfailed == 0, \
        f"{BINARY} exited {p.returncode}, {nfailed} failed:\n  " + \
        "\n  ".join(failed) + f"\n\nfull output:\n{out}"
    assert not failed, f"'not ok' lines but a clean summary:\n{out}"
    # Every case the binary plans runs and passes: none is skipped
    plan = re.search(r"^1\.\.(\d+)$", out, re.M)
    assert plan, f"no plan line (1..N) in the output of {BINARY}:\n{out}"
    ok = re.findall(r"^ok (\d+) ", out, re.M)
    assert passed == int(plan[1]) == len(ok) and \
        [int(n) for n in ok] == list(range(1, passed + 1)), \
        f"{passed} passed, {len(ok)} ok lines, of a plan of {plan[1]}:\n{out}"
