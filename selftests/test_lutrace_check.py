# SPDX-License-Identifier: GPL-2.0
"""lutrace check, dump --from and diff on real live updates (scenario
lu-check, two edu devices, the first preserved): the outgoing check before
the kexec (OK with the next kernel loaded; CRITICAL with none loaded, with
one whose command line has liveupdate=off, and with the preserved device's
live context entry or DTE changed after the preserve, as a re-attach
would), the incoming check after it, a saved dump replayed by --from as
the live dump printed it, and the diff of the outgoing and incoming dumps.
On the host, on dumps the unit test binary crafts (test-lutrace --save):
check's exit status whatever goes wrong (3, with a check-failed verdict),
the cold boot, files that are no dump or hold more than a dump can, and
format 1 dumps read back.

assert_incoming_check() is for the per-corruption-class tests
(test_corruption.py): the verdict and the reason lutrace gives for what
the kernel refused."""

import json
import os
import subprocess
import tempfile

import pytest

from conftest import _shared_run
from harness import qemu

# The guest tests assert on the lu-check runs of their machine (lu_check_run)
pytestmark = pytest.mark.shares("lu-check-{machine}")

LUTRACE = os.path.join(qemu.LUTRACE_BUILD, "lutrace")
UNIT = os.path.join(qemu.LUTRACE_BUILD, "test-lutrace")

# check's exit statuses (the monitoring-plugin convention)
OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3


def check_records(stage, name):
    """The JSON lines of a `lutrace -j check` run by lt_run as `name`:
    (findings, summary); its exit status must be the summary's."""
    text = stage.blob(name)
    assert text is not None, f"the guest sent no {name}"
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert records and records[-1]["type"] == "summary", records
    summary = records[-1]
    assert all(r["type"] == "finding" for r in records[:-1]), records
    assert stage.results.get(f"{name}-rc") == str(summary["exit"]), \
        (stage.results.get(f"{name}-rc"), summary, stage.blob(f"{name}-err"))
    return records[:-1], summary


def findings(records, code, status=None):
    return [r for r in records
            if r["code"] == code and (status is None or r["status"] == status)]


def refused_findings(records, chain, index, reason=None):
    """check's refused findings for (chain, index) and, if given, reason,
    by their members (a device's subject is its PCI address)"""
    return [r for r in findings(records, "refused", "CRITICAL")
            if r["chain"] == chain and r["index"] == index and
            (reason is None or r["reason"] == reason)]


def assert_incoming_check(stage, refused, check="check", dump="incoming"):
    """After a kexec that refused something: `lutrace -j check --incoming`
    (lt_run as `check`) is CRITICAL with exit 2 and says, per refused
    object, the kernel's reason; `lutrace -j dump --incoming` (as `dump`)
    lists the same refusals. `refused` is a list of (chain, index, reason)
    as the kernel records them: chain "hw_unit", "domain", "device" or
    "state", index None for a whole chain or the state, reason the
    lower-case code ("chain-loop")."""
    records, summary = check_records(stage, check)
    assert summary["status"] == "CRITICAL" and summary["exit"] == CRITICAL, summary
    d = json.loads(stage.blob(dump))
    kernel = [(r["chain"], r["index"], r["reason"]) for r in d["refusals"]]
    for chain, index, reason in refused:
        assert (chain, index, reason) in kernel, (chain, index, reason, kernel)
        hits = refused_findings(records, chain, index, reason)
        assert len(hits) == 1 and reason in hits[0]["message"], \
            (chain, index, reason, records)
        if chain == "device" and index is not None:
            # Named by the PCI address of the entry in that slot (the tests'
            # chains are one block: the slot is the position in the block)
            slot = [e for e in d["devices"] if e["block"] == 0 and e["slot"] == index]
            assert len(slot) == 1 and hits[0]["subject"] == slot[0]["pci"], \
                (hits, slot)


def lu_check_run(machine, what="-"):
    """The lu-check run of `machine` (what: "-" a good update, or the
    damage done before the outgoing check), booted once for every test
    that asserts on it."""
    return _shared_run(f"lu-check-{what}-{machine}", machine, "lu-check",
                       edu=2, args=(what,), allow_fail=what != "-")


