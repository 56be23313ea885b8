/* Results of a run: see report.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "deadline.h"
#include "log.h"
#include "report.h"
#include "xmalloc.h"

static const char *const phase_names[RP_PHASE_COUNT] = {
	"connect", "tls", "greeting", "auth", "envelope", "data", "quit"
};
_Static_assert(sizeof(phase_names) / sizeof(phase_names[0]) ==
    RP_PHASE_COUNT, "phase_names");

void
report_init(struct report *r, const char *host, int port)
{
	memset(r, 0, sizeof(*r));
	r->host = xstrdup(host);
	r->port = port;
	r->start_ms = r->mark_ms = now_ms();
}

void
report_server(struct report *r, const char *host, int port)
{
	if (r == NULL)
		return;
	free(r->host);
	r->host = xstrdup(host);
	r->port = port;
}

void
report_release(struct report *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nrcpts; i++)
		free(r->rcpts[i].address);
	free(r->rcpts);
	free(r->host);
	free(r->from);
	memset(r, 0, sizeof(*r));
}

void
report_sender(struct report *r, const char *envelope_from)
{
	if (r == NULL)
		return;
	free(r->from);
	r->from = xstrdup(envelope_from);
}

void
report_rcpt(struct report *r, const char *address)
{
	if (r == NULL)
		return;
	r->rcpts = xreallocarray(r->rcpts, r->nrcpts + 1, sizeof(*r->rcpts));
	memset(&r->rcpts[r->nrcpts], 0, sizeof(*r->rcpts));
	r->rcpts[r->nrcpts++].address = xstrdup(address);
}

static enum report_phase
classify(const char *name)
{
	static const struct {
		const char *prefix;
		enum report_phase p;
	} map[] = {
		{ "resolv", RP_CONNECT }, { "connect", RP_CONNECT },
		{ "TLS", RP_TLS }, { "STARTTLS", RP_TLS },
		{ "greeting", RP_GREETING }, { "EHLO", RP_GREETING },
		{ "HELO", RP_GREETING }, { "AUTH", RP_AUTH },
		{ "MAIL", RP_ENVELOPE }, { "RCPT", RP_ENVELOPE },
		{ "DATA", RP_DATA }, { "BDAT", RP_DATA }, { "sending", RP_DATA },
		{ "end of data", RP_DATA }, { "QUIT", RP_QUIT },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strncmp(name, map[i].prefix, strlen(map[i].prefix)) == 0)
			return map[i].p;
	return RP_PHASE_COUNT;
}

/* Time since the last change goes to the phase that was running. */
static void
account_time(struct report *r)
{
	int64_t now = now_ms();

	if (r->in_phase)
		r->phase_ms[r->cur] += now - r->mark_ms;
	r->mark_ms = now;
}

void
report_many(struct report *r)
{
	if (r != NULL)
		r->many = 1;
}

void
report_phase(struct report *r, const char *name)
{
	enum report_phase p;

	if (r == NULL || (p = classify(name)) == RP_PHASE_COUNT)
		return;
	account_time(r);
	r->cur = p;
	r->in_phase = 1;
}

static void
set_reply(struct report_reply *rr, int code, const char *status,
    const char *text, size_t len)
{
	char *p;

	rr->code = code;
	snprintf(rr->status, sizeof(rr->status), "%s", status ? status : "");
	/* The text without the enhanced status it starts with (RFC 2034). */
	if (text != NULL && rr->status[0] != '\0' && len > strlen(rr->status)
	    && strncmp(text, rr->status, strlen(rr->status)) == 0 &&
	    text[strlen(rr->status)] == ' ') {
		len -= strlen(rr->status) + 1;
		text += strlen(rr->status) + 1;
	}
	printable(rr->text, sizeof(rr->text), text ? text : "", text ? len :
	    0);
	/* printable() turned the line breaks of a multi-line reply into '?'. */
	for (p = rr->text; text != NULL && (p = strchr(p, '?')) != NULL; p++)
		if ((size_t)(p - rr->text) < len &&
		    text[p - rr->text] == '\n')
			*p = ' ';
}

