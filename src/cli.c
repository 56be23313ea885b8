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
#include "aliases.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "charset.h"
#include "log.h"
#include "mimetype.h"
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
	OPT_REQUIRE_TLS, OPT_NO_CHUNKING, OPT_BINARY_ATTACHMENTS,
	/* delivery */
	OPT_PICKUP_DIR, OPT_QUEUE_ON_FAILURE, OPT_FLUSH, OPT_MAX_AGE,
	OPT_ON_RCPT_REJECT
};

/* Configuration, sendmail mode and results (values apart from the above). */
enum {
	OPT_SENDMAIL = 768, OPT_JSON, OPT_SYSLOG, OPT_LOG, OPT_PROGRESS,
	OPT_NO_PROGRESS, OPT_LOCAL_DOMAIN, OPT_ALIASES, OPT_FULL_NAME,
	OPT_CONF_END
};

/* MIME composition and whole-message input (values apart from the above). */
enum {
	OPT_ATTACH_TYPE = 512, OPT_ATTACH_NAME, OPT_HTML, OPT_INLINE,
	OPT_REPLY_TO, OPT_PRIORITY, OPT_CHARSET, OPT_RAW
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
	{ "attach", required_argument, NULL, 'a' },
	{ "attach-type", required_argument, NULL, OPT_ATTACH_TYPE },
	{ "attach-name", required_argument, NULL, OPT_ATTACH_NAME },
	{ "html", required_argument, NULL, OPT_HTML },
	{ "inline", required_argument, NULL, OPT_INLINE },
	{ "header", required_argument, NULL, 'H' },
	{ "reply-to", required_argument, NULL, OPT_REPLY_TO },
	{ "priority", required_argument, NULL, OPT_PRIORITY },
	{ "charset", required_argument, NULL, OPT_CHARSET },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "read-recipients", no_argument, NULL, 't' },
	{ "ignore-dots", no_argument, NULL, 'i' },
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
	{ "help", optional_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "dsn-notify", required_argument, NULL, OPT_DSN_NOTIFY },
	{ "dsn-ret", required_argument, NULL, OPT_DSN_RET },
	{ "envid", required_argument, NULL, OPT_ENVID },
	{ "dsn-required", no_argument, NULL, OPT_DSN_REQUIRED },
	{ "no-chunking", no_argument, NULL, OPT_NO_CHUNKING },
	{ "binary-attachments", no_argument, NULL, OPT_BINARY_ATTACHMENTS },
	{ "require-tls", no_argument, NULL, OPT_REQUIRE_TLS },
	{ "config", required_argument, NULL, 'C' },
	{ "account", required_argument, NULL, 'A' },
	{ "sendmail", no_argument, NULL, OPT_SENDMAIL },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "syslog", optional_argument, NULL, OPT_SYSLOG },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "local-domain", required_argument, NULL, OPT_LOCAL_DOMAIN },
	{ "aliases", required_argument, NULL, OPT_ALIASES },
	{ "full-name", required_argument, NULL, OPT_FULL_NAME },
	{ NULL, 0, NULL, 0 }
};

static int ident_option(int c, const char *arg, struct options *o,
    struct err *e);
static int tls_option(int c, const char *arg, struct options *o,
    struct err *e);
static int mime_option(int c, const char *arg, struct options *o,
    struct err *e);

static const char *const tls_names[] = { "auto", "starttls", "implicit",
	"none" };

const char *
tls_mode_name(enum tls_mode m)
{
	return tls_names[m];
}

/* --help: the options most runs need, on one screen. */
static void
usage_common(void)
{
	fputs(
"Usage: smtpsend [OPTION]... RECIPIENT...    (the body on standard input)\n"
"       smtpsend -t [OPTION]... < MESSAGE    (recipients from the message)\n"
"\n"
"  -f, --from ADDR         sender (From: and envelope)\n"
"  -s, --subject TEXT      Subject: header\n"
"  -c, --cc ADDR           copy to ADDR; -b, --bcc ADDR: blind copy\n"
"  -a, --attach FILE       attach FILE (repeatable)\n"
"      --host HOST         SMTP server (default localhost)\n"
"      --port N            port (default 465 with --tls implicit, else 25)\n"
"      --tls MODE          auto, starttls, implicit or none (default auto:\n"
"                          STARTTLS required unless the host is loopback)\n"
"  -u, --user NAME         log in as NAME; the password from --password-file,\n"
"                          --password-cmd, --password-env or ~/.netrc\n"
"  -C, --config FILE       config file (default ~/.config/smtpsend/config,\n"
"                          else /etc/smtpsend.conf)\n"
"  -A, --account NAME      use this account of the config file\n"
"      --json              print the result as one JSON object\n"
"      --print             write the message to standard output, do not send\n"
"  -v, --verbose           show the SMTP conversation (secrets hidden)\n"
"  -q, --quiet             no warnings\n"
"      --help=all          every option, by group (also: man smtpsend)\n"
"      --version           version and library versions\n"
"\n"
"Exit status 0 means accepted; 75 means try again later; see smtpsend(1).\n",
	    stdout);
}

