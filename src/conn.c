/* Buffered connection I/O with a swappable transport: see conn.h. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "deadline.h"
#include "err.h"
#include "tls.h"

static ssize_t
plain_recv(void *ctx, void *p, size_t n, struct err *e)
{
	int fd = *(int *)ctx;
	ssize_t r = recv(fd, p, n, MSG_DONTWAIT);

	if (r >= 0)
		return r;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return TLS_WANT_READ;
	return err_set(e, E_TEMPFAIL, "read: %s", strerror(errno));
}

static ssize_t
plain_send(void *ctx, const void *p, size_t n, struct err *e)
{
	int fd = *(int *)ctx;
	ssize_t r = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (r >= 0)
		return r;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return TLS_WANT_WRITE;
	return err_set(e, E_TEMPFAIL, "write: %s", strerror(errno));
}

static size_t
plain_pending(void *ctx)
{
	(void)ctx;
	return 0;
}

static ssize_t
tls_recv_op(void *ctx, void *p, size_t n, struct err *e)
{
	return tls_recv(ctx, p, n, e);
}

static ssize_t
tls_send_op(void *ctx, const void *p, size_t n, struct err *e)
{
	return tls_send(ctx, p, n, e);
}

static size_t
tls_pending_op(void *ctx)
{
	return tls_pending(ctx);
}

static const struct conn_ops plain_ops = {
	plain_recv, plain_send, plain_pending
};
static const struct conn_ops tls_ops = {
	tls_recv_op, tls_send_op, tls_pending_op
};

void
conn_init(struct conn *c, int fd, struct deadline *dl)
{
	memset(c, 0, offsetof(struct conn, rbuf));
	c->fd = fd;
	c->ops = &plain_ops;
	c->ctx = &c->fd;
	c->dl = dl;
}

void
conn_start_tls(struct conn *c, struct tls *t)
{
	c->tls = t;
	c->ops = &tls_ops;
	c->ctx = t;
}

int
conn_rbuf_empty(struct conn *c)
{
	return c->rpos == c->rlen && c->ops->pending(c->ctx) == 0;
}

int
conn_readable(struct conn *c)
{
	struct pollfd p;
	struct err te;
	ssize_t r;

	if (!conn_rbuf_empty(c))
		return 1;
	p.fd = c->fd;
	p.events = POLLIN;
	p.revents = 0;
	if (poll(&p, 1, 0) <= 0)
		return 0;
	/*
	 * A readable socket may carry TLS housekeeping only (a session
	 * ticket, a key update): read once to see whether data came.
	 */
	if (c->rpos > 0) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	if (c->rlen == sizeof(c->rbuf))
		return 1;
	err_init(&te);
	r = c->ops->recv(c->ctx, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen,
	    &te);
	if (r > 0) {
		c->rlen += (size_t)r;
		c->received += (unsigned long long)r;
		return 1;
	}
	/* The end of the stream or an error: the next read reports it. */
	return r != TLS_WANT_READ && r != TLS_WANT_WRITE;
}

/*
 * Wait for the direction a transport call asked for.  Before waiting to
 * read, ask for immediate ACKs: a server whose socket still uses Nagle's
 * algorithm (Postfix) holds its reply back until its previous segment
 * -- typically the TLS 1.3 session ticket sent right after the handshake
 * -- is acknowledged, and a delayed ACK would make that a 40 ms stall.
 */
static int
conn_wait(struct conn *c, ssize_t want, struct err *e)
{
	short ev = want == TLS_WANT_WRITE ? POLLOUT : POLLIN;
	int one = 1;

	if (ev == POLLIN)
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one,
		    sizeof(one));

	return deadline_wait(c->fd, ev, c->dl, e) < 0 ? -1 : 0;
}

/*
 * A transport failure, reported with the phase in front.  RFC 5321
 * section 3.8 asks clients to treat a lost connection like a temporary
 * failure, hence E_TEMPFAIL for a close.
 */
