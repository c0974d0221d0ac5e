# SPDX-License-Identifier: GPL-2.0
"""The serialized IOMMU live update structures are in the kernel's BTF, with
the sizes the ABI header asserts, so tp_btf programs (lutrace) can read them
with their types."""

import os
import re
import subprocess

import pytest

from harness import qemu

VMLINUX = os.path.join(qemu.KBUILD, "vmlinux")
ABI_STRUCTS = {
    "iommu_lu_root_ser": 64,
    "iommu_lu_entry_hdr": 16,
    "iommu_lu_hw_unit_ser": 96,
    "iommu_lu_domain_ser": 72,
    "iommu_lu_device_ser": 168,
}


@pytest.fixture(scope="module")
def btf():
    if not os.path.exists(VMLINUX):
        pytest.fail(f"{VMLINUX} is missing: run 'make kernel' first")
    p = subprocess.run(["bpftool", "btf", "dump", "file", VMLINUX, "format", "raw"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.mark.parametrize("name", sorted(ABI_STRUCTS))
def test_abi_struct_in_btf(btf, name):
    m = re.search(rf"STRUCT '{name}' size=(\d+)", btf)
    assert m, f"struct {name} is not in the BTF of {VMLINUX}"
    assert int(m.group(1)) == ABI_STRUCTS[name]


def test_tracepoints_in_btf(btf):
    # tp_btf programs attach to the btf_trace_<event> typedefs.
    for ev in ("iommu_lu_device_preserve", "iommu_lu_domain_restore",
               "iommu_lu_match_hit", "iommu_lu_flb_retrieve"):
        assert f"TYPEDEF 'btf_trace_{ev}'" in btf, ev
