/* Files that become MIME parts: see attach.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "attach.h"
#include "err.h"
#include "log.h"
#include "mimetype.h"
#include "spool.h"
#include "xmalloc.h"

/* The last path component: readers must never see our directories. */
static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/*
 * RFC 2392: the HTML refers to an inline part as cid:NAME, and NAME is
 * the Content-ID between its angle brackets, so it must be msg-id text:
 * dot-atom characters (RFC 5322 section 3.2.3), and "@".
 */
static int
content_id_ok(const char *s)
{
	size_t i;

	if (s[0] == '.' || s[0] == '\0' || s[strlen(s) - 1] == '.' ||
	    strstr(s, "..") != NULL)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    strchr("!#$%&'*+-/=?^_`{|}~.@", s[i]) != NULL))
			return 0;
	return 1;
}

static int
choose_name(struct attach *a, const struct attach_opt *o, struct err *e)
{
	const char *what = o->is_inline ? "--inline" : "--attach";
	const char *name = base_name(o->name != NULL ? o->name : o->path);
	char safe[512];
	struct err bad;

	printable(safe, sizeof(safe), name, strlen(name));
	if (*name == '\0')
		return err_set(e, E_USAGE, "%s %s: no file name to show; "
		    "give one with --attach-name", what, o->path);
	if (strlen(name) > ATTACH_NAME_MAX)
		return err_set(e, E_USAGE, "%s: the name \"%s\" is longer "
		    "than %d octets", what, safe, ATTACH_NAME_MAX);
	err_init(&bad);
	if (addr_check_text(name, "attachment name", &bad) < 0)
		return err_set(e, E_DATA, "%s: the name \"%s\" has control "
		    "characters or is not UTF-8; give another with "
		    "--attach-name", what, safe);
	if (o->is_inline && !content_id_ok(name))
		return err_set(e, E_USAGE, "--inline %s: \"%s\" cannot be a "
		    "Content-ID (letters, digits, dots and !#$%%&'*+-/=?^_`{|}~"
		    " only); rename the file or use --attach-name", o->path,
		    safe);
	a->name = xstrdup(name);
	return 0;
}

/* Valid UTF-8, allowing a character cut at the end of a partial head. */
static int
head_is_utf8(const char *head, size_t n, int partial)
{
	size_t cut;

	for (cut = 0; cut <= (partial ? 3 : 0) && cut <= n; cut++)
		if (utf8_valid(head, n - cut))
			return 1;
	return 0;
}

/*
 * The media type: forced, or from the name and content.  Text gets a
 * charset (RFC 2046 section 4.1.2: without one a reader must assume
 * US-ASCII): UTF-8 when the first octets are, else libmagic's guess.
 */
static void
choose_type(struct attach *a, const struct attach_opt *o, const char *head,
    size_t n)
{
	char type[MIMETYPE_MAX], cs[64];

	if (o->type != NULL && strchr(o->type, ';') != NULL) {
		a->type = xstrdup(o->type);
		return;
	}
	if (o->type != NULL)
		snprintf(type, sizeof(type), "%s", o->type);
	else
		mimetype_guess(a->name, head, n, type, sizeof(type));
	if (strncasecmp(type, "text/", 5) != 0) {
		a->type = xstrdup(type);
		return;
	}
	if (head_is_utf8(head, n, a->size > n))
		snprintf(cs, sizeof(cs), "utf-8");
	else if (mimetype_charset(head, n, cs, sizeof(cs)) < 0)
		snprintf(cs, sizeof(cs), "unknown-8bit");
	a->type = xasprintf("%s; charset=%s", type, cs);
}

