/*
 * smtpsend: turn command-line flags and standard input into a mail
 * message and deliver it over SMTP.  main() does process hygiene, runs
 * the steps in order and is the one place that chooses the exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "aliases.h"
#include "attach.h"
#include "charset.h"
#include "cli.h"
#include "config.h"
#include "creds.h"
#include "deadline.h"
#include "deliver.h"
#include "err.h"
#include "flush.h"
#include "log.h"
#include "msg.h"
#include "mimetype.h"
#include "net.h"
#include "rawmsg.h"
#include "report.h"
#include "rewrite.h"
#include "sasl.h"
#include "session.h"
#include "spool.h"
#include "tls.h"
#include "xmalloc.h"

#define PRINT_SLICE	65536

static void report_envelope(const struct options *o,
    const struct mailbox *sender);

/*
 * The watchdog: if some library call ever blocks past the deadline, the
 * alarm still ends the run one second after --timeout.  Only
 * async-signal-safe calls here.
 */
static void
watchdog(int sig)
{
	static const char msg[] =
	    "smtpsend: timed out (--timeout reached; watchdog)\n";
	ssize_t r;

	(void)sig;
	r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)r;
	_exit(err_exit_code(E_TEMPFAIL));
}

/*
 * SIGINT, SIGTERM and SIGHUP ask the run to stop (SendAsyncCancel): the
 * handler only records the signal and makes the cancellation pipe
 * readable; deadline_wait() notices either at once, the session sends no
 * final dot for the interrupted message and closes with at most a
 * second of RSET/QUIT.  A second signal ends the process at once.
 */
static volatile sig_atomic_t cancel_sig;
static int cancel_pipe[2] = { -1, -1 };

static void
cancel(int sig)
{
	static const char msg[] =
	    "smtpsend: second signal: stopping at once\n";
	int saved = errno;
	ssize_t r;

	if (cancel_sig != 0) {
		r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
		(void)r;
		_exit(err_exit_code(E_TEMPFAIL));
	}
	cancel_sig = sig;
	if (cancel_pipe[1] >= 0) {
		r = write(cancel_pipe[1], "", 1);
		(void)r;
	}
	errno = saved;
}

/*
 * No SA_RESTART: a blocked system call returns EINTR.  A signal the
 * parent chose to ignore (nohup) stays ignored.
 */
static void
catch_cancel(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa, old;
	size_t i;

	if (pipe2(cancel_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		cancel_pipe[0] = cancel_pipe[1] = -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cancel;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			sigaction(sigs[i], &old, NULL);
}

/* Descriptors 0-2 must exist, so nothing we open can become one. */
static void
hygiene(void)
{
	struct sigaction sa;
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
	signal(SIGPIPE, SIG_IGN);
	umask(077);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watchdog;
	sigaction(SIGALRM, &sa, NULL);
	catch_cancel();
}

static void
print_version(void)
{
	printf("smtpsend %s\n", SMTPSEND_VERSION);
	printf("GnuTLS %s, libgsasl %s, libidn2 %s\n", tls_version_string(),
	    sasl_version_string(), addr_idn_version());
	printf("libmagic %s\n", mimetype_magic_version());
}

/* The login name at this machine's name (newly allocated). */
static char *
default_sender(const char *self_name)
{
	struct passwd *pw = getpwuid(getuid());
	const char *user = pw ? pw->pw_name : getenv("USER");

	return xasprintf("%s@%s", user ? user : "root",
	    self_name ? self_name : "localhost");
}

/* Without -f: the default sender. */
static int
default_from(struct options *o, const char *self_name, struct err *e)
{
	char *spec = default_sender(self_name);
	int rc;

	rc = addr_parse(spec, "default sender (use --from)", 0, &o->from, e);
	free(spec);
	o->have_from = rc == 0;
	if (rc == 0 && o->full_name != NULL)
		o->from.name = xstrdup(o->full_name);
	return rc;
}

/* Everything read or opened before connecting. */
struct inputs {
	struct spool body;
	struct spool html;
	int have_html;
	const char *body_cs, *html_cs;	/* labels, NULL: by content */
	struct attach *parts;
	size_t nparts;
	struct rawmsg raw;
	int have_raw;
};

/* Capture a file (or standard input, path NULL) completely. */
static int
capture(const char *path, const char *opt, struct spool *sp,
    struct deadline *dl, struct err *e)
{
	struct stat st;
	int fd = STDIN_FILENO, rc;

	deadline_phase(dl, "reading input", dl->end_ms - now_ms());
	if (path != NULL) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return err_set(e, E_NOINPUT, "%s %s: %s", opt, path,
			    strerror(errno));
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			close(fd);
			return err_set(e, E_NOINPUT, "%s %s: is a directory",
			    opt, path);
		}
	}
	rc = spool_capture(sp, fd, path ? path : "standard input", dl, e);
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}

