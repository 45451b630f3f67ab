/* SPDX-License-Identifier: MIT */
/* Shared tool helpers: messages, exit codes, passwords (see fe.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "fe.h"

#define PASSWORD_MAX 1024

const char *fe_prog = "appkg";

void fe_init(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	fe_prog = slash ? slash + 1 : argv0;
	opterr = 0; /* getopt's own message would be a second line: see fe_getopt */
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: libsodium failed to initialise\n", fe_prog);
		exit(APPKG_EXIT_ENVIRONMENT);
	}
}

int fe_report(const char *subject, int code, const char *message)
{
	if (!message || !*message)
		message = appkg_error_name(code);
	fprintf(stderr, "%s: '%s': %s\n", fe_prog, subject, message);
	return appkg_error_class(code);
}

void fe_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", fe_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see %s --help)\n", fe_prog);
	exit(APPKG_EXIT_USAGE);
}

void fe_version(void)
{
	printf("%s (appkg) %s, format %d.%d\n", fe_prog, APPKG_VERSION, APPKG_FORMAT_MAJOR,
	       APPKG_FORMAT_MINOR);
	exit(0);
}

void fe_secret_free(char *p, size_t len)
{
	(void)len;
	if (p)
		sodium_free(p);
}

/* Read fd to its end into a buffer from alloc() sized by fstat (or max for a pipe). */
static int read_fd(int fd, size_t max, void *(*alloc)(size_t), void (*release)(void *),
		   char **data, size_t *len)
{
	struct stat st;
	size_t cap = max, n = 0;
	char *p;
	ssize_t r;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		if ((uint64_t)st.st_size > max)
			return APPKG_ERR_LIMIT_MEMBER_SIZE;
		cap = (size_t)st.st_size;
	}
	if (!(p = alloc(cap + 1)))
		return APPKG_ERR_NO_MEMORY;
	while (n < cap && (r = read(fd, p + n, cap - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			release(p);
			return APPKG_ERR_IO;
		}
		n += (size_t)r;
	}
	if (n == cap && cap == max && read(fd, &(char){0}, 1) > 0) {
		release(p);
		return APPKG_ERR_LIMIT_MEMBER_SIZE;
	}
	p[n] = '\0';
	*data = p;
	*len = n;
	return 0;
}

static int read_path(const char *path, size_t max, void *(*alloc)(size_t),
		     void (*release)(void *), char **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;

	if (fd < 0)
		return errno == ENOENT ? APPKG_ERR_NOT_FOUND : APPKG_ERR_IO;
	rc = read_fd(fd, max, alloc, release, data, len);
	close(fd);
	return rc;
}

int fe_read_secret(const char *path, size_t max, char **data, size_t *len)
{
	return read_path(path, max, sodium_malloc, sodium_free, data, len);
}

int fe_read_file(const char *path, size_t max, char **data, size_t *len)
{
	return read_path(path, max, malloc, free, data, len);
}

static size_t first_line(char *s, size_t n)
{
	char *nl = memchr(s, '\n', n);

	if (nl)
		n = (size_t)(nl - s);
	if (n > 0 && s[n - 1] == '\r')
		n--;
	sodium_memzero(s + n, strlen(s + n));
	return n;
}

static int prompt(char **pw, size_t *len)
{
	struct termios old, quiet;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC), rc;

	if (fd < 0)
		return 1;
	if (tcgetattr(fd, &old) != 0) {
		close(fd);
		return 1;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	dprintf(fd, "Password: ");
	tcsetattr(fd, TCSAFLUSH, &quiet);
	*pw = sodium_malloc(PASSWORD_MAX + 1);
	rc = *pw ? 0 : APPKG_ERR_NO_MEMORY;
	if (*pw) { /* canonical mode: one read is one line */
		ssize_t r = read(fd, *pw, PASSWORD_MAX);
		*len = r > 0 ? (size_t)r : 0;
		(*pw)[*len] = '\0';
	}
	tcsetattr(fd, TCSAFLUSH, &old);
	dprintf(fd, "\n");
	close(fd);
	return rc;
}

int fe_password(const char *file, int allow_prompt, char **pw, size_t *len)
{
	return fe_password_env(file, "APPKG_PASSWORD", allow_prompt, pw, len);
}

