/*
 * netrc: look up a password in a netrc(5) file (by default ~/.netrc), the
 * file ftp(1), curl and msmtp read.  Tokens: machine NAME, default,
 * login NAME, password SECRET, account X, macdef NAME (skipped up to the
 * next blank line).  Values may be double-quoted with backslash escapes.
 * Nothing is printed but the file's name in messages.
 */
#ifndef SMTPSEND_NETRC_H
#define SMTPSEND_NETRC_H

struct err;
struct secret;

#define NETRC_MAX	(256 * 1024)

/*
 * Find the entry for host (case-insensitive) whose login is user (any
 * login when user is NULL), falling back to a "default" entry.  On a match
 * sets *pw and, when login is not NULL, *login (newly allocated, or NULL
 * when the entry names none); returns 1.  Returns 0 when there is no file
 * or no match.  Warns when the file is readable by group or others.
 * Errors: E_NOINPUT (unreadable, too large), E_CONFIG (syntax).
 */
int netrc_lookup(const char *path, const char *host, const char *user,
    char **login, struct secret *pw, struct err *e);

#endif
