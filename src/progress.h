/*
 * progress: bytes sent, rate and time left on stderr while a large
 * message goes out (--progress, the default; --no-progress).  Only when
 * stderr is a terminal and the message is over PROGRESS_MIN octets, and
 * never in -q or -v mode (the transcript owns the terminal then).  One
 * line redrawn with a carriage return at most five times a second.
 */
#ifndef SMTPSEND_PROGRESS_H
#define SMTPSEND_PROGRESS_H

#include <stdint.h>

#define PROGRESS_MIN	(1024ULL * 1024)

struct progress {
	int on;
	unsigned long long total;	/* expected octets, an estimate */
	int64_t start_ms, last_ms;
	int drawn;
};

void progress_start(struct progress *p, int wanted, unsigned long long total);
void progress_update(struct progress *p, unsigned long long sent);
/* Erase the line (the outcome is printed elsewhere). */
void progress_end(struct progress *p);

#endif
