/*
 * Unit checks for smtp.c (and conn.c under it): reply parsing, EHLO
 * capabilities, the data writer's line ends and dot-stuffing, and the
 * BDAT writer's text and binary (RFC 3030) content, run over a
 * socketpair so the bytes checked are the bytes a server reads.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
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

/*
 * An SMTP stream for the code under test; whatever it sends can be read
 * from sv[1], as a server would.
 */
static struct conn *
pair_open(struct smtp *s, int sv[2])
{
	struct conn *c = malloc(sizeof(*c));

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	conn_init(c, sv[0], &dl);
	memset(s, 0, sizeof(*s));
	s->conn = c;
	return c;
}

/* Feed raw server bytes and read one reply from them. */
static int
read_reply(const char *raw, struct smtp_reply *r, struct err *e)
{
	struct conn *c;
	struct smtp s;
	int sv[2], rc;

	c = pair_open(&s, sv);
	if (write(sv[1], raw, strlen(raw)) < 0)
		return -1;
	close(sv[1]);
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
	struct conn *c;
	struct smtp s;
	struct smtp_data d;
	struct err e;
	static char out[4096];
	size_t i, k, n = strlen(in);
	ssize_t got, total = 0;
	int sv[2];

	err_init(&e);
	c = pair_open(&s, sv);
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
	struct conn *c;
	char want[4096], *w = want;
	struct smtp s;
	struct smtp_chunk ck;
	struct err e;
	ssize_t got, total = 0;
	int sv[2];

	err_init(&e);
	c = pair_open(&s, sv);
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

/* The writer's rules one octet at a time, for comparison. */
static size_t
stuff_reference(const char *in, size_t n, char *out)
{
	size_t i, o = 0;
	int bol = 1;

	for (i = 0; i < n; i++) {
		if (in[i] == '\r' || in[i] == '\n') {
			if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
				i++;
			out[o++] = '\r';
			out[o++] = '\n';
			bol = 1;
			continue;
		}
		if (bol && in[i] == '.')
			out[o++] = '.';
		out[o++] = in[i];
		bol = 0;
	}
	if (!bol) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	return o + 3;
}

/*
 * Several times the connection's write buffer, in pieces of changing
 * size, so that lines straddle both the pieces and the buffer's end: a
 * child process reads what a server would see.
 */
static void
test_data_writer_bulk(void)
{
	static char in[300000], want[700000], got[700000];
	static const char *const ends[] = { "\n", "\r\n", "\r" };
	struct conn *c;
	struct smtp s;
	struct smtp_data d;
	struct err e;
	unsigned long x = 12345;
	size_t n = 0, len, k, i, step, nwant, ngot = 0;
	ssize_t r;
	int sv[2], fds[2], rc = 0;
	pid_t pid;

	while (n < sizeof(in) - 1100) {
		x = x * 6364136223846793005UL + 1442695040888963407UL;
		len = (x >> 33) % 90 == 0 ? 990 : (x >> 40) % 80;
		for (k = 0; k < len; k++)
			in[n + k] = (char)('A' + (x >> (k % 40)) % 58);
		if (len > 0 && (x >> 20) % 7 == 0)
			in[n] = '.';
		n += len;
		memcpy(in + n, ends[(x >> 50) % 3], strlen(ends[(x >> 50) % 3]));
		n += strlen(ends[(x >> 50) % 3]);
	}
	memcpy(in + n, ".no end", 7);
	n += 7;
	nwant = stuff_reference(in, n, want);

	err_init(&e);
	c = pair_open(&s, sv);
	if (pipe(fds) < 0 || (pid = fork()) < 0)
		return;
	if (pid == 0) {
		/* Relay what arrives to the parent through a pipe. */
		close(sv[0]);
		close(fds[0]);
		while ((r = read(sv[1], got, sizeof(got))) > 0)
			if (write(fds[1], got, (size_t)r) != r)
				_exit(1);
		_exit(0);
	}
	close(sv[1]);
	close(fds[1]);
	smtp_data_init(&d);
	for (i = 0, step = 1; i < n && rc == 0; i += step) {
		step = step * 7 % 70001 + 1;
		if (step > n - i)
			step = n - i;
		rc = smtp_data_write(&s, &d, in + i, step, &e);
	}
	if (rc == 0)
		rc = smtp_data_end(&s, &d, &e);
	CHECK(rc == 0);
	conn_close(c);
	free(c);
	while ((r = read(fds[0], got + ngot, sizeof(got) - ngot)) > 0)
		ngot += (size_t)r;
	close(fds[0]);
	waitpid(pid, NULL, 0);
	CHECK(ngot == nwant && memcmp(got, want, nwant) == 0);
	/* SIZE counts CRLF but neither the stuffed dots nor the final one. */
	for (i = 0, k = 0; i + 1 < nwant; i++)
		k += (i == 0 || want[i - 1] == '\n') && want[i] == '.' &&
		    i + 3 < nwant;
	CHECK(d.octets == nwant - 3 - k);
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
	test_data_writer_bulk();
	return check_report("test-smtp");
}
