/*
 * Fuzz target: what a server sends, read as SMTP replies (conn.c line
 * reading with its bounds, smtp.c reply parsing, enhanced status codes)
 * and, when a reply is whole, parsed as an EHLO capability list.  The
 * bytes go through a socketpair, as they would from a server.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn.h"
#include "deadline.h"
#include "err.h"
#include "smtp.h"

#define MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct deadline dl;
	struct smtp s;
	struct smtp_reply r;
	struct conn *c;
	struct err e;
	char summary[1024];
	int sv[2], i;

	if (size > MAX_INPUT || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 0;
	if (size > 0 && write(sv[1], data, size) != (ssize_t)size)
		abort();
	close(sv[1]);
	deadline_init(&dl, 1000);
	c = malloc(sizeof(*c));
	conn_init(c, sv[0], &dl);
	memset(&s, 0, sizeof(s));
	s.conn = c;
	smtp_reply_init(&r);
	for (i = 0; i < 200; i++) {
		err_init(&e);
		if (smtp_read_reply(&s, &r, &e) < 0)
			break;
		if (r.code < 200 || r.code > 599 || r.nlines == 0)
			abort();
		smtp_parse_ehlo(&s.caps, &r);
		if (strlen(s.caps.auth) >= sizeof(s.caps.auth))
			abort();
		smtp_reply_summary(&r, summary, sizeof(summary));
	}
	smtp_reply_release(&r);
	conn_close(c);
	free(c);
	return 0;
}
