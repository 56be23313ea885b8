/*
 * session: SMTP delivery as a straight list of protocol steps (RFC 5321
 * section 3): resolve, connect, TLS, greeting, EHLO, STARTTLS, EHLO again,
 * AUTH (session_open); the extension pre-flight, MAIL, RCPT, DATA, the
 * message, end of data
 * (session_send, as often as there are messages, with RSET between them
 * only after a failed transaction: session_reset); QUIT (session_close).
 * session_run() is the single-message composition of those steps.  It
 * owns policy (TLS required or not, what a rejected recipient means) and
 * the per-phase time limits; the SMTP syntax lives in smtp.c.
 */
#ifndef SMTPSEND_SESSION_H
#define SMTPSEND_SESSION_H

#include <stddef.h>

#include "err.h"

struct deadline;
struct mailbox;
struct msg_spec;
struct options;
struct session;

/* One recipient of a transaction and what the server said about it. */
struct session_rcpt {
	const struct mailbox *mb;
	enum err_kind kind;	/* E_OK when accepted, else why not */
	char reply[512];	/* the refusal, sanitised ("550 5.1.1 ...") */
};

/*
 * What a message source reports of its content once it is built for the
 * server at hand (prepare() below).
 */
struct session_content {
	int eightbit;			/* octets over 127 (RFC 6152) */
	int binary;			/* binary parts (RFC 3030) */
	unsigned long long size_floor;	/* lower bound of the size, free */
	int floor_exact;		/* ... and it is the size itself */
	const char *enc;		/* how the body goes, for the log */
};

/*
 * One message for session_send(): the envelope and a pull source for the
 * content.  from is the header From: address (NULL when the content is a
 * finished message whose header is not parsed), reply_to the header
 * addresses that are not recipients (--reply-to), and head_utf8 says
 * that the content already holds RFC 6532 UTF-8 header fields; with the
 * envelope they decide whether the transaction uses SMTPUTF8.
 *
 * prepare() runs once the server's extensions are known, before MAIL:
 * caps holds the CAP_* flags of smtp.h that the transaction may use (so
 * CHUNKING and BINARYMIME only when the message is to go in BDAT chunks)
 * and utf8 says the transaction uses SMTPUTF8 (RFC 6531), so UTF-8
 * header fields may be written.  It fills *c; c->binary (allowed only
 * with CAP_BINARYMIME) makes the transaction declare BODY=BINARYMIME.
 * size() gives the exact size on the wire in octets, every line ending
 * in CRLF, without dot-stuffing (RFC 1870); it is only called for a
 * server that offers SIZE, after prepare() and before the first read().
 * read() hands out the next piece of the message, *n == 0 at the end, in
 * the style of msg_read(); any line end it produces leaves as CRLF, and
 * dot-stuffing is done for it -- except in a piece it marks *binary, the
 * content of a binary part, whose octets are sent exactly as they are.
 */
struct session_msg {
	const struct mailbox *sender;
	const struct mailbox *from;
	struct session_rcpt *rcpt;
	size_t nrcpt;
	const struct mailbox *reply_to;
	size_t nreply_to;
	int head_utf8;
	int (*prepare)(void *ctx, unsigned caps, int utf8,
	    struct session_content *c, struct err *e);
	int (*size)(void *ctx, unsigned long long *n, struct err *e);
	int (*read)(void *ctx, const char **p, size_t *n, int *binary,
	    struct err *e);
	void *ctx;
	/* Results, set by session_send(). */
	size_t naccepted;	/* recipients the server took */
	int dot_sent;		/* the final dot went out */
	char reply[512];	/* the reply to the final dot, sanitised */
	/*
	 * When session_send() returned 1, the outcome is still to come:
	 * pending stays set until the replies are read (by the next
	 * session_send(), session_collect() or session_close()), which
	 * then fill result (0 or -1, as session_send() would have
	 * returned) and outcome (its error).
	 */
	int pending;
	int result;
	struct err outcome;
};

/*
 * The envelope recipients o asks for: To, Cc and Bcc, each address once.
 * Caller frees the array (not the mailboxes, which stay in o).
 */
