/*
 * Unit checks for the SMTP extension helpers: robust EHLO capability
 * parsing, enhanced status codes (RFC 3463) and the exit-status
 * refinements built on them, and the xtext (RFC 3461) and unitext (RFC
 * 6533) parameter encodings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "conn.h"
#include "deadline.h"
#include "err.h"
#include "smtp.h"
#include "check.h"

/* A reply as smtp_read_reply() leaves it: lines without codes. */
static void
fake_reply(struct smtp_reply *r, int code, const char *text)
{
	smtp_reply_init(r);
	r->code = code;
	buf_adds(&r->text, text);
}

static void
caps_of(struct smtp_caps *caps, const char *text)
{
	struct smtp_reply r;

	fake_reply(&r, 250, text);
	smtp_parse_ehlo(caps, &r);
	smtp_reply_release(&r);
}

static void
test_capabilities(void)
{
	struct smtp_caps c;

	/* Keywords in any case; parameters after a space. */
	caps_of(&c, "mx.example greets you\nsmtputf8\nDsn\nRequireTLS\n"
	    "enhancedstatuscodes\nSize 52428800");
	CHECK(c.flags & CAP_SMTPUTF8);
	CHECK(c.flags & CAP_DSN);
	CHECK(c.flags & CAP_REQUIRETLS);
	CHECK(c.flags & CAP_ENHANCEDSTATUSCODES);
	CHECK(c.flags & CAP_SIZE);
	CHECK(c.size_max == 52428800ULL);
	CHECK(!(c.flags & CAP_8BITMIME));

	/* The greeting line is never a keyword. */
	caps_of(&c, "DSN\nPIPELINING");
	CHECK(!(c.flags & CAP_DSN));
	CHECK(c.flags & CAP_PIPELINING);

	/* Prefixes and unknown extensions are not mistaken for ours. */
	caps_of(&c, "mx\nDSNX\nSIZEABLE 10\nX-EXPS GSSAPI\nXSMTPUTF8\n"
	    "8BITMIMEISH\nVRFY\nETRN");
	CHECK(c.flags == 0);
	CHECK(c.size_max == 0);

	/* SIZE without a number, with 0, or with garbage: no stated limit. */
	caps_of(&c, "mx\nSIZE");
	CHECK((c.flags & CAP_SIZE) && c.size_max == 0);
	caps_of(&c, "mx\nSIZE 0");
	CHECK((c.flags & CAP_SIZE) && c.size_max == 0);
	caps_of(&c, "mx\nSIZE lots");
	CHECK((c.flags & CAP_SIZE) && c.size_max == 0);
	caps_of(&c, "mx\nSIZE 12ab");
	CHECK((c.flags & CAP_SIZE) && c.size_max == 0);
	/* A number too big to hold is as good as no limit at all. */
	caps_of(&c, "mx\nSIZE 99999999999999999999999999");
	CHECK(c.size_max == ~0ULL);

	/* Duplicated lines: the smallest limit, each mechanism once. */
	caps_of(&c, "mx\nSIZE 5000\nAUTH PLAIN LOGIN\nSIZE 3000\n"
	    "AUTH=LOGIN PLAIN\nSIZE 0\nDSN\nDSN");
	CHECK(c.size_max == 3000);
	CHECK(c.flags & CAP_DSN);
	CHECK_STR(c.auth, "PLAIN LOGIN");

	/* Stray blanks and tabs around keywords and parameters. */
	caps_of(&c, "mx\n  SIZE\t 2048  \nDSN \n\tSMTPUTF8");
	CHECK(c.size_max == 2048);
	CHECK(c.flags & CAP_DSN);
	CHECK(c.flags & CAP_SMTPUTF8);
}

/* The enhanced status smtp_read_reply() finds in raw server bytes. */
static const char *
status_of(const char *raw)
{
	static char out[16];
	static struct deadline dl;
	struct smtp_reply r;
	struct conn *c = malloc(sizeof(*c));
	struct smtp s;
	struct err e;
	int sv[2];

	deadline_init(&dl, 5000);
	err_init(&e);
	smtp_reply_init(&r);
	out[0] = '\0';
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 &&
	    write(sv[1], raw, strlen(raw)) >= 0) {
		close(sv[1]);
		conn_init(c, sv[0], &dl);
		memset(&s, 0, sizeof(s));
		s.conn = c;
		if (smtp_read_reply(&s, &r, &e) == 0)
			snprintf(out, sizeof(out), "%s", r.status);
		else
			snprintf(out, sizeof(out), "(error)");
		conn_close(c);
	}
	free(c);
	smtp_reply_release(&r);
	return out;
}

