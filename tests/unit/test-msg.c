/*
 * Unit checks for msg: msg_size() must equal the octets msg_read() hands
 * out once every line end is CRLF (what SIZE= declares, RFC 1870), for
 * every kind of message, without reading the attachments; base64 and
 * quoted-printable streaming must give the same bytes however they are
 * cut; binary parts (RFC 3030) hand out the files' octets untouched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "attach.h"
#include "deadline.h"
#include "encode.h"
#include "err.h"
#include "msg.h"
#include "rawmsg.h"
#include "spool.h"
#include "check.h"

static char tmpdir[] = "/tmp/test-msg.XXXXXX";

static void
fill(struct spool *sp, const char *p, size_t n)
{
	struct err e;

	err_init(&e);
	spool_init(sp);
	CHECK(spool_add(sp, p, n, &e) == 0);
	CHECK(spool_end(sp, &e) == 0);
}

static char *
write_file(const char *name, size_t n, unsigned seed)
{
	char *path;
	FILE *f;
	size_t i;

	if (asprintf(&path, "%s/%s", tmpdir, name) < 0)
		abort();
	f = fopen(path, "wb");
	for (i = 0; i < n; i++)
		fputc((int)((i * 7919 + seed) % 251), f);
	fclose(f);
	return path;
}

/*
 * The wire size found by reading the message out: text with its line
 * ends made CRLF, the content of binary parts as it is (the BDAT writer's
 * rules).
 */
static unsigned long long
read_size(struct msg *m, int *long_line)
{
	struct eol eol;
	unsigned long long total = 0;
	struct err e;
	const char *p;
	size_t n, i, col = 0;

	err_init(&e);
	eol_init(&eol);
	*long_line = 0;
	for (;;) {
		CHECK(msg_read(m, &p, &n, &e) == 0);
		if (n == 0)
			break;
		if (msg_piece_binary(m)) {
			total += n;
			col = 0;
			continue;
		}
		for (i = 0; i < n; i++) {
			col = p[i] == '\n' ? 0 : col + 1;
			if (col > 998)
				*long_line = 1;
		}
		total += eol_crlf(&eol, p, n, NULL);
	}
	return total + eol_finish(&eol, NULL);
}

/* msg_size() first, then the real thing; both twice (rewinding works). */
static void
check_sizes(const struct msg_spec *spec, int can_8bit, const char *what)
{
	struct msg m;
	struct err e;
	unsigned long long size = 0, got;
	int round, long_line;

	err_init(&e);
	CHECK(msg_open(&m, spec, can_8bit, &e) == 0);
	for (round = 0; round < 2; round++) {
		CHECK(msg_size(&m, &size, &e) == 0);
		CHECK(msg_size_floor(&m) <= size);
		got = read_size(&m, &long_line);
		if (size != got) {
			check_failures++;
			fprintf(stderr, "%s: msg_size %llu, read %llu\n", what,
			    size, got);
		}
		CHECK(!long_line);
		m.cur = 0;
		m.started = 0;
	}
	msg_close(&m);
}

static void
base_spec(struct msg_spec *s, struct mailbox *from, struct spool *body)
{
	struct err e;

	err_init(&e);
	memset(s, 0, sizeof(*s));
	CHECK(addr_parse("Zoë <zoe@example.com>", "from", 0, from, &e) == 0);
	s->from = from;
	s->subject = "sizes \xe2\x9c\x93";
	s->id_domain = "example.com";
	s->body = body;
}

static void
test_bodies(void)
{
	static const struct {
		const char *text, *what;
		int can_8bit;
	} cases[] = {
		{ "plain\nascii\n", "7bit", 0 },
		{ "no final newline", "7bit, open last line", 0 },
		{ "cr\r\nlf\r\n", "CRLF input", 0 },
		{ "Gr\xc3\xbc\xc3\x9f" "e\n", "8bit", 1 },
		{ "Gr\xc3\xbc\xc3\x9f" "e\n", "qp for 7-bit servers", 0 },
		{ "caf\xe9 lone\rcr\ttab \n", "qp, invalid UTF-8", 1 },
		{ "", "empty body", 1 },
	};
	struct msg_spec s;
	struct mailbox from;
	struct spool body;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fill(&body, cases[i].text, strlen(cases[i].text));
		base_spec(&s, &from, &body);
		check_sizes(&s, cases[i].can_8bit, cases[i].what);
		spool_release(&body);
		mailbox_release(&from);
	}
}

