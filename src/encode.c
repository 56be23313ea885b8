/*
 * Header folding, RFC 2047 encoded words, MIME parameters (RFC 2045,
 * RFC 2231), quoted-printable, base64 and wire line ends: see encode.h.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
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
	h->reserve = 0;
	hdr_put(h, name, strlen(name));
	hdr_put(h, ":", 1);
	h->name_len = strlen(name) + 1;
	h->col = h->name_len;
}

void
hdr_word(struct hdr *h, const char *w, size_t n)
{
	/* Fold before the space when the word would pass column 78. */
	if (h->col > h->name_len && h->col + 1 + n + h->reserve >
	    HDR_FOLD_COL) {
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
 * no longer than B would be (it stays readable), otherwise B.  pre is
 * glued to the front of the first word and post to the end of every word
 * (room is kept for it; only the last word gets it): this is how a
 * parameter value is written as encoded words inside quotes.
 */
static void
hdr_encoded(struct hdr *h, const char *str, size_t n, int phrase,
    const char *pre, const char *post)
{
	const unsigned char *s = (const unsigned char *)str;
	char word[HDR_FOLD_COL + 1];
	size_t i, qlen = 0, start, cost, chunk, cl, k, limit, extra;
	size_t prelen = strlen(pre), postlen = strlen(post);
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
		extra = (start == 0 ? prelen : 0) + postlen + h->reserve;
		limit = h->col + 1 + extra < HDR_FOLD_COL ? HDR_FOLD_COL -
		    h->col - 1 - extra : 0;
		if (limit < EW_OVERHEAD + 12 || limit > EW_MAX)
			limit = HDR_FOLD_COL - 1 - extra < EW_MAX ?
			    HDR_FOLD_COL - 1 - extra : EW_MAX;
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
		k = 0;
		if (start == 0) {
			memcpy(word, pre, prelen);
			k = prelen;
		}
		memcpy(word + k, use_q ? EW_PREFIX_Q : EW_PREFIX_B, 10);
		k += 10;
		k += use_q ? q_put(word + k, s + start, chunk, phrase) :
		    b_put(word + k, s + start, chunk);
		word[k++] = '?';
		word[k++] = '=';
		start += chunk;
		if (start >= n) {
			memcpy(word + k, post, postlen);
			k += postlen;
		}
		hdr_word(h, word, k);
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

/* RFC 5322 atext: may appear in a phrase without quoting. */
static int
atext_only(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    !strchr("!#$%&'*+-/=?^_`{|}~", s[i]))
			return 0;
	return 1;
}

/* In a phrase, a word that is not an atom is encoded too. */
static int
word_needs_encoding(const char *w, size_t n, int phrase)
{
	return needs_encoding(w, n) || (phrase && !atext_only(w, n));
}

/*
 * Words separated by single spaces, so runs of spaces survive in
 * unstructured text (an empty word is one more space; in a phrase they
 * carry no meaning and are dropped).  Words that need encoding are
 * merged with following ones that need it too, across empty words, and
 * encoded together with the spaces between them: white space between two
 * adjacent encoded words vanishes when they are decoded.  Words that need
 * none stay readable: fewer adjacent encoded words also means fewer
 * chances for decoders that get that rule wrong (Python's address parser
 * among them) to misplace a space.
 */
static void
put_words(struct hdr *h, const char *text, int phrase)
{
	const char *p = text, *q, *run_end;
	size_t n;

	for (;;) {
		n = word_len(p);
		if (n == 0 && phrase) {
			/* nothing: an extra space between words */
		} else if (n == 0 || !word_needs_encoding(p, n, phrase)) {
			hdr_word(h, p, n);
		} else {
			run_end = p + n;
			for (q = run_end; *q == ' ';) {
				while (*q == ' ')
					q++;
				n = word_len(q);
				if (n == 0 || !word_needs_encoding(q, n, phrase))
					break;
				run_end = q + n;
				q = run_end;
			}
			hdr_encoded(h, p, (size_t)(run_end - p), phrase, "",
			    "");
			p = run_end;
			n = 0;
		}
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
}

void
hdr_text(struct hdr *h, const char *text)
{
	put_words(h, text, 0);
}

/*
 * Atoms separated by spaces: a phrase that needs no quoting, provided no
 * atom is too long to fold (RFC 5322 section 2.1.1: lines of at most 998).
 */
static int
atext_only_spaced(const char *s)
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
	if (ascii && atext_only_spaced(name) && !strstr(name, "=?") &&
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
	put_words(h, name, 1);
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
	if (qp_flush_ws(q, 1, out) < 0)
		return -1;
	/*
	 * Text that does not end in a line end: a soft line break keeps it
	 * that way, where the message's own last line end would add one.
	 */
	if (q->col > 0) {
		q->col = 0;
		return buf_add(out, "=\n", 2);
	}
	return 0;
}

/* RFC 2045 section 5.1: token characters (no tspecials, space, CTLs). */
static int
is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

int
mime_is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!is_token_char((unsigned char)*s))
			return 0;
	return 1;
}

