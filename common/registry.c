/* SPDX-License-Identifier: MIT */
/*
 * The registry tools' shared part (registry.h): common options, credentials from docker's
 * config.json (auths.HOST.auth, base64 "user:password"; a credential helper named by
 * credHelpers.HOST or credsStore, run as `docker-credential-NAME get` with the host on its
 * standard input), the -v request log, the progress display, and storing credentials for
 * appkg login. Passwords stay in guarded memory and are wiped; none is ever printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fe.h"
#include "progress.h"
#include "registry.h"

#define MAX_CONFIG (1u << 20)
#define MAX_HELPER_OUTPUT (64u << 10)
#define AUTH_PLACEHOLDER "\001appkg-auth\001"

int fe_registry_option(struct fe_registry *o, int c, const char *arg)
{
	switch (c) {
	case FE_OPT_USERNAME: o->username = arg; return 1;
	case FE_OPT_PASSWORD_STDIN: o->password_stdin = 1; return 1;
	case FE_OPT_CA_FILE: o->ca_file = arg; return 1;
	case FE_OPT_PLAIN_HTTP: o->plain_http = 1; return 1;
	case FE_OPT_RESOLVE:
		if (o->nresolve == FE_REGISTRY_MAX_RESOLVE)
			fe_usage_error("at most %d --resolve options", FE_REGISTRY_MAX_RESOLVE);
		if (!strchr(arg, ':') || strchr(arg, ':') == strrchr(arg, ':'))
			fe_usage_error("--resolve takes HOST:PORT:ADDR ('%s')", arg);
		o->resolve[o->nresolve++] = arg;
		return 1;
	default: return 0;
	}
}

char *fe_docker_config_path(void)
{
	const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	char *p = NULL;

	if (dir && *dir)
		return asprintf(&p, "%s/config.json", dir) < 0 ? NULL : p;
	if (home && *home)
		return asprintf(&p, "%s/.docker/config.json", home) < 0 ? NULL : p;
	return NULL;
}

/* The docker config as JSON, or NULL when there is none or it does not parse. */
static json_t *load_config(const char *path)
{
	char *data = NULL;
	size_t len = 0;
	json_t *doc = NULL;

	if (path && fe_read_file(path, MAX_CONFIG, &data, &len) == 0)
		doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
	if (data)
		sodium_memzero(data, len);
	free(data);
	if (doc && !json_is_object(doc)) {
		json_decref(doc);
		doc = NULL;
	}
	return doc;
}

/* Split "user:password" (decoded) into the options' user and guarded password. */
static int take_user_password(struct fe_registry *o, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);

	if (!colon || colon == s)
		return -1;
	if (!(o->user = strndup(s, (size_t)(colon - s))) ||
	    !(o->password = sodium_malloc(n - (size_t)(colon - s))))
		return -1;
	o->password_len = n - (size_t)(colon - s) - 1;
	memcpy(o->password, colon + 1, o->password_len);
	o->password[o->password_len] = '\0';
	return 0;
}

static int from_auth(struct fe_registry *o, const char *b64)
{
	size_t cap = strlen(b64), n = 0;
	char *plain = sodium_malloc(cap + 1);
	int rc = -1;

	if (plain && sodium_base642bin((unsigned char *)plain, cap, b64, cap, "\n\r ", &n, NULL,
				       sodium_base64_VARIANT_ORIGINAL) == 0)
		rc = take_user_password(o, plain, n);
	if (plain) {
		sodium_memzero(plain, cap + 1);
		sodium_free(plain);
	}
	return rc;
}

/* Read the helper's answer (bounded) into guarded memory. */
static size_t read_helper(int fd, char *out, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n < cap && ((r = read(fd, out + n, cap - n)) > 0 || (r < 0 && errno == EINTR)))
		if (r > 0)
			n += (size_t)r;
	return n;
}