static void
test_status_codes(void)
{
	CHECK_STR(status_of("550 5.1.1 no such user\r\n"), "5.1.1");
	CHECK_STR(status_of("550-5.1.1 first\r\n550 5.1.1 second\r\n"),
	    "5.1.1");
	CHECK_STR(status_of("552 5.3.4\r\n"), "5.3.4");
	CHECK_STR(status_of("554 5.7.30 REQUIRETLS needed\r\n"), "5.7.30");
	CHECK_STR(status_of("250 2.1.5 Ok\r\n"), "2.1.5");
	/* The class must be the reply's own; parts have 1 to 3 digits. */
	CHECK_STR(status_of("550 4.1.1 mismatch\r\n"), "");
	CHECK_STR(status_of("550 55.1.1 two-digit class\r\n"), "");
	CHECK_STR(status_of("550 5.1234.1 long subject\r\n"), "");
	CHECK_STR(status_of("550 5.1.1234 long detail\r\n"), "");
	CHECK_STR(status_of("550 5.1 too short\r\n"), "");
	CHECK_STR(status_of("550 5.1.1.1 too many\r\n"), "");
	CHECK_STR(status_of("550 5.1.1x glued\r\n"), "");
	CHECK_STR(status_of("550 no code here\r\n"), "");
	CHECK_STR(status_of("550\r\n"), "");
}

static void
test_status_text(void)
{
	CHECK_STR(smtp_status_text("5.1.1"), "bad destination mailbox address");
	CHECK_STR(smtp_status_text("4.2.2"), "mailbox full");
	CHECK_STR(smtp_status_text("5.7.30"), "REQUIRETLS support required");
	CHECK_STR(smtp_status_text("5.6.7"),
	    "non-ASCII addresses not permitted");
	CHECK(smtp_status_text("5.9.99") == NULL);
	CHECK(smtp_status_text("") == NULL);
	CHECK(smtp_status_text(NULL) == NULL);
}

static void
test_refine(void)
{
	/* 4xx is always "try again later", whatever the detail says. */
	CHECK(err_refine(E_TEMPFAIL, 452, "4.3.4", STAGE_MAIL, 1) ==
	    E_TEMPFAIL);
	CHECK(err_refine(E_TEMPFAIL, 450, "4.1.8", STAGE_RCPT, 0) ==
	    E_TEMPFAIL);
	/* 5.1.x: the recipient, except at MAIL and for sender details. */
	CHECK(err_refine(E_UNAVAIL, 550, "5.1.1", STAGE_DATA, 0) == E_NOUSER);
	CHECK(err_refine(E_NOUSER, 550, "5.1.10", STAGE_RCPT, 0) == E_NOUSER);
	CHECK(err_refine(E_UNAVAIL, 553, "5.1.8", STAGE_MAIL, 0) == E_DATA);
	CHECK(err_refine(E_NOUSER, 550, "5.1.8", STAGE_RCPT, 0) == E_DATA);
	CHECK(err_refine(E_NOUSER, 553, "5.1.7", STAGE_RCPT, 0) == E_DATA);
	CHECK(err_refine(E_UNAVAIL, 550, "5.1.0", STAGE_MAIL, 0) == E_DATA);
	CHECK(err_refine(E_UNAVAIL, 550, "5.1.1", STAGE_OTHER, 0) ==
	    E_UNAVAIL);
	/* Too big, or content the path cannot carry. */
	CHECK(err_refine(E_UNAVAIL, 552, "5.3.4", STAGE_DATA, 0) == E_DATA);
	CHECK(err_refine(E_UNAVAIL, 552, "5.2.3", STAGE_DATA, 0) == E_DATA);
	CHECK(err_refine(E_NOUSER, 553, "5.6.7", STAGE_RCPT, 0) == E_DATA);
	CHECK(err_refine(E_UNAVAIL, 554, "5.6.9", STAGE_DATA, 0) == E_DATA);
	/* RFC 1870: 552 at MAIL or end of data when SIZE is in play. */
	CHECK(err_refine(E_UNAVAIL, 552, "", STAGE_MAIL, 1) == E_DATA);
	CHECK(err_refine(E_UNAVAIL, 552, "", STAGE_DATA, 1) == E_DATA);
	CHECK(err_refine(E_UNAVAIL, 552, "", STAGE_MAIL, 0) == E_UNAVAIL);
	CHECK(err_refine(E_NOUSER, 552, "", STAGE_RCPT, 1) == E_NOUSER);
	/* Authentication. */
	CHECK(err_refine(E_UNAVAIL, 530, "5.7.0", STAGE_MAIL, 0) == E_NOPERM);
	CHECK(err_refine(E_UNAVAIL, 530, "", STAGE_MAIL, 0) == E_NOPERM);
	CHECK(err_refine(E_UNAVAIL, 535, "", STAGE_OTHER, 0) == E_NOPERM);
	CHECK(err_refine(E_UNAVAIL, 554, "5.7.8", STAGE_OTHER, 0) == E_NOPERM);
	CHECK(err_refine(E_UNAVAIL, 554, "5.7.9", STAGE_OTHER, 0) == E_NOPERM);
	CHECK(err_refine(E_UNAVAIL, 554, "5.7.11", STAGE_OTHER, 0) ==
	    E_NOPERM);
	CHECK(err_refine(E_UNAVAIL, 550, "5.7.13", STAGE_MAIL, 0) ==
	    E_NOPERM);
	/* A policy refusal of a recipient stays "recipient refused". */
	CHECK(err_refine(E_NOUSER, 554, "5.7.1", STAGE_RCPT, 0) == E_NOUSER);
	CHECK(err_refine(E_UNAVAIL, 554, "5.7.1", STAGE_MAIL, 0) == E_UNAVAIL);
	/* RFC 8689: REQUIRETLS lost on the way is not the recipient's fault. */
	CHECK(err_refine(E_NOUSER, 550, "5.7.30", STAGE_RCPT, 0) == E_UNAVAIL);
	/* No status, unknown status. */
	CHECK(err_refine(E_UNAVAIL, 554, "", STAGE_DATA, 0) == E_UNAVAIL);
	CHECK(err_refine(E_UNAVAIL, 554, "5.9.9", STAGE_DATA, 0) == E_UNAVAIL);
}