void
cli_usage(int all)
{
	if (!all) {
		usage_common();
		return;
	}
	fputs(
"Usage: smtpsend [OPTION]... RECIPIENT...\n"
"Send standard input (the message body) as a mail over SMTP.\n"
"Every option is also a config file key and an SMTPSEND_ variable.\n"
"\n"
"Server:\n"
"      --host HOST         SMTP server (default localhost)\n"
"      --port N            port (default 465 with --tls implicit, else 25)\n"
"      --helo NAME         name to greet with (default: this host's FQDN)\n"
"      --timeout SECONDS   deadline for the whole run (default 100)\n"
"  -4, --ipv4, -6, --ipv6 use only IPv4 / only IPv6\n"
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
"      --sasl-service NAME service for GSSAPI (default smtp)\n",
	    stdout);
	/* Two pieces: C11 compilers need not take longer string literals. */
	fputs(
"Envelope and headers:\n"
"  -f, --from ADDR         From: header and envelope sender\n"
"      --envelope-from ADDR  envelope sender only (<> for none)\n"
"      --to ADDR           recipient (also: positional arguments)\n"
"  -c, --cc ADDR           Cc: recipient\n"
"  -b, --bcc ADDR          blind recipient (never written in the message)\n"
"  -s, --subject TEXT      Subject: header\n"
"      --reply-to ADDR     Reply-To: header\n"
"  -H, --header 'NAME: VALUE'  add a header field\n"
"      --priority LEVEL    high, normal or low\n"
"Body and parts:\n"
"      --body-file FILE    read the body from FILE, not standard input\n"
"      --charset NAME      the body's character set (default UTF-8)\n"
"      --html FILE         HTML version of the body\n"
"      --inline FILE       image for the HTML, referred to as cid:FILENAME\n"
"  -a, --attach FILE       attach FILE; after it, --attach-type TYPE and\n"
"                          --attach-name NAME override type and name\n"
"Whole-message input:\n"
"      --raw               standard input is a complete message\n"
"  -t, --read-recipients   ... and its To, Cc and Bcc are the recipients\n"
"  -i, --ignore-dots, -oi  accepted (a lone dot never ends the input)\n"
"Extensions:\n"
"      --dsn-notify WHEN   never, or a list of success,failure,delay\n"
"      --dsn-ret full|hdrs what a delivery notification returns\n"
"      --envid ID          envelope identifier for notifications\n"
"      --dsn-required      fail (69) when the server has no DSN\n"
"      --require-tls       REQUIRETLS: TLS on every hop, or no delivery\n"
"      --no-chunking       send with DATA even when the server offers BDAT\n"
"      --binary-attachments  attachments unencoded (BINARYMIME) if possible\n"
"Configuration:\n"
"  -C, --config FILE       config file instead of the default ones\n"
"  -A, --account NAME      account of the config file to use\n"
"      --local-domain DOM  domain for bare local recipients such as root\n"
"      --aliases FILE      /etc/aliases-style map of local names\n"
"      --sendmail          sendmail's command line (as if called sendmail)\n"
"      --full-name NAME    display name for a From: smtpsend writes (-F)\n"
"Results and logging:\n"
"      --json              one JSON object with the result on stdout\n"
"      --syslog[=FACILITY] one line per message to syslog (default mail)\n"
"      --log FILE          one line per message appended to FILE\n"
"      --progress, --no-progress  progress on a terminal over 1 MiB\n"
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
"      --help[=all]        the common options [every option]\n"
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
	/* A source from a higher level (config < environment < command
	   line) replaces the one from below instead of conflicting. */
	if (o->pw_layer != o->layer) {
		o->password_file = o->password_env = o->password_cmd = NULL;
		o->password_fd = -1;
		o->pw_layer = o->layer;
	}
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
		return mime_option(c, arg, o, e);
	}
}

/*
 * -a and --inline: a part.  --attach-type and --attach-name change the
 * part named just before them, so any file name works, whatever
 * characters it has.
 */
static int
add_part(struct options *o, const char *path, int is_inline)
{
	struct attach_opt *a;

	o->parts = xreallocarray(o->parts, o->nparts + 1, sizeof(*o->parts));
	a = &o->parts[o->nparts++];
	memset(a, 0, sizeof(*a));
	a->path = path;
	a->is_inline = is_inline;
	return 0;
}

static int
part_modifier(struct options *o, int c, const char *arg, struct err *e)
{
	const char *opt = c == OPT_ATTACH_TYPE ? "--attach-type" :
	    "--attach-name";
	struct attach_opt *a;

	if (o->nparts == 0)
		return err_set(e, E_USAGE, "%s must follow the -a or --inline "
		    "it applies to", opt);
	a = &o->parts[o->nparts - 1];
	if (addr_check_text(arg, opt, e) < 0)
		return -1;
	if ((c == OPT_ATTACH_TYPE ? a->type : a->name) != NULL)
		return err_set(e, E_USAGE, "%s given twice for %s", opt,
		    a->path);
	if (c == OPT_ATTACH_NAME) {
		a->name = arg;
		return 0;
	}
	if (!mimetype_valid(arg) || strlen(arg) > 200)
		return err_set(e, E_USAGE, "--attach-type: \"%s\" is not a "
		    "media type such as image/png or text/plain; "
		    "charset=iso-8859-1", arg);
	a->type = arg;
	return 0;
}

static int
parse_priority(const char *s, enum msg_priority *p, struct err *e)
{
	static const char *const names[] = { "high", "normal", "low" };
	static const enum msg_priority values[] = { PRIO_HIGH, PRIO_NORMAL,
		PRIO_LOW };
	size_t i;

	for (i = 0; i < 3; i++) {
		if (strcmp(s, names[i]) == 0) {
			*p = values[i];
			return 0;
		}
	}
	return err_set(e, E_USAGE, "--priority: \"%s\" is not one of high, "
	    "normal, low", s);
}

