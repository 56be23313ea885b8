/*
 * msg: composes the Internet message (RFC 5322 + MIME, RFC 2045-2047,
 * RFC 2231, RFC 2387) from the parsed options, the captured body and the
 * opened attachments, and hands it out as a pull source in pieces: the
 * header block, then each part's headers and encoded content in turn.
 * Attachments are read and base64-encoded a piece at a time while the
 * message is sent, so memory does not depend on their size; for a
 * transaction with BODY=BINARYMIME (RFC 3030) they may instead go as
 * they are, Content-Transfer-Encoding binary.  It never writes Bcc.  It
 * knows nothing of the network.
 *
 * Structure (no multipart wrapper when there is only a plain body):
 *
 *   multipart/mixed                       when there are attachments
 *     multipart/alternative               when there is --html
 *       text/plain                        the body (left out when empty)
 *       multipart/related                 when there are --inline parts
 *         text/html
 *         inline parts (Content-ID)
 *     attachments
 *
 * With whole-message input (--raw, -t) the message is the user's: its
 * fields are kept (Bcc dropped), Date and Message-ID added when missing.
 */
#ifndef SMTPSEND_MSG_H
#define SMTPSEND_MSG_H

#include <stddef.h>

#include "buf.h"
#include "encode.h"

struct attach;
struct err;
struct mailbox;
struct rawmsg;
struct spool;

enum body_enc { ENC_7BIT, ENC_8BIT, ENC_QP };

enum msg_priority { PRIO_UNSET, PRIO_HIGH, PRIO_NORMAL, PRIO_LOW };

struct msg_spec {
	const struct mailbox *from;
	const struct mailbox *to;
	size_t nto;
	const struct mailbox *cc;
	size_t ncc;
	const struct mailbox *reply_to;
	size_t nreply_to;
	const char *subject;		/* UTF-8 or NULL */
	const char *id_domain;		/* right side of Message-ID */
	struct spool *body;		/* the text body */
	const char *body_charset;	/* its label; NULL: utf-8 or, for
					   invalid UTF-8, unknown-8bit */
	struct spool *html;		/* --html content, or NULL */
	const char *html_charset;	/* as body_charset */
	struct attach *parts;		/* inline parts and attachments */
	size_t nparts;
	const char *const *headers;	/* -H "Name: value", checked by cli */
	size_t nheaders;
	enum msg_priority priority;
	const struct rawmsg *raw;	/* whole-message input, or NULL */
	/*
	 * RFC 6532: addresses with U-label domains and UTF-8 header text
	 * as it is, for a transaction that uses SMTPUTF8 (or --print of a
	 * message that needs it).  0: A-labels and RFC 2047 only.
	 */
	int utf8_headers;
	/*
	 * RFC 3030 section 3: attachments and inline parts go as they are
	 * (Content-Transfer-Encoding: binary), for a transaction that
	 * declares BODY=BINARYMIME and sends the message in BDAT chunks.
	 * 0: base64.  Text parts and whole-message input are not affected.
	 */
	int binary_parts;
};

enum msg_item_kind { ITEM_TEXT, ITEM_SPOOL, ITEM_FILE };

/*
 * One piece of an attachment: 1152 base64 lines.  A text body is encoded
 * MSG_QP_SLICE octets at a time; quoted-printable at most triples them.
 */
#define MSG_FILE_CHUNK	(B64_LINE_IN * 1152)
#define MSG_QP_SLICE	16384
#define MSG_OUT_MAX	(4 * MSG_QP_SLICE)

/* One stretch of the message: generated text, a text body, or a file. */
struct msg_item {
	enum msg_item_kind kind;
	size_t off, len;		/* ITEM_TEXT: range of msg.text */
	size_t lines;			/* ITEM_TEXT: line ends in it */
	struct spool *sp;		/* ITEM_SPOOL */
	unsigned long long from;	/* ITEM_SPOOL: first octet */
	enum body_enc enc;		/* ITEM_SPOOL */
	struct attach *att;		/* ITEM_FILE */
	int binary;			/* ITEM_FILE: as it is, not base64 */
};

