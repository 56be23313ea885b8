/* One SMTP session as a straight-line script: see session.h. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "buf.h"
#include "cli.h"
#include "conn.h"
#include "creds.h"
#include "deadline.h"
#include "err.h"
#include "log.h"
#include "msg.h"
#include "net.h"
#include "rawmsg.h"
#include "sasl.h"
#include "progress.h"
#include "report.h"
#include "session.h"
#include "smtp.h"
#include "spool.h"
#include "tls.h"
#include "tlscache.h"
#include "xmalloc.h"

/* RFC 5321 section 4.5.3.2 limits, each capped by --timeout. */
#define GREETING_MS	300000
#define GREETING_465_MS	10000
#define EHLO_MS		300000
#define STARTTLS_MS	300000
#define MAIL_MS		300000
#define RCPT_MS		300000
#define DATA_MS		120000
#define BLOCK_MS	180000
#define DOT_MS		600000
#define QUIT_MS		2000
#define AUTH_MS		300000
#define AUTH_ROUNDS_MAX	16	/* more 334s than any mechanism needs */

struct session {
	const struct options *o;
	struct deadline *dl;
	struct conn *conn;
	struct smtp smtp;
	struct smtp_reply reply;
	struct tls_ctx *tls_ctx;
	char *verify_name;	/* A-label host name or IP literal */
	int host_is_ip;
	char *tls_name;		/* name the certificate must carry (SNI) */
	int tls_name_is_ip;
	int loopback;		/* the connected peer is a loopback address */
	int connected;
	int no_quit;		/* the stream is not fit for a QUIT */
	enum err_stage stage;	/* what the reply being judged answers */
	int broken;		/* the stream cannot carry another command */
	int in_txn;		/* MAIL sent, transaction not finished */
	int data_pending;	/* a pipelined DATA awaits its reply */
	int last_message;	/* no transaction follows this one */
	int quit_sent;		/* QUIT went out behind the message */
	/*
	 * Overlapping transactions (session_overlap()): the message whose
	 * reply to the final dot is still due.
	 */
	int overlap;
	struct session_msg *pend;
	int dsn_warned;		/* "no DSN here" was said on this connection */
	/* The current transaction, as the pre-flight decided it. */
	int intl;		/* it uses SMTPUTF8 */
	int eightbit;		/* the message has 8-bit octets */
	int binary;		/* ... and binary parts (BODY=BINARYMIME) */
	int dsn;		/* DSN parameters go on MAIL and RCPT */
	unsigned long long size;	/* message octets (RFC 1870) */
	unsigned long long size_floor;	/* ... or a lower bound of them */
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
	ss->stage = STAGE_OTHER;
	report_phase(ss->o->report, ss->phase);
}

/*
 * Judge the reply just read: want is a code (354) or a class (200); any
 * other reply becomes an error naming the phase and quoting the server.
 * When the server speaks RFC 2034 enhanced status codes, the code is
 * explained in words and may refine the exit status (err_refine()).
 */
static int
check_reply(struct session *ss, int want, int is_rcpt, struct err *e)
{
	const struct smtp_caps *caps = &ss->smtp.caps;
	const char *status = "", *meaning = NULL;
	char summary[1024];
	enum err_kind base, kind;

	report_reply(ss->o->report, ss->phase, ss->reply.code,
	    ss->reply.status, ss->reply.text.data, ss->reply.text.len);
	if (ss->reply.code / 100 == want / 100 && (want % 100 == 0 ||
	    ss->reply.code == want))
		return 0;
	smtp_reply_summary(&ss->reply, summary, sizeof(summary));
	if (caps->flags & CAP_ENHANCEDSTATUSCODES) {
		status = ss->reply.status;
		meaning = smtp_status_text(status);
	}
	if (e->kind == E_OK) {
		e->smtp_code = ss->reply.code;
		snprintf(e->status, sizeof(e->status), "%s", status);
	}
	if (ss->reply.code / 100 == 2 || ss->reply.code / 100 == 3)
		return err_set(e, E_PROTOCOL, "%s: unexpected reply: %s",
		    ss->phase, summary);
	base = err_kind_for_reply(ss->reply.code, is_rcpt);
	kind = err_refine(base, ss->reply.code, status, ss->stage,
	    (caps->flags & CAP_SIZE) != 0);
	/*
	 * Say what the code means when it changed the exit status, or when
	 * the server gave nothing but the code; otherwise its own words do.
	 */
	if (meaning != NULL && (kind != base || ss->reply.text.len ==
	    strlen(status)))
		return err_set(e, kind, "%s: %s (%s: %s)", ss->phase, summary,
		    status, meaning);
	return err_set(e, kind, "%s: %s", ss->phase, summary);
}

/* Make a recorded error the outcome, reply code and status included. */
static int
keep_err(struct err *e, const struct err *from)
{
	if (e->kind != E_OK)
		return -1;
	*e = *from;
	return -1;
}

static int
expect(struct session *ss, int want, int is_rcpt, struct err *e)
{
	if (smtp_read_reply(&ss->smtp, &ss->reply, e) < 0)
		return -1;
	return check_reply(ss, want, is_rcpt, e);
}

/* A name that does not resolve: the likely fixes, in one line. */
static int
explain_resolve(const struct options *o, struct err *e)
{
	if (e->kind == E_NOHOST)
		err_hint(e, "check the spelling of --host %s, or this "
		    "machine's DNS setup in /etc/resolv.conf", o->host);
	else if (!e->timed_out)
		err_hint(e, "the DNS server did not answer: check the network "
		    "and /etc/resolv.conf, then try again");
	return -1;
}

static int
explain_connect(const struct options *o, struct err *e)
{
	if (strstr(e->msg, "refused") != NULL)
		err_hint(e, "nothing listens on port %d of %s: check --port "
		    "(587 for STARTTLS, 465 with --tls implicit) and that the "
		    "server runs", o->port, o->host);
	return -1;
}

/*
 * Port and TLS mode disagree (RFC 8314): an implicit-TLS port waits for
 * our handshake in silence, a plain port greets in clear.  Say which
 * setting fits when the first exchange fails that way.
 */
static int
explain_mode(const struct session *ss, int at_greeting, struct err *e)
{
	const struct options *o = ss->o;

	if (at_greeting && ss->conn->tls == NULL && o->tls != TLS_IMPLICIT &&
	    (e->timed_out || e->kind == E_PROTOCOL || e->kind == E_TEMPFAIL))
		err_hint(e, "no SMTP greeting: if port %d expects implicit "
		    "TLS, as port 465 does, use --tls implicit", o->port);
	else if (o->tls == TLS_IMPLICIT && e->kind == E_PROTOCOL &&
	    strstr(e->msg, "plain text came") != NULL)
		err_hint(e, "port %d speaks plain SMTP first: use --tls "
		    "starttls (or --tls none on a trusted link)", o->port);
	else if (e->kind == E_UNAVAIL && strstr(e->msg, "certificate") !=
	    NULL && strstr(e->msg, "TLS handshake") != NULL &&
	    strstr(e->msg, "OCSP") == NULL)
		err_hint(e, "if the server's CA is private, give it with "
		    "--cafile FILE; if the certificate names another host, "
		    "--tls-servername NAME; --serverinfo shows it");
	return -1;
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
		return explain_resolve(o, e);
	phase(ss, 0x7fffffff, "connect to %s port %d", o->host, o->port);
	fd = net_connect(&t, &used, ss->dl, e);
	if (fd >= 0)
		ss->loopback = net_is_loopback(&t.addrs[used]);
	net_target_free(&t);
	if (fd < 0)
		return explain_connect(o, e);
	conn_init(ss->conn, fd, ss->dl);
	ss->smtp.conn = ss->conn;
	ss->connected = 1;
	return 0;
}

