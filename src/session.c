/* One SMTP session as a straight-line script: see session.h. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "cli.h"
#include "conn.h"
#include "deadline.h"
#include "err.h"
#include "log.h"
#include "msg.h"
#include "net.h"
#include "session.h"
#include "smtp.h"
#include "spool.h"
#include "tls.h"
#include "xmalloc.h"

/* RFC 5321 section 4.5.3.2 limits, each capped by --timeout. */
#define GREETING_MS	300000
#define EHLO_MS		300000
#define STARTTLS_MS	300000
#define MAIL_MS		300000
#define RCPT_MS		300000
#define DATA_MS		120000
#define BLOCK_MS	180000
#define DOT_MS		600000
#define QUIT_MS		2000

struct session {
	const struct options *o;
	struct deadline *dl;
	struct conn *conn;
	struct smtp smtp;
	struct smtp_reply reply;
	struct tls_ctx *tls_ctx;
	char *verify_name;	/* A-label host name or IP literal */
	int host_is_ip;
	int loopback;		/* the connected peer is a loopback address */
	int connected;
	int no_quit;		/* the stream is not fit for a QUIT */
	int broken;		/* the stream cannot carry another command */
	int in_txn;		/* MAIL sent, transaction not finished */
	char helo[300];
	char phase[300];	/* label of the current step, for messages */
};

static void
phase(struct session *ss, int64_t limit_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
phase(struct session *ss, int64_t limit_ms, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ss->phase, sizeof(ss->phase), fmt, ap);
	va_end(ap);
	deadline_phase(ss->dl, ss->phase, limit_ms);
}

/*
 * Judge the reply just read: want is a code (354) or a class (200); any
 * other reply becomes an error naming the phase and quoting the server.
 */
static int
check_reply(struct session *ss, int want, int is_rcpt, struct err *e)
{
	char summary[1024];

	if (ss->reply.code / 100 == want / 100 && (want % 100 == 0 ||
	    ss->reply.code == want))
		return 0;
	smtp_reply_summary(&ss->reply, summary, sizeof(summary));
	e->smtp_code = ss->reply.code;
	if (ss->reply.code / 100 == 2 || ss->reply.code / 100 == 3)
		return err_set(e, E_PROTOCOL, "%s: unexpected reply: %s",
		    ss->phase, summary);
	return err_set(e, err_kind_for_reply(ss->reply.code, is_rcpt),
	    "%s: %s", ss->phase, summary);
}

static int
expect(struct session *ss, int want, int is_rcpt, struct err *e)
{
	if (smtp_read_reply(&ss->smtp, &ss->reply, e) < 0)
		return -1;
	return check_reply(ss, want, is_rcpt, e);
}

static int
resolve_and_connect(struct session *ss, struct err *e)
{
	const struct options *o = ss->o;
	struct net_target t;
	unsigned char ip[sizeof(struct in6_addr)];
	size_t used;
	int fd;

	ss->host_is_ip = inet_pton(AF_INET, o->host, ip) == 1 ||
	    inet_pton(AF_INET6, o->host, ip) == 1;
	if (ss->host_is_ip)
		ss->verify_name = xstrdup(o->host);
	else if (addr_domain_ascii(o->host, "--host", &ss->verify_name, e) < 0)
		return -1;
	phase(ss, 0x7fffffff, "resolve %s", o->host);
	if (net_resolve(ss->verify_name, o->port, o->family, &t, ss->dl,
	    e) < 0)
		return -1;
	phase(ss, 0x7fffffff, "connect to %s port %d", o->host, o->port);
	fd = net_connect(&t, &used, ss->dl, e);
	if (fd >= 0)
		ss->loopback = net_is_loopback(&t.addrs[used]);
	net_target_free(&t);
	if (fd < 0)
		return -1;
	conn_init(ss->conn, fd, ss->dl);
	ss->smtp.conn = ss->conn;
	ss->connected = 1;
	return 0;
}

