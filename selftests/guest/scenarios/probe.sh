# SPDX-License-Identifier: GPL-2.0
# The untranslated-DMA probe of lu-vfio alone, on the first edu device with
# no driver: the test boots this with the device's DMA passed through
# (iommu.passthrough=1), where the probe must see the DMA land.
. /lib/lu.sh

lu_run lu-vfio probe-sysfs --bdf "$(lu_edu_bdf 1)"
