# SPDX-License-Identifier: GPL-2.0
"""lutrace on a real live update (the vtd and amdvi guests, scenario
lu-iommufd): what it dumps and traces must agree with what the kernel
itself reports, through its log and its own trace buffer (ftrace, parsed
here independently of lutrace). Plus its failures: live update off in the guest, and on the host,
no root and no feature."""

import json
import os
import re
import subprocess

import pytest

from harness import qemu

LUTRACE = os.path.join(qemu.LUTRACE_BUILD, "lutrace")
LUTRACE_STATIC = os.path.join(qemu.GUEST, "bin", "lutrace")

# One line of the kernel's trace buffer holding an iommu_lu event
_FTRACE = re.compile(r"^\s*(?P<comm>.+?)-(?P<pid>\d+)\s+\[(?P<cpu>\d+)\]\s+\S+\s+"
                     r"(?P<ts>\d+\.\d+): iommu_lu_(?P<event>\w+): (?P<payload>.*)$")


def kernel_events(text):
    """(event, fields) per iommu_lu line of an ftrace buffer, in order."""
    out = []
    for line in text.splitlines():
        m = _FTRACE.match(line)
        if not m:
            continue
        payload = m["payload"]
        fields = dict(re.findall(r"(\w+)=(\S+)", payload))
        hit = re.match(r"(\S+) matches device entry (\d+) \(domain (\d+), token (\S+)\)",
                       payload)
        if hit:
            fields.update(dev=hit[1], index=hit[2], domain=hit[3], token=hit[4])
        miss = re.match(r"(\S+) \(([0-9a-f:.]+)\) was not preserved", payload)
        if miss:
            fields.update(dev=miss[1], pci=miss[2])
        dev = re.match(r"(\S+) index=", payload)
        if dev and m["event"].startswith("device_"):
            fields["dev"] = dev[1]
        out.append((m["event"], fields))
    return out


def blob_json(stage, name):
    text = stage.blob(name)
    assert text is not None, f"the guest sent no {name}"
    return json.loads(text)


def blob_jsonl(stage, name):
    text = stage.blob(name)
    assert text is not None, f"the guest sent no {name}"
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def key(ev):
    """What both sides say about an event: its name and entry index."""
    return (ev["event"], ev.get("index"))


def kkey(ev):
    name, f = ev
    idx = f.get("index")
    return (name, int(idx) if idx is not None else None)


def one(items, what):
    assert len(items) == 1, f"expected one {what}, got {items}"
    return items[0]


# Per machine: the hardware unit type and the domain format lutrace names
# (with their ABI numbers), the key of its driver payload, and the log line
# of the hitless attach that gives the device's domain id
VENDOR = {
    "vtd": {"unit": ("vtd", 1), "format": ("vtdss", 1), "payload": "vtd",
            "kept": r"keeps its context entry \(domain id (\d+)\)"},
    "amdvi": {"unit": ("amdvi", 2), "format": ("amdv1", 3), "payload": "amdvi",
              "kept": r"keeps its device table entry \(domain id (\d+)\)"},
}


def stable(machine):
    """Entry fields that must survive the kexec unchanged"""
    payload = VENDOR[machine]["payload"]
    return {
        "hw_units": ("index", "refcount", "type", "token", payload),
        "domains": ("index", "refcount", "format", "levels", "top_table",
                    "addr_width", "oa_width", "nr_tables", "features"),
        "devices": ("index", "refcount", "pci", "token", "domain", "hw_unit",
                    payload),
    }

pytestmark_qemu = pytest.mark.qemu