static int
start_tls(struct session *ss, struct err *e)
{
	struct tls_opts to = { ss->o->cafile, ss->o->insecure };
	struct tls *t;

	if (ss->tls_ctx == NULL && tls_ctx_new(&ss->tls_ctx, &to, e) < 0)
		return -1;
	phase(ss, STARTTLS_MS, "TLS handshake");
	if (tls_start(&t, ss->tls_ctx, ss->conn->fd, ss->verify_name,
	    ss->host_is_ip ? NULL : ss->verify_name, ss->dl, e) < 0) {
		ss->no_quit = 1;	/* the stream is in an unknown state */
		return -1;
	}
	conn_start_tls(ss->conn, t);
	if (ss->o->insecure)
		log_warn("--insecure: the server's certificate was NOT "
		    "verified; anyone on the path could read this session");
	return 0;
}

static int
greeting(struct session *ss, struct err *e)
{
	phase(ss, GREETING_MS, "greeting");
	return expect(ss, 220, 0, e);
}

/* EHLO, falling back to HELO when the server does not know it. */
static int
ehlo(struct session *ss, struct err *e)
{
	phase(ss, EHLO_MS, "EHLO");
	if (smtp_cmd(&ss->smtp, e, "EHLO %s", ss->helo) < 0 ||
	    smtp_flush(&ss->smtp, e) < 0 ||
	    smtp_read_reply(&ss->smtp, &ss->reply, e) < 0)
		return -1;
	if (ss->reply.code == 250) {
		smtp_parse_ehlo(&ss->smtp.caps, &ss->reply);
		return 0;
	}
	if (ss->reply.code / 100 != 5)
		return check_reply(ss, 250, 0, e);
	memset(&ss->smtp.caps, 0, sizeof(ss->smtp.caps));
	phase(ss, EHLO_MS, "HELO");
	if (smtp_cmd(&ss->smtp, e, "HELO %s", ss->helo) < 0 ||
	    smtp_flush(&ss->smtp, e) < 0)
		return -1;
	return expect(ss, 250, 0, e);
}

/* RFC 3207: STARTTLS, then forget everything learnt in clear. */
static int
starttls(struct session *ss, struct err *e)
{
	phase(ss, STARTTLS_MS, "STARTTLS");
	if (smtp_cmd(&ss->smtp, e, "STARTTLS") < 0 ||
	    smtp_flush(&ss->smtp, e) < 0 || expect(ss, 220, 0, e) < 0)
		return -1;
	/*
	 * Bytes after the 220 arrived in clear and would be read as if they
	 * came through TLS: a response injection attempt (RFC 3207 section
	 * 4.2 and the STARTTLS command injection class of attacks).
	 */
	if (!conn_rbuf_empty(ss->conn)) {
		ss->no_quit = 1;
		return err_set(e, E_PROTOCOL, "STARTTLS: the server sent data "
		    "after its 220 reply, before the TLS handshake (possible "
		    "injection attack); giving up");
	}
	if (start_tls(ss, e) < 0)
		return -1;
	memset(&ss->smtp.caps, 0, sizeof(ss->smtp.caps));
	return ehlo(ss, e);
}

/* TLS policy (design.md section 5). */
static int
negotiate_tls(struct session *ss, struct err *e)
{
	enum tls_mode m = ss->o->tls;
	int required;

	if (m == TLS_NONE || ss->conn->tls != NULL)
		return 0;
	required = m == TLS_STARTTLS || !ss->loopback;
	if (ss->smtp.caps.flags & CAP_STARTTLS)
		return starttls(ss, e);
	if (required)
		return err_set(e, E_UNAVAIL, "STARTTLS: %s does not offer "
		    "STARTTLS and TLS is required%s", ss->o->host,
		    m == TLS_STARTTLS ? "" : " for a remote host (--tls none "
		    "sends in clear)");
	log_info("server does not offer STARTTLS; continuing in clear on "
	    "the loopback interface");
	return 0;
}

static int
same_envelope(const struct mailbox *a, const struct mailbox *b)
{
	return strcmp(a->local, b->local) == 0 &&
	    strcasecmp(a->domain_ascii, b->domain_ascii) == 0;
}

