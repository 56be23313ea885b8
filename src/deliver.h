/*
 * deliver: the ways a composed message can leave besides a plain send
 * (design.md section 6).  --pickup-dir writes it into a directory and
 * sends nothing.  --queue-on-failure writes it into the queue directory
 * first (not yet under a final name), sends it from there, and on a
 * temporary failure gives the file its final name so that a later
 * --flush sends it: the message is never in memory only.  Also the
 * adapter that lets the session send a queued file (used by flush).
 */
#ifndef SMTPSEND_DELIVER_H
#define SMTPSEND_DELIVER_H

struct deadline;
struct err;
struct mailbox;
struct msg_spec;
struct options;
struct qmsg;
struct session_msg;

/*
 * Write the message to o->pickup_dir.  Errors: E_CANTCREAT (directory
 * not writable, disk full: no partial file is left), E_TEMPFAIL
 * (interrupted), what composing can report.
 */
int deliver_pickup(const struct options *o, const struct msg_spec *spec,
    const struct mailbox *sender, struct deadline *dl, struct err *e);
/*
 * Send with o->queue_dir as the safety net.  A temporary failure queues
 * the message, says so in one line on stderr and returns 0; a
 * cancellation queues it too but still fails (E_TEMPFAIL).  Permanent
 * failures keep their kind and queue nothing.  With --on-rcpt-reject
 * continue, only the temporarily refused recipients are queued.  Errors:
 * as session_run(), E_CANTCREAT when the queue cannot be written.
 */
int deliver_queue(const struct options *o, const struct msg_spec *spec,
    const struct mailbox *sender, const char *self_name, struct deadline *dl,
    struct err *e);
/*
 * Make sm send the queued message m: its envelope, its content.  The
 * recipient array is allocated; deliver_msg_release() frees it.
 */
void deliver_msg_init(struct session_msg *sm, struct qmsg *m);
void deliver_msg_release(struct session_msg *sm);

#endif
