/* Message composition: see msg.h.  Reading it out is in msgread.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "addr.h"
#include "attach.h"
#include "err.h"
#include "msg.h"
#include "rawmsg.h"
#include "smtp.h"
#include "spool.h"
#include "xmalloc.h"

#define HEAD_MAX	(4 * 1024 * 1024)
#define BOUNDARY_LEN	26	/* "=_" and 24 random characters */
#define RAW_WORD_MAX	900	/* longest UTF-8 header word left as it is */

enum node_kind { NODE_NONE, NODE_BODY, NODE_HTML, NODE_PART, NODE_MULTI };

/* The MIME tree of a composed message; it lives only in msg_open(). */
struct node {
	enum node_kind kind;
	const char *subtype;		/* NODE_MULTI: mixed, alternative, ... */
	struct attach *att;		/* NODE_PART */
	struct node *kids[3];		/* NODE_MULTI: fixed children ... */
	size_t nkids;
	struct attach *more;		/* ... then these parts */
	size_t nmore;
	int more_inline;		/* which of them: inline or not */
	char boundary[BOUNDARY_LEN + 1];
};

/* The encodings chosen for the two text parts. */
struct texts {
	enum body_enc body, html;
	const char *body_cs, *html_cs;
};

enum body_enc
msg_choose_encoding(const struct spool *body, int can_8bit)
{
	const struct spool_info *in = &body->info;

	if (in->has_nul || in->has_lone_cr || in->max_line >
	    SMTP_TEXT_LINE_MAX)
		return ENC_QP;
	if (!in->has_8bit)
		return ENC_7BIT;
	if (in->utf8_ok && can_8bit)
		return ENC_8BIT;
	return ENC_QP;
}

const char *
msg_enc_name(enum body_enc enc)
{
	static const char *const names[] = { "7bit", "8bit",
		"quoted-printable" };

	return names[enc];
}

void
msg_date(char *buf, size_t size)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	time_t t = time(NULL);
	long off;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(buf, size, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
	    (off < 0 ? -off : off) / 60, (off < 0 ? -off : off) % 60);
}

/* n random characters from [0-9a-v], 5 bits each. */
static void
random_chars(char *out, size_t n)
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuv";
	unsigned char rnd[32];
	size_t i;

	if (n > sizeof(rnd))
		n = sizeof(rnd);
	if (getrandom(rnd, n, 0) != (ssize_t)n) {
		struct timespec ts;

		/* Uniqueness is what matters here, not secrecy. */
		clock_gettime(CLOCK_REALTIME, &ts);
		for (i = 0; i < n; i++)
			rnd[i] = (unsigned char)((ts.tv_nsec >> (i % 24)) ^
			    (i * 131) ^ rand());
	}
	for (i = 0; i < n; i++)
		out[i] = alphabet[rnd[i] & 31];
	out[n] = '\0';
}

static void
message_id(char *buf, size_t size, const char *domain)
{
	char id[25];

	/* 120 random bits: unique without any state or clock. */
	random_chars(id, 24);
	snprintf(buf, size, "<%.12s.%.12s@%s>", id, id + 12, domain);
}

/*
 * RFC 6532 section 3.2: with SMTPUTF8, header text may carry UTF-8 as it
 * is.  True for non-ASCII text that can be written so: text that could be
 * taken for an encoded word, or has a word too long to fold, is left to
 * RFC 2047 (valid in such a message too), and so is plain ASCII.
 */
static int
raw_utf8_ok(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0;
	int eight = 0;

	if (strstr(s, "=?") != NULL)
		return 0;
	for (; *u != '\0'; u++) {
		eight |= *u >= 0x80;
		run = *u == ' ' ? 0 : run + 1;
		if (run > RAW_WORD_MAX)
			return 0;
	}
	return eight;
}

/* Words separated by single spaces, so runs of spaces survive. */
static void
put_raw_words(struct hdr *h, const char *s)
{
	const char *sp;

	for (;;) {
		sp = strchr(s, ' ');
		hdr_word(h, s, sp ? (size_t)(sp - s) : strlen(s));
		if (sp == NULL)
			break;
		s = sp + 1;
	}
}