/* The name to verify and send as SNI: --tls-servername, else --host. */
static int
choose_tls_name(struct session *ss, struct err *e)
{
	const char *n = ss->o->tls_servername;
	unsigned char ip[sizeof(struct in6_addr)];

	if (ss->tls_name != NULL)
		return 0;
	if (n == NULL) {
		ss->tls_name = xstrdup(ss->verify_name);
		ss->tls_name_is_ip = ss->host_is_ip;
		return 0;
	}
	ss->tls_name_is_ip = inet_pton(AF_INET, n, ip) == 1 ||
	    inet_pton(AF_INET6, n, ip) == 1;
	if (ss->tls_name_is_ip) {
		ss->tls_name = xstrdup(n);
		return 0;
	}
	return addr_domain_ascii(n, "--tls-servername", &ss->tls_name, e);
}

/*
 * Which saved TLS session belongs to this server, client identity and
 * way of trusting the server: a session saved under other trust settings
 * (another --cafile, other pins) is never offered for resumption.
 */
static char *
cache_key(const struct session *ss)
{
	const struct options *o = ss->o;
	struct buf pins;
	char *key;
	size_t i;

	buf_init(&pins, 64 * 1024);
	for (i = 0; i < o->ntls_pins; i++)
		buf_addf(&pins, "%s,", o->tls_pins[i]);
	buf_addc(&pins, '\0');
	key = xasprintf("smtpsend tls session 2\n%s\n%d\n%s\n%s\n%s\n%s\n%s",
	    ss->verify_name, o->port, ss->tls_name, o->cert ? o->cert : "",
	    o->key ? o->key : "", o->cafile ? o->cafile : "",
	    pins.data ? pins.data : "");
	buf_release(&pins);
	return key;
}

static void
load_tls_session(struct session *ss)
{
	struct buf data;
	char *key;

	if (ss->o->tls_session_cache == NULL)
		return;
	buf_init(&data, TLSCACHE_MAX);
	key = cache_key(ss);
	if (tlscache_load(ss->o->tls_session_cache, key, &data))
		tls_ctx_set_resume(ss->tls_ctx, data.data, data.len);
	else
		tls_ctx_set_resume(ss->tls_ctx, NULL, 0);
	buf_wipe(&data);
	free(key);
}

/* Keep the session for the next run (--tls-session-cache). */
static void
save_tls_session(struct session *ss)
{
	struct buf data;
	struct err ignored;
	char *key;

	if (ss->o->tls_session_cache == NULL || !ss->connected ||
	    ss->conn->tls == NULL)
		return;
	buf_init(&data, TLSCACHE_MAX);
	err_init(&ignored);
	if (tls_session_data(ss->conn->tls, &data) == 0) {
		key = cache_key(ss);
		if (tlscache_store(ss->o->tls_session_cache, key, data.data,
		    data.len, &ignored) < 0)
			log_warn("%s", ignored.msg);
		free(key);
	}
	buf_wipe(&data);
}

static int
start_tls(struct session *ss, struct err *e)
{
	struct tls *t;

	if (creds_tls_ctx(ss->o, ss->o->creds, &ss->tls_ctx, e) < 0 ||
	    choose_tls_name(ss, e) < 0)
		return -1;
	load_tls_session(ss);
	phase(ss, STARTTLS_MS, "TLS handshake");
	if (tls_start(&t, ss->tls_ctx, ss->conn->fd, ss->tls_name,
	    ss->tls_name_is_ip ? NULL : ss->tls_name, ss->dl, e) < 0) {
		ss->no_quit = 1;	/* the stream is in an unknown state */
		return explain_mode(ss, 0, e);
	}
	conn_start_tls(ss->conn, t);
	report_tls(ss->o->report, tls_protocol_name(t), tls_cipher_name(t),
	    tls_resumed(t));
	if (ss->o->tls_session_cache != NULL)
		log_info("TLS session %s", tls_resumed(t) ? "resumed from the "
		    "cache" : "not resumed (full handshake)");
	if (ss->o->insecure)
		log_warn("--insecure: the server's certificate was NOT "
		    "verified; anyone on the path could read this session");
	return 0;
}

/*
 * A TLS 1.3 server that refuses our client certificate (or wanted one)
 * may just hang up after the handshake (RFC 8446 section 4.4.2.4): when
 * the first reply over TLS never comes and the server had asked for a
 * certificate, say so instead of "connection closed".
 */
static int
tls_refusal(struct session *ss, const struct err *first, struct err *e)
{
	if (first->kind == E_TEMPFAIL && !first->timed_out &&
	    ss->conn->tls != NULL && tls_cert_requested(ss->conn->tls))
		return err_set(e, E_NOPERM, "%s: the server closed the "
		    "connection after asking for a client certificate: %s",
		    ss->phase, ss->tls_ctx && tls_ctx_has_cert(ss->tls_ctx) ?
		    "it did not accept ours" : "it requires one (--cert)");
	if (e->kind == E_OK)
		*e = *first;
	return -1;
}

static int
greeting(struct session *ss, struct err *e)
{
	struct err first;

	/* Port 465 is implicit TLS (RFC 8314): no greeting would come. */
	phase(ss, ss->o->port == 465 && ss->o->tls != TLS_IMPLICIT ?
	    GREETING_465_MS : GREETING_MS, "greeting");
	if (ss->conn->tls == NULL)
		return expect(ss, 220, 0, e) == 0 ? 0 : explain_mode(ss, 1, e);
	err_init(&first);
	return expect(ss, 220, 0, &first) == 0 ? 0 :
	    tls_refusal(ss, &first, e);
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
	struct err first;

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
	err_init(&first);
	return ehlo(ss, &first) == 0 ? 0 : tls_refusal(ss, &first, e);
}

/* TLS policy (design.md section 5). */
static int
negotiate_tls(struct session *ss, struct err *e)
{
	enum tls_mode m = ss->o->tls;
	int required;

	if (m == TLS_NONE || ss->conn->tls != NULL)
		return 0;
	required = m == TLS_STARTTLS || !ss->loopback || ss->o->require_tls;
	if (ss->smtp.caps.flags & CAP_STARTTLS)
		return starttls(ss, e);
	if (required)
		return err_set(e, E_UNAVAIL, "STARTTLS: %s does not offer "
		    "STARTTLS and TLS is required%s", ss->o->host,
		    ss->o->require_tls ? " by --require-tls" :
		    m == TLS_STARTTLS ? "" : " for a remote host (--tls none "
		    "sends in clear)");
	log_info("server does not offer STARTTLS; continuing in clear on "
	    "the loopback interface");
	return 0;
}

/* Fill the SASL view of our credentials. */
static void
sasl_creds_of(const struct session *ss, struct sasl_creds *sc)
{
	const struct creds *c = ss->o->creds;

	memset(sc, 0, sizeof(*sc));
	sc->user = c->user;
	sc->password = c->password.data;
	sc->token = c->token.data;
	sc->have_cert = ss->tls_ctx != NULL && tls_ctx_has_cert(ss->tls_ctx);
	sc->service = ss->o->sasl_service;
	sc->host = ss->tls_name ? ss->tls_name : ss->verify_name;
	sc->port = ss->o->port;
}

/* Abandon an exchange half-way (RFC 4954 section 4: a lone "*"). */
static void
auth_cancel(struct session *ss)
{
	struct err ignored;

	err_init(&ignored);
	if (smtp_cmd(&ss->smtp, &ignored, "*") == 0 &&
	    smtp_flush(&ss->smtp, &ignored) == 0)
		smtp_read_reply(&ss->smtp, &ss->reply, &ignored);
}

/* Judge the reply that ends an AUTH exchange. */
static int
auth_outcome(struct session *ss, struct sasl *s, const char *mech,
    struct err *e)
{
	char summary[1024];

