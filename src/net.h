/*
 * net: name resolution and TCP connection set-up, both bounded by the
 * run's deadline.  It knows nothing of TLS or SMTP; it hands back a
 * connected, non-blocking, close-on-exec socket.
 */
#ifndef SMTPSEND_NET_H
#define SMTPSEND_NET_H

#include <stddef.h>
#include <sys/socket.h>

struct deadline;
struct err;

struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct net_target {
	struct net_addr *addrs;	/* in getaddrinfo's preference order */
	size_t naddrs;
};

/*
 * Resolve host (a name or an address literal) for TCP port, limited to
 * family (AF_UNSPEC, AF_INET or AF_INET6).  Errors: E_NOHOST (no such
 * name), E_TEMPFAIL (try again, timeout), E_OSERR.
 */
int net_resolve(const char *host, int port, int family, struct net_target *t,
    struct deadline *dl, struct err *e);
/*
 * This machine's name: the canonical name of gethostname() when it
 * resolves (bounded by dl), else the bare host name.  Never NULL unless
 * gethostname() fails.  Caller frees.
 */
char *net_self_name(struct deadline *dl);
void net_target_free(struct net_target *t);
/*
 * Connect to the addresses in turn, each attempt bounded by 30 s and the
 * deadline.  Returns the socket and sets *used to the index connected to.
 * Errors: E_TEMPFAIL (refused, unreachable, timeout), E_OSERR.
 */
int net_connect(const struct net_target *t, size_t *used,
    struct deadline *dl, struct err *e);
/* Numeric form of an address, for messages. */
const char *net_ntop(const struct net_addr *a, char *buf, size_t size);
int net_is_loopback(const struct net_addr *a);
/* RFC 5321 address literal of the socket's local end ("[192.0.2.1]"). */
int net_local_literal(int fd, char *buf, size_t size);

#endif
