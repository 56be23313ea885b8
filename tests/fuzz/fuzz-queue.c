/*
 * Fuzz target: the envelope block of a queue or pickup file (X-Sender,
 * X-Receiver lines).  Whatever it accepts has one sender, at least one
 * recipient, and the message starting inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qmsg m;
	struct err e;
	size_t used = 0, i;
	char *a;

	if (size > QUEUE_ENV_MAX)
		return 0;
	memset(&m, 0, sizeof(m));
	m.fd = -1;
	err_init(&e);
	if (qmsg_parse_envelope((const char *)data, size, &m, &used, &e) ==
	    0) {
		if (m.sender.local == NULL || m.nrcpt == 0 || used == 0 ||
		    used >= size)
			abort();
		for (i = 0; i < m.nrcpt; i++) {
			a = addr_envelope(&m.rcpt[i]);
			if (strpbrk(a, "\r\n") != NULL)
				abort();
			free(a);
		}
	}
	qmsg_close(&m);
	return 0;
}