/*
 * The character set label of a text part (design.md section 2,
 * --charset): converted to UTF-8 when iconv can, else labelled as told.
 * Text that is not UTF-8 and has no --charset is still sent, labelled
 * unknown-8bit (RFC 1428): a cron job's output must always arrive.
 */
static int
label_text(const struct options *o, struct spool *sp, const char *what,
    const char **cs, struct err *e)
{
	int rc;

	*cs = NULL;
	if (o->charset == NULL || charset_is_utf8(o->charset)) {
		if (sp->info.has_8bit && !sp->info.utf8_ok)
			log_warn("%s is not valid UTF-8; it is labelled "
			    "charset=unknown-8bit (see --charset)", what);
		return 0;
	}
	if ((rc = charset_to_utf8(sp, o->charset, e)) < 0)
		return -1;
	if (rc == 0) {
		log_warn("%s could not be converted from %s to UTF-8 (not a "
		    "character set iconv knows, or not valid in it); it is "
		    "sent as it is, labelled charset=%s", what, o->charset,
		    o->charset);
		*cs = o->charset;
	}
	return 0;
}

/* --raw and -t: the message is split into its fields. */
static int
prepare_raw(struct inputs *in, struct err *e)
{
	if (rawmsg_parse(&in->raw, &in->body, e) < 0)
		return -1;
	in->have_raw = 1;
	return 0;
}

/*
 * A whole message's author may choose the account (as -f does), when
 * nothing else chose one.  Its settings then replace the ones read
 * before: server, timeout, credentials, local domain...
 */
static int
account_by_author(struct options *o, const struct inputs *in,
    struct deadline *dl, struct err *e)
{
	struct mailbox author;
	int64_t left;
	char *a;
	int rc;

	if (rawmsg_from(&in->raw, &author) < 0)
		return 0;
	a = addr_envelope(&author);
	mailbox_release(&author);
	rc = cli_account_by_author(o, a, e);
	free(a);
	if (rc <= 0)
		return rc;
	log_set_level(o->quiet ? LOG_QUIET : o->verbose ? LOG_VERBOSE :
	    LOG_NORMAL);
	log_info("account %s, chosen by the message's From", o->account);
	report_server(o->report, o->host, o->port);
	dl->end_ms = dl->start_ms + (int64_t)o->timeout_s * 1000;
	left = dl->end_ms - now_ms();
	alarm(left > 0 ? (unsigned)(left / 1000) + 2 : 1);
	return 0;
}

static int
same_mailbox(const struct mailbox *a, const struct mailbox *b)
{
	return strcmp(a->local, b->local) == 0 &&
	    strcasecmp(a->domain_ascii, b->domain_ascii) == 0;
}

static int
in_envelope(const struct options *o, const struct mailbox *mb)
{
	const struct mailbox *lists[3] = { o->to, o->cc, o->bcc };
	size_t counts[3] = { o->nto, o->ncc, o->nbcc }, i, k;

	for (k = 0; k < 3; k++)
		for (i = 0; i < counts[k]; i++)
			if (same_mailbox(&lists[k][i], mb))
				return 1;
	return 0;
}

/*
 * -t: the addresses of the message's To, Cc and Bcc join the envelope,
 * each once (two aliases may lead to one mailbox).  They go in the blind
 * list: the message's own fields are the ones it keeps.
 */
static int
add_header_rcpts(struct options *o, const struct rawmsg *r, struct err *e)
{
	struct mailbox *v = NULL;
	size_t n = 0, i;
	int rc;

	rc = rawmsg_recipients(r, &v, &n, e);
	for (i = 0; i < n; i++) {
		if (rc == 0 && !in_envelope(o, &v[i])) {
			o->bcc = xreallocarray(o->bcc, o->nbcc + 1,
			    sizeof(*o->bcc));
			o->bcc[o->nbcc++] = v[i];
		} else {
			mailbox_release(&v[i]);
		}
	}
	free(v);
	return rc;
}

/*
 * Bare local names in the message's address fields ("To: root" from
 * cron) resolved as on the command line: aliases, then local-domain; a
 * bare author without local-domain becomes the run's sender.  The header
 * then says what the envelope does.
 */
