/*
 * report: what one run did, gathered while it happens, for the three
 * machine-facing outputs of design.md section 2: --json (one object on
 * standard output after the run), --log FILE and --syslog (one line per
 * message).  The session feeds it replies, the TLS parameters, the
 * mechanism that authenticated and phase changes; main finishes it with
 * the exit status.  Nothing secret ever reaches it: replies are the
 * server's, and AUTH exchanges are not reported, only the mechanism name.
 * A NULL report is accepted everywhere and ignored.
 */
#ifndef SMTPSEND_REPORT_H
#define SMTPSEND_REPORT_H

#include <stddef.h>
#include <stdint.h>

#define REPORT_TEXT_MAX	512	/* server text kept per reply */

enum report_phase {
	RP_CONNECT, RP_TLS, RP_GREETING, RP_AUTH, RP_ENVELOPE, RP_DATA,
	RP_QUIT, RP_PHASE_COUNT
};

struct report_reply {
	int code;		/* 0: no reply */
	char status[16];	/* enhanced status, or "" */
	char text[REPORT_TEXT_MAX];	/* printable, lines joined by " / " */
};

struct report_rcpt {
	char *address;
	struct report_reply reply;
};

struct report {
	char *host;
	int port;
	char *from;			/* envelope sender */
	struct report_rcpt *rcpts;
	size_t nrcpts;
	struct report_reply last;	/* the last reply read */
	struct report_reply final;	/* the reply to the final dot */
	int delivered;			/* the final dot was accepted */
	unsigned long long size;
	char tls_version[32], tls_cipher[64];
	int tls, tls_resumed;
	char auth[32];			/* mechanism that succeeded */
	int64_t start_ms, mark_ms;
	enum report_phase cur;
	int in_phase;
	int64_t phase_ms[RP_PHASE_COUNT];
	int many;			/* report_many() */
};

void report_init(struct report *r, const char *host, int port);
void report_release(struct report *r);
/* The server changed before any was contacted (an account chosen late). */
void report_server(struct report *r, const char *host, int port);
void report_sender(struct report *r, const char *envelope_from);
void report_rcpt(struct report *r, const char *address);
/*
 * Many messages in this run (a queue flush): their recipients are not
 * collected -- each message has its own report line -- so the report
 * stays the same size however long the queue.
 */
void report_many(struct report *r);
/* A session step began; name is the session's phase label. */
void report_phase(struct report *r, const char *name);
/* A reply was read during the step called phase. */
void report_reply(struct report *r, const char *phase, int code,
    const char *status, const char *text, size_t len);
void report_tls(struct report *r, const char *version, const char *cipher,
    int resumed);
void report_auth(struct report *r, const char *mech);
void report_size(struct report *r, unsigned long long size);
/* The queue id a server put in its final reply ("queued as X"), or "". */
void report_queue_id(const struct report *r, char *buf, size_t size);
/*
 * Write the JSON object (one line) to stdout.  status is the exit
 * status, error the message printed on stderr (or NULL).
 */
void report_json(struct report *r, int status, const char *error,
    const char *config, const char *account);
/*
 * One line: time, from, recipients, size, server reply, exit status.
 * Appended to path (with O_APPEND, so lines of parallel runs do not mix)
 * and/or sent to syslog with the facility named ("mail", "local0"...).
 * Returns -1 (errno set) when the log file cannot be written.
 */
int report_log_line(struct report *r, int status, const char *error,
    const char *path, const char *facility);

#endif
