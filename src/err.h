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
	char status[16];	/* its RFC 3463 enhanced code, or "" */
	char msg[1024];		/* one line, already sanitised */
};

/*
 * Where in the transaction a reply was given; the same enhanced status
 * code can mean different things at MAIL and at RCPT.
 */
enum err_stage {
	STAGE_OTHER = 0,	/* greeting, EHLO, STARTTLS, AUTH, QUIT */
	STAGE_MAIL,		/* reply to MAIL FROM */
	STAGE_RCPT,		/* reply to RCPT TO */
	STAGE_DATA,		/* reply to DATA or to the final dot */
	STAGE_COUNT
};

void err_init(struct err *e);
/* Record an error (unless one is already set); always returns -1. */
int err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Add a likely fix to the error already recorded: " (fix)" at the end of
 * its one line, when there is room.  Nothing happens without an error.
 */
void err_hint(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The sysexits status for an error kind. */
int err_exit_code(enum err_kind kind);
/* Map an SMTP reply code to the kind it implies for the given phase. */
enum err_kind err_kind_for_reply(int code, int is_rcpt);
/*
 * Refine the kind chosen by err_kind_for_reply() with what the server
 * said more precisely: the reply code where RFC 1870 or RFC 4954 give it
 * a meaning, and the RFC 3463 enhanced status code (status, "" if none;
 * pass "" unless the server advertised ENHANCEDSTATUSCODES).  size_used
 * says SIZE was advertised by the server.  Returns kind unchanged when
 * no rule applies; 4xx replies are never refined (always retry later).
 * The man page's EXIT STATUS section lists the same rules.
 */
enum err_kind err_refine(enum err_kind kind, int code, const char *status,
    enum err_stage stage, int size_used);

#endif
