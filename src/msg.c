/* Message composition: see msg.h. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "addr.h"
#include "err.h"
#include "msg.h"
#include "smtp.h"
#include "spool.h"

#define HEAD_MAX	(1024 * 1024)
#define RAW_WORD_MAX	900	/* longest UTF-8 header word left as it is */
#define QP_SLICE	SPOOL_CHUNK	/* input per encoder call: fits qpbuf */

/* Counts octets as the SMTP data writer will send them (see msg_size). */
struct wire {
	unsigned long long n;
	int cr;			/* the last octet was a CR */
	int bol;		/* at the start of a line */
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

static void
message_id(char *buf, size_t size, const char *domain)
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuv";
	unsigned char rnd[15];
	char id[32];
	size_t i;

	/* 120 random bits: unique without any state or clock. */
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(rnd, &ts, sizeof(ts) < sizeof(rnd) ? sizeof(ts) :
		    sizeof(rnd));
	}
	for (i = 0; i < 24; i++) {
		size_t bit = i * 5;
		unsigned v = (unsigned)rnd[bit / 8] << 8 |
		    (bit / 8 + 1 < sizeof(rnd) ? rnd[bit / 8 + 1] : 0);

		id[i] = alphabet[(v >> (11 - bit % 8)) & 31];
	}
	id[24] = '\0';
	snprintf(buf, size, "<%.12s.%.12s@%s>", id, id + 12, domain);
}

int
msg_open(struct msg *m, const struct msg_spec *s, struct spool *body,
    enum body_enc enc, struct err *e)
{
	struct hdr h;
	char line[512];
	int bad = 0;

	memset(m, 0, sizeof(*m));
	buf_init(&m->head, HEAD_MAX);
	buf_init(&m->qpbuf, 4 * SPOOL_CHUNK);
	m->body = body;
	m->enc = enc;
	qp_init(&m->qp);

	msg_date(line, sizeof(line));
	bad |= buf_addf(&m->head, "Date: %s\n", line);
	bad |= put_list(&m->head, "From", s->from, 1, s->utf8_headers);
	if (s->nto > 0)
		bad |= put_list(&m->head, "To", s->to, s->nto,
		    s->utf8_headers);
	else if (s->ncc == 0)
		bad |= buf_adds(&m->head, "To: undisclosed-recipients:;\n");
	if (s->ncc > 0)
		bad |= put_list(&m->head, "Cc", s->cc, s->ncc,
		    s->utf8_headers);
	if (s->subject != NULL) {
		hdr_start(&h, &m->head, "Subject");
		put_text(&h, s->subject, s->utf8_headers);
		bad |= hdr_end(&h);
	}
	message_id(line, sizeof(line), s->id_domain);
	bad |= buf_addf(&m->head, "Message-ID: %s\n", line);
	bad |= buf_adds(&m->head, "MIME-Version: 1.0\n");
	bad |= buf_addf(&m->head, "Content-Type: text/plain; charset=%s\n",
	    !body->info.has_8bit || body->info.utf8_ok ? "utf-8" :
	    "unknown-8bit");
	bad |= buf_addf(&m->head, "Content-Transfer-Encoding: %s\n\n",
	    msg_enc_name(enc));
	if (bad) {
		msg_close(m);
		return err_set(e, E_DATA, "message header larger than %d "
		    "bytes", HEAD_MAX);
	}
	return spool_rewind(body, e);
}

int
msg_read(struct msg *m, const char **p, size_t *n, struct err *e)
{
	const char *raw;
	size_t rawn, take;

	if (m->head_pos < m->head.len) {
		*p = m->head.data + m->head_pos;
		*n = m->head.len - m->head_pos;
		m->head_pos = m->head.len;
		return 0;
	}
	*n = 0;
	while (!m->body_done && *n == 0) {
		if (m->qp_left == 0) {
			if (spool_read(m->body, &raw, &rawn, e) < 0)
				return -1;
			m->body_done = rawn == 0;
			if (m->enc != ENC_QP) {
				*p = raw;
				*n = rawn;
				continue;
			}
			m->qp_in = raw;
			m->qp_left = rawn;
		}
		/* In slices, so that the output always fits qpbuf. */
		take = m->qp_left < QP_SLICE ? m->qp_left : QP_SLICE;
		buf_clear(&m->qpbuf);
		if ((take > 0 ? qp_encode(&m->qp, m->qp_in, take, &m->qpbuf) :
		    qp_finish(&m->qp, &m->qpbuf)) < 0)
			return err_set(e, E_SOFTWARE, "encoder overflow");
		m->qp_in += take;
		m->qp_left -= take;
		*p = m->qpbuf.data;
		*n = m->qpbuf.len;
	}
	return 0;
}

/* The SMTP data writer's line-end rules, counting instead of sending. */
static void
wire_count(struct wire *w, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r' || (p[i] == '\n' && !w->cr))
			w->n += 2;
		else if (p[i] != '\n')
			w->n++;
		w->cr = p[i] == '\r';
		w->bol = p[i] == '\r' || p[i] == '\n';
	}
}

/* Encode the captured body once, only to count the result. */
static int
qp_body_size(struct msg *m, struct wire *w, struct err *e)
{
	struct qp q;
	struct buf out;
	const char *raw;
	size_t rawn, take;
	int rc = -1;

	qp_init(&q);
	buf_init(&out, 4 * SPOOL_CHUNK);
	if (spool_rewind(m->body, e) < 0)
		goto out;
	for (;;) {
		if (spool_read(m->body, &raw, &rawn, e) < 0)
			goto out;
		if (rawn == 0)
			break;
		for (; rawn > 0; raw += take, rawn -= take) {
			take = rawn < QP_SLICE ? rawn : QP_SLICE;
			buf_clear(&out);
			if (qp_encode(&q, raw, take, &out) < 0)
				goto overflow;
			wire_count(w, out.data, out.len);
		}
	}
	buf_clear(&out);
	if (qp_finish(&q, &out) < 0)
		goto overflow;
	wire_count(w, out.data, out.len);
	rc = spool_rewind(m->body, e);
	goto out;
overflow:
	err_set(e, E_SOFTWARE, "encoder overflow");
out:
	buf_release(&out);
	return rc;
}

int
msg_size(struct msg *m, unsigned long long *size, struct err *e)
{
	struct wire w = { 0, 0, 1 };

	wire_count(&w, m->head.data, m->head.len);
	if (m->enc == ENC_QP) {
		if (qp_body_size(m, &w, e) < 0)
			return -1;
	} else {
		w.n += m->body->info.wire_size;
		w.bol = 1;
	}
	if (!w.bol)
		w.n += 2;	/* smtp_data_end() completes the last line */
	*size = w.n;
	return 0;
}

unsigned long long
msg_size_floor(const struct msg *m)
{
	struct wire w = { 0, 0, 1 };

	wire_count(&w, m->head.data, m->head.len);
	return w.n + m->body->info.wire_size;
}

int
msg_is_8bit(const struct msg *m)
{
	size_t i;

	if (m->enc == ENC_8BIT)
		return 1;
	for (i = 0; i < m->head.len; i++)
		if ((unsigned char)m->head.data[i] >= 0x80)
			return 1;
	return 0;
}

void
msg_close(struct msg *m)
{
	buf_release(&m->head);
	buf_release(&m->qpbuf);
}