static void
test_big_qp(void)
{
	struct msg_spec s;
	struct mailbox from;
	struct spool body;
	char *text = malloc(3000000);
	size_t i;

	/* Larger than the spool keeps in memory: read back from its file. */
	for (i = 0; i < 3000000; i++)
		text[i] = (char)(i % 253 == 0 ? '\n' : 0x80 + i % 100);
	fill(&body, text, 3000000);
	base_spec(&s, &from, &body);
	check_sizes(&s, 0, "3 MB quoted-printable");
	spool_release(&body);
	mailbox_release(&from);
	free(text);
}

static void
test_parts(int binary)
{
	static const size_t sizes[] = { 0, 1, 56, 57, 58, 114, 65664, 65665,
		200000 };
	static const char page[] = "<p><img src=\"cid:logo.png\"></p>\n";
	struct attach_opt o[4];
	struct attach a[4];
	struct msg_spec s;
	struct mailbox from;
	struct spool body, html;
	struct deadline dl;
	struct err e;
	char *paths[4], name[32];
	size_t i, k;

	err_init(&e);
	/* Empty files have no size to trust: they are captured, in time. */
	deadline_init(&dl, 60000);
	fill(&html, page, strlen(page));
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		memset(o, 0, sizeof(o));
		for (i = 0; i < 4; i++) {
			snprintf(name, sizeof(name), i == 0 ? "logo.png" :
			    "part-%zu.bin", i);
			paths[i] = write_file(name, sizes[k] + i, (unsigned)i);
			o[i].path = paths[i];
			o[i].is_inline = i == 0;
			CHECK(attach_open(&a[i], &o[i], &dl, &e) == 0);
		}
		fill(&body, "text\n", 5);
		base_spec(&s, &from, &body);
		s.html = &html;
		s.parts = a;
		s.nparts = 4;
		s.binary_parts = binary;
		check_sizes(&s, 1, binary ? "multipart with binary parts" :
		    "multipart with attachments");
		spool_release(&body);
		mailbox_release(&from);
		for (i = 0; i < 4; i++) {
			attach_close(&a[i]);
			unlink(paths[i]);
			free(paths[i]);
		}
	}
	spool_release(&html);
}

