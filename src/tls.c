/*
 * TLS over GnuTLS.  Sockets stay non-blocking: GNUTLS_E_AGAIN is turned
 * into "wait for read" or "wait for write" using
 * gnutls_record_get_direction(), so every wait is bounded by the run's
 * deadline (style rules: no SO_RCVTIMEO, no retry-forever loops).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/ocsp.h>
#include <gnutls/pkcs11.h>
#include <gnutls/x509.h>

#include "buf.h"
#include "deadline.h"
#include "err.h"
#include "log.h"
#include "tls.h"
#include "xmalloc.h"

struct tls_ctx {
	gnutls_certificate_credentials_t cred;
	gnutls_priority_t prio;		/* NULL: the library's default */
	int insecure;
	int report_only;		/* --serverinfo reports it all itself */
	int has_cert;
	char *pin;			/* PKCS#11 PIN (wiped on free) */
	char **pins;			/* SPKI pins, base64 only */
	size_t npins;
	gnutls_datum_t resume;		/* session to offer, or empty */
};

/*
 * GnuTLS writes every record with a system call of its own, so a bulk
 * write of 64 KiB would take four.  tls_send() collects the records of
 * one call in out instead (up to TLS_OUT_RECORDS of them) and sends them
 * together: a large message over TLS then costs as many system calls as
 * in the clear.
 */
#define TLS_OUT_RECORDS	4

struct tls {
	gnutls_session_t s;
	int fd;
	int gathering;		/* push into out, not onto the socket */
	char *out;		/* records of one tls_send(); NULL until then */
	size_t out_size;
	size_t olen, ooff;	/* records gathered, octets of them sent */
	size_t taken;		/* plaintext octets those records carry */
};

static int load_identity(struct tls_ctx *ctx, const struct tls_opts *o,
    struct err *e);
static int set_priority(struct tls_ctx *ctx, const struct tls_opts *o,
    struct err *e);

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
	ctx->insecure = o->insecure || o->report_only;
	ctx->report_only = o->report_only;
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
	if (load_identity(ctx, o, e) < 0 || set_priority(ctx, o, e) < 0)
		goto fail;
	ctx->pins = xcalloc(o->npins + 1, sizeof(*ctx->pins));
	for (ctx->npins = 0; ctx->npins < o->npins; ctx->npins++)
		ctx->pins[ctx->npins] = xstrdup(o->pins[ctx->npins] + 8);
	*out = ctx;
	return 0;
fail:
	tls_ctx_free(ctx);
	return -1;
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
	size_t i;

	if (ctx == NULL)
		return;
	gnutls_certificate_free_credentials(ctx->cred);
	if (ctx->prio != NULL)
		gnutls_priority_deinit(ctx->prio);
	if (ctx->pin != NULL) {
		explicit_bzero(ctx->pin, strlen(ctx->pin));
		free(ctx->pin);
	}
	for (i = 0; i < ctx->npins; i++)
		free(ctx->pins[i]);
	free(ctx->pins);
	tls_ctx_set_resume(ctx, NULL, 0);
	free(ctx);
}

int
tls_ctx_has_cert(const struct tls_ctx *ctx)
{
	return ctx->has_cert;
}

void
tls_ctx_set_resume(struct tls_ctx *ctx, const void *data, size_t len)
{
	if (ctx->resume.data != NULL) {
		explicit_bzero(ctx->resume.data, ctx->resume.size);
		free(ctx->resume.data);
	}
	ctx->resume.data = NULL;
	ctx->resume.size = 0;
	if (data == NULL || len == 0)
		return;
	ctx->resume.data = xmalloc(len);
	memcpy(ctx->resume.data, data, len);
	ctx->resume.size = (unsigned)len;
}

/* Read a whole file for GnuTLS; E_NOINPUT names it when it cannot. */
static int
load_file(const char *path, const char *what, gnutls_datum_t *d,
    struct err *e)
{
	struct stat st;
	int r;

	if (stat(path, &st) < 0)
		return err_set(e, E_NOINPUT, "%s %s: %s", what, path,
		    strerror(errno));
	if (S_ISDIR(st.st_mode))
		return err_set(e, E_NOINPUT, "%s %s: is a directory", what,
		    path);
	if (access(path, R_OK) < 0)
		return err_set(e, E_NOINPUT, "%s %s: %s", what, path,
		    strerror(errno));
	r = gnutls_load_file(path, d);
	if (r < 0)
		return err_set(e, E_NOINPUT, "%s %s: %s", what, path,
		    gnutls_strerror(r));
	return 0;
}

