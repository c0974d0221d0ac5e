/* SPDX-License-Identifier: GPL-2.0 */
/* lutrace: printing latency histograms (text in the BCC tools' style, JSON) */
#ifndef LUTRACE_HIST_H
#define LUTRACE_HIST_H

#include <stdio.h>
#include "abi.h"
#include "json.h"

const char *lt_op_name(unsigned int op);
const char *lt_obj_name(unsigned int obj);

/* Text: a header line and the log2 table; nothing for an empty histogram */
void lt_hist_print_text(FILE *out, unsigned int op, unsigned int obj,
			const struct lt_hist *h);
/* JSON: one object in the current array */
void lt_hist_print_json(struct jw *w, unsigned int op, unsigned int obj,
			const struct lt_hist *h);

#endif /* LUTRACE_HIST_H */
