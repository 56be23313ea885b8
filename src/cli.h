/*
 * cli: the command line (getopt_long) turned into a struct options that
 * is read-only afterwards.  Every address and header text is validated
 * here, before anything touches the network.
 */
#ifndef SMTPSEND_CLI_H
#define SMTPSEND_CLI_H

#include <stddef.h>

#include "addr.h"

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
	int print;
	int verbose;
	int quiet;
	/* delivery: pickup directory, queue, flush (design.md section 6) */
	const char *pickup_dir;	/* --pickup-dir: write, do not send */
	const char *queue_dir;	/* --queue-on-failure */
	const char *flush_dir;	/* --flush */
	long max_age_s;		/* --max-age for --flush */
	int rcpt_continue;	/* --on-rcpt-reject continue */
};

#define CLI_MAX_AGE_DEFAULT	(5L * 24 * 3600)

enum cli_result { CLI_RUN, CLI_EXIT_OK, CLI_VERSION };

/* Parse argv.  Errors: E_USAGE (bad option), E_DATA (bad address). */
int cli_parse(int argc, char **argv, struct options *o, struct err *e);
void cli_usage(void);
void options_release(struct options *o);
const char *tls_mode_name(enum tls_mode m);

#endif
