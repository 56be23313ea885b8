/*
 * Unit checks for encode.c: folding, RFC 2047, quoted-printable, base64
 * lines.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "encode.h"
#include "check.h"

/* Every physical line of a header block is at most max columns. */
static int
lines_within(const char *s, size_t max)
{
	size_t col = 0;

	for (; *s; s++) {
		if (*s == '\n')
			col = 0;
		else if (++col > max)
			return 0;
	}
	return 1;
}

static int
encoded_words_within(const char *s)
{
	const char *p = s, *end;

	while ((p = strstr(p, "=?")) != NULL) {
		end = strstr(p + 2, "?=");
		/* skip the charset/encoding markers */
		end = strstr(p + 10, "?=");
		if (end == NULL || end + 2 - p > 75)
			return 0;
		p = end + 2;
	}
	return 1;
}

static char *
subject(const char *text)
{
	struct buf b;
	struct hdr h;

	buf_init(&b, 1 << 20);
	hdr_start(&h, &b, "Subject");
	hdr_text(&h, text);
	CHECK(hdr_end(&h) == 0);
	return buf_detach(&b);
}

static char *
phrase(const char *text)
{
	struct buf b;
	struct hdr h;

	buf_init(&b, 1 << 20);
	hdr_start(&h, &b, "From");
	hdr_phrase(&h, text);
	CHECK(hdr_end(&h) == 0);
	return buf_detach(&b);
}

static char *
qp(const char *in, size_t n, size_t step)
{
	struct buf b;
	struct qp q;
	size_t i, k;

	buf_init(&b, 1 << 20);
	qp_init(&q);
	for (i = 0; i < n; i += k) {
		k = step && step < n - i ? step : n - i;
		CHECK(qp_encode(&q, in + i, k, &b) == 0);
	}
	CHECK(qp_finish(&q, &b) == 0);
	return buf_detach(&b);
}

static void
test_subjects(void)
{
	char *s, long_ascii[400], long_utf8[600];
	size_t i;

	s = subject("hello world");
	CHECK_STR(s, "Subject: hello world\n");
	free(s);
	s = subject("nightly \xe2\x9c\x93");
	CHECK_STR(s, "Subject: nightly =?utf-8?b?4pyT?=\n");
	free(s);
	/* adjacent non-ASCII words are one encoded run, space inside */
	s = subject("\xc3\xa9t\xc3\xa9 \xc3\xa0 Paris");
	CHECK(strstr(s, "Paris") != NULL);
	CHECK_STR(s, "Subject: =?utf-8?b?w6l0w6kgw6A=?= Paris\n");
	free(s);
	/* something that looks like an encoded word is itself encoded */
	s = subject("=?x?q?y?=");
	CHECK(strncmp(s, "Subject: =?utf-8?", 17) == 0);
	free(s);
	/* double spaces survive */
	s = subject("a  b");
	CHECK_STR(s, "Subject: a  b\n");
	free(s);
	for (i = 0; i < sizeof(long_ascii) - 1; i++)
		long_ascii[i] = i % 7 == 6 ? ' ' : 'x';
	long_ascii[sizeof(long_ascii) - 1] = '\0';
	s = subject(long_ascii);
	CHECK(lines_within(s, 78));
	free(s);
	for (i = 0; i + 2 < sizeof(long_utf8); i += 2) {
		long_utf8[i] = (char)0xc3;
		long_utf8[i + 1] = (char)0xa9;
	}
	long_utf8[i] = '\0';
	s = subject(long_utf8);
	CHECK(lines_within(s, 78));
	CHECK(encoded_words_within(s));
	free(s);
}

static void
test_phrases(void)
{
	char *s;

	s = phrase("Jane Doe");
	CHECK_STR(s, "From: Jane Doe\n");
	free(s);
	s = phrase("Clayton, Jane");
	CHECK_STR(s, "From: \"Clayton, Jane\"\n");
	free(s);
	s = phrase("say \"hi\"");
	CHECK_STR(s, "From: \"say \\\"hi\\\"\"\n");
	free(s);
	s = phrase("Jane \xc3\x98 Clayton");
	/* ASCII words stay readable; only the non-ASCII one is encoded */
	CHECK_STR(s, "From: Jane =?utf-8?b?w5g=?= Clayton\n");
	free(s);
}

static void
test_qp(void)
{
	static const char text[] = "caf\xc3\xa9 = 1 \nFrom me\r\n.dot \t\n"
	    "lone\rcr end ";
	char *one, *chunked, big[300];
	size_t step;

	one = qp(text, sizeof(text) - 1, 0);
	CHECK_STR(one, "caf=C3=A9 =3D 1=20\n=46rom me\n=2Edot =09\n"
	    "lone=0Dcr end=20=\n");
	/* any chunking gives the same output */
	for (step = 1; step < 8; step++) {
		chunked = qp(text, sizeof(text) - 1, step);
		CHECK_STR(chunked, one);
		free(chunked);
	}
	free(one);
	memset(big, 'a', sizeof(big));
	one = qp(big, sizeof(big), 0);
	CHECK(lines_within(one, 76));
	free(one);
}

