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
   per machine, a MIB MiB memfd mapped by the device's HWPT): REPS rounds,
   each one preserve cycle of the memfd, the iommufd and the device into a
   session without lutrace and one with "lutrace trace" and "lutrace
   latency" running, interleaved. Goal: with / without.
4. Restore against starting over (same boot, then KEXECS kexecs, one
   sample each). The restore is the new kernel's part, from the update's
   timeline (lutrace timeline, the TSC of both kernels): its phases
   "validate and adopt" and "restore at probe", from the first step that
   reads the state to the device's domain restored at probe (other boot
   work runs in between: an upper bound; the IOMMU steps' own time is
   shown too); plus the VMM's: the iommufd retrieved (the HWPT restored, the IOAS
   rebuilt from the memfd, pinned), IOMMU_HWPT_LU_GET_ID and the device
   attached to the restored HWPT. Starting over is a new IOAS that maps
   the same memfd with IOMMU_IOAS_MAP_FILE, a new HWPT and the device
   attached, REPS times per kernel (the first, cold, shown apart). The
   device's retrieve and bind to the iommufd, which both pay, is shown but
   left out of the ratio. Goal: restore / start over (median of fresh).

Each kexec's blackout (the handover to the device's restore) and the
IOMMU's share of it come from the same timeline.
5. lutrace dump against the number of entries (host, test-lutrace
   --bench): the user space part of a dump (the model, its checks, the
   text or JSON view) of crafted outgoing states of 10, 1,000 and 10,000
   device entries, 5 runs each. Goal: ns per entry flat (linear). The BPF
   program's part copies each block of the chain once (bpf_loop) and is
   not in it: a live state of 10,000 devices cannot be made here.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import qemu  # noqa: E402

MIB, REPS, KEXECS = 1024, 5, 3
MACHINES = ("vtd", "amdvi")
LINE = re.compile(r"lu-bench: (.*)$")


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
    pt = [r for r in rows if "walk_ns_per_table" in r]
    if failed or len(pt) != 4 * 2 * 3:
        print(f"benchmark cases failed {failed} or page table rows missing "
              f"({len(pt)} of 24)", file=sys.stderr)
        return 1

    print("\n## 1. Page table preserve per table page, ns (min/median/max of "
          "5), against a bare walk of the same table")
    hdr = ("format", "leaf", "mapped", "tables", "walk", "preserve",
           "unpreserve", "restore", "preserve/walk")
    print(" | ".join(hdr))
    for r in pt:
        walk, pre = triple(r["walk_ns_per_table"]), triple(r["preserve_ns_per_table"])
        print(" | ".join([
            r["format"], f"{r['leaf_kib']} KiB", f"{r['mapped_mib']} MiB", r["tables"],
            r["walk_ns_per_table"], r["preserve_ns_per_table"],
            r["unpreserve_ns_per_table"], r["restore_ns_per_table"],
            f"{pre[1] / walk[1]:.2f}"]))

    print("\n## 2. Incoming device lookup, ns per lookup (min/median/max of 5 "
          "runs of 65,536 lookups)")
    look = {int(r["devices"]): (triple(r["ns_per_lookup"]), triple(r["ns_per_miss"]))
            for r in rows if "ns_per_lookup" in r}
    if sorted(look) != [64, 4096]:
        print(f"lookup benchmark rows missing: {sorted(look)}", file=sys.stderr)
        return 1
    print("devices | hit | miss")
    for n, (hit, miss) in sorted(look.items()):
        print(f"{n} | {'/'.join(map(str, hit))} | {'/'.join(map(str, miss))}")
    print(f"4096 / 64 devices: hit {look[4096][0][1] / look[64][0][1]:.2f}, "
          f"miss {look[4096][1][1] / look[64][1][1]:.2f}")
    return 0


def guest_part(machine):
    t0 = time.monotonic()
    run = qemu.run(machine, "bench", args=(str(MIB), str(REPS), str(KEXECS)),
                   edu=1, memory="4G", timeout=1800, name="bench-guest",
                   append=qemu.TIMELINE_APPEND)
    print(f"\n# {machine}: guest benchmarks, {MIB} MiB memfd, "
          f"{time.monotonic() - t0:.0f} s; log {run.log_path}")
    if not run.done or run.rc or run.failed_checks():
        print(f"{machine}: the bench scenario failed; {run.describe()}", file=sys.stderr)
        return 1

    s1 = run.stage(1).results
    print(f"\n## 3. {machine}: preserve, us (min/median/max of {REPS} rounds), "
          "without and with lutrace trace and latency attached, interleaved")
    print("operation | without | with | with/without")
    for op in ("iommufd", "device", "memfd", "close"):
        without, mw = mmm([int(s1[f"r{i}_preserve_{op}_us"]) for i in range(1, REPS + 1)])
        with_, ml = mmm([int(s1[f"lt_r{i}_preserve_{op}_us"]) for i in range(1, REPS + 1)])
        name = "session close (unpreserve all)" if op == "close" else op
        print(f"{name} | {without} | {with_} | {ml / mw:.2f}")

    print(f"\n## 4. {machine}: restore of the marked HWPT against mapping the "
          f"memfd afresh, ms ({KEXECS} kexecs)")
    print("kernel | kernel restore (IOMMU steps) | iommufd retrieve | GET_ID | attach | "
          "restore total | fresh first | fresh median | restore/fresh | "
          "(device retrieve+bind) | blackout (IOMMU share)")
    ratios = []
    for n in range(2, KEXECS + 2):
        st = run.stage(n)
        if st.results.get("timeline-rc") != "0" or not st.blob("timeline"):
            print(f"{machine}: stage {n}: no timeline: {st.blob('timeline-err')}",
                  file=sys.stderr)
            return 1
        tl = json.loads(st.blob("timeline"))
        ph = {p["name"]: p for p in tl["phases"]}
        k_ms = (ph["adopt"]["duration_ns"] + ph["restore"]["duration_ns"]) / 1e6
        k_iommu = (ph["adopt"]["iommu_ns"] + ph["restore"]["iommu_ns"]) / 1e6
        b = tl["blackout"]
        r = st.results
        parts = [int(r[k]) / 1000 for k in
                 ("restore_iommufd_us", "restore_get_id_us", "restore_attach_us")]
        total = k_ms + sum(parts)
        fresh_all = [int(x) / 1000 for x in r["fresh_us"].split()]
        fresh = statistics.median(fresh_all)
        ratios.append(total / fresh)
        print(f"{n} | {k_ms:.1f} ({k_iommu:.1f}) | {parts[0]:.1f} | {parts[1]:.2f} | "
              f"{parts[2]:.2f} | {total:.1f} | {fresh_all[0]:.1f} | {fresh:.1f} | "
              f"{total / fresh:.2f} | ({int(r['restore_device_bind_us']) / 1000:.1f}) | "
              f"{b['duration_ns'] / 1e6:.1f} ms "
              f"({b['iommu_ns'] / b['duration_ns'] * 100:.1f}%)")
    print(f"restore/fresh, median over kernels: {statistics.median(ratios):.2f}")
    return 0


def dump_part():
    """5. lutrace dump against the number of entries (host, crafted)"""
    print("\n## 5. lutrace dump against the number of device entries (host, crafted states)")
    sys.stdout.flush()
    return subprocess.run([os.path.join(qemu.LUTRACE_BUILD, "test-lutrace"), "--bench"]).returncode


def main():
    print(__doc__)
    rc = kunit_part()
    for m in MACHINES:
        rc |= guest_part(m)
    rc |= dump_part()
    return rc


if __name__ == "__main__":
    sys.exit(main())