def host_lutrace(*args):
    return subprocess.run([LUTRACE, *args], text=True, capture_output=True,
                          timeout=60)


def saved(stage, name, directory):
    """Blob `name` of `stage` written to a file in `directory`"""
    path = os.path.join(directory, name + ".json")
    with open(path, "w") as f:
        f.write(stage.blob(name))
    return path


@pytest.mark.qemu
def test_check_outgoing_ok(machine):
    """With the next kernel loaded as the update loads it: OK, exit 0, and
    every check it made is in the output"""
    run = lu_check_run(machine)
    s1 = run.stage(1)
    records, summary = check_records(s1, "check-good")
    assert summary["status"] == "OK" and summary["exit"] == OK, records
    edu = s1.results["edu_bdf"]
    for code in ("state-valid", "cmdline-ok"):
        assert findings(records, code, "OK"), (code, records)
    for code in ("device-entry-live", "bus-master-on"):
        assert [r for r in findings(records, code, "OK") if r["subject"] == edu], \
            (code, records)
    text = s1.blob("check-good-text")
    assert text.startswith("LUTRACE CHECK OK - outgoing: 0 critical"), text
    assert s1.results.get("check-good-text-rc") == "0"


@pytest.mark.qemu
def test_check_outgoing_no_kernel_loaded(machine):
    run = lu_check_run(machine)
    records, summary = check_records(run.stage(1), "check-none")
    assert summary["exit"] == CRITICAL, records
    assert findings(records, "no-kexec-loaded", "CRITICAL"), records


@pytest.mark.qemu
def test_check_outgoing_liveupdate_off(machine):
    """The next kernel loaded with liveupdate=off: CRITICAL, read from the
    command line the kernel keeps for the loaded image"""
    run = lu_check_run(machine)
    records, summary = check_records(run.stage(1), "check-off")
    assert summary["exit"] == CRITICAL, records
    hit = findings(records, "cmdline-disables-liveupdate", "CRITICAL")
    assert hit and "liveupdate=off" in hit[0]["message"], records
    assert not findings(records, "cmdline-ok"), records
    # Loaded without kho=on (this guest has KHO by its build's default):
    # the next kernel's default decides, a warning
    hit = findings(records, "cmdline-default", "WARNING")
    assert [r for r in hit if "kho=on" in r["message"]], records


@pytest.mark.qemu
def test_check_incoming_cold_boot(machine):
    """check --incoming on the cold boot of stage 1: no live update, OK"""
    run = lu_check_run(machine)
    records, summary = check_records(run.stage(1), "check-cold")
    assert summary["status"] == "OK" and summary["exit"] == OK, records
    assert [(r["code"], r["status"]) for r in records] == [("no-live-update", "OK")], records
    assert "this boot was not a live update" in records[0]["message"], records


@pytest.mark.qemu
def test_timeline_cold_boot(machine):
    """lutrace timeline on a cold boot: no previous kernel handed one over,
    said, exit 1, nothing printed as if it were a timeline"""
    s1 = lu_check_run(machine).stage(1)
    err = s1.blob("timeline-cold-err")
    assert s1.results.get("timeline-cold-rc") == "1", err
    assert "the previous kernel handed over no timeline" in err, err
    assert s1.blob("timeline-cold") == "", s1.blob("timeline-cold")
    # With -j, the error is the one JSON document on stdout
    assert s1.results.get("timeline-cold-json-rc") == "1", s1.blob("timeline-cold-json-err")
    doc = json.loads(s1.blob("timeline-cold-json"))
    assert list(doc) == ["error"] and \
        "the previous kernel handed over no timeline" in doc["error"], doc


@pytest.mark.qemu
def test_check_outgoing_entry_changed(machine):
    """The preserved device's recorded entry damaged (debugfs
    device-context) so that it is not the live one, as after a re-attach:
    the kernel refuses the device after the kexec, and the incoming check
    says so, named by its PCI address, with the kernel's reason. The
    damage is done at the kexec's point of no return (kernel-patches
    0066), after the outgoing check: that one still finds the entry live
    (device-entry-changed itself is the unit test's, check_outgoing_critical)"""
    run = lu_check_run(machine, "device-context")
    s1, s2 = run.stage(1), run.stage(2)
    edu = s1.results["edu_bdf"]
    records, summary = check_records(s1, "check-good")
    assert [r["subject"] for r in findings(records, "device-entry-live", "OK")] == [edu], records
    records, summary = check_records(s2, "check-incoming")
    assert summary["exit"] == CRITICAL, records
    hits = refused_findings(records, "device", 0)
    assert [(r["subject"], r["reason"]) for r in hits] == [(edu, "device-entry")], records
    assert not findings(records, "device-restored"), records