/* Append a file's octets to buf. */
static void
add_file(struct buf *b, const char *path)
{
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	CHECK(f != NULL);
	while (f != NULL && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		CHECK(buf_add(b, chunk, n) == 0);
	if (f != NULL)
		fclose(f);
}

/*
 * Binary parts: their content is handed out as the files' octets, in
 * order, marked binary, with a line end just before and just after each
 * one (the blank line after the part's header, the CRLF that starts the
 * boundary delimiter); the headers say binary and nothing is base64.
 */
static void
check_binary_pieces(const struct msg_spec *s, const char *const *paths,
    size_t npaths)
{
	struct buf want, got, text;
	struct msg m;
	struct err e;
	const char *p;
	size_t n, i, nbin = 0;
	int prev_bin = 0;

	err_init(&e);
	buf_init(&want, 8 << 20);
	buf_init(&got, 8 << 20);
	buf_init(&text, 8 << 20);
	for (i = 0; i < npaths; i++)
		add_file(&want, paths[i]);
	CHECK(msg_open(&m, s, 1, &e) == 0);
	CHECK(msg_is_binary(&m));
	CHECK(!msg_is_8bit(&m));
	for (;;) {
		CHECK(msg_read(&m, &p, &n, &e) == 0);
		if (n == 0)
			break;
		if (msg_piece_binary(&m)) {
			if (!prev_bin) {
				CHECK(text.len > 0 &&
				    text.data[text.len - 1] == '\n');
				nbin++;
			}
			CHECK(buf_add(&got, p, n) == 0);
		} else {
			if (prev_bin)
				CHECK(p[0] == '\n');
			CHECK(buf_add(&text, p, n) == 0);
		}
		prev_bin = msg_piece_binary(&m);
	}
	CHECK(got.len == want.len && (want.len == 0 ||
	    memcmp(got.data, want.data, want.len) == 0));
	CHECK(text.data != NULL && strstr(text.data, "base64") == NULL);
	for (i = 0, p = text.data; p != NULL && (p = strstr(p,
	    "Content-Transfer-Encoding: binary\n")) != NULL; p++)
		i++;
	CHECK(i == npaths);
	CHECK(nbin <= npaths);
	msg_close(&m);
	buf_release(&want);
	buf_release(&got);
	buf_release(&text);
}

static void
test_binary(void)
{
	struct attach_opt o[3];
	struct attach a[3];
	struct msg m;
	struct msg_spec s;
	struct mailbox from;
	struct spool body;
	struct deadline dl;
	struct err e;
	char *paths[3], name[32];
	size_t i;

	err_init(&e);
	deadline_init(&dl, 60000);
	memset(o, 0, sizeof(o));
	/* NUL, bare CR, bare LF, and lines far over 998 octets. */
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "bin-%zu", i);
		paths[i] = write_file(name, i == 1 ? 0 : 300000 + i,
		    (unsigned)i);
		o[i].path = paths[i];
		CHECK(attach_open(&a[i], &o[i], &dl, &e) == 0);
	}
	fill(&body, "text\n", 5);
	base_spec(&s, &from, &body);
	s.parts = a;
	s.nparts = 3;
	s.binary_parts = 1;
	check_binary_pieces(&s, (const char *const *)paths, 3);
	/* Without parts there is nothing binary: no BODY=BINARYMIME. */
	s.nparts = 0;
	CHECK(msg_open(&m, &s, 1, &e) == 0);
	CHECK(!msg_is_binary(&m));
	msg_close(&m);
	spool_release(&body);
	mailbox_release(&from);
	for (i = 0; i < 3; i++) {
		attach_close(&a[i]);
		unlink(paths[i]);
		free(paths[i]);
	}
}

static void
test_raw(void)
{
	static const char *const msgs[] = {
		"From: a@example.com\nTo: b@example.com\nBcc: c@example.com\n"
		    "\nbody\n.\n",
		"Subject: 8 bit\r\n\r\nGr\xc3\xbc\xc3\x9f" "e\r\n",
		"Subject: headers only",
	};
	struct msg_spec s;
	struct mailbox from;
	struct spool body;
	struct rawmsg r;
	struct err e;
	size_t i;
	int can;

	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		for (can = 0; can < 2; can++) {
			err_init(&e);
			fill(&body, msgs[i], strlen(msgs[i]));
			CHECK(rawmsg_parse(&r, &body, &e) == 0);
			base_spec(&s, &from, &body);
			s.raw = &r;
			check_sizes(&s, can, "raw message");
			rawmsg_release(&r);
			spool_release(&body);
			mailbox_release(&from);
		}
	}
}

/* Base64 cut into any multiple of 57 octets is the same as in one go. */
static void
test_b64(void)
{
	unsigned char in[1000];
	char one[2000], parts[2000];
	size_t i, n1, n2 = 0, step;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 31);
	n1 = b64_lines(in, sizeof(in), one);
	CHECK(n1 + 18 == b64_wire_size(sizeof(in)));	/* 18 lines: CR each */
	for (step = 57; step < sizeof(in); step += 57 * 3) {
		n2 = 0;
		for (i = 0; i < sizeof(in); i += step)
			n2 += b64_lines(in + i, i + step < sizeof(in) ? step :
			    sizeof(in) - i, parts + n2);
		CHECK(n2 == n1 && memcmp(one, parts, n1) == 0);
	}
	CHECK(b64_lines("", 0, one) == 0);
	CHECK(b64_lines("M", 1, one) == 5 && memcmp(one, "TQ==\n", 5) == 0);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		return 2;
	test_b64();
	test_bodies();
	test_big_qp();
	test_parts(0);
	test_parts(1);
	test_binary();
	test_raw();
	rmdir(tmpdir);
	return check_report("test-msg");
}
