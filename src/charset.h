/*
 * charset: --charset.  Text is UTF-8 unless the user says otherwise.
 * Text in another character set is converted to UTF-8 with iconv(3) when
 * the C library knows the set and the text is valid in it, so that every
 * reader can show it; otherwise it is sent unchanged with the name it was
 * given as its label (RFC 2046 section 4.1.2).  Nothing here does I/O
 * besides the spools.
 */
#ifndef SMTPSEND_CHARSET_H
#define SMTPSEND_CHARSET_H

struct err;
struct spool;

/* An RFC 2978 mime-charset name (at most 40 characters)? */
int charset_name_ok(const char *name);
/* Is name one of the spellings of UTF-8 or of its subset US-ASCII? */
int charset_is_utf8(const char *name);
/*
 * Replace the content of sp, in the character set name, with its UTF-8
 * form.  Returns 1 when converted, 0 when it was left alone (iconv does
 * not know the set, or the text is not valid in it), -1 on error
 * (E_IOERR: the temporary file).
 */
int charset_to_utf8(struct spool *sp, const char *name, struct err *e);

#endif