static void
free_datum(gnutls_datum_t *d)
{
	if (d->data != NULL) {
		explicit_bzero(d->data, d->size);
		gnutls_free(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

static gnutls_x509_crt_fmt_t
guess_format(const gnutls_datum_t *d)
{
	return memmem(d->data, d->size, "-----BEGIN", 10) != NULL ?
	    GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER;
}

static int
key_error(const char *path, const char *password, int r, struct err *e)
{
	if (r == GNUTLS_E_DECRYPTION_FAILED && password == NULL)
		return err_set(e, E_CONFIG, "--key %s: the key is encrypted; "
		    "give its password with --cert-password-file", path);
	if (r == GNUTLS_E_DECRYPTION_FAILED)
		return err_set(e, E_CONFIG, "--key %s: cannot decrypt the key "
		    "(wrong --cert-password-file?)", path);
	return err_set(e, E_CONFIG, "--key %s: not a usable private key: %s",
	    path, gnutls_strerror(r));
}

/* A certificate chain and its key, each PEM or DER, the key maybe PKCS#8. */
static int
load_pair(struct tls_ctx *ctx, const char *cert, const char *key,
    const char *password, struct err *e)
{
	gnutls_datum_t cd = { NULL, 0 }, kd = { NULL, 0 };
	gnutls_x509_crt_t *crts = NULL;
	gnutls_x509_privkey_t k = NULL;
	unsigned n = 0, i;
	int r, rc = -1;

	if (load_file(cert, "--cert", &cd, e) < 0 ||
	    load_file(key, "--key", &kd, e) < 0)
		goto out;
	r = gnutls_x509_crt_list_import2(&crts, &n, &cd, guess_format(&cd), 0);
	if (r < 0 || n == 0) {
		err_set(e, E_CONFIG, "--cert %s: no usable certificate: %s",
		    cert, r < 0 ? gnutls_strerror(r) : "empty");
		goto out;
	}
	if ((r = gnutls_x509_privkey_init(&k)) < 0 ||
	    (r = gnutls_x509_privkey_import2(k, &kd, guess_format(&kd),
	    password, password ? 0 : GNUTLS_PKCS_PLAIN)) < 0) {
		if (r == GNUTLS_E_DECRYPTION_FAILED || password != NULL ||
		    (r = gnutls_x509_privkey_import2(k, &kd, guess_format(&kd),
		    NULL, 0)) < 0) {
			key_error(key, password, r, e);
			goto out;
		}
	}
	r = gnutls_certificate_set_x509_key(ctx->cred, crts, n, k);
	if (r < 0) {
		err_set(e, E_CONFIG, "--cert %s with --key %s: %s", cert, key,
		    gnutls_strerror(r));
		goto out;
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	if (k != NULL)
		gnutls_x509_privkey_deinit(k);
	free_datum(&cd);
	free_datum(&kd);
	return rc;
}

/* A PKCS#12 bundle: certificate, chain and key under one password. */
static int
load_pkcs12(struct tls_ctx *ctx, const char *path, const char *password,
    struct err *e)
{
	gnutls_datum_t d = { NULL, 0 };
	int r;

	if (load_file(path, "--cert", &d, e) < 0)
		return -1;
	r = gnutls_certificate_set_x509_simple_pkcs12_mem(ctx->cred, &d,
	    guess_format(&d), password ? password : "");
	free_datum(&d);
	if (r == GNUTLS_E_MAC_VERIFY_FAILED || r == GNUTLS_E_DECRYPTION_FAILED)
		return err_set(e, E_CONFIG, "--cert %s: cannot open the "
		    "PKCS#12 bundle: %s", path, password ? "wrong "
		    "--cert-password-file?" : "it needs a password "
		    "(--cert-password-file)");
	if (r < 0)
		return err_set(e, E_CONFIG, "--cert %s: not a usable PKCS#12 "
		    "bundle: %s", path, gnutls_strerror(r));
	return 0;
}

/* GnuTLS asks for a token PIN: answer once with --cert-password-file. */
static int
pin_callback(void *user, int attempt, const char *token_url,
    const char *token_label, unsigned flags, char *pin, size_t pin_max)
{
	struct tls_ctx *ctx = user;
	size_t n;

	(void)token_url;
	(void)token_label;
	if (ctx->pin == NULL || attempt > 0 || (flags & GNUTLS_PIN_WRONG))
		return -1;
	n = strlen(ctx->pin);
	if (n + 1 > pin_max)
		return -1;
	memcpy(pin, ctx->pin, n + 1);
	return 0;
}

/* What went wrong with a PKCS#11 object, in terms of what to do about it. */
static int
pkcs11_error(const char *opt, const char *uri, int r, int have_pin,
    struct err *e)
{
	char safe[256];

	printable(safe, sizeof(safe), uri, strlen(uri));
	switch (r) {
	case GNUTLS_E_PKCS11_PIN_ERROR:
	case GNUTLS_E_PKCS11_PIN_LOCKED:
		if (!have_pin)
			return err_set(e, E_CONFIG, "%s %s: the token asks for "
			    "its PIN; give it with --cert-password-file", opt,
			    safe);
		return err_set(e, E_CONFIG, "%s %s: the token refused the PIN "
		    "from --cert-password-file (%s)", opt, safe,
		    gnutls_strerror(r));
	case GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE:
	case GNUTLS_E_PKCS11_REQUESTED_OBJECT_NOT_AVAILBLE:
	case GNUTLS_E_PKCS11_TOKEN_ERROR:
	case GNUTLS_E_PKCS11_SLOT_ERROR:
		return err_set(e, E_CONFIG, "%s %s: no token holds an object "
		    "matching this URI (p11tool --list-tokens and p11tool "
		    "--login --list-all show what there is)", opt, safe);
	default:
		return err_set(e, E_CONFIG, "%s %s: %s", opt, safe,
		    gnutls_strerror(r));
	}
}

/*
 * A certificate and key of which at least one is a PKCS#11 URI; the key
 * never leaves its token.  The certificate is looked at on its own
 * first, so that an error names the option that is wrong.
 */
static int
load_pkcs11(struct tls_ctx *ctx, const char *cert, const char *key,
    const char *password, struct err *e)
{
	gnutls_x509_crt_fmt_t fmt = GNUTLS_X509_FMT_PEM;
	gnutls_datum_t d = { NULL, 0 };
	gnutls_x509_crt_t crt;
	int r;

	if (password != NULL)
		ctx->pin = xstrdup(password);
	gnutls_pkcs11_set_pin_function(pin_callback, ctx);
	if (strncmp(cert, "pkcs11:", 7) == 0) {
		if ((r = gnutls_x509_crt_init(&crt)) < 0)
			return err_set(e, E_OSERR, "TLS: %s",
			    gnutls_strerror(r));
		r = gnutls_x509_crt_import_url(crt, cert, 0);
		gnutls_x509_crt_deinit(crt);
		if (r < 0)
			return pkcs11_error("--cert", cert, r,
			    password != NULL, e);
	} else {
		if (load_file(cert, "--cert", &d, e) < 0)
			return -1;
		fmt = guess_format(&d);
		free_datum(&d);
	}
	r = gnutls_certificate_set_x509_key_file2(ctx->cred, cert,
	    key ? key : cert, fmt, NULL, 0);
	if (r < 0)
		return pkcs11_error(key ? "--key" : "--cert", key ? key : cert,
		    r, password != NULL, e);
	return 0;
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* The client certificate the server may ask for (RFC 8446 4.4.2). */
static int
load_identity(struct tls_ctx *ctx, const struct tls_opts *o, struct err *e)
{
	int rc;

	if (o->cert == NULL)
		return 0;
	if (strncmp(o->cert, "pkcs11:", 7) == 0 ||
	    (o->key != NULL && strncmp(o->key, "pkcs11:", 7) == 0))
		rc = load_pkcs11(ctx, o->cert, o->key, o->cert_password, e);
	else if (o->key == NULL && (has_suffix(o->cert, ".p12") ||
	    has_suffix(o->cert, ".pfx")))
		rc = load_pkcs12(ctx, o->cert, o->cert_password, e);
	else
		rc = load_pair(ctx, o->cert, o->key ? o->key : o->cert,
		    o->cert_password, e);
	if (rc == 0)
		ctx->has_cert = 1;
	return rc;
}

/*
 * --tls-priority replaces the default priority string; --tls-min removes
 * the older protocol versions from whichever string is in force.
 */
static int
set_priority(struct tls_ctx *ctx, const struct tls_opts *o, struct err *e)
{
	const char *base = o->priority ? o->priority : "NORMAL", *err_pos;
	char *str;
	int r;

	if (o->priority == NULL && o->min_version == 0)
		return 0;
	str = xasprintf("%s%s", base, o->min_version == 13 ?
	    ":-VERS-TLS1.2:-VERS-TLS1.1:-VERS-TLS1.0" : o->min_version == 12 ?
	    ":-VERS-TLS1.1:-VERS-TLS1.0" : "");
	r = gnutls_priority_init(&ctx->prio, str, &err_pos);
	if (r < 0) {
		err_set(e, E_CONFIG, "--tls-priority: GnuTLS rejects \"%s\"%s"
		    "%.40s%s: %s", base, r == GNUTLS_E_INVALID_REQUEST &&
		    err_pos ? " at \"" : "", r == GNUTLS_E_INVALID_REQUEST &&
		    err_pos ? err_pos : "", r == GNUTLS_E_INVALID_REQUEST &&
		    err_pos ? "\"" : "", gnutls_strerror(r));
		ctx->prio = NULL;
	}
	free(str);
	return r < 0 ? -1 : 0;
}

/* Wait in the direction GnuTLS asks for. */
static int
tls_wait(struct tls *t, struct deadline *dl, struct err *e)
{
	short ev = gnutls_record_get_direction(t->s) ? POLLOUT : POLLIN;

	return deadline_wait(t->fd, ev, dl, e) < 0 ? -1 : 0;
}

/* What the OCSP response stapled to the server's certificate says. */
struct staple {
	enum { STAPLE_NONE, STAPLE_UNREADABLE, STAPLE_READ } state;
	unsigned status;	/* gnutls_ocsp_cert_status_t */
	time_t this_update, next_update, revoked_at;
};

/*
 * A staple GnuTLS refused may be well signed but old: its next update
 * has passed (RFC 6960 section 4.2.2.1: newer information is then
 * available).  GnuTLS reports that as an invalid response; saying which
 * it was tells the user whose fault it is.
 */
/* How far ahead a response may be dated before we say so (clock skew). */
#define FUTURE_SLACK_S	300

static int
staple_stale(const struct staple *st, unsigned status)
{
	return (status & (GNUTLS_CERT_INVALID_OCSP_STATUS |
	    GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED)) &&
	    st->state == STAPLE_READ && st->next_update != (time_t)-1 &&
	    st->next_update < time(NULL);
}

static void
read_staple(struct tls *t, struct staple *st)
{
	gnutls_datum_t d = { NULL, 0 };
	gnutls_ocsp_resp_t resp;

	memset(st, 0, sizeof(*st));
	if (gnutls_ocsp_status_request_get2(t->s, 0, &d) < 0 || d.size == 0)
		return;
	st->state = STAPLE_UNREADABLE;
	if (gnutls_ocsp_resp_init(&resp) < 0)
		return;
	if (gnutls_ocsp_resp_import(resp, &d) == 0 &&
	    gnutls_ocsp_resp_get_status(resp) == GNUTLS_OCSP_RESP_SUCCESSFUL &&
	    gnutls_ocsp_resp_get_single(resp, 0, NULL, NULL, NULL, NULL,
	    &st->status, &st->this_update, &st->next_update, &st->revoked_at,
	    NULL) == 0)
		st->state = STAPLE_READ;
	gnutls_ocsp_resp_deinit(resp);
}

static const char *
utc(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, size, "?");
	return buf;
}

static int
verify_failure(struct tls *t, const char *name, struct err *e)
{
	gnutls_datum_t out = { NULL, 0 };
	unsigned status = gnutls_session_get_verify_cert_status(t->s);
	struct staple st;
	char safe[512], when[40];
	size_t n;

	/* The OCSP cases first: GnuTLS's own wording does not say where
	 * the verdict came from. */
	read_staple(t, &st);
	if ((status & GNUTLS_CERT_REVOKED) && st.state == STAPLE_READ &&
	    st.status == GNUTLS_OCSP_CERT_REVOKED)
		return err_set(e, E_UNAVAIL, "TLS handshake: the certificate of "
		    "%s is revoked (since %s), says the OCSP response the "
		    "server stapled to it", name, utc(st.revoked_at, when,
		    sizeof(when)));
	if (staple_stale(&st, status))
		return err_set(e, E_UNAVAIL, "TLS handshake: the OCSP response "
		    "%s stapled to its certificate is out of date (next update "
		    "was %s): an old response cannot vouch for the certificate "
		    "now; the server should fetch a fresh one", name,
		    utc(st.next_update, when, sizeof(when)));
	if ((status & GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE) &&
	    st.state == STAPLE_READ)
		return err_set(e, E_UNAVAIL, "TLS handshake: the OCSP response "
		    "%s stapled to its certificate is dated in the future "
		    "(this update %s): check this machine's clock", name,
		    utc(st.this_update, when, sizeof(when)));
	if (status & GNUTLS_CERT_INVALID_OCSP_STATUS)
		return err_set(e, E_UNAVAIL, "TLS handshake: the OCSP response "
		    "%s stapled to its certificate is not valid (not signed "
		    "by the certificate's issuer, or about another "
		    "certificate)", name);
	if (status & GNUTLS_CERT_MISSING_OCSP_STATUS)
		return err_set(e, E_UNAVAIL, "TLS handshake: the certificate of "
		    "%s demands a stapled OCSP response (OCSP must-staple) "
		    "and the server sent none", name);
	if (gnutls_certificate_verification_status_print(status,
	    GNUTLS_CRT_X509, &out, 0) < 0 || out.data == NULL)
		return err_set(e, E_UNAVAIL,
		    "TLS handshake: server certificate for %s not trusted",
		    name);
	for (n = out.size; n > 0 && out.data[n - 1] == ' '; n--)
		;
	err_set(e, E_UNAVAIL,
	    "TLS handshake: server certificate for %s rejected: %s", name,
	    printable(safe, sizeof(safe), (const char *)out.data, n));
	gnutls_free(out.data);
	return -1;
}

/*
 * The server ended the session with an alert.  Under TLS 1.3 a server
 * that dislikes our client certificate says so only after the handshake
 * (RFC 8446 section 4.4.2.4), on the first read: report it as what it is.
 */
static int
alert_error(struct tls *t, const char *what, struct err *e)
{
	gnutls_alert_description_t a = gnutls_alert_get(t->s);
	const char *name = gnutls_alert_get_name(a);

	switch (a) {
	case GNUTLS_A_BAD_CERTIFICATE:
	case GNUTLS_A_UNSUPPORTED_CERTIFICATE:
	case GNUTLS_A_CERTIFICATE_REVOKED:
	case GNUTLS_A_CERTIFICATE_EXPIRED:
	case GNUTLS_A_CERTIFICATE_UNKNOWN:
	case GNUTLS_A_UNKNOWN_CA:
	case GNUTLS_A_ACCESS_DENIED:
	case GNUTLS_A_CERTIFICATE_REQUIRED:
		return err_set(e, E_NOPERM, "TLS %s: the server refused the "
		    "client certificate (alert: %s)%s", what, name ? name : "?",
		    a == GNUTLS_A_CERTIFICATE_REQUIRED ? "; give one with "
		    "--cert" : "");
	default:
		return err_set(e, E_PROTOCOL, "TLS %s: the server sent a fatal "
		    "alert: %s", what, name ? name : "?");
	}
}

static int
handshake_failure(struct tls *t, int r, const char *name, struct err *e)
{
	if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
		return alert_error(t, "handshake", e);
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR ||
	    r == GNUTLS_E_CERTIFICATE_ERROR)
		return verify_failure(t, name, e);
	if (r == GNUTLS_E_PREMATURE_TERMINATION || r == GNUTLS_E_PUSH_ERROR ||
	    r == GNUTLS_E_PULL_ERROR)
		return err_set(e, E_TEMPFAIL,
		    "TLS handshake: connection lost: %s", gnutls_strerror(r));
	if (r == GNUTLS_E_UNEXPECTED_PACKET_LENGTH ||
	    r == GNUTLS_E_UNSUPPORTED_VERSION_PACKET ||
	    r == GNUTLS_E_UNEXPECTED_PACKET)
		return err_set(e, E_PROTOCOL, "TLS handshake: %s: plain text "
		    "came where a TLS handshake was expected",
		    gnutls_strerror(r));
	return err_set(e, E_PROTOCOL, "TLS handshake: %s", gnutls_strerror(r));
}

/* Base64 (RFC 4648) of n bytes into out (size >= 4 * ((n + 2) / 3) + 1). */
static void
b64(const unsigned char *p, size_t n, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;
	unsigned v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (i < n) {
		v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 :
		    0);
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
}

/* The curl-style pin of a certificate: base64 SHA-256 of its SPKI. */
static int
spki_pin(gnutls_x509_crt_t crt, char out[45])
{
	unsigned char id[32];
	size_t len = sizeof(id);

	if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, id,
	    &len) < 0 || len != sizeof(id))
		return -1;
	b64(id, len, out);
	return 0;
}

/* --tls-pin: the leaf's public key must be one of the pins. */
static int
check_pins(struct tls_ctx *ctx, struct tls *t, struct err *e)
{
	const gnutls_datum_t *certs;
	gnutls_x509_crt_t crt;
	unsigned n = 0;
	char pin[45];
	size_t i;
	int r;

	if (ctx->npins == 0)
		return 0;
	certs = gnutls_certificate_get_peers(t->s, &n);
	if (certs == NULL || n == 0 || gnutls_x509_crt_init(&crt) < 0)
		return err_set(e, E_UNAVAIL, "TLS: no server certificate to "
		    "check --tls-pin against");
	r = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER);
	if (r == 0)
		r = spki_pin(crt, pin);
	gnutls_x509_crt_deinit(crt);
	if (r < 0)
		return err_set(e, E_UNAVAIL, "TLS: cannot read the server's "
		    "public key for --tls-pin");
	for (i = 0; i < ctx->npins; i++)
		if (strcmp(ctx->pins[i], pin) == 0)
			return 0;
	return err_set(e, E_UNAVAIL, "TLS: the server's public key "
	    "sha256//%s matches no --tls-pin", pin);
}