static void
put_text(struct hdr *h, const char *text, int utf8)
{
	if (utf8 && raw_utf8_ok(text))
		put_raw_words(h, text);
	else
		hdr_text(h, text);
}

/* A UTF-8 display name: atoms as they are, else one quoted-string. */
static void
put_phrase(struct hdr *h, const char *name, int utf8)
{
	struct buf q;
	const char *p;
	int atoms = name[0] != ' ';

	if (!utf8 || !raw_utf8_ok(name)) {
		hdr_phrase(h, name);
		return;
	}
	for (p = name; *p != '\0'; p++)
		if (!((unsigned char)*p >= 0x80 || isalnum((unsigned char)*p) ||
		    strchr("!#$%&'*+-/=?^_`{|}~", *p) != NULL ||
		    (*p == ' ' && p[1] != ' ' && p[1] != '\0')))
			atoms = 0;
	if (atoms) {
		put_raw_words(h, name);
		return;
	}
	buf_init(&q, 2 * strlen(name) + 3);
	buf_addc(&q, '"');
	for (p = name; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_addc(&q, '\\');
		buf_addc(&q, *p);
	}
	buf_addc(&q, '"');
	/* Folding at a space inside the quotes is FWS (RFC 5322 3.2.4). */
	put_raw_words(h, q.data);
	buf_release(&q);
}

/* One address in a header: [phrase] <local@domain>. */
static void
put_mailbox(struct hdr *h, const struct mailbox *mb, int utf8)
{
	char spec[600];
	int n;

	if (mb->name != NULL && mb->name[0] != '\0')
		put_phrase(h, mb->name, utf8);
	n = snprintf(spec, sizeof(spec), mb->name && mb->name[0] ?
	    "<%s@%s>" : "%s@%s", mb->local, utf8 ? mb->domain_utf8 :
	    mb->domain_ascii);
	hdr_word(h, spec, (size_t)n < sizeof(spec) ? (size_t)n :
	    sizeof(spec) - 1);
}

static int
put_list(struct buf *b, const char *name, const struct mailbox *v,
    size_t n, int utf8)
{
	struct hdr h;
	size_t i;

	hdr_start(&h, b, name);
	for (i = 0; i < n; i++) {
		put_mailbox(&h, &v[i], utf8);
		if (i + 1 < n)
			hdr_glue(&h, ",", 1);
	}
	return hdr_end(&h);
}

/* End the text so far as an item of its own. */
static void
flush_text(struct msg *m)
{
	struct msg_item *it;
	size_t i;

	if (m->text.len == m->mark)
		return;
	m->items = xreallocarray(m->items, m->nitems + 1, sizeof(*m->items));
	it = &m->items[m->nitems++];
	memset(it, 0, sizeof(*it));
	it->kind = ITEM_TEXT;
	it->off = m->mark;
	it->len = m->text.len - m->mark;
	/* Generated text has no CR: each "\n" becomes CRLF on the wire. */
	for (it->lines = 0, i = it->off; i < m->text.len; i++)
		it->lines += m->text.data[i] == '\n';
	m->mark = m->text.len;
}

static void
add_item(struct msg *m, const struct msg_item *model)
{
	flush_text(m);
	m->items = xreallocarray(m->items, m->nitems + 1, sizeof(*m->items));
	m->items[m->nitems++] = *model;
}

static void
add_spool(struct msg *m, struct spool *sp, unsigned long long from,
    enum body_enc enc)
{
	struct msg_item it;

	memset(&it, 0, sizeof(it));
	it.kind = ITEM_SPOOL;
	it.sp = sp;
	it.from = from;
	it.enc = enc;
	add_item(m, &it);
}

/* The value of the user's -H field called name, or NULL. */
static const char *
user_header(const struct msg_spec *s, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < s->nheaders; i++)
		if (strncasecmp(s->headers[i], name, n) == 0 &&
		    s->headers[i][n] == ':')
			return s->headers[i] + n + 1 + strspn(s->headers[i] +
			    n + 1, " \t");
	return NULL;
}

/*
 * Fields whose value is a list of addresses: written like From and To,
 * display names quoted or encoded as needed (RFC 5322 section 3.4).
 */