static char *
encoded(int (*fn)(struct buf *, const char *), const char *in, size_t cap)
{
	struct buf b;

	buf_init(&b, cap);
	if (fn(&b, in) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static void
test_encodings(void)
{
	char *s;

	s = encoded(smtp_xtext, "a+b=c d\x7f~!", 100);
	CHECK_STR(s, "a+2Bb+3Dc+20d+7F~!");
	free(s);
	s = encoded(smtp_xtext, "b\xc3\xbc", 100);
	CHECK_STR(s, "b+C3+BC");
	free(s);
	s = encoded(smtp_unitext, "\"a b\\c\"+=@\xe4\xbe\x8b.test", 100);
	CHECK_STR(s, "\"a\\x{20}b\\x{5C}c\"\\x{2B}\\x{3D}@\xe4\xbe\x8b.test");
	free(s);
	/* A buffer that is too small fails instead of truncating. */
	CHECK(encoded(smtp_xtext, "++++", 8) == NULL);
}

/* RFC 6531 forms of an address, and when it needs SMTPUTF8. */
static void
test_addresses(void)
{
	struct mailbox mb;
	struct err e;
	char *a;

	err_init(&e);
	CHECK(addr_parse("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
	    "\xe6\xb5\x8b\xe8\xaf\x95", "t", 0, &mb, &e) == 0);
	CHECK(addr_is_intl(&mb) && mb.utf8_local);
	CHECK_STR(mb.domain_ascii, "xn--fsqu00a.xn--0zwm56d");
	CHECK_STR(mb.domain_utf8, "\xe4\xbe\x8b\xe5\xad\x90.\xe6\xb5\x8b"
	    "\xe8\xaf\x95");
	a = addr_envelope_utf8(&mb);
	CHECK_STR(a, "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
	    "\xe6\xb5\x8b\xe8\xaf\x95");
	free(a);
	mailbox_release(&mb);

	/* U-labels come back normalised from the A-label (lower case). */
	CHECK(addr_parse("user@B\xc3\xbc" "cher.Example", "t", 0, &mb,
	    &e) == 0);
	CHECK(addr_is_intl(&mb) && !mb.utf8_local);
	CHECK_STR(mb.domain_ascii, "xn--bcher-kva.example");
	CHECK_STR(mb.domain_utf8, "b\xc3\xbc" "cher.example");
	mailbox_release(&mb);

	/* An A-label written as such is ASCII and stays as written. */
	CHECK(addr_parse("a@xn--fsqu00a.xn--0zwm56d", "t", 0, &mb, &e) == 0);
	CHECK(!addr_is_intl(&mb));
	CHECK_STR(mb.domain_utf8, "xn--fsqu00a.xn--0zwm56d");
	mailbox_release(&mb);
	CHECK(e.kind == E_OK);
}

int
main(void)
{
	test_capabilities();
	test_status_codes();
	test_status_text();
	test_refine();
	test_encodings();
	test_addresses();
	return check_report("test-ext");
}
