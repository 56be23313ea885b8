/* SMTP protocol primitives: see smtp.h. */
#include <ctype.h>
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

/* RFC 3463: "class.subject.detail" at the start of the text. */
static void
extract_status(struct smtp_reply *r)
{
	const char *t = r->text.data;
	size_t i = 0, parts = 0, digits = 0;

	r->status[0] = '\0';
	if (t == NULL || t[0] != '0' + r->code / 100)
		return;
	for (i = 0; t[i] != '\0' && i < sizeof(r->status) - 1; i++) {
		if (isdigit((unsigned char)t[i])) {
			if (++digits > 3)
				return;
		} else if (t[i] == '.' && digits > 0 && parts < 2) {
			parts++;
			digits = 0;
		} else {
			break;
		}
	}
	if (parts != 2 || digits == 0 || (t[i] != ' ' && t[i] != '\0' &&
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

static int
keyword(const char *line, const char *kw, const char **params)
{
	size_t n = strlen(kw);

	if (strncasecmp(line, kw, n) != 0 || (line[n] != '\0' &&
	    line[n] != ' ' && line[n] != '='))
		return 0;
	*params = line + n + (line[n] != '\0');
	return 1;
}

static void
add_auth(struct smtp_caps *caps, const char *mechs)
{
	size_t len = strlen(caps->auth), n = strlen(mechs);

	if (len + n + 2 > sizeof(caps->auth))
		return;
	if (len > 0)
		caps->auth[len++] = ' ';
	memcpy(caps->auth + len, mechs, n + 1);
}

void
smtp_parse_ehlo(struct smtp_caps *caps, const struct smtp_reply *r)
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
	const char *line, *params, *next;
	char one[SMTP_LINE_MAX];
	size_t i, n;

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
		for (i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
			if (keyword(one, simple[i].kw, &params))
				caps->flags |= simple[i].flag;
		if (keyword(one, "SIZE", &params)) {
			caps->flags |= CAP_SIZE;
			caps->size_max = strtoull(params, NULL, 10);
		}
		/* "AUTH=" is the pre-RFC 4954 form some servers still send. */
		if (keyword(one, "AUTH", &params)) {
			caps->flags |= CAP_AUTH;
			add_auth(caps, params);
		}
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
}

/*
 * Octets before the first CR or LF.  memchr runs many times faster than
 * a loop over the octets, and this is every octet of every message.
 */
static size_t
line_run(const char *p, size_t n)
{
	const char *lf = memchr(p, '\n', n), *cr;

	if (lf != NULL)
		n = (size_t)(lf - p);
	cr = memchr(p, '\r', n);
	return cr != NULL ? (size_t)(cr - p) : n;
}

static int
end_line(struct smtp *s, struct smtp_data *d, struct err *e)
{
	d->at_bol = 1;
	d->col = 0;
	return conn_write(s->conn, "\r\n", 2, e);
}

int
smtp_data_write(struct smtp *s, struct smtp_data *d, const char *p,
    size_t n, struct err *e)
{
	size_t i = 0, run;

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
		if (p[i] == '\n') {
			if (end_line(s, d, e) < 0)
				return -1;
			i++;
			continue;
		}
		if (d->at_bol && p[i] == '.' &&
		    conn_write(s->conn, ".", 1, e) < 0)
			return -1;
		d->at_bol = 0;
		/* Copy the run of ordinary bytes up to the next line end. */
		run = i + line_run(p + i, n - i);
		d->col += run - i;
		if (d->col > SMTP_TEXT_LINE_MAX)
			return err_set(e, E_DATA,
			    "message has a line longer than %d octets",
			    SMTP_TEXT_LINE_MAX);
		if (conn_write(s->conn, p + i, run - i, e) < 0)
			return -1;
		i = run;
	}
	return 0;
}

int
smtp_data_end(struct smtp *s, struct smtp_data *d, struct err *e)
{
	if ((d->pending_cr || !d->at_bol) && end_line(s, d, e) < 0)
		return -1;
	d->pending_cr = 0;
	log_proto("-->", ".", 1);
	if (conn_write(s->conn, ".\r\n", 3, e) < 0)
		return -1;
	return conn_flush(s->conn, e);
}
