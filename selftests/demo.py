#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The demo: a VFIO device in a `vtd` guest keeps its IOMMU mappings and
its DMA across a kexec live update (see docs/liveupdate-flow.md); report
every check."""

import re
import sys

from harness import qemu

SHOW = re.compile(r"(===|LU-|lutrace|DMAR: \[DMA|KHO: found|Linux version|"
                  r"iommu-lu:|iommufd:|vfio:|live update:|edu-dma:|lu-vfio:|"
                  r"lu-kexec:)")


def main():
    machine = sys.argv[1] if len(sys.argv) > 1 else "vtd"
    if machine != "vtd":
        print("demo: device live update is implemented for VT-d only (the "
              "'vtd' machine); AMD-Vi preserves domains, not devices")
        return 2
    print(f"demo: booting the {machine} machine under QEMU (TCG); "
          "showing the interesting console lines")

    def show(line):
        if SHOW.search(line):
            print("  | " + line.rstrip())

    # The kernel records its iommu_lu events from boot on, for lutrace
    # trace --boot in stage 2.
    run = qemu.run(machine, "demo", edu=2, on_line=show, name="demo",
                   append=("trace_event=iommu_lu:*",))
    print()
    ok = run.done and run.rc == 0 and not run.failed_checks() and not run.splats()
    for st in sorted(run.stages.values(), key=lambda s: s.number):
        print(f"stage {st.number}:")
        for name, (passed, detail) in st.checks.items():
            print(f"  {'PASS' if passed else 'FAIL'}  {name}  {detail}")
    for line in run.splats()[:5]:
        print("  kernel splat: " + line.rstrip())
    print(f"\ndemo {'PASSED' if ok else 'FAILED'} in {run.seconds:.1f}s "
          f"(serial log: {run.log_path})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
