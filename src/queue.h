/*
 * queue: message files in the pickup format (design.md section 6), the
 * layout of the .NET SmtpClient / IIS pickup directory, so that other
 * tools can pick them up too:
 *
 *     X-Sender: jane@example.com                (or "<>": null sender)
 *     X-Receiver: bob@example.com               (one line per recipient)
 *     X-Receiver: carol@example.com
 *     Date: ...                                 (the message itself)
 *
 * Every line ends in CRLF; the message is as it goes on the wire, before
 * dot-stuffing.  Writing is atomic: a ".tmp-" name in the same directory,
 * fsync, rename to its final "NAME.eml", fsync of the directory.  A crash
 * or a full disk leaves at most a ".tmp-" file, never a partial message
 * under a final name.  Reading gives the envelope, then the message bytes
 * through a msg_read()-style pull interface.  No network here.
 */
#ifndef SMTPSEND_QUEUE_H
#define SMTPSEND_QUEUE_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "addr.h"

struct err;

#define QUEUE_SUFFIX	".eml"
#define QUEUE_TMP_PREFIX ".tmp-"
#define QUEUE_NAME_MAX	96
#define QUEUE_ENV_MAX	(1024 * 1024)	/* envelope block, octets */
#define QUEUE_RCPT_MAX	10000
#define QUEUE_CHUNK	65536

/*
 * Open (creating it with mode 0700 when it does not exist, but not its
 * parents) a queue or pickup directory for writing.  Returns a directory
 * descriptor.  Errors: E_CANTCREAT (missing, not a directory, not
 * writable).
 */
int queue_dir_open(const char *dir, const char *what, struct err *e);

/* A file being written. */
struct qfile {
	int dirfd;
	int fd;
	const char *dir;		/* for messages */
	char tmp[QUEUE_NAME_MAX + 8];	/* ".tmp-NAME.eml" */
	char name[QUEUE_NAME_MAX];	/* "NAME.eml" */
	int pending_cr;			/* line-end normaliser state */
	char *buf;			/* write buffer (QUEUE_CHUNK) */
	size_t blen;
	unsigned long long size;	/* octets written so far */
	const struct timespec *mtime;	/* give the file this time */
};

/*
 * Start a new file in dirfd (dir names it in messages) under a fresh
 * unique name (time, process, random: names sort oldest first).
 * Errors: E_CANTCREAT.
 */
int qfile_create(struct qfile *q, int dirfd, const char *dir,
    struct err *e);
/* The X-Sender and X-Receiver lines.  Errors: E_CANTCREAT. */
int qfile_envelope(struct qfile *q, const struct mailbox *sender,
    const struct mailbox *const *rcpt, size_t n, struct err *e);
/*
 * Message bytes; LF, CRLF and a lone CR all become CRLF.  Errors:
 * E_CANTCREAT (disk full, I/O error).
 */
int qfile_write(struct qfile *q, const char *p, size_t n, struct err *e);
/*
 * Make the file durable and give it its final name.  On failure the
 * temporary file is removed.  Errors: E_CANTCREAT.
 */
int qfile_commit(struct qfile *q, struct err *e);
/* Remove the temporary file (any time before or instead of commit). */
void qfile_discard(struct qfile *q);
/*
 * Write out what is buffered, so that the temporary file can be read
 * back (by its name q->tmp) before it is committed.  Errors: E_CANTCREAT.
 */
int qfile_flush(struct qfile *q, struct err *e);

/* A queued file being read. */
struct qmsg {
	int fd;
	char *name;		/* file name, for messages */
	struct mailbox sender;
	struct mailbox *rcpt;
	size_t nrcpt;
	off_t body_off;		/* where the message starts */
	off_t size;		/* file size when opened */
	struct timespec mtime;	/* when it was queued (kept on rewrite) */
	int has_8bit;		/* the message has octets >= 0x80 */
	int head_8bit;		/* ... in its header section (RFC 6532) */
	size_t max_line;	/* longest line, line end excluded */
	unsigned long long wire_size;	/* octets on the wire, every line
					   end a CRLF, before dot-stuffing */
	off_t pos;
	char *chunk;
};

/*
 * Open dir/name, read its envelope and scan the message once (8-bit
 * octets, longest line, size on the wire).  Errors: E_DATA (not in the pickup format),
 * E_NOINPUT (gone), E_IOERR (read error).
 */
int qmsg_open(struct qmsg *m, int dirfd, const char *name, struct err *e);
/*
 * Parse the envelope block at the start of p (n octets available, the
 * whole file or its first QUEUE_ENV_MAX octets) into m->sender and
 * m->rcpt; *used is the offset of the message.  Errors: E_DATA.
 */
int qmsg_parse_envelope(const char *p, size_t n, struct qmsg *m,
    size_t *used, struct err *e);
/* Read the message from its start again. */
void qmsg_rewind(struct qmsg *m);
/*
 * Next piece of the message (*n == 0 at the end).  Errors: E_IOERR (read
 * error, or the file became shorter while being sent).
 */
int qmsg_read(struct qmsg *m, const char **p, size_t *n, struct err *e);
void qmsg_close(struct qmsg *m);

/*
 * A new queue file in dirfd holding m's message for the n recipients
 * rcpt only (what is left of a partly delivered message).  With
 * keep_time it keeps m's time, so that --max-age still counts from the
 * first queueing.  The new name goes to name (QUEUE_NAME_MAX).  Errors:
 * E_CANTCREAT, E_IOERR.
 */
int queue_copy(struct qmsg *m, int dirfd, const char *dir,
    const struct mailbox *const *rcpt, size_t n, int keep_time, char *name,
    struct err *e);
/*
 * Atomically create or replace dirfd/name with the n octets at p (for the
 * reason files beside failed messages).  Errors: E_CANTCREAT.
 */
int queue_write_file(int dirfd, const char *dir, const char *name,
    const char *p, size_t n, struct err *e);

#endif
