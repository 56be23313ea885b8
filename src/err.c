/*
 * The single error-kind to exit-status table (design.md section 4, also
 * printed in the man page's EXIT STATUS section).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "err.h"

static const int exit_codes[E_KIND_COUNT] = {
	[E_OK] = EX_OK,
	[E_USAGE] = EX_USAGE,
	[E_DATA] = EX_DATAERR,
	[E_NOINPUT] = EX_NOINPUT,
	[E_NOUSER] = EX_NOUSER,
	[E_NOHOST] = EX_NOHOST,
	[E_UNAVAIL] = EX_UNAVAILABLE,
	[E_SOFTWARE] = EX_SOFTWARE,
	[E_OSERR] = EX_OSERR,
	[E_CANTCREAT] = EX_CANTCREAT,
	[E_IOERR] = EX_IOERR,
	[E_TEMPFAIL] = EX_TEMPFAIL,
	[E_PROTOCOL] = EX_PROTOCOL,
	[E_NOPERM] = EX_NOPERM,
	[E_CONFIG] = EX_CONFIG,
};

void
err_init(struct err *e)
{
	e->kind = E_OK;
	e->smtp_code = 0;
	e->timed_out = 0;
	e->status[0] = '\0';
	e->msg[0] = '\0';
}

int
err_set(struct err *e, enum err_kind kind, const char *fmt, ...)
{
	va_list ap;

	if (e->kind != E_OK)
		return -1;
	e->kind = kind;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void
err_hint(struct err *e, const char *fmt, ...)
{
	size_t n = strlen(e->msg);
	va_list ap;
	int r;

	if (e->kind == E_OK || n + 4 >= sizeof(e->msg))
		return;
	e->msg[n] = ' ';
	e->msg[n + 1] = '(';
	va_start(ap, fmt);
	r = vsnprintf(e->msg + n + 2, sizeof(e->msg) - n - 3, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= sizeof(e->msg) - n - 3) {
		e->msg[n] = '\0';	/* no room: the message stays as it was */
		return;
	}
	memcpy(e->msg + n + 2 + r, ")", 2);
}

int
err_exit_code(enum err_kind kind)
{
	if ((unsigned)kind >= E_KIND_COUNT)
		return EX_SOFTWARE;
	return exit_codes[kind];
}

/*
 * RFC 5321 section 4.2.1: 4yz is transient, 5yz permanent.  A permanent
 * refusal of a recipient is "no such user"; anywhere else it means the
 * service will not take this message.
 */
enum err_kind
err_kind_for_reply(int code, int is_rcpt)
{
	if (code >= 400 && code < 500)
		return E_TEMPFAIL;
	if (code >= 500 && code < 600)
		return is_rcpt ? E_NOUSER : E_UNAVAIL;
	return E_PROTOCOL;
}

#define AT_ANY	((1u << STAGE_COUNT) - 1)
#define AT(s)	(1u << (s))

/*
 * Enhanced status codes that change the exit status (RFC 3463, with the
 * later registrations of RFC 5248).  A pattern ending in '.' matches a
 * whole subject; the first matching row wins, so exact codes come first.
 * Keep this table and the man page's EXIT STATUS section in step.
 */
static const struct {
	const char *pattern;
	unsigned stages;
	enum err_kind kind;
} status_rules[] = {
	/* The sender address is what is wrong, wherever it is reported. */
	{ "5.1.7", AT_ANY, E_DATA },	/* bad sender mailbox syntax */
	{ "5.1.8", AT_ANY, E_DATA },	/* bad sender's system address */
	{ "5.1.", AT(STAGE_MAIL), E_DATA },
	/* Addressing status: the recipient does not exist or moved. */
	{ "5.1.", AT(STAGE_RCPT) | AT(STAGE_DATA), E_NOUSER },
	/* The message itself: too big, or content the path cannot carry. */
	{ "5.2.3", AT_ANY, E_DATA },	/* over an administrative limit */
	{ "5.3.4", AT_ANY, E_DATA },	/* too big for the system */
	{ "5.6.", AT_ANY, E_DATA },	/* media, incl. 5.6.7 (RFC 6531) */
	/* Authentication and its preconditions (RFC 4954, RFC 5248). */
	{ "5.7.8", AT_ANY, E_NOPERM },	/* credentials invalid */
	{ "5.7.9", AT_ANY, E_NOPERM },	/* mechanism too weak */
	{ "5.7.10", AT_ANY, E_NOPERM },	/* encryption needed */
	{ "5.7.11", AT_ANY, E_NOPERM },	/* encryption required for mech */
	{ "5.7.13", AT_ANY, E_NOPERM },	/* account disabled */
	{ "5.7.14", AT_ANY, E_NOPERM },	/* trust relationship required */
	/* RFC 8689 section 5: a hop without REQUIRETLS on the way. */
	{ "5.7.30", AT_ANY, E_UNAVAIL },
};

static int
status_matches(const char *pattern, const char *status)
{
	size_t n = strlen(pattern);

	if (pattern[n - 1] == '.')
		return strncmp(pattern, status, n) == 0;
	return strcmp(pattern, status) == 0;
}

enum err_kind
err_refine(enum err_kind kind, int code, const char *status,
    enum err_stage stage, int size_used)
{
	size_t i;

	if (code < 500 || code > 599)
		return kind;
	/* RFC 4954 section 6: refusals that are about authentication. */
	if (code == 530 || code == 534 || code == 535 || code == 538)
		return E_NOPERM;
	/* RFC 1870 sections 6.1 and 6.3: 552 means the message is too big. */
	if (code == 552 && size_used && (stage == STAGE_MAIL ||
	    stage == STAGE_DATA))
		return E_DATA;
	if (status == NULL || status[0] != '5')
		return kind;
	for (i = 0; i < sizeof(status_rules) / sizeof(status_rules[0]); i++)
		if ((status_rules[i].stages & AT(stage)) &&
		    status_matches(status_rules[i].pattern, status))
			return status_rules[i].kind;
	return kind;
}