int
msg_is_address_field(const char *name, size_t n)
{
	static const char *const names[] = { "Sender", "Mail-Followup-To",
		"Mail-Reply-To", "Disposition-Notification-To",
		"Return-Receipt-To", "Errors-To", "Resent-From", "Resent-To",
		"Resent-Cc", "Resent-Sender" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && strncasecmp(names[i], name, n) == 0)
			return 1;
	return 0;
}

/*
 * A -H field.  Its value is written as typed when it is ASCII (it may be
 * structured: message identifiers, URLs) and as RFC 2047 encoded words
 * where it is not; address fields are parsed and written like To.
 */
static int
put_user_header(struct msg *m, const char *field, int utf8, struct err *e)
{
	struct mailbox *v = NULL;
	const char *colon = strchr(field, ':'), *value;
	char name[128];
	struct hdr h;
	size_t i, n = 0, ascii = 1;
	int rc;

	snprintf(name, sizeof(name), "%.*s", (int)(colon - field), field);
	value = colon + 1 + strspn(colon + 1, " \t");
	if (msg_is_address_field(name, strlen(name)) && *value != '\0') {
		if (addr_parse_list(value, name, &v, &n, e) < 0)
			return -1;
		rc = put_list(&m->text, name, v, n, utf8);
		for (i = 0; i < n; i++)
			mailbox_release(&v[i]);
		free(v);
		return rc;
	}
	for (i = 0; value[i] != '\0'; i++)
		if ((unsigned char)value[i] >= 0x80)
			ascii = 0;
	hdr_start(&h, &m->text, name);
	if (*value != '\0' && ascii)
		hdr_verbatim(&h, value);
	else if (*value != '\0')
		put_text(&h, value, utf8);
	return hdr_end(&h);
}

/* X-Priority (de facto, 1 to 5) and Importance (RFC 2156). */
static int
put_priority(struct msg *m, const struct msg_spec *s)
{
	static const char *const xprio[] = { NULL, "1 (Highest)",
		"3 (Normal)", "5 (Lowest)" };
	static const char *const importance[] = { NULL, "high", "normal",
		"low" };
	int bad = 0;

	if (s->priority == PRIO_UNSET)
		return 0;
	if (user_header(s, "X-Priority") == NULL)
		bad |= buf_addf(&m->text, "X-Priority: %s\n",
		    xprio[s->priority]);
	if (user_header(s, "Importance") == NULL)
		bad |= buf_addf(&m->text, "Importance: %s\n",
		    importance[s->priority]);
	return bad;
}

/* The message's own fields, up to and including MIME-Version. */
static int
put_top_headers(struct msg *m, const struct msg_spec *s, struct err *e)
{
	struct hdr h;
	char line[512];
	size_t i;
	int bad = 0;

	if (user_header(s, "Date") == NULL) {
		msg_date(line, sizeof(line));
		bad |= buf_addf(&m->text, "Date: %s\n", line);
	}
	bad |= put_list(&m->text, "From", s->from, 1, s->utf8_headers);
	if (s->nreply_to > 0)
		bad |= put_list(&m->text, "Reply-To", s->reply_to,
		    s->nreply_to, s->utf8_headers);
	if (s->nto > 0)
		bad |= put_list(&m->text, "To", s->to, s->nto,
		    s->utf8_headers);
	else if (s->ncc == 0)
		bad |= buf_adds(&m->text, "To: undisclosed-recipients:;\n");
	if (s->ncc > 0)
		bad |= put_list(&m->text, "Cc", s->cc, s->ncc,
		    s->utf8_headers);
	if (s->subject != NULL) {
		hdr_start(&h, &m->text, "Subject");
		put_text(&h, s->subject, s->utf8_headers);
		bad |= hdr_end(&h);
	}
	if (user_header(s, "Message-ID") == NULL) {
		message_id(line, sizeof(line), s->id_domain);
		bad |= buf_addf(&m->text, "Message-ID: %s\n", line);
	}
	bad |= put_priority(m, s);
	for (i = 0; i < s->nheaders; i++)
		if (put_user_header(m, s->headers[i], s->utf8_headers,
		    e) < 0) {
			if (e->kind != E_OK)
				return -1;
			bad = 1;
		}
	bad |= buf_adds(&m->text, "MIME-Version: 1.0\n");
	return bad ? -1 : 0;
}

