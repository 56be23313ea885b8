/*
 * Command-line parsing.  Long options carry the contract (design.md
 * section 2); short options follow mail(1) and sendmail habits.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "cli.h"
#include "err.h"
#include "log.h"
#include "xmalloc.h"

enum {
	OPT_HOST = 256, OPT_PORT, OPT_HELO, OPT_TIMEOUT, OPT_TLS, OPT_CAFILE,
	OPT_INSECURE, OPT_ENVELOPE_FROM, OPT_TO, OPT_BODY_FILE, OPT_PRINT,
	OPT_HELP, OPT_VERSION,
	/* delivery (issue 6) */
	OPT_PICKUP_DIR, OPT_QUEUE_ON_FAILURE, OPT_FLUSH, OPT_MAX_AGE,
	OPT_ON_RCPT_REJECT
};

static const struct option longopts[] = {
	{ "host", required_argument, NULL, OPT_HOST },
	{ "port", required_argument, NULL, OPT_PORT },
	{ "helo", required_argument, NULL, OPT_HELO },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "ipv4", no_argument, NULL, '4' },
	{ "ipv6", no_argument, NULL, '6' },
	{ "tls", required_argument, NULL, OPT_TLS },
	{ "cafile", required_argument, NULL, OPT_CAFILE },
	{ "insecure", no_argument, NULL, OPT_INSECURE },
	{ "from", required_argument, NULL, 'f' },
	{ "envelope-from", required_argument, NULL, OPT_ENVELOPE_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "cc", required_argument, NULL, 'c' },
	{ "bcc", required_argument, NULL, 'b' },
	{ "subject", required_argument, NULL, 's' },
	{ "body-file", required_argument, NULL, OPT_BODY_FILE },
	{ "print", no_argument, NULL, OPT_PRINT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "pickup-dir", required_argument, NULL, OPT_PICKUP_DIR },
	{ "queue-on-failure", required_argument, NULL, OPT_QUEUE_ON_FAILURE },
	{ "flush", required_argument, NULL, OPT_FLUSH },
	{ "max-age", required_argument, NULL, OPT_MAX_AGE },
	{ "on-rcpt-reject", required_argument, NULL, OPT_ON_RCPT_REJECT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

static const char *const tls_names[] = { "auto", "starttls", "implicit",
	"none" };

const char *
tls_mode_name(enum tls_mode m)
{
	return tls_names[m];
}

void
cli_usage(void)
{
	fputs(
"Usage: smtpsend [OPTION]... RECIPIENT...\n"
"Send standard input (the message body) as a mail over SMTP.\n"
"\n"
"Server:\n"
"      --host HOST         SMTP server (default localhost)\n"
"      --port N            port (default 465 with --tls implicit, else 25)\n"
"      --helo NAME         name to greet with (default: this host's FQDN)\n"
"      --timeout SECONDS   deadline for the whole run (default 100)\n"
"  -4, -6                  use only IPv4 / only IPv6\n"
"TLS:\n"
"      --tls MODE          auto, starttls, implicit or none (default auto)\n"
"      --cafile FILE       trust these CA certificates, not the system's\n"
"      --insecure          do not verify the server certificate (unsafe)\n"
"Envelope and headers:\n"
"  -f, --from ADDR         From: header and envelope sender\n"
"      --envelope-from ADDR  envelope sender only (<> for none)\n"
"      --to ADDR           recipient (also: positional arguments)\n"
"  -c, --cc ADDR           Cc: recipient\n"
"  -b, --bcc ADDR          blind recipient (never written in the message)\n"
"  -s, --subject TEXT      Subject: header\n"
"Body:\n"
"      --body-file FILE    read the body from FILE, not standard input\n"
"Delivery:\n"
"      --pickup-dir DIR    write the message into DIR instead of sending it\n"
"      --queue-on-failure DIR  on a temporary failure keep it in DIR, exit 0\n"
"      --flush DIR         send the messages queued in DIR\n"
"      --max-age TIME      with --flush: give up after TIME (default 5d)\n"
"      --on-rcpt-reject abort|continue  when a recipient is refused (abort)\n"
"Output:\n"
"      --print             write the message to standard output, do not send\n"
"  -v, --verbose           show the SMTP conversation (secrets hidden)\n"
"  -q, --quiet             no warnings\n"
"      --help              this help\n"
"      --version           version and library versions\n"
"\n"
"Exit status 0 means accepted; 75 means try again later; see smtpsend(1).\n",
	    stdout);
}

/* A strtonum()-like range-checked integer. */
static int
parse_int(const char *s, long min, long max, const char *opt, int *out,
    struct err *e)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return err_set(e, E_USAGE, "%s: \"%s\" is not a number from "
		    "%ld to %ld", opt, s, min, max);
	*out = (int)v;
	return 0;
}