/* -H: "Name: value", the name RFC 5322 ftext (section 3.6.8). */
static int
add_header(struct options *o, const char *arg, struct err *e)
{
	size_t n = strcspn(arg, ":"), i;

	if (addr_check_text(arg, "--header", e) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)arg[i] < 33 || (unsigned char)arg[i] > 126)
			break;
	if (n == 0 || i < n || arg[n] != ':' || n > 76)
		return err_set(e, E_USAGE, "--header \"%s\": expected "
		    "'Name: value', the name without spaces", arg);
	o->headers = xreallocarray(o->headers, o->nheaders + 1,
	    sizeof(*o->headers));
	o->headers[o->nheaders++] = arg;
	return 0;
}

static int
mime_option(int c, const char *arg, struct options *o, struct err *e)
{
	switch (c) {
	case 'a':
	case OPT_INLINE:
		return add_part(o, arg, c == OPT_INLINE);
	case OPT_ATTACH_TYPE:
	case OPT_ATTACH_NAME:
		return part_modifier(o, c, arg, e);
	case OPT_HTML:
		o->html = arg;
		return 0;
	case 'H':
		return add_header(o, arg, e);
	case OPT_REPLY_TO:
		return addr_parse_list(arg, "--reply-to", &o->reply_to,
		    &o->nreply_to, e);
	case OPT_PRIORITY:
		if (addr_check_text(arg, "--priority", e) < 0)
			return -1;
		return parse_priority(arg, &o->priority, e);
	case OPT_CHARSET:
		o->charset = arg;
		if (addr_check_text(arg, "--charset", e) < 0)
			return -1;
		if (!charset_name_ok(arg))
			return err_set(e, E_USAGE, "--charset: \"%s\" is not "
			    "a character set name", arg);
		return 0;
	case 't':
		o->read_rcpt = 1;
		/* FALLTHROUGH */
	case OPT_RAW:
		o->raw = 1;
		return 0;
	case 'i':
		return 0;	/* only a lone dot's meaning: never special */
	case 'o':
		if (strcmp(arg, "i") == 0)
			return 0;
		return err_set(e, E_USAGE, "-o%s: only -oi is supported", arg);
	default:
		return err_set(e, E_USAGE, "try 'smtpsend --help'");
	}
}

/* The value of a -H field, after its colon and blanks. */
static const char *
header_value(const char *h)
{
	const char *v = strchr(h, ':') + 1;

	return v + strspn(v, " \t");
}

static int
header_is(const char *h, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(h, name, n) == 0 && h[n] == ':';
}

/*
 * Fields smtpsend writes itself cannot be added by accident: those it
 * derives from other options, or that make the MIME structure, are
 * refused with the option to use instead; Subject and Reply-To are the
 * same as -s and --reply-to; Date and Message-ID replace smtpsend's own.
 */
static int
header_owned(struct options *o, const char *h, struct err *e)
{
	static const char *const refused[][2] = {
		{ "From", "use -f (and --envelope-from for the envelope)" },
		{ "To", "use --to: recipients are also the envelope" },
		{ "Cc", "use --cc: recipients are also the envelope" },
		{ "Bcc", "use --bcc: it is never written into the message" },
		{ "MIME-Version", "smtpsend writes the MIME structure" },
	};
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (header_is(h, refused[i][0]))
			return err_set(e, E_USAGE, "--header %s: %s",
			    refused[i][0], refused[i][1]);
	if (strncasecmp(h, "Content-", 8) == 0)
		return err_set(e, E_USAGE, "--header %.*s: smtpsend writes "
		    "the MIME structure; see --attach-type and --charset",
		    (int)strcspn(h, ":"), h);
	if (header_is(h, "Subject")) {
		if (o->subject != NULL)
			return err_set(e, E_USAGE, "the subject is given twice "
			    "(-s and --header Subject)");
		o->subject = header_value(h);
		return 1;
	}
	if (header_is(h, "Reply-To")) {
		if (o->nreply_to > 0)
			return err_set(e, E_USAGE, "Reply-To is given twice "
			    "(--reply-to and --header Reply-To)");
		if (addr_parse_list(header_value(h), "--header Reply-To",
		    &o->reply_to, &o->nreply_to, e) < 0)
			return -1;
		return 1;
	}
	return 0;
}

/* What RFC 5322 section 3.6 allows at most once, and the like. */
static int
header_once(const char *h)
{
	static const char *const once[] = { "Date", "Sender", "Message-ID",
		"In-Reply-To", "References", "X-Priority", "Importance" };
	size_t i;

	for (i = 0; i < sizeof(once) / sizeof(once[0]); i++)
		if (header_is(h, once[i]))
			return 1;
	return 0;
}

static int
header_value_ok(const char *h, struct err *e)
{
	const char *v = header_value(h), *p;
	struct mailbox *list = NULL;
	size_t n = 0, i, name = strcspn(h, ":");
	int rc = 0;

	if (header_is(h, "Message-ID") && (v[0] != '<' || v[strlen(v) - 1] !=
	    '>' || strchr(v, '@') == NULL || strchr(v, ' ') != NULL))
		return err_set(e, E_DATA, "--header Message-ID: \"%s\" is not "
		    "of the form <id@domain>", v);
	if (msg_is_address_field(h, name) && *v != '\0') {
		rc = addr_parse_list(v, h, &list, &n, e);
		for (i = 0; i < n; i++)
			mailbox_release(&list[i]);
		free(list);
		return rc;
	}
	/* ASCII text is folded only at spaces: every word must fit. */
	for (p = v; *p != '\0'; p += i + strspn(p + i, " ")) {
		i = strcspn(p, " ");
		if (i + name + 2 > HDR_LINE_MAX)
			return err_set(e, E_DATA, "--header %.*s: a word of "
			    "%zu characters cannot be folded into lines of %d",
			    (int)name, h, i, HDR_LINE_MAX);
	}
	return 0;
}

