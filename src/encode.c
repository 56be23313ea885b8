/* Header folding, RFC 2047 and quoted-printable: see encode.h. */
#include <ctype.h>
#include <string.h>

#include "encode.h"

#define EW_MAX		75	/* RFC 2047 section 2: encoded-word length */
#define EW_PREFIX_Q	"=?utf-8?q?"
#define EW_PREFIX_B	"=?utf-8?b?"
#define EW_OVERHEAD	12	/* prefix (10) + "?=" (2) */
#define QP_LINE_MAX	76	/* RFC 2045 section 6.7 rule 5 */

static const char hex[] = "0123456789ABCDEF";
static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
hdr_put(struct hdr *h, const char *s, size_t n)
{
	if (buf_add(h->out, s, n) < 0)
		h->failed = 1;
}

void
hdr_start(struct hdr *h, struct buf *out, const char *name)
{
	h->out = out;
	h->failed = 0;
	hdr_put(h, name, strlen(name));
	hdr_put(h, ":", 1);
	h->name_len = strlen(name) + 1;
	h->col = h->name_len;
}

void
hdr_word(struct hdr *h, const char *w, size_t n)
{
	/* Fold before the space when the word would pass column 78. */
	if (h->col > h->name_len && h->col + 1 + n > HDR_FOLD_COL) {
		hdr_put(h, "\n", 1);
		h->col = 0;
	}
	hdr_put(h, " ", 1);
	hdr_put(h, w, n);
	h->col += 1 + n;
}

void
hdr_glue(struct hdr *h, const char *w, size_t n)
{
	hdr_put(h, w, n);
	h->col += n;
}

int
hdr_end(struct hdr *h)
{
	hdr_put(h, "\n", 1);
	h->col = 0;
	return h->failed ? -1 : 0;
}

/* Length of the UTF-8 character starting with byte c (1 if invalid). */
static size_t
u8len(unsigned char c)
{
	if (c >= 0xf0)
		return 4;
	if (c >= 0xe0)
		return 3;
	if (c >= 0xc0)
		return 2;
	return 1;
}

/*
 * Characters a Q encoded word may carry as themselves.  In a phrase
 * (display name) RFC 2047 section 5(3) allows only letters, digits and
 * "!*+-/"; in unstructured text any printable except "=?_".
 */
static int
q_literal(unsigned char c, int phrase)
{
	if (isalnum(c))
		return 1;
	if (phrase)
		return strchr("!*+-/", c) != NULL && c != '\0';
	return c > 0x20 && c < 0x7f && c != '=' && c != '?' && c != '_';
}

static size_t
q_cost(unsigned char c, int phrase)
{
	return (c == ' ' || q_literal(c, phrase)) ? 1 : 3;
}

/* Append the Q form of s[0..n) to dst (which has room). */
static size_t
q_put(char *dst, const unsigned char *s, size_t n, int phrase)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == ' ') {
			dst[o++] = '_';
		} else if (q_literal(s[i], phrase)) {
			dst[o++] = (char)s[i];
		} else {
			dst[o++] = '=';
			dst[o++] = hex[s[i] >> 4];
			dst[o++] = hex[s[i] & 15];
		}
	}
	return o;
}

static size_t
b_put(char *dst, const unsigned char *s, size_t n)
{
	size_t i, o = 0;
	unsigned v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)s[i] << 16 | (unsigned)s[i + 1] << 8 | s[i + 2];
		dst[o++] = b64[v >> 18];
		dst[o++] = b64[(v >> 12) & 63];
		dst[o++] = b64[(v >> 6) & 63];
		dst[o++] = b64[v & 63];
	}
	if (i < n) {
		v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 :
		    0);
		dst[o++] = b64[v >> 18];
		dst[o++] = b64[(v >> 12) & 63];
		dst[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		dst[o++] = '=';
	}
	return o;
}

/*
 * Write s[0..n) as a sequence of encoded words, each at most 75
 * characters and never splitting a UTF-8 character.  Q is used when it is
 * no longer than B would be (it stays readable), otherwise B.
 */
