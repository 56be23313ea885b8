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

/* Envelope recipients: To, Cc and Bcc, each address once. */
static const struct mailbox **
recipients(const struct options *o, size_t *n)
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
 * Recipient policy: the message goes to everyone or no one.  A permanent
 * refusal of any recipient wins over temporary ones (retrying cannot
 * help); every refusal is reported on its own line.
 */
static int
rcpt_replies(struct session *ss, const struct mailbox **rcpt, size_t n,
    int pipelined, struct err *e)
{
	struct err first_perm, first_temp, one;
	char *a;
	size_t i;

	err_init(&first_perm);
	err_init(&first_temp);
	for (i = 0; i < n; i++) {
		a = addr_envelope(rcpt[i]);
		phase(ss, RCPT_MS, "RCPT TO:<%s>", a);
		free(a);
		if (!pipelined && (smtp_cmd(&ss->smtp, e, "%s", ss->phase) <
		    0 || smtp_flush(&ss->smtp, e) < 0))
			return -1;
		err_init(&one);
		if (smtp_read_reply(&ss->smtp, &ss->reply, e) < 0)
			return -1;
		if (check_reply(ss, 250, 1, &one) == 0)
			continue;
		if (one.kind == E_PROTOCOL)
			return err_set(e, one.kind, "%s", one.msg);
		if (first_perm.kind == E_OK && one.kind != E_TEMPFAIL)
			first_perm = one;
		else if (first_temp.kind == E_OK && one.kind == E_TEMPFAIL)
			first_temp = one;
		else
			log_error("%s", one.msg);
	}
	if (first_perm.kind != E_OK && first_temp.kind != E_OK)
		log_error("%s", first_temp.msg);
	if (first_perm.kind != E_OK)
		return err_set(e, first_perm.kind, "%s", first_perm.msg);
	if (first_temp.kind != E_OK)
		return err_set(e, first_temp.kind, "%s", first_temp.msg);
	return 0;
}

/*
 * MAIL and every RCPT leave in one write when the server pipelines (RFC
 * 2920); DATA waits for the recipients' answers, so that a refused
 * recipient never leaves a half-sent transaction behind.
 */
static int
envelope(struct session *ss, const struct mailbox *sender, int eightbit,
    struct err *e)
{
	const struct mailbox **rcpt;
	int pipelined = (ss->smtp.caps.flags & CAP_PIPELINING) != 0, rc = -1;
	char *from = addr_envelope(sender), *a;
	size_t n, i;

	rcpt = recipients(ss->o, &n);
	phase(ss, MAIL_MS, "MAIL FROM:<%s>", from);
	if (smtp_cmd(&ss->smtp, e, "%s%s", ss->phase, eightbit ?
	    " BODY=8BITMIME" : "") < 0)
		goto out;
	for (i = 0; pipelined && i < n; i++) {
		a = addr_envelope(rcpt[i]);
		rc = smtp_cmd(&ss->smtp, e, "RCPT TO:<%s>", a);
		free(a);
		if (rc < 0)
			goto out;
	}
	rc = -1;
	phase(ss, MAIL_MS, "MAIL FROM:<%s>", from);
	if (smtp_flush(&ss->smtp, e) < 0)
		goto out;
	if (expect(ss, 250, 0, e) < 0) {
		/* Pipelined RCPTs still get (refusing) answers: drain them. */
		for (i = 0; pipelined && i < n; i++)
			if (smtp_read_reply(&ss->smtp, &ss->reply, e) < 0)
				break;
		goto out;
	}
	rc = rcpt_replies(ss, rcpt, n, pipelined, e);
out:
	free(from);
	free(rcpt);
	return rc;
}

/* DATA, the message itself, and the final dot (RFC 5321 section 4.1.1.4). */
static int
data(struct session *ss, struct msg *m, struct err *e)
{
	struct smtp_data d;
	const char *p;
	size_t n;
	char summary[1024];

	phase(ss, DATA_MS, "DATA");
	if (smtp_cmd(&ss->smtp, e, "DATA") < 0 ||
	    smtp_flush(&ss->smtp, e) < 0 || expect(ss, 354, 0, e) < 0)
		return -1;
	/* From here until the final dot, QUIT would be message text. */
	ss->no_quit = 1;
	smtp_data_init(&d);
	for (;;) {
		phase(ss, BLOCK_MS, "sending the message");
		if (msg_read(m, &p, &n, e) < 0 ||
		    (n > 0 && smtp_data_write(&ss->smtp, &d, p, n, e) < 0))
			return -1;	/* no final dot: nothing is delivered */
		if (n == 0)
			break;
	}
	log_proto("-->", "(message sent)", 14);
	phase(ss, DOT_MS, "end of data");
	if (smtp_data_end(&ss->smtp, &d, e) < 0 || expect(ss, 250, 0, e) < 0)
		return -1;
	ss->no_quit = 0;
	log_info("accepted: %s", smtp_reply_summary(&ss->reply, summary,
	    sizeof(summary)));
	return 0;
}

/*
 * QUIT and close; failures here no longer change the outcome.  After a
 * timeout the server is not answering: close at once instead of waiting
 * for a 221 that will not come.
 */
static void
finish(struct session *ss, const struct err *outcome)
{
	struct err ignored;

	if (!ss->connected)
		return;
	if (outcome->timed_out)
		ss->no_quit = 1;
	err_init(&ignored);
	deadline_cleanup(ss->dl, "QUIT", QUIT_MS);
	if (!ss->no_quit && smtp_cmd(&ss->smtp, &ignored, "QUIT") == 0 &&
	    smtp_flush(&ss->smtp, &ignored) == 0)
		smtp_read_reply(&ss->smtp, &ss->reply, &ignored);
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

int
session_run(const struct options *o, const struct msg_spec *spec,
    const struct mailbox *sender, struct spool *body, const char *self_name,
    struct deadline *dl, struct err *e)
{
	struct session ss;
	struct msg m;
	int rc = -1, opened = 0;

	(void)body;	/* the message's parts are all in spec */
	memset(&ss, 0, sizeof(ss));
	ss.o = o;
	ss.dl = dl;
	ss.conn = xmalloc(sizeof(*ss.conn));
	smtp_reply_init(&ss.reply);

	if (resolve_and_connect(&ss, e) < 0 ||
	    choose_helo(&ss, self_name, e) < 0)
		goto out;
	if ((o->tls == TLS_IMPLICIT || (o->tls == TLS_AUTO && o->port == 465))
	    && start_tls(&ss, e) < 0)
		goto out;
	if (greeting(&ss, e) < 0 || ehlo(&ss, e) < 0 ||
	    negotiate_tls(&ss, e) < 0)
		goto out;
	/* The encodings depend on the server: 8bit only with 8BITMIME. */
	if (msg_open(&m, spec, ss.smtp.caps.flags & CAP_8BITMIME, e) < 0)
		goto out;
	opened = 1;
	if (envelope(&ss, sender, msg_is_8bit(&m), e) < 0 ||
	    data(&ss, &m, e) < 0)
		goto out;
	rc = 0;
out:
	if (opened)
		msg_close(&m);
	finish(&ss, e);
	tls_ctx_free(ss.tls_ctx);
	smtp_reply_release(&ss.reply);
	free(ss.verify_name);
	free(ss.conn);
	return rc;
}