static int
transport_error(struct conn *c, ssize_t r, const struct err *te,
    struct err *e)
{
	if (r == 0 || te->kind == E_OK)
		return err_set(e, E_TEMPFAIL,
		    "%s: connection closed by the server", c->dl->phase);
	return err_set(e, te->kind, "%s: %s", c->dl->phase, te->msg);
}

/* Refill the read buffer; 0 on success, -1 on error or end of stream. */
static int
conn_fill(struct conn *c, struct err *e)
{
	struct err te;
	ssize_t r;

	err_init(&te);
	if (c->rpos > 0) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
	}
	for (;;) {
		r = c->ops->recv(c->ctx, c->rbuf + c->rlen,
		    sizeof(c->rbuf) - c->rlen, &te);
		if (r > 0) {
			c->rlen += (size_t)r;
			c->received += (unsigned long long)r;
			return 0;
		}
		if (r != TLS_WANT_READ && r != TLS_WANT_WRITE)
			return transport_error(c, r, &te, e);
		if (conn_wait(c, r, e) < 0)
			return -1;
	}
}

int
conn_getline(struct conn *c, char *out, size_t max, size_t *len,
    struct err *e)
{
	char *nl;
	size_t n;

	for (;;) {
		nl = memchr(c->rbuf + c->rpos, '\n', c->rlen - c->rpos);
		if (nl != NULL)
			break;
		if (c->rlen - c->rpos >= max)
			return err_set(e, E_PROTOCOL,
			    "%s: reply line longer than %zu bytes",
			    c->dl->phase, max - 1);
		if (conn_fill(c, e) < 0)
			return -1;
	}
	n = (size_t)(nl - (c->rbuf + c->rpos));
	if (n >= max)
		return err_set(e, E_PROTOCOL,
		    "%s: reply line longer than %zu bytes", c->dl->phase,
		    max - 1);
	memcpy(out, c->rbuf + c->rpos, n);
	c->rpos += n + 1;
	if (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	*len = n;
	return 0;
}

/* Send all of p, waiting as the transport needs. */
static int
send_all(struct conn *c, const char *p, size_t n, struct err *e)
{
	struct err te;
	size_t off = 0;
	ssize_t r;

	err_init(&te);
	while (off < n) {
		r = c->ops->send(c->ctx, p + off, n - off, &te);
		if (r > 0) {
			off += (size_t)r;
			c->sent += (unsigned long long)r;
			continue;
		}
		if (r != TLS_WANT_READ && r != TLS_WANT_WRITE)
			return transport_error(c, r, &te, e);
		/* GnuTLS wants the same buffer again after E_AGAIN. */
		if (conn_wait(c, r, e) < 0)
			return -1;
	}
	return 0;
}

int
conn_flush(struct conn *c, struct err *e)
{
	if (c->wlen > 0 && send_all(c, c->wbuf, c->wlen, e) < 0)
		return -1;
	c->wlen = 0;
	return 0;
}

/*
 * Small writes gather in wbuf.  A write that does not fit tops wbuf up
 * and sends it; whole buffer-loads of the rest go straight from the
 * caller's memory (no copy), and only the tail is kept.
 */
int
conn_write(struct conn *c, const void *p, size_t n, struct err *e)
{
	const char *s = p;
	size_t room, bulk;

	room = sizeof(c->wbuf) - c->wlen;
	if (n <= room) {
		memcpy(c->wbuf + c->wlen, s, n);
		c->wlen += n;
		return 0;
	}
	memcpy(c->wbuf + c->wlen, s, room);
	c->wlen += room;
	s += room;
	n -= room;
	if (conn_flush(c, e) < 0)
		return -1;
	bulk = n - n % sizeof(c->wbuf);
	if (bulk > 0 && send_all(c, s, bulk, e) < 0)
		return -1;
	memcpy(c->wbuf, s + bulk, n - bulk);
	c->wlen = n - bulk;
	return 0;
}

void
conn_close(struct conn *c)
{
	if (c->tls != NULL) {
		tls_close(c->tls, c->dl);
		c->tls = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->ops = &plain_ops;
	c->ctx = &c->fd;
}
