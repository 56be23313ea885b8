/*
 * sasl: the only user of libgsasl, and the home of the two mechanisms it
 * lacks (XOAUTH2 and OAUTHBEARER, RFC 7628).  It never touches the
 * socket: like Postfix's xsasl client it turns credentials into the
 * initial response and each server challenge into the next response, all
 * as base64 text, and session.c carries them over SMTP AUTH (RFC 4954).
 *
 * Lifecycle: sasl_choose() picks a mechanism from what the server offers;
 * sasl_begin() starts it and yields the initial response (if the
 * mechanism has one); sasl_step() answers each 334 challenge;
 * sasl_finished() says whether the mechanism completed (for SCRAM: the
 * server proved it knows the password); sasl_end() frees and wipes.
 */
#ifndef SMTPSEND_SASL_H
#define SMTPSEND_SASL_H

#include <stddef.h>

struct buf;
struct err;
struct sasl;

/* The longest base64 message we build or accept (GSSAPI, long tokens). */
#define SASL_MSG_MAX	(256 * 1024)

enum sasl_cb_type {
	SASL_CB_NONE,
	SASL_CB_TLS_UNIQUE,	/* RFC 5929, TLS 1.2 and older */
	SASL_CB_TLS_EXPORTER,	/* RFC 9266, TLS 1.3 */
};

struct sasl_creds {
	const char *user;	/* authentication identity, or NULL */
	const char *password;	/* NUL-terminated, or NULL */
	const char *token;	/* OAuth 2.0 bearer token, or NULL */
	int token_only;		/* the token came from --oauth2-token-cmd */
	int have_cert;		/* a client certificate is configured */
	const char *service;	/* GSSAPI service name ("smtp") */
	const char *host;	/* server name (GSSAPI, OAUTHBEARER) */
	int port;
};

struct sasl_cb {
	enum sasl_cb_type type;
	const unsigned char *data;
	size_t len;
};

/*
 * Pick the mechanism to use.  offered is the server's EHLO AUTH list;
 * wanted is --auth (comma-separated, in order of preference) or NULL for
 * the default order SCRAM-SHA-256-PLUS, SCRAM-SHA-1-PLUS, SCRAM-SHA-256,
 * SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN (or OAUTHBEARER, XOAUTH2 with a
 * token), keeping only those for which c has credentials; -PLUS needs
 * have_cb.  *mech points into a static table.  Errors: E_USAGE (--auth
 * names a mechanism smtpsend cannot do, or its credentials are missing),
 * E_UNAVAIL (nothing usable is offered; the message lists the offer).
 */
int sasl_choose(const char *offered, const char *wanted,
    const struct sasl_creds *c, int have_cb, const char **mech,
    struct err *e);
/*
 * Check an --auth list before anything is read or sent: every name known
 * and supported by this libgsasl.  Errors: E_USAGE.
 */
int sasl_check_names(const char *wanted, struct err *e);
/* True when mech (one of ours) sends an initial response (RFC 4954). */
int sasl_client_first(const char *mech);
/*
 * Start mech.  When it has an initial response, *initial gets it in
 * base64 ("=" stands for an empty one, RFC 4954 section 4).  Errors:
 * E_SOFTWARE (library failure), E_NOPERM (GSSAPI without credentials).
 */
int sasl_begin(struct sasl **out, const char *mech,
    const struct sasl_creds *c, const struct sasl_cb *cb, struct buf *initial,
    struct err *e);
/*
 * Answer the base64 challenge of a 334 reply with *response (base64,
 * possibly empty).  Errors: E_NOPERM (the server's data is bad or its
 * proof is wrong), E_PROTOCOL (not base64).
 */
int sasl_step(struct sasl *s, const char *challenge, struct buf *response,
    struct err *e);
/* The mechanism reached its end (mutual authentication where it has it). */
int sasl_finished(const struct sasl *s);
/* Mechanisms where the server proves itself (a 235 before that is bad). */
int sasl_mutual(const struct sasl *s);
void sasl_end(struct sasl *s);
const char *sasl_version_string(void);

#endif
