/* The configuration file: see config.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "xmalloc.h"

static int parse_line(struct config *c, char *line, unsigned lineno,
    struct err *e);

/*
 * The home directory: $HOME, else the password database's (cron may run
 * us with a bare environment).  NULL when neither knows one.
 */
static const char *
home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home != NULL && home[0] == '/')
		return home;
	pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_dir : NULL;
}

char *
config_default_path(const char *system_path)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = home_dir();
	char *p = NULL;

	if (xdg != NULL && xdg[0] == '/')
		p = xasprintf("%s/smtpsend/config", xdg);
	else if (home != NULL)
		p = xasprintf("%s/.config/smtpsend/config", home);
	if (p != NULL && access(p, F_OK) == 0)
		return p;
	free(p);
	if (system_path != NULL && access(system_path, F_OK) == 0)
		return xstrdup(system_path);
	return NULL;
}

/* The whole file, bounded; the permission bits are noted. */
static int
slurp(struct config *c, struct buf *b, struct err *e)
{
	char chunk[4096];
	struct stat st;
	ssize_t r;
	int fd, rc = -1;

	fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return err_set(e, E_CONFIG, "config file %s: %s", c->path,
		    strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err_set(e, E_CONFIG, "config file %s: not a regular file",
		    c->path);
		goto out;
	}
	c->mode = (unsigned)st.st_mode & 07777;
	c->others_read = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
	c->others_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err_set(e, E_CONFIG, "config file %s: %s", c->path,
			    strerror(errno));
			goto out;
		}
		if (buf_add(b, chunk, (size_t)r) < 0) {
			err_set(e, E_CONFIG, "config file %s: larger than %d "
			    "octets", c->path, CONFIG_SIZE_MAX);
			goto out;
		}
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

int
config_load(struct config *c, const char *path, struct err *e)
{
	struct buf b;
	char *p, *nl;
	unsigned lineno = 0;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	c->path = xstrdup(path);
	c->sects = xcalloc(1, sizeof(*c->sects));
	c->nsects = 1;
	buf_init(&b, CONFIG_SIZE_MAX);
	if (slurp(c, &b, e) < 0)
		goto out;
	if (buf_adds(&b, "") < 0 || (b.len > 0 && memchr(b.data, '\0',
	    b.len) != NULL)) {
		err_set(e, E_CONFIG, "config file %s: not a text file", path);
		goto out;
	}
	for (p = b.data; p != NULL && *p != '\0'; p = nl) {
		lineno++;
		nl = strchr(p, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		if (strlen(p) > CONFIG_LINE_MAX) {
			err_set(e, E_CONFIG, "%s:%u: line longer than %d "
			    "characters", path, lineno, CONFIG_LINE_MAX);
			goto out;
		}
		if (parse_line(c, p, lineno, e) < 0)
			goto out;
	}
	rc = 0;
out:
	buf_release(&b);
	return rc;
}

/*
 * A value: the rest of the line, or a double-quoted string in which \"
 * and \\ stand for themselves.  Nothing may follow the closing quote.
 */
static int
unquote(const char *path, unsigned lineno, char *v, struct err *e)
{
	char *r = v + 1, *w = v;

	if (*v != '"')
		return 0;
	for (; *r != '\0' && *r != '"'; r++) {
		if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
			r++;
		*w++ = *r;
	}
	if (*r != '"' || r[1 + strspn(r + 1, " \t")] != '\0')
		return err_set(e, E_CONFIG, "%s:%u: unbalanced quotes", path,
		    lineno);
	*w = '\0';
	return 0;
}

static int
check_name(const char *path, unsigned lineno, const char *name,
    struct err *e)
{
	const char *p;

	for (p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    *p != '.' && *p != '@')
			break;
	if (p == name || *p != '\0')
		return err_set(e, E_CONFIG, "%s:%u: \"%s\" is not an account "
		    "name (letters, digits, - _ . @)", path, lineno, name);
	return 0;
}

/* "account NAME" or "account NAME : PARENT" opens a section. */
static int
open_account(struct config *c, char *rest, unsigned lineno, struct err *e)
{
	struct config_section *s;
	char *colon = strchr(rest, ':'), *parent = NULL, *end;
	size_t i;

	if (colon != NULL) {
		*colon = '\0';
		parent = colon + 1 + strspn(colon + 1, " \t");
		for (end = parent + strlen(parent); end > parent &&
		    isspace((unsigned char)end[-1]); end--)
			end[-1] = '\0';
		if (check_name(c->path, lineno, parent, e) < 0)
			return -1;
	}
	for (end = rest + strlen(rest); end > rest &&
	    isspace((unsigned char)end[-1]); end--)
		end[-1] = '\0';
	if (check_name(c->path, lineno, rest, e) < 0)
		return -1;
	for (i = 1; i < c->nsects; i++)
		if (strcmp(c->sects[i].name, rest) == 0)
			return err_set(e, E_CONFIG, "%s:%u: account %s is "
			    "already defined on line %u", c->path, lineno, rest,
			    c->sects[i].lineno);
	c->sects = xreallocarray(c->sects, c->nsects + 1, sizeof(*c->sects));
	s = &c->sects[c->nsects++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(rest);
	s->parent = parent ? xstrdup(parent) : NULL;
	s->lineno = lineno;
	return 0;
}

/*
 * The keys whose value names a file or directory.  Only these have a
 * leading "~" expanded: in any other value (a subject, a command, which
 * sh expands itself) it is text like any other.
 */
static int
is_path_key(const char *key)
{
	static const char *const keys[] = { "aliases", "attach", "body-file",
		"cafile", "cert", "cert-password-file", "html", "inline",
		"key", "log", "password-file", "pickup-dir",
		"queue-on-failure", "tls-session-cache" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i]) == 0)
			return 1;
	return 0;
}

