/*
 * Resolution with getaddrinfo_a() so that DNS, too, obeys the deadline
 * (plain getaddrinfo() can block for the resolver's own timeouts), and
 * connection with non-blocking sockets so each attempt can be bounded.
 * The overall deadline is never multiplied by the number of addresses.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadline.h"
#include "err.h"
#include "log.h"
#include "net.h"
#include "xmalloc.h"

#define CONNECT_LIMIT_MS 30000

static int
gai_kind(int rc)
{
	switch (rc) {
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
	case EAI_ADDRFAMILY:
		return E_NOHOST;
	case EAI_MEMORY:
	case EAI_SYSTEM:
		return E_OSERR;
	default:
		return E_TEMPFAIL;
	}
}

/* Wait for all requests, bounded by the deadline; cancel on expiry. */
static int
wait_requests(struct gaicb **reqs, int n, struct deadline *dl,
    struct err *e)
{
	struct timespec ts;
	int64_t left;
	int i, busy;

	for (;;) {
		busy = 0;
		for (i = 0; i < n; i++)
			if (gai_error(reqs[i]) == EAI_INPROGRESS)
				busy = 1;
		if (!busy)
			return 0;
		left = deadline_left_ms(dl);
		if (left <= 0 || deadline_check(dl, e) < 0) {
			for (i = 0; i < n; i++)
				gai_cancel(reqs[i]);
			return left <= 0 ? deadline_expired(dl, e) : -1;
		}
		/* Short slices: a signal between checks is seen quickly. */
		if (left > 200)
			left = 200;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (left % 1000) * 1000000;
		gai_suspend((const struct gaicb *const *)reqs, n, &ts);
	}
}

static void
collect(struct net_target *t, const struct addrinfo *res)
{
	const struct addrinfo *ai;
	size_t n = 0;

	for (ai = res; ai != NULL; ai = ai->ai_next)
		n++;
	t->addrs = xcalloc(n, sizeof(*t->addrs));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(t->addrs[0].ss))
			continue;
		memcpy(&t->addrs[t->naddrs].ss, ai->ai_addr, ai->ai_addrlen);
		t->addrs[t->naddrs].len = ai->ai_addrlen;
		t->naddrs++;
	}
}

/*
 * A request and everything it points to, on the heap: when the deadline
 * cuts a lookup short and gai_cancel() cannot stop it, glibc's helper
 * thread goes on using all of it, so none of it may live on the stack.
 * Such a request is abandoned, not freed, and kept reachable.
 */
struct lookup_req {
	struct gaicb cb;
	struct addrinfo hints;
	char *name, *service;
	struct lookup_req *next_abandoned;
};

static struct lookup_req *abandoned;

static void
lookup_req_free(struct lookup_req *lr)
{
	free(lr->name);
	free(lr->service);
	free(lr);
}

/* One bounded getaddrinfo_a() round; *res is set on success. */
static int
lookup(const char *name, const char *service, const struct addrinfo *hints,
    struct addrinfo **res, struct deadline *dl, struct err *e)
{
	struct lookup_req *lr = xcalloc(1, sizeof(*lr));
	struct gaicb *reqs[1];
	int rc;

	lr->hints = *hints;
	lr->name = xstrdup(name);
	lr->service = service != NULL ? xstrdup(service) : NULL;
	lr->cb.ar_name = lr->name;
	lr->cb.ar_service = lr->service;
	lr->cb.ar_request = &lr->hints;
	reqs[0] = &lr->cb;
	rc = getaddrinfo_a(GAI_NOWAIT, reqs, 1, NULL);
	if (rc == 0 && wait_requests(reqs, 1, dl, e) < 0) {
		if (gai_error(&lr->cb) == EAI_INPROGRESS) {
			lr->next_abandoned = abandoned;
			abandoned = lr;
		} else {
			if (gai_error(&lr->cb) == 0)
				freeaddrinfo(lr->cb.ar_result);
			lookup_req_free(lr);
		}
		return -1;
	}
	if (rc == 0)
		rc = gai_error(&lr->cb);
	if (rc == 0)
		*res = lr->cb.ar_result;
	lookup_req_free(lr);
	if (rc == 0)
		return 0;
	if (rc == EAI_SYSTEM)
		return err_set(e, E_OSERR, "%s: %s", name, strerror(errno));
	return err_set(e, gai_kind(rc), "%s: %s", name, gai_strerror(rc));
}

int
net_resolve(const char *host, int port, int family, struct net_target *t,
    struct deadline *dl, struct err *e)
{
	struct addrinfo hints, *res;
	char service[16];

