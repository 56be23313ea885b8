/* Progress on a terminal: see progress.h. */
#include <stdio.h>
#include <unistd.h>

#include "deadline.h"
#include "log.h"
#include "progress.h"

void
progress_start(struct progress *p, int wanted, unsigned long long total)
{
	p->on = wanted && total > PROGRESS_MIN && isatty(STDERR_FILENO) &&
	    log_level() == LOG_NORMAL;
	p->total = total;
	p->start_ms = p->last_ms = now_ms();
	p->drawn = 0;
}

static double
mib(unsigned long long n)
{
	return (double)n / (1024.0 * 1024.0);
}

void
progress_update(struct progress *p, unsigned long long sent)
{
	int64_t now = now_ms(), el;
	double rate, left;

	if (!p->on || (p->drawn && now - p->last_ms < 200))
		return;
	p->last_ms = now;
	el = now - p->start_ms;
	rate = el > 0 ? (double)sent * 1000.0 / (double)el : 0;
	left = rate > 0 && p->total > sent ? (double)(p->total - sent) /
	    rate : 0;
	fprintf(stderr, "\rsmtpsend: %.1f of %.1f MiB sent, %.1f MiB/s, "
	    "%d:%02d left   ", mib(sent), mib(p->total), mib((unsigned long
	    long)rate), (int)left / 60, (int)left % 60);
	p->drawn = 1;
}

void
progress_end(struct progress *p)
{
	if (p->on && p->drawn)
		fputs("\r\033[K", stderr);
	p->drawn = 0;
}