static int
check_headers(struct options *o, struct err *e)
{
	size_t i, j, kept = 0;
	int rc;

	for (i = 0; i < o->nheaders; i++) {
		if ((rc = header_owned(o, o->headers[i], e)) < 0)
			return -1;
		if (rc > 0)
			continue;	/* turned into -s or --reply-to */
		if (header_value_ok(o->headers[i], e) < 0)
			return -1;
		for (j = 0; j < kept && header_once(o->headers[i]); j++)
			if (strncasecmp(o->headers[j], o->headers[i],
			    strcspn(o->headers[i], ":") + 1) == 0)
				return err_set(e, E_USAGE, "--header %.*s is "
				    "given twice", (int)strcspn(o->headers[i],
				    ":"), o->headers[i]);
		o->headers[kept++] = o->headers[i];
	}
	o->nheaders = kept;
	return 0;
}

/* Checks that need the whole command line. */
static int
mime_check(struct options *o, struct err *e)
{
	size_t i;

	if (check_headers(o, e) < 0)
		return -1;
	for (i = 0; i < o->nparts; i++)
		if (o->parts[i].is_inline && o->html == NULL)
			return err_set(e, E_USAGE, "--inline %s: inline parts "
			    "belong to the HTML; give --html too",
			    o->parts[i].path);
	if (o->raw && (o->subject || o->html || o->nparts || o->nheaders ||
	    o->nreply_to || o->priority != PRIO_UNSET || o->charset))
		return err_set(e, E_USAGE, "%s: the message is taken as it "
		    "is; -s, -a, --inline, --html, -H, --reply-to, --priority "
		    "and --charset cannot be combined with it",
		    o->read_rcpt ? "-t" : "--raw");
	return 0;
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
	case OPT_BINARY_ATTACHMENTS:
		o->binary_attachments = 1;
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

/*
 * Issue 5: the config file and the environment feed the same code as the
 * command line.  Levels, lowest first: the defaults section, the account
 * (its ancestors first), the environment, the command line.  A single
 * value from a higher level replaces the lower one; repeatable options
 * (--to, --bcc, --tls-pin, ...) add to what the lower levels gave.
 */

/* What must be known before the layers are applied. */
struct prescan {
	const char *config;	/* -C */
	const char *account;	/* -A */
	const char *from;	/* -f, to choose an account by */
	const char *author;	/* the From of a whole message, likewise */
	int verbose, quiet;
	int help, version;
};

#ifndef SMTPSEND_SYSCONF
#define SMTPSEND_SYSCONF "/etc/smtpsend.conf"
#endif

/* Options that choose the configuration itself have no key. */
static int
keyless(const char *name)
{
	static const char *const names[] = { "help", "version", "config",
		"account", "sendmail", "flush" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

static const struct option *
find_long(const char *name)
{
	const struct option *p;

	for (p = longopts; p->name != NULL; p++)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

static int
syslog_facility_ok(const char *s)
{
	static const char *const names[] = { "mail", "user", "daemon",
		"local0", "local1", "local2", "local3", "local4", "local5",
		"local6", "local7" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return 1;
	return 0;
}

/* The options of this group: configuration and results. */
static int
conf_option(int c, const char *arg, struct options *o, struct err *e)
{
	switch (c) {
	case 'C':
	case 'A':
	case OPT_SENDMAIL:
		return 0;	/* used by the prescan */
	case OPT_JSON:
		o->json = 1;
		return 0;
	case OPT_SYSLOG:
		if (arg != NULL && !syslog_facility_ok(arg))
			return err_set(e, E_USAGE, "--syslog: \"%s\" is not one "
			    "of mail, user, daemon, local0 ... local7", arg);
		o->syslog_facility = arg != NULL ? arg : "mail";
		return 0;
	case OPT_LOG:
		o->log_file = arg;
		return 0;
	case OPT_PROGRESS:
	case OPT_NO_PROGRESS:
		o->progress = c == OPT_PROGRESS;
		return 0;
	case OPT_LOCAL_DOMAIN:
		o->local_domain = arg;
		return addr_check_text(arg, "--local-domain", e);
	case OPT_ALIASES:
		o->aliases = arg;
		return 0;
	case OPT_FULL_NAME:
		o->full_name = arg;
		return addr_check_text(arg, "--full-name", e);
	default:
		return err_set(e, E_SOFTWARE, "option %d has no handler", c);
	}
}

static int
add_parsed(int c, const char *arg, const char *what, struct options *o,
    struct err *e)
{
	if (c == 'c')
		return addr_parse_list(arg, what, &o->cc, &o->ncc, e);
	if (c == 'b')
		return addr_parse_list(arg, what, &o->bcc, &o->nbcc, e);
	return addr_parse_list(arg, what, &o->to, &o->nto, e);
}

/*
 * --to, --cc, --bcc and arguments: local names ("root", "root@localhost")
 * wait for the aliases and local-domain of every level.
 */
static int
add_rcpt(int c, const char *arg, const char *what, struct options *o,
    struct err *e)
{
	size_t n = strlen(arg), k = aliases_local_name(arg, n);
	struct bare_rcpt *b;

	if (k == 0)
		return add_parsed(c, arg, what, o, e);
	o->bare = xreallocarray(o->bare, o->nbare + 1, sizeof(*o->bare));
	b = &o->bare[o->nbare++];
	b->name = xstrndup(arg, k);
	b->host = k < n ? arg + k + 1 : NULL;
	b->kind = c == 'c' ? 'c' : c == 'b' ? 'b' : 't';
	return 0;
}

/* Options that build a message, which a whole message cannot take. */
static int
composes(int c)
{
	switch (c) {
	case 's':
	case 'a':
	case 'H':
	case OPT_ATTACH_TYPE:
	case OPT_ATTACH_NAME:
	case OPT_HTML:
	case OPT_INLINE:
	case OPT_REPLY_TO:
	case OPT_PRIORITY:
	case OPT_CHARSET:
		return 1;
	default:
		return 0;
	}
}

/* Every option, whatever its source, goes through here. */
static int
apply(int c, const char *arg, struct options *o, struct err *e)
{
	if (c == 'C' || c == 'A' || (c >= OPT_SENDMAIL && c < OPT_CONF_END))
		return conf_option(c, arg, o, e);
	if (c == OPT_TO)
		return add_rcpt(c, arg, "--to", o, e);
	if (c == 'c')
		return add_rcpt(c, arg, "--cc", o, e);
	if (c == 'b')
		return add_rcpt(c, arg, "--bcc", o, e);
	if (composes(c))
		o->compose_layer = o->layer;
	return one_option(c, arg, o, e);
}

/* "off" for a flag from a lower level (config file, environment). */
static int
flag_off(int c, struct options *o, struct err *e)
{
	switch (c) {
	case 'v':
		o->verbose = 0;
		return 0;
	case 'q':
		o->quiet = 0;
		return 0;
	case '4':
	case '6':
		o->family = AF_UNSPEC;
		return 0;
	case OPT_INSECURE:
		o->insecure = 0;
		return 0;
	case OPT_JSON:
		o->json = 0;
		return 0;
	case OPT_SYSLOG:
		o->syslog_facility = NULL;
		return 0;
	case OPT_PROGRESS:
		o->progress = 0;
		return 0;
	case OPT_REQUIRE_TLS:
		o->require_tls = 0;
		return 0;
	case OPT_DSN_REQUIRED:
		o->dsn_required = 0;
		return 0;
	case OPT_NO_CHUNKING:
		o->no_chunking = 0;
		return 0;
	case OPT_BINARY_ATTACHMENTS:
		o->binary_attachments = 0;
		return 0;
	default:
		return err_set(e, E_USAGE, "cannot be turned off; leave it "
		    "out instead");
	}
}

static int
is_word(const char *v, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strcasecmp(v, *words) == 0)
			return 1;
	return 0;
}

/*
 * One key and value (config line or environment variable) through the
 * option of that name.  where ("FILE:LINE" or "SMTPSEND_X") prefixes any
 * error, which is E_CONFIG (exit 78) whatever the option would say.
 */
static int
apply_key(const char *key, const char *value, const char *where,
    struct options *o, struct err *e)
{
	static const char *const on[] = { "", "on", "yes", "true", "1", NULL };
	static const char *const off[] = { "off", "no", "false", "0", NULL };
	const struct option *opt = find_long(key);
	struct err sub;
	int rc;

	if (strcmp(key, "password") == 0 || strcmp(key, "passwordeval") == 0)
		return err_set(e, E_CONFIG, "%s: no key holds a password: use "
		    "password-file, password-cmd or password-env", where);
	if (opt == NULL || keyless(key))
		return err_set(e, E_CONFIG, "%s: unknown key \"%s\" (keys are "
		    "the long options of smtpsend --help=all)", where, key);
	err_init(&sub);
	if (opt->has_arg == no_argument && is_word(value, off))
		rc = flag_off(opt->val, o, &sub);
	else if (opt->has_arg == no_argument && !is_word(value, on))
		rc = err_set(&sub, E_USAGE, "expects on or off, not \"%s\"",
		    value);
	else if (opt->has_arg == required_argument && *value == '\0')
		rc = err_set(&sub, E_USAGE, "needs a value");
	else
		rc = apply(opt->val, opt->has_arg == no_argument ||
		    *value == '\0' ? NULL : value, o, &sub);
	if (rc < 0 && strncmp(sub.msg, "--", 2) == 0)
		return err_set(e, E_CONFIG, "%s: %s", where, sub.msg);
	if (rc < 0)
		return err_set(e, E_CONFIG, "%s: %s: %s", where, key, sub.msg);
	return 0;
}

/* The environment: SMTPSEND_ and the key in capitals, '-' as '_'. */
static int
apply_env(struct options *o, struct err *e)
{
	const struct option *p;
	char var[64];
	const char *v;
	size_t i;

	o->layer++;
	for (p = longopts; p->name != NULL; p++) {
		if (keyless(p->name))
			continue;
		i = (size_t)snprintf(var, sizeof(var), "SMTPSEND_%s", p->name);
		if (i >= sizeof(var))
			continue;
		for (i = 9; var[i] != '\0'; i++)
			var[i] = var[i] == '-' ? '_' :
			    (char)toupper((unsigned char)var[i]);
		if ((v = getenv(var)) != NULL && apply_key(p->name, v, var, o,
		    e) < 0)
			return -1;
	}
	return 0;
}

/*
 * Do two address strings name the same mailbox?  Only to choose an
 * account: a local part that differs only in case ("Bot" for "bot") is
 * taken as the same, as every common mail provider treats it.
 */
static int
same_address(const char *a, const char *b)
{
	struct mailbox ma, mb;
	struct err ignored;
	int same = 0;

	err_init(&ignored);
	if (addr_parse(a, "", 0, &ma, &ignored) < 0)
		return 0;
	if (addr_parse(b, "", 0, &mb, &ignored) == 0) {
		same = strcasecmp(ma.local, mb.local) == 0 &&
		    strcasecmp(ma.domain_ascii, mb.domain_ascii) == 0;
		mailbox_release(&mb);
	}
	mailbox_release(&ma);
	return same;
}

/* The first account whose own "from" is the sender given. */
static const char *
account_for_sender(const struct config *c, const char *from)
{
	size_t i, k;

	for (i = 1; i < c->nsects; i++)
		for (k = 0; k < c->sects[i].nlines; k++)
			if (strcmp(c->sects[i].lines[k].key, "from") == 0 &&
			    same_address(c->sects[i].lines[k].value, from))
				return c->sects[i].name;
	return NULL;
}

/*
 * -A, else SMTPSEND_ACCOUNT, else the account whose from is the sender
 * (-f or SMTPSEND_FROM, else the From of a whole message once it has
 * been read), else "default", else the defaults alone.  *pinned: the
 * command line or the environment decided, so a message's From cannot.
 */
static const char *
choose_account(const struct config *c, const struct prescan *ps,
    int *pinned)
{
	const char *from = ps->from ? ps->from : getenv("SMTPSEND_FROM");
	const char *name;

	*pinned = 1;
	if (ps->account != NULL)
		return ps->account;
	if ((name = getenv("SMTPSEND_ACCOUNT")) != NULL && *name != '\0')
		return name;
	if (from == NULL) {
		*pinned = 0;
		from = ps->author;
	}
	if (from != NULL && (name = account_for_sender(c, from)) != NULL)
		return name;
	if (config_account(c, "default") != NULL)
		return "default";
	return NULL;
}

/*
 * Nobody else may steer where our mail goes or what we run; commands
 * that fetch a password often hold one themselves.
 */
static int
check_config_perms(const struct config *c, struct err *e)
{
	size_t i, k;
	int cmds = 0;

	if (c->mode & 02)
		return err_set(e, E_CONFIG, "config file %s is writable by "
		    "everyone (mode %03o): refusing to use it; chmod o-w it",
		    c->path, c->mode & 0777);
	for (i = 0; i < c->nsects; i++)
		for (k = 0; k < c->sects[i].nlines; k++)
			cmds |= strcmp(c->sects[i].lines[k].key,
			    "password-cmd") == 0 || strcmp(
			    c->sects[i].lines[k].key, "oauth2-token-cmd") == 0;
	if (cmds && c->others_read)
		log_warn("config file %s holds a password command and is "
		    "readable by group or others (mode %03o); chmod 600 it",
		    c->path, c->mode & 0777);
	return 0;
}

static int
apply_config_line(struct options *o, const struct config_line *l,
    struct err *e)
{
	char *where = xasprintf("%s:%u", o->cfg->path, l->lineno);
	int rc = apply_key(l->key, l->value, where, o, e);

	free(where);
	return rc;
}

static int
load_config(struct options *o, const struct prescan *ps, struct err *e)
{
	const struct config_section **chain;
	const char *path = ps->config ? ps->config : getenv("SMTPSEND_CONFIG");
	char *found = NULL;
	size_t n, i, k;
	int rc;

	if (path == NULL || *path == '\0')
		path = found = config_default_path(SMTPSEND_SYSCONF);
	if (path == NULL) {
		if (ps->account != NULL)
			return err_set(e, E_CONFIG, "--account %s: no config "
			    "file (looked for ~/.config/smtpsend/config and "
			    "%s)", ps->account, SMTPSEND_SYSCONF);
		return 0;
	}
	o->cfg = xcalloc(1, sizeof(*o->cfg));
	rc = config_load(o->cfg, path, e);
	free(found);
	if (rc < 0 || check_config_perms(o->cfg, e) < 0)
		return -1;
	o->account = choose_account(o->cfg, ps, &o->account_pinned);
	if (config_chain(o->cfg, o->account, &chain, &n, e) < 0)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		o->layer++;
		for (k = 0; k < chain[i]->nlines && rc == 0; k++) {
			rc = apply_config_line(o, &chain[i]->lines[k], e);
		}
	}
	free(chain);
	return rc;
}

static int
apply_name(const char *name, const char *arg, struct options *o,
    struct err *e)
{
	const struct option *opt = find_long(name);

	if (opt == NULL)
		return err_set(e, E_USAGE, "this smtpsend has no --%s", name);
	return apply(opt->val, arg, o, e);
}

/*
 * sendmail's own flags (sendmail(8), as cron and mail(1) use them),
 * translated into ours.  Harmless ones are accepted and noted under -v.
 */
static int
sendmail_option(int c, const char *arg, struct options *o, struct err *e)
{
	switch (c) {
	case 't':
		return apply_name("read-recipients", NULL, o, e);
	case 'i':
		return 0;	/* a lone dot never ends our input anyway */
	case 'f':
	case 'r':
		return apply('f', arg, o, e);
	case 'F':
		return apply(OPT_FULL_NAME, arg, o, e);
	case 'v':
		return apply('v', NULL, o, e);
	case 'N':
		return apply_name("dsn-notify", arg, o, e);
	case 'R':
		return apply_name("dsn-ret", arg, o, e);
	case 'V':
		return apply_name("envid", arg, o, e);
	case 'C':
	case 'A':
		return 0;	/* the prescan took them */
	case 'B':
		/* RFC 6152: BODY=8BITMIME is declared whenever the message
		   has 8-bit octets; the flag only confirms it. */
		if (strcmp(arg, "8BITMIME") != 0 && strcmp(arg, "7BIT") != 0)
			return err_set(e, E_USAGE, "-B%s: expected -B8BITMIME "
			    "or -B7BIT", arg);
		return 0;
	case 'o':
		if (strcmp(arg, "i") == 0)
			return 0;
		break;
	case 'b':
		if (strcmp(arg, "m") == 0)
			return 0;
		return err_set(e, E_USAGE, "sendmail -b%s is not supported: "
		    "smtpsend only sends mail (-bm)", arg);
	default:
		break;
	}
	log_info("sendmail option -%c%s ignored", c, arg ? arg : "");
	return 0;
}

/* In sendmail mode standard input is always a complete message. */
static int
start_sendmail(struct options *o, struct err *e)
{
	if (apply_name("raw", NULL, o, e) < 0)
		return -1;
	return 0;
}

/*
 * A whole message (-t, --raw, sendmail mode) is sent as written.  Given
 * on the command line, options that compose one contradict that (an
 * error, from mime_check); set in the config file or the environment
 * for the runs that compose, they are left out, so that a default
 * subject or header cannot make cron's mail fail.
 */
static void
drop_lower_composition(struct options *o)
{
	size_t i;

	if (!o->raw || o->compose_layer == 0 || o->compose_layer == o->layer)
		return;
	log_info("whole-message input: the config file's or environment's "
	    "subject, attach, html, inline, header, reply-to, priority and "
	    "charset are not used");
	o->subject = o->html = o->charset = NULL;
	o->nparts = o->nheaders = 0;
	for (i = 0; i < o->nreply_to; i++)
		mailbox_release(&o->reply_to[i]);
	o->nreply_to = 0;
	o->priority = PRIO_UNSET;
}

/* A display name from -F/--full-name for a From we write ourselves. */
static void
set_full_name(struct options *o)
{
	if (o->full_name != NULL && o->have_from && o->from.name == NULL)
		o->from.name = xstrdup(o->full_name);
}

/*
 * Local names ("root"): the aliases file, then local-domain (for a name
 * at this machine without local-domain: its own host name).  The result
 * becomes an ordinary recipient, so the To and Cc fields we write carry
 * the same address as the envelope.
 */
static int
resolve_bare(struct options *o, struct err *e)
{
	struct aliases al;
	char **v = NULL;
	size_t n = 0, i, k;
	int rc = 0, c;
	const char *what;

	memset(&al, 0, sizeof(al));
	if (o->nbare == 0 || (o->aliases && aliases_load(&al, o->aliases,
	    e) < 0))
		return o->nbare == 0 ? 0 : -1;
	for (i = 0; i < o->nbare && rc == 0; i++) {
		c = o->bare[i].kind;
		what = c == 'c' ? "--cc" : c == 'b' ? "--bcc" : "recipient";
		rc = aliases_expand(&al, o->bare[i].name, o->local_domain ?
		    o->local_domain : o->bare[i].host, &v, &n, e);
		for (k = 0; k < n && rc == 0; k++) {
			log_info("recipient %s is %s", o->bare[i].name, v[k]);
			rc = add_parsed(c == 't' ? OPT_TO : c, v[k], what, o,
			    e);
		}
		aliases_free_list(v, n);
		v = NULL;
		n = 0;
	}
	aliases_release(&al);
	return rc;
}

/* "--help=all" (or --help all) asks for every option. */
static int
help_all(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help=all") == 0 || (strcmp(argv[i],
		    "--help") == 0 && i + 1 < argc &&
		    strcmp(argv[i + 1], "all") == 0))
			return 1;
	return 0;
}