struct msg {
	struct buf text;	/* every header block and boundary line */
	size_t mark;		/* text not yet covered by an item */
	struct msg_item *items;
	size_t nitems;
	int eightbit;		/* 8-bit content: BODY=8BITMIME needed */
	int binary;		/* binary parts: BODY=BINARYMIME needed */
	enum body_enc body_enc;	/* how the text body (or raw body) goes */
	/* reading state */
	size_t cur;		/* current item */
	int started;		/* the current item has begun */
	int finished;		/* ... and produced its last piece */
	size_t pos;		/* ITEM_TEXT: octets handed out */
	const char *pend;	/* ITEM_SPOOL/QP: input not yet encoded */
	size_t npend;
	struct qp qp;
	char *in;		/* file octets of one piece */
	char *b64;		/* ... and their base64 lines */
	struct buf out;		/* a quoted-printable piece */
};

/*
 * Choose a text part's transfer encoding (design section 3): 7bit for
 * ASCII with short lines, 8bit for valid UTF-8 when the server takes
 * 8BITMIME, quoted-printable otherwise.
 */
enum body_enc msg_choose_encoding(const struct spool *body, int can_8bit);
const char *msg_enc_name(enum body_enc enc);
/*
 * Build the message's structure and headers for a server that does
 * (can_8bit) or does not take 8-bit data.  Errors: E_DATA (a header block
 * too large; whole-message input that cannot be sent as it is, such as
 * 8-bit header fields to a server without 8BITMIME), E_IOERR.
 */
int msg_open(struct msg *m, const struct msg_spec *spec, int can_8bit,
    struct err *e);
/*
 * Does the message carry 8-bit data (MAIL FROM needs BODY=8BITMIME, or
 * SMTPUTF8 for UTF-8 header fields)?  Binary parts do not count here.
 */
int msg_is_8bit(const struct msg *m);
/*
 * Does the message have binary parts (msg_spec.binary_parts and at least
 * one attachment or inline part)?  MAIL FROM then needs BODY=BINARYMIME
 * and the message can only go in BDAT chunks (RFC 3030 section 3).
 */
int msg_is_binary(const struct msg *m);
/* The transfer encoding chosen for the text body (for messages, -v). */
enum body_enc msg_body_encoding(const struct msg *m);
/*
 * The exact size of the message on the wire, in octets with CRLF line
 * ends, before dot-stuffing (RFC 1870 section 3): what SIZE= declares.
 * Attachments are not read (their base64 size follows from their size,
 * and a binary part is its size);
 * a quoted-printable body is encoded once to count it.  Call it before
 * the first msg_read(): it leaves the message positioned at its start.
 */
int msg_size(struct msg *m, unsigned long long *size, struct err *e);
/*
 * A lower bound of msg_size() at no cost, nothing read or encoded: exact
 * for header blocks and attachments, text bodies counted by their
 * captured size (their line ends and quoted-printable only add to it).
 * Lets a message far over a server's SIZE limit be refused at once.
 */
unsigned long long msg_size_floor(const struct msg *m);
/*
 * Next piece of the message; *n == 0 at the end.  Lines end in "\n",
 * except in the content of a binary part (msg_piece_binary()).  Errors:
 * E_IOERR (an attachment could not be read, or shrank: the message must
 * not be completed), E_SOFTWARE.
 */
int msg_read(struct msg *m, const char **p, size_t *n, struct err *e);
/*
 * Is the piece msg_read() handed out last the content of a binary part?
 * Its octets are the file's and must reach the server exactly so: no
 * line-end conversion, no line length limit, no dot-stuffing.  The text
 * before such a piece ends with a line end, and the text after it
 * starts with one (the boundary delimiter's CRLF).
 */
int msg_piece_binary(const struct msg *m);
void msg_close(struct msg *m);
/*
 * Is the field called name[0..n) a list of addresses (Sender, Resent-To,
 * ...), which a -H value must then parse as?
 */
int msg_is_address_field(const char *name, size_t n);
/* Build and discard the message: every check that needs no server. */
int msg_check(const struct msg_spec *spec, struct err *e);
/* RFC 5322 date-time in English whatever the locale. */
void msg_date(char *buf, size_t size);

#endif
