/* Unit checks for rewrite.c: bare local names in header fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aliases.h"
#include "buf.h"
#include "err.h"
#include "rewrite.h"
#include "check.h"

static char *
run_as(const struct aliases *al, const char *domain, const char *author,
    const char *in, int *changed, int *rc)
{
	struct rewrite_rules rules = { al, domain, author };
	struct buf out;
	struct err e;

	err_init(&e);
	buf_init(&out, 1 << 20);
	buf_adds(&out, "");
	*rc = rewrite_header(in, strlen(in), &rules, &out, changed, &e);
	return buf_detach(&out);
}

static char *
run(const struct aliases *al, const char *domain, const char *in,
    int *changed, int *rc)
{
	return run_as(al, domain, NULL, in, changed, rc);
}

int
main(void)
{
	struct aliases al;
	char t1[] = "ops@example.net", t2[] = "admin", name[] = "root";
	char *target[] = { t1, t2 };
	struct alias a = { name, target, 2 };
	char *s, host[256], in[600], want[600];
	int changed, rc;

	al.v = &a;
	al.n = 1;
	/* cron's fields: the To gets the alias, From the domain. */
	s = run(&al, "example.org", "From: root (Cron Daemon)\nTo: root\n"
	    "Subject: Cron <root@host> ls\n", &changed, &rc);
	CHECK(rc == 0 && changed);
	CHECK_STR(s, "From: root@example.org (Cron Daemon)\n"
	    "To: ops@example.net, admin@example.org\n"
	    "Subject: Cron <root@host> ls\n");
	free(s);
	/* Full addresses, quoted commas and folded lines stay as written. */
	s = run(&al, "example.org", "To: \"Doe, J\" <j@example.com>,\n"
	    " k@example.com\nCc: Web <www-data>\n", &changed, &rc);
	CHECK(rc == 0 && changed);
	CHECK_STR(s, "To: \"Doe, J\" <j@example.com>,\n k@example.com\n"
	    "Cc: Web <www-data@example.org>\n");
	free(s);
	s = run(&al, "example.org", "To: a@b.example\n", &changed, &rc);
	CHECK(rc == 0 && !changed);
	CHECK_STR(s, "To: a@b.example\n");
	free(s);
	/* No domain to append: an error, not a guess. */
	s = run(&al, NULL, "To: nobody\n", &changed, &rc);
	CHECK(rc < 0);
	free(s);
	s = run(&al, NULL, "From: root\n", &changed, &rc);
	CHECK(rc < 0);
	free(s);
	/* Without a domain, a bare author becomes the sender; no aliases
	   at all is fine. */
	s = run_as(&al, NULL, "me@example.com", "From: root (Cron Daemon)\n"
	    "Sender: Daemon <daemon>\nTo: j@example.com\n", &changed, &rc);
	CHECK(rc == 0 && changed);
	CHECK_STR(s, "From: me@example.com (Cron Daemon)\n"
	    "Sender: Daemon <me@example.com>\nTo: j@example.com\n");
	free(s);
	s = run_as(NULL, "example.org", "me@example.com", "To: a, b@c.example"
	    "\nFrom: x\n", &changed, &rc);
	CHECK(rc == 0 && changed);
	CHECK_STR(s, "To: a@example.org, b@c.example\nFrom: x@example.org\n");
	free(s);
	/* Names at this machine are local names too. */
	s = run(&al, "example.org", "To: Root <root@LocalHost>, "
	    "x@localhost.localdomain\nFrom: daemon@localhost\n", &changed,
	    &rc);
	CHECK(rc == 0 && changed);
	CHECK_STR(s, "To: Root <ops@example.net>, admin@example.org, "
	    "x@example.org\nFrom: daemon@example.org\n");
	free(s);
	CHECK(gethostname(host, sizeof(host)) == 0);
	host[sizeof(host) - 1] = '\0';
	snprintf(in, sizeof(in), "Cc: www-data@%s\n", host);
	s = run(&al, "example.org", in, &changed, &rc);
	CHECK(rc == 0 && changed);
	CHECK_STR(s, "Cc: www-data@example.org\n");
	free(s);
	/* Without local-domain such a name keeps its host, and an author
	   at this machine is left as written. */
	snprintf(in, sizeof(in), "To: bob@%s\nFrom: me@localhost\n", host);
	snprintf(want, sizeof(want), "To: bob@%s\nFrom: me@localhost\n",
	    host);
	s = run_as(&al, NULL, "x@example.com", in, &changed, &rc);
	CHECK(rc == 0 && !changed);
	CHECK_STR(s, want);
	free(s);
	/* Group members are rewritten inside their group; the group's name,
	   colon and semicolon stay, and so does an empty group. */
	s = run(&al, "example.org", "To: team: root, Web <www-data>;, "
	    "bob@example.com\nCc: undisclosed-recipients:;\n", &changed,
	    &rc);
	CHECK(rc == 0 && changed);
	CHECK_STR(s, "To: team: ops@example.net, admin@example.org, "
	    "Web <www-data@example.org>;,\n bob@example.com\n"
	    "Cc: undisclosed-recipients:;\n");
	free(s);
	s = run(&al, "example.org", "To: \"a: b\" <x@[IPv6:::1]>, "
	    "\"Ops; Dev\": nobody;\n", &changed, &rc);
	CHECK(rc == 0 && changed);
	CHECK_STR(s, "To: \"a: b\" <x@[IPv6:::1]>, \"Ops; Dev\": "
	    "nobody@example.org;\n");
	free(s);
	s = run(&al, NULL, "To: team: a@b.example, nobody;\n", &changed, &rc);
	CHECK(rc < 0);
	free(s);
	CHECK(aliases_local_name("root", 4) == 4);
	CHECK(aliases_local_name("root@localhost", 14) == 4);
	CHECK(aliases_local_name("root@example.com", 16) == 0);
	CHECK(aliases_local_name("@localhost", 10) == 0);
	CHECK(aliases_local_name("a b@localhost", 13) == 0);
	return check_report("test-rewrite");
}