/* `docker-credential-NAME get`, host on stdin, {"Username": ..., "Secret": ...} on stdout. */
static int from_helper(struct fe_registry *o, const char *name, const char *host)
{
	int in[2], out[2], status = 0, rc = -1;
	char prog[128], *buf;
	size_t n;
	pid_t pid;
	json_t *doc;

	if (strlen(name) > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					"0123456789-_.") != strlen(name) || !*name)
		return -1;
	snprintf(prog, sizeof(prog), "docker-credential-%s", name);
	if (pipe(in) || pipe(out))
		return -1;
	if ((pid = fork()) == 0) {
		dup2(in[0], 0), dup2(out[1], 1);
		close(in[0]), close(in[1]), close(out[0]), close(out[1]);
		execlp(prog, prog, "get", (char *)NULL);
		_exit(127);
	}
	close(in[0]), close(out[1]);
	signal(SIGPIPE, SIG_IGN);
	if (pid > 0 && write(in[1], host, strlen(host)) < 0)
		(void)0; /* a helper that does not read fails on its own */
	close(in[1]);
	buf = sodium_malloc(MAX_HELPER_OUTPUT + 1);
	n = buf ? read_helper(out[0], buf, MAX_HELPER_OUTPUT) : 0;
	close(out[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (buf && pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    (doc = json_loadb(buf, n, 0, NULL))) {
		const char *u = json_string_value(json_object_get(doc, "Username"));
		const char *s = json_string_value(json_object_get(doc, "Secret"));
		if (u && s && *u && (o->user = strdup(u)) && (o->password = sodium_malloc(strlen(s) + 1))) {
			o->password_len = strlen(s);
			memcpy(o->password, s, o->password_len + 1);
			rc = 0;
		}
		if (s)
			sodium_memzero((char *)s, strlen(s));
		json_decref(doc);
	}
	if (buf) {
		sodium_memzero(buf, MAX_HELPER_OUTPUT + 1);
		sodium_free(buf);
	}
	return rc;
}

/* auths.HOST (also under https:// and http://), then credHelpers.HOST, then credsStore. */
static void from_docker_config(struct fe_registry *o, const char *host)
{
	char *path = fe_docker_config_path(), key[600];
	json_t *doc = load_config(path), *auths = json_object_get(doc, "auths");
	const char *helper = json_string_value(json_object_get(json_object_get(doc, "credHelpers"), host));
	static const char *const prefixes[] = {"", "https://", "http://"};

	if (!helper)
		helper = json_string_value(json_object_get(doc, "credsStore"));
	for (size_t i = 0; i < 3 && !o->user; i++) {
		snprintf(key, sizeof(key), "%s%s", prefixes[i], host);
		const char *auth = json_string_value(json_object_get(json_object_get(auths, key), "auth"));
		if (auth && from_auth(o, auth))
			fe_secret_free(o->password, o->password_len), free(o->user), o->user = NULL,
				o->password = NULL;
	}
	for (size_t i = 0; i < 3; i++) { /* Jansson's copies of the encoded credentials */
		snprintf(key, sizeof(key), "%s%s", prefixes[i], host);
		const char *auth = json_string_value(json_object_get(json_object_get(auths, key), "auth"));
		if (auth)
			sodium_memzero((char *)auth, strlen(auth));
	}
	if (!o->user && helper && from_helper(o, helper, host)) {
		free(o->user);
		fe_secret_free(o->password, o->password_len);
		o->user = NULL, o->password = NULL;
	}
	json_decref(doc);
	free(path);
}

/* One request line; a URL from a Location header may hold any byte: controls go out %XX. */
static void on_log(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "%s: ", fe_prog);
	for (const unsigned char *p = (const unsigned char *)line; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			fprintf(stderr, "%%%02X", *p);
		else
			fputc(*p, stderr);
	fputc('\n', stderr);
}

/* Why ref does not name what `what` says, or NULL. */
static const char *wrong_reference(appkg_oci *c, const char *ref, enum fe_ref what)
{
	if (what == FE_REF_REGISTRY ? appkg_oci_set_registry(c, ref) : appkg_oci_set_reference(c, ref))
		return appkg_oci_error(c);
	if (what == FE_REF_REPOSITORY && (appkg_oci_tag(c) || appkg_oci_digest(c)))
		return "a repository takes no tag or digest";
	if (what == FE_REF_TAG && appkg_oci_digest(c))
		return "push takes a tag, not a digest";
	if (what == FE_REF_TAG_OR_DIGEST && !appkg_oci_tag(c) && !appkg_oci_digest(c))
		return "the reference needs a :TAG or an @sha256: digest";
	return NULL;
}

appkg_oci *fe_registry_handle(const struct fe_registry *o, const char *ref, enum fe_ref what)
{
	appkg_oci *c;
	const char *why;
	char msg[512];

	if (o->password_stdin && !o->username)
		fe_usage_error("--password-stdin needs --username");
	if (o->username && !o->password_stdin)
		fe_usage_error("--username needs --password-stdin");
	if (!(c = appkg_oci_new()))
		exit(fe_report(ref, APPKG_ERR_NO_MEMORY, NULL));
	if (!(why = wrong_reference(c, ref, what)))
		return c;
	snprintf(msg, sizeof(msg), "%s", why); /* the handle holds the text */
	appkg_oci_free(c);
	fe_usage_error("'%s': %s", ref, msg);
}

int fe_registry_setup(struct fe_registry *o, appkg_oci *c, const char *host, const char *subject)
{
	struct appkg_oci_options opt = {0};
	int rc;

	if (o->username) {
		if ((rc = fe_password("-", 0, &o->password, &o->password_len)))
			return rc < 0 ? appkg_error_class(rc) : fe_report(subject, APPKG_ERR_NO_PASSWORD,
									  "no password on standard input");
		if (!(o->user = strdup(o->username)))
			return fe_report(subject, APPKG_ERR_NO_MEMORY, NULL);
	} else {
		from_docker_config(o, host);
	}
	opt.username = o->user;
	opt.password = o->password;
	opt.password_len = o->password_len;
	opt.ca_file = o->ca_file;
	opt.plain_http = o->plain_http;
	opt.resolve = o->resolve;
	opt.resolve_count = o->nresolve;
	opt.chunk_size = o->chunk_size;
	opt.log = o->verbose ? on_log : NULL;
	if (o->progress && (o->display = fe_progress_new("transferring", FE_PROGRESS_AUTO))) {
		opt.progress = fe_progress_update;
		opt.progress_ctx = o->display;
	}
	if ((rc = appkg_oci_set_options(c, &opt)))
		return fe_report(subject, rc, appkg_oci_error(c));
	return 0;
}

int fe_registry_report(const char *subject, appkg_oci *c, int rc)
{
	return fe_report(subject, rc, appkg_oci_error(c));
}

void fe_registry_free(struct fe_registry *o)
{
	fe_progress_end(o->display);
	o->display = NULL;
	if (o->password) {
		sodium_memzero(o->password, o->password_len);
		fe_secret_free(o->password, o->password_len);
	}
	o->password = NULL;
	free(o->user);
	o->user = NULL;
}

/* ---- appkg login, appkg logout ---- */

static int write_config(const char *path, const char *text, size_t len)
{
	char *tmp = NULL, *dir = strdup(path), *slash;
	int fd = -1, rc = 0;

	if (!dir || asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		free(dir);
		return fe_report(path, APPKG_ERR_NO_MEMORY, NULL);
	}
	if ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST)
			rc = fe_report(dir, APPKG_ERR_IO, strerror(errno));
	}
	if (!rc && (fd = mkstemp(tmp)) < 0)
		rc = fe_report(path, APPKG_ERR_IO, strerror(errno));
	if (!rc && (fchmod(fd, 0600) || write(fd, text, len) != (ssize_t)len || fsync(fd) ||
		    rename(tmp, path)))
		rc = fe_report(path, APPKG_ERR_IO, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (rc && fd >= 0)
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}