@pytest.mark.qemu
def test_check_incoming_ok(machine):
    """After a good update, before the device is retrieved: OK, exit 0,
    the preserved device restored, nothing refused"""
    run = lu_check_run(machine)
    s1, s2 = run.stage(1), run.stage(2)
    records, summary = check_records(s2, "check-incoming")
    assert summary["status"] == "OK" and summary["exit"] == OK, records
    edu = s1.results["edu_bdf"]
    assert [r["subject"] for r in findings(records, "device-restored", "OK")] == [edu]
    assert findings(records, "session", "OK"), records
    assert not findings(records, "refused"), records
    # After the finish the state is released: nothing to judge
    records, summary = check_records(s2, "check-finished")
    assert summary["status"] == "UNKNOWN" and summary["exit"] == 3, records
    assert findings(records, "state-released", "UNKNOWN"), records


@pytest.mark.qemu
def test_dump_from_replays(machine):
    """A saved dump replays as the live dump printed it: in the guest, and
    on the host from the JSON the guest saved (no kernel needed), text and
    JSON, outgoing and incoming"""
    run = lu_check_run(machine)
    with tempfile.TemporaryDirectory() as tmp:
        for n, direction in ((1, "outgoing"), (2, "incoming")):
            s = run.stage(n)
            live = s.blob(f"dump-{direction}-text")
            assert s.results.get(f"dump-{direction}-text-rc") == "0", live
            assert s.results.get(f"from-{direction}-text-rc") == "0"
            assert s.blob(f"from-{direction}-text") == live
            path = saved(s, f"dump-{direction}", tmp)
            p = host_lutrace("dump", "--from", path)
            assert p.returncode == 0, p.stderr
            assert p.stdout == live
            p = host_lutrace("-j", "dump", "--from", path)
            assert p.returncode == 0, p.stderr
            assert p.stdout == s.blob(f"dump-{direction}")


@pytest.mark.qemu
def test_diff_outgoing_incoming(machine):
    """diff of one update's dumps: every entry the same but for its
    restored flag, the same root, the device restored"""
    run = lu_check_run(machine)
    s1, s2 = run.stage(1), run.stage(2)
    edu = s1.results["edu_bdf"]
    with tempfile.TemporaryDirectory() as tmp:
        out = saved(s1, "dump-outgoing", tmp)
        inc = saved(s2, "dump-incoming", tmp)
        p = host_lutrace("-j", "diff", out, inc)
        assert p.returncode == 0, p.stderr
        d = json.loads(p.stdout)
        text = host_lutrace("diff", out, inc)
        assert text.returncode == 0, text.stderr
    assert d["from"]["root_pa"] == d["to"]["root_pa"]
    assert d["from"]["direction"] == "outgoing" and d["to"]["direction"] == "incoming"
    changed = {(c["chain"], c["field"]) for c in d["changes"]}
    assert changed == {("hw_unit", "flags"), ("domain", "flags"),
                       ("device", "flags")}, d["changes"]
    assert all(c["change"] == "changed" and c["from"] == "used" and
               c["to"] == "used,restored" for c in d["changes"]), d["changes"]
    assert [(m["preserved"], m["status"]) for m in d["matching"]] == [(edu, "restored")]
    assert f"device 0 ({edu}): flags used -> used,restored" in text.stdout


