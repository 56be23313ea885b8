/*
 * deadline: the one clock of smtpsend.  All times are milliseconds of
 * CLOCK_MONOTONIC.  A run has one overall end (--timeout); each protocol
 * phase may set a shorter limit of its own (RFC 5321 section 4.5.3.2),
 * never a longer one.  deadline_wait() is the only place smtpsend blocks.
 *
 * It is also where a cancellation is noticed.  main() installs the
 * SIGINT/SIGTERM/SIGHUP handler, which records the signal in a flag and
 * makes a pipe readable; deadline_wait() watches that pipe beside the
 * descriptor it waits for, so a signal that arrives at any moment ends
 * the wait at once with an E_TEMPFAIL "interrupted" error.  Closing work
 * (RSET, QUIT, TLS close) runs "shielded": a cancellation no longer
 * interrupts it, it only shortens it to DEADLINE_CANCEL_MS.
 */
#ifndef SMTPSEND_DEADLINE_H
#define SMTPSEND_DEADLINE_H

#include <signal.h>
#include <stdint.h>

struct err;

struct deadline {
	int64_t start_ms;	/* when the run began */
	int64_t end_ms;		/* overall end of the run */
	int64_t phase_end_ms;	/* end of the current phase (<= end_ms) */
	int64_t phase_limit_ms;	/* the limit the phase was given */
	const char *phase;	/* name used in messages ("greeting", ...) */
	/* cancellation (see above); set by deadline_set_cancel() */
	volatile sig_atomic_t *cancel;	/* signal number, 0 = none */
	int cancel_fd;		/* readable once *cancel is set, or -1 */
	int shielded;		/* a cancellation only cuts this phase */
	int shield_armed;	/* ... and has already shortened it */
};

/* After a cancellation, how long closing work may still take. */
#define DEADLINE_CANCEL_MS 1000

int64_t now_ms(void);
/* Start the clock; no cancellation source until deadline_set_cancel(). */
void deadline_init(struct deadline *dl, int64_t total_ms);
/*
 * Start a new overall period of total_ms (one message of a --flush)
 * keeping the cancellation source.
 */
void deadline_rearm(struct deadline *dl, int64_t total_ms);
/* Watch *flag (set by a signal handler) and fd (made readable by it). */
void deadline_set_cancel(struct deadline *dl, volatile sig_atomic_t *flag,
    int fd);
/* The signal that asked to stop, or 0. */
int deadline_cancelled(const struct deadline *dl);
/*
 * Returns 0, or -1 with E_TEMPFAIL "<phase>: interrupted by SIGTERM" in e
 * when a cancellation has been asked for (and the phase is not shielded).
 * For loops that do not wait, such as reading a regular file.
 */
int deadline_check(const struct deadline *dl, struct err *e);
/*
 * Let the current phase finish even if a cancellation comes: it is then
 * cut to DEADLINE_CANCEL_MS instead of being interrupted.  Used while
 * waiting for the reply to the final dot, whose outcome must be known.
 * The next deadline_phase() lifts the shield.
 */
void deadline_shield(struct deadline *dl);
/* Start a phase limited to limit_ms (or the overall end, if earlier). */
void deadline_phase(struct deadline *dl, const char *phase, int64_t limit_ms);
/* Milliseconds left in the current phase (0 when expired). */
int64_t deadline_left_ms(const struct deadline *dl);
/*
 * Wait until fd is ready for events (POLLIN/POLLOUT).  Returns the revents
 * on success, or -1 with E_TEMPFAIL "<phase>: timed out ..." or
 * "<phase>: interrupted by SIG..." in e.
 */
int deadline_wait(int fd, short events, struct deadline *dl,
    struct err *e);
/*
 * Closing work (QUIT, TLS close) after the run's outcome is known: limited
 * to limit_ms and to DEADLINE_GRACE_MS past the overall end, so the
 * process still exits within --timeout plus one second.  The phase is
 * shielded, and after a cancellation it gets DEADLINE_CANCEL_MS at most.
 */
#define DEADLINE_GRACE_MS 500
void deadline_cleanup(struct deadline *dl, const char *phase,
    int64_t limit_ms);
/* Record the timeout error for the current phase; returns -1. */
int deadline_expired(const struct deadline *dl, struct err *e);

#endif
