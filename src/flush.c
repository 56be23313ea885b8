/* Queue flushing: see flush.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "deadline.h"
#include "deliver.h"
#include "err.h"
#include "flush.h"
#include "log.h"
#include "msg.h"
#include "queue.h"
#include "session.h"
#include "xmalloc.h"

#define FAILED_DIR	"failed"
#define LOCK_FILE	".lock"
#define STALE_TMP_S	(2L * 86400)	/* > the longest --timeout */
#define MAX_CONN_FAILURES 3	/* consecutive, before giving up */

struct flush {
	const struct options *o;
	const char *dir;
	int dirfd;
	int failfd;		/* DIR/failed, opened when first needed */
	const char *self_name;
	struct deadline *dl;
	struct session *ss;
	struct slot *pend;	/* sent; its outcome is still to come */
	unsigned on_conn;	/* messages tried on this connection */
	int conn_failures;	/* consecutive messages lost to the link */
	unsigned attempted, sent, deferred, failed, expired, partial;
	unsigned requeued;	/* partial deliveries queued again */
	struct err perm;	/* the first permanent failure */
	struct err conn;	/* the first non-temporary link failure */
	struct err stop;	/* why the flush ended early */
	unsigned unsynced;	/* removals the directory has not synced */
	int64_t synced_ms;	/* when it last did */
};

/* One report line on standard output: "sent NAME: detail". */
static void
report(struct flush *f, const char *what, const char *name,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
report(struct flush *f, const char *what, const char *name,
    const char *fmt, ...)
{
	char safe[256], detail[1024];
	va_list ap;

	if (f->o->quiet && strcmp(what, "sent") == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	printf("%s %s: %s\n", what, printable(safe, sizeof(safe), name,
	    strlen(name)), detail);
	fflush(stdout);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A ".tmp-" file this old was left by a crash: nobody will finish it. */
static void
remove_stale(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && time(NULL) - st.st_mtime > STALE_TMP_S)
		unlinkat(dirfd, name, 0);
}

/* The queued files, oldest (smallest name) first. */
static char **
list_queue(struct flush *f, size_t *n)
{
	struct dirent *de;
	char **v = NULL;
	size_t len, cap = 0;
	DIR *d;
	int fd;

	*n = 0;
	if ((fd = dup(f->dirfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		err_set(&f->stop, E_OSERR, "flush %s: %s", f->dir,
		    strerror(errno));
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, QUEUE_TMP_PREFIX,
		    strlen(QUEUE_TMP_PREFIX)) == 0)
			remove_stale(f->dirfd, de->d_name);
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len <= strlen(QUEUE_SUFFIX) ||
		    strcmp(de->d_name + len - strlen(QUEUE_SUFFIX),
		    QUEUE_SUFFIX) != 0 || (de->d_type != DT_REG &&
		    de->d_type != DT_UNKNOWN))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xreallocarray(v, cap, sizeof(*v));
		}
		v[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), by_name);
	return v;
}

static int
failed_dir(struct flush *f, struct err *e)
{
	if (f->failfd >= 0)
		return f->failfd;
	if (mkdirat(f->dirfd, FAILED_DIR, 0700) < 0 && errno != EEXIST)
		return err_set(e, E_CANTCREAT, "%s/%s: %s", f->dir,
		    FAILED_DIR, strerror(errno));
	f->failfd = openat(f->dirfd, FAILED_DIR, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);
	if (f->failfd < 0)
		return err_set(e, E_CANTCREAT, "%s/%s: %s", f->dir,
		    FAILED_DIR, strerror(errno));
	return f->failfd;
}

/* "NAME.reason" beside failed/NAME.eml: why, when, and the status. */
static int
write_reason(struct flush *f, const char *name, const struct err *why,
    struct err *e)
{
	char rname[QUEUE_NAME_MAX + 256], text[2048], date[64];
	size_t base = strlen(name) - strlen(QUEUE_SUFFIX);
	int n;

