# SPDX-License-Identifier: GPL-2.0
# Boot: report the IOMMU units, the edu device's IOMMU group, its default
# domain type and the group's members. The test asserts on them.
. /lib/lu.sh

bdf=$(lu_edu_bdf) || { lu_check edu_present FAIL "no edu device (1234:11e8)"; exit 1; }
dev=/sys/bus/pci/devices/$bdf
lu_result edu_bdf "$bdf"
lu_result iommu_units $(ls /sys/class/iommu)
[ -e "$dev/iommu_group" ] || { lu_check edu_group FAIL "$bdf has no IOMMU group"; exit 1; }
grp=$(basename "$(readlink "$dev/iommu_group")")
lu_result edu_iommu "$(basename "$(readlink "$dev/iommu")")"
lu_result edu_group "$grp"
lu_result edu_group_type "$(cat /sys/kernel/iommu_groups/$grp/type)"
lu_result edu_group_devices $(ls /sys/kernel/iommu_groups/$grp/devices)
lu_result iommu_lu_events $(ls /sys/kernel/tracing/events/iommu_lu 2>/dev/null | grep -v '^enable$\|^filter$')
exit 0
