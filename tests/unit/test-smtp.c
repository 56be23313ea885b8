/*
 * Unit checks for smtp.c (and conn.c under it): reply parsing, EHLO
 * capabilities, the data writer's line ends and dot-stuffing, and the
 * BDAT writer's text and binary (RFC 3030) content, run over a
 * socketpair so the bytes checked are the bytes a server reads.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "deadline.h"
#include "err.h"
#include "smtp.h"
#include "check.h"

static struct deadline dl;

static void
test_parse_line(void)
{
	const char *text;
	int last;

	CHECK(smtp_parse_line("250 ok", 6, &last, &text) == 250 && last);
	CHECK(smtp_parse_line("250-ok", 6, &last, &text) == 250 && !last);
	CHECK(smtp_parse_line("220", 3, &last, &text) == 220 && last);
	CHECK(smtp_parse_line("hello there", 11, &last, &text) < 0);
	CHECK(smtp_parse_line("250ok", 5, &last, &text) < 0);
	CHECK(smtp_parse_line("199 x", 5, &last, &text) < 0);
	CHECK(smtp_parse_line("25", 2, &last, &text) < 0);
}

/* Feed raw server bytes and read one reply from them. */
static int
read_reply(const char *raw, struct smtp_reply *r, struct err *e)
{
	struct conn *c = malloc(sizeof(*c));
	struct smtp s;
	int sv[2], rc;

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	if (write(sv[1], raw, strlen(raw)) < 0)
		return -1;
	close(sv[1]);
	conn_init(c, sv[0], &dl);
	memset(&s, 0, sizeof(s));
	s.conn = c;
	rc = smtp_read_reply(&s, r, e);
	conn_close(c);
	free(c);
	return rc;
}

static void
test_replies(void)
{
	struct smtp_reply r;
	struct smtp_caps caps;
	struct err e;
	char big[3000];

	smtp_reply_init(&r);
	err_init(&e);
	CHECK(read_reply("250-mx.example\r\n250-PIPELINING\r\n250-size 1000\r\n"
	    "250-AUTH PLAIN LOGIN\r\n250-8bitmime\r\n250 STARTTLS\r\n", &r,
	    &e) == 0);
	CHECK(r.code == 250 && r.nlines == 6);
	smtp_parse_ehlo(&caps, &r);
	CHECK(caps.flags & CAP_PIPELINING);
	CHECK(caps.flags & CAP_8BITMIME);
	CHECK(caps.flags & CAP_STARTTLS);
	CHECK(caps.size_max == 1000);
	CHECK_STR(caps.auth, "PLAIN LOGIN");
	CHECK(!(caps.flags & CAP_SMTPUTF8));

	CHECK(read_reply("550 5.1.1 no such user\r\n", &r, &e) == 0);
	CHECK(r.code == 550);
	CHECK_STR(r.status, "5.1.1");

	err_init(&e);
	CHECK(read_reply("250-a\r\n251 b\r\n", &r, &e) < 0);
	CHECK(e.kind == E_PROTOCOL);

	err_init(&e);
	memset(big, 'x', sizeof(big));
	memcpy(big, "250 ", 4);
	memcpy(big + sizeof(big) - 3, "\r\n", 3);
	CHECK(read_reply(big, &r, &e) < 0);
	CHECK(e.kind == E_PROTOCOL);

	err_init(&e);
	CHECK(read_reply("250 cut off", &r, &e) < 0);
	CHECK(e.kind == E_TEMPFAIL);
	smtp_reply_release(&r);
}

/* Run the data writer over input split every step bytes. */
static char *
stuff(const char *in, size_t step, int *rc)
{
	struct conn *c = malloc(sizeof(*c));
	struct smtp s;
	struct smtp_data d;
	struct err e;
	static char out[4096];
	size_t i, k, n = strlen(in);
	ssize_t got, total = 0;
	int sv[2];

	err_init(&e);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	conn_init(c, sv[0], &dl);
	memset(&s, 0, sizeof(s));
	s.conn = c;
	smtp_data_init(&d);
	*rc = 0;
	for (i = 0; i < n && *rc == 0; i += k) {
		k = step && step < n - i ? step : n - i;
		*rc = smtp_data_write(&s, &d, in + i, k, &e);
	}
	if (*rc == 0)
		*rc = smtp_data_end(&s, &d, &e);
	conn_close(c);
	free(c);
	while ((got = read(sv[1], out + total, sizeof(out) - 1 -
	    (size_t)total)) > 0)
		total += got;
	out[total] = '\0';
	close(sv[1]);
	return out;
}