void
report_reply(struct report *r, const char *phase, int code,
    const char *status, const char *text, size_t len)
{
	const char *a;
	size_t i, n;

	if (r == NULL)
		return;
	set_reply(&r->last, code, status, text, len);
	if (!r->many && strncmp(phase, "RCPT TO:<", 9) == 0) {
		a = phase + 9;
		n = strcspn(a, ">");
		for (i = 0; i < r->nrcpts; i++)
			if (strlen(r->rcpts[i].address) == n &&
			    strncmp(r->rcpts[i].address, a, n) == 0 &&
			    r->rcpts[i].reply.code == 0)
				break;
		if (i == r->nrcpts) {
			r->rcpts = xreallocarray(r->rcpts, r->nrcpts + 1,
			    sizeof(*r->rcpts));
			memset(&r->rcpts[i], 0, sizeof(*r->rcpts));
			r->rcpts[r->nrcpts++].address = xstrndup(a, n);
		}
		r->rcpts[i].reply = r->last;
	} else if (strcmp(phase, "end of data") == 0) {
		r->final = r->last;
		r->delivered = code / 100 == 2;
	}
}

void
report_tls(struct report *r, const char *version, const char *cipher,
    int resumed)
{
	if (r == NULL)
		return;
	r->tls = 1;
	snprintf(r->tls_version, sizeof(r->tls_version), "%s", version);
	snprintf(r->tls_cipher, sizeof(r->tls_cipher), "%s", cipher);
	r->tls_resumed = resumed;
}

void
report_auth(struct report *r, const char *mech)
{
	if (r != NULL)
		snprintf(r->auth, sizeof(r->auth), "%s", mech);
}

void
report_size(struct report *r, unsigned long long size)
{
	if (r != NULL)
		r->size = size;
}

/*
 * Servers name their queue entry in the final reply in a few common
 * forms: Postfix and Exim "queued as ID", sendmail "ID Message accepted",
 * others "id=ID".  Only the first two are recognised with certainty.
 */
void
report_queue_id(const struct report *r, char *buf, size_t size)
{
	const char *t = r->final.text, *p;
	size_t n;

	buf[0] = '\0';
	if (!r->delivered)
		return;
	if ((p = strstr(t, "queued as ")) != NULL)
		p += 10;
	else if ((p = strstr(t, "id=")) != NULL)
		p += 3;
	else
		return;
	n = strcspn(p, " ;,)");
	if (n > 0 && n < size)
		snprintf(buf, size, "%.*s", (int)n, p);
}

/* A JSON string: quotes, backslashes and controls escaped. */
static void
jstr(struct buf *b, const char *s)
{
	if (s == NULL) {
		buf_adds(b, "null");
		return;
	}
	buf_addc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, *s);
		} else if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			buf_addf(b, "\\u%04x", (unsigned char)*s);
		} else {
			buf_addc(b, *s);
		}
	}
	buf_addc(b, '"');
}

static void
jreply(struct buf *b, const struct report_reply *rr)
{
	if (rr->code == 0) {
		buf_adds(b, "null");
		return;
	}
	buf_addf(b, "{\"code\":%d,\"status\":", rr->code);
	jstr(b, rr->status[0] ? rr->status : NULL);
	buf_adds(b, ",\"text\":");
	jstr(b, rr->text);
	buf_addc(b, '}');
}

static void
jrcpts(struct buf *b, const struct report *r)
{
	size_t i;

	buf_addc(b, '[');
	for (i = 0; i < r->nrcpts; i++) {
		const struct report_reply *rr = &r->rcpts[i].reply;

		buf_adds(b, i ? ",{\"address\":" : "{\"address\":");
		jstr(b, r->rcpts[i].address);
		buf_addf(b, ",\"accepted\":%s,\"code\":", rr->code / 100 == 2 ?
		    "true" : "false");
		if (rr->code)
			buf_addf(b, "%d", rr->code);
		else
			buf_adds(b, "null");
		buf_adds(b, ",\"status\":");
		jstr(b, rr->status[0] ? rr->status : NULL);
		buf_adds(b, ",\"text\":");
		jstr(b, rr->code ? rr->text : NULL);
		buf_addc(b, '}');
	}
	buf_addc(b, ']');
}

static void
jtimings(struct buf *b, struct report *r)
{
	int i;

	account_time(r);
	r->in_phase = 0;
	buf_adds(b, "{");
	for (i = 0; i < RP_PHASE_COUNT; i++)
		buf_addf(b, "\"%s\":%lld,", phase_names[i],
		    (long long)r->phase_ms[i]);
	buf_addf(b, "\"total\":%lld}", (long long)(now_ms() - r->start_ms));
}

