/*
 * sasl: the only user of libgsasl.  Authentication itself arrives with the
 * credentials work; for now this module reports the library version.
 */
#ifndef SMTPSEND_SASL_H
#define SMTPSEND_SASL_H

const char *sasl_version_string(void);

#endif