	if (ss->reply.code == 235) {
		/* SCRAM, GSSAPI: a 235 before the server's proof is a forgery. */
		if (sasl_mutual(s) && !sasl_finished(s))
			return err_set(e, E_NOPERM, "AUTH %s: the server "
			    "accepted without proving it knows the password",
			    mech);
		report_auth(ss->o->report, mech);
		log_info("authenticated%s%s with %s", ss->o->creds->user ?
		    " as " : "", ss->o->creds->user ? ss->o->creds->user : "",
		    mech);
		return 0;
	}
	smtp_reply_summary(&ss->reply, summary, sizeof(summary));
	e->smtp_code = ss->reply.code;
	if (e->kind == E_OK && (ss->smtp.caps.flags & CAP_ENHANCEDSTATUSCODES))
		snprintf(e->status, sizeof(e->status), "%s", ss->reply.status);
	if (ss->reply.code / 100 == 4)
		return err_set(e, E_TEMPFAIL, "%s: %s", ss->phase, summary);
	if (ss->reply.code / 100 == 5)
		return err_set(e, E_NOPERM, "%s: authentication failed: %s",
		    ss->phase, summary);
	return err_set(e, E_PROTOCOL, "%s: unexpected reply: %s", ss->phase,
	    summary);
}

/*
 * RFC 4954: "AUTH mech [initial-response]", then a 334 challenge and a
 * response line per round until 235 (or a refusal).  Every line we send
 * after the mechanism name goes through smtp_cmd_secret: never shown.
 */
static int
sasl_exchange(struct session *ss, const char *mech,
    const struct sasl_creds *sc, const struct sasl_cb *cb, struct err *e)
{
	struct sasl *s = NULL;
	struct buf msg;
	char shown[64];
	int rc = -1, rounds = 0;

	buf_init(&msg, SASL_MSG_MAX);
	phase(ss, AUTH_MS, "AUTH %s", mech);
	if (sasl_begin(&s, mech, sc, cb, &msg, e) < 0)
		goto out;
	snprintf(shown, sizeof(shown), "AUTH %s ", mech);
	if ((sasl_client_first(mech) ? smtp_cmd_secret(&ss->smtp, shown,
	    msg.data, msg.len, e) : smtp_cmd(&ss->smtp, e, "AUTH %s", mech)) <
	    0 || smtp_flush(&ss->smtp, e) < 0 ||
	    smtp_read_reply(&ss->smtp, &ss->reply, e) < 0)
		goto out;
	while (ss->reply.code == 334) {
		if (++rounds > AUTH_ROUNDS_MAX) {
			err_set(e, E_PROTOCOL, "%s: too many challenges",
			    ss->phase);
			auth_cancel(ss);
			goto out;
		}
		if (sasl_step(s, ss->reply.text.data ? ss->reply.text.data :
		    "", &msg, e) < 0) {
			auth_cancel(ss);
			goto out;
		}
		if (smtp_cmd_secret(&ss->smtp, "", msg.data ? msg.data : "",
		    msg.len, e) < 0 || smtp_flush(&ss->smtp, e) < 0 ||
		    smtp_read_reply(&ss->smtp, &ss->reply, e) < 0)
			goto out;
	}
	rc = auth_outcome(ss, s, mech, e);
out:
	buf_wipe(&msg);
	sasl_end(s);
	/* The write buffer held the credentials: leave nothing behind. */
	explicit_bzero(ss->conn->wbuf, sizeof(ss->conn->wbuf));
	return rc;
}

/*
 * AUTH (RFC 4954) when credentials were asked for.  Never in clear to a
 * host that is not on the loopback interface (design.md section 5).
 */
