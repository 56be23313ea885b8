/*
 * buf: a growable byte buffer with a hard cap.  Appending past the cap
 * fails (returns -1) instead of growing, so a peer or an input can never
 * make smtpsend allocate without bound.  The contents are always followed
 * by a NUL byte that is not counted in len, so text can be used as a C
 * string.
 */
#ifndef SMTPSEND_BUF_H
#define SMTPSEND_BUF_H

#include <stddef.h>

struct buf {
	char *data;	/* NUL-terminated; NULL until the first append */
	size_t len;	/* bytes used, not counting the NUL */
	size_t cap;	/* bytes allocated */
	size_t max;	/* hard limit on len */
};

void buf_init(struct buf *b, size_t max);
/* Append; return 0, or -1 when the result would exceed max. */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_clear(struct buf *b);
/* Overwrite the contents with zeros and free them (for secrets). */
void buf_wipe(struct buf *b);
void buf_release(struct buf *b);
/* Hand the contents to the caller (never NULL) and reset the buffer. */
char *buf_detach(struct buf *b);

#endif