/*
 * "~" or "~/..." is the home directory (home_dir: the same one the file
 * itself was looked for in); "~user" or "~user/..." is that user's, from
 * the password database.  A value that does not start with "~" is
 * returned as it is.  Newly allocated.
 */
static int
expand_home(const struct config *c, unsigned lineno, const char *v,
    char **out, struct err *e)
{
	const char *rest, *home;
	struct passwd *pw;
	char *user;
	size_t n;

	*out = NULL;
	if (v[0] != '~') {
		*out = xstrdup(v);
		return 0;
	}
	rest = v + 1 + strcspn(v + 1, "/");
	if (rest == v + 1) {
		if ((home = home_dir()) == NULL)
			return err_set(e, E_CONFIG, "%s:%u: \"%s\": no home "
			    "directory (HOME is unset and the password "
			    "database has none)", c->path, lineno, v);
	} else {
		user = xstrndup(v + 1, (size_t)(rest - v - 1));
		pw = getpwnam(user);
		free(user);
		if (pw == NULL || pw->pw_dir == NULL)
			return err_set(e, E_CONFIG, "%s:%u: \"%s\": no user "
			    "%.*s", c->path, lineno, v, (int)(rest - v - 1),
			    v + 1);
		home = pw->pw_dir;
	}
	/* "/" as a home directory must not give "//etc". */
	n = strlen(home);
	if (n > 0 && home[n - 1] == '/' && *rest == '/')
		rest++;
	*out = xasprintf("%s%s", home, rest);
	return 0;
}

static int
parse_line(struct config *c, char *line, unsigned lineno, struct err *e)
{
	struct config_section *s = &c->sects[c->nsects - 1];
	char *key, *val, *end, *copy;
	size_t n;

	for (end = line + strlen(line); end > line &&
	    isspace((unsigned char)end[-1]); end--)
		end[-1] = '\0';		/* also a CR of CR LF */
	key = line + strspn(line, " \t");
	if (*key == '\0' || *key == '#')
		return 0;
	n = strcspn(key, " \t");
	val = key + n + strspn(key + n, " \t");
	key[n] = '\0';
	if (strcmp(key, "defaults") == 0 && *val == '\0') {
		if (c->nsects > 1)
			return err_set(e, E_CONFIG, "%s:%u: defaults must come "
			    "before the first account", c->path, lineno);
		return 0;
	}
	if (strcmp(key, "account") == 0)
		return open_account(c, val, lineno, e);
	if (unquote(c->path, lineno, val, e) < 0)
		return -1;
	if (is_path_key(key)) {
		if (expand_home(c, lineno, val, &copy, e) < 0)
			return -1;
	} else {
		copy = xstrdup(val);
	}
	s->lines = xreallocarray(s->lines, s->nlines + 1, sizeof(*s->lines));
	s->lines[s->nlines].key = xstrdup(key);
	s->lines[s->nlines].value = copy;
	s->lines[s->nlines].lineno = lineno;
	s->nlines++;
	return 0;
}

const struct config_section *
config_account(const struct config *c, const char *name)
{
	size_t i;

	for (i = 1; i < c->nsects; i++)
		if (strcmp(c->sects[i].name, name) == 0)
			return &c->sects[i];
	return NULL;
}

int
config_chain(const struct config *c, const char *name,
    const struct config_section ***v, size_t *n, struct err *e)
{
	const struct config_section *chain[CONFIG_DEPTH_MAX], *s;
	size_t depth = 0, i;

	*v = NULL;
	*n = 0;
	for (; name != NULL; name = s->parent) {
		if ((s = config_account(c, name)) == NULL) {
			if (depth == 0)
				return err_set(e, E_CONFIG, "%s: no account "
				    "%s", c->path, name);
			return err_set(e, E_CONFIG, "%s:%u: account %s: "
			    "no account %s to inherit from", c->path,
			    chain[depth - 1]->lineno, chain[depth - 1]->name,
			    name);
		}
		if (depth == CONFIG_DEPTH_MAX)
			return err_set(e, E_CONFIG, "%s:%u: account %s: "
			    "inheritance is a loop or deeper than %d", c->path,
			    s->lineno, s->name, CONFIG_DEPTH_MAX);
		chain[depth++] = s;
	}
	*v = xreallocarray(NULL, depth + 1, sizeof(**v));
	(*v)[(*n)++] = &c->sects[0];
	for (i = depth; i > 0; i--)
		(*v)[(*n)++] = chain[i - 1];
	return 0;
}

void
config_release(struct config *c)
{
	size_t i, k;

	for (i = 0; i < c->nsects; i++) {
		for (k = 0; k < c->sects[i].nlines; k++) {
			free(c->sects[i].lines[k].key);
			free(c->sects[i].lines[k].value);
		}
		free(c->sects[i].lines);
		free(c->sects[i].name);
		free(c->sects[i].parent);
	}
	free(c->sects);
	free(c->path);
	memset(c, 0, sizeof(*c));
}
