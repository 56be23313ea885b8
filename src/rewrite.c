/* Bare local names in header fields: see rewrite.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aliases.h"
#include "buf.h"
#include "err.h"
#include "rewrite.h"
#include "xmalloc.h"

#define FOLD_AT	76	/* RFC 5322 section 2.1.1: lines SHOULD be <= 78 */

/* 1: a recipient field (aliases apply); 2: an author field; 0: other. */
static int
field_kind(const char *name, size_t n)
{
	static const char *const rcpt[] = { "To", "Cc", "Bcc" };
	static const char *const author[] = { "From", "Sender", "Reply-To" };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (strlen(rcpt[i]) == n && strncasecmp(name, rcpt[i], n) == 0)
			return 1;
		if (strlen(author[i]) == n &&
		    strncasecmp(name, author[i], n) == 0)
			return 2;
	}
	return 0;
}

/*
 * The end of the element of an address list starting at p: the next
 * comma outside quotes, angle brackets, domain literals and comments
 * (RFC 5322 3.4), or the colon that opens a group (when not in one) or
 * the semicolon that closes it (when in one).  *delim is that character,
 * or '\0' at the end of the field.
 */
static const char *
element_end(const char *p, const char *end, int in_group, char *delim)
{
	int q = 0, angle = 0, depth = 0, literal = 0;

	for (; p < end; p++) {
		if (*p == '\\' && p + 1 < end && (q || depth))
			p++;
		else if (!depth && *p == '"')
			q = !q;
		else if (!q && *p == '(')
			depth++;
		else if (!q && depth && *p == ')')
			depth--;
		else if (q || depth)
			continue;
		else if (*p == '<')
			angle = 1;
		else if (*p == '>')
			angle = 0;
		else if (*p == '[')
			literal = 1;
		else if (*p == ']')
			literal = 0;
		else if (!angle && !literal && (*p == ',' ||
		    (*p == ':' && !in_group) || (*p == ';' && in_group))) {
			*delim = *p;
			return p;
		}
	}
	*delim = '\0';
	return end;
}

/* Where the addr-spec of element [p, end) is: inside <>, else the word. */
static void
find_spec(const char *p, const char *end, const char **s, size_t *n)
{
	const char *lt = memchr(p, '<', (size_t)(end - p)), *gt;

	if (lt != NULL && (gt = memchr(lt, '>', (size_t)(end - lt))) != NULL) {
		*s = lt + 1;
		*n = (size_t)(gt - lt - 1);
		return;
	}
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n'))
		p++;
	*s = p;
	for (*n = 0; p + *n < end && strchr(" \t\n(", p[*n]) == NULL; (*n)++)
		;
}

static void
push_one(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = s;
}

/* Append one element, folding before it when the line would grow long. */
static void
add_element(struct buf *out, size_t *col, const char *p, size_t n,
    int first)
{
	if (!first) {
		buf_addc(out, ',');
		(*col)++;
	}
	if (!first && *col + 1 + n > FOLD_AT) {
		buf_adds(out, "\n ");
		*col = 1;
	} else {
		buf_addc(out, ' ');
		(*col)++;
	}
	buf_add(out, p, n);
	*col += n;
}

