/*
 * Unit checks for the queue reader: the size qmsg_open() computes for a
 * queued message (what SIZE= declares, RFC 1870) must equal the octets
 * the BDAT writer makes of it -- an independent line-end normaliser --
 * and its longest line and 8-bit flags must be right, for files with
 * CRLF, lone LF and lone CR line ends, CR LF pairs split across the
 * reader's blocks, and 8-bit octets in the header or only in the body.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "err.h"
#include "queue.h"
#include "smtp.h"
#include "check.h"

static char tmpdir[] = "/tmp/test-queue.XXXXXX";
static int dirfd_;
static char envelope[1024];
static size_t envelope_len;

/* The pickup format's envelope block, as qfile writes it. */
static void
make_envelope(void)
{
	struct mailbox from, to;
	const struct mailbox *rcpt[1];
	struct qfile q;
	struct err e;
	char path[256];
	FILE *f;

	err_init(&e);
	CHECK(addr_parse("a@example.com", "test", 0, &from, &e) == 0);
	CHECK(addr_parse("b@example.com", "test", 0, &to, &e) == 0);
	rcpt[0] = &to;
	CHECK(qfile_create(&q, dirfd_, tmpdir, &e) == 0);
	CHECK(qfile_envelope(&q, &from, rcpt, 1, &e) == 0);
	CHECK(qfile_flush(&q, &e) == 0);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, q.tmp);
	f = fopen(path, "rb");
	CHECK(f != NULL);
	envelope_len = fread(envelope, 1, sizeof(envelope), f);
	fclose(f);
	qfile_discard(&q);
	mailbox_release(&from);
	mailbox_release(&to);
}

/* What the BDAT writer makes of the message: its octet count. */
static unsigned long long
chunked_size(const char *p, size_t n)
{
	struct smtp_chunk c;
	struct err e;
	unsigned long long total = 0;
	long took;

	err_init(&e);
	smtp_chunk_init(&c);
	while (n > 0) {
		took = smtp_chunk_add(&c, p, n, &e);
		CHECK(took >= 0);
		if (took < 0)
			break;
		p += took;
		n -= (size_t)took;
		if (smtp_chunk_full(&c)) {
			total += c.len;
			c.len = 0;
		}
	}
	/* An unfinished last line gets its CRLF, as with BDAT LAST. */
	total += c.len + (c.at_bol && !c.pending_cr ? 0 : 2);
	smtp_chunk_free(&c);
	return total;
}

/* The longest line and the 8-bit flags, one octet at a time. */
static void
model(const unsigned char *p, size_t n, size_t *max_line, int *has8,
    int *head8)
{
	size_t i, cur = 0;
	int head = 1;

	*max_line = 0;
	*has8 = *head8 = 0;
	for (i = 0; i < n; i++) {
		if (p[i] == '\r' || p[i] == '\n') {
			if (p[i] == '\n' && i > 0 && p[i - 1] == '\r')
				continue;
			if (cur == 0)
				head = 0;
			cur = 0;
			continue;
		}
		if (p[i] >= 0x80) {
			*has8 = 1;
			*head8 |= head;
		}
		if (++cur > *max_line)
			*max_line = cur;
	}
}

static void
one(const char *label, const unsigned char *body, size_t n)
{
	struct qmsg m;
	struct err e;
	size_t max_line;
	int has8, head8, fd, ok;

	err_init(&e);
	fd = openat(dirfd_, "m.eml", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, envelope, envelope_len) == (ssize_t)envelope_len);
	CHECK(write(fd, body, n) == (ssize_t)n);
	close(fd);
	if (qmsg_open(&m, dirfd_, "m.eml", &e) < 0) {
		CHECK(!"qmsg_open");
		fprintf(stderr, "%s: %s\n", label, e.msg);
		qmsg_close(&m);
		return;
	}
	model(body, n, &max_line, &has8, &head8);
	ok = m.wire_size == chunked_size((const char *)body, n) &&
	    m.max_line == max_line && m.has_8bit == has8 &&
	    m.head_8bit == head8;
	CHECK(ok);
	if (!ok)
		fprintf(stderr, "%s: size %llu/%llu line %zu/%zu 8bit %d/%d "
		    "head %d/%d\n", label, m.wire_size,
		    chunked_size((const char *)body, n), m.max_line, max_line,
		    m.has_8bit, has8, m.head_8bit, head8);
	qmsg_close(&m);
}

int
main(void)
{
	static const char pool[] = "\r\n\r\n\r\nab.x \x80\xc3\xa9";
	unsigned char *body;
	size_t n, i, at, round;
	unsigned seed = 1;
	char label[64];

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	dirfd_ = open(tmpdir, O_RDONLY | O_DIRECTORY);
	make_envelope();

	one("crlf", (const unsigned char *)"Subject: x\r\n\r\nbody\r\n", 21);
	one("lone lf", (const unsigned char *)"Subject: x\n\nbody\nend", 20);
	one("lone cr", (const unsigned char *)"Subject: x\r\rbody\r", 17);
	one("8-bit body", (const unsigned char *)"S: x\r\n\r\n\xc3\xa9\r\n", 12);
	one("8-bit head", (const unsigned char *)"S: \xc3\xa9\r\n\r\nx\r\n", 12);

	/* A CR at the very end of the reader's first block, its LF after. */
	body = malloc(3 * QUEUE_CHUNK);
	n = 2 * QUEUE_CHUNK + 10;
	memset(body, 'a', n);
	for (i = 0; i + 80 < n; i += 80) {
		body[i + 78] = '\r';
		body[i + 79] = '\n';
	}
	at = QUEUE_CHUNK - envelope_len;
	body[at - 1] = '\r';
	body[at] = '\n';
	one("cr lf across blocks", body, n);
	body[at] = 'b';
	one("lone cr at a block's end", body, n);

	/* Random mixtures, cut anywhere by the reader's blocks. */
	for (round = 0; round < 200; round++) {
		n = (size_t)(rand_r(&seed) % (3 * QUEUE_CHUNK));
		for (i = 0; i < n; i++)
			body[i] = (unsigned char)(rand_r(&seed) % 7 == 0 ?
			    pool[rand_r(&seed) % (sizeof(pool) - 1)] : 'a' +
			    rand_r(&seed) % 26);
		if (n > 0)
			body[0] = 'S';	/* not a folded envelope line */
		snprintf(label, sizeof(label), "random %zu", round);
		one(label, body, n);
	}
	free(body);
	unlinkat(dirfd_, "m.eml", 0);
	close(dirfd_);
	rmdir(tmpdir);
	return check_report("test-queue");
}