	snprintf(rname, sizeof(rname), "%.*s.reason", (int)base, name);
	msg_date(date, sizeof(date));
	n = snprintf(text, sizeof(text), "Reason: %s\nStatus: %d\n"
	    "Failed: %s\n", why->msg, err_exit_code(why->kind), date);
	if (n < 0 || (size_t)n >= sizeof(text))
		n = (int)strlen(text);
	return queue_write_file(f->failfd, f->dir, rname, text, (size_t)n,
	    e);
}

/*
 * Give up on a message: the reason first, then the file itself moves to
 * failed/ (a crash in between leaves the message queued, not lost).
 */
static void
give_up(struct flush *f, const char *name, const struct err *why,
    const char *label)
{
	struct err e;

	err_init(&e);
	if (failed_dir(f, &e) < 0 || write_reason(f, name, why, &e) < 0 ||
	    renameat(f->dirfd, name, f->failfd, name) < 0) {
		if (e.kind == E_OK)
			err_set(&e, E_CANTCREAT, "cannot move %s to %s/%s: %s",
			    name, f->dir, FAILED_DIR, strerror(errno));
		report(f, "deferred", name, "%s; and: %s", why->msg, e.msg);
		f->deferred++;
		err_set(&f->stop, e.kind, "%s", e.msg);
		return;
	}
	fsync(f->failfd);
	fsync(f->dirfd);
	report(f, label, name, "%s (moved to %s/)", why->msg, FAILED_DIR);
	if (strcmp(label, "expired") == 0)
		f->expired++;
	else
		f->failed++;
	err_set(&f->perm, why->kind, "%s", why->msg);
}

/*
 * Make the removals of delivered files durable.  Not after every file:
 * an fsync of the directory costs milliseconds, more than sending a
 * small message.  A removal the kernel has seen survives the process
 * being killed; only a crash of the whole system within the last second
 * (or 256 messages) can undo it, and then those messages are sent again
 * -- a duplicate, never a loss.
 */
static void
sync_removals(struct flush *f, int now)
{
	int64_t t = now_ms();

	if (f->unsynced == 0 || (!now && f->unsynced < 256 &&
	    t - f->synced_ms < 1000))
		return;
	fsync(f->dirfd);
	f->unsynced = 0;
	f->synced_ms = t;
}

/* Delivered: only now does the file go. */
static int
remove_sent(struct flush *f, const char *name)
{
	if (unlinkat(f->dirfd, name, 0) < 0) {
		report(f, "error", name, "delivered, but it cannot be removed "
		    "(%s) and would be sent again", strerror(errno));
		err_set(&f->stop, E_CANTCREAT, "flush %s: cannot remove %s: "
		    "%s", f->dir, name, strerror(errno));
		return -1;
	}
	f->unsynced++;
	sync_removals(f, 0);
	return 0;
}

static void
delivered(struct flush *f, const char *name, const struct session_msg *sm)
{
	if (remove_sent(f, name) < 0)
		return;
	report(f, "sent", name, "%zu recipient%s: %s", sm->naccepted,
	    sm->naccepted == 1 ? "" : "s", sm->reply);
	f->sent++;
}

/*
 * --on-rcpt-reject continue, and some recipients were refused: those
 * refused for good get a copy in failed/, those refused for now a copy in
 * the queue (keeping the original time for --max-age), and only then
 * does the original go.  The others, if any, have the message.
 */