static int
rewrite_element(const char *p, const char *end, int kind,
    const struct rewrite_rules *rules, struct buf *out, size_t *col,
    int *first, int *changed, struct err *e)
{
	static const struct aliases none;
	const char *domain = rules->local_domain;
	const char *s;
	char *name, *host, **v = NULL, *one;
	size_t n, k, nv = 0, i;
	int rc = 0;

	while (p < end && strchr(" \t\n", *p) != NULL)
		p++;
	while (end > p && strchr(" \t\n", end[-1]) != NULL)
		end--;
	if (p == end)
		return 0;
	find_spec(p, end, &s, &n);
	k = aliases_local_name(s, n);
	/* An author at this machine is left alone without local-domain. */
	if (k == 0 || (k < n && kind == 2 && domain == NULL)) {
		add_element(out, col, p, (size_t)(end - p), *first);
		*first = 0;
		return 0;
	}
	name = xstrndup(s, k);
	host = k < n ? xstrndup(s + k + 1, n - k - 1) : NULL;
	if (kind == 1)
		rc = aliases_expand(rules->aliases ? rules->aliases : &none,
		    name, domain ? domain : host, &v, &nv, e);
	else if (domain != NULL)
		push_one(&v, &nv, xasprintf("%s@%s", name, domain));
	else if (rules->author != NULL)
		push_one(&v, &nv, xstrdup(rules->author));
	else
		rc = err_set(e, E_DATA, "the message's author \"%s\" has no "
		    "domain: set local-domain", name);
	for (i = 0; i < nv && rc == 0; i++) {
		/* The first keeps the element's display name and comment. */
		one = i > 0 ? xstrdup(v[i]) : xasprintf("%.*s%s%.*s",
		    (int)(s - p), p, v[i], (int)(end - s - n), s + n);
		add_element(out, col, one, strlen(one), *first);
		*first = 0;
		free(one);
	}
	if (nv != 1 || strlen(v[0]) != n || memcmp(v[0], s, n) != 0)
		*changed = 1;
	aliases_free_list(v, nv);
	free(name);
	free(host);
	return rc;
}

/*
 * The display name of a group, [p, end) before its colon, as written
 * (blanks around it dropped), then the colon.
 */
static void
open_group(const char *p, const char *end, struct buf *out, size_t *col,
    int *first)
{
	char *name;

	while (p < end && strchr(" \t\n", *p) != NULL)
		p++;
	while (end > p && strchr(" \t\n", end[-1]) != NULL)
		end--;
	name = xasprintf("%.*s:", (int)(end - p), p);
	add_element(out, col, name, strlen(name), *first);
	*first = 0;
	free(name);
}

/*
 * One field [p, end), its final newline included.  A group ("team: a,
 * b;", RFC 5322 section 3.4) keeps its name and its colon and semicolon,
 * and its members are rewritten like any other mailbox, each inside the
 * group; an empty one ("undisclosed-recipients:;") stays empty.
 */
static int
rewrite_field(const char *p, const char *end,
    const struct rewrite_rules *rules, struct buf *out, int *changed,
    struct err *e)
{
	const char *colon = memchr(p, ':', (size_t)(end - p)), *v, *x;
	struct buf f;
	size_t col;
	int kind, first = 1, member_first = 0, in_group = 0, mine = 0, rc = 0;
	char delim;

	kind = colon ? field_kind(p, (size_t)(colon - p)) : 0;
	if (kind == 0)
		return buf_add(out, p, (size_t)(end - p));
	buf_init(&f, out->max);
	buf_add(&f, p, (size_t)(colon - p) + 1);
	col = (size_t)(colon - p) + 1;
	for (v = colon + 1; v < end && rc == 0; v = x + 1) {
		x = element_end(v, end, in_group, &delim);
		if (delim == ':') {
			open_group(v, x, &f, &col, &first);
			in_group = member_first = 1;
			continue;
		}
		rc = rewrite_element(v, x, kind, rules, &f, &col, in_group ?
		    &member_first : &first, &mine, e);
		if (delim == ';') {
			buf_addc(&f, ';');
			col++;
			in_group = 0;
		}
	}
	buf_addc(&f, '\n');
	if (rc == 0)
		rc = mine ? buf_add(out, f.data, f.len) : buf_add(out, p,
		    (size_t)(end - p));
	*changed |= mine;
	buf_release(&f);
	return rc;
}

int
rewrite_header(const char *head, size_t len,
    const struct rewrite_rules *rules, struct buf *out, int *changed,
    struct err *e)
{
	const char *p = head, *end = head + len, *q, *nl;

	*changed = 0;
	while (p < end) {
		/* A field runs until a line that does not start with a blank. */
		for (q = p; q < end; q = nl + 1) {
			nl = memchr(q, '\n', (size_t)(end - q));
			if (nl == NULL) {
				nl = end - 1;
				break;
			}
			if (nl + 1 >= end || (nl[1] != ' ' && nl[1] != '\t'))
				break;
		}
		if (rewrite_field(p, nl + 1, rules, out, changed, e) < 0)
			return e->kind != E_OK ? -1 : err_set(e, E_DATA, "the "
			    "message's header section is too large");
		p = nl + 1;
	}
	return 0;
}