const struct mailbox **
session_recipients(const struct options *o, size_t *n)
{
	const struct mailbox **v, *all[3] = { o->to, o->cc, o->bcc };
	size_t counts[3] = { o->nto, o->ncc, o->nbcc }, i, j, k;

	v = xcalloc(o->nto + o->ncc + o->nbcc, sizeof(*v));
	*n = 0;
	for (i = 0; i < 3; i++) {
		for (j = 0; j < counts[i]; j++) {
			for (k = 0; k < *n; k++)
				if (same_envelope(v[k], &all[i][j]))
					break;
			if (k == *n)
				v[(*n)++] = &all[i][j];
		}
	}
	return v;
}

/*
 * Recipient policy.  By default (--on-rcpt-reject abort) the message goes
 * to everyone or no one: a permanent refusal of any recipient wins over
 * temporary ones (retrying cannot help), and every refusal is reported on
 * its own line.  With continue, the message goes to those accepted; the
 * refusals stay in m->rcpt for the caller to report (session_partial),
 * and when nobody is accepted the error only says so.
 */
static int
rcpt_replies(struct session *ss, struct session_msg *m, int pipelined,
    struct err *e)
{
	struct err first_perm, first_temp, one;
	struct session_rcpt *r;
	char *a;
	size_t i;

	err_init(&first_perm);
	err_init(&first_temp);
	for (i = 0; i < m->nrcpt; i++) {
		r = &m->rcpt[i];
		a = addr_envelope(r->mb);
		phase(ss, RCPT_MS, "RCPT TO:<%s>", a);
		free(a);
		if (!pipelined && (smtp_cmd(&ss->smtp, e, "%s", ss->phase) <
		    0 || smtp_flush(&ss->smtp, e) < 0))
			return -1;
		err_init(&one);
		if (smtp_read_reply(&ss->smtp, &ss->reply, e) < 0)
			return -1;
		if (check_reply(ss, 250, 1, &one) == 0) {
			r->kind = E_OK;
			m->naccepted++;
			continue;
		}
		if (one.kind == E_PROTOCOL)
			return err_set(e, one.kind, "%s", one.msg);
		r->kind = one.kind;
		smtp_reply_summary(&ss->reply, r->reply, sizeof(r->reply));
		if (first_perm.kind == E_OK && one.kind != E_TEMPFAIL)
			first_perm = one;
		else if (first_temp.kind == E_OK && one.kind == E_TEMPFAIL)
			first_temp = one;
		else if (!ss->o->rcpt_continue)
			log_error("%s", one.msg);
	}
	if (ss->o->rcpt_continue && (m->naccepted > 0 || m->nrcpt == 0))
		return 0;
	if (first_perm.kind == E_OK && first_temp.kind == E_OK)
		return 0;
	if (first_perm.kind != E_OK && first_temp.kind != E_OK &&
	    !ss->o->rcpt_continue)
		log_error("%s", first_temp.msg);
	if (first_perm.kind != E_OK)
		first_temp = first_perm;
	e->smtp_code = first_temp.smtp_code;
	if (ss->o->rcpt_continue)
		return err_set(e, first_temp.kind, "no recipient was accepted; "
		    "the message was not sent");
	return err_set(e, first_temp.kind, "%s", first_temp.msg);
}

/*
 * MAIL and every RCPT leave in one write when the server pipelines (RFC
 * 2920); DATA waits for the recipients' answers, so that a refused
 * recipient never leaves a half-sent transaction behind.
 */
static int
envelope(struct session *ss, struct session_msg *m, int eightbit,
    struct err *e)
{
	int pipelined = (ss->smtp.caps.flags & CAP_PIPELINING) != 0, rc = -1;
	char *from = addr_envelope(m->sender), *a;
	size_t i;

