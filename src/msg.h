/*
 * msg: composes the Internet message (RFC 5322 + MIME, RFC 2045-2047)
 * from the parsed options and the captured body, and hands it out as a
 * pull source in pieces: first the header block, then the encoded body.
 * It never writes Bcc.  It knows nothing of the network.
 */
#ifndef SMTPSEND_MSG_H
#define SMTPSEND_MSG_H

#include <stddef.h>

#include "buf.h"
#include "encode.h"

struct err;
struct mailbox;
struct spool;

enum body_enc { ENC_7BIT, ENC_8BIT, ENC_QP };

struct msg_spec {
	const struct mailbox *from;
	const struct mailbox *to;
	size_t nto;
	const struct mailbox *cc;
	size_t ncc;
	const char *subject;		/* UTF-8 or NULL */
	const char *id_domain;		/* right side of Message-ID */
	/*
	 * RFC 6532: addresses with U-label domains and UTF-8 header text
	 * as it is, for a transaction that uses SMTPUTF8 (or --print of a
	 * message that needs it).  0: A-labels and RFC 2047 only.
	 */
	int utf8_headers;
};

struct msg {
	struct buf head;	/* the header block, ending in a blank line */
	size_t head_pos;
	struct spool *body;
	enum body_enc enc;
	int body_done;
	struct qp qp;
	struct buf qpbuf;	/* encoded output of one body piece */
	const char *qp_in;	/* captured data not yet encoded (QP) */
	size_t qp_left;
};

/*
 * Choose the body's transfer encoding (design section 3): 7bit for ASCII
 * with short lines, 8bit for valid UTF-8 when the server takes 8BITMIME,
 * quoted-printable otherwise.
 */
enum body_enc msg_choose_encoding(const struct spool *body, int can_8bit);
const char *msg_enc_name(enum body_enc enc);
/* Build the header block.  Errors: E_DATA (header too large). */
int msg_open(struct msg *m, const struct msg_spec *spec, struct spool *body,
    enum body_enc enc, struct err *e);
/* Next piece of the message; *n == 0 at the end. */
int msg_read(struct msg *m, const char **p, size_t *n, struct err *e);
/*
 * The exact size of the message on the wire in octets, every line ending
 * in CRLF, without dot-stuffing: the RFC 1870 SIZE value.  Call after
 * msg_open() and before the first msg_read().  A quoted-printable body is
 * encoded once to count it; other bodies are counted when captured.
 * Errors: E_IOERR (reading back the captured input), E_SOFTWARE.
 */
int msg_size(struct msg *m, unsigned long long *size, struct err *e);
/*
 * A lower bound of msg_size(), at no cost: exact unless the body is
 * quoted-printable, which never makes anything shorter.  Lets a message
 * far over a server's SIZE limit be refused without encoding it.
 */
unsigned long long msg_size_floor(const struct msg *m);
/* True when the message has octets over 127 (needs 8BITMIME/SMTPUTF8). */
int msg_is_8bit(const struct msg *m);
void msg_close(struct msg *m);
/* RFC 5322 date-time in English whatever the locale. */
void msg_date(char *buf, size_t size);

#endif
