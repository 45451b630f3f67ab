/* SPDX-License-Identifier: MIT */
/* Shared tool helpers: messages, exit codes, passwords (see fe.h). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
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

/* The longest password accepted, in bytes (see "Passwords" below). */
#define PASSWORD_MAX 4096

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

const char *fe_one_operand(int argc, char **argv, const char *what)
{
	if (optind == argc)
		fe_usage_error("missing %s", what);
	if (argc - optind > 1)
		fe_usage_error("one %s only ('%s' is extra)", what, argv[optind + 1]);
	return argv[optind];
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

/* The code for a failed open or read of a file the user named (missing, a directory,
 * permission: all environment errors, exit 4). */
static int errno_code(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return APPKG_ERR_NO_FILE;
	case EACCES:
	case EPERM:
		return APPKG_ERR_PERMISSION;
	case ENOMEM:
		return APPKG_ERR_NO_MEMORY;
	default:
		return APPKG_ERR_IO;
	}
}

static int read_path(const char *path, size_t max, void *(*alloc)(size_t),
		     void (*release)(void *), char **data, size_t *len)
{
	/* O_NONBLOCK: a FIFO without a writer must not hang the open; then only regular files */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY), rc;
	struct stat st;

	if (fd < 0)
		return errno == ENOENT ? APPKG_ERR_NOT_FOUND : errno == ELOOP ? APPKG_ERR_SOURCE
										: APPKG_ERR_IO;
	if (fstat(fd, &st) != 0)
		rc = APPKG_ERR_IO;
	else if (!S_ISREG(st.st_mode))
		rc = APPKG_ERR_SOURCE;
	else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
		rc = APPKG_ERR_IO;
	else
		rc = read_fd(fd, max, alloc, release, data, len);
	close(fd);
	return rc;
}

static int output_fail(const char *path, const char *what, int err)
{
	if (err)
		fprintf(stderr, "%s: '%s': %s: %s\n", fe_prog, path, what, strerror(err));
	else
		fprintf(stderr, "%s: '%s': %s\n", fe_prog, path, what);
	return APPKG_EXIT_ENVIRONMENT;
}

int fe_check_output(const char *path, int allow_device)
{
	struct stat st;
	char *copy, *dir;
	int rc = 0;

	if (!strcmp(path, "-"))
		return 0;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return output_fail(path, "is a directory", 0);
		if (!S_ISREG(st.st_mode) && !(allow_device && S_ISCHR(st.st_mode)))
			return output_fail(path, "not a regular file, will not replace it", 0);
		return 0;
	}
	if (errno != ENOENT)
		return output_fail(path, "cannot write", errno);
	if (!(copy = strdup(path)))
		return output_fail(path, "out of memory", 0);
	/* absent: its directory must exist and be writable (the file is made beside it) */
	dir = dirname(copy); /* copy, or a constant "." */
	if (stat(dir, &st) != 0)
		rc = output_fail(path, "cannot create", errno);
	else if (!S_ISDIR(st.st_mode))
		rc = output_fail(path, "cannot create", ENOTDIR);
	else if (access(dir, W_OK | X_OK) != 0)
		rc = output_fail(path, "cannot create", errno);
	free(copy);
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

/*
 * Passwords. A password is the bytes of the first line of its source, without the line end
 * ("\n" or "\r\n"): at most PASSWORD_MAX bytes, not empty, no NUL byte. The bytes are used as
 * they are (UTF-8 or not, never normalised), so the same keys must be typed each time. Only
 * PASSWORD_READ bytes are ever read from a source, so /dev/zero or an endless pipe costs
 * nothing. Every refusal prints one line naming the source: exit 4 when the source cannot be
 * read (missing, a directory, permission), 3 when what it holds is no usable password.
 */
#define PASSWORD_READ (PASSWORD_MAX + 2)

struct source {
	const char *name; /* for messages: the file, the variable or the terminal */
	char *pw;         /* PASSWORD_READ + 1 bytes of guarded memory */
	size_t len;
};

static int source_fail(const char *name, int code, const char *what, int err)
{
	if (err)
		fprintf(stderr, "%s: '%s': %s: %s\n", fe_prog, name, what, strerror(err));
	else
		fprintf(stderr, "%s: '%s': %s\n", fe_prog, name, what);
	return code;
}

