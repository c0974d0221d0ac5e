#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""make bench: what the IOMMU live update costs, printed as numbers and as
ratios where a goal is a ratio. Not a test: nothing here asserts a time.
Every figure is from QEMU TCG (no KVM on the machine): absolute times are
context only, ratios measured in the same run are what to compare.

Method (each part says its repetitions; "a/b/c" is min/median/max, ratios
are of medians):

1. Page tables (KUnit, one vtd boot, kunit.filter_glob=*bench): for each
   generic_pt format, 64 MiB, 1 GiB and 16 GiB mapped with 4 KiB and with
   2 MiB leaves; per table page, 5 runs each: a bare walk of the table
   (pt_walk_range() visiting every table), preserve and unpreserve with
   KHO, restore (the whole table checked, KHO's per-page restore stubbed:
   KHO restores only in a kernel booted from it). Goal: preserve / walk.
2. Incoming device lookup (KUnit, same boot): 65,536 lookups of a crafted
   state with 64 and with 4096 preserved devices, 5 runs. Goal:
   4096 / 64.
3. Preserve with lutrace attached (guest program lu-bench, scenario bench,
   per machine, MIB MiB memfd mapped by the device's HWPT): REPS preserve
   cycles of the memfd, the iommufd and the device into a session,
   without and then with "lutrace trace" and "lutrace latency" running.
   Goal: with / without.
4. Restore against starting over (same boot, then KEXECS kexecs, one
   sample each): the restore is the new kernel's part (from its
   "iommu-lu: incoming state" log line, the state validated, to "restored
   its preserved domain", the domain restored at the device's probe; the
   printk clock), plus the VMM's: the iommufd retrieved (the HWPT
   restored, the IOAS rebuilt from the memfd, pinned), IOMMU_HWPT_LU_GET_ID,
   the device retrieved, bound and attached. Starting over is a new IOAS
   that maps the same memfd with IOMMU_IOAS_MAP_FILE, a new HWPT, the
   device attached, REPS times per kernel. Goal: restore / start over.

Not measured yet: lutrace dump time against the number of entries, and the
timeline of an update across both kernels (issue 15).
"""

import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import qemu  # noqa: E402

MIB, REPS, KEXECS = 1024, 5, 3
MACHINES = ("vtd", "amdvi")
LINE = re.compile(r"lu-bench: (.*)$")
TS = re.compile(r"^\[\s*(\d+\.\d+)\]")


def mmm(values):
    """min/median/max of a list of numbers, and the median"""
    vs = sorted(values)
    return f"{vs[0]}/{statistics.median(vs):.0f}/{vs[-1]}", statistics.median(vs)


def triple(s):
    """"a/b/c" -> (a, b, c)"""
    a, b, c = (int(x) for x in s.split("/"))
    return a, b, c


def kunit_part():
    t0 = time.monotonic()
    run = qemu.run("vtd", "boot", kunit=True, timeout=1800, name="bench-kunit",
                   kunit_filter=("kunit.filter_glob=*bench",))
    rows = []
    for line in run.lines:
        m = LINE.search(line)
        if m and "=" in m.group(1):
            rows.append(dict(kv.split("=", 1) for kv in m.group(1).split()
                             if "=" in kv))
    failed = [c.id for c in run.kunit if c.status == "fail"]
    print(f"# KUnit benchmarks: vtd guest, {time.monotonic() - t0:.0f} s; "
          f"log {run.log_path}")
    if failed or not rows:
        print(f"benchmark cases failed or printed nothing: {failed}", file=sys.stderr)
        return 1

    print("\n## 1. Page table preserve per table page, ns (min/median/max of "
          "5), against a bare walk of the same table")
    hdr = ("format", "leaf", "mapped", "tables", "walk", "preserve",
           "unpreserve", "restore", "preserve/walk")
    print(" | ".join(hdr))
    for r in rows:
        if "walk_ns_per_table" not in r:
            continue
        walk, pre = triple(r["walk_ns_per_table"]), triple(r["preserve_ns_per_table"])
        print(" | ".join([
            r["format"], f"{r['leaf_kib']} KiB", f"{r['mapped_mib']} MiB", r["tables"],
            r["walk_ns_per_table"], r["preserve_ns_per_table"],
            r["unpreserve_ns_per_table"], r["restore_ns_per_table"],
            f"{pre[1] / walk[1]:.2f}"]))

    print("\n## 2. Incoming device lookup, ns per lookup (min/median/max of 5 "
          "runs of 65,536 lookups)")
    look = {int(r["devices"]): triple(r["ns_per_lookup"]) for r in rows
            if "ns_per_lookup" in r}
    for n, v in sorted(look.items()):
        print(f"{n} devices | {'/'.join(map(str, v))}")
    if 64 in look and 4096 in look:
        print(f"4096 / 64 devices: {look[4096][1] / look[64][1]:.2f}")
    return 0


def guest_part(machine):
    t0 = time.monotonic()
    run = qemu.run(machine, "bench", args=(str(MIB), str(REPS), str(KEXECS)),
                   edu=1, memory="4G", timeout=1800, name="bench-guest")
    print(f"\n# {machine}: guest benchmarks, {MIB} MiB memfd, "
          f"{time.monotonic() - t0:.0f} s; log {run.log_path}")
    if not run.done or run.rc or run.failed_checks():
        print(f"{machine}: the bench scenario failed; {run.describe()}", file=sys.stderr)
        return 1

    s1 = run.stage(1).results
    print(f"\n## 3. {machine}: preserve, us (min/median/max of {REPS}), "
          "without and with lutrace trace and latency attached")
    print("operation | without | with | with/without")
    for op in ("iommufd", "device", "memfd", "close"):
        without, mw = mmm([int(x) for x in s1[f"preserve_{op}_us"].split()])
        with_, ml = mmm([int(x) for x in s1[f"lt_preserve_{op}_us"].split()])
        name = "session close (unpreserve all)" if op == "close" else op
        print(f"{name} | {without} | {with_} | {ml / mw:.2f}")

    print(f"\n## 4. {machine}: restore of the marked HWPT against mapping the "
          f"memfd afresh, ms ({KEXECS} kexecs; fresh: median of {REPS} per kernel)")
    print("kernel | kernel restore | iommufd retrieve | GET_ID | device | "
          "restore total | fresh | restore/fresh")
    ratios = []
    for n in range(2, KEXECS + 2):
        st = run.stage(n)
        inc = [line for line in st.lines if "iommu-lu: incoming state" in line]
        done = [line for line in st.lines if "restored its preserved domain" in line]
        if not inc or not done:
            print(f"{machine}: stage {n} has no restore log lines", file=sys.stderr)
            return 1
        k_ms = (float(TS.match(done[-1]).group(1)) -
                float(TS.match(inc[0]).group(1))) * 1000
        r = st.results
        parts = [int(r[k]) / 1000 for k in
                 ("restore_iommufd_us", "restore_get_id_us", "restore_device_us")]
        total = k_ms + sum(parts)
        fresh = statistics.median(int(x) for x in r["fresh_us"].split()) / 1000
        ratios.append(total / fresh)
        print(f"{n} | {k_ms:.1f} | {parts[0]:.1f} | {parts[1]:.2f} | {parts[2]:.1f} | "
              f"{total:.1f} | {fresh:.1f} | {total / fresh:.2f}")
    print(f"restore/fresh, median over kernels: {statistics.median(ratios):.2f}")
    return 0


def main():
    print(__doc__.split("\n\n")[0])
    rc = kunit_part()
    for m in MACHINES:
        rc |= guest_part(m)
    return rc


if __name__ == "__main__":
    sys.exit(main())
