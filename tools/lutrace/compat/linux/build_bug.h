/* SPDX-License-Identifier: GPL-2.0 */
/*
 * static_assert() as the kernel's <linux/build_bug.h> defines it: the
 * message is optional.
 */
#ifndef LUTRACE_COMPAT_LINUX_BUILD_BUG_H
#define LUTRACE_COMPAT_LINUX_BUILD_BUG_H
#include <stddef.h>
#undef static_assert
#define static_assert(expr, ...) __static_assert(expr, ##__VA_ARGS__, #expr)
#define __static_assert(expr, msg, ...) _Static_assert(expr, msg)
#endif