	m->naccepted = 0;
	phase(ss, MAIL_MS, "MAIL FROM:<%s>", from);
	if (smtp_cmd(&ss->smtp, e, "%s%s", ss->phase, eightbit ?
	    " BODY=8BITMIME" : "") < 0)
		goto out;
	for (i = 0; pipelined && i < m->nrcpt; i++) {
		a = addr_envelope(m->rcpt[i].mb);
		rc = smtp_cmd(&ss->smtp, e, "RCPT TO:<%s>", a);
		free(a);
		if (rc < 0)
			goto out;
	}
	rc = -1;
	phase(ss, MAIL_MS, "MAIL FROM:<%s>", from);
	ss->in_txn = 1;
	if (smtp_flush(&ss->smtp, e) < 0)
		goto out;
	if (expect(ss, 250, 0, e) < 0) {
		/* Pipelined RCPTs still get (refusing) answers: drain them. */
		for (i = 0; pipelined && i < m->nrcpt; i++)
			if (smtp_read_reply(&ss->smtp, &ss->reply, e) < 0)
				break;
		goto out;
	}
	rc = rcpt_replies(ss, m, pipelined, e);
out:
	free(from);
	return rc;
}

/*
 * The server spoke (or hung up) while the message was still coming: a
 * 421 before closing, or a broken server.  Its transaction state is then
 * unknown, so the final dot stays unsent (RFC 5321 section 4.1.1.4: the
 * reply belongs after the end of data) and this early reply is the
 * verdict.  Returns -1 with the error, or 0 when nothing came.
 */
static int
early_reply(struct session *ss, struct err *e)
{
	if (!conn_readable(ss->conn))
		return 0;
	if (smtp_read_reply(&ss->smtp, &ss->reply, e) < 0)
		return -1;
	if (ss->reply.code / 100 == 4 || ss->reply.code / 100 == 5)
		return check_reply(ss, 250, 0, e);
	e->smtp_code = ss->reply.code;
	return err_set(e, E_PROTOCOL, "%s: the server replied %d before the "
	    "end of the message", ss->phase, ss->reply.code);
}

/* DATA, the message itself, and the final dot (RFC 5321 section 4.1.1.4). */
static int
data(struct session *ss, struct session_msg *m, struct err *e)
{
	struct smtp_data d;
	const char *p;
	size_t n;

	phase(ss, DATA_MS, "DATA");
	if (smtp_cmd(&ss->smtp, e, "DATA") < 0 ||
	    smtp_flush(&ss->smtp, e) < 0 || expect(ss, 354, 0, e) < 0)
		return -1;
	/* From here until the final dot, QUIT would be message text. */
	ss->no_quit = 1;
	smtp_data_init(&d);
	for (;;) {
		phase(ss, BLOCK_MS, "sending the message");
		/* No final dot after a local error or a cancellation. */
		if (deadline_check(ss->dl, e) < 0 ||
		    m->read(m->ctx, &p, &n, e) < 0 ||
		    (n > 0 && smtp_data_write(&ss->smtp, &d, p, n, e) < 0))
			return -1;
		if (n == 0)
			break;
	}
	if (deadline_check(ss->dl, e) < 0 || early_reply(ss, e) < 0)
		return -1;
	log_proto("-->", "(message sent)", 14);
	phase(ss, DOT_MS, "end of data");
	if (smtp_data_end(&ss->smtp, &d, e) < 0)
		return -1;
	/*
	 * The dot is out: a cancellation from now on only shortens the wait
	 * for the verdict, so the caller learns whether the message went.
	 */
	m->dot_sent = 1;
	deadline_shield(ss->dl);
	if (smtp_read_reply(&ss->smtp, &ss->reply, e) < 0)
		return -1;
	ss->no_quit = 0;
	ss->in_txn = 0;
	if (check_reply(ss, 250, 0, e) < 0)
		return -1;
	smtp_reply_summary(&ss->reply, m->reply, sizeof(m->reply));
	log_info("accepted: %s", m->reply);
	return 0;
}

/*
 * QUIT and close; failures here no longer change the outcome, but after
 * a delivery they are worth a warning.  After a timeout the server is
 * not answering: close at once instead of waiting for a 221 that will not
 * come.  After a cancellation the whole of this gets one second.
 */