/* The dump of doc with the placeholder replaced by b64 (in guarded memory), written. */
static int write_with_auth(const char *path, json_t *doc, const char *b64)
{
	char *text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS), *at, *out;
	size_t n, k = strlen(AUTH_PLACEHOLDER) + 4; /* json escapes \001 as \u0001 */
	int rc;

	if (!text)
		return fe_report(path, APPKG_ERR_NO_MEMORY, NULL);
	if (!b64 || !(at = strstr(text, "\\u0001appkg-auth\\u0001"))) {
		rc = write_config(path, text, strlen(text));
		free(text);
		return rc;
	}
	k = strlen("\\u0001appkg-auth\\u0001");
	n = strlen(text) - k + strlen(b64);
	if (!(out = sodium_malloc(n + 2))) {
		free(text);
		return fe_report(path, APPKG_ERR_NO_MEMORY, NULL);
	}
	snprintf(out, n + 2, "%.*s%s%s\n", (int)(at - text), text, b64, at + k);
	rc = write_config(path, out, n + 1);
	sodium_memzero(out, n + 2);
	sodium_free(out);
	free(text);
	return rc;
}

static char *encode_auth(const char *user, const char *password, size_t password_len)
{
	size_t ulen = strlen(user), n = ulen + 1 + password_len;
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *plain = sodium_malloc(n + 1), *b64 = sodium_malloc(cap);

	if (!plain || !b64) {
		fe_secret_free(plain, n + 1);
		fe_secret_free(b64, cap);
		return NULL;
	}
	memcpy(plain, user, ulen);
	plain[ulen] = ':';
	memcpy(plain + ulen + 1, password, password_len);
	sodium_bin2base64(b64, cap, (unsigned char *)plain, n, sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(plain, n + 1);
	sodium_free(plain);
	return b64;
}

int fe_docker_config_store(const char *host, const char *user, const char *password,
			   size_t password_len, int *removed)
{
	char *path = fe_docker_config_path(), *b64 = NULL;
	json_t *doc, *auths;
	int rc;

	if (!path)
		return fe_report(host, APPKG_ERR_NO_FILE, "neither DOCKER_CONFIG nor HOME is set");
	doc = load_config(path);
	if (!doc && access(path, F_OK) == 0) {
		rc = fe_report(path, APPKG_ERR_IO, "not a JSON object: left as it is");
		free(path);
		return rc;
	}
	if (!doc)
		doc = json_object();
	if (!json_is_object(auths = json_object_get(doc, "auths")))
		json_object_set_new(doc, "auths", auths = json_object());
	if (removed)
		*removed = json_object_get(auths, host) != NULL;
	if (user) {
		json_object_set_new(auths, host, json_pack("{s:s}", "auth", AUTH_PLACEHOLDER));
		if (!(b64 = encode_auth(user, password, password_len))) {
			json_decref(doc);
			free(path);
			return fe_report(host, APPKG_ERR_NO_MEMORY, NULL);
		}
	} else {
		json_object_del(auths, host);
	}
	rc = write_with_auth(path, doc, b64);
	if (b64) {
		sodium_memzero(b64, strlen(b64));
		sodium_free(b64);
	}
	json_decref(doc);
	free(path);
	return rc;
}