static void
split(struct flush *f, struct qmsg *qm, const char *name,
    const struct session_msg *sm)
{
	const struct mailbox **v = xcalloc(sm->nrcpt, sizeof(*v));
	char pname[QUEUE_NAME_MAX] = "", tname[QUEUE_NAME_MAX] = "";
	struct err e, why;
	size_t i, np = 0, nt = 0;

	err_init(&e);
	err_init(&why);
	for (i = 0; i < sm->nrcpt; i++) {
		if (sm->rcpt[i].kind == E_OK || sm->rcpt[i].kind == E_TEMPFAIL)
			continue;
		v[np++] = sm->rcpt[i].mb;
		if (why.kind == E_OK)
			err_set(&why, sm->rcpt[i].kind, "RCPT: %s",
			    sm->rcpt[i].reply);
	}
	if (np > 0 && (failed_dir(f, &e) < 0 || queue_copy(qm, f->failfd,
	    f->dir, v, np, 1, pname, &e) < 0 || write_reason(f, pname, &why,
	    &e) < 0))
		goto fail;
	for (i = 0; i < sm->nrcpt; i++)
		if (sm->rcpt[i].kind == E_TEMPFAIL)
			v[nt++] = sm->rcpt[i].mb;
	if (nt > 0 && queue_copy(qm, f->dirfd, f->dir, v, nt, 1, tname,
	    &e) < 0)
		goto fail;
	free(v);
	if (remove_sent(f, name) < 0)
		return;
	if (np > 0)
		err_set(&f->perm, why.kind, "%s", why.msg);
	f->requeued += nt > 0;
	if (sm->naccepted > 0)
		f->partial++;
	else
		f->failed++;
	report(f, sm->naccepted ? "partial" : "failed", name, "accepted for "
	    "%zu of %zu recipients%s%s%s%s%s%s", sm->naccepted, sm->nrcpt,
	    sm->naccepted ? ": " : "", sm->reply, np ? "; refused for "
	    "good: " FAILED_DIR "/" : "", pname, nt ? "; refused for now: "
	    "queued again as " : "", tname);
	return;
fail:
	free(v);
	report(f, "deferred", name, "%s", e.msg);
	f->deferred++;
	err_set(&f->stop, e.kind, "%s", e.msg);
}

/* A connection that does not exist or cannot go on is set up anew. */
static int
connect_if_needed(struct flush *f, const char *name, struct err *e)
{
	if (f->ss != NULL && session_usable(f->ss) &&
	    session_reset(f->ss, e) == 0)
		return 0;
	if (f->ss != NULL) {
		session_close(f->ss, e);
		err_init(e);
	}
	f->on_conn = 0;
	if (session_open(&f->ss, f->o, f->self_name, f->dl, e) == 0) {
		session_overlap(f->ss);
		return 0;
	}
	report(f, "deferred", name, "%s", e->msg);
	f->deferred++;
	session_close(f->ss, e);
	f->ss = NULL;
	err_set(&f->stop, e->kind, "%s", e->msg);
	return -1;
}

/* The message could not go now; and the link, is it still fit? */
static void
not_sent(struct flush *f, const char *name, const struct session_msg *sm,
    const struct err *e)
{
	int kind = e->kind;

	/*
	 * Refused for good: by the server (the kinds its 5xx replies and
	 * their enhanced status codes map to), or by the pre-flight against
	 * its extensions, before MAIL.
	 */
	if (kind == E_NOUSER || kind == E_UNAVAIL || kind == E_DATA ||
	    kind == E_NOPERM) {
		give_up(f, name, e, "failed");
		f->conn_failures = 0;
		return;
	}
	report(f, "deferred", name, "%s%s", e->msg, sm->dot_sent ?
	    " (the server may have it already)" : "");
	f->deferred++;
	if (f->ss != NULL && session_usable(f->ss)) {
		f->conn_failures = 0;
		return;
	}
	if (kind != E_TEMPFAIL)
		err_set(&f->conn, e->kind, "%s", e->msg);
	if (++f->conn_failures >= MAX_CONN_FAILURES)
		err_set(&f->stop, e->kind, "%s (giving up after %d failed "
		    "connections)", e->msg, MAX_CONN_FAILURES);
}

/*
 * One queued message on its way.  It lives until its outcome is known,
 * which with overlapping transactions is after the next message went
 * out.
 */