static void
hdr_encoded(struct hdr *h, const char *str, size_t n, int phrase)
{
	const unsigned char *s = (const unsigned char *)str;
	char word[EW_MAX + 1];
	size_t i, qlen = 0, start, cost, chunk, cl, k, limit;
	int use_q;

	for (i = 0; i < n; i++)
		qlen += q_cost(s[i], phrase);
	use_q = qlen <= (n + 2) / 3 * 4;
	start = 0;
	while (start < n) {
		/*
		 * Fill what is left of the current line when that is worth
		 * it, otherwise a whole continuation line; never over 75.
		 */
		limit = h->col + 1 < HDR_FOLD_COL ? HDR_FOLD_COL - h->col - 1 :
		    0;
		if (limit < EW_OVERHEAD + 12 || limit > EW_MAX)
			limit = EW_MAX;
		/* Take whole characters while the word stays within limit. */
		cost = 0;
		chunk = 0;
		while (start + chunk < n) {
			cl = u8len(s[start + chunk]);
			if (start + chunk + cl > n)
				cl = n - start - chunk;
			if (use_q) {
				for (k = 0, i = 0; k < cl; k++)
					i += q_cost(s[start + chunk + k],
					    phrase);
			} else {
				i = (chunk + cl + 2) / 3 * 4 - cost;
			}
			if (EW_OVERHEAD + cost + i > limit)
				break;
			cost += i;
			chunk += cl;
		}
		if (chunk == 0)
			chunk = 1;	/* cannot happen with valid input */
		memcpy(word, use_q ? EW_PREFIX_Q : EW_PREFIX_B, 10);
		k = 10 + (use_q ? q_put(word + 10, s + start, chunk, phrase) :
		    b_put(word + 10, s + start, chunk));
		word[k++] = '?';
		word[k++] = '=';
		hdr_word(h, word, k);
		start += chunk;
	}
}

static int
needs_encoding(const char *w, size_t n)
{
	size_t i;

	if (n >= 2 && w[0] == '=' && w[1] == '?')
		return 1;	/* would be mistaken for an encoded word */
	if (n > HDR_FOLD_COL - 2)
		return 1;	/* could never fit on a line */
	for (i = 0; i < n; i++)
		if ((unsigned char)w[i] >= 0x80)
			return 1;
	return 0;
}

/* The word starting at p ends at the next space or the string's end. */
static size_t
word_len(const char *p)
{
	const char *sp = strchr(p, ' ');

	return sp ? (size_t)(sp - p) : strlen(p);
}

/*
 * Unstructured text: words separated by single spaces, so runs of spaces
 * survive (an empty word is one more space).  Words that need encoding
 * are merged with following ones that need it too, across empty words,
 * and encoded together with the spaces between them: white space between
 * two adjacent encoded words vanishes when they are decoded.
 */
void
hdr_text(struct hdr *h, const char *text)
{
	const char *p = text, *q, *run_end;
	size_t n;

	for (;;) {
		n = word_len(p);
		if (n == 0 || !needs_encoding(p, n)) {
			hdr_word(h, p, n);
		} else {
			run_end = p + n;
			for (q = run_end; *q == ' ';) {
				while (*q == ' ')
					q++;
				n = word_len(q);
				if (n == 0 || !needs_encoding(q, n))
					break;
				run_end = q + n;
				q = run_end;
			}
			hdr_encoded(h, p, (size_t)(run_end - p), 0);
			p = run_end;
			n = 0;
		}
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
}

/*
 * RFC 5322 atext: may appear in a phrase without quoting, if no word is
 * too long to fold (RFC 5322 section 2.1.1: lines of at most 998).
 */
static int
phrase_atom_ok(const char *s)
{
	size_t run = 0;

	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && *s != ' ' &&
		    !strchr("!#$%&'*+-/=?^_`{|}~", *s))
			return 0;
		run = *s == ' ' ? 0 : run + 1;
		if (run > HDR_FOLD_COL - 2)
			return 0;
	}
	return 1;
}

