/*
 * TLS over GnuTLS.  Sockets stay non-blocking: GNUTLS_E_AGAIN is turned
 * into "wait for read" or "wait for write" using
 * gnutls_record_get_direction(), so every wait is bounded by the run's
 * deadline (style rules: no SO_RCVTIMEO, no retry-forever loops).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "deadline.h"
#include "err.h"
#include "log.h"
#include "tls.h"
#include "xmalloc.h"

struct tls_ctx {
	gnutls_certificate_credentials_t cred;
	int insecure;
};

struct tls {
	gnutls_session_t s;
	int fd;
};

static int tls_global_ready;

static int
tls_global_init(struct err *e)
{
	int r;

	if (tls_global_ready)
		return 0;
	r = gnutls_global_init();
	if (r < 0)
		return err_set(e, E_SOFTWARE, "TLS: %s", gnutls_strerror(r));
	tls_global_ready = 1;
	return 0;
}

int
tls_ctx_new(struct tls_ctx **out, const struct tls_opts *o, struct err *e)
{
	struct tls_ctx *ctx;
	struct stat st;
	int r;

	if (tls_global_init(e) < 0)
		return -1;
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->insecure = o->insecure;
	r = gnutls_certificate_allocate_credentials(&ctx->cred);
	if (r < 0) {
		free(ctx);
		return err_set(e, E_OSERR, "TLS: %s", gnutls_strerror(r));
	}
	if (o->cafile != NULL) {
		if (stat(o->cafile, &st) < 0) {
			err_set(e, E_NOINPUT, "--cafile %s: %s", o->cafile,
			    strerror(errno));
			goto fail;
		}
		r = gnutls_certificate_set_x509_trust_file(ctx->cred,
		    o->cafile, GNUTLS_X509_FMT_PEM);
		if (r <= 0) {
			err_set(e, E_CONFIG, "--cafile %s: %s", o->cafile,
			    r < 0 ? gnutls_strerror(r) :
			    "no certificate found in the file");
			goto fail;
		}
	} else if (!o->insecure) {
		r = gnutls_certificate_set_x509_system_trust(ctx->cred);
		if (r <= 0) {
			err_set(e, E_CONFIG,
			    "TLS: cannot load the system trust store (%s); "
			    "use --cafile", r < 0 ? gnutls_strerror(r) :
			    "it is empty");
			goto fail;
		}
	}
	*out = ctx;
	return 0;
fail:
	gnutls_certificate_free_credentials(ctx->cred);
	free(ctx);
	return -1;
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	gnutls_certificate_free_credentials(ctx->cred);
	free(ctx);
}

/* Wait in the direction GnuTLS asks for. */
static int
tls_wait(struct tls *t, struct deadline *dl, struct err *e)
{
	short ev = gnutls_record_get_direction(t->s) ? POLLOUT : POLLIN;

	return deadline_wait(t->fd, ev, dl, e) < 0 ? -1 : 0;
}

static int
verify_failure(struct tls *t, const char *name, struct err *e)
{
	gnutls_datum_t out = { NULL, 0 };
	unsigned status = gnutls_session_get_verify_cert_status(t->s);
	char safe[512];

	if (gnutls_certificate_verification_status_print(status,
	    GNUTLS_CRT_X509, &out, 0) < 0 || out.data == NULL)
		return err_set(e, E_UNAVAIL,
		    "TLS handshake: server certificate for %s not trusted",
		    name);
	err_set(e, E_UNAVAIL,
	    "TLS handshake: server certificate for %s rejected: %s", name,
	    printable(safe, sizeof(safe), (const char *)out.data, out.size));
	gnutls_free(out.data);
	return -1;
}

static int
handshake_failure(struct tls *t, int r, const char *name, struct err *e)
{
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR ||
	    r == GNUTLS_E_CERTIFICATE_ERROR)
		return verify_failure(t, name, e);
	if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PUSH_ERROR ||
	    r == GNUTLS_E_PULL_ERROR)
		return err_set(e, E_TEMPFAIL,
		    "TLS handshake: connection lost: %s", gnutls_strerror(r));
	if (r == GNUTLS_E_UNEXPECTED_PACKET_LENGTH ||
	    r == GNUTLS_E_UNSUPPORTED_VERSION_PACKET)
		return err_set(e, E_PROTOCOL, "TLS handshake: %s (the server "
		    "does not seem to speak TLS on this port; try --tls "
		    "starttls)", gnutls_strerror(r));
	return err_set(e, E_PROTOCOL, "TLS handshake: %s", gnutls_strerror(r));
}