/* "Content-Type: text/plain; charset=utf-8" and its encoding. */
static int
put_text_headers(struct msg *m, const char *subtype, const char *cs,
    enum body_enc enc)
{
	struct hdr h;
	char type[32];

	snprintf(type, sizeof(type), "text/%s", subtype);
	hdr_start(&h, &m->text, "Content-Type");
	hdr_word(&h, type, strlen(type));
	hdr_param(&h, "charset", cs);
	if (hdr_end(&h) < 0)
		return -1;
	return buf_addf(&m->text, "Content-Transfer-Encoding: %s\n",
	    msg_enc_name(enc));
}

/* Does a media type given with --attach-type have the parameter attr? */
static int
type_has_param(const char *type, const char *attr)
{
	const char *p = type;
	size_t n = strlen(attr);

	while ((p = strchr(p, ';')) != NULL) {
		p += 1 + strspn(p + 1, " \t");
		if (strncasecmp(p, attr, n) == 0 && p[n] == '=')
			return 1;
	}
	return 0;
}

/*
 * An attachment or inline part (RFC 2183), in base64 or, for a
 * BINARYMIME transaction, as it is (RFC 3030 section 3).  The name goes
 * into both Content-Disposition's filename (RFC 2231 when it must be
 * encoded) and Content-Type's name (RFC 2047 when it must be), which is
 * all that some readers look at.
 */
static int
put_part_headers(struct msg *m, const struct attach *a, int binary)
{
	struct hdr h;
	int bad = 0;

	hdr_start(&h, &m->text, "Content-Type");
	hdr_verbatim(&h, a->type);
	if (!type_has_param(a->type, "name"))
		hdr_param_2047(&h, "name", a->name);
	bad |= hdr_end(&h);
	bad |= buf_addf(&m->text, "Content-Transfer-Encoding: %s\n",
	    binary ? "binary" : "base64");
	hdr_start(&h, &m->text, "Content-Disposition");
	if (a->is_inline)
		hdr_word(&h, "inline", 6);
	else
		hdr_word(&h, "attachment", 10);
	hdr_param_2231(&h, "filename", a->name);
	bad |= hdr_end(&h);
	/* RFC 2392: the HTML's cid:NAME finds the part <NAME>. */
	if (a->is_inline)
		bad |= buf_addf(&m->text, "Content-ID: <%s>\n", a->name);
	return bad;
}

static int
put_multi_headers(struct msg *m, const struct node *n)
{
	struct hdr h;
	char type[32];

	snprintf(type, sizeof(type), "multipart/%s", n->subtype);
	hdr_start(&h, &m->text, "Content-Type");
	hdr_word(&h, type, strlen(type));
	hdr_param(&h, "boundary", n->boundary);
	/* RFC 2387 section 3.1: related needs the root part's type. */
	if (strcmp(n->subtype, "related") == 0)
		hdr_param(&h, "type", "text/html");
	return hdr_end(&h);
}

static struct node *
node_kid(const struct node *n, size_t i)
{
	return i < n->nkids ? n->kids[i] : NULL;
}

static int emit_node(struct msg *m, const struct node *n,
    const struct msg_spec *s, const struct texts *t);

/* The children of a multipart, each after its delimiter (RFC 2046 5.1). */
static int
emit_children(struct msg *m, const struct node *n, const struct msg_spec *s,
    const struct texts *t)
{
	struct node leaf;
	size_t i;
	int bad = 0, first = 1;

	memset(&leaf, 0, sizeof(leaf));
	leaf.kind = NODE_PART;
	for (i = 0; i < n->nkids + n->nmore; i++) {
		if (i >= n->nkids) {
			leaf.att = &n->more[i - n->nkids];
			if (leaf.att->is_inline != n->more_inline)
				continue;
		}
		bad |= buf_addf(&m->text, "%s--%s\n", first ? "" : "\n",
		    n->boundary);
		first = 0;
		if (emit_node(m, i < n->nkids ? node_kid(n, i) : &leaf, s,
		    t) < 0)
			return -1;
	}
	bad |= buf_addf(&m->text, "\n--%s--\n", n->boundary);
	return bad ? -1 : 0;
}