	memset(t, 0, sizeof(*t));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	snprintf(service, sizeof(service), "%d", port);
	/* An address literal needs no resolver (nor its helper thread). */
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(host, service, &hints, &res) != 0) {
		hints.ai_flags = AI_ADDRCONFIG;
		if (lookup(host, service, &hints, &res, dl, e) < 0)
			return -1;
	}
	collect(t, res);
	freeaddrinfo(res);
	if (t->naddrs == 0) {
		net_target_free(t);
		return err_set(e, E_NOHOST, "%s: no usable address", host);
	}
	return 0;
}

char *
net_self_name(struct deadline *dl)
{
	struct addrinfo hints, *res = NULL;
	struct err ignored;
	char self[256], *name = NULL;

	if (gethostname(self, sizeof(self)) < 0)
		return NULL;
	self[sizeof(self) - 1] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_CANONNAME;
	err_init(&ignored);
	if (lookup(self, NULL, &hints, &res, dl, &ignored) == 0) {
		if (res->ai_canonname != NULL)
			name = xstrdup(res->ai_canonname);
		freeaddrinfo(res);
	}
	if (name == NULL)
		name = xstrdup(self);
	return name;
}

void
net_target_free(struct net_target *t)
{
	free(t->addrs);
	memset(t, 0, sizeof(*t));
}

const char *
net_ntop(const struct net_addr *a, char *buf, size_t size)
{
	const void *p;

	if (a->ss.ss_family == AF_INET6)
		p = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
	else
		p = &((const struct sockaddr_in *)&a->ss)->sin_addr;
	if (inet_ntop(a->ss.ss_family, p, buf, size) == NULL)
		snprintf(buf, size, "?");
	return buf;
}

int
net_is_loopback(const struct net_addr *a)
{
	const struct sockaddr_in6 *s6;

	if (a->ss.ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr
		    .s_addr) >> 24) == 127;
	if (a->ss.ss_family != AF_INET6)
		return 0;
	s6 = (const struct sockaddr_in6 *)&a->ss;
	if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
		return 1;
	return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) &&
	    s6->sin6_addr.s6_addr[12] == 127;
}

int
net_local_literal(int fd, char *buf, size_t size)
{
	struct net_addr a;
	char ip[INET6_ADDRSTRLEN];

	a.len = sizeof(a.ss);
	if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len) < 0)
		return -1;
	net_ntop(&a, ip, sizeof(ip));
	snprintf(buf, size, a.ss.ss_family == AF_INET6 ? "[IPv6:%s]" : "[%s]",
	    ip);
	return 0;
}

/* One non-blocking connect attempt; returns the socket or -1 (errno). */
static int
connect_one(const struct net_addr *a, struct deadline *dl, int *timed_out)
{
	struct err we;
	socklen_t len = sizeof(int);
	int fd, soerr = 0, one = 1, r;

	*timed_out = 0;
	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Our writes are already coalesced: never wait on Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	err_init(&we);
	if (deadline_wait(fd, POLLOUT, dl, &we) < 0) {
		*timed_out = we.timed_out;
		errno = we.timed_out ? ETIMEDOUT : we.kind == E_OSERR ? EIO :
		    EINTR;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		goto fail;
	if (soerr == 0)
		return fd;
	errno = soerr;
fail:
	r = errno;
	close(fd);
	errno = r;
	return -1;
}

int
net_connect(const struct net_target *t, size_t *used, struct deadline *dl,
    struct err *e)
{
	const char *phase = dl->phase;
	char ip[INET6_ADDRSTRLEN];
	int64_t overall_end = dl->phase_end_ms;
	int fd, timed_out = 0, last_errno = 0;
	size_t i;

	for (i = 0; i < t->naddrs; i++) {
		deadline_phase(dl, phase, CONNECT_LIMIT_MS);
		if (dl->phase_end_ms > overall_end)
			dl->phase_end_ms = overall_end;
		if (deadline_left_ms(dl) <= 0)
			break;
		log_info("connecting to %s",
		    net_ntop(&t->addrs[i], ip, sizeof(ip)));
		fd = connect_one(&t->addrs[i], dl, &timed_out);
		if (fd >= 0) {
			*used = i;
			return fd;
		}
		if (deadline_check(dl, e) < 0)
			return -1;
		last_errno = errno;
		if (last_errno == EMFILE || last_errno == ENFILE ||
		    last_errno == ENOBUFS || last_errno == ENOMEM)
			return err_set(e, E_OSERR, "%s: socket: %s", phase,
			    strerror(last_errno));
		log_info("%s: %s", ip, strerror(last_errno));
	}
	if (last_errno == 0 || (timed_out && i == t->naddrs))
		last_errno = ETIMEDOUT;
	if (t->naddrs == 0)
		return err_set(e, E_TEMPFAIL, "%s: no address", phase);
	if (i >= t->naddrs)
		i = t->naddrs - 1;
	return err_set(e, E_TEMPFAIL, "%s: %s: %s", phase,
	    net_ntop(&t->addrs[i], ip, sizeof(ip)), strerror(last_errno));
}
