/*
 * tls: the only user of GnuTLS.  A tls_ctx holds the trust anchors and
 * settings for a run; a tls session runs over one non-blocking socket.
 * Record I/O never blocks: it reports which direction it needs and the
 * caller (conn) waits through the deadline.  The handshake and the close
 * wait here, bounded by the deadline.
 */
#ifndef SMTPSEND_TLS_H
#define SMTPSEND_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct deadline;
struct err;
struct tls_ctx;
struct tls;

struct tls_opts {
	const char *cafile;	/* PEM bundle replacing the system store */
	int insecure;		/* skip certificate verification */
};

/* Returned by tls_recv/tls_send when the socket must become ready. */
#define TLS_WANT_READ	(-2)
#define TLS_WANT_WRITE	(-3)

/* Errors: E_CONFIG (unusable CA file), E_NOINPUT (unreadable CA file). */
int tls_ctx_new(struct tls_ctx **out, const struct tls_opts *o,
    struct err *e);
void tls_ctx_free(struct tls_ctx *ctx);
/*
 * Handshake over fd.  verify_name is checked against the certificate (an
 * A-label host name or an IP literal); sni is sent unless NULL.  Errors:
 * E_UNAVAIL (certificate not trusted or wrong name), E_PROTOCOL (the
 * handshake failed), E_TEMPFAIL (timeout or connection lost).
 */
int tls_start(struct tls **out, struct tls_ctx *ctx, int fd,
    const char *verify_name, const char *sni, struct deadline *dl,
    struct err *e);
/* >0 bytes, 0 at a clean end of stream, TLS_WANT_*, or -1 with e set. */
ssize_t tls_recv(struct tls *t, void *p, size_t n, struct err *e);
ssize_t tls_send(struct tls *t, const void *p, size_t n, struct err *e);
/* Bytes already decrypted and waiting inside the library. */
size_t tls_pending(struct tls *t);
/* Send close_notify (bounded by dl) and free the session. */
void tls_close(struct tls *t, struct deadline *dl);
void tls_free(struct tls *t);
/* "TLS1.3 with AES-256-GCM" style description, for -v. */
const char *tls_describe(struct tls *t, char *buf, size_t size);
const char *tls_version_string(void);

#endif