static void
test_data_writer(void)
{
	static const char in[] = ".a\n..b\r\nc\rd\n\n.";
	static const char want[] = "..a\r\n...b\r\nc\r\nd\r\n\r\n..\r\n.\r\n";
	char line[1001];
	size_t step;
	int rc;

	for (step = 0; step < 5; step++) {
		CHECK_STR(stuff(in, step, &rc), want);
		CHECK(rc == 0);
	}
	CHECK_STR(stuff("", 0, &rc), ".\r\n");
	CHECK_STR(stuff("x", 0, &rc), "x\r\n.\r\n");
	memset(line, 'y', 999);
	line[999] = '\0';
	stuff(line, 0, &rc);
	CHECK(rc < 0);
	line[998] = '\0';
	stuff(line, 0, &rc);
	CHECK(rc == 0);
}

/*
 * BDAT: text gets CRLF line ends (a CR pending at a binary piece ends its
 * line first); binary content goes as it is, NUL, bare CR and LF, a dot
 * and a line over 998 octets included, and adds no CRLF of its own.
 */
static void
test_chunk_writer(void)
{
	static const char raw[] = "\r\n.\0x\n";
	static char big[SMTP_CHUNK_MAX + 10], out[4096];
	struct conn *c = malloc(sizeof(*c));
	char want[4096], *w = want;
	struct smtp s;
	struct smtp_chunk ck;
	struct err e;
	ssize_t got, total = 0;
	int sv[2];

	err_init(&e);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	conn_init(c, sv[0], &dl);
	memset(&s, 0, sizeof(s));
	s.conn = c;
	memset(big, 'z', sizeof(big));
	smtp_chunk_init(&ck);
	CHECK(smtp_chunk_add(&ck, "a\n\r", 3, &e) == 3);
	CHECK(smtp_chunk_add_raw(&ck, raw, sizeof(raw) - 1) ==
	    sizeof(raw) - 1);
	CHECK(smtp_chunk_add_raw(&ck, big, 2000) == 2000);
	CHECK(smtp_chunk_add(&ck, "\n--b\n", 5, &e) == 5);
	CHECK(smtp_chunk_queue(&s, &ck, 1, &e) == 0);
	CHECK(conn_flush(c, &e) == 0);
	conn_close(c);
	free(c);
	while ((got = read(sv[1], out + total, sizeof(out) - (size_t)total)) >
	    0)
		total += got;
	close(sv[1]);
	w += snprintf(w, 64, "BDAT %zu LAST\r\n", 5 + sizeof(raw) - 1 +
	    2000 + 7);
	memcpy(w, "a\r\n\r\n", 5);
	memcpy(w + 5, raw, sizeof(raw) - 1);
	w += 5 + sizeof(raw) - 1;
	memset(w, 'z', 2000);
	memcpy(w + 2000, "\r\n--b\r\n", 7);
	w += 2007;
	CHECK(total == w - want && memcmp(out, want, (size_t)total) == 0);
	/* Binary content fills a chunk to its last octet, and no further. */
	CHECK(smtp_chunk_add(&ck, "t", 1, &e) == 1);
	CHECK(smtp_chunk_add_raw(&ck, big, sizeof(big)) ==
	    SMTP_CHUNK_MAX - 1);
	CHECK(smtp_chunk_full(&ck));
	CHECK(smtp_chunk_add_raw(&ck, big, 1) == 0);
	smtp_chunk_free(&ck);
}

int
main(void)
{
	deadline_init(&dl, 5000);
	deadline_phase(&dl, "test", 5000);
	test_parse_line();
	test_replies();
	test_data_writer();
	test_chunk_writer();
	return check_report("test-smtp");
}
