/*
 * Fuzz target: header encoding (RFC 2047 encoded words in unstructured
 * text and in display names, folding per RFC 5322 section 2.2.3) and the
 * streaming quoted-printable encoder (RFC 2045 section 6.7), fed in
 * pieces.  Header text gets what the command line lets through (text
 * that passes addr_check_text()); the encoder gets anything.  What comes
 * out must be 7-bit, free of CR and NUL, with every header continuation
 * line folded (starting with white space), no line over 998 octets, and
 * quoted-printable lines of at most 76 characters.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "encode.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_lines(const struct buf *b, size_t max, int folded)
{
	size_t i, col = 0, line = 0;

	for (i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		if (c >= 0x80 || c == '\r' || c == '\0')
			abort();
		if (c == '\n') {
			line++;
			col = 0;
			continue;
		}
		if (folded && col == 0 && line > 0 && c != ' ' && c != '\t')
			abort();
		if (++col > max)
			abort();
	}
}

static void
header(const char *s, int phrase)
{
	struct buf b;
	struct hdr h;

	buf_init(&b, 1 << 20);
	hdr_start(&h, &b, phrase ? "From" : "Subject");
	if (phrase)
		hdr_phrase(&h, s);
	else
		hdr_text(&h, s);
	if (hdr_end(&h) == 0)
		check_lines(&b, 998, 1);
	buf_release(&b);
}

static void
quoted_printable(const uint8_t *data, size_t size)
{
	struct buf b;
	struct qp q;
	size_t off = 0, step = size % 7 + 1;

	buf_init(&b, 1 << 22);
	qp_init(&q);
	while (off < size) {
		size_t n = size - off < step ? size - off : step;

		if (qp_encode(&q, (const char *)data + off, n, &b) < 0)
			abort();
		off += n;
	}
	if (qp_finish(&q, &b) < 0)
		abort();
	check_lines(&b, 76, 0);
	buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e;
	char *s;

	if (size > 8192)
		return 0;
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	err_init(&e);
	if (memchr(data, '\0', size) == NULL &&
	    addr_check_text(s, "fuzz", &e) == 0) {
		header(s, 0);
		header(s, 1);
	}
	free(s);
	quoted_printable(data, size);
	return 0;
}