static int
rewrite_raw(const struct options *o, struct inputs *in,
    const char *self_name, struct err *e)
{
	struct aliases al;
	struct rewrite_rules rules;
	struct buf head;
	char *author;
	int changed = 0, rc;

	memset(&al, 0, sizeof(al));
	if (o->aliases != NULL && aliases_load(&al, o->aliases, e) < 0)
		return -1;
	rules.aliases = &al;
	rules.local_domain = o->local_domain;
	author = o->have_from ? addr_envelope(&o->from) :
	    default_sender(self_name);
	rules.author = author;
	buf_init(&head, RAWMSG_HEAD_MAX);
	buf_adds(&head, "");
	rc = rewrite_header(in->raw.head.data, in->raw.head.len, &rules,
	    &head, &changed, e);
	if (rc == 0 && changed) {
		log_info("local names in the message's header completed");
		rc = rawmsg_set_head(&in->raw, &head, e);
	}
	buf_release(&head);
	free(author);
	aliases_release(&al);
	return rc;
}

/* --raw and -t: the message's own recipients and author. */
static int
resolve_raw(struct options *o, struct inputs *in, const char *self_name,
    struct err *e)
{
	if (rewrite_raw(o, in, self_name, e) < 0)
		return -1;
	if (o->read_rcpt && add_header_rcpts(o, &in->raw, e) < 0)
		return -1;
	if (o->nto + o->ncc + o->nbcc == 0 && !o->print)
		return err_set(e, E_USAGE, "-t: the message has no To, Cc or "
		    "Bcc recipients and none are given");
	/* Without -f the author is the envelope sender, as with sendmail. */
	if (!o->have_from && rawmsg_from(&in->raw, &o->from) == 0)
		o->have_from = 1;
	return 0;
}

static int
prepare(struct options *o, struct inputs *in, struct deadline *dl,
    struct err *e)
{
	size_t i;

	if (capture(o->body_file, "--body-file", &in->body, dl, e) < 0)
		return -1;
	if (o->raw)
		return prepare_raw(in, e);
	if (label_text(o, &in->body, "the body", &in->body_cs, e) < 0)
		return -1;
	if (o->html != NULL) {
		in->have_html = 1;
		if (capture(o->html, "--html", &in->html, dl, e) < 0 ||
		    label_text(o, &in->html, "the --html file", &in->html_cs,
		    e) < 0)
			return -1;
	}
	in->parts = xcalloc(o->nparts, sizeof(*in->parts));
	for (i = 0; i < o->nparts; i++) {
		if (attach_open(&in->parts[i], &o->parts[i], dl, e) < 0)
			return -1;
		in->nparts++;
	}
	return 0;
}

static void
inputs_release(struct inputs *in)
{
	size_t i;

	spool_release(&in->body);
	if (in->have_html)
		spool_release(&in->html);
	for (i = 0; i < in->nparts; i++)
		attach_close(&in->parts[i]);
	free(in->parts);
	if (in->have_raw)
		rawmsg_release(&in->raw);
}

static void
fill_spec(struct msg_spec *spec, const struct options *o,
    struct inputs *in)
{
	memset(spec, 0, sizeof(*spec));
	spec->from = &o->from;
	spec->to = o->to;
	spec->nto = o->nto;
	spec->cc = o->cc;
	spec->ncc = o->ncc;
	spec->reply_to = o->reply_to;
	spec->nreply_to = o->nreply_to;
	spec->subject = o->subject;
	spec->id_domain = o->from.domain_ascii;
	spec->body = &in->body;
	spec->body_charset = in->body_cs;
	spec->html = in->have_html ? &in->html : NULL;
	spec->html_charset = in->html_cs;
	spec->parts = in->parts;
	spec->nparts = in->nparts;
	spec->headers = o->headers;
	spec->nheaders = o->nheaders;
	spec->priority = o->priority;
	spec->raw = in->have_raw ? &in->raw : NULL;
}