struct slot {
	const char *name;
	struct qmsg qm;
	struct session_msg sm;
	unsigned nth;		/* its place on the connection */
	int retry;		/* this is the second attempt */
};

static void
slot_free(struct slot *s)
{
	deliver_msg_release(&s->sm);
	qmsg_close(&s->qm);
	free(s);
}

/*
 * What the outcome of a message means for the queue; the slot is freed,
 * unless 1 is returned: the link failed before the message was complete
 * on a connection that had already carried messages.  The server most
 * likely dropped an idle or spent link (421, a limit on messages per
 * connection), and the message deserves a fresh one.
 */
static int
settle(struct flush *f, struct slot *s, int rc, const struct err *e)
{
	struct session_msg *sm = &s->sm;

	if (rc == 0) {
		f->conn_failures = 0;
		if (sm->naccepted == sm->nrcpt)
			delivered(f, s->name, sm);
		else
			split(f, &s->qm, s->name, sm);
	} else if (f->o->rcpt_continue && session_refused_all(sm) &&
	    e->kind != E_TEMPFAIL) {
		split(f, &s->qm, s->name, sm);
	} else if (!s->retry && !sm->dot_sent && s->nth > 1 &&
	    (f->ss == NULL || !session_usable(f->ss)) &&
	    !deadline_cancelled(f->dl) && e->kind == E_TEMPFAIL) {
		log_info("%s: %s; trying again on a new connection", s->name,
		    e->msg);
		return 1;
	} else {
		not_sent(f, s->name, sm, e);
	}
	slot_free(s);
	return 0;
}

/*
 * Send one message.  Its outcome may have to wait for the next message
 * (f->pend); the outcome of the one before, if it was waiting, comes
 * with this send and is dealt with first.
 */
static void
send_slot(struct flush *f, struct slot *s, int retry)
{
	struct slot *prev, *again[2];
	struct err e;
	size_t nagain = 0, i;
	int rc;

	err_init(&e);
	s->retry = retry;
	if (connect_if_needed(f, s->name, &e) < 0) {
		slot_free(s);
		return;
	}
	s->nth = ++f->on_conn;
	deliver_msg_release(&s->sm);
	deliver_msg_init(&s->sm, &s->qm);
	rc = session_send(f->ss, &s->sm, &e);
	if ((prev = f->pend) != NULL && !prev->sm.pending) {
		f->pend = NULL;
		if (settle(f, prev, prev->sm.result, &prev->sm.outcome))
			again[nagain++] = prev;
	}
	if (rc == 1)
		f->pend = s;
	else if (settle(f, s, rc, &e))
		again[nagain++] = s;
	if (!session_usable(f->ss)) {
		session_close(f->ss, &e);
		f->ss = NULL;
	}
	for (i = 0; i < nagain; i++)
		send_slot(f, again[i], 1);
}

/* --timeout is per message; so is the watchdog. */
static void
restart_clock(struct flush *f)
{
	deadline_rearm(f->dl, (int64_t)f->o->timeout_s * 1000);
	alarm((unsigned)f->o->timeout_s + 1);
}

/* The last message's outcome, when it was left waiting. */
static void
settle_pending(struct flush *f)
{
	struct slot *s;

	if (f->pend != NULL)
		restart_clock(f);
	while ((s = f->pend) != NULL) {
		f->pend = NULL;
		session_collect(f->ss);
		if (settle(f, s, s->sm.result, &s->sm.outcome))
			send_slot(f, s, 1);
	}
}