/* Printable ASCII (space included): what a quoted-string may carry. */
static int
printable_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/*
 * attr=value as one word: the value as a token, else quoted (RFC 2045).
 * File names are always quoted: some readers expect them to be.
 */
static size_t
param_plain(char *dst, size_t size, const char *attr, const char *value,
    int quote)
{
	size_t o, i;

	quote |= !mime_is_token(value);
	o = (size_t)snprintf(dst, size, "%s=%s", attr, quote ? "\"" : "");
	for (i = 0; value[i] != '\0' && o + 3 < size; i++) {
		if (quote && (value[i] == '"' || value[i] == '\\'))
			dst[o++] = '\\';
		dst[o++] = value[i];
	}
	if (quote && o + 1 < size)
		dst[o++] = '"';
	dst[o] = '\0';
	return o;
}

void
hdr_param(struct hdr *h, const char *attr, const char *value)
{
	char word[2 * HDR_LINE_MAX];
	size_t n;

	n = param_plain(word, sizeof(word), attr, value, 0);
	hdr_glue(h, ";", 1);
	h->reserve = 1;		/* another ";" may follow this word */
	hdr_word(h, word, n);
	h->reserve = 0;
}

/* Would attr="value" fit on a continuation line of its own? */
static int
param_fits(const char *attr, const char *value)
{
	char word[2 * HDR_FOLD_COL];

	if (!printable_ascii(value))
		return 0;
	/* " attr=value;" on a line of its own */
	return strlen(value) < HDR_FOLD_COL &&
	    param_plain(word, sizeof(word), attr, value, 1) + 2 <= HDR_FOLD_COL;
}

/* RFC 2231 section 7: attribute-char, everything else is %XX. */
static int
attr_char(unsigned char c)
{
	return is_token_char(c) && c != '*' && c != '\'' && c != '%';
}

/*
 * Percent-encode whole characters of s[i..n) into word[*o..) while the
 * word stays within max octets (at least one character is always taken).
 * Returns the index of the first character not taken.
 */
static size_t
pct_fill(char *word, size_t *o, size_t max, const unsigned char *s,
    size_t i, size_t n)
{
	size_t k, cl, cost, first = i;

	while (i < n) {
		cl = u8len(s[i]);
		if (i + cl > n)
			cl = n - i;
		for (k = 0, cost = 0; k < cl; k++)
			cost += attr_char(s[i + k]) ? 1 : 3;
		if (*o + cost > max && i > first)
			break;
		for (k = 0; k < cl; k++, i++) {
			if (attr_char(s[i])) {
				word[(*o)++] = (char)s[i];
			} else {
				word[(*o)++] = '%';
				word[(*o)++] = hex[s[i] >> 4];
				word[(*o)++] = hex[s[i] & 15];
			}
		}
	}
	return i;
}

/*
 * RFC 2231 extended parameter: attr*=utf-8''%E2%9C%93 on one line when
 * it fits, else numbered continuations attr*0*=, attr*1*=, ... each on a
 * line of at most 78 columns.  Sections are cut between characters, not
 * inside one: decoders (Python's email among them) decode each section
 * on its own.
 */