static int
read_head(struct attach *a, char *head, size_t *n, struct err *e)
{
	const char *p;
	ssize_t r;

	if (a->sp != NULL) {
		if (spool_rewind(a->sp, e) < 0 || spool_read(a->sp, &p, n,
		    e) < 0)
			return -1;
		if (*n > MIMETYPE_SNIFF)
			*n = MIMETYPE_SNIFF;
		memcpy(head, p, *n);
		return spool_rewind(a->sp, e);
	}
	do
		r = pread(a->fd, head, MIMETYPE_SNIFF, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return err_set(e, E_NOINPUT, "%s: read error: %s", a->path,
		    strerror(errno));
	*n = (size_t)r;
	return 0;
}

static int
open_content(struct attach *a, struct deadline *dl, struct err *e)
{
	struct stat st;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	a->fd = open(a->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (a->fd < 0)
		return err_set(e, E_NOINPUT, "%s: %s", a->path,
		    strerror(errno));
	if (fstat(a->fd, &st) < 0)
		return err_set(e, E_NOINPUT, "%s: %s", a->path,
		    strerror(errno));
	if (S_ISDIR(st.st_mode))
		return err_set(e, E_NOINPUT, "%s: is a directory", a->path);
	if (S_ISREG(st.st_mode) && st.st_size > 0) {
		a->size = (unsigned long long)st.st_size;
		posix_fadvise(a->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		return 0;
	}
	/* No size to trust (pipe, device, /proc file): capture it now. */
	a->sp = xmalloc(sizeof(*a->sp));
	if (spool_capture(a->sp, a->fd, a->path, dl, e) < 0) {
		spool_release(a->sp);
		free(a->sp);
		a->sp = NULL;
		if (e->kind == E_IOERR)
			e->kind = E_NOINPUT;
		return -1;
	}
	close(a->fd);
	a->fd = -1;
	a->size = a->sp->info.size;
	return 0;
}

int
attach_open(struct attach *a, const struct attach_opt *o,
    struct deadline *dl, struct err *e)
{
	char *head;
	size_t n = 0;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	a->path = o->path;
	a->is_inline = o->is_inline;
	if (choose_name(a, o, e) < 0 || open_content(a, dl, e) < 0) {
		attach_close(a);
		return -1;
	}
	head = xmalloc(MIMETYPE_SNIFF);
	if (read_head(a, head, &n, e) == 0) {
		choose_type(a, o, head, n);
		rc = 0;
	}
	free(head);
	if (rc < 0)
		attach_close(a);
	return rc;
}

void
attach_rewind(struct attach *a)
{
	a->pos = 0;
}

static int
read_spool(struct attach *a, char *p, size_t n, size_t *got, struct err *e)
{
	const char *piece;
	size_t len, take;

	*got = 0;
	if (spool_seek(a->sp, a->pos, e) < 0)
		return -1;
	while (*got < n && a->pos < a->size) {
		if (spool_read(a->sp, &piece, &len, e) < 0)
			return -1;
		if (len == 0)
			break;
		take = len < n - *got ? len : n - *got;
		memcpy(p + *got, piece, take);
		*got += take;
		a->pos += take;
	}
	return 0;
}

int
attach_read(struct attach *a, void *buf, size_t n, size_t *got,
    struct err *e)
{
	char *p = buf;
	ssize_t r;

	if (n > a->size - a->pos)
		n = (size_t)(a->size - a->pos);
	if (a->sp != NULL)
		return read_spool(a, p, n, got, e);
	*got = 0;
	while (*got < n) {
		r = pread(a->fd, p + *got, n - *got, (off_t)a->pos);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return err_set(e, E_IOERR, "%s: read error: %s",
			    a->path, strerror(errno));
		if (r == 0)
			return err_set(e, E_IOERR, "%s: the file shrank while "
			    "it was being sent (%llu of %llu octets read)",
			    a->path, a->pos, a->size);
		*got += (size_t)r;
		a->pos += (unsigned long long)r;
	}
	return 0;
}

void
attach_close(struct attach *a)
{
	if (a->fd >= 0)
		close(a->fd);
	if (a->sp != NULL) {
		spool_release(a->sp);
		free(a->sp);
	}
	free(a->name);
	free(a->type);
	memset(a, 0, sizeof(*a));
	a->fd = -1;
}