static int
write_all(const char *p, size_t n, struct err *e)
{
	ssize_t w;

	while (n > 0) {
		w = write(STDOUT_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return err_set(e, E_IOERR, "standard output: %s",
			    strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * --print: the message exactly as it would be sent, CRLF line ends
 * included, but without dot-stuffing (design.md section 2).  Written
 * with write(2) in large pieces: stdio would make 4 KiB writes to a pipe.
 */
static int
print_message(const struct msg_spec *spec, struct err *e)
{
	struct msg m;
	struct eol eol;
	const char *p;
	char *out;
	size_t n, k, take;
	int rc = 0;

	if (msg_open(&m, spec, 1, e) < 0)
		return -1;
	out = xmalloc(2 * PRINT_SLICE);
	eol_init(&eol);
	do {
		if ((rc = msg_read(&m, &p, &n, e)) < 0)
			break;
		for (k = 0; k < n && rc == 0; k += take) {
			take = n - k < PRINT_SLICE ? n - k : PRINT_SLICE;
			rc = write_all(out, eol_crlf(&eol, p + k, take, out),
			    e);
		}
	} while (n > 0 && rc == 0);
	if (rc == 0)
		rc = write_all(out, eol_finish(&eol, out), e);
	free(out);
	msg_close(&m);
	return rc;
}

/*
 * --print (and a file written for later) has no server to ask: a header
 * address whose local part is not ASCII can only be written as UTF-8 (RFC
 * 6532), so the message is written as a SMTPUTF8 server would get it.
 * Otherwise domains are A-labels, as for a server without SMTPUTF8.
 */
static int
print_needs_utf8(const struct options *o)
{
	size_t i;
	int need = o->from.utf8_local;

	for (i = 0; i < o->nto; i++)
		need |= o->to[i].utf8_local;
	for (i = 0; i < o->ncc; i++)
		need |= o->cc[i].utf8_local;
	for (i = 0; i < o->nreply_to; i++)
		need |= o->reply_to[i].utf8_local;
	return need;
}

/* --serverinfo: no message, no credentials; just look at the server. */
static int
run_serverinfo(struct options *o, struct creds *creds, struct err *e)
{
	struct deadline dl;
	char *self_name = NULL;
	int rc;

	deadline_init(&dl, (int64_t)o->timeout_s * 1000);
	deadline_set_cancel(&dl, &cancel_sig, cancel_pipe[0]);
	alarm((unsigned)o->timeout_s + 1);
	if (creds_load(o, creds, &dl, e) < 0)
		return -1;
	o->creds = creds;
	if (o->helo == NULL) {
		deadline_phase(&dl, "looking up this host's name", 5000);
		self_name = net_self_name(&dl);
	}
	rc = session_serverinfo(o, self_name, &dl, e);
	free(self_name);
	return rc;
}

/*
 * --flush: every queued message is sent with this run's credentials and
 * options; --timeout applies to each message (flush.h).
 */
static int
run_flush(struct options *o, struct creds *creds, struct deadline *dl,
    struct err *e)
{
	char *self_name = NULL;
	int rc;

	if (creds_load(o, creds, dl, e) < 0)
		return -1;
	o->creds = creds;
	report_many(o->report);
	if (o->helo == NULL) {
		deadline_phase(dl, "looking up this host's name", 5000);
		self_name = net_self_name(dl);
	}
	rc = flush_run(o, self_name, dl, e);
	free(self_name);
	return rc;
}

/*
 * Where the composed message goes.  A file (--pickup-dir, and the queue
 * file that --queue-on-failure writes before sending) is composed before
 * any server is known: like --print, it has RFC 6532 headers only when
 * an address cannot be written otherwise, and the session decides about
 * SMTPUTF8 and 8BITMIME when it sends the file (session.c).  It has no
 * binary parts (RFC 3030), whatever --binary-attachments says: the queue
 * is read back as lines of text, and --queue-on-failure sends the very
 * file it keeps.
 */
static int
deliver(struct options *o, struct msg_spec *spec,
    const struct mailbox *sender, const char *self_name, struct creds *creds,
    struct deadline *dl, struct err *e)
{
	if (o->print || o->pickup_dir != NULL || o->queue_dir != NULL) {
		spec->utf8_headers = print_needs_utf8(o);
		if (o->binary_attachments && spec->nparts > 0)
			log_info("attachments in base64: %s writes the "
			    "message as a file", o->print ? "--print" :
			    o->pickup_dir ? "--pickup-dir" :
			    "--queue-on-failure");
	}
	if (o->print)
		return print_message(spec, e);
	if (o->pickup_dir != NULL)
		return deliver_pickup(o, spec, sender, dl, e);
	/* Secrets and key files are read and checked before connecting. */
	if (creds_load(o, creds, dl, e) < 0)
		return -1;
	o->creds = creds;
	report_envelope(o, sender);
	if (o->queue_dir != NULL)
		return deliver_queue(o, spec, sender, self_name, dl, e);
	return session_run(o, spec, sender, self_name, dl, e);
}

static int
run(struct options *o, struct err *e)
{
	struct deadline dl;
	struct inputs in;
	struct msg_spec spec;
	char *self_name = NULL;
	const struct mailbox *sender;
	struct creds creds;
	int rc = -1;

	memset(&creds, 0, sizeof(creds));
	memset(&in, 0, sizeof(in));
	in.body.fd = -1;
	in.html.fd = -1;
	if (o->serverinfo) {
		rc = run_serverinfo(o, &creds, e);
		goto out;
	}
	deadline_init(&dl, (int64_t)o->timeout_s * 1000);
	deadline_set_cancel(&dl, &cancel_sig, cancel_pipe[0]);
	alarm((unsigned)o->timeout_s + 1);
	if (o->insecure)
		fputs("smtpsend: WARNING: --insecure: server certificates "
		    "will not be verified\n", stderr);
	if (o->flush_dir != NULL) {
		rc = run_flush(o, &creds, &dl, e);
		goto out;
	}
	if (prepare(o, &in, &dl, e) < 0)
		goto out;
	if (o->raw && account_by_author(o, &in, &dl, e) < 0)
		goto out;
	if (o->helo == NULL || !o->have_from) {
		deadline_phase(&dl, "looking up this host's name", 5000);
		self_name = net_self_name(&dl);
	}
	if (o->raw && resolve_raw(o, &in, self_name, e) < 0)
		goto out;
	if (!o->have_from && default_from(o, self_name, e) < 0)
		goto out;
	sender = o->have_envelope_from ? &o->envelope_from : &o->from;
	fill_spec(&spec, o, &in);
	/* Whatever can be wrong with the message shows before connecting. */
	if (msg_check(&spec, e) < 0)
		goto out;
	rc = deliver(o, &spec, sender, self_name, &creds, &dl, e);
out:
	creds_release(&creds);
	o->creds = NULL;
	inputs_release(&in);
	free(self_name);
	return rc;
}

/* -v: which file and account this run took its settings from. */
static void
describe_config(const struct options *o)
{
	if (o->cfg == NULL)
		log_info("no config file (neither ~/.config/smtpsend/config "
		    "nor the system one exists)");
	else if (o->account != NULL)
		log_info("config file %s, account %s", o->cfg->path,
		    o->account);
	else
		log_info("config file %s, defaults only (no account)",
		    o->cfg->path);
	if (o->sendmail)
		log_info("sendmail mode: standard input is the whole message");
}

/* The envelope as the report shows it, before any reply. */
static void
report_envelope(const struct options *o, const struct mailbox *sender)
{
	const struct mailbox *lists[3] = { o->to, o->cc, o->bcc };
	size_t counts[3] = { o->nto, o->ncc, o->nbcc }, i, k;
	char *a;

	a = sender->null ? xstrdup("") : addr_envelope(sender);
	report_sender(o->report, a);
	free(a);
	for (k = 0; k < 3; k++)
		for (i = 0; i < counts[k]; i++) {
			a = addr_envelope(&lists[k][i]);
			report_rcpt(o->report, a);
			free(a);
		}
}

/* --json, --log and --syslog: the run's outcome for machines. */
static void
report_outcome(const struct options *o, struct report *rep, int status,
    const char *error)
{
	if (o->print || o->serverinfo)
		return;
	if (o->json)
		report_json(rep, status, error, o->cfg ? o->cfg->path : NULL,
		    o->account);
	if ((o->log_file != NULL || o->syslog_facility != NULL) &&
	    report_log_line(rep, status, error, o->log_file,
	    o->syslog_facility) < 0)
		log_warn("--log %s: %s", o->log_file, strerror(errno));
}

int
main(int argc, char **argv)
{
	struct options o;
	struct report rep;
	struct err e;
	int rc, status = 0;

	hygiene();
	err_init(&e);
	if (getuid() != geteuid() || getgid() != getegid()) {
		log_error("refusing to run set-user-ID or set-group-ID");
		return err_exit_code(E_SOFTWARE);
	}
	rc = cli_parse(argc, argv, &o, &e);
	if (rc == CLI_EXIT_OK || rc == CLI_VERSION) {
		if (rc == CLI_VERSION)
			print_version();
		options_release(&o);
		return 0;
	}
	report_init(&rep, o.host ? o.host : "", o.port);
	o.report = &rep;
	if (rc == CLI_RUN) {
		log_set_level(o.quiet ? LOG_QUIET : o.verbose ? LOG_VERBOSE :
		    LOG_NORMAL);
		describe_config(&o);
		rc = run(&o, &e);
	}
	if (rc < 0 || e.kind != E_OK) {
		log_error("%s", e.msg[0] ? e.msg : "failed");
		status = err_exit_code(e.kind == E_OK ? E_SOFTWARE : e.kind);
	}
	report_outcome(&o, &rep, status, status ? (e.msg[0] ? e.msg :
	    "failed") : NULL);
	report_release(&rep);
	options_release(&o);
	return status;
}
