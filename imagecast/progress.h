/*
 * progress.h - fetch progress for people and for logs: a redrawn line (bytes, rate, ETA) on a
 * terminal, plain lines at most once a second otherwise.
 */
#ifndef IC_PROGRESS_H
#define IC_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct ic_progress {
	FILE *out;
	bool tty;
	const char *label;
	double start, last;
	bool drawn;
};

void ic_progress_init(struct ic_progress *p, FILE *out, const char *label);
/* Report `have` of `total` bytes (total 0: not known yet) and the current source. */
void ic_progress_update(struct ic_progress *p, uint64_t have, uint64_t total, const char *source);
/* End the display (a newline after a redrawn line). */
void ic_progress_done(struct ic_progress *p);

#endif
