/* Whole-message input: see rawmsg.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "buf.h"
#include "err.h"
#include "rawmsg.h"
#include "spool.h"
#include "xmalloc.h"

struct reader {
	struct rawmsg *r;
	size_t line_start;	/* in r->head */
	size_t lineno;
	int pending_cr;
	int done;
};

/* RFC 5322 section 3.6.8: ftext is printable ASCII except ':'. */
static int
field_name_len(const char *line, size_t n)
{
	size_t i;

	for (i = 0; i < n && line[i] != ':'; i++)
		if ((unsigned char)line[i] < 33 || (unsigned char)line[i] > 126)
			return -1;
	return i < n && i > 0 ? (int)i : -1;
}

/* A complete line (without its end) is in head from line_start on. */
static int
end_line(struct reader *rd, struct err *e)
{
	struct rawmsg *r = rd->r;
	size_t len = r->head.len - rd->line_start;

	rd->lineno++;
	if (len == 0) {
		rd->done = 1;	/* the blank line before the body */
		return 0;
	}
	if (rd->lineno == 1 && len >= 5 && memcmp(r->head.data, "From ",
	    5) == 0) {
		r->head.len = 0;	/* an mbox separator, not a field */
		r->head.data[0] = '\0';
		return 0;
	}
	if (len > r->head_max_line)
		r->head_max_line = len;
	if (buf_addc(&r->head, '\n') < 0)
		return err_set(e, E_DATA, "the message's header section is "
		    "larger than %d octets", RAWMSG_HEAD_MAX);
	rd->line_start = r->head.len;
	return 0;
}

/* Take header octets from p[0..n); returns how many were used. */
static int
feed(struct reader *rd, const char *p, size_t n, size_t *used,
    struct err *e)
{
	size_t i;

	*used = 0;
	for (i = 0; i < n && !rd->done; i++) {
		if (rd->pending_cr) {
			rd->pending_cr = 0;
			if (p[i] != '\n')
				return err_set(e, E_DATA, "line %zu of the "
				    "message's header section has a bare CR",
				    rd->lineno + 1);
		}
		if (p[i] == '\r') {
			rd->pending_cr = 1;
		} else if (p[i] == '\n') {
			if (end_line(rd, e) < 0)
				return -1;
		} else {
			if ((unsigned char)p[i] >= 0x80)
				rd->r->head_8bit = 1;
			if (buf_addc(&rd->r->head, p[i]) < 0)
				return err_set(e, E_DATA, "the message's "
				    "header section is larger than %d octets",
				    RAWMSG_HEAD_MAX);
		}
	}
	*used = i;
	return 0;
}

static int
read_head(struct rawmsg *r, struct spool *sp, struct err *e)
{
	struct reader rd;
	const char *p;
	size_t n, used;

	memset(&rd, 0, sizeof(rd));
	rd.r = r;
	buf_init(&r->head, RAWMSG_HEAD_MAX);
	buf_adds(&r->head, "");
	if (spool_rewind(sp, e) < 0)
		return -1;
	while (!rd.done) {
		if (spool_read(sp, &p, &n, e) < 0)
			return -1;
		if (n == 0)
			break;
		if (feed(&rd, p, n, &used, e) < 0)
			return -1;
		r->body_off += used;
	}
	/* Headers only, without the blank line: end the last one. */
	if (!rd.done && (r->head.len > rd.line_start || rd.pending_cr)) {
		if (rd.pending_cr)
			return err_set(e, E_DATA, "the message's header "
			    "section ends in a bare CR");
		if (end_line(&rd, e) < 0)
			return -1;
	}
	return 0;
}

int
rawmsg_is(const struct rawmsg *r, size_t i, const char *name)
{
	return r->fields[i].name_len == strlen(name) &&
	    strncasecmp(r->head.data + r->fields[i].off, name,
	    r->fields[i].name_len) == 0;
}

/* The field's value, unfolded and trimmed (newly allocated). */
static char *
field_value(const struct rawmsg *r, size_t i)
{
	const struct raw_field *f = &r->fields[i];
	const char *p = r->head.data + f->off + f->name_len + 1;
	size_t n = f->len - f->name_len - 1, k, o = 0;
	char *v = xmalloc(n + 1);

	for (k = 0; k < n; k++)
		if (p[k] != '\n')
			v[o++] = p[k];
	while (o > 0 && isspace((unsigned char)v[o - 1]))
		o--;
	v[o] = '\0';
	k = strspn(v, " \t");
	memmove(v, v + k, o - k + 1);
	return v;
}

