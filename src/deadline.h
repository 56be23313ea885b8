/*
 * deadline: the one clock of smtpsend.  All times are milliseconds of
 * CLOCK_MONOTONIC.  A run has one overall end (--timeout); each protocol
 * phase may set a shorter limit of its own (RFC 5321 section 4.5.3.2),
 * never a longer one.  deadline_wait() is the only place smtpsend blocks.
 */
#ifndef SMTPSEND_DEADLINE_H
#define SMTPSEND_DEADLINE_H

#include <stdint.h>

struct err;

struct deadline {
	int64_t start_ms;	/* when the run began */
	int64_t end_ms;		/* overall end of the run */
	int64_t phase_end_ms;	/* end of the current phase (<= end_ms) */
	int64_t phase_limit_ms;	/* the limit the phase was given */
	const char *phase;	/* name used in messages ("greeting", ...) */
};

int64_t now_ms(void);
void deadline_init(struct deadline *dl, int64_t total_ms);
/* Start a phase limited to limit_ms (or the overall end, if earlier). */
void deadline_phase(struct deadline *dl, const char *phase, int64_t limit_ms);
/* Milliseconds left in the current phase (0 when expired). */
int64_t deadline_left_ms(const struct deadline *dl);
/*
 * Wait until fd is ready for events (POLLIN/POLLOUT).  Returns the revents
 * on success, or -1 with E_TEMPFAIL "<phase>: timed out ..." in e.
 */
int deadline_wait(int fd, short events, const struct deadline *dl,
    struct err *e);
/*
 * Closing work (QUIT, TLS close) after the run's outcome is known: limited
 * to limit_ms and to DEADLINE_GRACE_MS past the overall end, so the
 * process still exits within --timeout plus one second.
 */
#define DEADLINE_GRACE_MS 500
void deadline_cleanup(struct deadline *dl, const char *phase,
    int64_t limit_ms);
/* Record the timeout error for the current phase; returns -1. */
int deadline_expired(const struct deadline *dl, struct err *e);

#endif
