/* Unit checks for addr.c: mailbox forms, refusals, IDN. */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"
#include "check.h"

static int
parse(const char *in, unsigned flags, struct mailbox *mb)
{
	struct err e;

	err_init(&e);
	return addr_parse(in, "test", flags, mb, &e) == 0 ? 0 : e.kind;
}

static void
test_forms(void)
{
	struct mailbox mb;
	char *env;

	CHECK(parse("jane@example.com", 0, &mb) == 0);
	CHECK(mb.name == NULL);
	env = addr_envelope(&mb);
	CHECK_STR(env, "jane@example.com");
	free(env);
	mailbox_release(&mb);

	CHECK(parse("Jane \xc3\x98 Clayton <jane@example.com>", 0, &mb) == 0);
	CHECK_STR(mb.name, "Jane \xc3\x98 Clayton");
	CHECK_STR(mb.domain_ascii, "example.com");
	mailbox_release(&mb);

	CHECK(parse("\"Clayton, \\\"J\\\"\" <j@x.org>", 0, &mb) == 0);
	CHECK_STR(mb.name, "Clayton, \"J\"");
	mailbox_release(&mb);

	CHECK(parse("<a@b.c>", 0, &mb) == 0);
	CHECK(mb.name == NULL);
	mailbox_release(&mb);

	CHECK(parse("\"odd user\"@example.com", 0, &mb) == 0);
	mailbox_release(&mb);

	CHECK(parse("x@b\xc3\xbc" "cher.example", 0, &mb) == 0);
	CHECK_STR(mb.domain_ascii, "xn--bcher-kva.example");
	mailbox_release(&mb);

	CHECK(parse("<>", ADDR_ALLOW_NULL, &mb) == 0 && mb.null);
	mailbox_release(&mb);
}

static void
test_refusals(void)
{
	struct mailbox mb;

	CHECK(parse("a@b\r\nRCPT TO:<evil@x>", 0, &mb) == E_DATA);
	CHECK(parse("a\n@b", 0, &mb) == E_DATA);
	CHECK(parse("no-at-sign", 0, &mb) == E_DATA);
	CHECK(parse("@b.c", 0, &mb) == E_DATA);
	CHECK(parse("a@", 0, &mb) == E_DATA);
	CHECK(parse("a..b@c.d", 0, &mb) == E_DATA);
	CHECK(parse("a b@c.d", 0, &mb) == E_DATA);
	CHECK(parse("a@-bad.example", 0, &mb) == E_DATA);
	CHECK(parse("a@b_c.example", 0, &mb) == E_DATA);
	CHECK(parse("<a@b.c> trailing", 0, &mb) == E_DATA);
	CHECK(parse("<>", 0, &mb) == E_DATA);
	CHECK(parse("\xff@b.c", 0, &mb) == E_DATA);
	CHECK(parse("Name <a@b.c>", ADDR_NO_NAME, &mb) == E_DATA);
	/* Found by fuzzing (tests/fuzz/corpus/addr/regress-*). */
	CHECK(parse("\"a\tb\"@example.com", 0, &mb) == E_DATA);
	CHECK(parse("\"a\\\tb\"@example.com", 0, &mb) == E_DATA);
	CHECK(parse("\"a\\\"b\"@example.com", 0, &mb) == 0);
	mailbox_release(&mb);
	CHECK(parse("a@[19\xe2\x90\x9d" "2]", 0, &mb) == E_DATA);
	CHECK(parse("a@[192.0.2.1\t]", 0, &mb) == E_DATA);
	CHECK(parse("a@[192.0.2.1]", 0, &mb) == 0);
	mailbox_release(&mb);
}

static void
test_lists(void)
{
	struct mailbox *v = NULL;
	struct err e;
	size_t n = 0, i;

	err_init(&e);
	CHECK(addr_parse_list("a@b.c, \"X, Y\" <x@y.z>,c@d.e", "t", &v, &n,
	    &e) == 0);
	CHECK(n == 3);
	if (n == 3)
		CHECK_STR(v[1].name, "X, Y");
	for (i = 0; i < n; i++)
		mailbox_release(&v[i]);
	free(v);
}

int
main(void)
{
	test_forms();
	test_refusals();
	test_lists();
	return check_report("test-addr");
}
