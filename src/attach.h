/*
 * attach: the files that become MIME parts of their own (-a, --inline).
 * Each is opened and examined before any connection is made -- a missing,
 * unreadable or directory file stops the run there -- but its content is
 * not read until the message is sent, and then only a piece at a time,
 * so memory does not grow with its size (design.md section 3).  Content
 * that has no size to stat (a pipe, as from "-a <(command)", or a /proc
 * file) is captured first, like standard input.
 */
#ifndef SMTPSEND_ATTACH_H
#define SMTPSEND_ATTACH_H

#include <stddef.h>
#include <sys/types.h>

#include "mimetype.h"

struct deadline;
struct err;
struct spool;

#define ATTACH_NAME_MAX	255	/* octets of a file name, as NAME_MAX */

/* What the command line says about one part. */
struct attach_opt {
	const char *path;
	const char *type;	/* forced media type (with parameters) or NULL */
	const char *name;	/* forced file name or NULL */
	int is_inline;		/* --inline: related to the HTML, with an ID */
};

struct attach {
	const char *path;	/* as given, for messages */
	char *name;		/* the name the reader sees (UTF-8) */
	char *type;		/* media type and parameters, ASCII */
	int is_inline;
	int fd;			/* the open file, or -1 when captured */
	struct spool *sp;	/* captured content, or NULL */
	unsigned long long size;	/* octets that will be sent */
	unsigned long long pos;		/* next octet to read */
};

/*
 * Open and examine one part.  Errors: E_NOINPUT (cannot open or read, a
 * directory), E_DATA (a name with control characters or invalid UTF-8),
 * E_USAGE (an --inline name that cannot be a Content-ID), E_TEMPFAIL
 * (capturing a pipe ran out of time).
 */
int attach_open(struct attach *a, const struct attach_opt *o,
    struct deadline *dl, struct err *e);
/* Read from the start again. */
void attach_rewind(struct attach *a);
/*
 * Read the next piece into p (at most n octets; fewer only at the end):
 * *got == 0 at the end.  A file that has shrunk since it was opened is
 * E_IOERR, as is a read error: the message must not be completed.
 */
int attach_read(struct attach *a, void *p, size_t n, size_t *got,
    struct err *e);
void attach_close(struct attach *a);

#endif