static int
authenticate(struct session *ss, struct err *e)
{
	const struct creds *c = ss->o->creds;
	unsigned char cbdata[TLS_CB_MAX];
	struct sasl_cb cb = { SASL_CB_NONE, cbdata, 0 };
	struct sasl_creds sc;
	const char *mech;

	if (c == NULL || !c->want_auth)
		return 0;
	phase(ss, AUTH_MS, "AUTH");
	if (ss->conn->tls == NULL && !ss->loopback)
		return err_set(e, E_NOPERM, "AUTH: refusing to send "
		    "credentials to %s over an unencrypted connection; use "
		    "--tls starttls, or --tls implicit (port 465)",
		    ss->o->host);
	if (!(ss->smtp.caps.flags & CAP_AUTH))
		return err_set(e, E_UNAVAIL, "AUTH: %s does not offer "
		    "authentication%s", ss->o->host, ss->conn->tls ? "" :
		    " before TLS (try --tls starttls)");
	if (ss->conn->tls != NULL) {
		switch (tls_channel_binding(ss->conn->tls, cbdata,
		    sizeof(cbdata), &cb.len)) {
		case TLS_CB_UNIQUE:
			cb.type = SASL_CB_TLS_UNIQUE;
			break;
		case TLS_CB_EXPORTER:
			cb.type = SASL_CB_TLS_EXPORTER;
			break;
		case TLS_CB_NONE:
			break;
		}
	}
	sasl_creds_of(ss, &sc);
	if (sasl_choose(ss->smtp.caps.auth, ss->o->auth, &sc,
	    cb.type != SASL_CB_NONE, &mech, e) < 0)
		return -1;
	return sasl_exchange(ss, mech, &sc, &cb, e);
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
 * RFC 8689 section 4.1: --require-tls sends REQUIRETLS, which only a
 * server that offers it over a TLS connection may be given.
 */
static int
check_requiretls(struct session *ss, struct err *e)
{
	if (!ss->o->require_tls)
		return 0;
	if (ss->conn->tls == NULL)
		return err_set(e, E_UNAVAIL, "REQUIRETLS: the connection to %s "
		    "is not encrypted, and --require-tls needs TLS",
		    ss->o->host);
	if (!(ss->smtp.caps.flags & CAP_REQUIRETLS))
		return err_set(e, E_UNAVAIL, "REQUIRETLS: %s does not offer "
		    "the REQUIRETLS extension (RFC 8689) that --require-tls "
		    "asks for; nothing was sent", ss->o->host);
	return 0;
}

/*
 * RFC 3461: DSN parameters may only be sent to a server that offers
 * DSN.  Without it the request is dropped with a warning (once per
 * connection), or, with --dsn-required, the message is not sent at all.
 */
static int
check_dsn(struct session *ss, struct err *e)
{
	ss->dsn = 0;
	if (!options_want_dsn(ss->o))
		return 0;
	if (ss->smtp.caps.flags & CAP_DSN) {
		ss->dsn = 1;
		return 0;
	}
	if (ss->o->dsn_required)
		return err_set(e, E_UNAVAIL, "DSN: %s does not offer delivery "
		    "status notifications (RFC 3461) and --dsn-required was "
		    "given; nothing was sent", ss->o->host);
	if (!ss->dsn_warned)
		log_warn("%s does not offer DSN (RFC 3461): --dsn-notify, "
		    "--dsn-ret and --envid are not sent; the server's own "
		    "notification rules apply", ss->o->host);
	ss->dsn_warned = 1;
	return 0;
}

/*
 * The addresses of m, envelope and header, each with the role it is
 * named by in errors: i runs from 0 to msg_naddresses(m) - 1.
 */
static const struct mailbox *
msg_address(const struct session_msg *m, size_t i, const char **role)
{
	if (i == 0) {
		*role = "envelope sender";
		return m->sender;
	}
	if (i == 1) {
		*role = "--from";
		return m->from;
	}
	if (i - 2 < m->nrcpt) {
		*role = "recipient";
		return m->rcpt[i - 2].mb;
	}
	*role = "--reply-to";
	return &m->reply_to[i - 2 - m->nrcpt];
}

static size_t
msg_naddresses(const struct session_msg *m)
{
	return 2 + m->nrcpt + m->nreply_to;
}

/*
 * RFC 6531: a transaction uses SMTPUTF8 when some address (envelope or
 * header) is not ASCII, or the content already has UTF-8 header fields
 * (RFC 6532), and the server offers it.  Otherwise domains travel as
 * A-labels (already the case), and an address whose local part is not
 * ASCII cannot be sent at all (RFC 6531 section 3.2).
 */
static int
choose_utf8(struct session *ss, const struct session_msg *m, struct err *e)
{
	const struct mailbox *mb;
	const char *role;
	size_t i;
	int need = m->head_utf8;

	for (i = 0; i < msg_naddresses(m); i++)
		if ((mb = msg_address(m, i, &role)) != NULL)
			need |= addr_is_intl(mb);
	ss->intl = need && (ss->smtp.caps.flags & CAP_SMTPUTF8) != 0;
	if (!need || ss->intl)
		return 0;
	for (i = 0; i < msg_naddresses(m); i++) {
		mb = msg_address(m, i, &role);
		if (mb != NULL && mb->utf8_local)
			return err_set(e, E_DATA, "%s %s@%s: the local part is "
			    "not ASCII and %s does not offer SMTPUTF8 (RFC "
			    "6531), so it cannot be sent there; nothing was "
			    "sent", role, mb->local, mb->domain, ss->o->host);
	}
	log_info("%s does not offer SMTPUTF8: domains are sent as A-labels",
	    ss->o->host);
	return 0;
}

/* RFC 1870 section 6.1: is a message of size octets over the limit? */
static int
over_size(struct session *ss, unsigned long long size, const char *bound,
    struct err *e)
{
	const struct smtp_caps *caps = &ss->smtp.caps;

	if (!(caps->flags & CAP_SIZE) || caps->size_max == 0 ||
	    size <= caps->size_max)
		return 0;
	return err_set(e, E_DATA, "SIZE: the message is %s%llu octets and %s "
	    "accepts at most %llu (RFC 1870); nothing was sent", bound, size,
	    ss->o->host, caps->size_max);
}

/* The message goes in BDAT chunks (RFC 3030), not with DATA. */
static int
use_bdat(const struct session *ss)
{
	return (ss->smtp.caps.flags & CAP_CHUNKING) && !ss->o->no_chunking;
}

/*
 * The extensions a message may be built for.  BINARYMIME content can
 * only travel in BDAT chunks (RFC 3030 section 3), so without them it
 * is as if the server did not offer it.
 */
static unsigned
usable_caps(const struct session *ss)
{
	unsigned flags = ss->smtp.caps.flags;

	if (!use_bdat(ss))
		flags &= ~(unsigned)(CAP_CHUNKING | CAP_BINARYMIME);
	return flags;
}

/*
 * Have the message built for this server now that its extensions are
 * known, and hold it against them before the transaction starts: 8-bit
 * octets need 8BITMIME or SMTPUTF8 (RFC 6152 section 3), and a message
 * larger than the SIZE limit is refused here, before MAIL, so that not a
 * byte of it is uploaded (RFC 1870 section 6.1).
 */
static int
compose(struct session *ss, struct session_msg *m, struct err *e)
{
	const struct smtp_caps *caps = &ss->smtp.caps;
	struct session_content c;
	unsigned usable = usable_caps(ss);

	memset(&c, 0, sizeof(c));
	ss->size = 0;
	if (m->prepare(m->ctx, usable, ss->intl, &c, e) < 0)
		return -1;
	if (c.binary && !(usable & CAP_BINARYMIME))
		return err_set(e, E_SOFTWARE, "binary parts, no BINARYMIME");
	/* Only a server that offers SIZE needs the exact count. */
	if ((caps->flags & CAP_SIZE) && (over_size(ss, c.size_floor,
	    c.floor_exact ? "" : "at least ", e) < 0 ||
	    m->size(m->ctx, &ss->size, e) < 0 || over_size(ss, ss->size, "",
	    e) < 0))
		return -1;
	ss->eightbit = c.eightbit;
	ss->binary = c.binary;
	ss->size_floor = c.size_floor;
	log_info("message: body %s%s%s, %llu octets%s", c.enc, c.binary ?
	    ", attachments binary (BINARYMIME)" : "", ss->intl ?
	    ", SMTPUTF8" : "", ss->size, ss->size > 0 ? "" :
	    " (not counted: no SIZE)");
	if (ss->eightbit && !(caps->flags & CAP_8BITMIME) && !ss->intl)
		return err_set(e, E_DATA, "the message has 8-bit content and "
		    "%s offers neither 8BITMIME nor SMTPUTF8 (RFC 6152); "
		    "nothing was sent", ss->o->host);
	return 0;
}

/* Everything the server's extensions decide before MAIL. */
static int
preflight(struct session *ss, struct session_msg *m, struct err *e)
{
	if (check_requiretls(ss, e) < 0 || check_dsn(ss, e) < 0 ||
	    choose_utf8(ss, m, e) < 0)
		return -1;
	return compose(ss, m, e);
}

/*
 * MAIL parameters, each only when the server offers its extension:
 * SIZE (RFC 1870), BODY (RFC 3030 for binary parts, else RFC 6152),
 * SMTPUTF8 (RFC 6531), REQUIRETLS (RFC 8689), RET and ENVID (RFC 3461).
 */
static int
mail_params(struct session *ss, struct buf *b)
{
	const struct options *o = ss->o;
	unsigned flags = ss->smtp.caps.flags;
	int bad = 0;

	if (flags & CAP_SIZE)
		bad |= buf_addf(b, " SIZE=%llu", ss->size);
	if (ss->binary)
		bad |= buf_adds(b, " BODY=BINARYMIME");
	else if (ss->eightbit && (flags & CAP_8BITMIME))
		bad |= buf_adds(b, " BODY=8BITMIME");
	if (ss->intl)
		bad |= buf_adds(b, " SMTPUTF8");
	if (o->require_tls)
		bad |= buf_adds(b, " REQUIRETLS");
	if (ss->dsn && o->dsn_ret != DSN_RET_UNSET)
		bad |= buf_adds(b, o->dsn_ret == DSN_RET_FULL ? " RET=FULL" :
		    " RET=HDRS");
	if (ss->dsn && o->envid != NULL)
		bad |= buf_adds(b, " ENVID=") | smtp_xtext(b, o->envid);
	return bad ? -1 : 0;
}

#define ORCPT_MAX	500	/* RFC 3461 section 4.2 */

/*
 * RCPT parameters (RFC 3461 section 4): NOTIFY as asked, and ORCPT, the
 * recipient as given, in the utf-8 form of RFC 6533 when SMTPUTF8 is in
 * use and the address needs it, else as rfc822 xtext.
 */
static int
rcpt_params(struct session *ss, const struct mailbox *mb, struct buf *b)
{
	static const struct {
		unsigned flag;
		const char *word;
	} notify[] = {
		{ DSN_NOTIFY_NEVER, "NEVER" },
		{ DSN_NOTIFY_SUCCESS, "SUCCESS" },
		{ DSN_NOTIFY_FAILURE, "FAILURE" },
		{ DSN_NOTIFY_DELAY, "DELAY" },
	};
	const char *sep = " NOTIFY=";
	struct buf orcpt;
	char *a;
	size_t i;
	int bad = 0;

	if (!ss->dsn)
		return 0;
	for (i = 0; i < sizeof(notify) / sizeof(notify[0]); i++) {
		if (ss->o->dsn_notify & notify[i].flag) {
			bad |= buf_addf(b, "%s%s", sep, notify[i].word);
			sep = ",";
		}
	}
	buf_init(&orcpt, 4 * ORCPT_MAX);
	if (ss->intl && addr_is_intl(mb)) {
		a = addr_envelope_utf8(mb);
		bad |= buf_adds(&orcpt, "utf-8;") | smtp_unitext(&orcpt, a);
	} else {
		a = addr_envelope(mb);
		bad |= buf_adds(&orcpt, "rfc822;") | smtp_xtext(&orcpt, a);
	}
	if (orcpt.len <= ORCPT_MAX)
		bad |= buf_addf(b, " ORCPT=%s", orcpt.data);
	else
		log_info("ORCPT for <%s> left out: longer than %d characters",
		    a, ORCPT_MAX);
	free(a);
	buf_release(&orcpt);
	return bad ? -1 : 0;
}

/* The envelope as it goes on the wire: paths and their parameters. */
struct envelope {
	char *from, *from_params;
	char **addrs, **params;
	size_t n;
};

/*
 * The first refusal of its class becomes the outcome, reply code and
 * enhanced status included (RFC 3463: the refined kind); with msg, in
 * these words instead of its own.
 */
static int
keep_refusal(struct err *e, const struct err *from, const char *msg)
{
	if (keep_err(e, from) < 0 && msg != NULL)
		snprintf(e->msg, sizeof(e->msg), "%s", msg);
	return -1;
}

/*
 * Recipient policy.  By default (--on-rcpt-reject abort) the message goes
 * to everyone or no one: a permanent refusal of any recipient wins over
 * temporary ones (retrying cannot help), and every refusal is reported on
 * its own line.  With continue, the message goes to those accepted; the
 * refusals stay in m->rcpt for the caller to report (session_partial),
 * and when nobody is accepted the error only says so.  The kind of each
 * refusal is the one its enhanced status code refines it to (err_refine).
 */
static int
rcpt_replies(struct session *ss, struct session_msg *m,
    const struct envelope *env, int pipelined, struct err *e)
{
	struct err first_perm, first_temp, one;
	struct session_rcpt *r;
	int cont = ss->o->rcpt_continue;
	size_t i;

	err_init(&first_perm);
	err_init(&first_temp);
	for (i = 0; i < m->nrcpt; i++) {
		r = &m->rcpt[i];
		phase(ss, RCPT_MS, "RCPT TO:<%s>", env->addrs[i]);
		ss->stage = STAGE_RCPT;
		if (!pipelined && (smtp_cmd(&ss->smtp, e, "%s%s", ss->phase,
		    env->params[i]) < 0 || smtp_flush(&ss->smtp, e) < 0))
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
		else if (!cont)
			log_error("%s", one.msg);
	}
	if (cont && (m->naccepted > 0 || m->nrcpt == 0))
		return 0;
	if (first_perm.kind != E_OK && first_temp.kind != E_OK && !cont)
		log_error("%s", first_temp.msg);
	if (first_perm.kind == E_OK && first_temp.kind == E_OK)
		return 0;
	return keep_refusal(e, first_perm.kind != E_OK ? &first_perm :
	    &first_temp, cont ? "no recipient was accepted; the message was "
	    "not sent" : NULL);
}

static int
envelope_build(struct session *ss, const struct session_msg *m,
    struct envelope *env, struct err *e)
{
	struct buf b;
	size_t i;
	int bad;

	memset(env, 0, sizeof(*env));
	env->n = m->nrcpt;
	env->addrs = xcalloc(env->n ? env->n : 1, sizeof(*env->addrs));
	env->params = xcalloc(env->n ? env->n : 1, sizeof(*env->params));
	env->from = ss->intl ? addr_envelope_utf8(m->sender) :
	    addr_envelope(m->sender);
	buf_init(&b, SMTP_LINE_MAX / 2);
	bad = mail_params(ss, &b);
	env->from_params = buf_detach(&b);
	for (i = 0; i < env->n; i++) {
		env->addrs[i] = ss->intl ? addr_envelope_utf8(m->rcpt[i].mb) :
		    addr_envelope(m->rcpt[i].mb);
		buf_init(&b, SMTP_LINE_MAX / 2);
		bad |= rcpt_params(ss, m->rcpt[i].mb, &b);
		env->params[i] = buf_detach(&b);
	}
	if (bad)
		return err_set(e, E_SOFTWARE, "MAIL/RCPT parameters too long");
	return 0;
}

static void
envelope_free(struct envelope *env)
{
	size_t i;

	for (i = 0; i < env->n; i++) {
		free(env->addrs[i]);
		free(env->params[i]);
	}
	free(env->addrs);
	free(env->params);
	free(env->from);
	free(env->from_params);
}

/*
 * The message content after the envelope: DATA and dot-stuffed text (RFC
 * 5321 section 4.1.1.4), or BDAT chunks (RFC 3030) when the server
 * offers CHUNKING and --no-chunking is not given.
 */
struct body_out {
	int bdat;
	struct smtp_chunk ck;
	const char *p;		/* content read but not yet in a chunk */
	size_t n;
	int binary;		/* ... which goes as it is (RFC 3030) */
	int eof;		/* read() has reported the end */
	unsigned outstanding;	/* chunk replies not read yet */
};

/* Fill the chunk from the message, until it is full or the content ends. */
static int
chunk_fill(struct session *ss, struct session_msg *m, struct body_out *b,
    struct err *e)
{
	long took;

	while (!smtp_chunk_full(&b->ck)) {
		if (b->n == 0) {
			if (b->eof)
				return 0;
			if (deadline_check(ss->dl, e) < 0 ||
			    m->read(m->ctx, &b->p, &b->n, &b->binary, e) < 0)
				return -1;
			if (b->n == 0) {
				b->eof = 1;
				return 0;
			}
		}
		if (b->binary)
			took = (long)smtp_chunk_add_raw(&b->ck, b->p, b->n);
		else if ((took = smtp_chunk_add(&b->ck, b->p, b->n, e)) < 0)
			return -1;
		b->p += took;
		b->n -= (size_t)took;
	}
	return 0;
}

/*
 * Read replies to chunks already sent: those that have arrived (all ==
 * 0) or every one still due (all == 1).  The first refusal is the
 * outcome; the replies still due after it are read too, so that the
 * stream stays in step for RSET (RFC 3030 section 4.1: the server
 * discards chunks that follow a failed one, but answers them).
 */
static int
chunk_replies(struct session *ss, struct body_out *b, int all,
    struct err *e)
{
	struct err drain;

	while (b->outstanding > 0 && (all || conn_readable(ss->conn))) {
		if (smtp_read_reply(&ss->smtp, &ss->reply, e) < 0)
			return -1;
		b->outstanding--;
		if (check_reply(ss, 250, 0, e) == 0)
			continue;
		err_init(&drain);
		while (b->outstanding > 0) {
			if (smtp_read_reply(&ss->smtp, &ss->reply, &drain) < 0) {
				ss->broken = 1;
				break;
			}
			b->outstanding--;
		}
		return -1;
	}
	return 0;
}

/* The reply to the end of the message, already read: did it take it? */
static int
weigh_verdict(struct session *ss, struct session_msg *m, struct err *e)
{
	if (check_reply(ss, 250, 0, e) < 0)
		return -1;
	smtp_reply_summary(&ss->reply, m->reply, sizeof(m->reply));
	log_info("accepted: %s", m->reply);
	return 0;
}

/* ... and the transaction is over, whatever the verdict. */
static int
judge_verdict(struct session *ss, struct session_msg *m, struct err *e)
{
	ss->no_quit = 0;
	ss->in_txn = 0;
	return weigh_verdict(ss, m, e);
}

/* Read the reply to the end of the message and judge it. */
static int
verdict(struct session *ss, struct session_msg *m, struct err *e)
{
	if (smtp_read_reply(&ss->smtp, &ss->reply, e) < 0)
		return -1;
	return judge_verdict(ss, m, e);
}

/*
 * May the message whose final dot was just written wait for its verdict
 * until the next one is on its way?  Only when the caller asked for it,
 * the server pipelines and another message follows.  The end of data
 * closes the transaction whatever the verdict (RFC 5321 section
 * 4.1.1.4: the server clears its buffers), so the next MAIL cannot land
 * in it.  BDAT LAST is not deferred: a server that refuses it for want
 * of recipients may keep the transaction open, and the next group's
 * RCPT and BDAT would then join it.
 */
static int
may_defer(const struct session *ss)
{
	return ss->overlap && !ss->last_message && ss->pend == NULL &&
	    (ss->smtp.caps.flags & CAP_PIPELINING);
}

/* Leave m waiting for its verdict: its transaction is over on our side. */
static int
defer(struct session *ss, struct session_msg *m)
{
	ss->pend = m;
	m->pending = 1;
	m->dot_sent = 1;
	ss->in_txn = 0;
	ss->no_quit = 0;
	ss->data_pending = 0;
	return 1;
}

/*
 * A single-message run ends with QUIT whatever the verdict: with
 * PIPELINING it leaves in the same write as the end of the message
 * (RFC 2920 section 3.1 allows QUIT last in a group), saving a round
 * trip.  The verdict is still read first, and then the 221.
 */
static int
quit_behind(struct session *ss, struct err *e)
{
	if (!ss->last_message || !(ss->smtp.caps.flags & CAP_PIPELINING))
		return 0;
	if (smtp_cmd(&ss->smtp, e, "QUIT") < 0)
		return -1;
	ss->quit_sent = 1;
	return 0;
}

/*
 * The rest of the message in BDAT chunks, the last one marked LAST.
 * Chunks leave back to back when the server pipelines; their replies are
 * read as they arrive, so a refusal stops the upload early.  Without
 * PIPELINING each chunk waits for its reply.  A local error between
 * chunks sends no LAST: the transaction stays open and is reset.
 */
static int
bdat_rest(struct session *ss, struct session_msg *m, struct body_out *b,
    int pipelined, struct err *e)
{
	struct progress pr;
	int last;

	progress_start(&pr, ss->o->progress, ss->size ? ss->size :
	    ss->size_floor);
	for (;;) {
		phase(ss, BLOCK_MS, "sending the message");
		ss->stage = STAGE_DATA;
		if (chunk_fill(ss, m, b, e) < 0)
			goto fail;
		last = b->eof;
		if (smtp_chunk_queue(&ss->smtp, &b->ck, last, e) < 0 ||
		    (last && quit_behind(ss, e) < 0) ||
		    smtp_flush(&ss->smtp, e) < 0)
			goto fail;
		b->outstanding++;
		progress_update(&pr, b->ck.total);
		if (last)
			break;
		if (chunk_replies(ss, b, !pipelined, e) < 0)
			goto fail;
	}
	progress_end(&pr);
	report_size(ss->o->report, b->ck.total);
	/* As after the final dot: the verdict is worth waiting for. */
	m->dot_sent = 1;
	deadline_shield(ss->dl);
	phase(ss, DOT_MS, "end of data");
	ss->stage = STAGE_DATA;
	b->outstanding--;
	if (chunk_replies(ss, b, 1, e) < 0)
		return -1;
	return verdict(ss, m, e);
fail:
	progress_end(&pr);
	return -1;
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

/* The message text after the 354 reply to DATA, and the final dot. */
static int
data_text(struct session *ss, struct session_msg *m, struct err *e)
{
	struct smtp_data d;
	struct progress pr;
	const char *p;
	size_t n;
	int binary;

	/* From here until the final dot, QUIT would be message text. */
	ss->no_quit = 1;
	smtp_data_init(&d);
	progress_start(&pr, ss->o->progress, ss->size ? ss->size :
	    ss->size_floor);
	phase(ss, BLOCK_MS, "sending the message");
	ss->stage = STAGE_DATA;
	for (;;) {
		/* Each block gets its own time limit (RFC 5321 4.5.3.2.5). */
		deadline_phase(ss->dl, ss->phase, BLOCK_MS);
		/* No final dot after a local error or a cancellation. */
		if (deadline_check(ss->dl, e) < 0 ||
		    m->read(m->ctx, &p, &n, &binary, e) < 0 ||
		    (binary && err_set(e, E_SOFTWARE, "binary content after "
		    "DATA") < 0) ||
		    (n > 0 && smtp_data_write(&ss->smtp, &d, p, n, e) < 0)) {
			progress_end(&pr);
			return -1;
		}
		if (n == 0)
			break;
		progress_update(&pr, d.octets);
	}
	progress_end(&pr);
	if (deadline_check(ss->dl, e) < 0 || early_reply(ss, e) < 0)
		return -1;
	log_proto("-->", "(message sent)", 14);
	phase(ss, DOT_MS, "end of data");
	ss->stage = STAGE_DATA;
	report_size(ss->o->report, d.octets);
	if (smtp_data_finish(&ss->smtp, &d, e) < 0 || quit_behind(ss, e) < 0)
		return -1;
	/*
	 * With transactions overlapping, the dot stays in the buffer and
	 * leaves with the next message's MAIL, RCPT and DATA (RFC 2920
	 * section 3.1 lets the content open a group).
	 */
	if (may_defer(ss))
		return defer(ss, m);
	if (smtp_flush(&ss->smtp, e) < 0)
		return -1;
	/*
	 * The dot is out: a cancellation from now on only shortens the wait
	 * for the verdict, so the caller learns whether the message went.
	 */
	m->dot_sent = 1;
	deadline_shield(ss->dl);
	return verdict(ss, m, e);
}

/*
 * One transaction.  With PIPELINING (RFC 2920) MAIL, every RCPT and the
 * command that starts the content -- DATA, or the first BDAT chunk --
 * leave in one write, and the replies are matched to them in order.
 * What a recipient refusal then needs:
 *  - BDAT: nothing is committed before BDAT LAST, so the first chunk is
 *    only marked LAST when no refusal could make us take it back (one
 *    recipient, or --on-rcpt-reject continue); otherwise the refusal is
 *    the outcome and RSET ends the transaction.  A small message thus
 *    costs one round trip.
 *  - DATA: a correct server answers DATA with 554 when no recipient was
 *    taken.  If it says 354 while the policy refuses the message (some
 *    recipient refused, --on-rcpt-reject abort), the only way to cancel
 *    is to hang up before the final dot, which makes the server drop
 *    the transaction (RFC 5321 section 4.1.1.4); the session is then
 *    spent.
 * Without PIPELINING each command waits for its reply.
 */
static const char hangup_note[] =
    "(hanging up: the message must not go to only some recipients)";

/*
 * The replies to a pipelined group, in order: MAIL, each RCPT, and the
 * command that starts the content (DATA, or BDAT with last saying
 * whether it was BDAT LAST).  Returns -1 when the transaction cannot go
 * on (e says why); else 0, with the recipients' verdict in *rcpt_rc and
 * *refused and the reply to the group's last command in ss->reply.
 */
static int
group_replies(struct session *ss, struct session_msg *m,
    const struct envelope *env, int bdat, int last, int *rcpt_rc,
    struct err *refused, struct err *e)
{
	size_t i;

	phase(ss, MAIL_MS, "MAIL FROM:<%s>", env->from);
	ss->stage = STAGE_MAIL;
	if (expect(ss, 250, 0, e) < 0) {
		/* The pipelined commands still get (refusing) answers. */
		for (i = 0; i < env->n + 1; i++)
			if (smtp_read_reply(&ss->smtp, &ss->reply, e) < 0)
				return -1;
		ss->data_pending = 0;
		if (!bdat && ss->reply.code == 354)
			ss->no_quit = ss->broken = 1;
		return -1;
	}
	err_init(refused);
	*rcpt_rc = rcpt_replies(ss, m, env, 1, refused);
	if (*rcpt_rc < 0 && refused->smtp_code == 0) {
		*e = *refused;		/* no reply at all: the link failed */
		return -1;
	}
	if (bdat)
		phase(ss, last ? DOT_MS : BLOCK_MS, "BDAT");
	else
		phase(ss, DATA_MS, "DATA");
	ss->stage = STAGE_DATA;
	if (smtp_read_reply(&ss->smtp, &ss->reply, e) < 0)
		return -1;
	ss->data_pending = 0;
	return 0;
}

/* After error e the stream is sound: no timeout, garbage or signal. */
static int
stream_sound(const struct session *ss, const struct err *e)
{
	return ss->connected && !e->timed_out && e->kind != E_PROTOCOL &&
	    !deadline_cancelled(ss->dl);
}

/* e is a whole refusal that leaves the session open (not 421). */
static int
whole_refusal(const struct err *e)
{
	return e->smtp_code >= 400 && e->smtp_code < 600 &&
	    e->smtp_code != 421;
}

/*
 * Read the verdict still due for the pending message and settle its
 * outcome in it, which is returned (NULL when nothing was pending).  The
 * state of the transaction already in flight, if any, is not touched:
 * the pending one was over on our side when it was deferred.
 */
static const struct err *
collect(struct session *ss)
{
	struct session_msg *m = ss->pend;
	struct err *e;

	if (m == NULL)
		return NULL;
	ss->pend = NULL;
	e = &m->outcome;
	err_init(e);
	phase(ss, DOT_MS, "end of data");
	ss->stage = STAGE_DATA;
	/* As after any final dot: a cancellation only shortens the wait. */
	deadline_shield(ss->dl);
	m->result = smtp_flush(&ss->smtp, e) < 0 ||
	    smtp_read_reply(&ss->smtp, &ss->reply, e) < 0 ? -1 :
	    weigh_verdict(ss, m, e);
	if (m->result < 0 && !(stream_sound(ss, e) && whole_refusal(e)))
		ss->broken = 1;
	m->pending = 0;
	return e;
}

static int
transaction(struct session *ss, struct session_msg *m, struct err *e)
{
	struct envelope env;
	struct body_out b;
	struct err refused;
	const struct err *before;
	int pipelined = (ss->smtp.caps.flags & CAP_PIPELINING) != 0;
	int rc = -1, last = 0, rcpt_rc = 0;
	size_t i;

	memset(&b, 0, sizeof(b));
	smtp_chunk_init(&b.ck);
	b.bdat = use_bdat(ss);
	m->naccepted = 0;
	if (envelope_build(ss, m, &env, e) < 0)
		goto out;
	/* A first chunk is read before MAIL: a local error stops all. */
	if (pipelined && b.bdat) {
		if (chunk_fill(ss, m, &b, e) < 0)
			goto out;
		last = b.eof && (ss->o->rcpt_continue || m->nrcpt == 1);
	}
	phase(ss, MAIL_MS, "MAIL FROM:<%s>", env.from);
	/* From the first buffered command on, the stream is committed. */
	ss->in_txn = 1;
	if (smtp_cmd(&ss->smtp, e, "%s%s", ss->phase, env.from_params) < 0)
		goto out;
	for (i = 0; pipelined && i < env.n; i++)
		if (smtp_cmd(&ss->smtp, e, "RCPT TO:<%s>%s", env.addrs[i],
		    env.params[i]) < 0)
			goto out;
	if (pipelined) {
		if (b.bdat ? smtp_chunk_queue(&ss->smtp, &b.ck, last, e) :
		    smtp_cmd(&ss->smtp, e, "DATA"))
			goto out;
		if (last && quit_behind(ss, e) < 0)
			goto out;
		if (last)
			report_size(ss->o->report, b.ck.total);
		/*
		 * Until DATA's reply is read the server may be taking text:
		 * a QUIT now would be part of the message.
		 */
		ss->data_pending = !b.bdat;
		b.outstanding = b.bdat;
	}
	phase(ss, MAIL_MS, "MAIL FROM:<%s>", env.from);
	ss->stage = STAGE_MAIL;
	if (smtp_flush(&ss->smtp, e) < 0)
		goto out;
	/* The verdict on the message before comes first. */
	if ((before = collect(ss)) != NULL && ss->broken) {
		/*
		 * The connection ended there.  Only a DATA message is ever
		 * left pending, so the one in flight sent no text yet: it is
		 * worth a new connection.
		 */
		err_set(e, E_TEMPFAIL, "%s: not answered: the connection ended "
		    "with the message before (%s)", ss->phase, before->msg);
		goto out;
	}
	if (!pipelined) {
		if (expect(ss, 250, 0, e) < 0)
			goto out;
		err_init(&refused);
		if (rcpt_replies(ss, m, &env, 0, &refused) < 0) {
			*e = refused;
			goto out;
		}
		if (b.bdat) {
			rc = bdat_rest(ss, m, &b, 0, e);
			goto out;
		}
		phase(ss, DATA_MS, "DATA");
		ss->stage = STAGE_DATA;
		if (smtp_cmd(&ss->smtp, e, "DATA") == 0 &&
		    smtp_flush(&ss->smtp, e) == 0 &&
		    expect(ss, 354, 0, e) == 0)
			rc = data_text(ss, m, e);
		goto out;
	}
	if (group_replies(ss, m, &env, b.bdat, last, &rcpt_rc, &refused,
	    e) < 0)
		goto out;
	if (b.bdat) {
		b.outstanding = 0;
		if (rcpt_rc < 0) {
			*e = refused;
		} else if (last) {
			m->dot_sent = 1;
			rc = judge_verdict(ss, m, e);
		} else if (check_reply(ss, 250, 0, e) == 0) {
			rc = bdat_rest(ss, m, &b, 1, e);
		}
	} else if (rcpt_rc < 0) {
		if (ss->reply.code == 354) {
			log_proto("-->", hangup_note, strlen(hangup_note));
			ss->no_quit = ss->broken = 1;
		}
		*e = refused;
	} else if (check_reply(ss, 354, 0, e) == 0) {
		rc = data_text(ss, m, e);
	}
out:
	smtp_chunk_free(&b.ck);
	envelope_free(&env);
	return rc;
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
	if (outcome->timed_out || ss->data_pending)
		ss->no_quit = 1;
	err_init(&qe);
	deadline_cleanup(ss->dl, "QUIT", QUIT_MS);
	if (!ss->no_quit && (ss->quit_sent ||
	    (smtp_cmd(&ss->smtp, &qe, "QUIT") == 0 &&
	    smtp_flush(&ss->smtp, &qe) == 0)) &&
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
 * DATA), or the pre-flight refused the message before MAIL, so the next
 * message can follow (after RSET when MAIL went out).  Anything else
 * (timeout, lost connection, garbage, 421, a local error mid-DATA)
 * leaves it unusable.
 */
static int
still_in_step(const struct session *ss, const struct err *e)
{
	if (!stream_sound(ss, e) || ss->no_quit || ss->data_pending)
		return 0;
	return !ss->in_txn || whole_refusal(e);
}

static struct session *
session_new(const struct options *o, struct deadline *dl)
{
	struct session *ss;

	ss = xcalloc(1, sizeof(*ss));
	ss->o = o;
	ss->dl = dl;
	ss->conn = xmalloc(sizeof(*ss->conn));
	smtp_reply_init(&ss->reply);
	return ss;
}

/* The TLS context belongs to the credentials (creds.h), not to us. */
static void
session_free(struct session *ss)
{
	smtp_reply_release(&ss->reply);
	free(ss->verify_name);
	free(ss->tls_name);
	free(ss->conn);
	free(ss);
}

/* Resolve, connect, and TLS at once on the implicit-TLS port. */
static int
connect_and_tls(struct session *ss, const char *self_name, struct err *e)
{
	const struct options *o = ss->o;

	if (resolve_and_connect(ss, e) < 0 ||
	    choose_helo(ss, self_name, e) < 0)
		return -1;
	if ((o->tls == TLS_IMPLICIT || (o->tls == TLS_AUTO && o->port == 465))
	    && start_tls(ss, e) < 0)
		return -1;
	return 0;
}

int
session_open(struct session **out, const struct options *o,
    const char *self_name, struct deadline *dl, struct err *e)
{
	struct session *ss;

	ss = session_new(o, dl);
	*out = ss;
	if (connect_and_tls(ss, self_name, e) < 0 || greeting(ss, e) < 0 ||
	    ehlo(ss, e) < 0 || negotiate_tls(ss, e) < 0 ||
	    authenticate(ss, e) < 0) {
		ss->broken = 1;
		return -1;
	}
	return 0;
}

int
session_send(struct session *ss, struct session_msg *m, struct err *e)
{
	int rc;

	m->naccepted = 0;
	m->dot_sent = 0;
	m->pending = 0;
	if (!session_usable(ss)) {
		collect(ss);
		return err_set(e, E_SOFTWARE, "session not usable");
	}
	rc = preflight(ss, m, e);
	if (rc == 0)
		rc = transaction(ss, m, e);
	/* Whatever stopped this message early, the one before is settled. */
	if (ss->pend != m)
		collect(ss);
	if (rc < 0 && !still_in_step(ss, e))
		ss->broken = 1;
	return rc;
}

void
session_overlap(struct session *ss)
{
	ss->overlap = 1;
}

void
session_collect(struct session *ss)
{
	if (ss != NULL)
		collect(ss);
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

void
session_last(struct session *ss)
{
	ss->last_message = 1;
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
	collect(ss);
	save_tls_session(ss);
	finish(ss, outcome);
	session_free(ss);
}

int
session_refused_all(const struct session_msg *m)
{
	size_t i;

	for (i = 0; i < m->nrcpt; i++)
		if (m->rcpt[i].kind == E_OK)
			return 0;
	return m->nrcpt > 0;
}

/* The kind of the first permanent refusal in m, else E_TEMPFAIL. */
static enum err_kind
first_refusal(const struct session_msg *m)
{
	size_t i;

	for (i = 0; i < m->nrcpt; i++)
		if (m->rcpt[i].kind != E_OK && m->rcpt[i].kind != E_TEMPFAIL)
			return m->rcpt[i].kind;
	return E_TEMPFAIL;
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
		return err_set(e, first_refusal(m), "no recipient was "
		    "accepted; the message was not sent");
	return err_set(e, E_NOUSER, "partial delivery: the message was "
	    "accepted for %zu of %zu recipients, NOT for %s%s",
	    m->naccepted, m->nrcpt, list, perm ? "" : " (refused for now; "
	    "sending it again would duplicate it for the others)");
}

/* The message composer (msg.c) as a session_msg source. */
struct compose {
	const struct options *o;
	const struct msg_spec *spec;
	struct msg m;
	int open;
};

/*
 * --binary-attachments: binary parts when the transaction can carry them
 * (CHUNKING and BINARYMIME, RFC 3030), else base64 as always, which -v
 * explains.  Whole-message input has no parts of ours to send so.
 */
static int
want_binary(const struct compose *c, unsigned caps)
{
	const struct options *o = c->o;

	if (!o->binary_attachments || c->spec->raw != NULL ||
	    c->spec->nparts == 0)
		return 0;
	if (caps & CAP_BINARYMIME)
		return 1;
	if (o->no_chunking)
		log_info("attachments in base64: --no-chunking was given "
		    "(BINARYMIME needs BDAT)");
	else
		log_info("attachments in base64: %s does not offer %s (RFC "
		    "3030)", o->host, caps & CAP_CHUNKING ? "BINARYMIME" :
		    "CHUNKING");
	return 0;
}

/*
 * Compose for this server: 8bit only with 8BITMIME (design.md section
 * 3), UTF-8 header fields only in a SMTPUTF8 transaction (RFC 6532),
 * binary parts only when asked for and possible.  The size floor counts
 * text bodies before their line ends and any quoted-printable are added,
 * so it is only a lower bound.
 */
static int
compose_prepare(void *ctx, unsigned caps, int utf8,
    struct session_content *sc, struct err *e)
{
	struct compose *c = ctx;
	struct msg_spec s = *c->spec;

	if (c->open)
		msg_close(&c->m);
	c->open = 0;
	s.utf8_headers = utf8;
	s.binary_parts = want_binary(c, caps);
	if (msg_open(&c->m, &s, (caps & CAP_8BITMIME) != 0, e) < 0)
		return -1;
	c->open = 1;
	sc->eightbit = msg_is_8bit(&c->m);
	sc->binary = msg_is_binary(&c->m);
	sc->size_floor = msg_size_floor(&c->m);
	sc->floor_exact = 0;
	sc->enc = msg_enc_name(msg_body_encoding(&c->m));
	return 0;
}

static int
compose_size(void *ctx, unsigned long long *n, struct err *e)
{
	struct compose *c = ctx;

	return msg_size(&c->m, n, e);
}

static int
compose_read(void *ctx, const char **p, size_t *n, int *binary,
    struct err *e)
{
	struct compose *c = ctx;

	if (msg_read(&c->m, p, n, e) < 0)
		return -1;
	*binary = *n > 0 && msg_piece_binary(&c->m);
	return 0;
}

int
session_run(const struct options *o, const struct msg_spec *spec,
    const struct mailbox *sender, const char *self_name, struct deadline *dl,
    struct err *e)
{
	struct session *ss;
	struct session_msg m;
	struct compose c;
	const struct mailbox **rcpt;
	size_t n, i;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	c.o = o;
	c.spec = spec;
	memset(&m, 0, sizeof(m));
	m.sender = sender;
	m.from = spec->from;
	m.reply_to = spec->reply_to;
	m.nreply_to = spec->nreply_to;
	/* A whole message given with UTF-8 in its header (RFC 6532). */
	m.head_utf8 = spec->raw != NULL && spec->raw->head_8bit;
	m.prepare = compose_prepare;
	m.size = compose_size;
	m.read = compose_read;
	m.ctx = &c;
	rcpt = session_recipients(o, &n);
	m.rcpt = xcalloc(n ? n : 1, sizeof(*m.rcpt));
	m.nrcpt = n;
	for (i = 0; i < n; i++)
		m.rcpt[i].mb = rcpt[i];
	if (session_open(&ss, o, self_name, dl, e) == 0) {
		session_last(ss);
		if (session_send(ss, &m, e) == 0)
			rc = 0;
	}
	if (o->rcpt_continue && session_partial(&m, e) < 0)
		rc = -1;
	session_close(ss, e);
	if (c.open)
		msg_close(&c.m);
	free(m.rcpt);
	free(rcpt);
	return rc;
}

/* The EHLO keywords as the server listed them, one per line. */
static void
info_caps(struct buf *out, const char *when, const struct smtp_reply *r)
{
	const char *line = r->text.data ? strchr(r->text.data, '\n') : NULL;
	const char *next;
	char safe[SMTP_LINE_MAX];
	size_t n;

	buf_addf(out, "Capabilities %s:\n", when);
	if (line == NULL)
		buf_adds(out, "  (none)\n");
	while (line != NULL) {
		line++;
		next = strchr(line, '\n');
		n = next ? (size_t)(next - line) : strlen(line);
		buf_addf(out, "  %s\n", printable(safe, sizeof(safe), line, n));
		line = next;
	}
}

static void
info_header(struct session *ss, struct buf *out)
{
	char summary[1024];

	buf_addf(out, "Server: %s port %d%s\n", ss->o->host, ss->o->port,
	    ss->loopback ? " (loopback)" : "");
	buf_addf(out, "Greeting: %s\n", smtp_reply_summary(&ss->reply,
	    summary, sizeof(summary)));
}

/* Everything after the greeting, for session_serverinfo(). */
static int
serverinfo_steps(struct session *ss, struct buf *out, struct err *e)
{
	if (greeting(ss, e) < 0)
		return -1;
	info_header(ss, out);
	if (ehlo(ss, e) < 0)
		return -1;
	info_caps(out, ss->conn->tls ? "(over TLS)" : "before TLS",
	    &ss->reply);
	if (ss->conn->tls == NULL && ss->o->tls != TLS_NONE &&
	    (ss->smtp.caps.flags & CAP_STARTTLS)) {
		if (starttls(ss, e) < 0)
			return -1;
		info_caps(out, "after STARTTLS", &ss->reply);
	}
	if (ss->conn->tls != NULL)
		tls_peer_info(ss->conn->tls, ss->tls_name, out);
	else
		buf_adds(out, "TLS: none\n");
	buf_addf(out, "AUTH mechanisms: %s\n", ss->smtp.caps.flags & CAP_AUTH ?
	    ss->smtp.caps.auth : "(none offered)");
	return 0;
}

int
session_serverinfo(const struct options *o, const char *self_name,
    struct deadline *dl, struct err *e)
{
	struct session *ss;
	struct buf out;
	int rc = -1;

	ss = session_new(o, dl);
	buf_init(&out, 1024 * 1024);
	if (connect_and_tls(ss, self_name, e) == 0)
		rc = serverinfo_steps(ss, &out, e);
	if (out.len > 0)
		fwrite(out.data, 1, out.len, stdout);
	fflush(stdout);
	buf_release(&out);
	finish(ss, e);
	session_free(ss);
	return rc;
}