/* A duration: a number of seconds, or with a suffix s, m, h or d. */
static int
parse_duration(const char *s, const char *opt, long *out, struct err *e)
{
	static const struct {
		char suffix;
		long unit;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	const long max = 3650L * 86400;
	char *end;
	long v, unit = 1;
	size_t i;

	errno = 0;
	v = strtol(s, &end, 10);
	for (i = 0; end != s && *end != '\0' && i < 4; i++)
		if (end[0] == units[i].suffix && end[1] == '\0') {
			unit = units[i].unit;
			end++;
		}
	if (errno != 0 || end == s || *end != '\0' || v < 1 ||
	    v > max / unit)
		return err_set(e, E_USAGE, "%s: \"%s\" is not a duration such "
		    "as 3600, 90m, 12h or 5d (at most 3650d)", opt, s);
	*out = v * unit;
	return 0;
}

static int
parse_tls(const char *s, enum tls_mode *m, struct err *e)
{
	size_t i;

	for (i = 0; i < sizeof(tls_names) / sizeof(tls_names[0]); i++) {
		if (strcmp(s, tls_names[i]) == 0) {
			*m = (enum tls_mode)i;
			return 0;
		}
	}
	return err_set(e, E_USAGE, "--tls: \"%s\" is not one of auto, "
	    "starttls, implicit, none", s);
}

static int
check_utf8_local(const struct mailbox *v, size_t n, const char *what,
    struct err *e)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].utf8_local)
			return err_set(e, E_DATA, "%s: %s@%s has a non-ASCII "
			    "local part, which needs SMTPUTF8 (not supported "
			    "yet)", what, v[i].local, v[i].domain);
	return 0;
}

static int
one_option(int c, const char *arg, struct options *o, struct err *e)
{
	switch (c) {
	case OPT_HOST:
		o->host = arg;
		return addr_check_text(arg, "--host", e);
	case OPT_PORT:
		return parse_int(arg, 1, 65535, "--port", &o->port, e);
	case OPT_HELO:
		o->helo = arg;
		return addr_check_text(arg, "--helo", e);
	case OPT_TIMEOUT:
		return parse_int(arg, 1, 86400, "--timeout", &o->timeout_s, e);
	case '4':
		o->family = AF_INET;
		return 0;
	case '6':
		o->family = AF_INET6;
		return 0;
	case OPT_TLS:
		return parse_tls(arg, &o->tls, e);
	case OPT_CAFILE:
		o->cafile = arg;
		return 0;
	case OPT_INSECURE:
		o->insecure = 1;
		return 0;
	case 'f':
		if (o->have_from)
			mailbox_release(&o->from);
		o->have_from = 1;
		return addr_parse(arg, "--from", 0, &o->from, e);
	case OPT_ENVELOPE_FROM:
		if (o->have_envelope_from)
			mailbox_release(&o->envelope_from);
		o->have_envelope_from = 1;
		return addr_parse(arg, "--envelope-from",
		    ADDR_ALLOW_NULL | ADDR_NO_NAME, &o->envelope_from, e);
	case OPT_TO:
		return addr_parse_list(arg, "--to", &o->to, &o->nto, e);
	case 'c':
		return addr_parse_list(arg, "--cc", &o->cc, &o->ncc, e);
	case 'b':
		return addr_parse_list(arg, "--bcc", &o->bcc, &o->nbcc, e);
	case 's':
		o->subject = arg;
		return addr_check_text(arg, "--subject", e);
	case OPT_BODY_FILE:
		o->body_file = arg;
		return 0;
	case OPT_PRINT:
		o->print = 1;
		return 0;
	case 'v':
		o->verbose = 1;
		return 0;
	case 'q':
		o->quiet = 1;
		return 0;
	case OPT_PICKUP_DIR:
		o->pickup_dir = arg;
		return 0;
	case OPT_QUEUE_ON_FAILURE:
		o->queue_dir = arg;
		return 0;
	case OPT_FLUSH:
		o->flush_dir = arg;
		return 0;
	case OPT_MAX_AGE:
		return parse_duration(arg, "--max-age", &o->max_age_s, e);
	case OPT_ON_RCPT_REJECT:
		if (strcmp(arg, "abort") == 0 || strcmp(arg, "continue") == 0) {
			o->rcpt_continue = arg[0] == 'c';
			return 0;
		}
		return err_set(e, E_USAGE, "--on-rcpt-reject: \"%s\" is not "
		    "abort or continue", arg);
	default:
		return err_set(e, E_USAGE, "try 'smtpsend --help'");
	}
}

