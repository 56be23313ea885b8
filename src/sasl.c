/*
 * SASL client: libgsasl for the mechanisms it has, our own code for the
 * OAuth 2.0 ones.  See sasl.h.  Appendix B of the style notes gives the
 * libgsasl lifecycle: gsasl_init, gsasl_client_start, properties,
 * gsasl_step64 until GSASL_OK, gsasl_finish, gsasl_done.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gsasl.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "sasl.h"
#include "xmalloc.h"

enum mech_needs {
	NEED_PASSWORD = 1 << 0,	/* user name and password */
	NEED_TOKEN = 1 << 1,	/* an OAuth 2.0 bearer token */
	NEED_CB = 1 << 2,	/* TLS channel binding (-PLUS) */
	NEED_CERT = 1 << 3,	/* a client certificate (EXTERNAL) */
	NEED_USER = 1 << 4,	/* a user name */
};

struct mech {
	const char *name;
	unsigned needs;
	int client_first;	/* has an initial response */
	int ours;		/* implemented here, not in libgsasl */
	int by_default;		/* tried without --auth */
	int mutual;		/* the server proves itself at the end */
};

/*
 * Strongest first (issue 4 and Appendix B): channel-bound SCRAM, SCRAM,
 * CRAM-MD5, then the plain-text ones.  GSSAPI and EXTERNAL need no
 * password and are used only when --auth names them.
 */
static const struct mech mechs[] = {
	{ "SCRAM-SHA-256-PLUS", NEED_PASSWORD | NEED_CB, 1, 0, 1, 1 },
	{ "SCRAM-SHA-1-PLUS", NEED_PASSWORD | NEED_CB, 1, 0, 1, 1 },
	{ "SCRAM-SHA-256", NEED_PASSWORD, 1, 0, 1, 1 },
	{ "SCRAM-SHA-1", NEED_PASSWORD, 1, 0, 1, 1 },
	{ "CRAM-MD5", NEED_PASSWORD, 0, 0, 1, 0 },
	{ "PLAIN", NEED_PASSWORD, 1, 0, 1, 0 },
	{ "LOGIN", NEED_PASSWORD, 0, 0, 1, 0 },
	{ "OAUTHBEARER", NEED_TOKEN, 1, 1, 1, 0 },
	{ "XOAUTH2", NEED_TOKEN | NEED_USER, 1, 1, 1, 0 },
	{ "GSSAPI", 0, 1, 0, 0, 1 },
	{ "EXTERNAL", NEED_CERT, 1, 0, 0, 0 },
};
#define NMECHS (sizeof(mechs) / sizeof(mechs[0]))

struct sasl {
	const struct mech *m;
	Gsasl *ctx;
	Gsasl_session *sess;
	int finished;
	int failed;		/* OAuth: the server sent an error */
	const char *service;	/* GSSAPI: for the error messages */
	const char *host;
};

const char *
sasl_version_string(void)
{
	const char *v = gsasl_check_version(NULL);

	return v ? v : "?";
}

static const struct mech *
find_mech(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NMECHS; i++)
		if (strlen(mechs[i].name) == len &&
		    strncasecmp(mechs[i].name, name, len) == 0)
			return &mechs[i];
	return NULL;
}

int
sasl_client_first(const char *mech)
{
	const struct mech *m = find_mech(mech, strlen(mech));

	return m != NULL && m->client_first;
}

/* Is the word name (len bytes) in the space-separated list? */
static int
in_list(const char *list, const char *name)
{
	size_t n = strlen(name), w;
	const char *p = list;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		w = strcspn(p, " ");
		if (w == n && strncasecmp(p, name, n) == 0)
			return 1;
		p += w;
	}
	return 0;
}

static int
have_creds(const struct mech *m, const struct sasl_creds *c)
{
	if ((m->needs & NEED_PASSWORD) && (c->user == NULL ||
	    c->password == NULL))
		return 0;
	if ((m->needs & NEED_TOKEN) && c->token == NULL)
		return 0;
	if ((m->needs & NEED_USER) && c->user == NULL)
		return 0;
	if ((m->needs & NEED_CERT) && !c->have_cert)
		return 0;
	return 1;
}

static int
lib_supports(const struct mech *m)
{
	Gsasl *ctx;
	int ok;

	if (m->ours)
		return 1;
	if (gsasl_init(&ctx) != GSASL_OK)
		return 0;
	ok = gsasl_client_support_p(ctx, m->name);
	gsasl_done(ctx);
	return ok;
}

