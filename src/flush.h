/*
 * flush: send what a queue directory holds (design.md section 6), over
 * one connection, oldest first.  A file is removed only after the
 * server's 250 for it; a message refused for good moves to DIR/failed/
 * with a ".reason" file beside it, and so does one older than --max-age;
 * anything else stays for a later try.  An exclusive lock on DIR/.lock
 * keeps two flushes from sending the same file.  Killing the process at
 * any moment loses nothing: at worst the message in flight is sent again
 * by the next flush.
 */
#ifndef SMTPSEND_FLUSH_H
#define SMTPSEND_FLUSH_H

struct deadline;
struct err;
struct options;

/*
 * Flush o->flush_dir, printing one report line per message on standard
 * output.  --timeout applies to each message (and the connection set up
 * for it), not to the whole flush.  Returns 0 when the queue is empty
 * afterwards.  Errors: the kind of the first permanent failure (the
 * message went to failed/); else a connection-level error that is not
 * temporary (TLS, protocol); else E_TEMPFAIL when messages remain;
 * E_CANTCREAT when the directory cannot be used.
 */
int flush_run(const struct options *o, const char *self_name,
    struct deadline *dl, struct err *e);

#endif
