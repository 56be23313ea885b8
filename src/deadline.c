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
	dl->start_ms = now_ms();
	dl->end_ms = dl->start_ms + total_ms;
	dl->phase_end_ms = dl->end_ms;
	dl->phase_limit_ms = total_ms;
	dl->phase = "start";
}

void
deadline_phase(struct deadline *dl, const char *phase, int64_t limit_ms)
{
	int64_t now = now_ms();

	dl->phase = phase;
	dl->phase_limit_ms = limit_ms;
	dl->phase_end_ms = now + limit_ms < dl->end_ms ? now + limit_ms :
	    dl->end_ms;
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

int
deadline_wait(int fd, short events, const struct deadline *dl,
    struct err *e)
{
	struct pollfd p;
	int64_t left;
	int r;

	for (;;) {
		left = deadline_left_ms(dl);
		if (left <= 0)
			return deadline_expired(dl, e);
		p.fd = fd;
		p.events = events;
		p.revents = 0;
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return p.revents;
		if (r < 0 && errno != EINTR)
			return err_set(e, E_OSERR, "%s: poll: %s", dl->phase,
			    strerror(errno));
	}
}

void
deadline_cleanup(struct deadline *dl, const char *phase, int64_t limit_ms)
{
	int64_t now = now_ms(), end = dl->end_ms + DEADLINE_GRACE_MS;

	dl->phase = phase;
	dl->phase_limit_ms = limit_ms;
	dl->phase_end_ms = now + limit_ms < end ? now + limit_ms : end;
}
