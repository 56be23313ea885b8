/*
 * tlscache: TLS session resumption data kept between runs (the session
 * caching of the SmtpClient lineage).  One file per server and client
 * identity in a private directory: DIR/<sha256 of the key>.tls, mode
 * 0600, the directory 0700, written to a temporary name and renamed.
 * The key names host, port, the name verified and the client certificate,
 * so a session is only ever offered to the server it was made with.
 */
#ifndef SMTPSEND_TLSCACHE_H
#define SMTPSEND_TLSCACHE_H

#include <stddef.h>

struct buf;
struct err;

#define TLSCACHE_MAX	(64 * 1024)

/* Saved data for key into out; 1 found, 0 none (or unusable). */
int tlscache_load(const char *dir, const char *key, struct buf *out);
/* Save data for key.  Errors: E_CANTCREAT (directory or file). */
int tlscache_store(const char *dir, const char *key, const void *data,
    size_t len, struct err *e);

#endif