/*
 * A resumed session carries the certificate of the full handshake it
 * came from: check it again for this name, so that a session saved for
 * one server can never vouch for another.
 */
static int
verify_resumed(struct tls *t, const char *name, struct err *e)
{
	unsigned status = 0;

	if (gnutls_certificate_verify_peers3(t->s, name, &status) < 0 ||
	    status != 0)
		return err_set(e, E_UNAVAIL, "TLS: the resumed session's "
		    "certificate is not valid for %s (status %#x)", name,
		    status);
	return 0;
}

/*
 * GnuTLS's way out.  While tls_send() gathers, records are appended to
 * t->out (which it made room for); otherwise (handshake, alerts, replies
 * to the server's own housekeeping) they go to the socket at once, as
 * GnuTLS itself would send them.
 */
static ssize_t
tls_push(gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
	struct tls *t = ptr;
	struct iovec v[16];
	struct msghdr m;
	size_t total = 0;
	ssize_t r;
	int i;

	if (t->gathering) {
		for (i = 0; i < iovcnt; i++)
			total += iov[i].iov_len;
		if (total > t->out_size - t->olen) {
			errno = EAGAIN;	/* cannot happen: see tls_send */
			return -1;
		}
		for (i = 0; i < iovcnt; i++) {
			memcpy(t->out + t->olen, iov[i].iov_base,
			    iov[i].iov_len);
			t->olen += iov[i].iov_len;
		}
		return (ssize_t)total;
	}
	if (iovcnt > (int)(sizeof(v) / sizeof(v[0])))
		iovcnt = (int)(sizeof(v) / sizeof(v[0]));
	for (i = 0; i < iovcnt; i++)
		v[i] = iov[i];
	memset(&m, 0, sizeof(m));
	m.msg_iov = v;
	m.msg_iovlen = (size_t)iovcnt;
	r = sendmsg(t->fd, &m, MSG_NOSIGNAL);
	return r;
}

