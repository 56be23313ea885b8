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
