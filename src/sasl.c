/* SASL through libgsasl: see sasl.h. */
#include <gsasl.h>

#include "sasl.h"

const char *
sasl_version_string(void)
{
	const char *v = gsasl_check_version(NULL);

	return v ? v : "?";
}