/* A part's headers, the blank line, then its content. */
static int
emit_node(struct msg *m, const struct node *n, const struct msg_spec *s,
    const struct texts *t)
{
	struct msg_item it;
	int bad = 0;

	switch (n->kind) {
	case NODE_BODY:
		bad |= put_text_headers(m, "plain", t->body_cs, t->body);
		bad |= buf_adds(&m->text, "\n");
		add_spool(m, s->body, 0, t->body);
		break;
	case NODE_HTML:
		bad |= put_text_headers(m, "html", t->html_cs, t->html);
		bad |= buf_adds(&m->text, "\n");
		add_spool(m, s->html, 0, t->html);
		break;
	case NODE_PART:
		bad |= put_part_headers(m, n->att, s->binary_parts);
		bad |= buf_adds(&m->text, "\n");
		memset(&it, 0, sizeof(it));
		it.kind = ITEM_FILE;
		it.att = n->att;
		it.binary = s->binary_parts;
		add_item(m, &it);
		break;
	case NODE_MULTI:
		bad |= put_multi_headers(m, n);
		bad |= buf_adds(&m->text, "\n");
		if (!bad)
			bad |= emit_children(m, n, s, t);
		break;
	case NODE_NONE:
		break;
	}
	return bad ? -1 : 0;
}

static void
multi(struct node *n, const char *subtype, struct node *a, struct node *b)
{
	memset(n, 0, sizeof(*n));
	n->kind = NODE_MULTI;
	n->subtype = subtype;
	if (a != NULL)
		n->kids[n->nkids++] = a;
	if (b != NULL)
		n->kids[n->nkids++] = b;
}

/*
 * The tree of msg.h from what there is.  An empty body is left out when
 * there is something else to show, rather than sent as an empty part a
 * reader might display instead of the HTML.  nodes has room for 6.
 */
static struct node *
build_tree(const struct msg_spec *s, struct node *nodes)
{
	struct node *text = NULL, *html = NULL, *top;
	size_t i, ninline = 0, nattach = 0;

	for (i = 0; i < s->nparts; i++)
		ninline += s->parts[i].is_inline;
	nattach = s->nparts - ninline;
	memset(nodes, 0, 6 * sizeof(*nodes));
	if (s->body->info.size > 0 || (s->html == NULL && nattach == 0)) {
		text = &nodes[0];
		text->kind = NODE_BODY;
	}
	if (s->html != NULL) {
		html = &nodes[1];
		html->kind = NODE_HTML;
		if (ninline > 0) {
			multi(&nodes[2], "related", html, NULL);
			nodes[2].more = s->parts;
			nodes[2].nmore = s->nparts;
			nodes[2].more_inline = 1;
			html = &nodes[2];
		}
	}
	top = text != NULL ? text : html;
	if (text != NULL && html != NULL) {
		multi(&nodes[3], "alternative", text, html);
		top = &nodes[3];
	}
	if (nattach > 0) {
		multi(&nodes[4], "mixed", top, NULL);
		nodes[4].more = s->parts;
		nodes[4].nmore = s->nparts;
		top = &nodes[4];
	}
	return top;
}

/*
 * Does the text occur in sp?  Only parts sent as they are (7bit, 8bit)
 * can contain a boundary: quoted-printable never has "=_" ("=" is
 * always followed by hex digits or a line end) and base64 has no "_".
 * Binary attachments are not searched: that would mean reading each
 * file once more before sending it, and a file opened before its
 * boundary was drawn holds those 120 random bits only by a chance that
 * is negligible (2^-120 at each offset).
 */
