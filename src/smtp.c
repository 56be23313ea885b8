/* SMTP protocol primitives: see smtp.h. */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "deadline.h"
#include "err.h"
#include "log.h"
#include "smtp.h"
#include "xmalloc.h"

int
smtp_cmd(struct smtp *s, struct err *e, const char *fmt, ...)
{
	char line[SMTP_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return err_set(e, E_SOFTWARE, "command too long");
	/* Nothing that reaches here may break the command line apart. */
	if (strpbrk(line, "\r\n") != NULL)
		return err_set(e, E_SOFTWARE, "line break inside a command");
	log_proto("-->", line, (size_t)n);
	memcpy(line + n, "\r\n", 2);
	return conn_write(s->conn, line, (size_t)n + 2, e);
}

int
smtp_cmd_secret(struct smtp *s, const char *shown, const char *secret,
    size_t len, struct err *e)
{
	char line[SMTP_LINE_MAX];
	size_t n = strlen(shown);

	if (n + 11 >= sizeof(line) || strpbrk(shown, "\r\n") != NULL ||
	    memchr(secret, '\r', len) != NULL ||
	    memchr(secret, '\n', len) != NULL)
		return err_set(e, E_SOFTWARE, "bad AUTH line");
	/* The secret never reaches the transcript, in any encoding. */
	snprintf(line, sizeof(line), "%s<redacted>", shown);
	log_proto("-->", line, strlen(line));
	if (conn_write(s->conn, shown, n, e) < 0 ||
	    conn_write(s->conn, secret, len, e) < 0)
		return -1;
	return conn_write(s->conn, "\r\n", 2, e);
}

int
smtp_flush(struct smtp *s, struct err *e)
{
	return conn_flush(s->conn, e);
}

void
smtp_reply_init(struct smtp_reply *r)
{
	r->code = 0;
	r->status[0] = '\0';
	r->nlines = 0;
	buf_init(&r->text, SMTP_REPLY_MAX_TEXT);
}

void
smtp_reply_release(struct smtp_reply *r)
{
	buf_release(&r->text);
}

int
smtp_parse_line(const char *line, size_t len, int *last, const char **text)
{
	const unsigned char *u = (const unsigned char *)line;

	/* RFC 5321 section 4.2: three digits, then SP, '-' or the end. */
	if (len < 3 || u[0] < '2' || u[0] > '5' || u[1] < '0' || u[1] > '5' ||
	    !isdigit(u[2]))
		return -1;
	if (len == 3) {
		*last = 1;
		*text = line + 3;
	} else if (line[3] == ' ' || line[3] == '-') {
		*last = line[3] == ' ';
		*text = line + 4;
	} else {
		return -1;
	}
	return (u[0] - '0') * 100 + (u[1] - '0') * 10 + (u[2] - '0');
}

/*
 * RFC 3463 section 2 and RFC 2034 section 4: "class.subject.detail" at
 * the start of the text, where class is the reply's own first digit and
 * subject and detail have one to three digits.
 */
static void
extract_status(struct smtp_reply *r)
{
	const char *t = r->text.data;
	size_t i, parts = 0, digits = 0;

	r->status[0] = '\0';
	if (t == NULL || t[0] != '0' + r->code / 100 || t[1] != '.')
		return;
	for (i = 2; t[i] != '\0'; i++) {
		if (isdigit((unsigned char)t[i])) {
			if (++digits > 3)
				return;
		} else if (t[i] == '.' && digits > 0 && parts == 0) {
			parts++;
			digits = 0;
		} else {
			break;
		}
	}
	if (parts != 1 || digits == 0 || (t[i] != ' ' && t[i] != '\0' &&
	    t[i] != '\n'))
		return;
	memcpy(r->status, t, i);
	r->status[i] = '\0';
}

int
smtp_read_reply(struct smtp *s, struct smtp_reply *r, struct err *e)
{
	char line[SMTP_LINE_MAX], safe[128];
	const char *text;
	size_t len;
	int code, last = 0;

	r->code = 0;
	r->nlines = 0;
	buf_clear(&r->text);
	while (!last) {
		if (conn_getline(s->conn, line, sizeof(line), &len, e) < 0)
			return -1;
		log_proto("<--", line, len);
		code = smtp_parse_line(line, len, &last, &text);
		if (code < 0)
			return err_set(e, E_PROTOCOL,
			    "%s: malformed reply from server: \"%s\"",
			    s->conn->dl->phase,
			    printable(safe, sizeof(safe), line, len));
		if (r->nlines > 0 && code != r->code)
			return err_set(e, E_PROTOCOL,
			    "%s: reply lines disagree on the code (%d, %d)",
			    s->conn->dl->phase, r->code, code);
		if (++r->nlines > SMTP_REPLY_MAX_LINES)
			return err_set(e, E_PROTOCOL,
			    "%s: reply has more than %d lines",
			    s->conn->dl->phase, SMTP_REPLY_MAX_LINES);
		r->code = code;
		if ((r->nlines > 1 && buf_addc(&r->text, '\n') < 0) ||
		    buf_add(&r->text, text, len - (size_t)(text - line)) < 0)
			return err_set(e, E_PROTOCOL, "%s: reply too long",
			    s->conn->dl->phase);
	}
	extract_status(r);
	return 0;
}

/* Is the word w[0..n) one of the space-separated words of list? */
static int
has_word(const char *list, const char *w, size_t n)
{
	const char *p = list, *end;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		end = strchr(p, ' ');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) == n && strncasecmp(p, w, n) == 0)
			return 1;
		p = end;
	}
	return 0;
}

