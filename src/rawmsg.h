/*
 * rawmsg: a complete message given on standard input (--raw, -t).  Its
 * header section is read, with a bound, and split into fields, so that
 * smtpsend can keep every field as written except Bcc (which never
 * leaves: RFC 5322 section 3.6.3 lets the sender drop it, and a blind
 * copy that names its blind recipients is no blind copy), learn what it
 * must add (Date, Message-ID, From), find the recipients for -t, and tell
 * whether the body could be re-encoded for a server without 8BITMIME.
 * The body itself stays in the spool.  No I/O besides reading the spool.
 */
#ifndef SMTPSEND_RAWMSG_H
#define SMTPSEND_RAWMSG_H

#include <stddef.h>

#include "buf.h"
#include "spool.h"

struct err;
struct mailbox;

#define RAWMSG_HEAD_MAX	(1024 * 1024)

struct raw_field {
	size_t off, len;	/* in head, the final "\n" included */
	size_t name_len;	/* octets before the ':' */
};

struct rawmsg {
	struct buf head;	/* the fields, every line ending in "\n" */
	struct raw_field *fields;
	size_t nfields;
	unsigned long long body_off;	/* first octet of the body */
	struct spool_info body;		/* the body's own scan */
	int head_8bit;		/* 8-bit octets in the header section */
	size_t head_max_line;
	int has_date, has_msgid, has_from, has_mime, has_type;
	/*
	 * A single part (no multipart or message type) whose transfer
	 * encoding is the identity (none, 7bit, 8bit, binary): its body can
	 * be turned into quoted-printable and the field replaced.
	 */
	int recodable;
};

/*
 * Parse the header section of the message in sp.  A leading mbox
 * "From " line is skipped.  Errors: E_DATA (not a message, a header
 * section over RAWMSG_HEAD_MAX, a bare CR in it), E_IOERR.  After an
 * error there is nothing to release.
 */
int rawmsg_parse(struct rawmsg *r, struct spool *sp, struct err *e);
/*
 * Replace the header section with the one in head ("Name: value\n"
 * lines, as rewrite.h writes them), which r takes over, leaving head
 * empty, and split it into fields again.  Errors: E_DATA (a line that is
 * not a field).
 */
int rawmsg_set_head(struct rawmsg *r, struct buf *head, struct err *e);
/* Is field i named name (case-insensitive)? */
int rawmsg_is(const struct rawmsg *r, size_t i, const char *name);
/*
 * Append the addresses of every To, Cc and Bcc field to *v (*n entries),
 * display names, comments and groups set aside.  Errors: E_DATA (an
 * address that is not valid, naming the field).
 */
int rawmsg_recipients(const struct rawmsg *r, struct mailbox **v,
    size_t *n, struct err *e);
/* The first address of the From field, if there is one that parses. */
int rawmsg_from(const struct rawmsg *r, struct mailbox *mb);
void rawmsg_release(struct rawmsg *r);

#endif