static const char *
what_is_missing(const struct mech *m)
{
	if (m->needs & NEED_PASSWORD)
		return "a user name (-u) and a password";
	if (m->needs & NEED_TOKEN)
		return (m->needs & NEED_USER) ? "a user name (-u) and a token "
		    "(--oauth2-token-cmd or a password source)" :
		    "a token (--oauth2-token-cmd or a password source)";
	return "a client certificate (--cert)";
}

static int
check_name(const char *name, size_t len, const struct mech **out,
    struct err *e)
{
	const struct mech *m = find_mech(name, len);

	if (m == NULL)
		return err_set(e, E_USAGE, "--auth: smtpsend does not know the "
		    "mechanism \"%.*s\" (known: PLAIN LOGIN CRAM-MD5 "
		    "SCRAM-SHA-1[-PLUS] SCRAM-SHA-256[-PLUS] GSSAPI EXTERNAL "
		    "XOAUTH2 OAUTHBEARER)", (int)(len > 64 ? 64 : len), name);
	if (!lib_supports(m))
		return err_set(e, E_USAGE, "--auth %s: this libgsasl was built "
		    "without it", m->name);
	*out = m;
	return 0;
}

int
sasl_check_names(const char *wanted, struct err *e)
{
	const struct mech *m;
	const char *p = wanted;
	size_t len;

	while (p != NULL && *p != '\0') {
		len = strcspn(p, ",");
		if (len > 0 && check_name(p, len, &m, e) < 0)
			return -1;
		p += len + (p[len] == ',');
	}
	return 0;
}

/* One --auth entry: known, supported, with credentials. */
static int
check_wanted(const char *name, size_t len, const struct sasl_creds *c,
    const struct mech **out, struct err *e)
{
	const struct mech *m = NULL;

	if (check_name(name, len, &m, e) < 0)
		return -1;
	if (!have_creds(m, c))
		return err_set(e, E_USAGE, "--auth %s needs %s", m->name,
		    what_is_missing(m));
	*out = m;
	return 0;
}

static int
choose_wanted(const char *offered, const char *wanted,
    const struct sasl_creds *c, int have_cb, const char **mech,
    struct err *e)
{
	const struct mech *m = NULL;
	const char *p = wanted;
	size_t len;

	while (*p != '\0') {
		len = strcspn(p, ",");
		if (len > 0) {
			if (check_wanted(p, len, c, &m, e) < 0)
				return -1;
			if (in_list(offered, m->name) &&
			    (!(m->needs & NEED_CB) || have_cb)) {
				*mech = m->name;
				return 0;
			}
		}
		p += len + (p[len] == ',');
	}
	return err_set(e, E_UNAVAIL, "AUTH: the server offers %s; --auth "
	    "allows only %s%s", offered, wanted, have_cb ? "" :
	    " (-PLUS mechanisms need TLS)");
}

int
sasl_choose(const char *offered, const char *wanted,
    const struct sasl_creds *c, int have_cb, const char **mech,
    struct err *e)
{
	size_t i;

	if (wanted != NULL)
		return choose_wanted(offered, wanted, c, have_cb, mech, e);
	for (i = 0; i < NMECHS; i++) {
		const struct mech *m = &mechs[i];

		if (!m->by_default || !have_creds(m, c) ||
		    ((m->needs & NEED_CB) && !have_cb) ||
		    !in_list(offered, m->name) || !lib_supports(m))
			continue;
		*mech = m->name;
		return 0;
	}
	return err_set(e, E_UNAVAIL, "AUTH: the server offers %s; none of "
	    "these can be used with the credentials given%s", offered,
	    c->token ? "" : " (see --auth)");
}

/* Base64 of p into out (replacing its contents); "=" when p is empty. */
static int
to_b64(const char *p, size_t n, struct buf *out, struct err *e)
{
	char *b64 = NULL;
	size_t b64len = 0;
	int rc = 0;

	buf_wipe(out);
	if (n == 0)
		return buf_adds(out, "=") < 0 ? err_set(e, E_SOFTWARE,
		    "AUTH: buffer") : 0;
	if (gsasl_base64_to(p, n, &b64, &b64len) != GSASL_OK)
		return err_set(e, E_OSERR, "AUTH: out of memory");
	if (buf_add(out, b64, b64len) < 0)
		rc = err_set(e, E_USAGE, "AUTH: the credentials are too long "
		    "(over %d bytes in base64)", SASL_MSG_MAX);
	explicit_bzero(b64, b64len);
	gsasl_free(b64);
	return rc;
}