@pytestmark_qemu
def test_dump_outgoing_agrees_with_kernel(lu_e2e):
    """Before the kexec: one entry of each kind, as the kernel's preserve
    events describe them; the edu device that was not preserved is absent."""
    run = lu_e2e
    s1, s2 = run.stage(1), run.stage(2)
    assert s1.results.get("dump-outgoing-rc") == "0", s1.blob("dump-outgoing-err")
    d = blob_json(s1, "dump-outgoing")
    assert d["direction"] == "outgoing" and d["state"], d
    assert d["problems"] == [], d["problems"]
    for chain in ("hw_units", "domains", "devices"):
        assert len(d[chain]) == 1, f"{chain}: {d[chain]}"
    assert d["root"]["nr_entries"] == {"hw_unit": 1, "domain": 1, "device": 1}
    hw, dom, dev = d["hw_units"][0], d["domains"][0], d["devices"][0]

    # The kernel's events of the session that was kept: after the last
    # flb_preserve (the cancelled session came first).
    ev = kernel_events(s1.blob("ftrace"))
    last = max(i for i, e in enumerate(ev) if e[0] == "flb_preserve")
    kept = ev[last:]
    kflb = kept[0][1]
    assert int(kflb["root"], 16) == d["flb"]["root_pa"]
    kdev = one([f for n, f in kept if n == "device_preserve"], "device_preserve")
    kdom = one([f for n, f in kept if n == "domain_preserve"], "domain_preserve")
    khw = one([f for n, f in kept if n == "hw_unit_preserve"], "hw_unit_preserve")
    kpt = one([f for n, f in kept if n == "pt_preserve"], "pt_preserve")
    edu = s1.results["edu_bdf"]
    assert dev["pci"] == edu == kdev["dev"]
    assert dev["index"] == int(kdev["index"])
    assert dev["domain"] == int(kdev["domain"]) == dom["index"]
    assert dev["hw_unit"] == int(kdev["hw_unit"]) == hw["index"]
    assert int(dev["token"], 16) == int(kdev["token"], 16)
    assert dom["index"] == int(kdom["index"])
    vendor = VENDOR[run.machine]
    assert (dom["format"], int(kdom["format"])) == vendor["format"]
    assert dom["levels"] == int(kdom["levels"])
    assert dom["top_table"] == int(kdom["top"], 16)
    assert dom["addr_width"] == int(kdom["width"])
    assert dom["nr_tables"] == int(kpt["tables"])
    assert hw["index"] == int(khw["index"])
    assert (hw["type"], int(khw["type"])) == vendor["unit"]
    assert int(hw["token"], 16) == int(khw["token"], 16)
    # Reference counts: one device behind the unit and on the domain
    assert (dev["refcount"], dom["refcount"], hw["refcount"]) == (1, 1, 1)
    # The device that was not preserved never appears
    other = s2.results["rescanned"]
    assert other != edu
    assert all(x["pci"] != other for x in d["devices"])
    # The domain id is the one the next kernel keeps
    kept_did = one(run.grep(vendor["kept"], stage=2), "entry kept")
    did = int(re.search(r"domain id (\d+)", kept_did)[1])
    assert dev[vendor["payload"]]["domain_id"] == did


@pytestmark_qemu
def test_dump_incoming_agrees_with_kernel(lu_e2e):
    """After the kexec: the same entries at the same physical root, every
    one valid and restored, as the kernel logged; the matching table shows
    the preserved edu restored and the other one not preserved."""
    run = lu_e2e
    s1, s2 = run.stage(1), run.stage(2)
    assert s2.results.get("dump-incoming-rc") == "0", s2.blob("dump-incoming-err")
    d1 = blob_json(s1, "dump-outgoing")
    d2 = blob_json(s2, "dump-incoming")
    assert d2["direction"] == "incoming" and d2["state"], d2
    assert d2["problems"] == [], d2["problems"]
    # The FLB handle is the same physical page in both kernels
    assert d2["flb"]["root_pa"] == d1["flb"]["root_pa"]
    m = re.search(r"incoming state: (\d+) hw units, (\d+) domains, (\d+) devices valid",
                  one(run.grep(r"iommu-lu: incoming state:", stage=2), "state line"))
    assert d2["root"]["valid"] == {"hw_unit": int(m[1]), "domain": int(m[2]),
                                   "device": int(m[3])}
    for chain, fields in stable(run.machine).items():
        assert len(d2[chain]) == len(d1[chain]), chain
        for a, b in zip(d1[chain], d2[chain]):
            for f in fields:
                assert a[f] == b[f], f"{chain} {a['index']}: {f}: {a[f]} -> {b[f]}"
    dev = d2["devices"][0]
    assert dev["valid"] and d2["hw_units"][0]["valid"]
    # Restored, as the kernel logged
    edu = s1.results["edu_bdf"]
    assert run.grep(rf"{edu}: iommu-lu: restored its preserved domain {dev['domain']}",
                    stage=2)
    for chain in ("hw_units", "domains", "devices"):
        assert "restored" in d2[chain][0]["flags"].split(","), d2[chain][0]
        assert "restored" not in d1[chain][0]["flags"], d1[chain][0]

    rows = {r["pci"]: r for r in d2["matching"]}
    assert rows[edu]["status"] == "restored" and rows[edu]["entry"] == dev["index"]
    other = s2.results["rescanned"]
    assert rows[other]["status"] == "not preserved" and rows[other]["entry"] is None
    assert [r for r in d2["matching"] if r["entry"] is not None] == [rows[edu]]

    # After the session finished, the incoming state is released
    d3 = blob_json(s2, "dump-finished")
    assert not d3["state"] and "finished" in d3["reason"], d3