def test_from_bad_file_host(tmp_path):
    """A file that is no dump: the file and what is wrong, exit 1 (check:
    3, UNKNOWN, with a check-failed verdict), and with -j the error as a
    JSON object too"""
    bad = tmp_path / "bad.json"
    bad.write_text('{"direction":"outgoing","snapshot":{"format":99}}\n')
    p = host_lutrace("dump", "--from", str(bad))
    assert p.returncode == 1
    assert p.stderr == (f"lutrace: dump: {bad}: snapshot format 99, this "
                        "lutrace reads formats 1 to 2\n")
    assert p.stdout == ""
    missing = tmp_path / "missing.json"
    why = f"check: {missing}: No such file or directory"
    p = host_lutrace("-j", "check", "--from", str(missing))
    assert p.returncode == UNKNOWN
    assert [json.loads(line) for line in p.stdout.splitlines()] == [
        {"error": why},
        {"type": "finding", "status": "UNKNOWN", "code": "check-failed",
         "subject": "", "message": why},
        {"type": "summary", "status": "UNKNOWN", "exit": UNKNOWN,
         "direction": "unknown", "critical": 0, "warning": 0, "unknown": 1,
         "ok": 0}]
    p = host_lutrace("-j", "diff", str(bad))
    assert p.returncode == 2
    assert "error" in json.loads(p.stdout)


