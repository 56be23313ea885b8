/* Local names: see aliases.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "aliases.h"
#include "buf.h"
#include "deadline.h"
#include "err.h"
#include "log.h"
#include "net.h"
#include "xmalloc.h"

/* The same bound main.c gives the lookup of this host's name. */
#define SELF_LOOKUP_MS	5000

static int
slurp(const char *path, struct buf *b, struct err *e)
{
	char chunk[4096];
	ssize_t r;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return err_set(e, E_CONFIG, "aliases file %s: %s", path,
		    strerror(errno));
	while (rc == 0 && (r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = err_set(e, E_CONFIG, "aliases file %s: %s", path,
			    strerror(errno));
		else if (buf_add(b, chunk, (size_t)r) < 0)
			rc = err_set(e, E_CONFIG, "aliases file %s: larger "
			    "than %d octets", path, ALIASES_SIZE_MAX);
	}
	close(fd);
	if (rc == 0 && buf_adds(b, "") < 0)
		rc = err_set(e, E_CONFIG, "aliases file %s: too large", path);
	return rc;
}

static char *
trim(char *s)
{
	char *end;

	s += strspn(s, " \t\r");
	for (end = s + strlen(s); end > s && isspace((unsigned char)end[-1]);
	    end--)
		end[-1] = '\0';
	return s;
}

/* One logical entry "name: a, b, c" (continuations already joined). */
static int
add_entry(struct aliases *a, char *line, const char *path, unsigned lineno,
    struct err *e)
{
	char *colon = strchr(line, ':'), *t, *next;
	struct alias *al;

	if (colon == NULL || colon == line)
		return err_set(e, E_CONFIG, "%s:%u: expected \"name: "
		    "address, ...\"", path, lineno);
	*colon = '\0';
	a->v = xreallocarray(a->v, a->n + 1, sizeof(*a->v));
	al = &a->v[a->n++];
	memset(al, 0, sizeof(*al));
	al->name = xstrdup(trim(line));
	for (t = colon + 1; t != NULL; t = next) {
		if ((next = strchr(t, ',')) != NULL)
			*next++ = '\0';
		t = trim(t);
		if (*t == '\0')
			continue;
		al->targets = xreallocarray(al->targets, al->ntargets + 1,
		    sizeof(*al->targets));
		al->targets[al->ntargets++] = xstrdup(t);
	}
	return 0;
}

int
aliases_load(struct aliases *a, const char *path, struct err *e)
{
	struct buf b, entry;
	char *p, *nl;
	unsigned lineno = 0, first = 0;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	buf_init(&b, ALIASES_SIZE_MAX);
	buf_init(&entry, ALIASES_SIZE_MAX);
	if (slurp(path, &b, e) < 0)
		goto out;
	for (p = b.data; p != NULL; p = nl) {
		nl = strchr(p, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		lineno++;
		if (*p == '#' || *trim(p) == '\0')
			continue;
		if ((*p == ' ' || *p == '\t') && entry.len > 0) {
			buf_addc(&entry, ',');
			buf_adds(&entry, p);
			continue;
		}
		if (entry.len > 0 && add_entry(a, entry.data, path, first,
		    e) < 0)
			goto out;
		buf_clear(&entry);
		buf_adds(&entry, p);
		first = lineno;
	}
	if (entry.len > 0 && add_entry(a, entry.data, path, first, e) < 0)
		goto out;
	rc = 0;
out:
	buf_release(&entry);
	buf_release(&b);
	return rc;
}

static const struct alias *
lookup(const struct aliases *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcasecmp(a->v[i].name, name) == 0)
			return &a->v[i];
	return NULL;
}

static int
push(char ***out, size_t *n, char *s)
{
	*out = xreallocarray(*out, *n + 1, sizeof(**out));
	(*out)[(*n)++] = s;
	return 0;
}

static int
expand(const struct aliases *a, const char *name, const char *domain,
    int depth, char ***out, size_t *n, struct err *e)
{
	const struct alias *al = lookup(a, name);
	size_t i;
	const char *t;

	if (depth > ALIASES_DEPTH_MAX)
		return err_set(e, E_DATA, "alias %s: aliases nest deeper than "
		    "%d (a loop?)", name, ALIASES_DEPTH_MAX);
	if (al == NULL && depth == 0)
		al = lookup(a, "default");
	if (al == NULL || (depth > 0 && strcasecmp(al->name, name) == 0 &&
	    al->ntargets == 1 && strcasecmp(al->targets[0], name) == 0)) {
		if (domain == NULL)
			return err_set(e, E_DATA, "recipient \"%s\" has no "
			    "domain: set local-domain (or an alias) in the "
			    "config file, or write %s@DOMAIN", name, name);
		return push(out, n, xasprintf("%s@%s", name, domain));
	}
	for (i = 0; i < al->ntargets; i++) {
		t = al->targets[i];
		if (*t == '|' || *t == '/' || strncmp(t, ":include:", 9) == 0) {
			log_warn("alias %s: \"%s\" is for a local MTA; skipped",
			    name, t);
		} else if (strchr(t, '@') != NULL) {
			push(out, n, xstrdup(t));
		} else if (strcasecmp(t, name) == 0) {
			if (domain == NULL)
				return err_set(e, E_DATA, "alias %s: \"%s\" "
				    "needs local-domain", name, t);
			push(out, n, xasprintf("%s@%s", t, domain));
		} else if (expand(a, t, domain, depth + 1, out, n, e) < 0) {
			return -1;
		}
	}
	return 0;
}

int
aliases_expand(const struct aliases *a, const char *name,
    const char *local_domain, char ***out, size_t *n, struct err *e)
{
	return expand(a, name, local_domain, 0, out, n, e);
}

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyz" \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-"

int
aliases_is_bare(const char *s)
{
	size_t n = strspn(s, NAME_CHARS);

	return n > 0 && s[n] == '\0';
}

/*
 * This machine's full name as "hostname -f" prints it: the canonical
 * name of gethostname() (net_self_name).  Looked up at most once, and
 * bounded: /etc/hosts normally answers at once, but a host missing from
 * it would otherwise wait for the resolver's own timeouts.
 */
static const char *
self_fqdn(void)
{
	static char *fqdn;
	static int looked;
	struct deadline dl;

	if (!looked) {
		looked = 1;
		deadline_init(&dl, SELF_LOOKUP_MS);
		deadline_phase(&dl, "looking up this host's name",
		    SELF_LOOKUP_MS);
		fqdn = net_self_name(&dl);
	}
	return fqdn;
}

static int
same_name(const char *d, size_t n, const char *name)
{
	return name != NULL && n > 0 && strlen(name) == n &&
	    strncasecmp(d, name, n) == 0;
}

/*
 * Is d[0..n) a name of this machine?  The full name is looked up only
 * for a domain whose first label is the host name's ("box.example.com"
 * for the host "box"), the form it takes: mail to anywhere else costs
 * no lookup.
 */
static int
this_host(const char *d, size_t n)
{
	static const char *const fixed[] = { "localhost",
		"localhost.localdomain" };
	char host[256];
	size_t i, label;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (same_name(d, n, fixed[i]))
			return 1;
	if (gethostname(host, sizeof(host)) != 0)
		return 0;
	host[sizeof(host) - 1] = '\0';
	if (same_name(d, n, host))
		return 1;
	label = strcspn(host, ".");
	if (label == 0 || n <= label || d[label] != '.' ||
	    strncasecmp(d, host, label) != 0)
		return 0;
	return same_name(d, n, self_fqdn());
}

size_t
aliases_local_name(const char *s, size_t n)
{
	const char *at = memchr(s, '@', n);
	size_t k = at != NULL ? (size_t)(at - s) : n, i;

	for (i = 0; i < k; i++)
		if (strchr(NAME_CHARS, s[i]) == NULL || s[i] == '\0')
			return 0;
	if (k == 0)
		return 0;
	if (at == NULL || this_host(at + 1, n - k - 1))
		return k;
	return 0;
}

void
aliases_free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
aliases_release(struct aliases *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		free(a->v[i].name);
		aliases_free_list(a->v[i].targets, a->v[i].ntargets);
	}
	free(a->v);
	memset(a, 0, sizeof(*a));
}
