/* Credentials gathered before connecting: see creds.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "creds.h"
#include "deadline.h"
#include "err.h"
#include "log.h"
#include "netrc.h"
#include "sasl.h"
#include "secret.h"
#include "tls.h"
#include "xmalloc.h"

/* Does --auth name only mechanisms that need no password? */
static int
passwordless(const char *auth)
{
	const char *p = auth;
	size_t n;

	if (auth == NULL)
		return 0;
	while (*p != '\0') {
		n = strcspn(p, ",");
		if (n > 0 && !((n == 6 && strncasecmp(p, "GSSAPI", 6) == 0) ||
		    (n == 8 && strncasecmp(p, "EXTERNAL", 8) == 0)))
			return 0;
		p += n + (p[n] == ',');
	}
	return 1;
}

/* Does --auth name an OAuth mechanism (whose token may be the password)? */
static int
names_oauth(const char *auth)
{
	return auth != NULL && (strcasestr(auth, "XOAUTH2") != NULL ||
	    strcasestr(auth, "OAUTHBEARER") != NULL);
}

/* ~/.netrc, then a prompt on the terminal. */
static int
implicit_password(const struct options *o, struct creds *c, struct err *e)
{
	const char *home = getenv("HOME");
	char *path, *login = NULL, prompt[512];
	int r;

	if (home != NULL && *home != '\0') {
		path = xasprintf("%s/.netrc", home);
		r = netrc_lookup(path, o->host, c->user, &login,
		    &c->password, e);
		free(path);
		if (r != 0) {
			if (r > 0 && c->user == NULL)
				c->user = login;
			else
				free(login);
			return r < 0 ? -1 : 0;
		}
	}
	if (c->user == NULL)
		return err_set(e, E_USAGE, "authentication needs a user name "
		    "(-u NAME, or a login in ~/.netrc for %s)", o->host);
	snprintf(prompt, sizeof(prompt), "Password for %s at %s: ", c->user,
	    o->host);
	r = secret_prompt(&c->password, prompt, e);
	if (r < 0)
		return -1;
	if (r == 0)
		return err_set(e, E_USAGE, "no password for %s at %s: use "
		    "--password-file, --password-fd, --password-env, "
		    "--password-cmd or ~/.netrc (no terminal to ask on)",
		    c->user, o->host);
	return 0;
}

static int
load_password(const struct options *o, struct creds *c, struct deadline *dl,
    struct err *e)
{
	if (o->password_file != NULL)
		return secret_from_file(&c->password, o->password_file,
		    "--password-file", e);
	if (o->password_fd >= 0)
		return secret_from_fd(&c->password, o->password_fd, e);
	if (o->password_env != NULL)
		return secret_from_env(&c->password, o->password_env, e);
	if (o->password_cmd != NULL)
		return secret_from_cmd(&c->password, o->password_cmd,
		    "--password-cmd", dl, e);
	return implicit_password(o, c, e);
}

int
creds_load(const struct options *o, struct creds *c, struct deadline *dl,
    struct err *e)
{
	struct tls_ctx *ignored;

	memset(c, 0, sizeof(*c));
	if (sasl_check_names(o->auth, e) < 0)
		return -1;
	c->want_auth = o->user || o->auth || o->oauth2_token_cmd;
	c->tls_report_only = o->serverinfo;
	if (o->user != NULL)
		c->user = xstrdup(o->user);
	if (o->cert_password_file != NULL &&
	    secret_from_file(&c->cert_password, o->cert_password_file,
	    "--cert-password-file", e) < 0)
		return -1;
	if (o->tls != TLS_NONE && (o->cert || o->cafile || o->tls_priority ||
	    o->tls_min) && creds_tls_ctx(o, c, &ignored, e) < 0)
		return -1;
	if (!c->want_auth || o->serverinfo)
		return 0;
	deadline_phase(dl, "reading credentials", dl->end_ms - now_ms());
	if (o->oauth2_token_cmd != NULL)
		return secret_from_cmd(&c->token, o->oauth2_token_cmd,
		    "--oauth2-token-cmd", dl, e);
	if (passwordless(o->auth))
		return 0;
	if (load_password(o, c, dl, e) < 0)
		return -1;
	/* --auth XOAUTH2 without a token command: the password is the token. */
	if (names_oauth(o->auth)) {
		char *copy = xstrndup(c->password.data, c->password.len);

		secret_set(&c->token, copy, c->password.len);
		free(copy);
	}
	return 0;
}

int
creds_tls_ctx(const struct options *o, struct creds *c, struct tls_ctx **out,
    struct err *e)
{
	struct tls_opts to;

	if (c->tls_ctx == NULL) {
		memset(&to, 0, sizeof(to));
		to.cafile = o->cafile;
		to.insecure = o->insecure;
		to.cert = o->cert;
		to.key = o->key;
		to.cert_password = c->cert_password.data;
		to.pins = o->tls_pins;
		to.npins = o->ntls_pins;
		to.priority = o->tls_priority;
		to.min_version = o->tls_min;
		to.report_only = c->tls_report_only;
		if (tls_ctx_new(&c->tls_ctx, &to, e) < 0)
			return -1;
	}
	*out = c->tls_ctx;
	return 0;
}

void
creds_release(struct creds *c)
{
	free(c->user);
	secret_wipe(&c->password);
	secret_wipe(&c->token);
	secret_wipe(&c->cert_password);
	tls_ctx_free(c->tls_ctx);
	memset(c, 0, sizeof(*c));
}
