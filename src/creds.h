/*
 * creds: everything that proves who we are, gathered before the first
 * packet leaves (design.md section 2 and issue 4): the SASL user and its
 * password or OAuth token from the one source the options name (else
 * ~/.netrc, else a prompt on the terminal), the key or PKCS#12 password,
 * and the TLS context with the client certificate loaded, so that a bad
 * or unreadable file is reported (66/78, file named) before connecting.
 */
#ifndef SMTPSEND_CREDS_H
#define SMTPSEND_CREDS_H

#include "secret.h"

struct deadline;
struct err;
struct options;
struct tls_ctx;

struct creds {
	int want_auth;		/* -u, --auth or --oauth2-token-cmd given */
	char *user;		/* -u, or the login from ~/.netrc */
	struct secret password;
	struct secret token;	/* OAuth 2.0 bearer token */
	struct secret cert_password;
	struct tls_ctx *tls_ctx;	/* NULL until needed */
	int tls_report_only;	/* --serverinfo: verify but do not enforce */
};

/*
 * Read the secrets the options call for and, when TLS material is named,
 * build the TLS context.  Errors: E_NOINPUT (a file or command), E_USAGE
 * (a password is needed and there is no way to get one), E_CONFIG (TLS
 * material), E_TEMPFAIL (deadline while running a command).
 */
int creds_load(const struct options *o, struct creds *c, struct deadline *dl,
    struct err *e);
/* The TLS context for this run, built on first use. */
int creds_tls_ctx(const struct options *o, struct creds *c,
    struct tls_ctx **out, struct err *e);
/* Wipe every secret and free everything. */
void creds_release(struct creds *c);

#endif
