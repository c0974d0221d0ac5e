#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Stage-2 restore time of a device live update, 1 vs 4 preserved edu devices.

Not a test (not in `make check`): nothing here asserts a time. Run from the
top of the tree, after `make` built the kernel and the guest:

    /usr/bin/python3 selftests/bench/lu_restore_devices.py [MACHINE...]

(default machines: vtd vtd-sm).

Method. Each case boots one machine of harness/topology.py with scenario
lu-topo, through harness.qemu.run(), RUNS times, the cases interleaved:

  4 devices  topology four-one-hwpt: four edu on bus 0 (00:01.0, 00:03.0,
             00:04.0, 00:05.0) and the control (00:02.0), the four attached
             to one marked HWPT and preserved in one session (lu-vfio
             preserve --extra-device x3), each with DMA in flight;
  1 device   topology four-last-only: the same machine (the same PCI
             devices, probed in the same order), only 00:05.0 preserved.
             It is the last device of the four, so that both cases end
             their restore at the probe of the same device, and differ only
             in the work the restore does for the other three.

The kernel boots with trace_event=iommu_lu:* (each stage: lu-kexec reuses
the command line), so the new kernel records its iommu_lu events from boot
on, and with lu.dump_trace=1, which has stage 2 of lu-topo send
/sys/kernel/tracing/trace at its end (blob ftrace), and with
trace_clock=global: the events of the restore are on more than one CPU
(the retrieve and the probes can run on different ones), and the global
trace clock orders them across CPUs. From that trace, on the new kernel's
trace clock (the trace's timestamps, in microseconds):

  restore    from the iommu_lu_flb_retrieve event (the incoming state is
             read, ret=0) to the last iommu_lu_device_restore event with
             ret=0 (the last preserved device's domain restored at its
             probe); a run counts only if it has one such event per
             preserved device;
  vmm        from the same iommu_lu_flb_retrieve to the trace_marker line
             "lu-vfio: devices retrieved", which lu-vfio retrieve writes
             once it has retrieved every preserved device from its session,
             bound it and attached it to the restored HWPT. This includes
             the rest of the boot, user space start and the guest's checks
             before the retrieve (DMA through the preserved table, and a DMA
             to an unmapped IOVA per device, paced 1.8 s apart so that the
             kernel logs each fault): it grows with the number of devices
             for reasons of the test, not of the kernel.

Printed, and written to build/restore-devices.txt: per machine and case,
min/median/max over the runs of each, and the ratio 4/1 of the median
restore times; then, per run, when each preserved device's restore event
came after the retrieve (each run's line also goes to stderr as it ends;
serial logs in build/test-logs/lu-restore-*). Under QEMU TCG
(no KVM), times are those of an emulated CPU: compare them with each
other, not with hardware.
"""

import os
import re
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import qemu  # noqa: E402
from harness.topology import TOPOLOGIES  # noqa: E402

RUNS = 3
CASES = ((1, "four-last-only"), (4, "four-one-hwpt"))
MACHINES = ("vtd", "vtd-sm")
APPEND = ("trace_event=iommu_lu:*", "trace_clock=global", "lu.dump_trace=1")
MARK = "lu-vfio: devices retrieved"
OUTPUT = os.path.join(qemu.BUILD, "restore-devices.txt")
KERNELS = set()     # the banners of the kernels the runs booted

# The kernel's banner: its version, build number and time
_BANNER = re.compile(r"Linux version (\S+) .*?(#\d+ .*)$")

# One line of the kernel's trace buffer: task-pid [cpu] flags ts: event: text
_LINE = re.compile(r"^\s*.+?-\d+\s+\[\d+\]\s+\S+\s+(?P<ts>\d+\.\d+):\s+"
                   r"(?P<event>\w+):\s+(?P<text>.*)$")


def parse_trace(text):
    """(seconds, event, text) per event line of an ftrace buffer."""
    out = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            out.append((float(m["ts"]), m["event"], m["text"]))
    return out


def measure(events, preserved):
    """From one stage 2 trace: (restore_s, vmm_s or None, {bdf: offset_s}),
    or a string that says why the run does not count."""
    retrieve = [t for t, ev, text in events
                if ev == "iommu_lu_flb_retrieve" and text.endswith(" ret=0")]
    if len(retrieve) != 1:
        return f"{len(retrieve)} iommu_lu_flb_retrieve events with ret=0"
    t0 = retrieve[0]
    restored = {}
    for t, ev, text in events:
        if ev == "iommu_lu_device_restore" and text.endswith(" ret=0"):
            restored[text.split()[0]] = t - t0
    if sorted(restored) != sorted(preserved):
        return f"devices restored (ret=0): {sorted(restored)}, expected " \
               f"{sorted(preserved)}"
    marks = [t for t, ev, text in events
             if ev == "tracing_mark_write" and text.strip() == MARK]
    vmm = marks[-1] - t0 if marks else None
    return max(restored.values()), vmm, restored


def one_run(machine, ndev, topo_name, i):
    topo = TOPOLOGIES[topo_name]
    run = qemu.run(machine, "lu-topo", edu=0, qemu_extra=topo.qemu_args(),
                   append=topo.append() + APPEND, args=(topo.how,),
                   timeout=600, name=f"lu-restore-{ndev}dev-r{i}")
    notes = []
    if run.timed_out or not run.done or run.rc != 0:
        notes.append(f"scenario: done={run.done} rc={run.rc} "
                     f"timed_out={run.timed_out}")
    failed = run.failed_checks()
    if failed:
        notes.append(f"{len(failed)} guest checks failed, first: {failed[0]}")
    if run.splats():
        notes.append(f"kernel splat: {run.splats()[0].strip()}")
    for line in run.lines:
        b = _BANNER.search(line)
        if b:
            KERNELS.add(f"{b[1]} {b[2].strip()}")
    trace = run.stages[2].blob("ftrace") if 2 in run.stages else None
    if trace is None:
        return "no stage 2 trace", notes, run
    return measure(parse_trace(trace), topo.preserved), notes, run


def stats(values):
    return min(values), statistics.median(values), max(values)


def fmt_ms(values):
    if not values:
        return "-"
    return "/".join(f"{v * 1e3:.3f}" for v in stats(values))


def main(argv):
    machines = argv or MACHINES
    out = []

    def say(line=""):
        print(line, flush=True)
        out.append(line)

    say(f"# lu_restore_devices: stage-2 restore time (iommu_lu_flb_retrieve "
        f"to the last iommu_lu_device_restore ret=0), {RUNS} boots per case, "
        f"QEMU TCG; see the script's header for the method")
    say(f"# {'machine':8} {'devices':>7} {'runs':>4}  "
        f"{'restore ms min/median/max':>28}  "
        f"{'to vmm retrieve ms min/median/max':>36}")
    per_run = []
    bad = 0
    for machine in machines:
        res = {n: [] for n, _ in CASES}
        vmm = {n: [] for n, _ in CASES}
        for i in range(1, RUNS + 1):
            for ndev, topo_name in CASES:
                m, notes, run = one_run(machine, ndev, topo_name, i)
                tag = f"{machine} {ndev}dev run {i}"
                if isinstance(m, str):
                    bad += 1
                    per_run.append(f"# {tag}: NOT COUNTED: {m}; "
                                   f"{'; '.join(notes)}; "
                                   f"{os.path.relpath(run.log_path, qemu.TOP)}")
                    print(per_run[-1], file=sys.stderr, flush=True)
                    continue
                restore, v, restored = m
                res[ndev].append(restore)
                if v is not None:
                    vmm[ndev].append(v)
                devs = ", ".join(f"{b[5:]} +{t * 1e3:.3f}"
                                 for b, t in sorted(restored.items(),
                                                    key=lambda kv: kv[1]))
                vs = f"{v * 1e3:.1f} ms" if v is not None else "no mark"
                per_run.append(f"# {tag}: restore {restore * 1e3:.3f} ms "
                               f"({devs}), vmm {vs}"
                               + (f"; {'; '.join(notes)}" if notes else "")
                               + f"; {os.path.relpath(run.log_path, qemu.TOP)}")
                print(per_run[-1], file=sys.stderr, flush=True)
        for ndev, _ in CASES:
            say(f"  {machine:8} {ndev:>7} {len(res[ndev]):>4}  "
                f"{fmt_ms(res[ndev]):>28}  {fmt_ms(vmm[ndev]):>36}")
        if res[1] and res[4]:
            ratio = statistics.median(res[4]) / statistics.median(res[1])
            say(f"  {machine:8} ratio 4/1 of the median restore time: "
                f"{ratio:.2f}")
    say(f"# kernel: {'; '.join(sorted(KERNELS))}")
    if len(KERNELS) > 1:
        say("# WARNING: the runs did not all boot the same kernel (rebuilt "
            "while this ran?)")
        bad += 1
    say("# per run (device restore events, ms after iommu_lu_flb_retrieve):")
    for line in per_run:
        say(line)
    with open(OUTPUT, "w") as f:
        f.write("\n".join(out) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