static void
flush_one(struct flush *f, const char *name)
{
	struct slot *s = xcalloc(1, sizeof(*s));
	struct err e;
	struct timespec now;
	long age;

	err_init(&e);
	s->name = name;
	f->attempted++;
	if (qmsg_open(&s->qm, f->dirfd, name, &e) < 0) {
		if (e.kind == E_DATA)
			give_up(f, name, &e, "failed");
		else if (e.kind != E_NOINPUT) {
			report(f, "deferred", name, "%s", e.msg);
			f->deferred++;
		}	/* else gone meanwhile: someone else's doing */
		slot_free(s);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	age = (long)(now.tv_sec - s->qm.mtime.tv_sec);
	if (age > f->o->max_age_s) {
		err_set(&e, E_UNAVAIL, "expired: queued %ld h ago, longer "
		    "than --max-age (%ld h)", age / 3600, f->o->max_age_s /
		    3600);
		give_up(f, name, &e, "expired");
		slot_free(s);
		return;
	}
	send_slot(f, s, 0);
}

static int
lock_queue(struct flush *f, struct err *e)
{
	int fd;

	fd = openat(f->dirfd, LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(e, E_CANTCREAT, "flush %s: %s: %s", f->dir,
		    LOCK_FILE, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err_set(e, errno == EWOULDBLOCK ? E_TEMPFAIL : E_OSERR,
		    "flush %s: %s", f->dir, errno == EWOULDBLOCK ? "another "
		    "smtpsend --flush is working on this queue" :
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;	/* held until the process closes it or exits */
}

/* The exit status rule of flush.h, and one closing line. */
static int
outcome(struct flush *f, size_t total, struct err *e)
{
	unsigned gave_up = f->failed + f->expired + f->partial;
	unsigned left = f->deferred + f->requeued + ((unsigned)total -
	    f->attempted);

	if (!f->o->quiet || f->deferred + f->failed + f->expired > 0)
		printf("flush %s: %u sent, %u partly sent, %u deferred, %u "
		    "failed, %u expired; %u left in the queue\n", f->dir,
		    f->sent, f->partial, f->deferred, f->failed, f->expired,
		    left);
	fflush(stdout);
	if (f->perm.kind != E_OK)
		return err_set(e, f->perm.kind, "flush %s: %u message%s "
		    "refused for good (see %s/%s/): %s", f->dir, gave_up,
		    gave_up == 1 ? "" : "s", f->dir, FAILED_DIR, f->perm.msg);
	if (f->stop.kind != E_OK && f->stop.kind != E_TEMPFAIL)
		return err_set(e, f->stop.kind, "%s", f->stop.msg);
	if (f->conn.kind != E_OK)
		return err_set(e, f->conn.kind, "%s", f->conn.msg);
	if (left > 0)
		return err_set(e, E_TEMPFAIL, "flush %s: %u message%s left "
		    "for a later try%s%s", f->dir, left, left == 1 ? "" : "s",
		    f->stop.kind != E_OK ? ": " : "", f->stop.msg);
	return 0;
}

int
flush_run(const struct options *o, const char *self_name,
    struct deadline *dl, struct err *e)
{
	struct flush f;
	struct err ok;
	char **names;
	size_t n = 0, i;
	int lockfd, rc;

	memset(&f, 0, sizeof(f));
	f.o = o;
	f.dir = o->flush_dir;
	f.failfd = -1;
	f.self_name = self_name;
	f.dl = dl;
	f.synced_ms = now_ms();
	err_init(&f.perm);
	err_init(&f.conn);
	err_init(&f.stop);
	if ((f.dirfd = queue_dir_open(f.dir, "--flush", e)) < 0)
		return -1;
	if ((lockfd = lock_queue(&f, e)) < 0) {
		close(f.dirfd);
		return -1;
	}
	names = list_queue(&f, &n);
	for (i = 0; i < n; i++) {
		if (deadline_cancelled(dl))
			err_set(&f.stop, E_TEMPFAIL, "interrupted by a signal");
		if (f.stop.kind != E_OK)
			break;
		restart_clock(&f);
		flush_one(&f, names[i]);
	}
	settle_pending(&f);
	err_init(&ok);
	session_close(f.ss, &ok);
	sync_removals(&f, 1);
	rc = outcome(&f, n, e);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (f.failfd >= 0)
		close(f.failfd);
	close(lockfd);
	close(f.dirfd);
	return rc;
}
