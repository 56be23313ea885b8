/*
 * Fuzz target: the EHLO capability parser on any reply text (lines joined
 * by '\n', as smtp_read_reply() leaves them), and the one-line summary
 * made for messages, which must come out printable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply r;
	struct smtp_caps caps;
	char summary[512];
	size_t i;

	smtp_reply_init(&r);
	r.code = 250;
	r.nlines = 1;
	if (buf_add(&r.text, data, size) == 0) {
		smtp_parse_ehlo(&caps, &r);
		if (memchr(caps.auth, '\0', sizeof(caps.auth)) == NULL)
			abort();
		smtp_reply_summary(&r, summary, sizeof(summary));
		for (i = 0; summary[i] != '\0'; i++)
			if ((unsigned char)summary[i] < 0x20 ||
			    summary[i] == 0x7f)
				abort();
	}
	smtp_reply_release(&r);
	return 0;
}