static int
split_fields(struct rawmsg *r, struct err *e)
{
	const char *h = r->head.data;
	size_t pos = 0, end, line = 0;
	int nl;

	while (pos < r->head.len) {
		end = (size_t)((const char *)memchr(h + pos, '\n',
		    r->head.len - pos) - h) + 1;
		line++;
		if (h[pos] == ' ' || h[pos] == '\t') {
			if (r->nfields == 0)
				return err_set(e, E_DATA, "the message starts "
				    "with a continuation line");
			r->fields[r->nfields - 1].len = end -
			    r->fields[r->nfields - 1].off;
		} else {
			if ((nl = field_name_len(h + pos, end - pos)) < 0)
				return err_set(e, E_DATA, "line %zu of the "
				    "message's header section is not a header "
				    "field (Name: value)", line);
			r->fields = xreallocarray(r->fields, r->nfields + 1,
			    sizeof(*r->fields));
			r->fields[r->nfields].off = pos;
			r->fields[r->nfields].len = end - pos;
			r->fields[r->nfields].name_len = (size_t)nl;
			r->nfields++;
		}
		pos = end;
	}
	if (r->nfields == 0)
		return err_set(e, E_DATA, "the message has no header fields");
	return 0;
}

/*
 * What a re-encoding would need to know: a single part whose transfer
 * encoding is the identity (RFC 2045 section 6.1) can become
 * quoted-printable without touching anything else.
 */
static void
analyse(struct rawmsg *r)
{
	size_t i;
	char *v;

	r->recodable = 1;
	for (i = 0; i < r->nfields; i++) {
		r->has_date |= rawmsg_is(r, i, "Date");
		r->has_msgid |= rawmsg_is(r, i, "Message-ID");
		r->has_from |= rawmsg_is(r, i, "From");
		r->has_mime |= rawmsg_is(r, i, "MIME-Version");
		if (rawmsg_is(r, i, "Content-Type")) {
			r->has_type = 1;
			v = field_value(r, i);
			if (strncasecmp(v, "multipart/", 10) == 0 ||
			    strncasecmp(v, "message/", 8) == 0)
				r->recodable = 0;
			free(v);
		} else if (rawmsg_is(r, i, "Content-Transfer-Encoding")) {
			v = field_value(r, i);
			if (strcasecmp(v, "7bit") != 0 &&
			    strcasecmp(v, "8bit") != 0 &&
			    strcasecmp(v, "binary") != 0)
				r->recodable = 0;
			free(v);
		}
	}
}

int
rawmsg_parse(struct rawmsg *r, struct spool *sp, struct err *e)
{
	memset(r, 0, sizeof(*r));
	if (read_head(r, sp, e) < 0 || split_fields(r, e) < 0 ||
	    spool_scan_from(sp, r->body_off, &r->body, e) < 0) {
		rawmsg_release(r);
		return -1;
	}
	analyse(r);
	return 0;
}

int
rawmsg_set_head(struct rawmsg *r, struct buf *head, struct err *e)
{
	size_t i, start = 0;

	buf_release(&r->head);
	r->head = *head;
	buf_init(head, r->head.max);
	free(r->fields);
	r->fields = NULL;
	r->nfields = 0;
	r->head_8bit = 0;
	r->head_max_line = 0;
	for (i = 0; i < r->head.len; i++) {
		if ((unsigned char)r->head.data[i] >= 0x80)
			r->head_8bit = 1;
		if (r->head.data[i] == '\n') {
			if (i - start > r->head_max_line)
				r->head_max_line = i - start;
			start = i + 1;
		}
	}
	if (split_fields(r, e) < 0)
		return -1;
	r->has_date = r->has_msgid = r->has_from = r->has_mime = 0;
	r->has_type = 0;
	analyse(r);
	return 0;
}

/* One mailbox of a list: the text in angle brackets, else all of it. */
static int
take(struct buf *cur, struct buf *angle, int had_angle, const char *what,
    struct mailbox **v, size_t *n, struct err *e)
{
	const char *s = had_angle ? angle->data : cur->data;
	size_t len;
	char *spec;
	int rc = 0;