static int
keyword(const char *line, const char *kw, const char **params)
{
	size_t n = strlen(kw);

	if (strncasecmp(line, kw, n) != 0 || (line[n] != '\0' &&
	    line[n] != ' ' && line[n] != '='))
		return 0;
	*params = line + n + (line[n] != '\0');
	while (**params == ' ')
		(*params)++;
	return 1;
}

/* Add each mechanism once, whether it came from "AUTH" or "AUTH=". */
static void
add_auth(struct smtp_caps *caps, const char *mechs)
{
	const char *p = mechs, *q;
	size_t len, n;

	for (; *p != '\0'; p = q) {
		while (*p == ' ')
			p++;
		for (q = p; *q != '\0' && *q != ' '; q++)
			;
		n = (size_t)(q - p);
		if (n == 0 || has_word(caps->auth, p, n))
			continue;
		len = strlen(caps->auth);
		if (len + n + 2 > sizeof(caps->auth))
			return;
		if (len > 0)
			caps->auth[len++] = ' ';
		memcpy(caps->auth + len, p, n);
		caps->auth[len + n] = '\0';
	}
}

/*
 * RFC 1870 section 4: "SIZE" with an optional number; 0 or no number
 * means no fixed limit.  When the keyword appears more than once the
 * smallest limit stated is the one respected.
 */
static void
add_size(struct smtp_caps *caps, const char *param)
{
	unsigned long long v = 0;
	size_t i;

	for (i = 0; isdigit((unsigned char)param[i]); i++) {
		if (v > (ULLONG_MAX - 9) / 10) {
			v = ULLONG_MAX;
			break;
		}
		v = v * 10 + (unsigned)(param[i] - '0');
	}
	if (i == 0 || (param[i] != '\0' && param[i] != ' ' &&
	    !isdigit((unsigned char)param[i])))
		v = 0;		/* not a number: treat as "no stated limit" */
	caps->flags |= CAP_SIZE;
	if (v > 0 && (caps->size_max == 0 || v < caps->size_max))
		caps->size_max = v;
}

/*
 * One EHLO line, trimmed: keywords are case-insensitive (RFC 5321
 * section 2.4), parameters follow after a space, unknown keywords are
 * ignored, and a keyword listed twice is simply seen twice.
 */
