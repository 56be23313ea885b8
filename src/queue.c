/* Queue and pickup files: see queue.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "err.h"
#include "log.h"
#include "queue.h"
#include "xmalloc.h"

#define ENV_LINE_MAX	1024

int
queue_dir_open(const char *dir, const char *what, struct err *e)
{
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && (mkdir(dir, 0700) == 0 ||
	    errno == EEXIST))
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, E_CANTCREAT, "%s %s: %s", what, dir,
		    strerror(errno));
	if (faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) < 0) {
		err_set(e, E_CANTCREAT, "%s %s: not writable: %s", what, dir,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * "20261122T101530.123456Z-4242-9f3a01c7.eml": UTC time first, so that
 * names sort oldest first, then the process and 32 random bits.
 */
static void
unique_name(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	unsigned char r[4];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		memcpy(r, &ts.tv_nsec, sizeof(r));
	snprintf(out, size, "%04d%02d%02dT%02d%02d%02d.%06ldZ-%ld-"
	    "%02x%02x%02x%02x%s", tm.tm_year + 1900, tm.tm_mon + 1,
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000,
	    (long)getpid(), r[0], r[1], r[2], r[3], QUEUE_SUFFIX);
}

static int
write_failed(struct qfile *q, const char *what, struct err *e)
{
	return err_set(e, E_CANTCREAT, "%s %s/%s: %s", what, q->dir, q->tmp,
	    strerror(errno));
}

int
qfile_create(struct qfile *q, int dirfd, const char *dir, struct err *e)
{
	int i;

	memset(q, 0, sizeof(*q));
	q->dirfd = dirfd;
	q->dir = dir;
	q->fd = -1;
	for (i = 0; i < 10 && q->fd < 0; i++) {
		unique_name(q->name, sizeof(q->name));
		snprintf(q->tmp, sizeof(q->tmp), "%s%s", QUEUE_TMP_PREFIX,
		    q->name);
		q->fd = openat(dirfd, q->tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600);
		if (q->fd < 0 && errno != EEXIST)
			break;
	}
	if (q->fd < 0) {
		err_set(e, E_CANTCREAT, "cannot create a file in %s: %s", dir,
		    strerror(errno));
		q->tmp[0] = '\0';
		return -1;
	}
	q->buf = xmalloc(QUEUE_CHUNK);
	return 0;
}

