/*
 * session: one SMTP delivery, start to finish, as a straight list of
 * protocol steps (RFC 5321 section 3): resolve, connect, TLS, greeting,
 * EHLO, STARTTLS, EHLO again, MAIL, RCPT, DATA, the message, end of data,
 * QUIT.  It owns policy (TLS required or not, what a rejected recipient
 * means) and the per-phase time limits; the SMTP syntax lives in smtp.c.
 */
#ifndef SMTPSEND_SESSION_H
#define SMTPSEND_SESSION_H

struct deadline;
struct err;
struct mailbox;
struct msg_spec;
struct options;
struct spool;

/*
 * Deliver the message described by spec with the body in body.
 * self_name is this machine's name (for EHLO) or NULL.  Errors: any kind
 * of design.md section 4; the message names the phase and quotes the
 * server's reply.
 */
int session_run(const struct options *o, const struct msg_spec *spec,
    const struct mailbox *sender, struct spool *body, const char *self_name,
    struct deadline *dl, struct err *e);

/*
 * --serverinfo: connect, show the greeting, the capabilities before and
 * after STARTTLS, the TLS session and certificate chain (with pins ready
 * for --tls-pin) and the AUTH mechanisms on standard output, then QUIT
 * without sending mail.  Certificate problems are reported, not fatal.
 */
int session_serverinfo(const struct options *o, const char *self_name,
    struct deadline *dl, struct err *e);

#endif