int fe_password_env(const char *file, const char *env_name, int allow_prompt, char **pw,
		    size_t *len)
{
	const char *env = getenv(env_name);
	int rc;

	if (file) {
		rc = strcmp(file, "-") ? fe_read_secret(file, PASSWORD_MAX, pw, len)
				       : read_fd(0, PASSWORD_MAX, sodium_malloc, sodium_free, pw, len);
		if (rc) {
			fprintf(stderr, "%s: '%s': cannot read the password file\n", fe_prog, file);
			return rc == APPKG_ERR_NOT_FOUND ? APPKG_ERR_IO : rc;
		}
	} else if (env) {
		*len = strlen(env);
		*pw = sodium_malloc(*len + 1);
		if (!*pw)
			return APPKG_ERR_NO_MEMORY;
		memcpy(*pw, env, *len + 1);
	} else if (!allow_prompt || (rc = prompt(pw, len)) != 0) {
		return 1;
	}
	*len = first_line(*pw, *len);
	if (*len == 0) {
		fe_secret_free(*pw, 0);
		fprintf(stderr, "%s: empty password\n", fe_prog);
		return APPKG_ERR_NO_PASSWORD;
	}
	return 0;
}

long fe_parse_int(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	return v;
}

/* The long option argv[optind - 1] names, if getopt's last answer was about it. */
static const struct option *long_option(char **argv, const struct option *longs)
{
	const char *arg = optind > 0 ? argv[optind - 1] : NULL;
	size_t n;

	if (!arg || strncmp(arg, "--", 2) != 0 || !optopt)
		return NULL;
	n = strcspn(arg + 2, "=");
	for (; longs && longs->name; longs++)
		if (!strncmp(longs->name, arg + 2, n) && longs->val == optopt) /* or abbreviated */
			return longs;
	return NULL;
}

int fe_getopt(int argc, char **argv, const char *shorts, const struct option *longs)
{
	const struct option *o;
	const char *s;
	int c;

	opterr = 0;
	c = getopt_long(argc, argv, shorts, longs, NULL);
	if (c != '?')
		return c;
	if ((o = long_option(argv, longs)))
		fe_usage_error(strchr(argv[optind - 1], '=') ? "option '--%s' takes no argument"
							     : "option '--%s' needs an argument", o->name);
	if (!optopt)
		fe_usage_error("unrecognized option '%s'", argv[optind - 1]);
	s = strchr(shorts, optopt);
	if (s && s[1] == ':')
		fe_usage_error("option '-%c' needs an argument", optopt);
	fe_usage_error("unrecognized option '-%c'", optopt);
}

/* Two prompts that must agree, for a password that is about to seal something new. */
static int prompt_twice(char **pw, size_t *len)
{
	char *again = NULL;
	size_t again_len = 0;
	int fd = open("/dev/tty", O_WRONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return 1;
	dprintf(fd, "New password for the secrets (asked twice)\n");
	close(fd);
	if ((rc = prompt(pw, len)) != 0)
		return rc;
	*len = first_line(*pw, *len);
	if (*len > 0 && (rc = prompt(&again, &again_len)) == 0) {
		again_len = first_line(again, again_len);
		if (again_len != *len || sodium_memcmp(again, *pw, *len) != 0) {
			fprintf(stderr, "%s: the two passwords differ\n", fe_prog);
			rc = APPKG_ERR_AUTH;
		}
	}
	fe_secret_free(again, again_len);
	return rc;
}

int fe_password_confirm(const char *file, int allow_prompt, char **pw, size_t *len)
{
	int rc;

	*pw = NULL;
	*len = 0;
	if (file || getenv("APPKG_PASSWORD") || !allow_prompt) {
		rc = fe_password(file, allow_prompt, pw, len);
		if (rc) { /* whatever fe_password did with *pw, the caller must not free it */
			*pw = NULL;
			*len = 0;
		}
		return rc;
	}
	rc = prompt_twice(pw, len);
	if (rc == 0 && *len == 0) {
		fprintf(stderr, "%s: empty password\n", fe_prog);
		rc = APPKG_ERR_NO_PASSWORD;
	}
	if (rc) {
		fe_secret_free(*pw, *len);
		*pw = NULL;
		*len = 0;
	}
	return rc;
}