static int
session_setup(struct tls *t, struct tls_ctx *ctx, const char *verify_name,
    const char *sni, struct err *e)
{
	int r;

	if ((r = ctx->prio ? gnutls_priority_set(t->s, ctx->prio) :
	    gnutls_set_default_priority(t->s)) < 0 ||
	    (r = gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE,
	    ctx->cred)) < 0 ||
	    (sni != NULL && (r = gnutls_server_name_set(t->s, GNUTLS_NAME_DNS,
	    sni, strlen(sni))) < 0))
		return err_set(e, E_SOFTWARE, "TLS: %s", gnutls_strerror(r));
	if (ctx->resume.size > 0 &&
	    gnutls_session_set_data(t->s, ctx->resume.data,
	    ctx->resume.size) < 0)
		log_info("TLS: the saved session is unusable; not resuming");
	if (!ctx->insecure)
		gnutls_session_set_verify_cert(t->s, verify_name, 0);
	gnutls_transport_set_ptr2(t->s, (gnutls_transport_ptr_t)(intptr_t)t->fd,
	    t);
	gnutls_transport_set_vec_push_function(t->s, tls_push);
	gnutls_handshake_set_timeout(t->s, 0);
	return 0;
}

/*
 * Describe the stapled OCSP response in a few words for -v and
 * --serverinfo.  vstatus is the outcome of certificate verification, or
 * -1 when there was none (--insecure).  GnuTLS counts a response saying
 * "unknown" as checked, which it is, but it vouches for nothing: *worry
 * is set for that and for a revoked certificate.
 */
