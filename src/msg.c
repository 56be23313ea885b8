/* Message composition: see msg.h. */
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

/* One address in a header: [phrase] <local@domain>. */
static void
put_mailbox(struct hdr *h, const struct mailbox *mb)
{
	char spec[300];
	int n;

	if (mb->name != NULL && mb->name[0] != '\0')
		hdr_phrase(h, mb->name);
	n = snprintf(spec, sizeof(spec), mb->name && mb->name[0] ?
	    "<%s@%s>" : "%s@%s", mb->local, mb->domain_ascii);
	hdr_word(h, spec, (size_t)n < sizeof(spec) ? (size_t)n :
	    sizeof(spec) - 1);
}

static int
put_list(struct buf *b, const char *name, const struct mailbox *v,
    size_t n)
{
	struct hdr h;
	size_t i;

	hdr_start(&h, b, name);
	for (i = 0; i < n; i++) {
		put_mailbox(&h, &v[i]);
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
	bad |= put_list(&m->head, "From", s->from, 1);
	if (s->nto > 0)
		bad |= put_list(&m->head, "To", s->to, s->nto);
	else if (s->ncc == 0)
		bad |= buf_adds(&m->head, "To: undisclosed-recipients:;\n");
	if (s->ncc > 0)
		bad |= put_list(&m->head, "Cc", s->cc, s->ncc);
	if (s->subject != NULL) {
		hdr_start(&h, &m->head, "Subject");
		hdr_text(&h, s->subject);
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
	size_t rawn;

	if (m->head_pos < m->head.len) {
		*p = m->head.data + m->head_pos;
		*n = m->head.len - m->head_pos;
		m->head_pos = m->head.len;
		return 0;
	}
	*n = 0;
	while (!m->body_done && *n == 0) {
		if (spool_read(m->body, &raw, &rawn, e) < 0)
			return -1;
		if (m->enc != ENC_QP) {
			m->body_done = rawn == 0;
			*p = raw;
			*n = rawn;
			continue;
		}
		buf_clear(&m->qpbuf);
		if ((rawn > 0 ? qp_encode(&m->qp, raw, rawn, &m->qpbuf) :
		    qp_finish(&m->qp, &m->qpbuf)) < 0)
			return err_set(e, E_SOFTWARE, "encoder overflow");
		m->body_done = rawn == 0;
		*p = m->qpbuf.data;
		*n = m->qpbuf.len;
	}
	return 0;
}

void
msg_close(struct msg *m)
{
	buf_release(&m->head);
	buf_release(&m->qpbuf);
}