static int
spool_has(struct spool *sp, const char *needle, int *found, struct err *e)
{
	size_t nlen = strlen(needle), n, k, keep;
	char seam[2 * BOUNDARY_LEN + 8];
	size_t nseam = 0;
	const char *p;

	*found = 0;
	if (spool_rewind(sp, e) < 0)
		return -1;
	for (;;) {
		if (spool_read(sp, &p, &n, e) < 0)
			return -1;
		if (n == 0)
			break;
		/* Across the previous piece's end, then within this one. */
		k = n < nlen - 1 ? n : nlen - 1;
		memcpy(seam + nseam, p, k);
		if (memmem(seam, nseam + k, needle, nlen) != NULL ||
		    memmem(p, n, needle, nlen) != NULL)
			*found = 1;
		keep = nseam + k < nlen - 1 ? nseam + k : nlen - 1;
		memmove(seam, seam + nseam + k - keep, keep);
		nseam = keep;
	}
	return spool_rewind(sp, e);
}

/*
 * RFC 2046 section 5.1.1: a boundary must not occur in the content.  A
 * random one almost never does; when it does, draw another.
 */
static int
choose_boundary(struct node *n, const struct msg_spec *s,
    const struct texts *t, struct err *e)
{
	int found, tries;

	for (tries = 0; tries < 100; tries++) {
		memcpy(n->boundary, "=_", 2);
		random_chars(n->boundary + 2, BOUNDARY_LEN - 2);
		found = 0;
		if (t->body != ENC_QP && spool_has(s->body, n->boundary,
		    &found, e) < 0)
			return -1;
		if (!found && s->html != NULL && t->html != ENC_QP &&
		    spool_has(s->html, n->boundary, &found, e) < 0)
			return -1;
		if (!found)
			return 0;
	}
	return err_set(e, E_SOFTWARE, "no usable MIME boundary");
}

static const char *
text_charset(const struct spool *sp, const char *label)
{
	if (label != NULL)
		return label;
	/* RFC 1428: 8-bit text in a character set nobody told us. */
	if (sp->info.has_8bit && !sp->info.utf8_ok)
		return "unknown-8bit";
	return "utf-8";
}

static int
open_composed(struct msg *m, const struct msg_spec *s, int can_8bit,
    struct err *e)
{
	struct node nodes[6], *top;
	struct texts t;
	size_t i;

	memset(&t, 0, sizeof(t));
	t.body = msg_choose_encoding(s->body, can_8bit);
	t.body_cs = text_charset(s->body, s->body_charset);
	if (s->html != NULL) {
		t.html = msg_choose_encoding(s->html, can_8bit);
		t.html_cs = text_charset(s->html, s->html_charset);
	}
	top = build_tree(s, nodes);
	m->eightbit = (nodes[0].kind == NODE_BODY && t.body == ENC_8BIT) ||
	    (nodes[1].kind == NODE_HTML && t.html == ENC_8BIT);
	m->body_enc = t.body;
	m->binary = s->binary_parts && s->nparts > 0;
	for (i = 2; i < 6; i++)
		if (nodes[i].kind == NODE_MULTI &&
		    choose_boundary(&nodes[i], s, &t, e) < 0)
			return -1;
	if (put_top_headers(m, s, e) < 0 || emit_node(m, top, s, &t) < 0)
		return err_set(e, E_DATA, "message header larger than %d "
		    "bytes", HEAD_MAX);
	/* RFC 6532 header fields in UTF-8 are 8-bit data too. */
	for (i = 0; i < m->text.len && !m->eightbit; i++)
		m->eightbit = (unsigned char)m->text.data[i] >= 0x80;
	return 0;
}

/*
 * Whole-message input, sent as it is when the server can take it.  When
 * it cannot (RFC 6152: no 8-bit data without 8BITMIME; RFC 5322: no line
 * over 998 octets), a single text part is re-encoded as quoted-printable
 * (RFC 2045), which changes nothing a reader sees; anything else is
 * refused rather than mangled.
 */
static int
raw_recode(const struct rawmsg *r, int can_8bit, int *recode,
    struct err *e)
{
	const char *why = NULL;

