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
#include <strings.h>
#include <sys/socket.h>

#include "addr.h"
#include "cli.h"
#include "err.h"
#include "log.h"
#include "xmalloc.h"

enum {
	OPT_HOST = 256, OPT_PORT, OPT_HELO, OPT_TIMEOUT, OPT_TLS, OPT_CAFILE,
	OPT_INSECURE, OPT_ENVELOPE_FROM, OPT_TO, OPT_BODY_FILE, OPT_PRINT,
	OPT_HELP, OPT_VERSION, OPT_DSN_NOTIFY, OPT_DSN_RET, OPT_ENVID,
	OPT_DSN_REQUIRED, OPT_REQUIRE_TLS
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
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "dsn-notify", required_argument, NULL, OPT_DSN_NOTIFY },
	{ "dsn-ret", required_argument, NULL, OPT_DSN_RET },
	{ "envid", required_argument, NULL, OPT_ENVID },
	{ "dsn-required", no_argument, NULL, OPT_DSN_REQUIRED },
	{ "require-tls", no_argument, NULL, OPT_REQUIRE_TLS },
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
"Extensions:\n"
"      --dsn-notify WHEN   never, or a list of success,failure,delay\n"
"      --dsn-ret full|hdrs what a delivery notification returns\n"
"      --envid ID          envelope identifier for notifications\n"
"      --dsn-required      fail (69) when the server has no DSN\n"
"      --require-tls       REQUIRETLS: TLS on every hop, or no delivery\n"
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

/* RFC 3461 section 4.1: "NEVER", or any of SUCCESS, FAILURE, DELAY. */
static int
parse_dsn_notify(const char *s, unsigned *out, struct err *e)
{
	static const char *const words[] = { "never", "success", "failure",
		"delay" };
	const char *p = s, *end;
	size_t i, n;

	*out = 0;
	for (;;) {
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strlen(words[i]) == n &&
			    strncasecmp(p, words[i], n) == 0)
				break;
		if (i == sizeof(words) / sizeof(words[0]))
			return err_set(e, E_USAGE, "--dsn-notify: \"%s\" is "
			    "not \"never\" or a comma-separated list of "
			    "success, failure, delay", s);
		*out |= 1u << i;
		if (end == NULL)
			break;
		p = end + 1;
	}
	if ((*out & DSN_NOTIFY_NEVER) && *out != DSN_NOTIFY_NEVER)
		return err_set(e, E_USAGE, "--dsn-notify: \"never\" cannot be "
		    "combined with other values");
	return 0;
}

static int
parse_dsn_ret(const char *s, enum dsn_ret *out, struct err *e)
{
	if (strcasecmp(s, "full") == 0)
		*out = DSN_RET_FULL;
	else if (strcasecmp(s, "hdrs") == 0)
		*out = DSN_RET_HDRS;
	else
		return err_set(e, E_USAGE, "--dsn-ret: \"%s\" is not one of "
		    "full, hdrs", s);
	return 0;
}

/* RFC 3461 section 4.4: printable ASCII, at most 100 characters. */
static int
check_envid(const char *s, struct err *e)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < ' ' || s[i] > '~')
			return err_set(e, E_USAGE, "--envid: only printable "
			    "ASCII characters are allowed (RFC 3461)");
	if (i == 0 || i > 100)
		return err_set(e, E_USAGE, "--envid: must have 1 to 100 "
		    "characters (RFC 3461), not %zu", i);
	return 0;
}

int
options_want_dsn(const struct options *o)
{
	return o->dsn_notify != 0 || o->dsn_ret != DSN_RET_UNSET ||
	    o->envid != NULL;
}

/* RFC 8689 section 4.1: REQUIRETLS needs a verified TLS connection. */
static int
check_require_tls(const struct options *o, struct err *e)
{
	if (!o->require_tls)
		return 0;
	if (o->tls == TLS_NONE)
		return err_set(e, E_USAGE, "--require-tls cannot be used with "
		    "--tls none");
	if (o->insecure)
		return err_set(e, E_USAGE, "--require-tls cannot be used with "
		    "--insecure: REQUIRETLS needs a verified certificate "
		    "(RFC 8689)");
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
	case OPT_DSN_NOTIFY:
		return parse_dsn_notify(arg, &o->dsn_notify, e);
	case OPT_DSN_RET:
		return parse_dsn_ret(arg, &o->dsn_ret, e);
	case OPT_ENVID:
		o->envid = arg;
		return check_envid(arg, e);
	case OPT_DSN_REQUIRED:
		o->dsn_required = 1;
		return 0;
	case OPT_REQUIRE_TLS:
		o->require_tls = 1;
		return 0;
	default:
		return err_set(e, E_USAGE, "try 'smtpsend --help'");
	}
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
	if (o->nto + o->ncc + o->nbcc == 0 && !o->print)
		return err_set(e, E_USAGE,
		    "no recipients given; try 'smtpsend --help'");
	if (o->port == 0)
		o->port = o->tls == TLS_IMPLICIT ? 465 : 25;
	if (check_require_tls(o, e) < 0)
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
