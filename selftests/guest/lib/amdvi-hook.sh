# SPDX-License-Identifier: GPL-2.0
# Run by "lu-vfio preserve ... -- sh /lib/amdvi-hook.sh CMD...", with every
# session of the scenario preserved and still open: what the AMD-Vi IOMMU
# holds right before the kexec (lu_amdvi_regs), then exec CMD (the kexec).
. /lib/lu.sh

lu_amdvi_regs kexec "$(lu_edu_bdf 1)"
exec "$@"
