/*
 * Fuzz target: the address parser (one mailbox with each flag set, and
 * comma-separated lists).  Whatever it accepts must give an envelope
 * address fit for an SMTP command: no CR, LF, NUL or other controls, an
 * '@' (unless the null path), ASCII only in the domain.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_envelope(const struct mailbox *mb)
{
	char *a = addr_envelope(mb);
	size_t i;

	for (i = 0; a[i] != '\0'; i++)
		if ((unsigned char)a[i] < 0x20 || a[i] == 0x7f)
			abort();
	if (!mb->null && strchr(a, '@') == NULL)
		abort();
	for (i = 0; mb->domain_ascii[i] != '\0'; i++)
		if ((unsigned char)mb->domain_ascii[i] >= 0x80)
			abort();
	free(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailbox mb, *v = NULL;
	struct err e;
	size_t n = 0, i;
	char *s;
	unsigned flags;

	if (size < 1 || size > 4096)
		return 0;
	flags = data[0] & 3;
	s = malloc(size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	err_init(&e);
	if (addr_parse(s, "fuzz", flags, &mb, &e) == 0) {
		check_envelope(&mb);
		mailbox_release(&mb);
	}
	err_init(&e);
	if (addr_parse_list(s, "fuzz", &v, &n, &e) == 0)
		for (i = 0; i < n; i++)
			check_envelope(&v[i]);
	for (i = 0; i < n; i++)
		mailbox_release(&v[i]);
	free(v);
	free(s);
	return 0;
}