const struct mailbox **session_recipients(const struct options *o,
    size_t *n);

/*
 * Deliver the message described by spec (its body, parts or whole-message
 * input included) to the recipients of o, over a session of its own.  self_name is this
 * machine's name (for EHLO) or NULL.  Errors: any kind of design.md
 * section 4; the message names the phase and quotes the server's reply.
 * With --on-rcpt-reject continue, a delivery that reached only some
 * recipients reports each refusal and fails with E_NOUSER ("partial
 * delivery").
 */
int session_run(const struct options *o, const struct msg_spec *spec,
    const struct mailbox *sender, const char *self_name, struct deadline *dl,
    struct err *e);

/*
 * --serverinfo: connect, show the greeting, the capabilities before and
 * after STARTTLS, the TLS session and certificate chain (with pins ready
 * for --tls-pin) and the AUTH mechanisms on standard output, then QUIT
 * without sending mail.  Certificate problems are reported, not fatal.
 */
int session_serverinfo(const struct options *o, const char *self_name,
    struct deadline *dl, struct err *e);

/*
 * Connect and get ready for transactions: TCP, TLS as o says, greeting,
 * EHLO, AUTH when credentials ask for it (o->creds, which must be set).
 * *out is always set, even on failure, and must be given to
 * session_close().  Errors: as session_run().
 */
int session_open(struct session **out, const struct options *o,
    const char *self_name, struct deadline *dl, struct err *e);
/*
 * One transaction: the pre-flight against the server's extensions
 * (SIZE, 8BITMIME, SMTPUTF8, DSN, REQUIRETLS: a message they rule out is
 * refused before MAIL, and the session stays usable), MAIL and RCPT with
 * their parameters for every m->rcpt, DATA, the content, the final dot.
 * Returns 0 when the server accepted the message; with
 * --on-rcpt-reject continue that may be for fewer than all recipients
 * (m->naccepted, and the kind of each m->rcpt); 1 when the outcome is
 * still to come (only after session_overlap()).  The final dot is never
 * sent after a local error or a cancellation.
 */
int session_send(struct session *ss, struct session_msg *m, struct err *e);
/*
 * Let transactions overlap (RFC 2920 section 3.1; for --flush): after
 * this, session_send() may return 1 once a message's final dot is
 * written, without waiting for the verdict.  The dot then leaves in the
 * same write as the next message's MAIL, RCPT and DATA, and the verdict
 * is read before their replies; m must stay alive (and unchanged) until
 * m->pending is clear.  Only for messages sent with DATA (not BDAT),
 * never for the message after session_last(), nor without PIPELINING.
 * At most one message is pending at a time.
 */
void session_overlap(struct session *ss);
/*
 * Read the replies still due for the pending message, if any, and settle
 * its outcome (m->result, m->outcome).  A cancellation only shortens the
 * wait.
 */
void session_collect(struct session *ss);
/*
 * Make the session fit for the next message: RSET (RFC 5321 section
 * 4.1.1.5), but only when the last transaction did not complete.
 */
int session_reset(struct session *ss, struct err *e);
/*
 * No transaction follows the next one: QUIT may then travel with the end
 * of the message (session_close() reads its reply).
 */
void session_last(struct session *ss);
/* True while the connection can carry another transaction. */
int session_usable(const struct session *ss);
/*
 * QUIT when the stream can still carry it, close and free.  outcome is
 * the run's result so far: after a timeout no QUIT is tried; after a
 * success a failed QUIT is only a warning.
 */
void session_close(struct session *ss, const struct err *outcome);
/*
 * With --on-rcpt-reject continue: when m reached only some recipients,
 * print one line per refusal and set E_NOUSER "partial delivery: ...";
 * when it reached none, the kind of the first permanent refusal (as
 * refined by its enhanced status code), else E_TEMPFAIL.  Returns -1
 * then, 0 when every recipient was accepted.
 */
int session_partial(const struct session_msg *m, struct err *e);
/* True when m had recipients and the server refused every one at RCPT. */
int session_refused_all(const struct session_msg *m);

#endif
