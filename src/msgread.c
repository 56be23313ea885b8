/*
 * Reading a composed message out, a piece at a time, and measuring it:
 * see msg.h.  Every piece comes from one item of the message: generated
 * text, a text body (as it is, or quoted-printable), or an attachment
 * (base64, or binary: as it is).  Only one piece is held at a time.
 */
#include <string.h>

#include "attach.h"
#include "encode.h"
#include "err.h"
#include "msg.h"
#include "spool.h"

static int
start_item(struct msg *m, const struct msg_item *it, struct err *e)
{
	m->pos = 0;
	m->finished = 0;
	m->pend = NULL;
	m->npend = 0;
	qp_init(&m->qp);
	if (it->kind == ITEM_SPOOL)
		return spool_seek(it->sp, it->from, e);
	if (it->kind == ITEM_FILE)
		attach_rewind(it->att);
	return 0;
}

/* Quoted-printable, MSG_QP_SLICE input octets per piece at most. */
static int
read_qp(struct msg *m, const struct msg_item *it, const char **p,
    size_t *n, struct err *e)
{
	size_t take;
	int rc = 0;

	buf_clear(&m->out);
	while (m->out.len == 0 && !m->finished && rc == 0) {
		if (m->npend == 0) {
			if (spool_read(it->sp, &m->pend, &m->npend, e) < 0)
				return -1;
			if (m->npend == 0) {
				rc = qp_finish(&m->qp, &m->out);
				m->finished = 1;
				break;
			}
		}
		take = m->npend < MSG_QP_SLICE ? m->npend : MSG_QP_SLICE;
		rc = qp_encode(&m->qp, m->pend, take, &m->out);
		m->pend += take;
		m->npend -= take;
	}
	if (rc < 0)
		return err_set(e, E_SOFTWARE, "encoder overflow");
	*p = m->out.data;
	*n = m->out.len;
	return 0;
}

static int
read_file(struct msg *m, const struct msg_item *it, const char **p,
    size_t *n, struct err *e)
{
	size_t got;

	if (attach_read(it->att, m->in, MSG_FILE_CHUNK, &got, e) < 0)
		return -1;
	if (it->binary) {
		*n = got;
		*p = m->in;
		return 0;
	}
	*n = b64_lines(m->in, got, m->b64);
	*p = m->b64;
	return 0;
}

/* Between pieces, m->cur is the item the last piece came from. */
int
msg_piece_binary(const struct msg *m)
{
	return m->cur < m->nitems && m->items[m->cur].binary;
}

/* What an attachment adds to the message on the wire. */
static unsigned long long
file_wire_size(const struct msg_item *it)
{
	return it->binary ? it->att->size : b64_wire_size(it->att->size);
}

static int
read_item(struct msg *m, const struct msg_item *it, const char **p,
    size_t *n, struct err *e)
{
	switch (it->kind) {
	case ITEM_TEXT:
		*p = m->text.data + it->off + m->pos;
		*n = it->len - m->pos;
		m->pos = it->len;
		return 0;
	case ITEM_SPOOL:
		if (it->enc == ENC_QP)
			return read_qp(m, it, p, n, e);
		return spool_read(it->sp, p, n, e);
	case ITEM_FILE:
		return read_file(m, it, p, n, e);
	}
	return err_set(e, E_SOFTWARE, "bad message item");
}

int
msg_read(struct msg *m, const char **p, size_t *n, struct err *e)
{
	const struct msg_item *it;

	*n = 0;
	while (m->cur < m->nitems) {
		it = &m->items[m->cur];
		if (!m->started && start_item(m, it, e) < 0)
			return -1;
		m->started = 1;
		if (read_item(m, it, p, n, e) < 0)
			return -1;
		if (*n > 0)
			return 0;
		m->cur++;
		m->started = 0;
	}
	return 0;
}

unsigned long long
msg_size_floor(const struct msg *m)
{
	const struct msg_item *it;
	unsigned long long total = 0;
	size_t i;

	for (i = 0; i < m->nitems; i++) {
		it = &m->items[i];
		if (it->kind == ITEM_TEXT)
			total += it->len + it->lines;
		else if (it->kind == ITEM_FILE)
			total += file_wire_size(it);
		else
			total += it->sp->info.size - it->from;
	}
	return total;
}

int
msg_size(struct msg *m, unsigned long long *size, struct err *e)
{
	const struct msg_item *it;
	struct eol eol;
	unsigned long long total = 0;
	const char *p;
	size_t i, n;

	eol_init(&eol);
	for (i = 0; i < m->nitems; i++) {
		it = &m->items[i];
		/*
		 * Base64 lines each end in a line end, and the part's header
		 * block before them ends in a blank line, so the line-end
		 * state is the same before and after: arithmetic suffices.
		 * Binary content is not converted at all and leaves that
		 * state alone.
		 */
		if (it->kind == ITEM_FILE) {
			total += file_wire_size(it);
			continue;
		}
		if (start_item(m, it, e) < 0)
			return -1;
		do {
			if (read_item(m, it, &p, &n, e) < 0)
				return -1;
			total += eol_crlf(&eol, p, n, NULL);
		} while (n > 0);
	}
	total += eol_finish(&eol, NULL);
	m->cur = 0;
	m->started = 0;
	*size = total;
	return 0;
}