static void
ehlo_line(struct smtp_caps *caps, char *one)
{
	static const struct {
		const char *kw;
		unsigned flag;
	} simple[] = {
		{ "STARTTLS", CAP_STARTTLS },
		{ "PIPELINING", CAP_PIPELINING },
		{ "8BITMIME", CAP_8BITMIME },
		{ "SMTPUTF8", CAP_SMTPUTF8 },
		{ "ENHANCEDSTATUSCODES", CAP_ENHANCEDSTATUSCODES },
		{ "DSN", CAP_DSN },
		{ "CHUNKING", CAP_CHUNKING },
		{ "BINARYMIME", CAP_BINARYMIME },
		{ "REQUIRETLS", CAP_REQUIRETLS },
	};
	const char *params;
	size_t i, n;

	for (i = 0; one[i] != '\0'; i++)
		if (one[i] == '\t')
			one[i] = ' ';
	while (*one == ' ')
		one++;
	n = strlen(one);
	while (n > 0 && one[n - 1] == ' ')
		one[--n] = '\0';
	for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		if (keyword(one, simple[i].kw, &params))
			caps->flags |= simple[i].flag;
	if (keyword(one, "SIZE", &params))
		add_size(caps, params);
	/* "AUTH=" is the pre-RFC 4954 form some servers still send. */
	if (keyword(one, "AUTH", &params)) {
		caps->flags |= CAP_AUTH;
		add_auth(caps, params);
	}
}

void
smtp_parse_ehlo(struct smtp_caps *caps, const struct smtp_reply *r)
{
	const char *line, *next;
	char one[SMTP_LINE_MAX];
	size_t n;

	memset(caps, 0, sizeof(*caps));
	if (r->text.data == NULL)
		return;
	/* The first line is the server's greeting name, not a keyword. */
	line = strchr(r->text.data, '\n');
	while (line != NULL) {
		line++;
		next = strchr(line, '\n');
		n = next ? (size_t)(next - line) : strlen(line);
		if (n >= sizeof(one))
			n = sizeof(one) - 1;
		memcpy(one, line, n);
		one[n] = '\0';
		ehlo_line(caps, one);
		line = next;
	}
}

const char *
smtp_reply_summary(const struct smtp_reply *r, char *buf, size_t size)
{
	char text[900];
	size_t i;

	printable(text, sizeof(text), r->text.data ? r->text.data : "",
	    r->text.len);
	/* printable() turned the line joins into '?': make them spaces. */
	for (i = 0; text[i] != '\0'; i++)
		if (r->text.data && i < r->text.len &&
		    r->text.data[i] == '\n')
			text[i] = ' ';
	if (text[0] != '\0')
		snprintf(buf, size, "%d %s", r->code, text);
	else
		snprintf(buf, size, "%d", r->code);
	return buf;
}

void
smtp_data_init(struct smtp_data *d)
{
	d->at_bol = 1;
	d->pending_cr = 0;
	d->col = 0;
	d->octets = 0;
}

static int
end_line(struct smtp *s, struct smtp_data *d, struct err *e)
{
	d->at_bol = 1;
	d->col = 0;
	d->octets += 2;
	return conn_write(s->conn, "\r\n", 2, e);
}

/*
 * The lines of p[0..n), which holds no CR, so that every LF ends a line.
 * A base64 attachment is millions of 76-octet lines and nothing else, so
 * the cost per line is what counts here: one memchr, and the line, its
 * stuffed dot and its CRLF written straight into the connection's buffer.
 * Only a line that does not fit in what is left of that buffer goes
 * through conn_write(), which sends the buffer and starts a new one.  The
 * writer's state lives in locals meanwhile: through d, the compiler would
 * have to store and reload it around every memcpy.
 */
static int
put_lines(struct smtp *s, struct smtp_data *d, const char *p, size_t n,
    struct err *e)
{
	struct conn *c = s->conn;
	unsigned long long octets = d->octets;
	size_t col = d->col, len, dot;
	int at_bol = d->at_bol, rc = 0;
	const char *lf;
	char *o;

