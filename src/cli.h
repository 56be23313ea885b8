/*
 * cli: the command line (getopt_long) turned into a struct options that
 * is read-only afterwards.  Every address and header text is validated
 * here, before anything touches the network.
 */
#ifndef SMTPSEND_CLI_H
#define SMTPSEND_CLI_H

#include <stddef.h>

#include "addr.h"
#include "attach.h"
#include "msg.h"

struct creds;
struct err;

enum tls_mode { TLS_AUTO, TLS_STARTTLS, TLS_IMPLICIT, TLS_NONE };

struct options {
	const char *host;
	int port;		/* 0 = default for the TLS mode */
	const char *helo;	/* NULL = this machine's name */
	int timeout_s;
	int family;		/* AF_UNSPEC, AF_INET, AF_INET6 */
	enum tls_mode tls;
	const char *cafile;
	int insecure;
	int have_from;
	struct mailbox from;
	int have_envelope_from;
	struct mailbox envelope_from;
	struct mailbox *to, *cc, *bcc;
	size_t nto, ncc, nbcc;
	const char *subject;
	const char *body_file;
	/* MIME composition */
	struct attach_opt *parts;	/* -a and --inline, in order given */
	size_t nparts;
	const char *html;
	const char **headers;		/* -H "Name: value", checked */
	size_t nheaders;
	struct mailbox *reply_to;
	size_t nreply_to;
	enum msg_priority priority;
	const char *charset;
	/* whole-message input */
	int raw;			/* --raw, or -t */
	int read_rcpt;			/* -t */
	int print;
	int verbose;
	int quiet;
	/* Credentials and TLS identity (see secret.h, sasl.h, tls.h). */
	const char *user;		/* -u: SASL authentication identity */
	const char *password_file;
	int password_fd;		/* -1 = none */
	const char *password_env;
	const char *password_cmd;
	const char *auth;		/* --auth MECH[,MECH...] */
	const char *oauth2_token_cmd;
	const char *sasl_service;	/* default "smtp" */
	const char *cert;		/* file or pkcs11: URI */
	const char *key;
	const char *cert_password_file;
	const char **tls_pins;		/* "sha256//BASE64" each */
	size_t ntls_pins;
	const char *tls_servername;
	int tls_min;			/* 0, 12 or 13 */
	const char *tls_priority;
	const char *tls_session_cache;	/* directory */
	int serverinfo;
	struct creds *creds;		/* gathered by main before connecting */
};

enum cli_result { CLI_RUN, CLI_EXIT_OK, CLI_VERSION };

/* Parse argv.  Errors: E_USAGE (bad option), E_DATA (bad address). */
int cli_parse(int argc, char **argv, struct options *o, struct err *e);
void cli_usage(void);
void options_release(struct options *o);
const char *tls_mode_name(enum tls_mode m);

#endif
