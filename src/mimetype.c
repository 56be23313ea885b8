/* Media types of attachments: see mimetype.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <magic.h>

#include "encode.h"
#include "mimetype.h"
#include "xmalloc.h"

#define TABLE_LINE_MAX	1024

static const char *const tables[] = { "~/.mime.types", "/etc/mime.types" };

/* Copy a "type/subtype" made of tokens, lower-cased; -1 if it is not one. */
static int
copy_type(const char *s, size_t n, char *out, size_t size)
{
	size_t i, slash = 0;

	if (n == 0 || n >= size)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] == '/' && slash == 0 && i > 0) {
			slash = i;
		} else if ((unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f ||
		    strchr("()<>@,;:\\\"/[]?=", s[i]) != NULL) {
			return -1;
		}
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	if (slash == 0 || slash == n - 1)
		return -1;
	out[n] = '\0';
	return 0;
}

/* Does the table line list ext?  Fields are separated by blanks. */
static int
line_has_ext(const char *line, const char *ext, size_t *type_len)
{
	const char *p = line;
	size_t n, elen = strlen(ext);

	*type_len = strcspn(p, " \t\r\n");
	for (p += *type_len;;) {
		p += strspn(p, " \t\r\n");
		if (*p == '\0' || *p == '#')
			return 0;
		n = strcspn(p, " \t\r\n");
		if (n == elen && strncasecmp(p, ext, n) == 0)
			return 1;
		p += n;
	}
}

static int
lookup_table(const char *path, const char *ext, char *out, size_t size)
{
	char line[TABLE_LINE_MAX], *full = NULL;
	const char *home;
	size_t tlen;
	int found = -1, skipping = 0;
	FILE *f;

	if (path[0] == '~') {
		if ((home = getenv("HOME")) == NULL || *home == '\0')
			return -1;
		full = xasprintf("%s%s", home, path + 1);
		path = full;
	}
	f = fopen(path, "re");
	free(full);
	if (f == NULL)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), f) != NULL) {
		/* The tail of a line longer than the buffer is skipped. */
		int whole = strchr(line, '\n') != NULL || feof(f);

		if (!skipping && line[0] != '#' && line_has_ext(line, ext,
		    &tlen))
			found = copy_type(line, tlen, out, size);
		skipping = !whole;
	}
	fclose(f);
	return found;
}

/*
 * libmagic on the first octets.  Its "types" for what is not a file type
 * (inode/x-empty, application/x-empty) are no use to a reader.
 */
static int
sniff_type(const void *head, size_t n, char *out, size_t size)
{
	magic_t mg;
	const char *t;
	int rc = -1;

	if (n == 0 || (mg = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR)) ==
	    NULL)
		return -1;
	if (magic_load(mg, NULL) == 0 && (t = magic_buffer(mg, head, n)) !=
	    NULL && strncmp(t, "inode/", 6) != 0 &&
	    strcmp(t, "application/x-empty") != 0)
		rc = copy_type(t, strlen(t), out, size);
	magic_close(mg);
	return rc;
}

void
mimetype_guess(const char *name, const void *head, size_t n, char *out,
    size_t size)
{
	const char *dot = strrchr(name, '.');
	size_t i;

	if (dot != NULL && dot != name && dot[1] != '\0' &&
	    strlen(dot + 1) < 32) {
		for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
			if (lookup_table(tables[i], dot + 1, out, size) == 0)
				return;
	}
	if (sniff_type(head, n, out, size) == 0)
		return;
	snprintf(out, size, "application/octet-stream");
}

int
mimetype_charset(const void *head, size_t n, char *out, size_t size)
{
	magic_t mg;
	const char *t;
	int rc = -1;

	if (n == 0 || (mg = magic_open(MAGIC_MIME_ENCODING)) == NULL)
		return -1;
	if (magic_load(mg, NULL) == 0 && (t = magic_buffer(mg, head, n)) !=
	    NULL && mime_is_token(t) && strcmp(t, "binary") != 0 &&
	    strlen(t) < size) {
		for (rc = 0; *t != '\0'; t++)
			*out++ = (char)tolower((unsigned char)*t);
		*out = '\0';
	}
	magic_close(mg);
	return rc;
}

/* A quoted-string at s; returns its length with the quotes, or 0. */
static size_t
quoted_len(const char *s)
{
	size_t i;

	for (i = 1; s[i] != '\0' && s[i] != '"'; i++) {
		if (s[i] == '\\' && s[i + 1] != '\0')
			i++;
		else if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
			return 0;
	}
	return s[i] == '"' ? i + 1 : 0;
}

static size_t
token_len(const char *s)
{
	size_t i;

	for (i = 0; (unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f &&
	    strchr("()<>@,;:\\\"/[]?=", s[i]) == NULL; i++)
		;
	return i;
}

int
mimetype_valid(const char *s)
{
	size_t n;

	/* type "/" subtype */
	if ((n = token_len(s)) == 0 || s[n] != '/')
		return 0;
	s += n + 1;
	if ((n = token_len(s)) == 0)
		return 0;
	for (s += n;;) {
		s += strspn(s, " \t");
		if (*s == '\0')
			return 1;
		if (*s++ != ';')
			return 0;
		s += strspn(s, " \t");
		if ((n = token_len(s)) == 0 || s[n] != '=')
			return 0;
		s += n + 1;
		n = *s == '"' ? quoted_len(s) : token_len(s);
		if (n == 0)
			return 0;
		s += n;
	}
}

const char *
mimetype_magic_version(void)
{
	static char v[16];
	int n = magic_version();

	snprintf(v, sizeof(v), "%d.%02d", n / 100, n % 100);
	return v;
}
