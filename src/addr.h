/*
 * addr: mailbox parsing and validation (RFC 5322 section 3.4, with the
 * RFC 6532 UTF-8 extension noted) and domain conversion to A-labels with
 * libidn2 (IDNA2008, NFC input, non-transitional).  Nothing here does I/O.
 */
#ifndef SMTPSEND_ADDR_H
#define SMTPSEND_ADDR_H

#include <stddef.h>

struct err;

struct mailbox {
	char *name;		/* display name (UTF-8, unquoted) or NULL */
	char *local;		/* local part as written (quotes kept) */
	char *domain;		/* domain as written */
	char *domain_ascii;	/* A-label form of domain */
	char *domain_utf8;	/* U-label form (RFC 6531), or as written */
	int utf8_local;		/* local part has non-ASCII characters */
	int null;		/* the null reverse path "<>" */
};

enum addr_flags {
	ADDR_ALLOW_NULL = 1 << 0,	/* accept "<>" */
	ADDR_NO_NAME = 1 << 1,		/* a bare address only */
};

/*
 * Parse one mailbox: "a@b", "<a@b>", "Name <a@b>", "\"Name\" <a@b>".
 * what names the option for messages.  Errors: E_DATA.
 */
int addr_parse(const char *in, const char *what, unsigned flags,
    struct mailbox *mb, struct err *e);
/* Parse a comma-separated list and append to *v (*n entries). */
int addr_parse_list(const char *in, const char *what, struct mailbox **v,
    size_t *n, struct err *e);
void mailbox_release(struct mailbox *mb);
/* "local@domain" with the A-label domain, in newly allocated memory. */
char *addr_envelope(const struct mailbox *mb);
/*
 * "local@domain" with the domain in U-labels, for a transaction that
 * uses SMTPUTF8 (RFC 6531 section 3.3); newly allocated.
 */
char *addr_envelope_utf8(const struct mailbox *mb);
/* True when the address cannot be written in ASCII as it stands. */
int addr_is_intl(const struct mailbox *mb);
/*
 * Convert a host or domain name to its A-label form (newly allocated).
 * Address literals and ASCII names are checked and copied.  E_DATA.
 */
int addr_domain_ascii(const char *name, const char *what, char **out,
    struct err *e);
/* Reject CR, LF, NUL and other controls, and invalid UTF-8 (E_DATA). */
int addr_check_text(const char *s, const char *what, struct err *e);
int utf8_valid(const char *s, size_t n);
const char *addr_idn_version(void);

#endif