void
report_json(struct report *r, int status, const char *error,
    const char *config, const char *account)
{
	struct buf b;
	char qid[128];

	buf_init(&b, 4 * 1024 * 1024);
	report_queue_id(r, qid, sizeof(qid));
	buf_addf(&b, "{\"status\":%d,\"delivered\":%s,\"error\":", status,
	    status == 0 && r->delivered ? "true" : "false");
	jstr(&b, error);
	buf_adds(&b, ",\"server\":{\"host\":");
	jstr(&b, r->host);
	buf_addf(&b, ",\"port\":%d},\"from\":", r->port);
	jstr(&b, r->from);
	buf_adds(&b, ",\"recipients\":");
	jrcpts(&b, r);
	buf_adds(&b, ",\"reply\":");
	jreply(&b, r->final.code ? &r->final : &r->last);
	buf_adds(&b, ",\"queue_id\":");
	jstr(&b, qid[0] ? qid : NULL);
	buf_addf(&b, ",\"size\":%llu,\"tls\":", r->size);
	if (r->tls) {
		buf_adds(&b, "{\"version\":");
		jstr(&b, r->tls_version);
		buf_adds(&b, ",\"cipher\":");
		jstr(&b, r->tls_cipher);
		buf_addf(&b, ",\"resumed\":%s}", r->tls_resumed ? "true" :
		    "false");
	} else {
		buf_adds(&b, "null");
	}
	buf_adds(&b, ",\"auth\":");
	jstr(&b, r->auth[0] ? r->auth : NULL);
	buf_adds(&b, ",\"config\":");
	jstr(&b, config);
	buf_adds(&b, ",\"account\":");
	jstr(&b, account);
	buf_adds(&b, ",\"timings_ms\":");
	jtimings(&b, r);
	buf_adds(&b, "}\n");
	fwrite(b.data, 1, b.len, stdout);
	fflush(stdout);
	buf_release(&b);
}

static int
facility_of(const char *name)
{
	static const struct {
		const char *name;
		int f;
	} map[] = {
		{ "mail", LOG_MAIL }, { "user", LOG_USER },
		{ "daemon", LOG_DAEMON }, { "local0", LOG_LOCAL0 },
		{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 },
		{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
		{ "local7", LOG_LOCAL7 },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(name, map[i].name) == 0)
			return map[i].f;
	return LOG_MAIL;
}

/* "from=<a> to=<b>,<c> size=N reply="250 ..." status=0" */
static void
line_fields(struct buf *b, const struct report *r, int status,
    const char *error)
{
	const struct report_reply *rr = r->final.code ? &r->final : &r->last;
	char qid[128];
	size_t i;

	report_queue_id(r, qid, sizeof(qid));
	buf_addf(b, "host=%s from=<%s> to=", r->host, r->from ? r->from : "");
	for (i = 0; i < r->nrcpts; i++)
		buf_addf(b, "%s<%s>", i ? "," : "", r->rcpts[i].address);
	buf_addf(b, " size=%llu", r->size);
	if (rr->code)
		buf_addf(b, " reply=\"%d %s\"", rr->code, rr->text);
	if (qid[0])
		buf_addf(b, " queue_id=%s", qid);
	buf_addf(b, " status=%d", status);
	if (error != NULL)
		buf_addf(b, " error=\"%s\"", error);
}

int
report_log_line(struct report *r, int status, const char *error,
    const char *path, const char *facility)
{
	struct buf b;
	char stamp[64];
	struct tm tm;
	time_t t = time(NULL);
	int fd, rc = 0;
	ssize_t w;

	buf_init(&b, 64 * 1024);
	line_fields(&b, r, status, error);
	if (facility != NULL) {
		openlog("smtpsend", LOG_PID, facility_of(facility));
		syslog(status == 0 ? LOG_INFO : LOG_ERR, "%s", b.data);
		closelog();
	}
	if (path != NULL) {
		localtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S%z", &tm);
		buf_clear(&b);
		buf_addf(&b, "%s smtpsend[%ld]: ", stamp, (long)getpid());
		line_fields(&b, r, status, error);
		buf_addc(&b, '\n');
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
		    O_NOCTTY, 0600);
		if (fd < 0 || (w = write(fd, b.data, b.len)) < 0 ||
		    (size_t)w != b.len)
			rc = -1;
		if (fd >= 0 && close(fd) < 0)
			rc = -1;
	}
	buf_release(&b);
	return rc;
}