/*
 * RFC 7628 section 3.1 (OAUTHBEARER): a GS2 header naming the user, then
 * host, port and "auth=Bearer TOKEN", separated by ^A.  XOAUTH2 is
 * Google's older form: "user=U^Aauth=Bearer TOKEN^A^A".
 */
static int
oauth_initial(const struct mech *m, const struct sasl_creds *c,
    struct buf *out, struct err *e)
{
	struct buf raw;
	int rc;

	buf_init(&raw, SASL_MSG_MAX);
	if (strcmp(m->name, "XOAUTH2") == 0)
		rc = buf_addf(&raw, "user=%s\001auth=Bearer %s\001\001",
		    c->user, c->token);
	else
		rc = buf_addf(&raw, "n,%s%s,\001host=%s\001port=%d\001"
		    "auth=Bearer %s\001\001", c->user ? "a=" : "",
		    c->user ? c->user : "", c->host ? c->host : "", c->port,
		    c->token);
	if (rc < 0)
		rc = err_set(e, E_USAGE, "AUTH %s: the token is too long",
		    m->name);
	else
		rc = to_b64(raw.data, raw.len, out, e);
	buf_wipe(&raw);
	return rc;
}

static int
gsasl_failure(const char *mech, const char *what, int rc, struct err *e)
{
	enum err_kind k = E_NOPERM;

	if (rc == GSASL_MALLOC_ERROR)
		k = E_OSERR;
	return err_set(e, k, "AUTH %s: %s: %s", mech, what,
	    gsasl_strerror(rc));
}

static int
set_cb(struct sasl *s, const struct sasl_cb *cb, struct err *e)
{
	char *b64 = NULL;
	size_t len = 0;

	if (!(s->m->needs & NEED_CB))
		return 0;
	if (cb == NULL || cb->type == SASL_CB_NONE)
		return err_set(e, E_SOFTWARE, "AUTH %s: no channel binding",
		    s->m->name);
	if (gsasl_base64_to((const char *)cb->data, cb->len, &b64, &len) !=
	    GSASL_OK)
		return err_set(e, E_OSERR, "AUTH: out of memory");
	gsasl_property_set(s->sess, cb->type == SASL_CB_TLS_EXPORTER ?
	    GSASL_CB_TLS_EXPORTER : GSASL_CB_TLS_UNIQUE, b64);
	gsasl_free(b64);
	return 0;
}

static int
lib_begin(struct sasl *s, const struct sasl_creds *c,
    const struct sasl_cb *cb, struct err *e)
{
	int rc;

	if ((rc = gsasl_init(&s->ctx)) != GSASL_OK)
		return gsasl_failure(s->m->name, "libgsasl", rc, e);
	if ((rc = gsasl_client_start(s->ctx, s->m->name, &s->sess)) !=
	    GSASL_OK)
		return gsasl_failure(s->m->name, "start", rc, e);
	if (c->user != NULL)
		gsasl_property_set(s->sess, GSASL_AUTHID, c->user);
	if (c->password != NULL)
		gsasl_property_set(s->sess, GSASL_PASSWORD, c->password);
	if (c->service != NULL)
		gsasl_property_set(s->sess, GSASL_SERVICE, c->service);
	if (c->host != NULL)
		gsasl_property_set(s->sess, GSASL_HOSTNAME, c->host);
	return set_cb(s, cb, e);
}

/*
 * libgsasl keeps the Kerberos library's own reason to itself, so say what
 * can be known here: which principal a ticket was wanted for, and the two
 * usual causes.  The first step runs before anything is sent.
 */
static int
gssapi_failure(const struct sasl *s, const char *in, int rc, struct err *e)
{
	const char *svc = s->service ? s->service : "?";
	const char *host = s->host ? s->host : "?";

	if (rc == GSASL_NO_SERVICE || rc == GSASL_NO_HOSTNAME)
		return err_set(e, E_SOFTWARE, "AUTH GSSAPI: no service or host "
		    "name for the Kerberos principal");
	if (in != NULL)
		return err_set(e, E_NOPERM, "AUTH GSSAPI: the server's Kerberos "
		    "reply for %s/%s does not verify: %s", svc, host,
		    gsasl_strerror(rc));
	return err_set(e, E_NOPERM, "AUTH GSSAPI: cannot get a Kerberos "
	    "ticket for %s/%s: no valid credentials in the credential cache "
	    "(run kinit; klist shows them), or the KDC has no such service "
	    "principal (--sasl-service sets its first part, --host or "
	    "--tls-servername the second); nothing was sent", svc, host);
}

