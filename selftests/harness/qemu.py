# SPDX-License-Identifier: GPL-2.0
"""Boot the test kernel in QEMU (TCG) and follow a guest scenario.

A run boots the `vtd`, `vtd-sm` (VT-d in scalable mode) or `amdvi` machine
with the guest initramfs, asks /init for a scenario on the kernel command
line, follows it through every kexec (each new kernel is a new stage) and
returns what the guest reported on the serial console:

  LU-BOOT stage=N ...                   a kernel reached /init
  LU-RESULT <stage> <key> <value...>    a fact for the test to assert
  LU-CHECK <stage> <name> PASS|FAIL ... a check done in the guest
  LU-KEXEC <stage>                      stage N is about to kexec
  LU-STAGE-END stage=N rc=R / LU-DONE   the scenario ended, guest powers off

The guest writes these lines to /dev/kmsg, so the console prints each one
whole, never split by a kernel message printed at the same moment.

Every run has a hard timeout; the full serial log is always written under
build/test-logs/ and its path is part of every failure message.
"""

import base64
import os
import re
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass, field

from . import ktap

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(TOP, "build")
# The Makefile exports where the kernel and the guest were built
# (make KASAN=1 uses other directories).
KBUILD = os.environ.get("KOUT", os.path.join(BUILD, "kbuild"))
BZIMAGE = os.path.join(KBUILD, "arch", "x86", "boot", "bzImage")
GUEST = os.environ.get("LU_GUEST", os.path.join(BUILD, "guest"))
# lutrace's build (vmlinux.h, skeletons, host binary, unit tests)
LUTRACE_BUILD = os.environ.get("LU_LUTRACE", os.path.join(BUILD, "lutrace"))
INITRAMFS = os.path.join(GUEST, "initramfs.cpio")
# The same with the kernel's own selftests (scripts/build-kselftests.sh)
KSFT_INITRAMFS = os.path.join(GUEST, "initramfs-kselftest.cpio")
LOGDIR = os.path.join(BUILD, "test-logs")

MACHINES = {
    # The IOMMU must be created before the devices it translates.
    "vtd": {
        "machine": "q35,kernel-irqchip=split",
        "iommu": ["-device", "intel-iommu,intremap=on,caching-mode=on"],
        "append": [],
    },
    # VT-d in scalable mode, as Linux runs it wherever the hardware has it
    # (QEMU's unit: second-stage translation only). Not in the default
    # machines of the tests: asked for by the tests that cover it.
    "vtd-sm": {
        "machine": "q35,kernel-irqchip=split",
        "iommu": ["-device",
                  "intel-iommu,intremap=on,caching-mode=on,x-scalable-mode=on"],
        "append": [],
    },
    # QEMU's IVRS has no southbridge IOAPIC, so Linux turns interrupt
    # remapping off and iommufd refuses VFIO binds unless told otherwise.
    "amdvi": {
        "machine": "q35",
        "iommu": ["-device", "amd-iommu"],
        "append": ["iommufd.allow_unsafe_interrupts=1"],
    },
}

# Kernel command line words for the runs whose results go through
# `lutrace timeline` (tests and make bench). Under TCG on a busy host
# the guest's clocksource watchdog now and then marks its TSC unstable (seen
# in 1 boot of a 263-test run: "Marking TSC unstable due to clocksource
# watchdog"), and a timeline cannot place the old kernel's steps on a clock
# marked unstable. tsc=reliable turns the watchdog off for the TSC, as a
# host with an invariant TSC has it; lutrace's refusal of an unstable TSC
# is covered by its unit tests (test-lutrace).
TIMELINE_APPEND = ("tsc=reliable",)

# Kernel messages that fail any run: lockdep, KHO debug checks, warnings.
SPLATS = re.compile(
    r"(WARNING: |BUG: |Oops|Kernel panic|kernel BUG at|"
    r"possible circular locking dependency|possible recursive locking|"
    r"inconsistent lock state|suspicious RCU usage|INFO: task .* blocked|"
    r"DEBUG_LOCKS_WARN_ON|lockdep is turned off|Call Trace:)")

_TS = re.compile(r"^\[\s*\d+\.\d+\]\s?")
_BANNER = re.compile(r"Linux version \d+\.\d+")


