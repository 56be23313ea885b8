/* Password and token sources: see secret.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "deadline.h"
#include "err.h"
#include "log.h"
#include "secret.h"
#include "xmalloc.h"

void
secret_set(struct secret *s, char *p, size_t len)
{
	secret_wipe(s);
	s->data = xmalloc(len + 1);
	memcpy(s->data, p, len);
	s->data[len] = '\0';
	s->len = len;
	explicit_bzero(p, len);
}

void
secret_wipe(struct secret *s)
{
	if (s->data != NULL) {
		explicit_bzero(s->data, s->len);
		free(s->data);
	}
	s->data = NULL;
	s->len = 0;
}

/* Length of the first line of p (without its CR LF or LF). */
static size_t
first_line(const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);

	if (nl != NULL)
		n = (size_t)(nl - p);
	if (n > 0 && p[n - 1] == '\r')
		n--;
	return n;
}

/*
 * Read up to one line from fd into line (size SECRET_LINE_MAX), stopping
 * at the first LF so that nothing after it is consumed from a pipe.
 * Returns the number of bytes, or -1 with errno set.
 */
static ssize_t
read_line(int fd, char *line)
{
	size_t n = 0;
	ssize_t r;

	while (n < SECRET_LINE_MAX - 1) {
		r = read(fd, line + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0 || line[n] == '\n')
			break;
		n++;
	}
	return (ssize_t)n;
}

int
secret_from_file(struct secret *s, const char *path, const char *what,
    struct err *e)
{
	char line[SECRET_LINE_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return err_set(e, E_NOINPUT, "%s %s: %s", what, path,
		    strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return err_set(e, E_NOINPUT, "%s %s: is a directory", what,
		    path);
	}
	/* A secret others can read is not a secret (design.md section 5). */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		log_warn("%s %s is readable by group or others (mode %03o); "
		    "chmod 600 it", what, path, (unsigned)st.st_mode & 0777);
	n = read_line(fd, line);
	close(fd);
	if (n < 0)
		return err_set(e, E_NOINPUT, "%s %s: %s", what, path,
		    strerror(errno));
	secret_set(s, line, first_line(line, (size_t)n));
	explicit_bzero(line, sizeof(line));
	return 0;
}

int
secret_from_fd(struct secret *s, int fd, struct err *e)
{
	char line[SECRET_LINE_MAX];
	ssize_t n;

	if (fcntl(fd, F_GETFD) < 0)
		return err_set(e, E_NOINPUT, "--password-fd %d: %s", fd,
		    strerror(errno));
	n = read_line(fd, line);
	if (n < 0) {
		err_set(e, E_NOINPUT, "--password-fd %d: %s", fd,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	secret_set(s, line, first_line(line, (size_t)n));
	explicit_bzero(line, sizeof(line));
	return 0;
}

int
secret_from_env(struct secret *s, const char *var, struct err *e)
{
	const char *v = getenv(var);
	char *copy;

	if (v == NULL || *v == '\0')
		return err_set(e, E_NOINPUT, "--password-env %s: the variable "
		    "is not set", var);
	copy = xstrdup(v);
	secret_set(s, copy, strlen(copy));
	free(copy);
	return 0;
}

/* The child side of secret_from_cmd: never returns. */
static void
run_child(const char *cmd, int out)
{
	int null = open("/dev/null", O_RDONLY);

	if (null < 0 || dup2(null, STDIN_FILENO) < 0 ||
	    dup2(out, STDOUT_FILENO) < 0)
		_exit(126);
	signal(SIGPIPE, SIG_DFL);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

/* Collect the child's output into p (SECRET_CMD_MAX bytes) by the deadline. */
static ssize_t
collect(int fd, char *p, const char *what, struct deadline *dl,
    struct err *e)
{
	size_t n = 0;
	ssize_t r;

	for (;;) {
		if (n == SECRET_CMD_MAX)
			return err_set(e, E_NOINPUT, "%s: the command printed "
			    "more than %d bytes", what, SECRET_CMD_MAX);
		r = read(fd, p + n, SECRET_CMD_MAX - n);
		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		if (r == 0)
			return (ssize_t)n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return err_set(e, E_OSERR, "%s: %s", what,
			    strerror(errno));
		if (deadline_wait(fd, POLLIN, dl, e) < 0)
			return -1;
	}
}

static int
reap(pid_t pid, const char *what, int killed, struct err *e)
{
	int status;

	if (killed)
		kill(pid, SIGTERM);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err_set(e, E_OSERR, "%s: %s", what,
			    strerror(errno));
	if (killed)
		return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return err_set(e, E_NOINPUT, "%s: the command failed (exit "
		    "status %d)", what, WEXITSTATUS(status));
	return err_set(e, E_NOINPUT, "%s: the command was killed by signal "
	    "%d", what, WTERMSIG(status));
}

int
secret_from_cmd(struct secret *s, const char *cmd, const char *what,
    struct deadline *dl, struct err *e)
{
	int p[2];
	pid_t pid;
	char *out;
	ssize_t n;
	int rc;

	if (pipe2(p, O_CLOEXEC) < 0)
		return err_set(e, E_OSERR, "%s: pipe: %s", what,
		    strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return err_set(e, E_OSERR, "%s: fork: %s", what,
		    strerror(errno));
	}
	if (pid == 0)
		run_child(cmd, p[1]);
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	/* Allocated whole, never grown: realloc would leave copies behind. */
	out = xmalloc(SECRET_CMD_MAX);
	n = collect(p[0], out, what, dl, e);
	close(p[0]);
	rc = reap(pid, what, n < 0, e);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		n--;
	if (rc == 0 && n == 0)
		rc = err_set(e, E_NOINPUT, "%s: the command printed nothing",
		    what);
	if (rc == 0)
		secret_set(s, out, (size_t)n);
	explicit_bzero(out, n > 0 ? (size_t)n : 0);
	free(out);
	return rc;
}

int
secret_prompt(struct secret *s, const char *prompt, struct err *e)
{
	struct termios saved, quiet;
	char line[SECRET_LINE_MAX];
	ssize_t n, w;
	int fd;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (tcgetattr(fd, &saved) < 0) {
		close(fd);
		return 0;
	}
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	w = write(fd, prompt, strlen(prompt));
	tcsetattr(fd, TCSAFLUSH, &quiet);
	n = read_line(fd, line);
	tcsetattr(fd, TCSAFLUSH, &saved);
	w = write(fd, "\n", 1);
	(void)w;
	close(fd);
	if (n < 0) {
		explicit_bzero(line, sizeof(line));
		return err_set(e, E_NOINPUT, "/dev/tty: %s", strerror(errno));
	}
	secret_set(s, line, first_line(line, (size_t)n));
	explicit_bzero(line, sizeof(line));
	return 1;
}