	while (n > 0) {
		lf = memchr(p, '\n', n);
		len = lf != NULL ? (size_t)(lf - p) : n;
		dot = at_bol && len > 0 && p[0] == '.';
		if (len > 0)
			at_bol = 0;
		col += len;
		octets += len;
		if (col > SMTP_TEXT_LINE_MAX) {
			/*
			 * The line's stuffed dot goes first, as it did when
			 * each piece was written on its own: the stream before
			 * the refusal is the same octet for octet.
			 */
			rc = dot && conn_write(c, ".", 1, e) < 0 ? -1 :
			    err_set(e, E_DATA, "message has a line longer "
			    "than %d octets", SMTP_TEXT_LINE_MAX);
			break;
		}
		if (dot + len + 2 <= conn_wroom(c)) {
			o = conn_wtail(c);
			if (dot)
				*o++ = '.';
			memcpy(o, p, len);
			o += len;
			if (lf != NULL) {
				*o++ = '\r';
				*o++ = '\n';
			}
			conn_wcommit(c, (size_t)(o - conn_wtail(c)));
		} else if ((dot && conn_write(c, ".", 1, e) < 0) ||
		    conn_write(c, p, len, e) < 0 ||
		    (lf != NULL && conn_write(c, "\r\n", 2, e) < 0)) {
			rc = -1;
			break;
		}
		if (lf == NULL)
			break;
		at_bol = 1;
		col = 0;
		octets += 2;
		p = lf + 1;
		n -= len + 1;
	}
	d->octets = octets;
	d->col = col;
	d->at_bol = at_bol;
	return rc;
}

int
smtp_data_write(struct smtp *s, struct smtp_data *d, const char *p,
    size_t n, struct err *e)
{
	const char *cr;
	size_t i = 0, span;

	while (i < n) {
		if (d->pending_cr) {
			/* CR then LF is one line end; a lone CR is one too. */
			d->pending_cr = 0;
			if (end_line(s, d, e) < 0)
				return -1;
			if (p[i] == '\n') {
				i++;
				continue;
			}
		}
		if (p[i] == '\r') {
			d->pending_cr = 1;
			i++;
			continue;
		}
		/*
		 * Up to the next CR every line ends in LF: one search for CR
		 * per call instead of one per line when there is none.
		 */
		cr = memchr(p + i, '\r', n - i);
		span = cr != NULL ? (size_t)(cr - (p + i)) : n - i;
		if (put_lines(s, d, p + i, span, e) < 0)
			return -1;
		i += span;
	}
	return 0;
}

int
smtp_data_finish(struct smtp *s, struct smtp_data *d, struct err *e)
{
	if ((d->pending_cr || !d->at_bol) && end_line(s, d, e) < 0)
		return -1;
	d->pending_cr = 0;
	log_proto("-->", ".", 1);
	return conn_write(s->conn, ".\r\n", 3, e);
}

int
smtp_data_end(struct smtp *s, struct smtp_data *d, struct err *e)
{
	if (smtp_data_finish(s, d, e) < 0)
		return -1;
	return conn_flush(s->conn, e);
}

/* Octets kept in front of a chunk's data for its BDAT command line. */
#define CHUNK_HEAD	32

void
smtp_chunk_init(struct smtp_chunk *c)
{
	memset(c, 0, sizeof(*c));
	c->at_bol = 1;
}

void
smtp_chunk_free(struct smtp_chunk *c)
{
	free(c->mem);
	c->mem = NULL;
}

int
smtp_chunk_full(const struct smtp_chunk *c)
{
	return c->len + 2 > SMTP_CHUNK_MAX;
}

/*
 * The chunk's data, allocated on first use: two spare octets past the
 * limit hold a final CRLF (smtp_chunk_queue).
 */
static char *
chunk_data(struct smtp_chunk *c)
{
	if (c->mem == NULL)
		c->mem = xmalloc(CHUNK_HEAD + SMTP_CHUNK_MAX + 2);
	return c->mem + CHUNK_HEAD;
}

static void
chunk_eol(struct smtp_chunk *c, char *out)
{
	out[c->len++] = '\r';
	out[c->len++] = '\n';
	c->at_bol = 1;
	c->col = 0;
}

long
smtp_chunk_add(struct smtp_chunk *c, const char *p, size_t n,
    struct err *e)
{
	char *out = chunk_data(c);
	const char *q;
	size_t i = 0, run, stop;

