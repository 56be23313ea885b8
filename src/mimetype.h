/*
 * mimetype: the media type (RFC 2046) of a file to attach.  The file's
 * extension is looked up in the user's ~/.mime.types and the system's
 * /etc/mime.types (Debian's media-types package), the tables every mail
 * reader on the system shares; only when the extension is unknown are
 * the file's first octets examined, with libmagic.  The only user of
 * <magic.h>.  It never fails: the last resort is
 * application/octet-stream, which every reader can save.
 */
#ifndef SMTPSEND_MIMETYPE_H
#define SMTPSEND_MIMETYPE_H

#include <stddef.h>

#define MIMETYPE_MAX	256	/* room for "type/subtype" */
#define MIMETYPE_SNIFF	16384	/* octets of content worth examining */

/*
 * Write the media type of a file called name (a base name; its content
 * starts with head[0..n)) into out, lower case, "type/subtype".
 */
void mimetype_guess(const char *name, const void *head, size_t n,
    char *out, size_t size);
/*
 * libmagic's guess at the character set of text (e.g. "iso-8859-1"),
 * written into out; returns -1 when it has none (binary or unknown).
 */
int mimetype_charset(const void *head, size_t n, char *out, size_t size);
/*
 * Is s a media type: type "/" subtype, each an RFC 2045 token, followed
 * by any number of "; attribute=value" parameters (value a token or a
 * quoted-string)?  Returns 1 when it is.
 */
int mimetype_valid(const char *s);
/* libmagic's version, as "5.44". */
const char *mimetype_magic_version(void);

#endif
