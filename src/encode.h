/*
 * encode: header field construction (folding at 78 columns, RFC 5322
 * section 2.2.3; RFC 2047 encoded words for non-ASCII text and phrases)
 * and a streaming quoted-printable encoder (RFC 2045 section 6.7).  Pure
 * functions over buffers: no I/O.  Lines are ended with a bare "\n"; the
 * SMTP data writer turns every line end into CRLF.
 */
#ifndef SMTPSEND_ENCODE_H
#define SMTPSEND_ENCODE_H

#include <stddef.h>

#include "buf.h"

#define HDR_FOLD_COL	78

struct hdr {
	struct buf *out;
	size_t col;		/* column of the next character */
	size_t name_len;	/* "Subject:" length: never fold before it */
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

#endif