@pytestmark_qemu
def test_trace_sees_every_event_in_order(lu_e2e):
    """lutrace trace sees what the kernel's trace buffer saw, in the same
    order: preserve and unpreserve (a cancelled session, then the kept one)
    before the kexec; match and restore at boot (read back with --boot);
    the re-probe of the device that was not preserved after boot."""
    run = lu_e2e
    s1, s2 = run.stage(1), run.stage(2)

    live1 = [key(e) for e in blob_jsonl(s1, "s1-trace")]
    k1 = [kkey(e) for e in kernel_events(s1.blob("ftrace"))]
    assert live1, "lutrace trace saw nothing in stage 1"
    assert k1[-len(live1):] == live1, f"\nkernel: {k1}\nlutrace: {live1}"
    names1 = [n for n, _ in live1]
    for obj in ("flb", "pt", "domain", "hw_unit", "device"):
        for op in ("preserve", "unpreserve"):
            assert f"{obj}_{op}" in names1, f"{obj}_{op} not traced: {names1}"
    # The cancelled session undoes what it did before the kept one starts
    assert names1.index("flb_unpreserve") < len(names1) - 1 - names1[::-1].index("flb_preserve")

    boot = blob_jsonl(s2, "trace-boot")
    kboot = kernel_events(s2.blob("ftrace-boot"))
    assert [key(e) for e in boot] == [kkey(e) for e in kboot]
    names = [e["event"] for e in boot]
    edu = s1.results["edu_bdf"]
    other = s2.results["rescanned"]
    hit = [i for i, e in enumerate(boot) if e["event"] == "match_hit" and e["dev"] == edu]
    assert len(hit) == 1, names
    order = [names.index("flb_retrieve"), names.index("hw_unit_restore"), hit[0],
             names.index("pt_restore"), names.index("domain_restore"),
             names.index("device_restore")]
    assert order == sorted(order), f"restore events out of order: {names}"
    assert any(e["event"] == "match_miss" and e["pci"] == other for e in boot)
    assert all(e.get("ret", 0) == 0 for e in boot), boot

    live2 = [key(e) for e in blob_jsonl(s2, "s2-trace")]
    k2 = [kkey(e) for e in kernel_events(s2.blob("ftrace"))][len(kboot):]
    assert live2 == k2, f"\nkernel: {k2}\nlutrace: {live2}"
    rescan = [e for e in blob_jsonl(s2, "s2-trace") if e["event"] == "match_miss"]
    assert [e["pci"] for e in rescan] == [other], rescan


@pytestmark_qemu
def test_latency_histograms(lu_e2e):
    """lutrace latency has a histogram for each operation the scenario ran:
    preserve and unpreserve of every object type before the kexec, the
    retrieve of the iommufd and the device after it."""
    run = lu_e2e
    s1, s2 = run.stage(1), run.stage(2)

    def hists(stage, name):
        docs = blob_jsonl(stage, name)
        assert docs, f"{name}: no output"
        return {(h["op"], h["object"]): h for h in docs[-1]["histograms"]}

    h1 = hists(s1, "s1-latency")
    for op in ("preserve", "unpreserve"):
        for obj in ("flb", "iommufd", "vfio", "domain", "device", "hw_unit"):
            h = h1.get((op, obj))
            assert h and h["count"] >= 1, f"no {op} {obj} histogram: {sorted(h1)}"
            assert sum(s["count"] for s in h["slots"]) == h["count"]
            assert h["max_ns"] > 0 and h["total_ns"] >= h["max_ns"]
    # The cancelled and the kept session each preserved the domain
    assert h1[("preserve", "domain")]["count"] == 2
    assert h1[("unpreserve", "domain")]["count"] == 1
    h2 = hists(s2, "s2-latency")
    for obj in ("iommufd", "vfio"):
        assert h2.get(("restore", obj), {}).get("count", 0) >= 1, sorted(h2)
    # "latency 1 2": two reports, a second apart, then it exits by itself
    assert s2.results.get("latency-interval-rc") == "0", s2.blob("latency-interval-err")
    docs = blob_jsonl(s2, "latency-interval")
    assert len(docs) == 2 and all("histograms" in d for d in docs), docs