	while (i < n && !smtp_chunk_full(c)) {
		if (c->pending_cr) {
			/* CR LF is one line end; a lone CR is one too. */
			c->pending_cr = 0;
			chunk_eol(c, out);
			if (p[i] == '\n')
				i++;
			continue;
		}
		if (p[i] == '\r' || p[i] == '\n') {
			if (p[i] == '\r')
				c->pending_cr = 1;
			else
				chunk_eol(c, out);
			i++;
			continue;
		}
		stop = i + (SMTP_CHUNK_MAX - c->len);
		if (stop > n)
			stop = n;
		/* The run ends at the first line end: two vector searches. */
		run = stop;
		if ((q = memchr(p + i, '\n', stop - i)) != NULL)
			run = (size_t)(q - p);
		if ((q = memchr(p + i, '\r', run - i)) != NULL)
			run = (size_t)(q - p);
		c->col += run - i;
		if (c->col > SMTP_TEXT_LINE_MAX)
			return err_set(e, E_DATA,
			    "message has a line longer than %d octets",
			    SMTP_TEXT_LINE_MAX);
		memcpy(out + c->len, p + i, run - i);
		c->len += run - i;
		c->at_bol = 0;
		i = run;
	}
	return (long)i;
}

size_t
smtp_chunk_add_raw(struct smtp_chunk *c, const char *p, size_t n)
{
	char *out = chunk_data(c);
	size_t room;

	if (smtp_chunk_full(c))
		return 0;
	if (c->pending_cr) {
		/* The CR ended a line of text: it leaves as CRLF. */
		c->pending_cr = 0;
		chunk_eol(c, out);
		if (smtp_chunk_full(c))
			return 0;
	}
	room = SMTP_CHUNK_MAX - c->len;
	if (n > room)
		n = room;
	memcpy(out + c->len, p, n);
	c->len += n;
	/*
	 * Whatever the octets were, the text after a binary part starts
	 * with the CRLF of its boundary delimiter (RFC 2046 section 5.1.1),
	 * so the next octet of text begins a line, and no CRLF is added
	 * behind the part by smtp_chunk_queue().
	 */
	c->at_bol = 1;
	c->col = 0;
	return n;
}

int
smtp_chunk_queue(struct smtp *s, struct smtp_chunk *c, int last,
    struct err *e)
{
	char line[CHUNK_HEAD], *out = chunk_data(c);
	int n;

	if (last && (c->pending_cr || !c->at_bol))
		chunk_eol(c, out);
	c->pending_cr = 0;
	n = snprintf(line, sizeof(line), "BDAT %zu%s", c->len,
	    last ? " LAST" : "");
	log_proto("-->", line, (size_t)n);
	if (last || c->nqueued == 0)
		log_proto("-->", "(message data)", 14);
	memcpy(line + n, "\r\n", 2);
	n += 2;
	/* The command line goes right in front of the data: one write. */
	memcpy(out - n, line, (size_t)n);
	if (conn_write(s->conn, out - n, (size_t)n + c->len, e) < 0)
		return -1;
	c->total += c->len;
	c->nqueued++;
	c->len = 0;
	return 0;
}

/*
 * What the subject.detail part of an enhanced status code means (RFC
 * 3463, and the codes registered since by RFC 4954, RFC 5248, RFC 6531,
 * RFC 7505 and RFC 8689), in words short enough for an error line.
 */