static const char *
staple_words(struct tls *t, long vstatus, int *worry, char *buf,
    size_t size)
{
	struct staple st;
	char a[40], b[40];
	int unknown, future;

	*worry = 0;
	read_staple(t, &st);
	if (st.state == STAPLE_NONE)
		return "none";
	*worry = 1;
	if (st.state == STAPLE_UNREADABLE)
		return "present but unreadable";
	if (vstatus >= 0 && staple_stale(&st, (unsigned)vstatus)) {
		snprintf(buf, size, "present but out of date (next update %s)",
		    utc(st.next_update, a, sizeof(a)));
		return buf;
	}
	if (vstatus >= 0 && (vstatus & GNUTLS_CERT_INVALID_OCSP_STATUS))
		return "present but not valid (not signed by the certificate's "
		    "issuer, or about another certificate)";
	if (st.status == GNUTLS_OCSP_CERT_REVOKED) {
		snprintf(buf, size, "%scertificate REVOKED since %s",
		    vstatus < 0 ? "not checked (--insecure), says: " : "",
		    utc(st.revoked_at, a, sizeof(a)));
		return buf;
	}
	unknown = st.status != GNUTLS_OCSP_CERT_GOOD;
	/* GnuTLS takes a response dated ahead; a clock is wrong somewhere. */
	future = st.this_update != (time_t)-1 &&
	    st.this_update > time(NULL) + FUTURE_SLACK_S;
	*worry = unknown || future;
	snprintf(buf, size, "%s: certificate status %s (this update %s%s, "
	    "next update %s)", vstatus < 0 ? "not checked (--insecure), says" :
	    gnutls_ocsp_status_request_is_checked(t->s, 0) ? "checked" :
	    "not accepted (out of date?)", unknown ? "unknown to the "
	    "responder" : "good", utc(st.this_update, a, sizeof(a)), future ?
	    ": in the future, check this machine's clock" : "",
	    st.next_update == (time_t)-1 ? "not given" : utc(st.next_update,
	    b, sizeof(b)));
	return buf;
}

