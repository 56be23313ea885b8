/* Monotonic deadlines and the one blocking wait: see deadline.h. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "deadline.h"
#include "err.h"

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
deadline_init(struct deadline *dl, int64_t total_ms)
{
	dl->cancel = NULL;
	dl->cancel_fd = -1;
	deadline_rearm(dl, total_ms);
}

void
deadline_rearm(struct deadline *dl, int64_t total_ms)
{
	dl->start_ms = now_ms();
	dl->end_ms = dl->start_ms + total_ms;
	dl->phase_end_ms = dl->end_ms;
	dl->phase_limit_ms = total_ms;
	dl->phase = "start";
	dl->shielded = 0;
	dl->shield_armed = 0;
}

void
deadline_set_cancel(struct deadline *dl, volatile sig_atomic_t *flag,
    int fd)
{
	dl->cancel = flag;
	dl->cancel_fd = fd;
}

int
deadline_cancelled(const struct deadline *dl)
{
	return dl->cancel != NULL ? (int)*dl->cancel : 0;
}

static const char *
signame(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	default:
		return "a signal";
	}
}

int
deadline_check(const struct deadline *dl, struct err *e)
{
	int sig = deadline_cancelled(dl);

	if (sig == 0 || dl->shielded)
		return 0;
	return err_set(e, E_TEMPFAIL, "%s: interrupted by %s", dl->phase,
	    signame(sig));
}

void
deadline_shield(struct deadline *dl)
{
	dl->shielded = 1;
	dl->shield_armed = 0;
}

void
deadline_phase(struct deadline *dl, const char *phase, int64_t limit_ms)
{
	int64_t now = now_ms();

	dl->phase = phase;
	dl->phase_limit_ms = limit_ms;
	dl->phase_end_ms = now + limit_ms < dl->end_ms ? now + limit_ms :
	    dl->end_ms;
	dl->shielded = 0;
	dl->shield_armed = 0;
}

/* A cancellation during a shielded phase: cut the phase short, once. */
static void
shield_cut(struct deadline *dl)
{
	int64_t end = now_ms() + DEADLINE_CANCEL_MS;

	if (dl->shield_armed)
		return;
	dl->shield_armed = 1;
	if (dl->phase_end_ms > end)
		dl->phase_end_ms = end;
}

int64_t
deadline_left_ms(const struct deadline *dl)
{
	int64_t left = dl->phase_end_ms - now_ms();

	return left > 0 ? left : 0;
}

int
deadline_expired(const struct deadline *dl, struct err *e)
{
	if (e->kind == E_OK)
		e->timed_out = 1;
	/* Say which limit ran out: the whole run's or this phase's. */
	if (dl->phase_end_ms >= dl->end_ms)
		return err_set(e, E_TEMPFAIL,
		    "%s: timed out (--timeout of %lld s reached)", dl->phase,
		    (long long)((dl->end_ms - dl->start_ms + 999) / 1000));
	return err_set(e, E_TEMPFAIL, "%s: timed out after %lld s",
	    dl->phase, (long long)((dl->phase_limit_ms + 999) / 1000));
}

/*
 * The cancellation pipe is watched only while a cancellation can still
 * interrupt: once it has been seen in a shielded phase the pipe stays
 * readable, and polling it again would spin.
 */
int
deadline_wait(int fd, short events, struct deadline *dl,
    struct err *e)
{
	struct pollfd p[2];
	int64_t left;
	int r, n;

	for (;;) {
		if (deadline_check(dl, e) < 0)
			return -1;
		if (deadline_cancelled(dl))
			shield_cut(dl);
		left = deadline_left_ms(dl);
		if (left <= 0)
			return deadline_expired(dl, e);
		p[0].fd = fd;
		p[0].events = events;
		p[0].revents = 0;
		p[1].fd = dl->cancel_fd;
		p[1].events = POLLIN;
		p[1].revents = 0;
		n = dl->cancel_fd >= 0 && !deadline_cancelled(dl) ? 2 : 1;
		r = poll(p, (nfds_t)n, left > 60000 ? 60000 : (int)left);
		if (r > 0 && p[0].revents != 0)
			return p[0].revents;
		if (r < 0 && errno != EINTR)
			return err_set(e, E_OSERR, "%s: poll: %s", dl->phase,
			    strerror(errno));
	}
}

void
deadline_cleanup(struct deadline *dl, const char *phase, int64_t limit_ms)
{
	int64_t now = now_ms(), end = dl->end_ms + DEADLINE_GRACE_MS;

	if (deadline_cancelled(dl) && limit_ms > DEADLINE_CANCEL_MS)
		limit_ms = DEADLINE_CANCEL_MS;
	dl->phase = phase;
	dl->phase_limit_ms = limit_ms;
	dl->phase_end_ms = now + limit_ms < end ? now + limit_ms : end;
	dl->shielded = 1;
	dl->shield_armed = 1;
}