static const struct {
	const char *code;	/* "subject.detail" */
	const char *text;
} status_texts[] = {
	{ "0.0", "other or undefined status" },
	{ "1.0", "other address status" },
	{ "1.1", "bad destination mailbox address" },
	{ "1.2", "bad destination system address" },
	{ "1.3", "bad destination mailbox address syntax" },
	{ "1.4", "destination mailbox address ambiguous" },
	{ "1.6", "destination mailbox has moved" },
	{ "1.7", "bad sender mailbox address syntax" },
	{ "1.8", "bad sender system address" },
	{ "1.10", "recipient domain has a null MX" },
	{ "2.0", "other or undefined mailbox status" },
	{ "2.1", "mailbox disabled" },
	{ "2.2", "mailbox full" },
	{ "2.3", "message longer than an administrative limit" },
	{ "2.4", "mailing list expansion problem" },
	{ "3.0", "other or undefined mail system status" },
	{ "3.1", "mail system full" },
	{ "3.2", "system not accepting network messages" },
	{ "3.3", "system not capable of selected features" },
	{ "3.4", "message too big for system" },
	{ "3.5", "system incorrectly configured" },
	{ "4.0", "other or undefined network or routing status" },
	{ "4.1", "no answer from host" },
	{ "4.2", "bad connection" },
	{ "4.3", "directory server failure" },
	{ "4.4", "unable to route" },
	{ "4.5", "mail system congestion" },
	{ "4.6", "routing loop detected" },
	{ "4.7", "delivery time expired" },
	{ "5.0", "other or undefined protocol status" },
	{ "5.1", "invalid command" },
	{ "5.2", "syntax error" },
	{ "5.3", "too many recipients" },
	{ "5.4", "invalid command arguments" },
	{ "5.5", "wrong protocol version" },
	{ "5.6", "authentication exchange line too long" },
	{ "6.0", "other or undefined media error" },
	{ "6.1", "media not supported" },
	{ "6.2", "conversion required and prohibited" },
	{ "6.3", "conversion required but not supported" },
	{ "6.4", "conversion with loss performed" },
	{ "6.5", "conversion failed" },
	{ "6.7", "non-ASCII addresses not permitted" },
	{ "6.8", "UTF-8 reply required but not permitted" },
	{ "6.9", "UTF-8 header message cannot be transferred" },
	{ "7.0", "other or undefined security status" },
	{ "7.1", "delivery not authorized, message refused" },
	{ "7.2", "mailing list expansion prohibited" },
	{ "7.3", "security conversion required but not possible" },
	{ "7.4", "security features not supported" },
	{ "7.5", "cryptographic failure" },
	{ "7.6", "cryptographic algorithm not supported" },
	{ "7.7", "message integrity failure" },
	{ "7.8", "authentication credentials invalid" },
	{ "7.9", "authentication mechanism too weak" },
	{ "7.10", "encryption needed" },
	{ "7.11", "encryption required for the authentication mechanism" },
	{ "7.12", "password transition needed" },
	{ "7.13", "user account disabled" },
	{ "7.14", "trust relationship required" },
	{ "7.15", "priority level too low" },
	{ "7.16", "message too big for the specified priority" },
	{ "7.17", "mailbox owner has changed" },
	{ "7.18", "domain owner has changed" },
	{ "7.20", "no passing DKIM signature found" },
	{ "7.21", "no acceptable DKIM signature found" },
	{ "7.22", "no valid author-matched DKIM signature found" },
	{ "7.23", "SPF validation failed" },
	{ "7.24", "SPF validation error" },
	{ "7.25", "reverse DNS validation failed" },
	{ "7.26", "multiple authentication checks failed" },
	{ "7.27", "sender address has a null MX" },
	{ "7.28", "mail flood detected" },
	{ "7.29", "ARC validation failure" },
	{ "7.30", "REQUIRETLS support required" },
};

const char *
smtp_status_text(const char *status)
{
	size_t i;

	if (status == NULL || status[0] == '\0' || status[1] != '.')
		return NULL;
	for (i = 0; i < sizeof(status_texts) / sizeof(status_texts[0]); i++)
		if (strcmp(status + 2, status_texts[i].code) == 0)
			return status_texts[i].text;
	return NULL;
}

static const char xdigits[] = "0123456789ABCDEF";

int
smtp_xtext(struct buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	char hex[3];
	int bad = 0;

	/* RFC 3461 section 4: "+" and two upper-case hex digits. */
	for (; *u != '\0'; u++) {
		if (*u > ' ' && *u < 0x7f && *u != '+' && *u != '=') {
			bad |= buf_addc(b, (char)*u);
			continue;
		}
		hex[0] = '+';
		hex[1] = xdigits[*u >> 4];
		hex[2] = xdigits[*u & 15];
		bad |= buf_add(b, hex, 3);
	}
	return bad ? -1 : 0;
}

int
smtp_unitext(struct buf *b, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	int bad = 0;

	/*
	 * RFC 6533 section 3, utf-8-addr-unitext: UTF-8 as it is, ASCII
	 * graphic characters as they are except "+", "=" and "\", which
	 * (like space and controls) become \x{HH}.
	 */
	for (; *u != '\0'; u++) {
		if (*u >= 0x80 || (*u > ' ' && *u < 0x7f && *u != '+' &&
		    *u != '=' && *u != '\\'))
			bad |= buf_addc(b, (char)*u);
		else
			bad |= buf_addf(b, "\\x{%c%c}", xdigits[*u >> 4],
			    xdigits[*u & 15]);
	}
	return bad ? -1 : 0;
}