static void
log_staple(struct tls *t, int verified)
{
	char buf[200];
	int worry;
	const char *w = staple_words(t, verified ? 0 : -1, &worry, buf,
	    sizeof(buf));

	if (strcmp(w, "none") == 0)
		return;
	if (worry)
		log_warn("TLS: the OCSP response the server stapled: %s", w);
	else
		log_info("TLS: stapled OCSP response %s", w);
}

/* What -v says once the handshake is done. */
static void
log_established(struct tls *t, const struct tls_ctx *ctx)
{
	char desc[128];

	log_info("TLS established: %s%s", tls_describe(t, desc, sizeof(desc)),
	    gnutls_session_is_resumed(t->s) ? " (session resumed)" : "");
	if (!ctx->report_only)
		log_staple(t, !ctx->insecure);
}

int
tls_start(struct tls **out, struct tls_ctx *ctx, int fd,
    const char *verify_name, const char *sni, struct deadline *dl,
    struct err *e)
{
	struct tls *t;
	int r;

	t = xcalloc(1, sizeof(*t));
	t->fd = fd;
	r = gnutls_init(&t->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
	if (r < 0) {
		free(t);
		return err_set(e, E_OSERR, "TLS: %s", gnutls_strerror(r));
	}
	if (session_setup(t, ctx, verify_name, sni, e) < 0)
		goto fail;
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
	if ((gnutls_session_is_resumed(t->s) && !ctx->insecure &&
	    verify_resumed(t, verify_name, e) < 0) || check_pins(ctx, t, e) < 0)
		goto fail;
	log_established(t, ctx);
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
	if (r == GNUTLS_E_FATAL_ALERT_RECEIVED)
		return alert_error(t, what, e);
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

/*
 * Encrypt as many records of p[0..n) as out holds, then send them; the
 * plaintext counts as sent only once all of them are on the socket.
 * Until then TLS_WANT_WRITE is returned and the caller offers the same
 * octets again (as GnuTLS itself requires after GNUTLS_E_AGAIN), and the
 * records already made are sent on.  GnuTLS never sees the socket refuse
 * a record here, so it never holds one back.
 */
ssize_t
tls_send(struct tls *t, const void *p, size_t n, struct err *e)
{
	const char *s = p;
	size_t room;
	ssize_t r = 0;

	if (t->olen == 0) {
		room = gnutls_record_get_max_size(t->s) +
		    gnutls_record_overhead_size(t->s);
		if (t->out_size < TLS_OUT_RECORDS * room) {
			free(t->out);
			t->out_size = TLS_OUT_RECORDS * room;
			t->out = xmalloc(t->out_size);
		}
		t->gathering = 1;
		t->taken = 0;
		while (t->taken < n && t->out_size - t->olen >= room) {
			r = gnutls_record_send(t->s, s + t->taken,
			    n - t->taken);
			if (r <= 0)
				break;
			t->taken += (size_t)r;
		}
		t->gathering = 0;
		/* An error after some records: they go first, it comes back. */
		if (r < 0 && t->olen == 0)
			return record_result(t, r, "write", e);
	}
	while (t->ooff < t->olen) {
		r = send(t->fd, t->out + t->ooff, t->olen - t->ooff,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return TLS_WANT_WRITE;
		if (r < 0)
			return err_set(e, E_TEMPFAIL, "TLS write: %s",
			    strerror(errno));
		t->ooff += (size_t)r;
	}
	t->olen = t->ooff = 0;
	/* Records that carried no data (a key update): ask to be called again. */
	if (t->taken == 0 && n > 0)
		return TLS_WANT_WRITE;
	return (ssize_t)t->taken;
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
	/*
	 * After a record sent in part (a write that timed out), an alert
	 * would only be garbage to the server: then just close.
	 */
	while (t->ooff == 0) {
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
	free(t->out);
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
tls_protocol_name(struct tls *t)
{
	const char *n = gnutls_protocol_get_name(
	    gnutls_protocol_get_version(t->s));

	return n ? n : "?";
}

const char *
tls_cipher_name(struct tls *t)
{
	const char *n = gnutls_cipher_get_name(gnutls_cipher_get(t->s));

	return n ? n : "?";
}

const char *
tls_version_string(void)
{
	return gnutls_check_version(NULL);
}

int
tls_cert_requested(struct tls *t)
{
	return gnutls_certificate_client_get_request_status(t->s) != 0;
}

int
tls_resumed(struct tls *t)
{
	return gnutls_session_is_resumed(t->s) != 0;
}

int
tls_session_data(struct tls *t, struct buf *out)
{
	gnutls_datum_t d = { NULL, 0 };
	int rc = -1;

	/* TLS 1.3 tickets come after the handshake; none yet, nothing. */
	if (gnutls_protocol_get_version(t->s) == GNUTLS_TLS1_3 &&
	    !(gnutls_session_get_flags(t->s) & GNUTLS_SFLAGS_SESSION_TICKET))
		return -1;
	if (gnutls_session_get_data2(t->s, &d) < 0 || d.size == 0)
		return -1;
	buf_wipe(out);
	if (buf_add(out, d.data, d.size) == 0)
		rc = 0;
	explicit_bzero(d.data, d.size);
	gnutls_free(d.data);
	return rc;
}

enum tls_cb_type
tls_channel_binding(struct tls *t, unsigned char *buf, size_t size,
    size_t *len)
{
	gnutls_datum_t cb = { NULL, 0 };
	enum tls_cb_type type = TLS_CB_UNIQUE;
	gnutls_channel_binding_t how = GNUTLS_CB_TLS_UNIQUE;

	/* RFC 9266: tls-unique is undefined for TLS 1.3; use the exporter. */
	if (gnutls_protocol_get_version(t->s) == GNUTLS_TLS1_3) {
		type = TLS_CB_EXPORTER;
		how = GNUTLS_CB_TLS_EXPORTER;
	}
	if (gnutls_session_channel_binding(t->s, how, &cb) < 0)
		return TLS_CB_NONE;
	if (cb.size > size) {
		gnutls_free(cb.data);
		return TLS_CB_NONE;
	}
	memcpy(buf, cb.data, cb.size);
	*len = cb.size;
	gnutls_free(cb.data);
	return type;
}

void
tls_sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];
	size_t i;

	memset(md, 0, sizeof(md));
	gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, md);
	for (i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static void
add_time(struct buf *out, const char *label, time_t t)
{
	char when[40];

	buf_addf(out, "    %s %s\n", label, utc(t, when, sizeof(when)));
}

static void
add_dn(struct buf *out, const char *label, gnutls_x509_crt_t crt,
    int issuer)
{
	gnutls_datum_t dn = { NULL, 0 };
	char safe[512];
	int r;

	r = issuer ? gnutls_x509_crt_get_issuer_dn3(crt, &dn, 0) :
	    gnutls_x509_crt_get_dn3(crt, &dn, 0);
	buf_addf(out, "    %s %s\n", label, r < 0 ? "?" :
	    printable(safe, sizeof(safe), (const char *)dn.data, dn.size));
	gnutls_free(dn.data);
}

static void
add_cert(struct buf *out, unsigned i, const gnutls_datum_t *der)
{
	gnutls_x509_crt_t crt;
	char pin[45];

	if (gnutls_x509_crt_init(&crt) < 0)
		return;
	if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) < 0) {
		buf_addf(out, "  certificate %u: unreadable\n", i);
		gnutls_x509_crt_deinit(crt);
		return;
	}
	buf_addf(out, "  certificate %u:\n", i);
	add_dn(out, "subject:   ", crt, 0);
	add_dn(out, "issuer:    ", crt, 1);
	add_time(out, "not before:", gnutls_x509_crt_get_activation_time(crt));
	add_time(out, "not after: ", gnutls_x509_crt_get_expiration_time(crt));
	if (spki_pin(crt, pin) == 0)
		buf_addf(out, "    pin:        --tls-pin sha256//%s\n", pin);
	gnutls_x509_crt_deinit(crt);
}

int
tls_peer_info(struct tls *t, const char *verify_name, struct buf *out)
{
	const gnutls_datum_t *certs;
	gnutls_datum_t why = { NULL, 0 };
	unsigned n = 0, i, status = 0;
	char desc[128], safe[512], words[200];
	int worry;

	buf_addf(out, "TLS: %s%s\n", tls_describe(t, desc, sizeof(desc)),
	    gnutls_session_is_resumed(t->s) ? " (resumed)" : "");
	if (gnutls_certificate_verify_peers3(t->s, verify_name, &status) < 0)
		status = GNUTLS_CERT_INVALID;
	if (status != 0 && gnutls_certificate_verification_status_print(
	    status, GNUTLS_CRT_X509, &why, 0) == 0)
		while (why.size > 0 && why.data[why.size - 1] == ' ')
			why.size--;
	buf_addf(out, "  verification: %s%s\n", status == 0 ?
	    "trusted for " : "NOT trusted: ", status == 0 ? verify_name :
	    why.data ? printable(safe, sizeof(safe), (const char *)why.data,
	    why.size) : "?");
	gnutls_free(why.data);
	buf_addf(out, "  OCSP staple:  %s\n", staple_words(t, (long)status,
	    &worry, words, sizeof(words)));
	certs = gnutls_certificate_get_peers(t->s, &n);
	for (i = 0; certs != NULL && i < n; i++)
		add_cert(out, i, &certs[i]);
	return 0;
}