@pytestmark_qemu
def test_lutrace_live_update_off(guest):
    """With live update off on the kernel command line, every command fails
    and says why."""
    run = guest("vtd", "lutrace-off", append=("liveupdate=off",))
    s = run.stage(1)
    for name in ("dump", "dump-incoming", "trace", "trace-boot", "latency"):
        assert s.results.get(f"{name}-rc") == "1", f"{name}: {s.results}"
        err = s.blob(f"{name}-err")
        assert "live update is disabled in this kernel" in err, f"{name}: {err!r}"
        assert s.blob(name) == "", f"{name} printed: {s.blob(name)!r}"


# Host side: the binaries and the errors that need no guest

def _lutrace(*args, user=None):
    cmd = [LUTRACE, *args]
    if user is not None:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_static_binary_size():
    """The guest's static lutrace stays under 5 MiB and needs no library."""
    size = os.path.getsize(LUTRACE_STATIC)
    assert size < 5 * 1024 * 1024, f"{LUTRACE_STATIC}: {size} bytes"
    out = subprocess.run(["readelf", "-l", "-d", LUTRACE_STATIC], capture_output=True,
                         text=True, check=True).stdout
    assert "INTERP" not in out and "NEEDED" not in out, out


def test_usage_errors():
    r = _lutrace("-h")
    assert r.returncode == 0 and "Usage: lutrace" in r.stdout
    r = _lutrace("--version")
    assert r.returncode == 0 and "iommu-lu-v3" in r.stdout, r.stdout
    r = _lutrace()
    assert r.returncode == 2 and "no command" in r.stderr
    r = _lutrace("frobnicate")
    assert r.returncode == 2 and "unknown command 'frobnicate'" in r.stderr
    r = _lutrace("trace", "--filter", "bogus")
    assert r.returncode == 2 and "'bogus' is no event" in r.stderr, r.stderr
    for bad in ("0", "-1", "4294967296", "1x"):
        r = _lutrace("latency", bad)
        assert r.returncode == 2 and "is not a whole number from 1 to" in r.stderr, \
            (bad, r.stderr)
    r = _lutrace("trace", "--filter", "")
    assert r.returncode == 2 and "--filter" in r.stderr, r.stderr
    for bad in ("nan", "-3", "0", "x"):
        r = _lutrace("trace", "--duration", bad)
        assert r.returncode == 2 and "not a positive number" in r.stderr, (bad, r.stderr)
    r = _lutrace("dump", "--sideways")
    assert r.returncode == 2


def test_not_root():
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to another user")
    for cmd in (["dump"], ["trace"], ["latency"]):
        r = _lutrace(*cmd, user=65534)
        assert r.returncode == 1, (cmd, r)
        assert "must run as root" in r.stderr, r.stderr
        assert r.stdout == ""


def test_host_kernel_without_the_feature():
    """The host's kernel has no IOMMU live update: lutrace says so."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        expect = "this kernel has no BTF"
    else:
        btf = subprocess.run(["bpftool", "btf", "dump", "file", "/sys/kernel/btf/vmlinux"],
                             capture_output=True, text=True).stdout
        if "STRUCT 'iommu_lu_state'" in btf:
            pytest.skip("the host kernel has the feature")
        expect = "this kernel has no IOMMU live update support"
    for cmd in (["dump"], ["dump", "--incoming"], ["trace"], ["latency", "1", "1"]):
        r = _lutrace(*cmd)
        assert r.returncode == 1, (cmd, r)
        assert expect in r.stderr, r.stderr
