/*
 * tlsrelay — a test server's TLS front end that can staple OCSP responses.
 *
 *   tlsrelay --cert FILE --key FILE --upstream PORT --port-file FILE
 *            [--ocsp FILE] [--log FILE]
 *
 * Listens on a free port of 127.0.0.1 (written to --port-file once it
 * accepts connections), does an implicit-TLS handshake with each client
 * using the PEM certificate chain and key, then relays bytes both ways
 * between the client and a plain server on 127.0.0.1:--upstream (the
 * tests put aiosmtpd there).  Python's ssl module cannot staple, which is
 * why this exists.
 *
 * With --ocsp, the DER OCSP response in FILE is stapled to the certificate
 * whenever the client asks for one (status_request, RFC 6066; under TLS
 * 1.3 in the Certificate message).  It is sent exactly as it is, whatever
 * it says and however old it is: judging it is the client's job.
 *
 * One process per connection (fork); each gives up after 60 s.  The log
 * (default stderr) gets one line per connection.  Built by `make check`;
 * links GnuTLS only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <gnutls/gnutls.h>

static FILE *logfp;
static gnutls_datum_t ocsp;	/* the response to staple, or empty */

static void
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(logfp, "tlsrelay[%ld]: ", (long)getpid());
	vfprintf(logfp, fmt, ap);
	fputc('\n', logfp);
	fflush(logfp);
	va_end(ap);
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("tlsrelay: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* GnuTLS asks for the response during each handshake that wants one. */
static int
staple(gnutls_session_t s, void *arg, gnutls_datum_t *out)
{
	(void)s;
	(void)arg;
	if (ocsp.size == 0)
		return GNUTLS_E_NO_CERTIFICATE_STATUS;
	out->data = gnutls_malloc(ocsp.size);
	if (out->data == NULL)
		return GNUTLS_E_MEMORY_ERROR;
	memcpy(out->data, ocsp.data, ocsp.size);
	out->size = ocsp.size;
	say("stapling %u bytes of OCSP response", ocsp.size);
	return 0;
}

static int
connect_upstream(int port)
{
	struct sockaddr_in sin;
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return -1;
	return fd;
}

/* Copy bytes both ways until either side closes. */
static void
relay(gnutls_session_t s, int client, int up)
{
	char buf[16384];
	struct pollfd p[2];
	ssize_t n;

	for (;;) {
		if (gnutls_record_check_pending(s) == 0) {
			p[0].fd = client;
			p[0].events = POLLIN;
			p[1].fd = up;
			p[1].events = POLLIN;
			if (poll(p, 2, -1) < 0) {
				if (errno == EINTR)
					continue;
				return;
			}
			if (p[1].revents) {
				n = read(up, buf, sizeof(buf));
				if (n <= 0 ||
				    gnutls_record_send(s, buf, (size_t)n) < 0)
					return;
			}
			if (!p[0].revents)
				continue;
		}
		n = gnutls_record_recv(s, buf, sizeof(buf));
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			continue;
		if (n <= 0 || write(up, buf, (size_t)n) != n)
			return;
	}
}

static void
serve(gnutls_certificate_credentials_t cred, int client, int upstream)
{
	gnutls_session_t s;
	int r, up;

	alarm(60);
	if (gnutls_init(&s, GNUTLS_SERVER) < 0 ||
	    gnutls_set_default_priority(s) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred) < 0)
		die("cannot set up a TLS session");
	gnutls_transport_set_int(s, client);
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0) {
		say("handshake failed: %s", gnutls_strerror(r));
		_exit(0);
	}
	say("handshake done: %s; OCSP %s", gnutls_protocol_get_name(
	    gnutls_protocol_get_version(s)), ocsp.size ? "offered" : "none");
	up = connect_upstream(upstream);
	if (up < 0) {
		say("upstream port %d: %s", upstream, strerror(errno));
		_exit(0);
	}
	relay(s, client, up);
	gnutls_bye(s, GNUTLS_SHUT_WR);
	say("connection closed");
	_exit(0);
}

int
main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *portfile = NULL, *ocspfile = NULL;
	const char *logname = NULL;
	gnutls_certificate_credentials_t cred;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct sigaction sa;
	int i, r, lfd, fd, upstream = 0, one = 1;
	char tmp[4096];
	FILE *f;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--cert") == 0)
			cert = argv[i + 1];
		else if (strcmp(argv[i], "--key") == 0)
			key = argv[i + 1];
		else if (strcmp(argv[i], "--port-file") == 0)
			portfile = argv[i + 1];
		else if (strcmp(argv[i], "--ocsp") == 0)
			ocspfile = argv[i + 1];
		else if (strcmp(argv[i], "--log") == 0)
			logname = argv[i + 1];
		else if (strcmp(argv[i], "--upstream") == 0)
			upstream = (int)strtol(argv[i + 1], NULL, 10);
		else
			break;
	}
	if (i != argc || cert == NULL || key == NULL || portfile == NULL ||
	    upstream <= 0 || upstream > 65535)
		die("usage: tlsrelay --cert FILE --key FILE --upstream PORT "
		    "--port-file FILE [--ocsp FILE] [--log FILE]");
	logfp = stderr;
	if (logname != NULL && (logfp = fopen(logname, "a")) == NULL)
		die("%s: %s", logname, strerror(errno));

	if ((r = gnutls_global_init()) < 0 ||
	    (r = gnutls_certificate_allocate_credentials(&cred)) < 0 ||
	    (r = gnutls_certificate_set_x509_key_file(cred, cert, key,
	    GNUTLS_X509_FMT_PEM)) < 0)
		die("%s, %s: %s", cert, key, gnutls_strerror(r));
	if (ocspfile != NULL) {
		if ((r = gnutls_load_file(ocspfile, &ocsp)) < 0)
			die("%s: %s", ocspfile, gnutls_strerror(r));
		gnutls_certificate_set_ocsp_status_request_function(cred,
		    staple, NULL);
	}

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(lfd, 16) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) < 0)
		die("listen: %s", strerror(errno));

	/* Children are never waited for. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = SA_NOCLDWAIT;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Publish the port atomically: readers wait for a non-empty file. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", portfile);
	if ((f = fopen(tmp, "w")) == NULL ||
	    fprintf(f, "%d\n", ntohs(sin.sin_port)) < 0 || fclose(f) != 0 ||
	    rename(tmp, portfile) < 0)
		die("%s: %s", portfile, strerror(errno));

	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept: %s", strerror(errno));
		}
		switch (fork()) {
		case -1:
			say("fork: %s", strerror(errno));
			break;
		case 0:
			close(lfd);
			serve(cred, fd, upstream);
			break;
		default:
			break;
		}
		close(fd);
	}
}
