#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Page table live update benchmark: boots the vtd guest with only the
generic_pt live update benchmark suites and prints what they measured.

Not a test: nothing here asserts a time. Each format maps 4 MiB, 64 MiB and
1 GiB with 4 KiB pages (the mock format: its 2 KiB pages) and reports the
preserve, unpreserve and restore time per table page. Preserve and
unpreserve go through KHO; restore is the check of the whole table plus a
trivial per-page restore, as KHO restores only in a kernel booted from it.
"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import qemu  # noqa: E402

LINE = re.compile(r"lu-bench: (.*)$")


def main():
    run = qemu.run("vtd", "boot", kunit=True, timeout=1800, name="pt-lu-bench",
                   kunit_filter=("kunit.filter_glob=*_iommu_lu_bench",))
    rows = []
    for line in run.lines:
        m = LINE.search(line)
        if m:
            rows.append(dict(kv.split("=", 1) for kv in m.group(1).split()))
    if not rows:
        print(f"no benchmark output; {run.describe()}", file=sys.stderr)
        return 1
    failed = [c.id for c in run.kunit if c.status == "fail"]
    hdr = ("format", "mapped_kib", "tables", "preserve_ns_per_table",
           "unpreserve_ns_per_table", "restore_ns_per_table")
    print(" ".join(f"{h:>24}" for h in hdr))
    for r in rows:
        print(" ".join(f"{r.get(h, '?'):>24}" for h in hdr))
    print(f"# QEMU TCG, {run.seconds:.0f} s; log {run.log_path}")
    if failed:
        print(f"benchmark cases failed: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