void
hdr_phrase(struct hdr *h, const char *name)
{
	char quoted[2 * HDR_FOLD_COL + 3];
	const char *p, *end;
	size_t i, o, n = strlen(name);
	int ascii = 1;

	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] >= 0x80)
			ascii = 0;
	if (ascii && phrase_atom_ok(name) && !strstr(name, "=?") &&
	    !strstr(name, "  ") && name[0] != ' ' && n > 0 &&
	    name[n - 1] != ' ') {
		for (p = name;; p = end + 1) {
			end = strchr(p, ' ');
			hdr_word(h, p, end ? (size_t)(end - p) : strlen(p));
			if (end == NULL)
				break;
		}
		return;
	}
	if (ascii && n <= HDR_FOLD_COL - 4) {
		o = 0;
		quoted[o++] = '"';
		for (i = 0; i < n; i++) {
			if (name[i] == '"' || name[i] == '\\')
				quoted[o++] = '\\';
			quoted[o++] = name[i];
		}
		quoted[o++] = '"';
		hdr_word(h, quoted, o);
		return;
	}
	hdr_encoded(h, name, n, 1);
}

void
qp_init(struct qp *q)
{
	q->col = 0;
	q->pending_ws = 0;
	q->pending_cr = 0;
}

/* Put one token (1 or 3 characters), breaking the line softly first. */
static int
qp_token(struct qp *q, const char *t, size_t n, struct buf *out)
{
	if (q->col + n > QP_LINE_MAX - 1) {
		if (buf_add(out, "=\n", 2) < 0)
			return -1;
		q->col = 0;
	}
	q->col += n;
	return buf_add(out, t, n);
}

static int
qp_escaped(struct qp *q, unsigned char c, struct buf *out)
{
	char t[3] = { '=', hex[c >> 4], hex[c & 15] };

	return qp_token(q, t, 3, out);
}

/* Flush a held space or tab: literal mid-line, encoded before a break. */
static int
qp_flush_ws(struct qp *q, int at_line_end, struct buf *out)
{
	char c = (char)q->pending_ws;

	if (c == 0)
		return 0;
	q->pending_ws = 0;
	return at_line_end ? qp_escaped(q, (unsigned char)c, out) :
	    qp_token(q, &c, 1, out);
}

static int
qp_hard_break(struct qp *q, struct buf *out)
{
	if (qp_flush_ws(q, 1, out) < 0)
		return -1;
	q->col = 0;
	return buf_add(out, "\n", 1);
}

int
qp_encode(struct qp *q, const char *in, size_t n, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i;
	char c;

	for (i = 0; i < n; i++) {
		if (q->pending_cr) {
			q->pending_cr = 0;
			if (s[i] == '\n') {
				if (qp_hard_break(q, out) < 0)
					return -1;
				continue;
			}
			/* A CR on its own is data, not a line end. */
			if (qp_flush_ws(q, 0, out) < 0 ||
			    qp_escaped(q, '\r', out) < 0)
				return -1;
		}
		c = (char)s[i];
		if (s[i] == '\r') {
			q->pending_cr = 1;
			continue;
		}
		if (s[i] == '\n') {
			if (qp_hard_break(q, out) < 0)
				return -1;
			continue;
		}
		if (qp_flush_ws(q, 0, out) < 0)
			return -1;
		if (s[i] == ' ' || s[i] == '\t') {
			q->pending_ws = s[i];
			continue;
		}
		/*
		 * '=' and anything outside printable ASCII is escaped; so is
		 * a line-initial 'F' (mbox "From " mangling) and '.'
		 * (some gateways mishandle a dot at the start of a line).
		 */
		if (s[i] == '=' || s[i] < 0x20 || s[i] >= 0x7f ||
		    (q->col == 0 && (s[i] == 'F' || s[i] == '.'))) {
			if (qp_escaped(q, s[i], out) < 0)
				return -1;
		} else if (qp_token(q, &c, 1, out) < 0) {
			return -1;
		}
	}
	return 0;
}

int
qp_finish(struct qp *q, struct buf *out)
{
	if (q->pending_cr) {
		q->pending_cr = 0;
		if (qp_flush_ws(q, 0, out) < 0 ||
		    qp_escaped(q, '\r', out) < 0)
			return -1;
	}
	return qp_flush_ws(q, 1, out);
}
