/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lutrace diff: what changed between two models of the state, usually the
 * outgoing one before a kexec and the incoming one after it.
 */
#ifndef LUTRACE_COMPARE_H
#define LUTRACE_COMPARE_H

#include <stdio.h>
#include "decode.h"

/*
 * Prints what changed from @a (named @an) to @b (@bn): the root, every
 * entry added, removed or changed, field by field (refcounts, flags such
 * as restored, payload), and @b's matching verdicts and refusals when it
 * is incoming. Returns the number of changes.
 */
int lt_compare_print(const struct lt_model *a, const char *an,
		     const struct lt_model *b, const char *bn, FILE *out,
		     enum lt_format fmt);

#endif /* LUTRACE_COMPARE_H */