@dataclass
class Stage:
    number: int
    results: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)
    rc: int = None
    kexec: bool = False
    lines: list = field(default_factory=list)
    blob_parts: dict = field(default_factory=dict)

    def blob(self, name):
        """A file the guest sent with lu_blob, as text; None if it sent none."""
        if name not in self.blob_parts:
            return None
        return base64.b64decode("".join(self.blob_parts[name])).decode(
            "utf-8", "replace")


@dataclass(repr=False)
class Run:
    machine: str
    scenario: str
    log_path: str
    lines: list
    stages: dict
    done: bool
    rc: int
    timed_out: bool
    seconds: float
    kunit: list

    def stage(self, n):
        assert n in self.stages, (
            f"stage {n} never booted (stages seen: {sorted(self.stages)}); "
            f"serial log: {self.log_path}")
        return self.stages[n]

    def splats(self):
        return [line for line in self.lines if SPLATS.search(line)]

    def grep(self, pattern, stage=None):
        rx = re.compile(pattern)
        src = self.lines if stage is None else self.stage(stage).lines
        return [line for line in src if rx.search(line)]

    def failed_checks(self):
        return [f"stage {s.number}: {name}: {detail}"
                for s in self.stages.values()
                for name, (ok, detail) in s.checks.items() if not ok]

    def __repr__(self):
        return f"<Run {self.describe()}>"

    def describe(self):
        return f"{self.machine}/{self.scenario}: serial log {self.log_path}"


def _parse(lines):
    stages = {}
    cur = None
    boots = 0
    done = False
    rc = None
    for raw in lines:
        line = _TS.sub("", raw.rstrip("\r\n"))
        # Guest lines come through the kernel log, after its timestamp.
        idx = line.find("LU-")
        tag = line[idx:] if idx >= 0 else ""
        # Each kernel that boots is the next stage; its messages belong to
        # it from the banner on.
        if _BANNER.search(line):
            boots += 1
            cur = stages.setdefault(boots, Stage(boots))
        if cur is not None:
            cur.lines.append(raw)
        parts = tag.split(None, 3)
        if not parts:
            continue
        # A program run outside lu_run prints its lines without the stage
        if parts[0] in ("LU-RESULT", "LU-CHECK", "LU-BLOB") and \
                (len(parts) < 2 or not parts[1].isdigit()):
            continue
        if parts[0] == "LU-RESULT" and len(parts) >= 3:
            n = int(parts[1])
            st = stages.setdefault(n, Stage(n))
            st.results[parts[2]] = parts[3].strip() if len(parts) > 3 else ""
        elif parts[0] == "LU-CHECK" and len(parts) >= 4:
            n = int(parts[1])
            st = stages.setdefault(n, Stage(n))
            verdict, _, detail = parts[3].partition(" ")
            st.checks[parts[2]] = (verdict == "PASS", detail.strip())
        elif parts[0] == "LU-BLOB" and len(parts) >= 3:
            n = int(parts[1])
            st = stages.setdefault(n, Stage(n))
            chunks = st.blob_parts.setdefault(parts[2], [])
            if len(parts) > 3:
                chunks.append(parts[3].strip())
        elif parts[0] == "LU-KEXEC" and len(parts) >= 2:
            stages.setdefault(int(parts[1]), Stage(int(parts[1]))).kexec = True
        elif parts[0] == "LU-STAGE-END":
            m = re.search(r"stage=(\d+) rc=(\d+)", tag)
            if m:
                stages.setdefault(int(m.group(1)), Stage(int(m.group(1)))).rc = \
                    int(m.group(2))
        elif parts[0] == "LU-DONE":
            done = True
            m = re.search(r"rc=(\d+)", tag)
            rc = int(m.group(1)) if m else None
    return stages, done, rc


# A first boot that prints nothing for this long before user space starts
# (no LU-BOOT line yet) has hung in the kernel's early boot: under TCG a
# guest has been seen to stop there, rarely, before any code of ours runs
# (after "hpet: 3 channels of 0 reserved for per-cpu timers"). It is
# killed and booted once more, which the log and a pytest warning say; a
# second hang fails the run as a timeout would. Not with KUnit at boot,
# whose long cases print nothing for minutes.
EARLY_STALL_S = float(os.environ.get("LU_EARLY_STALL_S", "60"))


