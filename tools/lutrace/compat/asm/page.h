/* SPDX-License-Identifier: GPL-2.0 */
/* What <linux/kho/abi/block.h> needs from the kernel's <asm/page.h>. */
#ifndef LUTRACE_COMPAT_ASM_PAGE_H
#define LUTRACE_COMPAT_ASM_PAGE_H
#include <linux/types.h>
#define PAGE_SIZE	4096UL
typedef __u64 u64;
#endif