static void
param_2231(struct hdr *h, const char *attr, const char *value)
{
	const unsigned char *s = (const unsigned char *)value;
	char word[3 * HDR_LINE_MAX];
	size_t i, n = strlen(value), total = 0, sect = 0, o, max;
	int multi;

	for (i = 0; i < n; i++)
		total += attr_char(s[i]) ? 1 : 3;
	/* " attr*=utf-8''VALUE;" must fit in 78 columns to stay whole. */
	multi = 1 + strlen(attr) + 8 + total + 1 > HDR_FOLD_COL;
	max = multi ? HDR_FOLD_COL - 2 : sizeof(word) - 1;
	h->reserve = 1;
	i = 0;
	do {
		if (multi)
			o = (size_t)snprintf(word, sizeof(word), "%s*%zu*=%s",
			    attr, sect, sect == 0 ? "utf-8''" : "");
		else
			o = (size_t)snprintf(word, sizeof(word), "%s*=utf-8''",
			    attr);
		i = pct_fill(word, &o, max, s, i, n);
		hdr_glue(h, ";", 1);
		hdr_word(h, word, o);
		sect++;
	} while (i < n);
	h->reserve = 0;
}

/* A file name that needs no encoding: always quoted. */
static void
param_quoted(struct hdr *h, const char *attr, const char *value)
{
	char word[2 * HDR_FOLD_COL];
	size_t n;

	n = param_plain(word, sizeof(word), attr, value, 1);
	hdr_glue(h, ";", 1);
	h->reserve = 1;
	hdr_word(h, word, n);
	h->reserve = 0;
}

void
hdr_param_2231(struct hdr *h, const char *attr, const char *value)
{
	if (param_fits(attr, value))
		param_quoted(h, attr, value);
	else
		param_2231(h, attr, value);
}

void
hdr_param_2047(struct hdr *h, const char *attr, const char *value)
{
	char pre[HDR_FOLD_COL];

	if (param_fits(attr, value)) {
		param_quoted(h, attr, value);
		return;
	}
	snprintf(pre, sizeof(pre), "%s=\"", attr);
	hdr_glue(h, ";", 1);
	h->reserve = 1;
	hdr_encoded(h, value, strlen(value), 1, pre, "\"");
	h->reserve = 0;
}

/*
 * Text written as it is, folded only where it has a space: for header
 * values the user wrote in ASCII, which may be structured (message
 * identifiers, URLs) and must not be touched.  Runs of spaces survive as
 * in hdr_text().
 */
void
hdr_verbatim(struct hdr *h, const char *text)
{
	const char *p = text;
	size_t n;

	for (;;) {
		n = word_len(p);
		hdr_word(h, p, n);
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
}

/*
 * Base64 two characters at a time: the 4096 pairs for every 12-bit value,
 * built by the compiler.  Half the lookups of one character at a time,
 * and base64 is most of the work of sending a large attachment.
 */
#define B64C(x)	((char)((x) < 26 ? 'A' + (x) : (x) < 52 ? 'a' + (x) - 26 : \
		    (x) < 62 ? '0' + (x) - 52 : (x) == 62 ? '+' : '/'))
#define B64P1(i)	{ B64C((i) >> 6), B64C((i) & 63) }
#define B64P4(i)	B64P1(i), B64P1((i) + 1), B64P1((i) + 2), B64P1((i) + 3)
#define B64P16(i)	B64P4(i), B64P4((i) + 4), B64P4((i) + 8), B64P4((i) + 12)
#define B64P64(i)	B64P16(i), B64P16((i) + 16), B64P16((i) + 32), \
			B64P16((i) + 48)
#define B64P256(i)	B64P64(i), B64P64((i) + 64), B64P64((i) + 128), \
			B64P64((i) + 192)
#define B64P1024(i)	B64P256(i), B64P256((i) + 256), B64P256((i) + 512), \
			B64P256((i) + 768)
static const char b64pairs[4096][2] = { B64P1024(0), B64P1024(1024),
	B64P1024(2048), B64P1024(3072) };

