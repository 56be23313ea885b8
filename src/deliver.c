/* Pickup directory and queue-on-failure delivery: see deliver.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "deadline.h"
#include "deliver.h"
#include "err.h"
#include "log.h"
#include "msg.h"
#include "queue.h"
#include "session.h"
#include "smtp.h"
#include "xmalloc.h"

/*
 * Compose for a file: 7-bit safe when that can be done (quoted-printable
 * for 8-bit text), because whoever picks the file up, and whatever
 * server a later --flush reaches, may lack 8BITMIME (RFC 6152).  A whole
 * message given as input that cannot be re-encoded (8-bit header fields,
 * an 8-bit multipart body) is kept as it is instead: the server that
 * finally gets it decides (session.c), and nothing is lost meanwhile.
 */
static int
compose_for_file(struct msg *m, const struct msg_spec *spec, struct err *e)
{
	struct err first;

	err_init(&first);
	if (msg_open(m, spec, 0, &first) == 0)
		return 0;
	if (spec->raw == NULL || first.kind != E_DATA) {
		*e = first;
		return -1;
	}
	return msg_open(m, spec, 1, e);
}

/* The message as the composer makes it, after its envelope. */
static int
compose_into(struct qfile *q, const struct msg_spec *spec,
    const struct mailbox *sender, const struct mailbox *const *rcpt,
    size_t n, struct deadline *dl, struct err *e)
{
	struct msg m;
	const char *p;
	size_t len;
	int rc = -1;

	if (qfile_envelope(q, sender, rcpt, n, e) < 0 ||
	    compose_for_file(&m, spec, e) < 0)
		return -1;
	for (;;) {
		if (deadline_check(dl, e) < 0 || msg_read(&m, &p, &len, e) < 0)
			break;
		if (len == 0) {
			rc = 0;
			break;
		}
		if (qfile_write(q, p, len, e) < 0)
			break;
	}
	msg_close(&m);
	return rc;
}

int
deliver_pickup(const struct options *o, const struct msg_spec *spec,
    const struct mailbox *sender, struct deadline *dl, struct err *e)
{
	const struct mailbox **rcpt;
	struct qfile q;
	size_t n;
	int dirfd, rc = -1;

	dirfd = queue_dir_open(o->pickup_dir, "--pickup-dir", e);
	if (dirfd < 0)
		return -1;
	rcpt = session_recipients(o, &n);
	if (qfile_create(&q, dirfd, o->pickup_dir, e) == 0) {
		if (compose_into(&q, spec, sender, rcpt, n, dl, e) == 0 &&
		    qfile_commit(&q, e) == 0) {
			log_info("written to %s/%s", o->pickup_dir, q.name);
			rc = 0;
		}
		qfile_discard(&q);
	}
	free(rcpt);
	close(dirfd);
	return rc;
}

/*
 * A queued file as a session_msg source: a finished message, sent as it
 * is, so the rules are those of whole-message input.  Its 8-bit octets
 * need 8BITMIME or SMTPUTF8 and a header with UTF-8 in it asks for
 * SMTPUTF8 (RFC 6152, RFC 6532; session.c decides), and it cannot be
 * re-encoded to fit: no line may be over the limit of RFC 5321 section
 * 4.5.3.1.6.
 */
static int
queued_prepare(void *ctx, unsigned caps, int utf8,
    struct session_content *c, struct err *e)
{
	struct qmsg *m = ctx;

	(void)caps;
	(void)utf8;
	if (m->max_line > SMTP_TEXT_LINE_MAX)
		return err_set(e, E_DATA, "%s: a line longer than %d octets",
		    m->name, SMTP_TEXT_LINE_MAX);
	c->eightbit = m->has_8bit;
	c->size_floor = m->wire_size;
	c->floor_exact = 1;
	c->enc = m->has_8bit ? "8bit (as queued)" : "7bit (as queued)";
	qmsg_rewind(m);
	return 0;
}

/* The size is known from the scan at qmsg_open() (RFC 1870). */
static int
queued_size(void *ctx, unsigned long long *n, struct err *e)
{
	struct qmsg *m = ctx;

	(void)e;
	*n = m->wire_size;
	return 0;
}

/* Files are never written with binary parts (compose_for_file). */
static int
queued_read(void *ctx, const char **p, size_t *n, int *binary,
    struct err *e)
{
	*binary = 0;
	return qmsg_read(ctx, p, n, e);
}

void
deliver_msg_init(struct session_msg *sm, struct qmsg *m)
{
	size_t i;

	memset(sm, 0, sizeof(*sm));
	sm->sender = &m->sender;
	sm->nrcpt = m->nrcpt;
	sm->rcpt = xcalloc(m->nrcpt ? m->nrcpt : 1, sizeof(*sm->rcpt));
	for (i = 0; i < m->nrcpt; i++)
		sm->rcpt[i].mb = &m->rcpt[i];
	sm->head_utf8 = m->head_8bit;
	sm->prepare = queued_prepare;
	sm->size = queued_size;
	sm->read = queued_read;
	sm->ctx = m;
}