@pytest.fixture
def crafted(tmp_path):
    """The unit test binary's crafted dumps: out.json (an outgoing state
    check finds OK), in.json (incoming, a device refused), cold.json (a
    boot that was no live update)"""
    assert os.path.exists(UNIT), f"{UNIT} is missing: run 'make lutrace-unit'"
    p = subprocess.run([UNIT, "--save", str(tmp_path)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return tmp_path


@pytest.mark.parametrize("args", [
    ["check", "-h"], ["-h", "check"], ["-x", "check"], ["check", "--bogus"],
    ["-j", "check", "--bogus"], ["check", "extra"],
    ["check", "--incoming", "--from", "{out}"],
    ["check", "--from", "{inc}", "--next-kernel", "{out}"]])
def test_check_not_run_is_unknown_host(crafted, args):
    """check that does not run exits 3, never a status that reads as a
    verdict: help, bad options before or after the command, arguments that
    do not go together"""
    args = [a.format(out=crafted / "out.json", inc=crafted / "in.json")
            for a in args]
    p = host_lutrace(*args)
    assert p.returncode == UNKNOWN, (args, p.returncode, p.stdout, p.stderr)
    if "-j" in args:
        summary = json.loads(p.stdout.splitlines()[-1])
        assert summary["type"] == "summary" and summary["exit"] == UNKNOWN, p.stdout
        assert json.loads(p.stdout.splitlines()[-2])["code"] == "check-failed"
    # The other commands keep their statuses: 0 for help, 2 for usage
    if args in (["-h", "check"], ["-x", "check"]):
        q = host_lutrace(args[0], "dump")
        assert q.returncode == (0 if args[0] == "-h" else 2), q


def test_check_output_error_host(crafted):
    """Output that cannot be written: check exits 3 (dump: 1), whatever
    the verdict would have been"""
    for args, status in ((["check", "--from", "out.json"], UNKNOWN),
                         (["check", "--from", "in.json"], UNKNOWN),
                         (["-j", "check", "--from", "in.json"], UNKNOWN),
                         (["dump", "--from", "in.json"], 1)):
        with open("/dev/full", "w") as full:
            p = subprocess.run([LUTRACE, *args], cwd=crafted, stdout=full,
                               stderr=subprocess.PIPE, text=True, timeout=60)
        assert p.returncode == status, (args, p.returncode, p.stderr)
        assert "writing the output failed: No space left on device" in p.stderr
    # Without the write error, the same files give their verdicts
    assert host_lutrace("check", "--from", str(crafted / "out.json")).returncode == OK
    assert host_lutrace("check", "--from", str(crafted / "in.json")).returncode == CRITICAL


def test_check_cold_boot_host(crafted):
    """check --incoming of a boot that was no live update: OK, it says so"""
    p = host_lutrace("-j", "check", "--from", str(crafted / "cold.json"))
    assert p.returncode == OK, p.stdout
    records = [json.loads(line) for line in p.stdout.splitlines()]
    assert [(r["status"], r["code"]) for r in records[:-1]] == [("OK", "no-live-update")]
    assert "this boot was not a live update" in records[0]["message"]


def test_from_trailing_content_host(crafted):
    """A dump followed by anything but white space is no dump: a dump
    with an error line after it, or with garbage"""
    text = (crafted / "in.json").read_text()
    for tail in ('{"error":"dump: out of memory"}\n', "garbage", "\0"):
        bad = crafted / "tail.json"
        bad.write_text(text + tail)
        p = host_lutrace("dump", "--from", str(bad))
        assert p.returncode == 1, (tail, p.stdout)
        assert ("more after the JSON document" in p.stderr or
                "a NUL byte" in p.stderr), p.stderr
        p = host_lutrace("check", "--from", str(bad))
        assert p.returncode == UNKNOWN, p.stdout
    bad.write_text(text + " \n\t\n")
    assert host_lutrace("dump", "--from", str(bad)).returncode == 0


def test_from_limits_host(crafted):
    """A file holding more than a dump can: refused, with what is over the
    limit; a dump at the limits (1025 blocks in each chain) is read back
    (host_lutrace's 60 s timeout catches a hang; nothing here times it)"""
    doc = json.loads((crafted / "out.json").read_text())
    blocks = doc["snapshot"]["blocks"]
    empty = {"chain": "device", "pa": 0x200000, "err": 0, "data": ""}
    doc["snapshot"]["blocks"] = [b for b in blocks if b["chain"] != "device"] + \
        [dict(empty, seq=i, pa=0x200000 + i * 4096) for i in range(20000)]
    path = crafted / "big.json"
    path.write_text(json.dumps(doc))
    p = host_lutrace("dump", "--from", str(path))
    assert p.returncode == 1 and \
        "snapshot.blocks: 20002 records, a dump has at most 3075" in p.stderr, p.stderr
    doc["snapshot"]["blocks"] = doc["snapshot"]["blocks"][:2 + 1026]
    path.write_text(json.dumps(doc))
    p = host_lutrace("dump", "--from", str(path))
    assert p.returncode == 1 and \
        "snapshot.blocks[1027]: more than 1025 blocks of the device chain" in p.stderr, p.stderr
    for key, n, limit in (("refusals", 4097, 4096), ("mem", 257, 256)):
        d = json.loads((crafted / "out.json").read_text())
        d["snapshot"][key] = [{"chain": 0, "index": 0, "reason": 0, "concerns": 0}] * n
        path.write_text(json.dumps(d))
        p = host_lutrace("dump", "--from", str(path))
        assert p.returncode == 1 and \
            f"snapshot.{key}: {n} records, a dump has at most {limit}" in p.stderr, p.stderr
    # At the limit: every chain 1025 blocks long, the last one looping
    doc["snapshot"]["blocks"] = [dict(empty, chain=c, seq=i, pa=(1 + n) * 0x10000000 + i * 4096)
                                 for n, c in enumerate(("hw_unit", "domain", "device"))
                                 for i in range(1025)]
    path.write_text(json.dumps(doc))
    p = host_lutrace("check", "--from", str(path))
    assert p.returncode == CRITICAL and "chain-length" in p.stdout, p.stdout


def test_from_format1_host(crafted):
    """A format 1 dump (lutrace before the format 2 snapshot: the state's
    kernel address, no refusal count, no command line) is read back"""
    for name in ("out.json", "in.json"):
        doc = json.loads((crafted / name).read_text())
        snap = doc["snapshot"]
        assert "obj" not in snap["state"] and snap["state"]["have_obj"] is True
        snap["format"] = 1
        snap["state"]["obj"] = "0xffff888012345000"
        for key in ("have_obj", "nr_refusals", "handover"):
            del snap["state"][key]
        for key in ("truncated", "cmdline"):
            del snap[key]
        path = crafted / ("v1-" + name)
        path.write_text(json.dumps(doc))
        old = host_lutrace("dump", "--from", str(path))
        new = host_lutrace("dump", "--from", str(crafted / name))
        assert old.returncode == 0 and old.stdout == new.stdout, old.stderr
        # The JSON view writes format 2, without the address
        p = host_lutrace("-j", "dump", "--from", str(path))
        assert p.returncode == 0 and "ffff888012345000" not in p.stdout
        assert json.loads(p.stdout)["snapshot"]["format"] == 2
    # Without this kernel's command line, kho= and intel_iommu= left to
    # the next kernel's defaults are warnings
    p = host_lutrace("check", "--from", str(crafted / "v1-out.json"))
    assert p.returncode == OK, p.stdout
