/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's IOMMU live update ABI headers, included as they are from the
 * kernel tree (the Makefile passes their paths), with the few kernel-only
 * definitions they use supplied by compat/.
 */
#ifndef LUTRACE_ABI_H
#define LUTRACE_ABI_H

#include <linux/types.h>

#ifndef __packed
#define __packed	__attribute__((packed))
#endif

#include LT_ABI_BLOCK_H
#include LT_ABI_IOMMU_H

#include "../../bpf/lutrace.h"

static_assert(LT_NR_CHAINS == IOMMU_LU_NR_CHAINS, "chain count");
static_assert(LT_CHAIN_HW_UNIT == IOMMU_LU_CHAIN_HW_UNIT, "hw unit chain");
static_assert(LT_CHAIN_DOMAIN == IOMMU_LU_CHAIN_DOMAIN, "domain chain");
static_assert(LT_CHAIN_DEVICE == IOMMU_LU_CHAIN_DEVICE, "device chain");
static_assert(LT_ROOT_SIZE == sizeof(struct iommu_lu_root_ser), "root size");
static_assert(LT_BLOCK_SIZE == KHO_BLOCK_SIZE, "block size");

#endif /* LUTRACE_ABI_H */
