# SPDX-License-Identifier: GPL-2.0
"""Parse KTAP: what KUnit prints on the console at boot (parse), and what a
kselftest program prints on its standard output (parse_kselftest)."""

import re
from dataclasses import dataclass

# "[    1.234567] " printk timestamp, optional
_TS = re.compile(r"^\[\s*\d+\.\d+\]\s?")
_RESULT = re.compile(
    r"^(?P<ok>ok|not ok) (?P<num>\d+)(?: -)? (?P<name>[^#]*?)\s*(?:#\s*(?P<directive>.*))?$")
_SUBTEST = re.compile(r"^# Subtest: (?P<name>\S+)")
_PLAN = re.compile(r"^1\.\.(?P<n>\d+)(?:\s*#\s*(?P<directive>.*))?$")
_TOTALS = re.compile(r"^# Totals: pass:(\d+) fail:(\d+) xfail:(\d+) xpass:(\d+) "
                     r"skip:(\d+) error:(\d+)")


@dataclass
class KunitCase:
    suite: str
    name: str
    status: str  # "pass", "fail" or "skip"
    directive: str = ""

    @property
    def id(self):
        return f"{self.suite}.{self.name}"


def _indent(line):
    return (len(line) - len(line.lstrip(" "))) // 4


def parse(lines):
    """Return the KUnit cases found in console lines.

    A suite is a "# Subtest:" at indent 1; its cases are the results at indent
    1 below it. Parameterised cases report their parameters one level deeper;
    the case line that follows them carries the verdict, which is what is
    kept.
    """
    cases = []
    suite = None
    in_ktap = False
    for raw in lines:
        line = _TS.sub("", raw.rstrip("\r\n"))
        stripped = line.strip()
        if stripped.startswith("KTAP version") and _indent(line) == 0:
            in_ktap = True
            continue
        if not in_ktap:
            continue
        m = _SUBTEST.match(stripped)
        if m and _indent(line) == 1:
            suite = m.group("name")
            continue
        m = _RESULT.match(stripped)
        if not m:
            continue
        level = _indent(line)
        if level == 0:
            suite = None
            continue
        if level != 1 or suite is None:
            continue
        directive = (m.group("directive") or "").strip()
        if directive.upper().startswith("SKIP"):
            status = "skip"
        elif m.group("ok") == "ok":
            status = "pass"
        else:
            status = "fail"
        cases.append(KunitCase(suite, m.group("name").strip(), status, directive))
    return cases


def _status(ok, directive):
    """KTAP's verdict: a SKIP directive is a skip whatever the ok says; an
    expected failure (XFAIL) is a pass the suite asked for, an unexpected
    pass (XPASS) a failure, as kselftest's exit status counts them."""
    if directive.upper().startswith("SKIP"):
        return "skip"
    if directive.upper().startswith("XPASS"):
        return "fail"
    return "pass" if ok == "ok" else "fail"


@dataclass
class KselftestRun:
    """What one kselftest program reported: its cases, its plan (how many
    cases it announced), its own totals line, and what in its output does
    not add up (problems: a run that stopped early, totals that disagree
    with the cases)."""
    cases: list
    plan: int
    skip_reason: str
    totals: tuple
    problems: list


def parse_kselftest(text, suite):
    """Parse the flat KTAP of a kselftest program (kselftest.h, and
    kselftest_harness.h's "ok N fixture.variant.test"): "TAP version 13",
    the plan "1..N", one "ok"/"not ok" line per case at indent 0, and
    "# Totals: ...". Cases are KunitCase(suite, name, status, directive),
    suite being the program. A program that skips as a whole prints
    "1..0 # SKIP reason" (skip_reason); its plan is 0.
    """
    cases, plan, skip_reason, totals, problems = [], None, "", None, []
    in_ktap = False
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("TAP version"):
            in_ktap = True
            continue
        m = _PLAN.match(line)
        # A program that skips as a whole may print its plan alone
        if m and plan is None and (in_ktap or m.group("directive")):
            plan = int(m.group("n"))
            directive = (m.group("directive") or "").strip()
            if plan == 0 and directive.upper().startswith("SKIP"):
                skip_reason = directive[4:].strip()
            continue
        m = _TOTALS.match(line)
        if m:
            totals = tuple(int(x) for x in m.groups())
            continue
        if not in_ktap:
            continue
        m = _RESULT.match(line)
        if not m:
            continue
        directive = (m.group("directive") or "").strip()
        if int(m.group("num")) != len(cases) + 1:
            problems.append(f"result {m.group('num')} after {len(cases)} results")
        cases.append(KunitCase(suite, m.group("name").strip(),
                               _status(m.group("ok"), directive), directive))
    if plan is None:
        problems.append("no KTAP plan (1..N) in its output")
    elif len(cases) != plan:
        problems.append(f"{len(cases)} results for a plan of {plan} cases "
                        "(the program stopped early)")
    if totals is not None:
        got = (sum(c.status == "pass" for c in cases),
               sum(c.status == "fail" for c in cases),
               sum(c.status == "skip" for c in cases))
        # pass counts xfail, fail counts xpass and error
        want = (totals[0] + totals[2], totals[1] + totals[3] + totals[5], totals[4])
        if got != want:
            problems.append(f"its totals (pass, fail, skip) {want} disagree "
                            f"with its results {got}")
    return KselftestRun(cases, plan or 0, skip_reason, totals, problems)
