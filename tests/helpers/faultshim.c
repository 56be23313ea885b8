/*
 * faultshim: an LD_PRELOAD library that makes file-system calls fail on
 * purpose, for the local-fault tests (a full disk, a failing fsync, a
 * directory that refuses writes even to root).  Only descriptors and
 * paths whose name contains $FAULTSHIM_PATH are touched; everything else
 * goes straight to the C library.
 *
 *   FAULTSHIM_PATH=STRING     which files (substring of the path)
 *   FAULTSHIM_WRITE_LIMIT=N   after N octets in all, write() fails with
 *                             ENOSPC (the octets up to N are written)
 *   FAULTSHIM_FSYNC=eio       fsync() fails with EIO
 *   FAULTSHIM_FSYNC=sleep     fsync() sleeps 30 s first (a process to kill
 *                             while its file is not yet durable)
 *   FAULTSHIM_ACCESS=eacces   faccessat() reports EACCES
 *
 * Built by `make check` as tests/helpers/faultshim.so.  Under a sanitizer
 * build run with ASAN_OPTIONS=verify_asan_link_order=0.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long long written;

static int
fd_matches(int fd)
{
	const char *want = getenv("FAULTSHIM_PATH");
	char link[64], path[4096];
	ssize_t n;

	if (want == NULL || *want == '\0')
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return 0;
	path[n] = '\0';
	return strstr(path, want) != NULL;
}

static int
is(const char *var, const char *value)
{
	const char *v = getenv(var);

	return v != NULL && strcmp(v, value) == 0;
}

ssize_t
write(int fd, const void *p, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);
	const char *lim;
	unsigned long long limit;

	if (real == NULL)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT,
		    "write");
	lim = getenv("FAULTSHIM_WRITE_LIMIT");
	if (lim != NULL && fd_matches(fd)) {
		limit = strtoull(lim, NULL, 10);
		if (written >= limit) {
			errno = ENOSPC;
			return -1;
		}
		if (n > limit - written)
			n = (size_t)(limit - written);
		written += n;
	}
	return real(fd, p, n);
}

int
fsync(int fd)
{
	static int (*real)(int);

	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	if (fd_matches(fd)) {
		if (is("FAULTSHIM_FSYNC", "eio")) {
			errno = EIO;
			return -1;
		}
		if (is("FAULTSHIM_FSYNC", "sleep"))
			sleep(30);
	}
	return real(fd);
}

int
faccessat(int dirfd, const char *path, int mode, int flags)
{
	static int (*real)(int, const char *, int, int);

	if (real == NULL)
		real = (int (*)(int, const char *, int, int))dlsym(RTLD_NEXT,
		    "faccessat");
	if (is("FAULTSHIM_ACCESS", "eacces") && (fd_matches(dirfd) ||
	    (getenv("FAULTSHIM_PATH") && strstr(path,
	    getenv("FAULTSHIM_PATH"))))) {
		errno = EACCES;
		return -1;
	}
	return real(dirfd, path, mode, flags);
}
