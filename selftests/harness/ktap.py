# SPDX-License-Identifier: GPL-2.0
"""Parse the KTAP that KUnit prints on the console at boot."""

import re
from dataclasses import dataclass

# "[    1.234567] " printk timestamp, optional
_TS = re.compile(r"^\[\s*\d+\.\d+\]\s?")
_RESULT = re.compile(
    r"^(?P<ok>ok|not ok) (?P<num>\d+)(?: -)? (?P<name>[^#]*?)\s*(?:#\s*(?P<directive>.*))?$")
_SUBTEST = re.compile(r"^# Subtest: (?P<name>\S+)")


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