	s = s ? s : "";
	s += strspn(s, " \t");
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len > 0) {
		spec = xstrndup(s, len);
		*v = xreallocarray(*v, *n + 1, sizeof(**v));
		rc = addr_parse(spec, what, ADDR_NO_NAME, &(*v)[*n], e);
		free(spec);
		if (rc == 0)
			(*n)++;
	}
	buf_clear(cur);
	buf_clear(angle);
	return rc;
}

/* Copy v without its comments (RFC 5322 section 3.2.2; they nest). */
static char *
strip_comments(const char *v)
{
	char *out = xmalloc(strlen(v) + 1);
	size_t o = 0;
	int depth = 0, q = 0;

	for (; *v != '\0'; v++) {
		if (*v == '\\' && v[1] != '\0' && (q || depth)) {
			if (!depth) {
				out[o++] = v[0];
				out[o++] = v[1];
			}
			v++;
		} else if (!depth && *v == '"') {
			q = !q;
			out[o++] = *v;
		} else if (!q && *v == '(') {
			depth++;
		} else if (!q && depth && *v == ')') {
			if (--depth == 0)
				out[o++] = ' ';
		} else if (!depth) {
			out[o++] = *v;
		}
	}
	out[o] = '\0';
	return out;
}

/*
 * The addr-specs of an address-list (RFC 5322 section 3.4): mailboxes
 * separated by commas, each "phrase <addr>" or a bare addr; a group
 * "name: a, b;" contributes its members.
 */
static int
collect(const char *value, const char *what, struct mailbox **v,
    size_t *n, struct err *e)
{
	struct buf cur, angle;
	char *s = strip_comments(value), *p;
	int q = 0, in_angle = 0, had_angle = 0, rc = 0;

	buf_init(&cur, RAWMSG_HEAD_MAX);
	buf_init(&angle, RAWMSG_HEAD_MAX);
	for (p = s; rc == 0; p++) {
		if (*p != '\0' && (q || *p == '"')) {
			if (*p == '\\' && p[1] != '\0')
				buf_addc(in_angle ? &angle : &cur, *p++);
			else if (*p == '"')
				q = !q;
			buf_addc(in_angle ? &angle : &cur, *p);
		} else if (*p == '<' && !in_angle) {
			in_angle = had_angle = 1;
			buf_clear(&angle);
		} else if (*p == '>' && in_angle) {
			in_angle = 0;
		} else if (*p != '\0' && in_angle) {
			buf_addc(&angle, *p);
		} else if (*p == ':') {
			buf_clear(&cur);	/* a group's display name */
		} else if (*p == ',' || *p == ';' || *p == '\0') {
			rc = take(&cur, &angle, had_angle, what, v, n, e);
			had_angle = 0;
			if (*p == '\0')
				break;
		} else {
			buf_addc(&cur, *p);
		}
	}
	buf_release(&cur);
	buf_release(&angle);
	free(s);
	return rc;
}

int
rawmsg_recipients(const struct rawmsg *r, struct mailbox **v, size_t *n,
    struct err *e)
{
	static const char *const names[] = { "To", "Cc", "Bcc" };
	char what[32], *value;
	size_t i, k;
	int rc;

	for (i = 0; i < r->nfields; i++) {
		for (k = 0; k < 3 && !rawmsg_is(r, i, names[k]); k++)
			;
		if (k == 3)
			continue;
		snprintf(what, sizeof(what), "%s field of the message",
		    names[k]);
		value = field_value(r, i);
		rc = collect(value, what, v, n, e);
		free(value);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int
rawmsg_from(const struct rawmsg *r, struct mailbox *mb)
{
	struct mailbox *v = NULL;
	struct err ignored;
	size_t i, n = 0, k;
	char *value;

	err_init(&ignored);
	for (i = 0; i < r->nfields && !rawmsg_is(r, i, "From"); i++)
		;
	if (i == r->nfields)
		return -1;
	value = field_value(r, i);
	collect(value, "From", &v, &n, &ignored);
	free(value);
	if (n > 0)
		*mb = v[0];
	for (k = 1; k < n; k++)
		mailbox_release(&v[k]);
	free(v);
	return n > 0 ? 0 : -1;
}

void
rawmsg_release(struct rawmsg *r)
{
	buf_release(&r->head);
	free(r->fields);
	memset(r, 0, sizeof(*r));
}
