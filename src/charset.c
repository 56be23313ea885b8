/* Character set conversion of text bodies: see charset.h. */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "charset.h"
#include "err.h"
#include "spool.h"
#include "xmalloc.h"

#define CONV_OUT	65536
#define CONV_SLICE	65536
#define CARRY_MAX	32	/* longest incomplete multibyte sequence kept */

int
charset_name_ok(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' &&
		    name[i] <= 'Z') || (name[i] >= '0' && name[i] <= '9') ||
		    strchr("!#$%&'+-^_`{}~", name[i]) != NULL))
			return 0;
	return i > 0 && i <= 40;
}

int
charset_is_utf8(const char *name)
{
	return strcasecmp(name, "utf-8") == 0 || strcasecmp(name, "utf8") ==
	    0 || strcasecmp(name, "us-ascii") == 0 || strcasecmp(name,
	    "ascii") == 0;
}

struct conv {
	iconv_t cd;
	struct spool *out;
	char carry[CARRY_MAX];	/* an incomplete sequence from the last piece */
	size_t ncarry;
	char *in;		/* carry and one slice of the source */
	char *buf;		/* converted output */
};

/*
 * Convert in[0..n) and store the result.  Returns 1 when the input is
 * invalid, 0 when it was taken (an incomplete sequence at its end is kept
 * for the next piece), -1 on a storage error.
 */
static int
conv_piece(struct conv *c, char *in, size_t n, struct err *e)
{
	char *op;
	size_t r, ol;

	while (n > 0) {
		op = c->buf;
		ol = CONV_OUT;
		r = iconv(c->cd, &in, &n, &op, &ol);
		if (op > c->buf && spool_add(c->out, c->buf,
		    (size_t)(op - c->buf), e) < 0)
			return -1;
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		if (errno == EINVAL && n < CARRY_MAX) {
			memcpy(c->carry, in, n);
			c->ncarry = n;
			return 0;
		}
		return 1;
	}
	c->ncarry = 0;
	return 0;
}

/* Feed one piece of the source, after what the last one left over. */
static int
conv_feed(struct conv *c, const char *p, size_t n, struct err *e)
{
	size_t k, len;
	int rc;

	while (n > 0) {
		k = n < CONV_SLICE ? n : CONV_SLICE;
		memcpy(c->in, c->carry, c->ncarry);
		memcpy(c->in + c->ncarry, p, k);
		len = c->ncarry + k;
		c->ncarry = 0;
		if ((rc = conv_piece(c, c->in, len, e)) != 0)
			return rc;
		p += k;
		n -= k;
	}
	return 0;
}

/* The whole source; 1 when it is not valid in its character set. */
static int
conv_all(struct conv *c, struct spool *sp, struct err *e)
{
	const char *p;
	char *op = c->buf;
	size_t n, ol = CONV_OUT;
	int rc;

	if (spool_rewind(sp, e) < 0)
		return -1;
	for (;;) {
		if (spool_read(sp, &p, &n, e) < 0)
			return -1;
		if (n == 0)
			break;
		if ((rc = conv_feed(c, p, n, e)) != 0)
			return rc;
	}
	if (c->ncarry > 0)
		return 1;	/* the text ends inside a character */
	/* Stateful sets (ISO-2022-JP) may need a final shift sequence. */
	if (iconv(c->cd, NULL, NULL, &op, &ol) == (size_t)-1)
		return 1;
	if (op > c->buf && spool_add(c->out, c->buf, (size_t)(op - c->buf),
	    e) < 0)
		return -1;
	return spool_end(c->out, e);
}

int
charset_to_utf8(struct spool *sp, const char *name, struct err *e)
{
	struct conv c;
	struct spool *out;
	int rc;

	memset(&c, 0, sizeof(c));
	c.cd = iconv_open("UTF-8", name);
	if (c.cd == (iconv_t)-1)
		return 0;
	out = xmalloc(sizeof(*out));
	spool_init(out);
	c.out = out;
	c.buf = xmalloc(CONV_OUT);
	c.in = xmalloc(CARRY_MAX + CONV_SLICE);
	rc = conv_all(&c, sp, e);
	if (rc == 0) {
		spool_release(sp);
		*sp = *out;
		rc = 1;
	} else {
		spool_release(out);
		if (rc > 0)
			rc = 0;
		if (rc == 0 && spool_rewind(sp, e) < 0)
			rc = -1;
	}
	free(out);
	free(c.buf);
	free(c.in);
	iconv_close(c.cd);
	return rc;
}