static void
finish(struct session *ss, const struct err *outcome)
{
	struct err qe;
	char summary[1024];

	if (!ss->connected)
		return;
	if (outcome->timed_out)
		ss->no_quit = 1;
	err_init(&qe);
	deadline_cleanup(ss->dl, "QUIT", QUIT_MS);
	if (!ss->no_quit && smtp_cmd(&ss->smtp, &qe, "QUIT") == 0 &&
	    smtp_flush(&ss->smtp, &qe) == 0 &&
	    smtp_read_reply(&ss->smtp, &ss->reply, &qe) == 0 &&
	    ss->reply.code != 221)
		err_set(&qe, E_PROTOCOL, "QUIT: %s", smtp_reply_summary(
		    &ss->reply, summary, sizeof(summary)));
	/* RFC 5321 section 4.1.1.10: the 221 is the end; nothing is lost. */
	if (qe.kind != E_OK && outcome->kind == E_OK)
		log_warn("%s (after the message was accepted; ignored)",
		    qe.msg);
	conn_close(ss->conn);
	ss->connected = 0;
}

/* The EHLO name: --helo, else this host's FQDN, else an address literal. */
static int
choose_helo(struct session *ss, const char *self_name, struct err *e)
{
	const char *name = ss->o->helo;
	char *ascii = NULL;

	if (name == NULL && self_name != NULL && strchr(self_name, '.') &&
	    strncmp(self_name, "localhost.", 10) != 0)
		name = self_name;
	if (name != NULL) {
		if (addr_domain_ascii(name, "--helo", &ascii, e) < 0)
			return -1;
		snprintf(ss->helo, sizeof(ss->helo), "%s", ascii);
		free(ascii);
		return 0;
	}
	if (net_local_literal(ss->conn->fd, ss->helo, sizeof(ss->helo)) < 0)
		snprintf(ss->helo, sizeof(ss->helo), "[127.0.0.1]");
	return 0;
}

/*
 * The stream is still in step with the server after this error: it was
 * an ordinary refusal (a whole 4xx or 5xx reply, not 421, not inside
 * DATA), so RSET can follow.  Anything else (timeout, lost connection,
 * garbage, 421, a local error mid-DATA) leaves it unusable.
 */
static int
still_in_step(const struct session *ss, const struct err *e)
{
	return ss->connected && !ss->no_quit && e->kind != E_PROTOCOL &&
	    !e->timed_out && e->smtp_code >= 400 && e->smtp_code < 600 &&
	    e->smtp_code != 421 && !deadline_cancelled(ss->dl);
}

int
session_open(struct session **out, const struct options *o,
    const char *self_name, struct deadline *dl, struct err *e)
{
	struct session *ss;

	ss = xcalloc(1, sizeof(*ss));
	ss->o = o;
	ss->dl = dl;
	ss->conn = xmalloc(sizeof(*ss->conn));
	smtp_reply_init(&ss->reply);
	*out = ss;
	if (resolve_and_connect(ss, e) < 0 ||
	    choose_helo(ss, self_name, e) < 0)
		goto fail;
	if ((o->tls == TLS_IMPLICIT || (o->tls == TLS_AUTO && o->port == 465))
	    && start_tls(ss, e) < 0)
		goto fail;
	if (greeting(ss, e) < 0 || ehlo(ss, e) < 0 ||
	    negotiate_tls(ss, e) < 0)
		goto fail;
	/* AUTH (RFC 4954) goes here, once TLS is settled. */
	return 0;
fail:
	ss->broken = 1;
	return -1;
}

int
session_send(struct session *ss, struct session_msg *m, struct err *e)
{
	int eightbit = 0;

	m->naccepted = 0;
	m->dot_sent = 0;
	if (!session_usable(ss))
		return err_set(e, E_SOFTWARE, "session not usable");
	if (m->prepare(m->ctx, ss->smtp.caps.flags, &eightbit, e) < 0)
		return -1;
	if (eightbit && !(ss->smtp.caps.flags & CAP_8BITMIME))
		return err_set(e, E_DATA, "the message has 8-bit content and "
		    "%s does not offer 8BITMIME", ss->o->host);
	if (envelope(ss, m, eightbit, e) < 0 || data(ss, m, e) < 0) {
		if (!still_in_step(ss, e))
			ss->broken = 1;
		return -1;
	}
	return 0;
}

