/*
 * aliases: local names for cron and system mail ("root", and names at
 * this machine such as "root@localhost").  Reads a file in the
 * /etc/aliases format ("name: address, address", continued on lines
 * that start with blanks, '#' comments; a "default" entry catches names
 * that have none, as msmtp's does) and turns a bare local name such as
 * "root" into full addresses, appending the configured local domain to
 * whatever is still bare.  Pipes, files and :include: targets are a
 * local MTA's business; they are skipped with a warning.
 */
#ifndef SMTPSEND_ALIASES_H
#define SMTPSEND_ALIASES_H

#include <stddef.h>

struct err;

#define ALIASES_SIZE_MAX	(4 * 1024 * 1024)
#define ALIASES_DEPTH_MAX	8

struct alias {
	char *name;
	char **targets;
	size_t ntargets;
};

struct aliases {
	struct alias *v;
	size_t n;
};

/* Errors: E_CONFIG (cannot be read, a line that is not "name: ..."). */
int aliases_load(struct aliases *a, const char *path, struct err *e);
/*
 * The addresses for name, appended to *out (*n entries, each newly
 * allocated "local@domain" or as written in the file).  Errors: E_DATA
 * (a bare name is left and local_domain is NULL, or aliases loop).
 */
int aliases_expand(const struct aliases *a, const char *name,
    const char *local_domain, char ***out, size_t *n, struct err *e);
void aliases_free_list(char **v, size_t n);
/* Is s a local name without a domain ("root", "www-data")? */
int aliases_is_bare(const char *s);
/*
 * The length of the local name in the address s[0..n): bare ("root"), or
 * at this machine ("root@localhost", "root@localhost.localdomain",
 * "root@NAME" with the name gethostname(2) gives or the full name that
 * "hostname -f" prints, in any case).  0 when s is neither.  The full
 * name is looked up (once, for at most 5 s) only for a domain that starts
 * with the host name's first label.
 */
size_t aliases_local_name(const char *s, size_t n);
void aliases_release(struct aliases *a);

#endif
