/*
 * Command-line parsing.  Long options carry the contract (design.md
 * section 2); short options follow mail(1) and sendmail habits.
 */
#include <ctype.h>
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
	OPT_HELP, OPT_VERSION,
	/* credentials and TLS identity */
	OPT_PASSWORD_FILE, OPT_PASSWORD_FD, OPT_PASSWORD_ENV, OPT_PASSWORD_CMD,
	OPT_AUTH, OPT_OAUTH2_TOKEN_CMD, OPT_SASL_SERVICE, OPT_CERT, OPT_KEY,
	OPT_CERT_PASSWORD_FILE, OPT_TLS_PIN, OPT_TLS_SERVERNAME, OPT_TLS_MIN,
	OPT_TLS_PRIORITY, OPT_TLS_SESSION_CACHE, OPT_SERVERINFO,
	/* SMTP extensions */
	OPT_DSN_NOTIFY, OPT_DSN_RET, OPT_ENVID, OPT_DSN_REQUIRED,
	OPT_REQUIRE_TLS, OPT_NO_CHUNKING,
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
	{ "user", required_argument, NULL, 'u' },
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
	{ "password-fd", required_argument, NULL, OPT_PASSWORD_FD },
	{ "password-env", required_argument, NULL, OPT_PASSWORD_ENV },
	{ "password-cmd", required_argument, NULL, OPT_PASSWORD_CMD },
	{ "auth", required_argument, NULL, OPT_AUTH },
	{ "oauth2-token-cmd", required_argument, NULL, OPT_OAUTH2_TOKEN_CMD },
	{ "sasl-service", required_argument, NULL, OPT_SASL_SERVICE },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "cert-password-file", required_argument, NULL,
	    OPT_CERT_PASSWORD_FILE },
	{ "tls-pin", required_argument, NULL, OPT_TLS_PIN },
	{ "tls-servername", required_argument, NULL, OPT_TLS_SERVERNAME },
	{ "tls-min", required_argument, NULL, OPT_TLS_MIN },
	{ "tls-priority", required_argument, NULL, OPT_TLS_PRIORITY },
	{ "tls-session-cache", required_argument, NULL,
	    OPT_TLS_SESSION_CACHE },
	{ "serverinfo", no_argument, NULL, OPT_SERVERINFO },
	{ "pickup-dir", required_argument, NULL, OPT_PICKUP_DIR },
	{ "queue-on-failure", required_argument, NULL, OPT_QUEUE_ON_FAILURE },
	{ "flush", required_argument, NULL, OPT_FLUSH },
	{ "max-age", required_argument, NULL, OPT_MAX_AGE },
	{ "on-rcpt-reject", required_argument, NULL, OPT_ON_RCPT_REJECT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "dsn-notify", required_argument, NULL, OPT_DSN_NOTIFY },
	{ "dsn-ret", required_argument, NULL, OPT_DSN_RET },
	{ "envid", required_argument, NULL, OPT_ENVID },
	{ "dsn-required", no_argument, NULL, OPT_DSN_REQUIRED },
	{ "no-chunking", no_argument, NULL, OPT_NO_CHUNKING },
	{ "require-tls", no_argument, NULL, OPT_REQUIRE_TLS },
	{ NULL, 0, NULL, 0 }
};

static int ident_option(int c, const char *arg, struct options *o,
    struct err *e);
static int tls_option(int c, const char *arg, struct options *o,
    struct err *e);

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
"      --tls-pin sha256//B64  require this server public key (repeatable)\n"
"      --tls-servername NAME  name for SNI and the certificate check\n"
"      --tls-min 1.2|1.3   lowest TLS version accepted\n"
"      --tls-priority STR  GnuTLS priority string\n"
"      --tls-session-cache DIR  keep TLS sessions here to resume them\n"
"Client identity:\n"
"      --cert FILE|URI     client certificate (PEM, DER, PKCS#12, pkcs11:)\n"
"      --key FILE          its private key (PEM or DER, may be encrypted)\n"
"      --cert-password-file FILE  password of the key or PKCS#12 file\n"
"Authentication:\n"
"  -u, --user NAME         log in as NAME (SASL)\n"
"      --password-file FILE, --password-fd N, --password-env VAR,\n"
"      --password-cmd CMD  where the password comes from (else ~/.netrc,\n"
"                          else a prompt on the terminal)\n"
"      --auth MECH[,MECH]  mechanisms to use, in order (default: the best)\n"
"      --oauth2-token-cmd CMD  OAuth 2.0 token for XOAUTH2/OAUTHBEARER\n"
"      --sasl-service NAME service for GSSAPI (default smtp)\n"
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
"      --no-chunking       send with DATA even when the server offers BDAT\n"
"Delivery:\n"
"      --pickup-dir DIR    write the message into DIR instead of sending it\n"
"      --queue-on-failure DIR  on a temporary failure keep it in DIR, exit 0\n"
"      --flush DIR         send the messages queued in DIR\n"
"      --max-age TIME      with --flush: give up after TIME (default 5d)\n"
"      --on-rcpt-reject abort|continue  when a recipient is refused (abort)\n"
"Output:\n"
"      --print             write the message to standard output, do not send\n"
"      --serverinfo        show what the server offers; send nothing\n"
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

/*
 * "sha256//" and the base64 of a SHA-256 digest (44 characters, one '='):
 * the form curl and our --serverinfo print.
 */
static int
check_pin(const char *s, struct err *e)
{
	const char *b = s + 8;
	size_t i;

	if (strncmp(s, "sha256//", 8) != 0 || strlen(b) != 44 || b[43] != '=')
		goto bad;
	for (i = 0; i < 43; i++)
		if (!isalnum((unsigned char)b[i]) && b[i] != '+' && b[i] != '/')
			goto bad;
	return 0;
bad:
	return err_set(e, E_USAGE, "--tls-pin: \"%s\" is not of the form "
	    "sha256//BASE64 (see --serverinfo)", s);
}