/* Read at most PASSWORD_READ bytes, stopping at the first line end or at the end of fd. */
static int read_password_fd(int fd, struct source *s)
{
	ssize_t r;

	while (s->len < PASSWORD_READ && !memchr(s->pw, '\n', s->len)) {
		r = read(fd, s->pw + s->len, PASSWORD_READ - s->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return source_fail(s->name, errno_code(errno), "cannot read the password",
					   errno);
		if (r == 0)
			break;
		s->len += (size_t)r;
	}
	return 0;
}

/* A password file: regular, or a pipe or device read without blocking on its open. */
static int read_password_file(const char *path, struct source *s)
{
	int fd, rc = 0;
	struct stat st;

	if (!strcmp(path, "-"))
		return read_password_fd(0, s);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return source_fail(path, errno_code(errno), "cannot open the password file", errno);
	if (fstat(fd, &st) != 0)
		rc = source_fail(path, errno_code(errno), "cannot read the password file", errno);
	else if (S_ISDIR(st.st_mode))
		rc = source_fail(path, APPKG_ERR_IO, "cannot read the password file", EISDIR);
	else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
		rc = source_fail(path, APPKG_ERR_IO, "cannot read the password file", errno);
	else
		rc = read_password_fd(fd, s); /* a FIFO with no writer reads as empty */
	close(fd);
	return rc;
}

static int prompt(struct source *s)
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
	rc = read_password_fd(fd, s); /* canonical mode: one read is one line */
	tcsetattr(fd, TCSAFLUSH, &old); /* TCSAFLUSH also drops the rest of an overlong line */
	dprintf(fd, "\n");
	close(fd);
	return rc;
}

/* Cut the buffer to its first line and check what is left. */
static int first_line(struct source *s)
{
	char *nl = memchr(s->pw, '\n', s->len);
	size_t n = nl ? (size_t)(nl - s->pw) : s->len;

	if (n > 0 && s->pw[n - 1] == '\r')
		n--;
	sodium_memzero(s->pw + n, PASSWORD_READ + 1 - n);
	s->len = n;
	if (n == 0)
		return source_fail(s->name, APPKG_ERR_NO_PASSWORD, "empty password", 0);
	if (n > PASSWORD_MAX) {
		char what[64];
		snprintf(what, sizeof(what), "password longer than %d bytes", PASSWORD_MAX);
		return source_fail(s->name, APPKG_ERR_NO_PASSWORD, what, 0);
	}
	if (memchr(s->pw, '\0', n))
		return source_fail(s->name, APPKG_ERR_NO_PASSWORD, "password holds a NUL byte", 0);
	return 0;
}

int fe_password(const char *file, int allow_prompt, char **pw, size_t *len)
{
	return fe_password_env(file, "APPKG_PASSWORD", allow_prompt, pw, len);
}

