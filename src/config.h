/*
 * config: the configuration file (design.md section 2), read into
 * sections of "key value" lines that remember their line numbers.  It
 * knows the file's grammar only: whether a key names an option, and what
 * the value means, is decided by cli.c, which feeds every line through
 * the same code as the long option of that name.
 *
 * Grammar (familiar to msmtp users):
 *
 *	# comment
 *	defaults
 *	key value
 *	account NAME [: PARENT]
 *	key value
 *	account default : NAME
 *
 * Lines before the first section belong to the defaults.  A value may be
 * written in double quotes (\" and \\ inside).  An account with a parent
 * starts with the parent's lines; "account default : NAME" therefore
 * makes NAME the default account.
 *
 * The one thing it knows of values: in those of the keys that name files
 * and directories (cafile, aliases, log, ...), quoted or not, a leading
 * "~" or "~/" stands for the home directory and "~user" for that user's,
 * as msmtp and the shell have it; a user that does not exist is an error
 * of the line.  The environment's values are left alone: a shell has
 * already expanded "~" in an assignment that was meant to have it.
 */
#ifndef SMTPSEND_CONFIG_H
#define SMTPSEND_CONFIG_H

#include <stddef.h>

struct err;

#define CONFIG_LINE_MAX		4096
#define CONFIG_SIZE_MAX		(1024 * 1024)
#define CONFIG_DEPTH_MAX	16

struct config_line {
	char *key;
	char *value;		/* "" when the line has only a key */
	unsigned lineno;
};

struct config_section {
	char *name;		/* NULL for the defaults */
	char *parent;		/* NULL when none */
	unsigned lineno;
	struct config_line *lines;
	size_t nlines;
};

struct config {
	char *path;
	unsigned mode;		/* st_mode permission bits */
	int others_read;	/* group or others may read it */
	int others_write;	/* group or others may change it */
	struct config_section *sects;	/* sects[0] is the defaults */
	size_t nsects;
};

/*
 * The file to read when no -C is given: $XDG_CONFIG_HOME/smtpsend/config
 * (~/.config/... when XDG_CONFIG_HOME is unset or relative; the home
 * directory from the password database when $HOME is unset, as under
 * some cron daemons), else the system file, else NULL.  Newly allocated.
 */
char *config_default_path(const char *system_path);
/*
 * Read and parse path.  Errors: E_CONFIG ("FILE:LINE: ..." for syntax,
 * "FILE: ..." when it cannot be read).
 */
int config_load(struct config *c, const char *path, struct err *e);
/* The account section called name, or NULL. */
const struct config_section *config_account(const struct config *c,
    const char *name);
/*
 * The sections whose lines apply for account name (NULL: the defaults
 * only), in order: the defaults, the oldest ancestor, ..., the account.
 * *v is newly allocated.  Errors: E_CONFIG (no such account, a parent
 * that does not exist, a loop of parents).
 */
int config_chain(const struct config *c, const char *name,
    const struct config_section ***v, size_t *n, struct err *e);
void config_release(struct config *c);

#endif
