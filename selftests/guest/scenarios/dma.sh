# SPDX-License-Identifier: GPL-2.0
# DMA through the IOMMU: edu bound to vfio-pci, its cdev bound to an iommufd,
# a memfd buffer mapped at a fixed IOVA, DMA both ways, and DMA to an
# unmapped IOVA blocked. lu.args=... are passed to edu-dma.
. /lib/lu.sh

lu_run edu-dma $(lu_args)