/* MECH[,MECH...]: SASL names are upper-case letters, digits, - and _. */
static int
check_mech_list(const char *s, struct err *e)
{
	const char *p;

	for (p = s; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    *p != ',')
			return err_set(e, E_USAGE, "--auth: \"%s\" is not a "
			    "comma-separated list of SASL mechanisms", s);
	if (*s == '\0')
		return err_set(e, E_USAGE, "--auth: empty list");
	return 0;
}

static int
set_password_source(const char **slot, const char *arg, struct options *o,
    struct err *e)
{
	if (o->password_file || o->password_env || o->password_cmd ||
	    o->password_fd >= 0)
		return err_set(e, E_USAGE, "give at most one of --password-file, "
		    "--password-fd, --password-env and --password-cmd");
	*slot = arg;
	return 0;
}

/* Options of the credentials and TLS identity groups. */
static int
ident_option(int c, const char *arg, struct options *o, struct err *e)
{
	const char *fd_src = NULL;

	switch (c) {
	case 'u':
		o->user = arg;
		return addr_check_text(arg, "--user", e);
	case OPT_PASSWORD_FILE:
		return set_password_source(&o->password_file, arg, o, e);
	case OPT_PASSWORD_ENV:
		return set_password_source(&o->password_env, arg, o, e);
	case OPT_PASSWORD_CMD:
		return set_password_source(&o->password_cmd, arg, o, e);
	case OPT_PASSWORD_FD:
		if (set_password_source(&fd_src, arg, o, e) < 0)
			return -1;
		return parse_int(arg, 0, INT_MAX, "--password-fd",
		    &o->password_fd, e);
	case OPT_AUTH:
		o->auth = arg;
		return check_mech_list(arg, e);
	case OPT_OAUTH2_TOKEN_CMD:
		o->oauth2_token_cmd = arg;
		return 0;
	case OPT_SASL_SERVICE:
		o->sasl_service = arg;
		return addr_check_text(arg, "--sasl-service", e);
	case OPT_CERT:
		o->cert = arg;
		return 0;
	case OPT_KEY:
		o->key = arg;
		return 0;
	case OPT_CERT_PASSWORD_FILE:
		o->cert_password_file = arg;
		return 0;
	default:
		return tls_option(c, arg, o, e);
	}
}

static int
tls_option(int c, const char *arg, struct options *o, struct err *e)
{
	switch (c) {
	case OPT_TLS_PIN:
		if (check_pin(arg, e) < 0)
			return -1;
		o->tls_pins = xreallocarray(o->tls_pins, o->ntls_pins + 1,
		    sizeof(*o->tls_pins));
		o->tls_pins[o->ntls_pins++] = arg;
		return 0;
	case OPT_TLS_SERVERNAME:
		o->tls_servername = arg;
		return addr_check_text(arg, "--tls-servername", e);
	case OPT_TLS_MIN:
		if (strcmp(arg, "1.2") == 0)
			o->tls_min = 12;
		else if (strcmp(arg, "1.3") == 0)
			o->tls_min = 13;
		else
			return err_set(e, E_USAGE, "--tls-min: \"%s\" is not "
			    "1.2 or 1.3", arg);
		return 0;
	case OPT_TLS_PRIORITY:
		o->tls_priority = arg;
		return 0;
	case OPT_TLS_SESSION_CACHE:
		o->tls_session_cache = arg;
		return 0;
	case OPT_SERVERINFO:
		o->serverinfo = 1;
		return 0;
	default:
		return err_set(e, E_USAGE, "try 'smtpsend --help'");
	}
}

/* Combinations that cannot work, found before anything is read. */
static int
check_ident(const struct options *o, struct err *e)
{
	if (o->key != NULL && o->cert == NULL)
		return err_set(e, E_USAGE, "--key needs --cert");
	if (o->cert_password_file != NULL && o->cert == NULL)
		return err_set(e, E_USAGE, "--cert-password-file needs --cert");
	if (o->tls == TLS_NONE && (o->cert || o->ntls_pins ||
	    o->tls_servername || o->tls_session_cache))
		return err_set(e, E_USAGE, "--tls none contradicts the TLS "
		    "options given");
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
	case OPT_NO_CHUNKING:
		o->no_chunking = 1;
		return 0;
	case OPT_DSN_REQUIRED:
		o->dsn_required = 1;
		return 0;
	case OPT_REQUIRE_TLS:
		o->require_tls = 1;
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
		return ident_option(c, arg, o, e);
	}
}

/* The delivery options that exclude one another. */
static int
check_delivery(struct options *o, struct err *e)
{
	const char *other = o->print ? "--print" : o->pickup_dir ?
	    "--pickup-dir" : o->queue_dir ? "--queue-on-failure" : NULL;

	if (o->serverinfo && (other != NULL || o->flush_dir != NULL))
		return err_set(e, E_USAGE, "--serverinfo sends nothing: it "
		    "cannot be combined with %s", other ? other : "--flush");
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
	o->password_fd = -1;
	o->sasl_service = "smtp";
	opterr = 0;
	while ((c = getopt_long(argc, argv, "46f:c:b:s:vqu:", longopts,
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
	if (check_ident(o, e) < 0 || check_delivery(o, e) < 0)
		return -1;
	if (o->nto + o->ncc + o->nbcc == 0 && !o->print && !o->serverinfo &&
	    o->flush_dir == NULL)
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
	free(o->tls_pins);
	memset(o, 0, sizeof(*o));
}