/* One libgsasl step; input NULL means "produce the initial response". */
static int
lib_step(struct sasl *s, const char *in, struct buf *out, struct err *e)
{
	char *b64 = NULL;
	int rc;

	rc = gsasl_step64(s->sess, in ? in : "", &b64);
	if (rc != GSASL_OK && rc != GSASL_NEEDS_MORE) {
		if (strcmp(s->m->name, "GSSAPI") == 0 &&
		    rc != GSASL_BASE64_ERROR && rc != GSASL_MALLOC_ERROR)
			return gssapi_failure(s, in, rc, e);
		if (rc == GSASL_BASE64_ERROR)
			return err_set(e, E_PROTOCOL, "AUTH %s: the server's "
			    "challenge is not base64", s->m->name);
		return gsasl_failure(s->m->name, in ? "the server's "
		    "challenge was refused" : "cannot start", rc, e);
	}
	if (rc == GSASL_OK)
		s->finished = 1;
	buf_wipe(out);
	rc = 0;
	if (in == NULL && (b64 == NULL || *b64 == '\0'))
		rc = buf_adds(out, "=");	/* RFC 4954: empty initial */
	else if (b64 != NULL)
		rc = buf_adds(out, b64);
	if (b64 != NULL) {
		explicit_bzero(b64, strlen(b64));
		gsasl_free(b64);
	}
	return rc < 0 ? err_set(e, E_PROTOCOL, "AUTH %s: response too long",
	    s->m->name) : 0;
}

int
sasl_begin(struct sasl **out, const char *mech, const struct sasl_creds *c,
    const struct sasl_cb *cb, struct buf *initial, struct err *e)
{
	struct sasl *s = xcalloc(1, sizeof(*s));

	s->m = find_mech(mech, strlen(mech));
	if (s->m == NULL) {
		free(s);
		return err_set(e, E_SOFTWARE, "AUTH: unknown mechanism %s",
		    mech);
	}
	*out = s;
	s->service = c->service;
	s->host = c->host;
	buf_wipe(initial);
	if (s->m->ours) {
		s->finished = 1;
		return oauth_initial(s->m, c, initial, e);
	}
	if (lib_begin(s, c, cb, e) < 0)
		return -1;
	if (s->m->client_first)
		return lib_step(s, NULL, initial, e);
	return 0;
}

/*
 * RFC 7628 section 3.2.2: after a failed OAUTHBEARER the server sends
 * an error in a 334 challenge and the client answers with a single ^A;
 * XOAUTH2 clients answer with an empty line.  Either way 535 follows.
 */
static int
oauth_error(struct sasl *s, const char *challenge, struct buf *response,
    struct err *e)
{
	char *json = NULL, safe[512];
	size_t len = 0;

	s->failed = 1;
	if (gsasl_base64_from(challenge, strlen(challenge), &json, &len) ==
	    GSASL_OK && json != NULL) {
		log_info("AUTH %s: the server says: %s", s->m->name,
		    printable(safe, sizeof(safe), json, len));
		gsasl_free(json);
	}
	buf_wipe(response);
	if (strcmp(s->m->name, "OAUTHBEARER") == 0)
		return to_b64("\001", 1, response, e);
	return 0;
}

int
sasl_step(struct sasl *s, const char *challenge, struct buf *response,
    struct err *e)
{
	if (s->m->ours) {
		if (s->failed)
			return err_set(e, E_PROTOCOL, "AUTH %s: unexpected "
			    "challenge", s->m->name);
		return oauth_error(s, challenge, response, e);
	}
	if (s->finished) {
		/* Nothing is left to say; an empty response is all we have. */
		buf_wipe(response);
		return 0;
	}
	return lib_step(s, challenge, response, e);
}

int
sasl_finished(const struct sasl *s)
{
	return s->finished && !s->failed;
}

int
sasl_mutual(const struct sasl *s)
{
	return s->m->mutual;
}

void
sasl_end(struct sasl *s)
{
	if (s == NULL)
		return;
	if (s->sess != NULL)
		gsasl_finish(s->sess);
	if (s->ctx != NULL)
		gsasl_done(s->ctx);
	free(s);
}