/*
 * The hot loop of a large attachment.  Six input octets are taken with
 * one 64-bit load (the two octets past them are ignored), cut into four
 * 12-bit indices and written as eight characters from the pair table:
 * about a third fewer instructions than three octets at a time.  The
 * load may only read within the input, so the last group of a line (57
 * octets: nine groups of six, then three) and a short last line go
 * three octets at a time.  restrict tells the compiler the output never
 * overlaps the input (char pointers may alias anything), so it need not
 * reload the input after every store.
 */
static inline uint64_t
load64_be(const unsigned char *p)
{
	return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 |
	    (uint64_t)p[2] << 40 | (uint64_t)p[3] << 32 |
	    (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
	    (uint64_t)p[6] << 8 | p[7];
}

size_t
b64_lines(const void *data, size_t n, char *out)
{
	const unsigned char *restrict in = data;
	char *restrict o = out;
	size_t i, end;
	uint64_t w;
	unsigned v;

	while (n > 0) {
		end = n < B64_LINE_IN ? n : B64_LINE_IN;
		for (i = 0; i + 8 <= end; i += 6) {
			w = load64_be(in + i);
			memcpy(o, b64pairs[w >> 52], 2);
			memcpy(o + 2, b64pairs[(w >> 40) & 0xfff], 2);
			memcpy(o + 4, b64pairs[(w >> 28) & 0xfff], 2);
			memcpy(o + 6, b64pairs[(w >> 16) & 0xfff], 2);
			o += 8;
		}
		for (; i + 2 < end; i += 3) {
			v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 |
			    in[i + 2];
			memcpy(o, b64pairs[v >> 12], 2);
			memcpy(o + 2, b64pairs[v & 0xfff], 2);
			o += 4;
		}
		if (i < end)
			o += b_put(o, in + i, end - i);
		*o++ = '\n';
		in += end;
		n -= end;
	}
	return (size_t)(o - out);
}

unsigned long long
b64_wire_size(unsigned long long n)
{
	unsigned long long lines = (n + B64_LINE_IN - 1) / B64_LINE_IN;
	unsigned long long rem = n % B64_LINE_IN;

	return n / B64_LINE_IN * 76 + (rem ? (rem + 2) / 3 * 4 : 0) +
	    2 * lines;
}

/* Octets before the first CR or LF (memchr is much faster than a loop). */
static size_t
line_run(const char *p, size_t n)
{
	const char *lf = memchr(p, '\n', n), *cr;

	if (lf != NULL)
		n = (size_t)(lf - p);
	cr = memchr(p, '\r', n);
	return cr != NULL ? (size_t)(cr - p) : n;
}

void
eol_init(struct eol *s)
{
	s->pending_cr = 0;
	s->at_bol = 1;
}

/*
 * The same rules as the SMTP data writer (smtp_data_write): CRLF, a lone
 * LF and a lone CR each end a line, and every line end leaves as CRLF.
 */
size_t
eol_crlf(struct eol *s, const char *in, size_t n, char *out)
{
	size_t i = 0, o = 0, run;

	while (i < n) {
		if (s->pending_cr) {
			s->pending_cr = 0;
			if (out != NULL)
				memcpy(out + o, "\r\n", 2);
			o += 2;
			s->at_bol = 1;
			if (in[i] == '\n') {
				i++;
				continue;
			}
		}
		if (in[i] == '\r' || in[i] == '\n') {
			s->pending_cr = in[i] == '\r';
			if (in[i] == '\n') {
				if (out != NULL)
					memcpy(out + o, "\r\n", 2);
				o += 2;
				s->at_bol = 1;
			}
			i++;
			continue;
		}
		run = i + line_run(in + i, n - i);
		if (out != NULL)
			memcpy(out + o, in + i, run - i);
		o += run - i;
		i = run;
		s->at_bol = 0;
	}
	return o;
}

size_t
eol_finish(struct eol *s, char *out)
{
	if (!s->pending_cr && s->at_bol)
		return 0;
	s->pending_cr = 0;
	s->at_bol = 1;
	if (out != NULL)
		memcpy(out, "\r\n", 2);
	return 2;
}