int
session_reset(struct session *ss, struct err *e)
{
	if (!session_usable(ss))
		return err_set(e, E_TEMPFAIL, "RSET: not connected");
	if (!ss->in_txn)
		return 0;
	phase(ss, MAIL_MS, "RSET");
	if (smtp_cmd(&ss->smtp, e, "RSET") < 0 ||
	    smtp_flush(&ss->smtp, e) < 0 || expect(ss, 250, 0, e) < 0) {
		ss->broken = 1;
		return -1;
	}
	ss->in_txn = 0;
	return 0;
}

int
session_usable(const struct session *ss)
{
	return ss->connected && !ss->broken && !ss->no_quit;
}

void
session_close(struct session *ss, const struct err *outcome)
{
	if (ss == NULL)
		return;
	finish(ss, outcome);
	tls_ctx_free(ss->tls_ctx);
	smtp_reply_release(&ss->reply);
	free(ss->verify_name);
	free(ss->conn);
	free(ss);
}

int
session_partial(const struct session_msg *m, struct err *e)
{
	char *a, list[512];
	size_t i, len = 0, nref = 0;
	int perm = 0;

	list[0] = '\0';
	for (i = 0; i < m->nrcpt; i++) {
		if (m->rcpt[i].kind == E_OK)
			continue;
		a = addr_envelope(m->rcpt[i].mb);
		log_error("RCPT TO:<%s>: %s", a, m->rcpt[i].reply);
		if (len < sizeof(list))
			len += (size_t)snprintf(list + len, sizeof(list) - len,
			    "%s<%s>", len ? ", " : "", a);
		free(a);
		perm |= m->rcpt[i].kind != E_TEMPFAIL;
		nref++;
	}
	if (nref == 0)
		return 0;
	if (m->naccepted == 0)
		return err_set(e, perm ? E_NOUSER : E_TEMPFAIL, "no recipient "
		    "was accepted; the message was not sent");
	return err_set(e, E_NOUSER, "partial delivery: the message was "
	    "accepted for %zu of %zu recipients, NOT for %s%s",
	    m->naccepted, m->nrcpt, list, perm ? "" : " (refused for now; "
	    "sending it again would duplicate it for the others)");
}

/* The message composer (msg.c) as a session_msg source. */
struct compose {
	const struct msg_spec *spec;
	struct spool *body;
	struct msg m;
	int open;
};

static int
compose_prepare(void *ctx, unsigned caps, int *eightbit, struct err *e)
{
	struct compose *c = ctx;
	enum body_enc enc;

	enc = msg_choose_encoding(c->body, (caps & CAP_8BITMIME) != 0);
	*eightbit = enc == ENC_8BIT;
	if (c->open)
		msg_close(&c->m);
	c->open = 0;
	if (msg_open(&c->m, c->spec, c->body, enc, e) < 0)
		return -1;
	c->open = 1;
	return 0;
}

static int
compose_read(void *ctx, const char **p, size_t *n, struct err *e)
{
	struct compose *c = ctx;

	return msg_read(&c->m, p, n, e);
}

int
session_run(const struct options *o, const struct msg_spec *spec,
    const struct mailbox *sender, struct spool *body, const char *self_name,
    struct deadline *dl, struct err *e)
{
	struct session *ss;
	struct session_msg m;
	struct compose c;
	const struct mailbox **rcpt;
	size_t n, i;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.spec = spec;
	c.body = body;
	memset(&m, 0, sizeof(m));
	m.sender = sender;
	m.prepare = compose_prepare;
	m.read = compose_read;
	m.ctx = &c;
	rcpt = session_recipients(o, &n);
	m.rcpt = xcalloc(n, sizeof(*m.rcpt));
	m.nrcpt = n;
	for (i = 0; i < n; i++)
		m.rcpt[i].mb = rcpt[i];
	if (session_open(&ss, o, self_name, dl, e) == 0 &&
	    session_send(ss, &m, e) == 0)
		rc = 0;
	if (o->rcpt_continue && session_partial(&m, e) < 0)
		rc = -1;
	session_close(ss, e);
	if (c.open)
		msg_close(&c.m);
	free(m.rcpt);
	free(rcpt);
	return rc;
}
