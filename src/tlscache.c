/* TLS session data between runs: see tlscache.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "tls.h"
#include "tlscache.h"
#include "xmalloc.h"

static char *
entry_path(const char *dir, const char *key)
{
	char hex[65];

	tls_sha256_hex(key, strlen(key), hex);
	return xasprintf("%s/%s.tls", dir, hex);
}

int
tlscache_load(const char *dir, const char *key, struct buf *out)
{
	char *path = entry_path(dir, key), chunk[4096];
	struct stat st;
	ssize_t r;
	int fd, ok = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd < 0)
		return 0;
	/* Only our own, private files: anything else may be planted. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0 ||
	    st.st_size > TLSCACHE_MAX) {
		close(fd);
		log_info("TLS session cache: ignoring an unsafe entry");
		return 0;
	}
	buf_wipe(out);
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(out, chunk, (size_t)r) < 0)
			break;
	ok = r == 0 && out->len > 0;
	close(fd);
	explicit_bzero(chunk, sizeof(chunk));
	if (!ok)
		buf_wipe(out);
	return ok;
}

int
tlscache_store(const char *dir, const char *key, const void *data,
    size_t len, struct err *e)
{
	char *path, *tmp;
	int fd, rc = -1;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err_set(e, E_CANTCREAT, "--tls-session-cache %s: %s",
		    dir, strerror(errno));
	path = entry_path(dir, key);
	tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0) {
		err_set(e, E_CANTCREAT, "--tls-session-cache %s: %s", dir,
		    strerror(errno));
		goto out;
	}
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		fd = -1;
	}
	if (fd < 0 || close(fd) < 0) {
		err_set(e, E_CANTCREAT, "--tls-session-cache %s: %s", dir,
		    strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		err_set(e, E_CANTCREAT, "--tls-session-cache %s: %s", dir,
		    strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	free(path);
	return rc;
}
