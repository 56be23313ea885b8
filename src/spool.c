/* Input capture and scanning: see spool.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadline.h"
#include "err.h"
#include "spool.h"
#include "xmalloc.h"

/* Incremental scan: the statistics behind the encoding choice. */
static void
scan(struct spool *sp, const unsigned char *s, size_t n)
{
	struct spool_info *in = &sp->info;
	size_t i;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '\r' || (c == '\n' && !sp->last_cr))
			in->wire_size += 2;
		else if (c != '\n')
			in->wire_size++;
		if (sp->last_cr && c != '\n')
			in->has_lone_cr = 1;
		sp->last_cr = c == '\r';
		if (c == '\n') {
			in->lines++;
			sp->cur_line = 0;
		} else if (c != '\r' && ++sp->cur_line > in->max_line) {
			in->max_line = sp->cur_line;
		}
		if (c == 0)
			in->has_nul = 1;
		if (c < 0x80) {
			if (sp->u8_need)
				in->utf8_ok = 0, sp->u8_need = 0;
			continue;
		}
		in->has_8bit = 1;
		if (sp->u8_need) {
			if (c < sp->u8_lo || c > sp->u8_hi)
				in->utf8_ok = 0;
			sp->u8_need--;
			sp->u8_lo = 0x80;
			sp->u8_hi = 0xbf;
			continue;
		}
		/* Lead byte: also narrow the next byte's range (RFC 3629). */
		sp->u8_lo = 0x80;
		sp->u8_hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf) {
			sp->u8_need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			sp->u8_need = 2;
			if (c == 0xe0)
				sp->u8_lo = 0xa0;
			if (c == 0xed)
				sp->u8_hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			sp->u8_need = 3;
			if (c == 0xf0)
				sp->u8_lo = 0x90;
			if (c == 0xf4)
				sp->u8_hi = 0x8f;
		} else {
			in->utf8_ok = 0;
		}
	}
}

/* What only the end of the input tells. */
static void
scan_finish(struct spool *sp)
{
	if (sp->last_cr)
		sp->info.has_lone_cr = 1;
	else if (sp->cur_line > 0)
		sp->info.wire_size += 2;	/* the writer ends the line */
	if (sp->u8_need)
		sp->info.utf8_ok = 0;
	if (sp->cur_line > 0)
		sp->info.lines++;
}

static int
spill_open(struct err *e)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* File systems without O_TMPFILE: create, then unlink at once. */
	path = xasprintf("%s/smtpsend.XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	free(path);
	if (fd < 0)
		return err_set(e, E_IOERR,
		    "cannot create a temporary file in %s: %s", dir,
		    strerror(errno));
	return fd;
}

static int
write_all(int fd, const char *p, size_t n, struct err *e)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return err_set(e, E_IOERR,
			    "cannot store the input in a temporary file: %s",
			    strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Keep data: in memory while it fits, otherwise in the spill file. */
static int
store(struct spool *sp, const char *p, size_t n, struct err *e)
{
	if (sp->fd < 0 && sp->memlen + n <= SPOOL_MEM_MAX) {
		memcpy(sp->mem + sp->memlen, p, n);
		sp->memlen += n;
		return 0;
	}
	if (sp->fd < 0) {
		if ((sp->fd = spill_open(e)) < 0)
			return -1;
		if (write_all(sp->fd, sp->mem, sp->memlen, e) < 0)
			return -1;
		free(sp->mem);
		sp->mem = NULL;
		sp->memlen = 0;
	}
	return write_all(sp->fd, p, n, e);
}

void
spool_init(struct spool *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->fd = -1;
	sp->info.utf8_ok = 1;
	sp->mem = xmalloc(SPOOL_MEM_MAX);
}

int
spool_add(struct spool *sp, const char *p, size_t n, struct err *e)
{
	scan(sp, (const unsigned char *)p, n);
	sp->info.size += n;
	return store(sp, p, n, e);
}

int
spool_end(struct spool *sp, struct err *e)
{
	scan_finish(sp);
	return spool_rewind(sp, e);
}

int
spool_capture(struct spool *sp, int fd, const char *what,
    struct deadline *dl, struct err *e)
{
	struct stat st;
	char *chunk;
	ssize_t r;
	int waits, rc = -1;

	spool_init(sp);
	chunk = xmalloc(SPOOL_CHUNK);
	/* Regular files never block; pipes and terminals can stall. */
	waits = fstat(fd, &st) < 0 || !S_ISREG(st.st_mode);
	for (;;) {
		if (deadline_check(dl, e) < 0 ||
		    (waits && deadline_wait(fd, POLLIN, dl, e) < 0))
			goto out;
		r = read(fd, chunk, SPOOL_CHUNK);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0) {
			err_set(e, E_IOERR, "%s: read error: %s", what,
			    strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		if (spool_add(sp, chunk, (size_t)r, e) < 0)
			goto out;
	}
	rc = spool_end(sp, e);
out:
	free(chunk);
	return rc;
}

int
spool_rewind(struct spool *sp, struct err *e)
{
	sp->rpos = 0;
	if (sp->fd >= 0 && sp->chunk == NULL)
		sp->chunk = xmalloc(SPOOL_CHUNK);
	(void)e;
	return 0;
}

int
spool_seek(struct spool *sp, unsigned long long off, struct err *e)
{
	if (off > sp->info.size)
		return err_set(e, E_SOFTWARE, "spool: seek past the end");
	if (spool_rewind(sp, e) < 0)
		return -1;
	sp->rpos = (off_t)off;
	return 0;
}

int
spool_read(struct spool *sp, const char **p, size_t *n, struct err *e)
{
	ssize_t r;

	if (sp->fd < 0) {
		*p = sp->mem + sp->rpos;
		*n = sp->memlen - (size_t)sp->rpos;
		sp->rpos = (off_t)sp->memlen;
		return 0;
	}
	do
		r = pread(sp->fd, sp->chunk, SPOOL_CHUNK, sp->rpos);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return err_set(e, E_IOERR,
		    "reading back the captured input: %s", strerror(errno));
	sp->rpos += r;
	*p = sp->chunk;
	*n = (size_t)r;
	return 0;
}

int
spool_scan_from(struct spool *sp, unsigned long long off,
    struct spool_info *info, struct err *e)
{
	struct spool tmp;
	const char *p;
	size_t n;

	memset(&tmp, 0, sizeof(tmp));
	tmp.info.utf8_ok = 1;
	if (spool_seek(sp, off, e) < 0)
		return -1;
	do {
		if (spool_read(sp, &p, &n, e) < 0)
			return -1;
		scan(&tmp, (const unsigned char *)p, n);
		tmp.info.size += n;
	} while (n > 0);
	scan_finish(&tmp);
	*info = tmp.info;
	return spool_rewind(sp, e);
}

void
spool_release(struct spool *sp)
{
	free(sp->mem);
	free(sp->chunk);
	if (sp->fd >= 0)
		close(sp->fd);
	memset(sp, 0, sizeof(*sp));
	sp->fd = -1;
}