static int
help_options(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help=options") == 0)
			return 1;
	return 0;
}

void
cli_list_options(void)
{
	const struct option *p;

	for (p = longopts; p->name != NULL; p++)
		printf("--%s\n", p->name);
}


/* sendmail's options: those cron, mail(1) and scripts pass. */
#define SENDMAIL_SHORTOPTS ":tf:F:io:B:N:vC:A:R:V:X:h:r:L:b:q::e:d:UmnG"
#define SHORTOPTS ":46f:c:b:s:vqu:C:A:a:H:tio:"

static int
is_sendmail_name(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	return strcmp(base, "sendmail") == 0;
}

static int
sendmail_requested(int argc, char **argv)
{
	int i;

	if (argc > 0 && is_sendmail_name(argv[0]))
		return 1;
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--sendmail") == 0)
			return 1;
	return 0;
}

static const char *
shortopts(const struct options *o)
{
	return o->sendmail ? SENDMAIL_SHORTOPTS : SHORTOPTS;
}

/* A first pass over argv for the options that choose the layers below. */
static void
prescan(int argc, char **argv, const struct options *o, struct prescan *ps)
{
	int c;

	memset(ps, 0, sizeof(*ps));
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, shortopts(o), longopts,
	    NULL)) != -1) {
		if (c == 'C')
			ps->config = optarg;
		else if (c == 'A' && (!o->sendmail || (strcmp(optarg, "c") != 0
		    && strcmp(optarg, "m") != 0)))
			ps->account = optarg;
		else if (c == 'f' || (o->sendmail && c == 'r'))
			ps->from = optarg;
		else if (c == 'v')
			ps->verbose = 1;
		else if (c == 'q' && !o->sendmail)
			ps->quiet = 1;
		else if (c == OPT_HELP)
			ps->help = 1;
		else if (c == OPT_VERSION)
			ps->version = 1;
	}
	optind = 0;
}

