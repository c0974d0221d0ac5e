# SPDX-License-Identifier: GPL-2.0
# iommufd live update marks: edu bound to vfio-pci and attached to a paging
# HWPT; IOMMU_HWPT_LU_SET_PRESERVE accepted and refused as documented, the
# marked IOAS immutable, DMA working before and after marking, and the marks
# gone with the iommufd. lu.args=... are passed to lu-vfio mark-checks.
. /lib/lu.sh

lu_run lu-vfio mark-checks $(lu_args)