int
tls_start(struct tls **out, struct tls_ctx *ctx, int fd,
    const char *verify_name, const char *sni, struct deadline *dl,
    struct err *e)
{
	struct tls *t;
	char desc[128];
	int r;

	t = xcalloc(1, sizeof(*t));
	t->fd = fd;
	r = gnutls_init(&t->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
	if (r < 0) {
		free(t);
		return err_set(e, E_OSERR, "TLS: %s", gnutls_strerror(r));
	}
	if ((r = gnutls_set_default_priority(t->s)) < 0 ||
	    (r = gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE,
	    ctx->cred)) < 0 ||
	    (sni != NULL && (r = gnutls_server_name_set(t->s, GNUTLS_NAME_DNS,
	    sni, strlen(sni))) < 0)) {
		err_set(e, E_SOFTWARE, "TLS: %s", gnutls_strerror(r));
		goto fail;
	}
	if (!ctx->insecure)
		gnutls_session_set_verify_cert(t->s, verify_name, 0);
	gnutls_transport_set_int(t->s, fd);
	gnutls_handshake_set_timeout(t->s, 0);
	for (;;) {
		r = gnutls_handshake(t->s);
		if (r == GNUTLS_E_SUCCESS)
			break;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			if (tls_wait(t, dl, e) < 0)
				goto fail;
			continue;
		}
		if (!gnutls_error_is_fatal(r))
			continue;
		handshake_failure(t, r, verify_name, e);
		/* Tell the server why we leave (best effort, never waits). */
		gnutls_alert_send_appropriate(t->s, r);
		goto fail;
	}
	log_info("TLS established: %s", tls_describe(t, desc, sizeof(desc)));
	*out = t;
	return 0;
fail:
	gnutls_deinit(t->s);
	free(t);
	return -1;
}

static ssize_t
record_result(struct tls *t, ssize_t r, const char *what, struct err *e)
{
	if (r >= 0)
		return r;
	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
		return gnutls_record_get_direction(t->s) ? TLS_WANT_WRITE :
		    TLS_WANT_READ;
	if (r == GNUTLS_E_PREMATURE_TERMINATION)
		return 0;
	return err_set(e, E_TEMPFAIL, "TLS %s: %s", what,
	    gnutls_strerror((int)r));
}

ssize_t
tls_recv(struct tls *t, void *p, size_t n, struct err *e)
{
	ssize_t r;

	do
		r = gnutls_record_recv(t->s, p, n);
	while (r == GNUTLS_E_REHANDSHAKE || (r < 0 && r != GNUTLS_E_AGAIN &&
	    r != GNUTLS_E_INTERRUPTED && !gnutls_error_is_fatal((int)r)));
	return record_result(t, r, "read", e);
}

ssize_t
tls_send(struct tls *t, const void *p, size_t n, struct err *e)
{
	return record_result(t, gnutls_record_send(t->s, p, n), "write", e);
}

size_t
tls_pending(struct tls *t)
{
	return gnutls_record_check_pending(t->s);
}

void
tls_close(struct tls *t, struct deadline *dl)
{
	struct err ignored;
	int r;

	if (t == NULL)
		return;
	err_init(&ignored);
	for (;;) {
		r = gnutls_bye(t->s, GNUTLS_SHUT_WR);
		if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED)
			break;
		if (tls_wait(t, dl, &ignored) < 0)
			break;
	}
	tls_free(t);
}

void
tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	gnutls_deinit(t->s);
	free(t);
}

const char *
tls_describe(struct tls *t, char *buf, size_t size)
{
	char *d = gnutls_session_get_desc(t->s);

	snprintf(buf, size, "%s", d ? d : "?");
	gnutls_free(d);
	return buf;
}

const char *
tls_version_string(void)
{
	return gnutls_check_version(NULL);
}
