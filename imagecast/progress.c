/*
 * progress.c - see progress.h.
 */
#include <unistd.h>

#include "progress.h"
#include "util.h"

void ic_progress_init(struct ic_progress *p, FILE *out, const char *label)
{
	p->out = out;
	p->tty = isatty(fileno(out));
	p->label = label;
	p->start = ic_now();
	p->last = p->start; /* the first line after a second, not at once */
	p->drawn = false;
}

void ic_progress_update(struct ic_progress *p, uint64_t have, uint64_t total, const char *source)
{
	double now = ic_now(), dt = now - p->start, rate = dt > 0 ? (double)have / dt : 0;
	char h[32], t[32], r[32], eta[32] = "?";

	/* Redraw at most 10 times a second on a terminal; log lines once a second. */
	if (now - p->last < (p->tty ? 0.1 : 1.0))
		return;
	p->last = now;
	if (total && rate > 0)
		snprintf(eta, sizeof(eta), "%.0fs", (double)(total - have) / rate);
	ic_fmt_bytes((double)have, h, sizeof(h));
	ic_fmt_bytes((double)total, t, sizeof(t));
	ic_fmt_bytes(rate, r, sizeof(r));
	if (p->tty) {
		fprintf(p->out, "\r\033[K%s: %s / %s  %s/s  ETA %s  from %s", p->label, h, t, r,
		        eta, source && *source ? source : "-");
		p->drawn = true;
	} else {
		fprintf(p->out, "%s: %s of %s, %s/s, eta %s, from %s\n", p->label, h, t, r, eta,
		        source && *source ? source : "-");
	}
	fflush(p->out);
}

void ic_progress_done(struct ic_progress *p)
{
	if (p->drawn)
		fputc('\n', p->out);
	p->drawn = false;
	fflush(p->out);
}
