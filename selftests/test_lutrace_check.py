# SPDX-License-Identifier: GPL-2.0
"""lutrace check, dump --from and diff on real live updates (scenario
lu-check, two edu devices, the first preserved): the outgoing check before
the kexec (OK with the next kernel loaded; CRITICAL with none loaded, with
one whose command line has liveupdate=off, and with the preserved device's
live context entry or DTE changed after the preserve, as a re-attach
would), the incoming check after it, a saved dump replayed by --from as
the live dump printed it, and the diff of the outgoing and incoming dumps.
On the host: --from and check --from on files that are no dump.

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

LUTRACE = os.path.join(qemu.LUTRACE_BUILD, "lutrace")

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
        subject = ("state" if chain == "state" else
                   f"{chain} chain" if index is None else f"{chain} {index}")
        hits = [r for r in findings(records, "refused", "CRITICAL")
                if r["subject"] == subject]
        assert hits and reason in hits[0]["message"], (subject, reason, records)


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


@pytest.mark.qemu
def test_check_outgoing_entry_changed(machine):
    """The preserved device's live entry is not the recorded one (as after
    a re-attach): CRITICAL device-entry-changed for it, before the kexec;
    after it the kernel refuses the device and the incoming check says so"""
    run = lu_check_run(machine, "device-context")
    s1, s2 = run.stage(1), run.stage(2)
    edu = s1.results["edu_bdf"]
    records, summary = check_records(s1, "check-good")
    assert summary["exit"] == CRITICAL, records
    hit = findings(records, "device-entry-changed", "CRITICAL")
    assert [r["subject"] for r in hit] == [edu], records
    records, summary = check_records(s2, "check-incoming")
    assert summary["exit"] == CRITICAL, records
    assert [r for r in findings(records, "refused", "CRITICAL")
            if edu in r["subject"] or r["subject"].startswith("device ")], records
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
    3, UNKNOWN), and with -j the error as a JSON object too"""
    bad = tmp_path / "bad.json"
    bad.write_text('{"direction":"outgoing","snapshot":{"format":99}}\n')
    p = host_lutrace("dump", "--from", str(bad))
    assert p.returncode == 1
    assert p.stderr == (f"lutrace: dump: {bad}: snapshot format 99, this "
                        "lutrace reads format 1\n")
    assert p.stdout == ""
    p = host_lutrace("-j", "check", "--from", str(tmp_path / "missing.json"))
    assert p.returncode == UNKNOWN
    assert json.loads(p.stdout) == {
        "error": f"check: {tmp_path / 'missing.json'}: No such file or directory"}
    p = host_lutrace("-j", "diff", str(bad))
    assert p.returncode == 2
    assert "error" in json.loads(p.stdout)