/* The delivery options that exclude one another. */
static int
check_delivery(struct options *o, struct err *e)
{
	const char *other = o->print ? "--print" : o->pickup_dir ?
	    "--pickup-dir" : o->queue_dir ? "--queue-on-failure" : NULL;

	if (o->flush_dir != NULL && other != NULL)
		return err_set(e, E_USAGE, "--flush cannot be combined with "
		    "%s", other);
	if (o->flush_dir != NULL && o->nto + o->ncc + o->nbcc > 0)
		return err_set(e, E_USAGE, "--flush takes no recipients: they "
		    "are in the queued files");
	if (o->pickup_dir != NULL && (o->print || o->queue_dir != NULL))
		return err_set(e, E_USAGE, "--pickup-dir cannot be combined "
		    "with %s", o->print ? "--print" : "--queue-on-failure");
	if (o->print && o->queue_dir != NULL)
		return err_set(e, E_USAGE, "--print cannot be combined with "
		    "--queue-on-failure");
	if (o->max_age_s != 0 && o->flush_dir == NULL)
		return err_set(e, E_USAGE, "--max-age only applies to --flush");
	if (o->max_age_s == 0)
		o->max_age_s = CLI_MAX_AGE_DEFAULT;
	return 0;
}

int
cli_parse(int argc, char **argv, struct options *o, struct err *e)
{
	int c, i;

	memset(o, 0, sizeof(*o));
	o->host = "localhost";
	o->timeout_s = 100;
	o->family = AF_UNSPEC;
	o->tls = TLS_AUTO;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "46f:c:b:s:vq", longopts,
	    NULL)) != -1) {
		if (c == OPT_HELP) {
			cli_usage();
			return CLI_EXIT_OK;
		}
		if (c == OPT_VERSION)
			return CLI_VERSION;
		if (c == '?' || c == ':') {
			if (optopt != 0 && optopt < 256)
				return err_set(e, E_USAGE, "option -%c: %s; try "
				    "'smtpsend --help'", optopt, c == ':' ?
				    "missing argument" : "unknown option");
			return err_set(e, E_USAGE, "%s: unknown option or "
			    "missing argument; try 'smtpsend --help'",
			    argv[optind - 1]);
		}
		if (one_option(c, optarg, o, e) < 0)
			return -1;
	}
	for (i = optind; i < argc; i++)
		if (addr_parse_list(argv[i], "recipient", &o->to, &o->nto,
		    e) < 0)
			return -1;
	if (check_delivery(o, e) < 0)
		return -1;
	if (o->nto + o->ncc + o->nbcc == 0 && !o->print && !o->flush_dir)
		return err_set(e, E_USAGE,
		    "no recipients given; try 'smtpsend --help'");
	if (o->port == 0)
		o->port = o->tls == TLS_IMPLICIT ? 465 : 25;
	if (check_utf8_local(&o->from, o->have_from, "--from", e) < 0 ||
	    check_utf8_local(&o->envelope_from, o->have_envelope_from,
	    "--envelope-from", e) < 0 ||
	    check_utf8_local(o->to, o->nto, "recipient", e) < 0 ||
	    check_utf8_local(o->cc, o->ncc, "--cc", e) < 0 ||
	    check_utf8_local(o->bcc, o->nbcc, "--bcc", e) < 0)
		return -1;
	return CLI_RUN;
}

static void
release_list(struct mailbox *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		mailbox_release(&v[i]);
	free(v);
}

void
options_release(struct options *o)
{
	if (o->have_from)
		mailbox_release(&o->from);
	if (o->have_envelope_from)
		mailbox_release(&o->envelope_from);
	release_list(o->to, o->nto);
	release_list(o->cc, o->ncc);
	release_list(o->bcc, o->nbcc);
	memset(o, 0, sizeof(*o));
}
