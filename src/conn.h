/*
 * conn: buffered, deadline-bounded I/O over one non-blocking socket.  The
 * transport underneath is plain TCP until conn_start_tls() swaps in a TLS
 * session; the SMTP code above never knows which one it talks through.
 * Reads are line-oriented with a hard length bound; writes collect in a
 * buffer and leave in as few system calls as possible.
 */
#ifndef SMTPSEND_CONN_H
#define SMTPSEND_CONN_H

#include <stddef.h>
#include <sys/types.h>

struct deadline;
struct err;
struct tls;

#define CONN_RBUF_SIZE	8192
#define CONN_WBUF_SIZE	65536

struct conn_ops {
	ssize_t (*recv)(void *ctx, void *p, size_t n, struct err *e);
	ssize_t (*send)(void *ctx, const void *p, size_t n, struct err *e);
	size_t (*pending)(void *ctx);
};

struct conn {
	int fd;
	const struct conn_ops *ops;
	void *ctx;		/* the transport's own state */
	struct tls *tls;	/* set once TLS runs */
	struct deadline *dl;
	size_t rpos, rlen;
	size_t wlen;
	unsigned long long sent, received;
	char rbuf[CONN_RBUF_SIZE];
	char wbuf[CONN_WBUF_SIZE];
};

void conn_init(struct conn *c, int fd, struct deadline *dl);
/*
 * Read one line into out (size max, NUL-terminated, line ending removed).
 * Errors: E_PROTOCOL (line longer than max - 1), E_TEMPFAIL (connection
 * closed, timeout).
 */
int conn_getline(struct conn *c, char *out, size_t max, size_t *len,
    struct err *e);
/* Queue bytes; flushes by itself when the buffer fills. */
int conn_write(struct conn *c, const void *p, size_t n, struct err *e);
int conn_flush(struct conn *c, struct err *e);
/*
 * For a writer that transforms bytes as it copies them (the DATA writer):
 * conn_wroom() is the free room at the end of the write buffer,
 * conn_wtail() where it begins, and conn_wcommit() counts n bytes written
 * there.  Writing in place saves a call and a copy per line.
 */
static inline size_t
conn_wroom(const struct conn *c)
{
	return sizeof(c->wbuf) - c->wlen;
}

static inline char *
conn_wtail(struct conn *c)
{
	return c->wbuf + c->wlen;
}

static inline void
conn_wcommit(struct conn *c, size_t n)
{
	c->wlen += n;
}
/* True when nothing received is waiting to be read. */
int conn_rbuf_empty(struct conn *c);
/*
 * True when something from the peer (data, or the end of the stream) can
 * be read without waiting: buffered here, inside TLS, or on the socket.
 */
int conn_readable(struct conn *c);
/* From now on, talk through t. */
void conn_start_tls(struct conn *c, struct tls *t);
/* Close TLS (when running) and the socket. */
void conn_close(struct conn *c);

#endif
