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

struct buf;

struct tls_opts {
	const char *cafile;	/* PEM bundle replacing the system store */
	int insecure;		/* skip certificate verification */
	/* Client identity: a PEM or DER certificate (chain) with its key, a
	 * PKCS#12 bundle (.p12/.pfx, key NULL), or a pkcs11: URI. */
	const char *cert;
	const char *key;	/* NULL: in the cert file (or URI) */
	const char *cert_password; /* key/PKCS#12 password or PIN, or NULL */
	const char *const *pins; /* "sha256//BASE64" SPKI pins */
	size_t npins;
	const char *priority;	/* GnuTLS priority string, or NULL */
	int min_version;	/* 0, 12 (TLS 1.2) or 13 (TLS 1.3) */
	int report_only;	/* verify, but only report (--serverinfo) */
};

/* Channel binding types (RFC 5929 tls-unique, RFC 9266 tls-exporter). */
enum tls_cb_type { TLS_CB_NONE, TLS_CB_UNIQUE, TLS_CB_EXPORTER };
#define TLS_CB_MAX	64

/* Returned by tls_recv/tls_send when the socket must become ready. */
#define TLS_WANT_READ	(-2)
#define TLS_WANT_WRITE	(-3)

/*
 * Errors: E_CONFIG (unusable CA file, certificate, key, wrong password,
 * bad priority string), E_NOINPUT (unreadable CA, certificate or key
 * file; the file is named).
 */
int tls_ctx_new(struct tls_ctx **out, const struct tls_opts *o,
    struct err *e);
void tls_ctx_free(struct tls_ctx *ctx);
/* A client certificate is configured. */
int tls_ctx_has_cert(const struct tls_ctx *ctx);
/* Offer this saved session (from tls_session_data) on the next start. */
void tls_ctx_set_resume(struct tls_ctx *ctx, const void *data, size_t len);
/*
 * Handshake over fd.  verify_name is checked against the certificate (an
 * A-label host name or an IP literal); sni is sent unless NULL.  With
 * pins, the server's public key must match one (also with --insecure).
 * A resumed session is verified again against verify_name.  Errors:
 * E_UNAVAIL (certificate not trusted, wrong name, pin mismatch),
 * E_PROTOCOL (the handshake failed), E_NOPERM (the server refused our
 * client certificate), E_TEMPFAIL (timeout or connection lost).
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
/* The server asked for a client certificate during the handshake. */
int tls_cert_requested(struct tls *t);
/* The session was resumed from saved data. */
int tls_resumed(struct tls *t);
/* Data to resume this session later (replaces out); -1 if none yet. */
int tls_session_data(struct tls *t, struct buf *out);
/*
 * Channel binding for SASL -PLUS: tls-exporter under TLS 1.3, tls-unique
 * before.  Returns the type (TLS_CB_NONE when unavailable), bytes in buf.
 */
enum tls_cb_type tls_channel_binding(struct tls *t, unsigned char *buf,
    size_t size, size_t *len);
/*
 * Append a description of the session, whether the chain is trusted for
 * verify_name, and the server's certificate chain (subject, issuer,
 * validity, SPKI pin) to out, for --serverinfo.
 */
int tls_peer_info(struct tls *t, const char *verify_name, struct buf *out);
/* Lower-case hex SHA-256 of data (hex: 65 bytes). */
void tls_sha256_hex(const void *data, size_t len, char hex[65]);
/* "TLS1.3 with AES-256-GCM" style description, for -v. */
const char *tls_describe(struct tls *t, char *buf, size_t size);
/* The protocol ("TLS1.3") and cipher ("AES-256-GCM") names; static. */
const char *tls_protocol_name(struct tls *t);
const char *tls_cipher_name(struct tls *t);
const char *tls_version_string(void);

#endif