void
deliver_msg_release(struct session_msg *sm)
{
	free(sm->rcpt);
	sm->rcpt = NULL;
}

/*
 * --on-rcpt-reject continue: recipients refused only for now go back to
 * the queue (a copy with just them), each with one line on stderr; they
 * then count as taken care of.
 */
static void
queue_refused(const struct options *o, struct session_msg *sm,
    struct qmsg *qm, int dirfd, struct err *e)
{
	const struct mailbox **later;
	char name[QUEUE_NAME_MAX], *a;
	size_t i, n = 0;

	later = xcalloc(sm->nrcpt, sizeof(*later));
	for (i = 0; i < sm->nrcpt; i++)
		if (sm->rcpt[i].kind == E_TEMPFAIL)
			later[n++] = sm->rcpt[i].mb;
	if (n > 0 && queue_copy(qm, dirfd, o->queue_dir, later, n, 0, name,
	    e) == 0) {
		for (i = 0; i < sm->nrcpt; i++) {
			if (sm->rcpt[i].kind != E_TEMPFAIL)
				continue;
			a = addr_envelope(sm->rcpt[i].mb);
			log_error("RCPT TO:<%s>: %s; queued as %s/%s for a "
			    "later --flush", a, sm->rcpt[i].reply,
			    o->queue_dir, name);
			free(a);
			sm->rcpt[i].kind = E_OK;
			sm->naccepted++;
		}
	}
	free(later);
}

/* After a failed attempt: keep the whole message if retrying may help. */
static int
keep_after_failure(const struct options *o, struct qfile *q,
    struct deadline *dl, struct err *e)
{
	struct err qe;
	char msg[sizeof(e->msg)];

	if (e->kind != E_TEMPFAIL) {
		qfile_discard(q);
		return -1;
	}
	err_init(&qe);
	if (qfile_commit(q, &qe) < 0) {
		log_error("%s", e->msg);
		*e = qe;
		return -1;
	}
	snprintf(msg, sizeof(msg), "%.700s; queued as %s/%s for a later "
	    "--flush", e->msg, o->queue_dir, q->name);
	/* Interrupted: kept, but the run still reports the interruption. */
	if (deadline_cancelled(dl)) {
		snprintf(e->msg, sizeof(e->msg), "%s", msg);
		return -1;
	}
	log_error("%s", msg);
	err_init(e);
	return 0;
}

static int
send_queued(const struct options *o, struct qfile *q, int dirfd,
    const char *self_name, struct deadline *dl, struct err *e)
{
	struct session *ss;
	struct session_msg sm;
	struct qmsg qm;
	int sent, rc;

	if (qmsg_open(&qm, dirfd, q->tmp, e) < 0) {
		qmsg_close(&qm);
		qfile_discard(q);
		return -1;
	}
	deliver_msg_init(&sm, &qm);
	sent = session_open(&ss, o, self_name, dl, e) == 0 &&
	    session_send(ss, &sm, e) == 0;
	session_close(ss, e);
	if (o->rcpt_continue && (sent || session_refused_all(&sm))) {
		if (!sent)
			err_init(e);
		queue_refused(o, &sm, &qm, dirfd, e);
		qfile_discard(q);
		rc = session_partial(&sm, e) < 0 || e->kind != E_OK ? -1 : 0;
	} else if (sent) {
		qfile_discard(q);
		rc = 0;
	} else {
		rc = keep_after_failure(o, q, dl, e);
	}
	deliver_msg_release(&sm);
	qmsg_close(&qm);
	return rc;
}

int
deliver_queue(const struct options *o, const struct msg_spec *spec,
    const struct mailbox *sender, const char *self_name, struct deadline *dl,
    struct err *e)
{
	const struct mailbox **rcpt;
	struct qfile q;
	size_t n;
	int dirfd, rc = -1;

	dirfd = queue_dir_open(o->queue_dir, "--queue-on-failure", e);
	if (dirfd < 0)
		return -1;
	rcpt = session_recipients(o, &n);
	/* Written first: from here on the message is on disk. */
	if (qfile_create(&q, dirfd, o->queue_dir, e) == 0) {
		if (compose_into(&q, spec, sender, rcpt, n, dl, e) < 0 ||
		    qfile_flush(&q, e) < 0)
			qfile_discard(&q);
		else
			rc = send_queued(o, &q, dirfd, self_name, dl, e);
	}
	free(rcpt);
	close(dirfd);
	return rc;
}
