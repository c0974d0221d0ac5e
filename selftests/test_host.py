# SPDX-License-Identifier: GPL-2.0
"""Host-side tests of the build machinery and the harness parsers (no QEMU)."""

import os
import re
import subprocess
import textwrap

import pytest

from harness import ktap, qemu

TOP = qemu.TOP
SCRIPTS = os.path.join(TOP, "scripts")
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@localhost"}


def sh(cmd, env=None, check=True, cwd=None):
    e = dict(os.environ)
    e.update(GIT_ENV)
    e.update(env or {})
    p = subprocess.run(cmd, shell=True, env=e, cwd=cwd, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check and p.returncode:
        raise AssertionError(f"{cmd} -> {p.returncode}\n{p.stdout}")
    return p


# --- KTAP -----------------------------------------------------------------

KTAP_SAMPLE = textwrap.dedent("""\
    [    1.000000] KTAP version 1
    [    1.000001] 1..2
    [    1.000002]     KTAP version 1
    [    1.000003]     # Subtest: alpha
    [    1.000004]     # module: alpha
    [    1.000005]     1..3
    [    1.000006]     ok 1 first
    [    1.000007]         KTAP version 1
    [    1.000008]         # Subtest: second
    [    1.000009]         ok 1 p0
    [    1.000010]         not ok 2 p1
    [    1.000011]     not ok 2 second
    [    1.000012]     ok 3 third # SKIP needs hardware
    [    1.000013] not ok 1 alpha
    random kernel line
    [    1.000014]     KTAP version 1
    [    1.000015]     # Subtest: beta
    [    1.000016]     1..1
    [    1.000017]     ok 1 - only
    [    1.000018] ok 2 beta
    """)


def test_ktap_parses_cases_params_and_skips():
    cases = ktap.parse(KTAP_SAMPLE.splitlines())
    got = [(c.id, c.status) for c in cases]
    assert got == [("alpha.first", "pass"), ("alpha.second", "fail"),
                   ("alpha.third", "skip"), ("beta.only", "pass")]


def test_ktap_ignores_lines_before_ktap():
    assert ktap.parse(["    ok 1 stray", "ok 2 other"]) == []


# --- serial protocol --------------------------------------------------------

def test_serial_protocol_stages():
    lines = [
        "\x1bc\x1b[?7l[    0.000000] Linux version 7.3.4 (x)\n",
        "[    0.5] KHO: something\n",
        "LU-BOOT stage=1 scenario=s kernel=7.3.4\n",
        "LU-RESULT 1 edu_bdf 0000:00:03.0\n",
        "LU-CHECK 1 dma PASS 1024 bytes\n",
        "[    2.0] foo LU-KEXEC 1\n",
        "[    0.000000] Linux version 7.3.4 (x)\n",
        "[    0.6] KHO: found kexec handover data\n",
        "LU-BOOT stage=2 scenario=s kernel=7.3.4\n",
        "LU-CHECK 2 memfd FAIL offset 4096: want 0x12 got 0x00\n",
        "LU-STAGE-END stage=2 rc=1\n",
        "LU-DONE rc=1\n",
    ]
    stages, done, rc = qemu._parse(lines)
    assert done and rc == 1
    assert stages[1].results == {"edu_bdf": "0000:00:03.0"}
    assert stages[1].checks == {"dma": (True, "1024 bytes")}
    assert stages[1].kexec and not stages[2].kexec
    assert stages[2].checks["memfd"] == (False, "offset 4096: want 0x12 got 0x00")
    assert stages[2].rc == 1
    assert any("found kexec handover" in line for line in stages[2].lines)
    assert not any("found kexec handover" in line for line in stages[1].lines)


def test_splat_detection():
    run = qemu.Run("vtd", "s", "/dev/null",
                   ["ok\n", "[ 1.0] WARNING: CPU: 0 PID: 1 at foo\n",
                    "[ 1.1] ======================================================\n",
                    "[ 1.2] WARNING: possible circular locking dependency detected\n"],
                   {}, True, 0, False, 0.0, [])
    assert len(run.splats()) == 2


# --- kernel tree and series machinery ----------------------------------------

@pytest.fixture
def fake_tree(tmp_path):
    """A tiny "kernel tree" with the layout kernel-tree.sh expects."""
    tree = tmp_path / "linux"
    tree.mkdir()
    (tree / "README").write_text("base\n")
    sh(f"git -C {tree} init -q -b base && git -C {tree} add -A && "
       f"git -C {tree} commit -q -m base && git -C {tree} tag lu-base")
    patches = tmp_path / "patches"
    patches.mkdir()
    (patches / "series").write_text("# empty\n")
    env = {"KTREE": str(tree), "PATCHES": str(patches), "BUILD": str(tmp_path)}
    return tree, patches, env


def test_series_export_and_apply(fake_tree):
    tree, patches, env = fake_tree
    tree_sh = os.path.join(SCRIPTS, "kernel-tree.sh")
    export_sh = os.path.join(SCRIPTS, "export-patches.sh")

    out = sh(tree_sh, env).stdout
    assert "applied 0 patch(es)" in out
    assert sh(tree_sh, env).stdout == "", "re-ran with an unchanged series"

    # Two commits in the tree are exported as a series with a cover letter.
    (tree / "a.c").write_text("int a;\n")
    sh(f"git -C {tree} add a.c && git -C {tree} commit -q -m 'add a' -m 'Signed-off-by: t <t@localhost>'")
    (tree / "README").write_text("base\nchanged\n")
    sh(f"git -C {tree} commit -q -am 'change readme'")
    # Unexported commits are never thrown away by a re-apply.
    (patches / "series").write_text("# changed\n")
    p = sh(tree_sh, env, check=False)
    assert p.returncode != 0 and "not in kernel-patches" in p.stdout

    assert "2 patch(es)" in sh(export_sh, env).stdout
    names = sorted(os.listdir(patches))
    assert names[0] == "0000-cover-letter.patch"
    series = [l for l in (patches / "series").read_text().splitlines()
              if l and not l.startswith("#")]
    assert series == ["0001-add-a.patch", "0002-change-readme.patch"]
    assert sh(tree_sh, env).stdout == "", "export must mark the tree as applied"

    # A fresh tree (another checkout) gets the series applied with git am.
    sh(f"git -C {tree} checkout -q -B lu lu-base && rm -f {tree}/.git/lu-*")
    out = sh(tree_sh, env).stdout
    assert "applied 2 patch(es)" in out
    log = sh(f"git -C {tree} log --format=%s lu-base..HEAD").stdout.split("\n")
    assert log[:2] == ["change readme", "add a"]
    assert (tree / "a.c").read_text() == "int a;\n"

    # Changing a patch re-applies; a patch that does not apply fails loudly.
    p1 = patches / "0002-change-readme.patch"
    p1.write_text(p1.read_text().replace("+changed", "+changed again"))
    assert "applied 2 patch(es)" in sh(tree_sh, env).stdout
    assert "changed again" in (tree / "README").read_text()
    p1.write_text(p1.read_text().replace(" base\n", " nothing-like-this\n"))
    p = sh(tree_sh, env, check=False)
    assert p.returncode != 0 and "does not apply" in p.stdout


def test_missing_series_patch_is_reported(fake_tree):
    tree, patches, env = fake_tree
    (patches / "series").write_text("0001-missing.patch\n")
    p = sh(os.path.join(SCRIPTS, "kernel-tree.sh"), env, check=False)
    assert p.returncode != 0 and "0001-missing.patch" in p.stdout


# --- kernel configuration ------------------------------------------------------

KTREE = os.path.join(TOP, "build", "linux")


@pytest.mark.skipif(not os.path.isdir(os.path.join(KTREE, ".git")),
                    reason="no kernel tree: run 'make tree' first")
def test_config_option_that_does_not_survive_fails(tmp_path):
    """An option whose dependencies are not met is named, and the configure
    step fails."""
    frag = tmp_path / "bad.config"
    # ARM SMMUv3 cannot be enabled on x86.
    frag.write_text("CONFIG_ARM_SMMU_V3=y\n")
    common = os.path.join(TOP, "selftests", "config", "common.config")
    p = sh(f"{SCRIPTS}/kernel-config.sh {common} {frag}",
           {"KOUT": str(tmp_path / "kbuild")}, check=False)
    assert p.returncode != 0
    assert "CONFIG_ARM_SMMU_V3 did not survive" in p.stdout


# --- the series ---------------------------------------------------------------

PATCHES = sorted(
    p for p in os.listdir(os.path.join(TOP, "kernel-patches"))
    if p.endswith(".patch") and not p.startswith("0000-"))


@pytest.mark.skipif(not os.path.isdir(os.path.join(KTREE, ".git")),
                    reason="no kernel tree: run 'make tree' first")
@pytest.mark.parametrize("patch", PATCHES)
def test_checkpatch_strict_no_errors(patch):
    p = sh(f"cd {KTREE} && perl scripts/checkpatch.pl --strict -q --terse "
           f"--ignore SPDX_LICENSE_TAG {TOP}/kernel-patches/{patch} 2>/dev/null",
           check=False)
    errors = [l for l in p.stdout.splitlines() if ": ERROR:" in l]
    assert not errors, "\n".join(errors)
    m = re.search(r"total: (\d+) errors", p.stdout)
    assert m and m.group(1) == "0", p.stdout[-500:]


def test_series_file_lists_every_patch():
    with open(os.path.join(TOP, "kernel-patches", "series")) as f:
        listed = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    assert listed == PATCHES