static int
usage_error(int c, char **argv, struct err *e)
{
	if (optopt != 0 && optopt < 256)
		return err_set(e, E_USAGE, "option -%c: %s; try 'smtpsend "
		    "--help'", optopt, c == ':' ? "missing argument" :
		    "unknown option");
	return err_set(e, E_USAGE, "%s: unknown option or missing argument; "
	    "try 'smtpsend --help'", argv[optind - 1]);
}

/* The first option given that makes a message, or NULL. */
static const char *
message_option(const struct options *o)
{
	if (o->raw)
		return o->read_rcpt ? "-t" : "--raw";
	if (o->nparts > 0)
		return o->parts[0].is_inline ? "--inline" : "-a";
	if (o->html != NULL)
		return "--html";
	if (o->subject != NULL)
		return "-s";
	if (o->body_file != NULL)
		return "--body-file";
	if (o->nheaders > 0)
		return "-H";
	if (o->nreply_to > 0)
		return "--reply-to";
	if (o->priority != PRIO_UNSET)
		return "--priority";
	if (o->charset != NULL)
		return "--charset";
	return NULL;
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
	if (o->flush_dir != NULL && (other = message_option(o)) != NULL)
		return err_set(e, E_USAGE, "--flush sends the queued messages "
		    "as they are: %s cannot be combined with it", other);
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

/* The command line proper, after the config file and the environment. */
static int
parse_argv(int argc, char **argv, struct options *o, struct err *e)
{
	int c, i;

	o->layer++;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, shortopts(o), longopts,
	    NULL)) != -1) {
		if (c == '?' || c == ':')
			return usage_error(c, argv, e);
		if (o->sendmail && c < 256) {
			if (sendmail_option(c, optarg, o, e) < 0)
				return -1;
		} else if (apply(c, optarg, o, e) < 0) {
			return -1;
		}
	}
	for (i = optind; i < argc; i++)
		if (add_rcpt(OPT_TO, argv[i], "recipient", o, e) < 0)
			return -1;
	return 0;
}