static char *
param(void (*fn)(struct hdr *, const char *, const char *), const char *v)
{
	struct buf b;
	struct hdr h;

	buf_init(&b, 1 << 20);
	hdr_start(&h, &b, "Content-Disposition");
	hdr_word(&h, "attachment", 10);
	fn(&h, "filename", v);
	CHECK(hdr_end(&h) == 0);
	return buf_detach(&b);
}

static void
test_params(void)
{
	char *s, name[400];
	size_t i;

	s = param(hdr_param_2231, "report.pdf");
	CHECK_STR(s, "Content-Disposition: attachment; filename=\"report.pdf\"\n");
	free(s);
	s = param(hdr_param_2231, "a \"b\", c; d");
	CHECK_STR(s, "Content-Disposition: attachment; "
	    "filename=\"a \\\"b\\\", c; d\"\n");
	free(s);
	s = param(hdr_param_2231, "\xe2\x9c\x93.txt");
	CHECK_STR(s, "Content-Disposition: attachment; "
	    "filename*=utf-8''%E2%9C%93.txt\n");
	free(s);
	s = param(hdr_param_2047, "\xe2\x9c\x93.txt");
	CHECK_STR(s, "Content-Disposition: attachment; "
	    "filename=\"=?utf-8?b?4pyTLnR4dA==?=\"\n");
	free(s);
	/* long names: continuations, never a character cut in two */
	for (i = 0; i + 2 < sizeof(name); i += 2) {
		name[i] = (char)0xc3;
		name[i + 1] = (char)0xa9;
	}
	name[i] = '\0';
	s = param(hdr_param_2231, name);
	CHECK(lines_within(s, 78));
	CHECK(strstr(s, "filename*0*=utf-8''%C3%A9") != NULL);
	CHECK(strstr(s, "%C3;") == NULL && strstr(s, "*=%A9") == NULL);
	free(s);
	s = param(hdr_param_2047, name);
	CHECK(lines_within(s, 78));
	CHECK(encoded_words_within(s));
	free(s);
	s = param(hdr_param, "=_boundary");
	CHECK_STR(s, "Content-Disposition: attachment; "
	    "filename=\"=_boundary\"\n");
	free(s);
	CHECK(mime_is_token("utf-8") && !mime_is_token("a b") &&
	    !mime_is_token("") && !mime_is_token("x=y"));
}

static void
test_eol(void)
{
	static const char in[] = "a\nb\r\nc\rd\r";
	char out[64];
	struct eol e;
	size_t n, i;

	eol_init(&e);
	n = eol_crlf(&e, in, sizeof(in) - 1, out);
	n += eol_finish(&e, out + n);
	CHECK(n == 12 && memcmp(out, "a\r\nb\r\nc\r\nd\r\n", 12) == 0);
	/* cut anywhere, even between CR and LF: the same count */
	for (i = 0; i < sizeof(in); i++) {
		eol_init(&e);
		n = eol_crlf(&e, in, i, NULL);
		n += eol_crlf(&e, in + i, sizeof(in) - 1 - i, NULL);
		CHECK(n + eol_finish(&e, NULL) == 12);
	}
	eol_init(&e);
	CHECK(eol_finish(&e, NULL) == 0);
}

/* Base64 lines the slow way: six bits at a time, RFC 2045's table. */
static size_t
b64_reference(const unsigned char *in, size_t n, char *out)
{
	static const char t[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0, col = 0;
	unsigned long v;
	int k, have;

	for (i = 0; i < n; i += 3) {
		have = n - i < 3 ? (int)(n - i) : 3;
		v = 0;
		for (k = 0; k < 3; k++)
			v = v << 8 | (k < have ? in[i + k] : 0);
		for (k = 0; k < 4; k++)
			out[o++] = k <= have ? t[(v >> (18 - 6 * k)) & 63] : '=';
		if ((col += 3) == 57 || i + 3 >= n) {
			out[o++] = '\n';
			col = 0;
		}
	}
	return o;
}

/*
 * Every length up to a few lines, from inputs at every alignment: the
 * encoder reads eight octets at a time and must neither get a group at a
 * line's end or the input's end wrong nor read past the end (each input
 * is a block of its own, for the sanitizers and valgrind to watch).
 */
static void
test_b64(void)
{
	unsigned char src[400 + 8], *in;
	char want[700], got[700];
	size_t i, n, off, nw;
	int bad = 0;

	for (i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(i * 167 + (i >> 3) * 13);
	for (off = 0; off < 8; off++)
		for (n = 0; n <= 400; n++) {
			in = malloc(n > 0 ? n : 1);
			memcpy(in, src + off, n);
			nw = b64_reference(in, n, want);
			if (b64_lines(in, n, got) != nw ||
			    memcmp(got, want, nw) != 0)
				bad++;
			free(in);
		}
	CHECK(bad == 0);
	CHECK(b64_lines("foob", 4, got) == 9 &&
	    memcmp(got, "Zm9vYg==\n", 9) == 0);
}

int
main(void)
{
	test_params();
	test_eol();
	test_subjects();
	test_phrases();
	test_qp();
	test_b64();
	return check_report("test-encode");
}