int fe_password_env(const char *file, const char *env_name, int allow_prompt, char **pw,
		    size_t *len)
{
	const char *env = getenv(env_name);
	struct source s = {.name = file ? (strcmp(file, "-") ? file : "standard input")
				       : env ? env_name : "/dev/tty"};
	int rc;

	*pw = NULL;
	*len = 0;
	if (!file && !env && !allow_prompt)
		return 1;
	if (!(s.pw = sodium_malloc(PASSWORD_READ + 1)))
		return source_fail(s.name, APPKG_ERR_NO_MEMORY, "out of memory", 0);
	memset(s.pw, 0, PASSWORD_READ + 1);
	if (file) {
		rc = read_password_file(file, &s);
	} else if (env) {
		s.len = strnlen(env, PASSWORD_READ);
		memcpy(s.pw, env, s.len);
		rc = 0;
	} else {
		rc = prompt(&s);
	}
	if (rc == 0)
		rc = first_line(&s);
	if (rc == 0) {
		*pw = s.pw;
		*len = s.len;
	} else {
		sodium_free(s.pw); /* the caller gets nothing to free */
	}
	return rc;
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

enum appkg_kdf_level fe_parse_kdf(const char *s)
{
	if (!strcmp(s, "interactive"))
		return APPKG_KDF_INTERACTIVE;
	if (!strcmp(s, "moderate"))
		return APPKG_KDF_MODERATE;
	if (!strcmp(s, "sensitive"))
		return APPKG_KDF_SENSITIVE;
	fe_usage_error("--kdf: expected interactive, moderate or sensitive, not '%s'", s);
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

/* One password typed at the terminal into a source of its own; nothing to free on failure. */
static int prompt_password(struct source *s)
{
	int rc;

	*s = (struct source){.name = "/dev/tty", .pw = sodium_malloc(PASSWORD_READ + 1)};
	if (!s->pw)
		return source_fail(s->name, APPKG_ERR_NO_MEMORY, "out of memory", 0);
	memset(s->pw, 0, PASSWORD_READ + 1);
	if ((rc = prompt(s)) == 0)
		rc = first_line(s);
	if (rc) {
		sodium_free(s->pw);
		s->pw = NULL;
	}
	return rc;
}

/* Two prompts that must agree, for a password that is about to seal something new. */
static int prompt_twice(char **pw, size_t *len)
{
	struct source first, again;
	int fd = open("/dev/tty", O_WRONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return 1;
	dprintf(fd, "New password for the secrets (asked twice)\n");
	close(fd);
	if ((rc = prompt_password(&first)) != 0)
		return rc;
	if ((rc = prompt_password(&again)) == 0) {
		if (again.len != first.len || sodium_memcmp(again.pw, first.pw, first.len) != 0)
			rc = source_fail(first.name, APPKG_ERR_AUTH, "the two passwords differ", 0);
		sodium_free(again.pw);
	}
	if (rc) {
		sodium_free(first.pw);
		return rc;
	}
	*pw = first.pw;
	*len = first.len;
	return 0;
}

int fe_password_confirm(const char *file, int allow_prompt, char **pw, size_t *len)
{
	*pw = NULL;
	*len = 0;
	if (file || getenv("APPKG_PASSWORD") || !allow_prompt)
		return fe_password(file, allow_prompt, pw, len);
	return prompt_twice(pw, len);
}

int fe_password_confirm_env(const char *file, const char *env_name, int allow_prompt, char **pw,
			    size_t *len)
{
	*pw = NULL;
	*len = 0;
	if (file || getenv(env_name) || !allow_prompt)
		return fe_password_env(file, env_name, allow_prompt, pw, len);
	return prompt_twice(pw, len);
}

int fe_set_signing_key(appkg_writer *w, const char *subject, const char *key,
		       const char *key_password_file)
{
	char *pw = NULL;
	size_t pw_len = 0;
	int rc = appkg_writer_set_signing_key(w, key, NULL, 0);

	if (rc == APPKG_ERR_NO_PASSWORD) { /* tried without first: a bad file is named before a prompt */
		rc = fe_password_env(key_password_file, "APPKG_KEY_PASSWORD", 1, &pw, &pw_len);
		if (rc == 1)
			fe_report(key, APPKG_ERR_NO_PASSWORD, "the secret key is encrypted: a password is "
				  "needed (--key-password-file, APPKG_KEY_PASSWORD or a terminal)");
		if (rc) /* the helper said why */
			return rc == 1 ? APPKG_ERR_NO_PASSWORD : rc;
		rc = appkg_writer_set_signing_key(w, key, pw, pw_len);
		fe_secret_free(pw, pw_len);
	}
	if (rc == APPKG_ERR_NOT_FOUND)
		rc = APPKG_ERR_NO_FILE; /* a key file that is not there: the environment */
	if (rc) /* the writer's message names the key file */
		fe_report(subject, rc, appkg_writer_error(w));
	return rc;
}

/* ---- text for a terminal ---- */

/* 1 if s starts with a well-formed UTF-8 sequence of two to four bytes (no overlong form,
 * surrogate or code point past U+10FFFF). */
static int utf8_sequence(const unsigned char *s)
{
	int n = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
		: s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;

	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return n != 0;
}

/* Bytes of s that must not reach a terminal as they are: C0 and C1 controls, DEL, the
 * bidirectional controls (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069), and bytes
 * that are not UTF-8 (0x9B is CSI to an 8-bit terminal). 0 if the sequence at s is fine, else
 * how many bytes to write as %XX. */
static size_t unsafe_bytes(const unsigned char *s)
{
	if (s[0] < 0x20 || s[0] == 0x7f)
		return 1;
	if (s[0] >= 0x80 && !utf8_sequence(s))
		return 1;
	if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2;
	if (s[0] == 0xd8 && s[1] == 0x9c)
		return 2;
	if (s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0x8e || s[2] == 0x8f || (s[2] >= 0xaa && s[2] <= 0xae)))
		return 3;
	if (s[0] == 0xe2 && s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)
		return 3;
	return 0;
}

/* Print s (from a package, so untrusted) on stdout with what unsafe_bytes names written %XX. */
void fe_put_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = unsafe_bytes(p);
		if (!n) { /* one character: ASCII, or a whole UTF-8 sequence */
			n = *p < 0x80 ? 1 : *p < 0xe0 ? 2 : *p < 0xf0 ? 3 : 4;
			fwrite(p, 1, n, stdout);
			p += n;
			continue;
		}
		while (n--)
			printf("%%%02X", *p++);
	}
}

/* The end of a change line as appkg diff and appkg plan print it, after the pointer:
 * ": OLD -> NEW", ": changed" (no values, as for secrets) or ": added NEW" / ": removed OLD". */
void fe_put_change_values(const struct appkg_change *c)
{
	static const char *const kinds[] = {"", "added", "removed", "changed"};

	if (c->kind == APPKG_CHANGE_CHANGED && !c->old_value) {
		fputs(": changed\n", stdout);
		return;
	}
	printf(": ");
	if (c->kind == APPKG_CHANGE_CHANGED) {
		fe_put_text(c->old_value);
		fputs(" -> ", stdout);
		fe_put_text(c->new_value);
	} else {
		printf("%s ", c->kind >= 1 && c->kind <= 3 ? kinds[c->kind] : "?");
		fe_put_text(c->old_value ? c->old_value : c->new_value);
	}
	putchar('\n');
}

int fe_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}
