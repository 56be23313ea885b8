/*
 * err: how failures travel.  Functions that can fail return -1 (or a
 * negative ssize_t) and fill a caller-provided struct err; only main()
 * turns the kind into an exit status, through the one table in err.c.
 * The first error recorded wins: later calls to err_set() on an error that
 * is already set do not overwrite it, so the root cause is what the user
 * reads.
 */
#ifndef SMTPSEND_ERR_H
#define SMTPSEND_ERR_H

enum err_kind {
	E_OK = 0,
	E_USAGE,	/* bad options */
	E_DATA,		/* bad input data */
	E_NOINPUT,	/* an input file cannot be read */
	E_NOUSER,	/* recipient permanently rejected */
	E_NOHOST,	/* host name does not exist */
	E_UNAVAIL,	/* permanent refusal, TLS not offered, cert untrusted */
	E_SOFTWARE,	/* internal error */
	E_OSERR,	/* OS resource failure */
	E_CANTCREAT,	/* output directory not writable */
	E_IOERR,	/* local I/O error mid-message */
	E_TEMPFAIL,	/* worth retrying */
	E_PROTOCOL,	/* the server broke the protocol */
	E_NOPERM,	/* authentication refused, or refused locally */
	E_CONFIG,	/* bad configuration or TLS material */
	E_KIND_COUNT
};

struct err {
	enum err_kind kind;
	int smtp_code;		/* reply code behind the error, or 0 */
	int timed_out;		/* a deadline ran out */
	char msg[1024];		/* one line, already sanitised */
};

void err_init(struct err *e);
/* Record an error (unless one is already set); always returns -1. */
int err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The sysexits status for an error kind. */
int err_exit_code(enum err_kind kind);
/* Map an SMTP reply code to the kind it implies for the given phase. */
enum err_kind err_kind_for_reply(int code, int is_rcpt);

#endif