def run(machine, scenario, *, args=(), append=(), edu=1, kunit=False,
        kunit_filter=("kunit.filter=speed>slow",),
        timeout=240, memory="2G", name=None, qemu_extra=(), on_line=None,
        initrd=INITRAMFS, _retry=True):
    """Boot `machine`, run `scenario` through all of its stages, return a Run.

    args:   words passed to the scenario (lu.args=, comma separated)
    append: extra kernel command line words
    edu:    number of edu devices
    kunit:  run the built-in KUnit suites at boot (off by default: they
            slow every boot under TCG)
    kunit_filter: kunit.* words choosing the cases; by default every case
            not marked slow (generic_pt's random map cases and the
            benchmarks take minutes under TCG)
    on_line: called with each console line as it arrives
    initrd: the initramfs to boot (the kselftest one: KSFT_INITRAMFS)
    """
    if machine not in MACHINES:
        raise ValueError(f"unknown machine {machine!r} (have {sorted(MACHINES)})")
    for f in (BZIMAGE, initrd):
        if not os.path.exists(f):
            raise FileNotFoundError(f"{f} is missing: run 'make' at the top first")
    m = MACHINES[machine]
    # Live update is off unless asked for on the command line. The guest
    # prints its protocol lines through /dev/kmsg: no rate limit on that.
    cmdline = ["console=ttyS0", "panic=-1", "liveupdate=on",
               "printk.devkmsg=on", f"lu.scenario={scenario}", "lu.stage=1"]
    if args:
        cmdline.append("lu.args=" + ",".join(args))
    if not kunit:
        cmdline.append("kunit.enable=0")
    else:
        cmdline += list(kunit_filter)
    # The Makefile passes build-specific words (make KASAN=1) in LU_APPEND.
    cmdline += m["append"] + os.environ.get("LU_APPEND", "").split() + list(append)

    qemu = ["qemu-system-x86_64", "-M", m["machine"], "-accel", "tcg",
            "-smp", "2", "-m", memory,
            "-nodefaults", "-nographic", "-no-reboot",
            "-serial", "stdio", "-monitor", "none"]
    qemu += m["iommu"]
    for _ in range(edu):
        qemu += ["-device", "edu"]
    qemu += list(qemu_extra)
    qemu += ["-kernel", BZIMAGE, "-initrd", initrd,
             "-append", " ".join(cmdline)]

    os.makedirs(LOGDIR, exist_ok=True)
    log_path = os.path.join(LOGDIR, f"{name or scenario}-{machine}.log")
    lines = []
    start = time.monotonic()
    with open(log_path, "w", errors="replace") as log:
        log.write("# " + " ".join(qemu) + "\n")
        log.flush()
        proc = subprocess.Popen(qemu, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)

        seen = {"last": time.monotonic(), "boot": False}

        def reader():
            for b in proc.stdout:
                line = b.decode("utf-8", "replace")
                seen["last"] = time.monotonic()
                seen["boot"] = seen["boot"] or "LU-BOOT" in line
                lines.append(line)
                if on_line:
                    on_line(line)
                log.write(line)
                log.flush()

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        timed_out = stalled = False
        while proc.poll() is None:
            now = time.monotonic()
            if now - start > timeout:
                timed_out = True
            elif (not kunit and not seen["boot"] and
                  now - seen["last"] > EARLY_STALL_S):
                stalled = True
            if timed_out or stalled:
                proc.kill()
                proc.wait()
                break
            time.sleep(0.2)
        t.join(5)
        seconds = time.monotonic() - start
        if stalled:
            log.write(f"\n# HARNESS: no output for {EARLY_STALL_S:g}s before user "
                      f"space: early boot hung, killed\n")
        if timed_out:
            log.write(f"\n# HARNESS: killed after the {timeout}s timeout\n")
        log.write(f"\n# HARNESS: qemu exit {proc.returncode} after {seconds:.1f}s\n")

    if stalled and _retry:
        hung = log_path[:-len(".log")] + "-hung.log"
        os.replace(log_path, hung)
        warnings.warn(f"{machine}/{scenario}: early boot hung (no output for "
                      f"{EARLY_STALL_S:g}s before user space; log {hung}): "
                      "booted once more")
        return run(machine, scenario, args=args, append=append, edu=edu,
                   kunit=kunit, kunit_filter=kunit_filter, timeout=timeout,
                   memory=memory, name=name, qemu_extra=qemu_extra,
                   on_line=on_line, initrd=initrd, _retry=False)
    timed_out = timed_out or stalled

    stages, done, rc = _parse(lines)
    return Run(machine, scenario, log_path, lines, stages, done, rc,
               timed_out, seconds, ktap.parse(lines) if kunit else [])
