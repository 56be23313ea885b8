/* ~/.netrc look-up: see netrc.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "netrc.h"
#include "secret.h"
#include "xmalloc.h"

struct lexer {
	char *p, *end;
	char tok[1024];
	size_t len;
};

struct entry {
	int is_default;
	char machine[256];
	char login[256];
	int have_login;
	char password[1024];
	size_t password_len;
	int have_password;
};

/* Next token into lx->tok; 0 at the end, -1 when one is too long. */
static int
next_token(struct lexer *lx)
{
	int quoted = 0;

	while (lx->p < lx->end && strchr(" \t\r\n,", *lx->p) != NULL)
		lx->p++;
	if (lx->p == lx->end)
		return 0;
	if (*lx->p == '"') {
		quoted = 1;
		lx->p++;
	}
	lx->len = 0;
	while (lx->p < lx->end) {
		char c = *lx->p;

		if (quoted ? c == '"' : strchr(" \t\r\n,", c) != NULL)
			break;
		if (c == '\\' && lx->p + 1 < lx->end)
			c = *++lx->p;
		if (lx->len + 1 >= sizeof(lx->tok))
			return -1;
		lx->tok[lx->len++] = c;
		lx->p++;
	}
	if (quoted && lx->p < lx->end)
		lx->p++;
	lx->tok[lx->len] = '\0';
	return 1;
}

/* macdef bodies run up to the next empty line. */
static void
skip_macdef(struct lexer *lx)
{
	char *blank = NULL, *q;

	for (q = lx->p; q + 1 < lx->end; q++) {
		if (q[0] == '\n' && (q[1] == '\n' || (q[1] == '\r' &&
		    q + 2 < lx->end && q[2] == '\n'))) {
			blank = q + 1;
			break;
		}
	}
	lx->p = blank ? blank : lx->end;
}

static int
matches(const struct entry *en, const char *host, const char *user)
{
	if (!en->have_password)
		return 0;
	if (!en->is_default && strcasecmp(en->machine, host) != 0)
		return 0;
	return user == NULL || !en->have_login ||
	    strcmp(en->login, user) == 0;
}

/* Copy the value token after a keyword into dst; -1 when missing. */
static int
value(struct lexer *lx, char *dst, size_t size, size_t *len)
{
	if (next_token(lx) <= 0 || lx->len >= size)
		return -1;
	memcpy(dst, lx->tok, lx->len + 1);
	if (len != NULL)
		*len = lx->len;
	return 0;
}

/*
 * Walk the entries; the first machine match wins, a default entry only
 * when no machine matched.  Returns 1 (found, in *best), 0, or -1.
 */
static int
scan(struct lexer *lx, const char *host, const char *user,
    struct entry *best)
{
	struct entry cur, dflt;
	int r, have_cur = 0, have_dflt = 0;

	memset(&cur, 0, sizeof(cur));
	memset(&dflt, 0, sizeof(dflt));
	for (;;) {
		r = next_token(lx);
		if (r < 0)
			return -1;
		if (r == 0 || strcmp(lx->tok, "machine") == 0 ||
		    strcmp(lx->tok, "default") == 0) {
			if (have_cur && matches(&cur, host, user)) {
				if (!cur.is_default) {
					*best = cur;
					r = 1;
					break;
				}
				if (!have_dflt) {
					dflt = cur;
					have_dflt = 1;
				}
			}
			if (r == 0) {
				*best = dflt;
				r = have_dflt;
				break;
			}
			explicit_bzero(&cur, sizeof(cur));
			have_cur = 1;
			cur.is_default = strcmp(lx->tok, "default") == 0;
			if (!cur.is_default && value(lx, cur.machine,
			    sizeof(cur.machine), NULL) < 0)
				return -1;
		} else if (strcmp(lx->tok, "login") == 0) {
			if (value(lx, cur.login, sizeof(cur.login), NULL) < 0)
				return -1;
			cur.have_login = 1;
		} else if (strcmp(lx->tok, "password") == 0) {
			if (value(lx, cur.password, sizeof(cur.password),
			    &cur.password_len) < 0)
				return -1;
			cur.have_password = 1;
		} else if (strcmp(lx->tok, "account") == 0) {
			if (next_token(lx) <= 0)
				return -1;
		} else if (strcmp(lx->tok, "macdef") == 0) {
			if (next_token(lx) <= 0)
				return -1;
			skip_macdef(lx);
		} else {
			return -1;
		}
	}
	explicit_bzero(&cur, sizeof(cur));
	explicit_bzero(&dflt, sizeof(dflt));
	return r;
}

static char *
slurp(const char *path, size_t *len, int *missing, struct err *e)
{
	struct stat st;
	char *p;
	ssize_t r;
	int fd;

	*missing = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT) {
		*missing = 1;
		return NULL;
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		err_set(e, E_NOINPUT, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > NETRC_MAX) {
		close(fd);
		err_set(e, E_NOINPUT, "%s: not a regular file of at most %d "
		    "bytes", path, NETRC_MAX);
		return NULL;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		log_warn("%s is readable by group or others (mode %03o); "
		    "chmod 600 it", path, (unsigned)st.st_mode & 0777);
	p = xmalloc((size_t)st.st_size + 1);
	r = read(fd, p, (size_t)st.st_size);
	close(fd);
	if (r < 0) {
		err_set(e, E_NOINPUT, "%s: %s", path, strerror(errno));
		free(p);
		return NULL;
	}
	*len = (size_t)r;
	return p;
}

int
netrc_lookup(const char *path, const char *host, const char *user,
    char **login, struct secret *pw, struct err *e)
{
	struct lexer lx;
	struct entry best;
	size_t len = 0;
	int missing, r;
	char *text;

	text = slurp(path, &len, &missing, e);
	if (text == NULL)
		return missing ? 0 : -1;
	memset(&lx, 0, sizeof(lx));
	lx.p = text;
	lx.end = text + len;
	r = scan(&lx, host, user, &best);
	explicit_bzero(text, len);
	free(text);
	explicit_bzero(lx.tok, sizeof(lx.tok));
	if (r < 0)
		return err_set(e, E_CONFIG, "%s: syntax error (expected "
		    "machine, default, login, password, account or macdef)",
		    path);
	if (r == 1) {
		secret_set(pw, best.password, best.password_len);
		if (login != NULL)
			*login = best.have_login ? xstrdup(best.login) : NULL;
	}
	explicit_bzero(&best, sizeof(best));
	return r;
}