/* Everything, from the config file to the command line. */
static int
parse_all(int argc, char **argv, const char *author, struct options *o,
    struct err *e)
{
	struct prescan ps;

	memset(o, 0, sizeof(*o));
	o->host = "localhost";
	o->timeout_s = 100;
	o->family = AF_UNSPEC;
	o->tls = TLS_AUTO;
	o->password_fd = -1;
	o->sasl_service = "smtp";
	o->progress = 1;
	o->argc = argc;
	o->argv = argv;
	o->sendmail = sendmail_requested(argc, argv);
	prescan(argc, argv, o, &ps);
	ps.author = author;
	if (ps.help) {
		if (help_options(argc, argv))
			cli_list_options();
		else
			cli_usage(help_all(argc, argv));
		return CLI_EXIT_OK;
	}
	if (ps.version)
		return CLI_VERSION;
	if (author == NULL)
		log_set_level(ps.quiet ? LOG_QUIET : ps.verbose ?
		    LOG_VERBOSE : LOG_NORMAL);
	if (load_config(o, &ps, e) < 0 || apply_env(o, e) < 0 ||
	    parse_argv(argc, argv, o, e) < 0)
		return -1;
	if (o->sendmail && start_sendmail(o, e) < 0)
		return -1;
	if (resolve_bare(o, e) < 0)
		return -1;
	set_full_name(o);
	drop_lower_composition(o);
	if (check_ident(o, e) < 0 || check_delivery(o, e) < 0 ||
	    mime_check(o, e) < 0)
		return -1;
	if (o->nto + o->ncc + o->nbcc == 0 && !o->print && !o->serverinfo &&
	    o->flush_dir == NULL && !o->read_rcpt)
		return err_set(e, E_USAGE,
		    "no recipients given; try 'smtpsend --help'");
	if (o->port == 0)
		o->port = o->tls == TLS_IMPLICIT ? 465 : 25;
	if (check_require_tls(o, e) < 0)
		return -1;
	return CLI_RUN;
}

