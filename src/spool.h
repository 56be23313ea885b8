/*
 * spool: captures an input (standard input or a body file) completely
 * before any connection is made -- in memory up to SPOOL_MEM_MAX, beyond
 * that in an unlinked temporary file -- and learns what the encoder needs
 * to know on the way: 8-bit bytes, NULs, lone CRs, UTF-8 validity and the
 * longest line.  Reading a pipe or terminal is bounded by the deadline.
 */
#ifndef SMTPSEND_SPOOL_H
#define SMTPSEND_SPOOL_H

#include <stddef.h>
#include <sys/types.h>

struct deadline;
struct err;

#define SPOOL_MEM_MAX	(1024 * 1024)
#define SPOOL_CHUNK	65536

struct spool_info {
	unsigned long long size;	/* bytes captured */
	/*
	 * Octets once every line end (CRLF, LF or a lone CR) is CRLF and a
	 * missing final line end is added: what the SMTP data writer
	 * sends, before dot-stuffing (the RFC 1870 message size).
	 */
	unsigned long long wire_size;
	unsigned long long lines;
	size_t max_line;		/* longest line, line end excluded */
	int has_8bit;			/* any byte >= 0x80 */
	int has_nul;
	int has_lone_cr;		/* CR not followed by LF */
	int utf8_ok;			/* valid UTF-8 throughout */
};

struct spool {
	char *mem;		/* captured bytes while in memory */
	size_t memlen;
	int fd;			/* spill file, or -1 */
	off_t rpos;		/* read position in the spill file */
	char *chunk;		/* read buffer for the spill file */
	struct spool_info info;
	/* scanner state carried across reads */
	size_t cur_line;
	int last_cr;
	int u8_need;		/* continuation bytes still expected */
	unsigned char u8_lo, u8_hi;	/* range for the next one */
};

/*
 * Capture everything readable from fd.  what names it in messages.
 * Errors: E_NOINPUT/E_IOERR (read failed), E_IOERR (spill file),
 * E_TEMPFAIL (deadline).
 */
int spool_capture(struct spool *sp, int fd, const char *what,
    struct deadline *dl, struct err *e);
/*
 * Fill a spool from memory instead: spool_init, spool_add for each piece
 * (scanned as spool_capture does), spool_end.  Errors: E_IOERR (spill
 * file).
 */
void spool_init(struct spool *sp);
int spool_add(struct spool *sp, const char *p, size_t n, struct err *e);
int spool_end(struct spool *sp, struct err *e);
/* Start reading from the beginning again. */
int spool_rewind(struct spool *sp, struct err *e);
/* Continue reading at octet off (at most the size).  E_SOFTWARE. */
int spool_seek(struct spool *sp, unsigned long long off, struct err *e);
/* Next piece of the content; *n == 0 at the end. */
int spool_read(struct spool *sp, const char **p, size_t *n, struct err *e);
/* Scan the content from octet off on, as capture did for all of it. */
int spool_scan_from(struct spool *sp, unsigned long long off,
    struct spool_info *info, struct err *e);
void spool_release(struct spool *sp);

#endif