/* Write out the buffer; a short write is retried, ENOSPC is final. */
static int
drain(struct qfile *q, struct err *e)
{
	size_t off = 0;
	ssize_t w;

	while (off < q->blen) {
		w = write(q->fd, q->buf + off, q->blen - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return write_failed(q, "cannot write", e);
		off += (size_t)w;
	}
	q->blen = 0;
	return 0;
}

static int
put(struct qfile *q, const char *p, size_t n, struct err *e)
{
	size_t room;

	q->size += n;
	while (n > 0) {
		if (q->blen == QUEUE_CHUNK && drain(q, e) < 0)
			return -1;
		room = QUEUE_CHUNK - q->blen;
		if (room > n)
			room = n;
		memcpy(q->buf + q->blen, p, room);
		q->blen += room;
		p += room;
		n -= room;
	}
	return 0;
}

int
qfile_write(struct qfile *q, const char *p, size_t n, struct err *e)
{
	size_t i = 0, run;

	while (i < n) {
		if (q->pending_cr) {
			/* CR LF is one line end, and so is a lone CR. */
			q->pending_cr = 0;
			if (put(q, "\r\n", 2, e) < 0)
				return -1;
			if (p[i] == '\n') {
				i++;
				continue;
			}
		}
		if (p[i] == '\r' || p[i] == '\n') {
			q->pending_cr = p[i] == '\r';
			if (p[i] == '\n' && put(q, "\r\n", 2, e) < 0)
				return -1;
			i++;
			continue;
		}
		for (run = i; run < n && p[run] != '\r' && p[run] != '\n';
		    run++)
			;
		if (put(q, p + i, run - i, e) < 0)
			return -1;
		i = run;
	}
	return 0;
}

static int
envelope_line(struct qfile *q, const char *name, const struct mailbox *mb,
    struct err *e)
{
	char *a;
	int rc;

	/* As given: whether it needs SMTPUTF8 is decided when it is sent. */
	a = addr_is_intl(mb) ? addr_envelope_utf8(mb) : addr_envelope(mb);

	rc = put(q, name, strlen(name), e);
	if (rc == 0 && mb->null)
		rc = put(q, "<>", 2, e);
	else if (rc == 0)
		rc = put(q, a, strlen(a), e);
	if (rc == 0)
		rc = put(q, "\r\n", 2, e);
	free(a);
	return rc;
}

int
qfile_envelope(struct qfile *q, const struct mailbox *sender,
    const struct mailbox *const *rcpt, size_t n, struct err *e)
{
	size_t i;

	if (envelope_line(q, "X-Sender: ", sender, e) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (envelope_line(q, "X-Receiver: ", rcpt[i], e) < 0)
			return -1;
	return 0;
}

/*
 * Durable, then visible: the data reaches the disk before the name
 * does, and the rename is itself made durable (fsync of the directory),
 * so neither a crash nor a power cut can leave a partial file behind
 * under a final name.  RENAME_NOREPLACE keeps an existing file safe.
 */
static int
publish(struct qfile *q)
{
	int i;

	for (i = 0; i < 10; i++) {
		if (renameat2(q->dirfd, q->tmp, q->dirfd, q->name,
		    RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EINVAL || errno == ENOSYS)
			return renameat(q->dirfd, q->tmp, q->dirfd, q->name);
		if (errno != EEXIST)
			return -1;
		unique_name(q->name, sizeof(q->name));
	}
	return -1;
}

int
qfile_flush(struct qfile *q, struct err *e)
{
	if (drain(q, e) < 0) {
		qfile_discard(q);
		return -1;
	}
	return 0;
}

int
qfile_commit(struct qfile *q, struct err *e)
{
	struct timespec times[2];

	if (q->pending_cr && put(q, "\r\n", 2, e) < 0)
		goto fail;
	q->pending_cr = 0;
	if (drain(q, e) < 0)
		goto fail;
	if (q->mtime != NULL) {
		times[0] = *q->mtime;
		times[1] = *q->mtime;
		if (futimens(q->fd, times) < 0)
			log_warn("%s/%s: cannot keep the queueing time: %s",
			    q->dir, q->tmp, strerror(errno));
	}
	if (fsync(q->fd) < 0) {
		write_failed(q, "cannot sync", e);
		goto fail;
	}
	if (close(q->fd) < 0) {
		q->fd = -1;
		write_failed(q, "cannot write", e);
		goto fail;
	}
	q->fd = -1;
	if (publish(q) < 0) {
		write_failed(q, "cannot rename", e);
		goto fail;
	}
	q->tmp[0] = '\0';
	/* The name is in place; a failed directory sync only loses time. */
	if (fsync(q->dirfd) < 0)
		log_warn("cannot sync the directory %s: %s", q->dir,
		    strerror(errno));
	qfile_discard(q);
	return 0;
fail:
	qfile_discard(q);
	return -1;
}

void
qfile_discard(struct qfile *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	if (q->tmp[0] != '\0')
		unlinkat(q->dirfd, q->tmp, 0);
	q->tmp[0] = '\0';
	free(q->buf);
	q->buf = NULL;
	q->blen = 0;
}

/* "X-Sender:" (1) or "X-Receiver:" (2) at the start of line, or 0. */
static int
envelope_field(const char *line, size_t len, size_t *value)
{
	static const char *const names[] = { "X-Sender:", "X-Receiver:" };
	size_t i, n;

	for (i = 0; i < 2; i++) {
		n = strlen(names[i]);
		if (len >= n && strncasecmp(line, names[i], n) == 0) {
			*value = n;
			return (int)i + 1;
		}
	}
	return 0;
}

static int
envelope_value(const char *p, size_t n, int field, struct qmsg *m,
    struct err *e)
{
	const char *what = field == 1 ? "X-Sender" : "X-Receiver";
	struct mailbox *mb;
	char v[ENV_LINE_MAX];

	if (n >= sizeof(v) || memchr(p, '\0', n) != NULL)
		return err_set(e, E_DATA, "%s: line too long or with a NUL "
		    "octet", what);
	memcpy(v, p, n);
	v[n] = '\0';
	if (field == 1) {
		if (m->sender.local != NULL)
			return err_set(e, E_DATA,
			    "more than one X-Sender line");
		mb = &m->sender;
		if (addr_parse(v, what, ADDR_ALLOW_NULL | ADDR_NO_NAME, mb,
		    e) < 0)
			return -1;
	} else {
		if (m->nrcpt == QUEUE_RCPT_MAX)
			return err_set(e, E_DATA, "more than %d X-Receiver "
			    "lines", QUEUE_RCPT_MAX);
		m->rcpt = xreallocarray(m->rcpt, m->nrcpt + 1,
		    sizeof(*m->rcpt));
		mb = &m->rcpt[m->nrcpt];
		if (addr_parse(v, what, ADDR_NO_NAME, mb, e) < 0)
			return -1;
		m->nrcpt++;
	}
	return 0;
}

int
qmsg_parse_envelope(const char *p, size_t n, struct qmsg *m, size_t *used,
    struct err *e)
{
	const char *line, *nl;
	size_t off = 0, len, vo;
	int field;

	for (;;) {
		line = p + off;
		nl = memchr(line, '\n', n - off);
		if (nl == NULL)
			break;
		len = (size_t)(nl - line);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if ((field = envelope_field(line, len, &vo)) == 0)
			break;
		while (vo < len && (line[vo] == ' ' || line[vo] == '\t'))
			vo++;
		while (len > vo && (line[len - 1] == ' ' ||
		    line[len - 1] == '\t'))
			len--;
		if (envelope_value(line + vo, len - vo, field, m, e) < 0)
			return -1;
		off = (size_t)(nl - p) + 1;
	}
	if (m->sender.local == NULL)
		return err_set(e, E_DATA, "not a queue file: no X-Sender line "
		    "at its start");
	if (m->nrcpt == 0)
		return err_set(e, E_DATA, "no X-Receiver line");
	if (off < n && (p[off] == ' ' || p[off] == '\t'))
		return err_set(e, E_DATA, "a folded envelope line");
	if (off >= n)
		return err_set(e, E_DATA, "no message after the envelope (or "
		    "an envelope over %d octets)", QUEUE_ENV_MAX);
	*used = off;
	return 0;
}

static int
read_failed(struct qmsg *m, ssize_t r, struct err *e)
{
	if (r == 0)
		return err_set(e, E_IOERR, "%s: the file became shorter while "
		    "being read", m->name);
	return err_set(e, E_IOERR, "%s: read error: %s", m->name,
	    strerror(errno));
}

static ssize_t
pread_some(int fd, char *p, size_t n, off_t at)
{
	ssize_t r;

	do
		r = pread(fd, p, n, at);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Where a pass over the message stands between two reads. */
struct scan_state {
	size_t cur;	/* octets in the line so far */
	int cr;		/* the last octet was a CR */
	int head;	/* still in the header */
};

/*
 * Count a block of the message the way smtp_data_write() sends it: CR
 * LF, a lone LF and a lone CR are each one line end, a CRLF on the wire.
 * The octets between line ends are taken a run at a time (memchr finds
 * the end, one OR over the run finds 8-bit octets): a queue flush reads
 * every message once here, so this loop is most of its own work.
 */
static void
scan_block(struct qmsg *m, const unsigned char *p, size_t n,
    struct scan_state *st)
{
	const unsigned char *end;
	unsigned char acc;
	size_t len, i;

	while (n > 0) {
		if (*p == '\r' || *p == '\n') {
			if (!(st->cr && *p == '\n')) {
				/* RFC 5322 section 2.1: an empty line ends the header. */
				if (st->cur == 0)
					st->head = 0;
				st->cur = 0;
				m->wire_size += 2;
			}
			st->cr = *p == '\r';
			p++;
			n--;
			continue;
		}
		st->cr = 0;
		end = memchr(p, '\n', n);
		len = end != NULL ? (size_t)(end - p) : n;
		if ((end = memchr(p, '\r', len)) != NULL)
			len = (size_t)(end - p);
		for (acc = 0, i = 0; i < len; i++)
			acc |= p[i];
		if (acc >= 0x80) {
			m->has_8bit = 1;
			m->head_8bit |= st->head;
		}
		m->wire_size += len;
		st->cur += len;
		if (st->cur > m->max_line)
			m->max_line = st->cur;
		p += len;
		n -= len;
	}
}

/* One pass over the message: what the session must know before MAIL. */
static int
scan(struct qmsg *m, struct err *e)
{
	struct scan_state st = { 0, 0, 1 };
	ssize_t r;
	off_t pos;

	for (pos = m->body_off; pos < m->size; pos += r) {
		r = pread_some(m->fd, m->chunk, (size_t)(m->size - pos) <
		    QUEUE_CHUNK ? (size_t)(m->size - pos) : QUEUE_CHUNK, pos);
		if (r <= 0)
			return read_failed(m, r, e);
		scan_block(m, (const unsigned char *)m->chunk, (size_t)r, &st);
	}
	/* smtp_data_end() ends an unfinished last line. */
	if (st.cur > 0)
		m->wire_size += 2;
	return 0;
}

static int
read_head(struct qmsg *m, struct err *e)
{
	size_t n = m->size < QUEUE_ENV_MAX ? (size_t)m->size : QUEUE_ENV_MAX;
	size_t got = 0, used = 0;
	char *head = xmalloc(n + 1);
	ssize_t r = 0;
	int rc = -1;

	while (got < n) {
		r = pread_some(m->fd, head + got, n - got, (off_t)got);
		if (r <= 0) {
			read_failed(m, r, e);
			goto out;
		}
		got += (size_t)r;
	}
	if (qmsg_parse_envelope(head, n, m, &used, e) < 0)
		goto out;
	m->body_off = (off_t)used;
	rc = 0;
out:
	free(head);
	return rc;
}

int
qmsg_open(struct qmsg *m, int dirfd, const char *name, struct err *e)
{
	struct stat st;

	memset(m, 0, sizeof(*m));
	m->name = xstrdup(name);
	m->fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (m->fd < 0)
		return err_set(e, errno == ENOENT ? E_NOINPUT : E_IOERR,
		    "%s: %s", name, strerror(errno));
	if (fstat(m->fd, &st) < 0)
		return err_set(e, E_IOERR, "%s: %s", name, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(e, E_DATA, "%s: not a regular file", name);
	m->size = st.st_size;
	m->mtime = st.st_mtim;
	m->chunk = xmalloc(QUEUE_CHUNK);
	if (read_head(m, e) < 0 || scan(m, e) < 0)
		return -1;
	qmsg_rewind(m);
	return 0;
}

void
qmsg_rewind(struct qmsg *m)
{
	m->pos = m->body_off;
}

int
qmsg_read(struct qmsg *m, const char **p, size_t *n, struct err *e)
{
	size_t want;
	ssize_t r;

	*n = 0;
	if (m->pos >= m->size)
		return 0;
	want = (size_t)(m->size - m->pos) < QUEUE_CHUNK ?
	    (size_t)(m->size - m->pos) : QUEUE_CHUNK;
	r = pread_some(m->fd, m->chunk, want, m->pos);
	if (r <= 0)
		return read_failed(m, r, e);
	m->pos += r;
	*p = m->chunk;
	*n = (size_t)r;
	return 0;
}

void
qmsg_close(struct qmsg *m)
{
	size_t i;

	if (m->fd >= 0)
		close(m->fd);
	mailbox_release(&m->sender);
	for (i = 0; i < m->nrcpt; i++)
		mailbox_release(&m->rcpt[i]);
	free(m->rcpt);
	free(m->chunk);
	free(m->name);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

int
queue_copy(struct qmsg *m, int dirfd, const char *dir,
    const struct mailbox *const *rcpt, size_t n, int keep_time, char *name,
    struct err *e)
{
	struct qfile q;
	const char *p;
	size_t len;

	if (qfile_create(&q, dirfd, dir, e) < 0)
		return -1;
	q.mtime = keep_time ? &m->mtime : NULL;
	if (qfile_envelope(&q, &m->sender, rcpt, n, e) < 0)
		goto fail;
	qmsg_rewind(m);
	for (;;) {
		if (qmsg_read(m, &p, &len, e) < 0)
			goto fail;
		if (len == 0)
			break;
		if (qfile_write(&q, p, len, e) < 0)
			goto fail;
	}
	if (qfile_commit(&q, e) < 0)
		return -1;
	snprintf(name, QUEUE_NAME_MAX, "%s", q.name);
	return 0;
fail:
	qfile_discard(&q);
	return -1;
}

int
queue_write_file(int dirfd, const char *dir, const char *name,
    const char *p, size_t n, struct err *e)
{
	char tmp[QUEUE_NAME_MAX + 16];
	ssize_t w;
	size_t off = 0;
	int fd, rc, saved;

	snprintf(tmp, sizeof(tmp), "%s%s", QUEUE_TMP_PREFIX, name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return err_set(e, E_CANTCREAT, "cannot create %s/%s: %s", dir,
		    tmp, strerror(errno));
	while (off < n) {
		w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		off += (size_t)w;
	}
	rc = off == n && fsync(fd) == 0 ? 0 : -1;
	saved = errno;
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		saved = errno;
	}
	if (rc == 0 && renameat(dirfd, tmp, dirfd, name) < 0) {
		rc = -1;
		saved = errno;
	}
	if (rc < 0) {
		unlinkat(dirfd, tmp, 0);
		return err_set(e, E_CANTCREAT, "cannot write %s/%s: %s", dir,
		    name, strerror(saved));
	}
	fsync(dirfd);
	return 0;
}
