/*
 * rewrite: bare local names in the address fields of a message someone
 * else wrote (sendmail mode: cron writes "To: root").  The envelope gets
 * the resolved addresses through aliases.h; this module makes the header
 * say the same (anchors.md section 2: aliases that only change the
 * envelope leave a To: nobody can reply to).
 */
#ifndef SMTPSEND_REWRITE_H
#define SMTPSEND_REWRITE_H

#include <stddef.h>

struct aliases;
struct buf;
struct err;

/* How bare names are resolved. */
struct rewrite_rules {
	const struct aliases *aliases;	/* for To, Cc, Bcc; NULL: none */
	const char *local_domain;	/* appended to what is still bare */
	/*
	 * Without local_domain, the address a bare author (From, Sender,
	 * Reply-To) becomes: the run's sender.  NULL: such a name is an
	 * error.
	 */
	const char *author;
};

/*
 * Copy the header block head[0..len) ("Name: value\n" lines, folded
 * lines starting with a blank) to out, with every local name (bare, or
 * at this machine: aliases_local_name) in To, Cc and Bcc replaced by
 * what the aliases and local_domain give, and in From, Sender and
 * Reply-To by name@local_domain (else, for a bare name, by the rules'
 * author).  Display names and comments stay, and so do groups
 * ("team: root, alice;"): their members are rewritten inside them.
 * *changed says whether anything was rewritten.  Errors: E_DATA (a bare name that cannot be
 * resolved).
 */
int rewrite_header(const char *head, size_t len,
    const struct rewrite_rules *rules, struct buf *out, int *changed,
    struct err *e);

#endif
