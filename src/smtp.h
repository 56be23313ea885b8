/*
 * smtp: SMTP primitives over a conn (RFC 5321).  Commands are queued and
 * leave when the caller flushes (so a pipelined group is one write);
 * replies are read whole, bounded and validated; the EHLO reply becomes a
 * capability set; message data goes through a byte-level writer that
 * produces CRLF line ends and exact dot-stuffing whatever it is given.
 * This module never decides policy: it reports codes and the session
 * decides.
 */
#ifndef SMTPSEND_SMTP_H
#define SMTPSEND_SMTP_H

#include <stddef.h>

#include "buf.h"

struct conn;
struct err;

#define SMTP_LINE_MAX		2048	/* one reply line, with CRLF */
#define SMTP_REPLY_MAX_LINES	100
#define SMTP_REPLY_MAX_TEXT	65536
#define SMTP_TEXT_LINE_MAX	998	/* RFC 5321 section 4.5.3.1.6 */

enum smtp_cap_flags {
	CAP_STARTTLS = 1 << 0,
	CAP_PIPELINING = 1 << 1,
	CAP_8BITMIME = 1 << 2,
	CAP_SMTPUTF8 = 1 << 3,
	CAP_SIZE = 1 << 4,
	CAP_AUTH = 1 << 5,
	CAP_ENHANCEDSTATUSCODES = 1 << 6,
	CAP_DSN = 1 << 7,
	CAP_CHUNKING = 1 << 8,
	CAP_BINARYMIME = 1 << 9,
	CAP_REQUIRETLS = 1 << 10,
};

struct smtp_caps {
	unsigned flags;
	/* SIZE parameter (the smallest, if repeated); 0 = no stated limit */
	unsigned long long size_max;
	char auth[512];			/* mechanisms, space separated */
};

struct smtp_reply {
	int code;		/* 200..599 */
	char status[16];	/* enhanced status code ("5.1.1") or "" */
	size_t nlines;
	struct buf text;	/* lines without codes, joined by '\n' */
};

struct smtp {
	struct conn *conn;
	struct smtp_caps caps;
};

/* Queue a command line (CRLF added); it is sent by smtp_flush(). */
int smtp_cmd(struct smtp *s, struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Queue shown followed by secret (len bytes, no CR or LF) and CRLF; the
 * -v transcript shows shown and "<redacted>" (or just "<redacted>" when
 * shown is empty).  For AUTH initial responses and SASL responses, which
 * may be longer than a command line (RFC 4954 section 4: 12288 octets
 * and beyond).  Errors: E_SOFTWARE (line break in secret), E_TEMPFAIL.
 */
int smtp_cmd_secret(struct smtp *s, const char *shown, const char *secret,
    size_t len, struct err *e);
int smtp_flush(struct smtp *s, struct err *e);
void smtp_reply_init(struct smtp_reply *r);
void smtp_reply_release(struct smtp_reply *r);
/*
 * Read one complete reply.  Errors: E_PROTOCOL (malformed, over-long,
 * too many lines, codes that disagree), E_TEMPFAIL (closed, timeout).
 */
int smtp_read_reply(struct smtp *s, struct smtp_reply *r, struct err *e);
/*
 * Parse one reply line: returns the code and sets *last (this is the
 * final line) and *text; -1 when the line is not a valid reply line.
 */
int smtp_parse_line(const char *line, size_t len, int *last,
    const char **text);
/* Fill caps from an EHLO reply (previous capabilities are forgotten). */
void smtp_parse_ehlo(struct smtp_caps *caps, const struct smtp_reply *r);
/* "550 5.1.1 no such user" -- one printable line, for messages. */
const char *smtp_reply_summary(const struct smtp_reply *r, char *buf,
    size_t size);

/*
 * A few words saying what an enhanced status code ("5.1.1") means, from
 * the RFC 3463 registry; NULL for a code it does not know.  Static text.
 */
const char *smtp_status_text(const char *status);
/*
 * Parameter encodings, appended to b; -1 when b would pass its cap.
 * smtp_xtext: RFC 3461 section 4 xtext (ENVID, ORCPT of type rfc822).
 * smtp_unitext: RFC 6533 utf-8-addr-unitext (ORCPT of type utf-8, only
 * in a transaction that uses SMTPUTF8).
 */
int smtp_xtext(struct buf *b, const char *s);
int smtp_unitext(struct buf *b, const char *s);

/* Message data writer (after the 354 reply). */
struct smtp_data {
	int at_bol;		/* at the start of a line */
	int pending_cr;		/* a CR waiting to see if LF follows */
	size_t col;		/* octets on the current line */
	unsigned long long octets;	/* message octets sent, CRLF counted,
					   dot-stuffing not (RFC 1870) */
};

void smtp_data_init(struct smtp_data *d);
/*
 * Send message bytes: any of CRLF, LF or a lone CR ends a line and leaves
 * as CRLF; a '.' starting a line is doubled (RFC 5321 section 4.5.2).
 * A line over 998 octets is refused with E_DATA.
 */
int smtp_data_write(struct smtp *s, struct smtp_data *d, const char *p,
    size_t n, struct err *e);
/* Finish the last line, send "." and flush. */
int smtp_data_end(struct smtp *s, struct smtp_data *d, struct err *e);
/* The same without the flush, so that a command may follow in the write. */
int smtp_data_finish(struct smtp *s, struct smtp_data *d, struct err *e);


/*
 * BDAT chunk writer (RFC 3030).  Message bytes are gathered, line ends
 * made CRLF (the same rules as smtp_data_write(), without dot-stuffing,
 * which BDAT does not use), into a chunk of up to SMTP_CHUNK_MAX octets;
 * smtp_chunk_queue() then queues "BDAT n" and the chunk behind any
 * commands already queued, so a small message leaves in the same write
 * as its MAIL and RCPT commands.  The content of a binary MIME part
 * (BODY=BINARYMIME) goes in through smtp_chunk_add_raw() instead, octet
 * for octet.
 */
#define SMTP_CHUNK_MAX	(1024 * 1024)

struct smtp_chunk {
	char *mem;		/* room for the command line, then data */
	size_t len;		/* data octets held */
	int at_bol;
	int pending_cr;
	size_t col;
	unsigned long long total;	/* data octets queued so far */
	unsigned nqueued;		/* BDAT commands queued so far */
};

void smtp_chunk_init(struct smtp_chunk *c);
void smtp_chunk_free(struct smtp_chunk *c);
/*
 * Take message bytes from p; returns how many of the n were taken (fewer
 * when the chunk filled up: queue it and offer the rest again), or -1
 * with E_DATA for a line over 998 octets.
 */
long smtp_chunk_add(struct smtp_chunk *c, const char *p, size_t n,
    struct err *e);
/*
 * Take octets from p exactly as they are: no line-end conversion and no
 * line length limit (RFC 3030 section 3, the content of a binary part).
 * A line end still pending from smtp_chunk_add() is completed first, and
 * the octets that follow start a new line.  Returns how many of the n
 * were taken, as smtp_chunk_add() does.
 */
size_t smtp_chunk_add_raw(struct smtp_chunk *c, const char *p, size_t n);
/* True when the chunk cannot take another octet. */
int smtp_chunk_full(const struct smtp_chunk *c);
/*
 * Queue "BDAT n" (or "BDAT n LAST", after finishing an unterminated last
 * line) and the chunk's data; nothing is flushed.  The chunk is empty
 * afterwards.
 */
int smtp_chunk_queue(struct smtp *s, struct smtp_chunk *c, int last,
    struct err *e);

#endif
