/*
 * xmalloc: allocation wrappers that never return NULL.  On exhaustion they
 * print one line and exit with EX_OSERR; nothing else in smtpsend checks
 * for allocation failure.
 */
#ifndef SMTPSEND_XMALLOC_H
#define SMTPSEND_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size) __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull));
void *xreallocarray(void *p, size_t n, size_t size)
    __attribute__((returns_nonnull));
char *xstrdup(const char *s) __attribute__((malloc, nonnull, returns_nonnull));
char *xstrndup(const char *s, size_t n)
    __attribute__((malloc, nonnull, returns_nonnull));
char *xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), malloc, returns_nonnull));

#endif
