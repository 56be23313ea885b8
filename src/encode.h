/*
 * encode: header field construction (folding at 78 columns, RFC 5322
 * section 2.2.3; RFC 2047 encoded words for non-ASCII text and phrases;
 * MIME parameters, RFC 2045 and RFC 2231), a streaming quoted-printable
 * encoder (RFC 2045 section 6.7), base64 in lines (section 6.8) and the
 * line-end rule of the wire (any line end becomes CRLF).  Pure functions
 * over buffers: no I/O.  Lines are ended with a bare "\n"; the SMTP data
 * writer turns every line end into CRLF.
 */
#ifndef SMTPSEND_ENCODE_H
#define SMTPSEND_ENCODE_H

#include <stddef.h>

#include "buf.h"

#define HDR_FOLD_COL	78
#define HDR_LINE_MAX	998	/* RFC 5322 section 2.1.1 */

struct hdr {
	struct buf *out;
	size_t col;		/* column of the next character */
	size_t name_len;	/* "Subject:" length: never fold before it */
	size_t reserve;		/* columns to keep free after a word */
	int failed;		/* the buffer hit its cap */
};

void hdr_start(struct hdr *h, struct buf *out, const char *name);
/* A word preceded by a space (or a fold when the line would be long). */
void hdr_word(struct hdr *h, const char *w, size_t n);
/* Text glued to what precedes it (no space, no fold), e.g. ",". */
void hdr_glue(struct hdr *h, const char *w, size_t n);
/* Unstructured text (Subject): non-ASCII runs become encoded words. */
void hdr_text(struct hdr *h, const char *utf8);
/* A display name: atoms, a quoted-string, or encoded words. */
void hdr_phrase(struct hdr *h, const char *utf8);
/* ASCII text as written, folded only at its spaces (never encoded). */
void hdr_verbatim(struct hdr *h, const char *ascii);
/*
 * MIME parameters, each written as ";" and a word (RFC 2045 section 5.1):
 * hdr_param: ASCII value, as a token or a quoted-string.
 * hdr_param_2231: a file name for Content-Disposition: quoted when it is
 *   printable ASCII and fits a line, else RFC 2231 attr*=utf-8''%XX,
 *   split into attr*0*=, attr*1*=, ... continuations to stay in 78 columns.
 * hdr_param_2047: the same name for Content-Type's name= in the form
 *   older readers (Outlook) expect: RFC 2047 encoded words inside the
 *   quotes, which RFC 2047 section 5 does not sanction but which is what
 *   those readers decode.
 */
void hdr_param(struct hdr *h, const char *attr, const char *value);
void hdr_param_2231(struct hdr *h, const char *attr, const char *utf8);
void hdr_param_2047(struct hdr *h, const char *attr, const char *utf8);
/* A non-empty RFC 2045 token (no tspecials, space or controls)? */
int mime_is_token(const char *s);
/* End the field; returns -1 when the buffer overflowed. */
int hdr_end(struct hdr *h);

struct qp {
	size_t col;		/* characters on the current output line */
	int pending_ws;		/* held space or tab (0 = none) */
	int pending_cr;		/* a CR waiting for its LF */
};

void qp_init(struct qp *q);
/* Encode n input bytes, appending to out.  -1 when out is full. */
int qp_encode(struct qp *q, const char *in, size_t n, struct buf *out);
int qp_finish(struct qp *q, struct buf *out);

/*
 * Base64 (RFC 2045 section 6.8) in lines of 76 characters, each ended by
 * "\n": every B64_LINE_IN input octets make one line, and only the last
 * line may be shorter (and padded).  Feeding whole multiples of
 * B64_LINE_IN at a time therefore gives the same output as one call.
 * out needs B64_OUT_MAX(n) bytes.  Returns the bytes written.
 */
#define B64_LINE_IN	57
#define B64_OUT_MAX(n)	(((n) + B64_LINE_IN - 1) / B64_LINE_IN * 77)
size_t b64_lines(const void *in, size_t n, char *out);
/* Octets on the wire (CRLF line ends) for n input octets, exactly. */
unsigned long long b64_wire_size(unsigned long long n);

/*
 * Line ends as on the wire: CRLF, a lone LF or a lone CR each end a line,
 * written as CRLF (the rule of smtp_data_write).  out needs 2 * n bytes,
 * or is NULL to only count.  eol_finish ends an open last line, as the
 * end of DATA does.  Both return the octets produced.
 */
struct eol {
	int pending_cr;
	int at_bol;
};

void eol_init(struct eol *s);
size_t eol_crlf(struct eol *s, const char *in, size_t n, char *out);
size_t eol_finish(struct eol *s, char *out);

#endif