	if (r->head_max_line > SMTP_TEXT_LINE_MAX)
		return err_set(e, E_DATA, "the message has a header line "
		    "longer than %d octets", SMTP_TEXT_LINE_MAX);
	if (r->head_8bit && !can_8bit)
		return err_set(e, E_DATA, "the message's header section has "
		    "8-bit characters and the server does not offer 8BITMIME");
	if (r->body.has_nul)
		why = "NUL octets";
	else if (r->body.max_line > SMTP_TEXT_LINE_MAX)
		why = "lines longer than 998 octets";
	else if (r->body.has_8bit && !can_8bit)
		why = "8-bit data and the server does not offer 8BITMIME";
	*recode = why != NULL;
	if (why != NULL && !r->recodable)
		return err_set(e, E_DATA, "the message body has %s, and it "
		    "cannot be re-encoded (it is multipart or already "
		    "encoded)", why);
	return 0;
}

static int
open_raw(struct msg *m, const struct msg_spec *s, int can_8bit,
    struct err *e)
{
	const struct rawmsg *r = s->raw;
	char line[512];
	size_t i;
	int recode, bad = 0;

	if (raw_recode(r, can_8bit, &recode, e) < 0)
		return -1;
	m->eightbit = !recode && (r->body.has_8bit || r->head_8bit);
	m->body_enc = recode ? ENC_QP : r->body.has_8bit ? ENC_8BIT :
	    ENC_7BIT;
	for (i = 0; i < r->nfields; i++)
		if (!rawmsg_is(r, i, "Bcc") && !(recode && rawmsg_is(r, i,
		    "Content-Transfer-Encoding")))
			bad |= buf_add(&m->text, r->head.data +
			    r->fields[i].off, r->fields[i].len);
	if (!r->has_from)
		bad |= put_list(&m->text, "From", s->from, 1,
		    s->utf8_headers);
	if (!r->has_date) {
		msg_date(line, sizeof(line));
		bad |= buf_addf(&m->text, "Date: %s\n", line);
	}
	if (!r->has_msgid) {
		message_id(line, sizeof(line), s->id_domain);
		bad |= buf_addf(&m->text, "Message-ID: %s\n", line);
	}
	if (recode && !r->has_mime)
		bad |= buf_adds(&m->text, "MIME-Version: 1.0\n");
	if (recode && !r->has_type)
		bad |= buf_addf(&m->text, "Content-Type: text/plain; "
		    "charset=%s\n", r->body.has_8bit && !r->body.utf8_ok ?
		    "unknown-8bit" : "utf-8");
	if (recode)
		bad |= buf_adds(&m->text, "Content-Transfer-Encoding: "
		    "quoted-printable\n");
	bad |= buf_adds(&m->text, "\n");
	if (bad)
		return err_set(e, E_DATA, "message header larger than %d "
		    "bytes", HEAD_MAX);
	add_spool(m, s->body, r->body_off, recode ? ENC_QP : ENC_8BIT);
	return 0;
}

int
msg_open(struct msg *m, const struct msg_spec *s, int can_8bit,
    struct err *e)
{
	int rc;

	memset(m, 0, sizeof(*m));
	buf_init(&m->text, HEAD_MAX);
	buf_init(&m->out, MSG_OUT_MAX);
	m->in = xmalloc(MSG_FILE_CHUNK);
	m->b64 = xmalloc(B64_OUT_MAX(MSG_FILE_CHUNK));
	rc = s->raw != NULL ? open_raw(m, s, can_8bit, e) :
	    open_composed(m, s, can_8bit, e);
	flush_text(m);
	if (rc < 0) {
		msg_close(m);
		return -1;
	}
	return 0;
}

int
msg_is_8bit(const struct msg *m)
{
	return m->eightbit;
}

int
msg_is_binary(const struct msg *m)
{
	return m->binary;
}

enum body_enc
msg_body_encoding(const struct msg *m)
{
	return m->body_enc;
}

int
msg_check(const struct msg_spec *s, struct err *e)
{
	struct msg m;

	if (msg_open(&m, s, 1, e) < 0)
		return -1;
	msg_close(&m);
	return 0;
}

void
msg_close(struct msg *m)
{
	buf_release(&m->text);
	buf_release(&m->out);
	free(m->items);
	free(m->in);
	free(m->b64);
	memset(m, 0, sizeof(*m));
}
