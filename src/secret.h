/*
 * secret: where passwords, key passphrases and OAuth tokens come from, and
 * how they are held.  A secret is read once, before any connection is
 * made, from a file, a descriptor, an environment variable, the output of
 * a command, ~/.netrc (see netrc.h) or a no-echo prompt on /dev/tty.  No
 * option ever carries a secret itself (it would be visible in ps(1)).
 * Secret bytes live in a struct secret and are wiped with explicit_bzero()
 * by secret_wipe(); nothing here prints them, and error messages name the
 * source, never the content.
 */
#ifndef SMTPSEND_SECRET_H
#define SMTPSEND_SECRET_H

#include <stddef.h>

struct deadline;
struct err;

/* A password from a file or a prompt is one line: at most this long. */
#define SECRET_LINE_MAX		4096
/* What a command may print (OAuth tokens run to a few KiB). */
#define SECRET_CMD_MAX		(1024 * 1024)

struct secret {
	char *data;		/* NUL-terminated, or NULL when unset */
	size_t len;
};

/*
 * The first line of path (line end removed).  Warns when the file is
 * readable by group or others.  what names the option in messages.
 * Errors: E_NOINPUT (cannot open or read; the file is named).
 */
int secret_from_file(struct secret *s, const char *path, const char *what,
    struct err *e);
/* The first line read from descriptor fd, which is closed.  E_NOINPUT. */
int secret_from_fd(struct secret *s, int fd, struct err *e);
/* The value of environment variable var.  E_NOINPUT when unset/empty. */
int secret_from_env(struct secret *s, const char *var, struct err *e);
/*
 * The standard output of "sh -c cmd" (trailing line ends removed), read
 * within the deadline.  Its standard input is /dev/null and its standard
 * error is ours.  Errors: E_NOINPUT (the command failed or printed
 * nothing; its exit status is reported), E_TEMPFAIL (deadline), E_OSERR.
 */
int secret_from_cmd(struct secret *s, const char *cmd, const char *what,
    struct deadline *dl, struct err *e);
/*
 * Ask on /dev/tty with echo off.  Returns 1 when a line was read, 0 when
 * there is no terminal to ask on, -1 on error (E_NOINPUT).
 */
int secret_prompt(struct secret *s, const char *prompt, struct err *e);
/* Take ownership of len bytes at p (NUL-terminated copy, p wiped). */
void secret_set(struct secret *s, char *p, size_t len);
void secret_wipe(struct secret *s);

#endif