int
cli_parse(int argc, char **argv, struct options *o, struct err *e)
{
	return parse_all(argc, argv, NULL, o, e);
}

int
cli_account_by_author(struct options *o, const char *author,
    struct err *e)
{
	struct options again;
	const char *name;
	int level = log_level(), rc;

	if (o->cfg == NULL || o->account_pinned ||
	    (name = account_for_sender(o->cfg, author)) == NULL ||
	    (o->account != NULL && strcmp(name, o->account) == 0))
		return 0;
	/* The same layers again: what they noted was shown the first time. */
	log_set_level(LOG_QUIET);
	rc = parse_all(o->argc, o->argv, author, &again, e);
	log_set_level(level);
	if (rc != CLI_RUN) {
		options_release(&again);
		return rc < 0 ? -1 : err_set(e, E_SOFTWARE, "the account "
		    "for %s could not be applied", author);
	}
	again.report = o->report;
	options_release(o);
	*o = again;
	return 1;
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
	size_t i;

	if (o->have_from)
		mailbox_release(&o->from);
	if (o->have_envelope_from)
		mailbox_release(&o->envelope_from);
	release_list(o->to, o->nto);
	release_list(o->cc, o->ncc);
	release_list(o->bcc, o->nbcc);
	free(o->tls_pins);
	release_list(o->reply_to, o->nreply_to);
	free(o->parts);
	free(o->headers);
	for (i = 0; i < o->nbare; i++)
		free(o->bare[i].name);
	free(o->bare);
	if (o->cfg != NULL) {
		config_release(o->cfg);
		free(o->cfg);
	}
	memset(o, 0, sizeof(*o));
}
