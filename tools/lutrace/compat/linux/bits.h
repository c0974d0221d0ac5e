/* SPDX-License-Identifier: GPL-2.0 */
/* The part of the kernel's <linux/bits.h> that the ABI headers use. */
#ifndef LUTRACE_COMPAT_LINUX_BITS_H
#define LUTRACE_COMPAT_LINUX_BITS_H
#define BIT_ULL(nr)	(1ULL << (nr))
#endif
