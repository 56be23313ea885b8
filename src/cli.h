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

struct config;
struct creds;
struct report;
struct err;

enum tls_mode { TLS_AUTO, TLS_STARTTLS, TLS_IMPLICIT, TLS_NONE };

/* RFC 3461 section 4.1: when delivery status notifications are wanted. */
enum dsn_notify_flags {
	DSN_NOTIFY_NEVER = 1 << 0,
	DSN_NOTIFY_SUCCESS = 1 << 1,
	DSN_NOTIFY_FAILURE = 1 << 2,
	DSN_NOTIFY_DELAY = 1 << 3,
};

/* RFC 3461 section 4.3: what a notification carries of the message. */
enum dsn_ret { DSN_RET_UNSET, DSN_RET_FULL, DSN_RET_HDRS };

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
	struct report *report;		/* results, filled as the run goes */
	/* SMTP extensions (RFC 3461 DSN, RFC 8689 REQUIRETLS, RFC 3030) */
	unsigned dsn_notify;	/* DSN_NOTIFY_* flags; 0 = not asked for */
	enum dsn_ret dsn_ret;
	const char *envid;	/* ENVID, printable ASCII, or NULL */
	int dsn_required;	/* no DSN at the server: fail, not warn */
	int no_chunking;	/* --no-chunking: DATA, never BDAT */
	int binary_attachments;	/* BINARYMIME parts when possible */
	int require_tls;	/* --require-tls */
	/* delivery: pickup directory, queue, flush (design.md section 6) */
	const char *pickup_dir;	/* --pickup-dir: write, do not send */
	const char *queue_dir;	/* --queue-on-failure */
	const char *flush_dir;	/* --flush */
	long max_age_s;		/* --max-age for --flush */
	int rcpt_continue;	/* --on-rcpt-reject continue */
	/* Configuration, sendmail mode and results (issue 5) */
	struct config *cfg;		/* the file read, owned; or NULL */
	const char *account;		/* the account used, or NULL */
	int account_pinned;		/* chosen by -A, -f or environment */
	int argc;			/* the command line, for */
	char **argv;			/* cli_account_by_author() */
	int sendmail;			/* sendmail's command line */
	const char *full_name;		/* -F: display name for our From */
	int json;			/* --json */
	const char *syslog_facility;	/* --syslog: "mail", ...; NULL: off */
	const char *log_file;		/* --log */
	int progress;			/* 0: --no-progress */
	const char *local_domain;	/* for bare local recipients */
	const char *aliases;		/* /etc/aliases-style file */
	struct bare_rcpt *bare;		/* bare local names, resolved late */
	size_t nbare;
	int layer;			/* the source being applied */
	int compose_layer;		/* ... that last set -s, -a, -H... */
	int pw_layer;			/* ... that set the password source */
};

/* A recipient written without a domain ("root"), and where it goes. */
struct bare_rcpt {
	char *name;		/* the local name */
	const char *host;	/* "localhost" of "root@localhost", or NULL */
	int kind;		/* 't' to, 'c' cc, 'b' bcc */
};

#define CLI_MAX_AGE_DEFAULT	(5L * 24 * 3600)

enum cli_result { CLI_RUN, CLI_EXIT_OK, CLI_VERSION };

/*
 * Parse argv.  Errors: E_USAGE (bad option), E_DATA (bad address).
 * Addresses outside ASCII are accepted here; whether they can be sent is
 * decided once the server's capabilities are known (session.c).
 */
int cli_parse(int argc, char **argv, struct options *o, struct err *e);
/*
 * With whole-message input the author is known only once the message is
 * read.  When neither the command line nor the environment chose an
 * account (-A, -f, SMTPSEND_ACCOUNT, SMTPSEND_FROM) and an account's from
 * is author, o is built again with that account, keeping o->report.
 * Returns 1 when it was, 0 when nothing changed, -1 on an error in that
 * account (E_CONFIG, E_USAGE...).
 */
int cli_account_by_author(struct options *o, const char *author,
    struct err *e);
/* --help (all = 0: the common options; 1: every option). */
void cli_usage(int all);
/* Every long option's name, one a line (for the man-page check). */
void cli_list_options(void);
void options_release(struct options *o);
const char *tls_mode_name(enum tls_mode m);
/* True when any DSN option (--dsn-notify, --dsn-ret, --envid) was given. */
int options_want_dsn(const struct options *o);

#endif
