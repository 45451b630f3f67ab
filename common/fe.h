/* SPDX-License-Identifier: MIT */
/*
 * Helpers the appkg tools share and the library must not have: the program name, error and
 * usage messages with the common exit codes, password input, and small file helpers. Linked
 * into the tools only (like libarchive's libarchive_fe).
 */
#ifndef APPKG_FE_H
#define APPKG_FE_H

#include <stddef.h>

#include "appkg/appkg.h"

extern const char *fe_prog;

void fe_init(const char *argv0);

/* "prog: 'subject': message" on stderr; returns the exit status for code. */
int fe_report(const char *subject, int code, const char *message);

/* Print text from a package or a registry on stdout for a terminal: C0 and C1 controls, DEL,
 * bidirectional controls and bytes that are not UTF-8 are written %XX, the rest as it is. */
void fe_put_text(const char *s);

/* The values of a change line of appkg diff and appkg plan, through fe_put_text. */
void fe_put_change_values(const struct appkg_change *c);

/* "prog: message (see prog --help)", one line on stderr, then exit 2. */
__attribute__((noreturn, format(printf, 1, 2))) void fe_usage_error(const char *fmt, ...);

/* The one operand left after the options (named `what` in the usage error if there is none
 * or more than one). */
const char *fe_one_operand(int argc, char **argv, const char *what);

/* Print the version line ("appkg-pack (appkg) 0.1.0") and exit 0. */
__attribute__((noreturn)) void fe_version(void);

/* A password from --password-file (first line), else APPKG_PASSWORD, else a no-echo prompt
 * when allow_prompt and a terminal is there: 1 to 4096 bytes, no NUL, used as bytes (not
 * necessarily UTF-8). Returns 0 with *pw in guarded memory (release with fe_secret_free), 1
 * when no password is available (*pw NULL), or an APPKG_ERR_* code after one line on stderr
 * naming the source (*pw NULL): NO_PASSWORD (exit 3) for an empty, overlong or NUL-holding
 * password, an environment code (exit 4) for a file that cannot be read. */
int fe_password(const char *file, int allow_prompt, char **pw, size_t *len);

/* The same, reading the environment variable env instead of APPKG_PASSWORD. */
int fe_password_env(const char *file, const char *env, int allow_prompt, char **pw, size_t *len);

/* Before any work, check that path can be written as an output: "-", an existing regular
 * file (or with allow_device a character device such as /dev/null), or a name that does not
 * exist in a writable directory. 0, or after one line on stderr the exit status 4. */
int fe_check_output(const char *path, int allow_device);

/* Read a whole small file into guarded memory (for secrets.json). 0, or an APPKG_ERR_* code. */
int fe_read_secret(const char *path, size_t max, char **data, size_t *len);

/* Read a whole file into malloc'd memory. 0, or an APPKG_ERR_* code. */
int fe_read_file(const char *path, size_t max, char **data, size_t *len);

void fe_secret_free(char *p, size_t len);

/* Parse a decimal integer in [min, max]; -1 if not. */
long fe_parse_int(const char *s, long min, long max);

/* The CPUs online, 1 to 8: the default number of threads (like zstd -T0, capped to bound the
 * memory each thread holds). */
int fe_online_cpus(void);

/* The argument of --kdf: interactive, moderate or sensitive; anything else ends the program
 * through fe_usage_error. */
enum appkg_kdf_level fe_parse_kdf(const char *s);

/* getopt_long without getopt's own messages: a bad option, a missing or an unexpected option
 * argument ends the program through fe_usage_error, naming the option. Never returns '?'. */
struct option;
int fe_getopt(int argc, char **argv, const char *shorts, const struct option *longs);

/* A password that is about to seal new secrets: like fe_password, but one typed at the
 * prompt is asked twice and both must agree (else APPKG_ERR_AUTH, message printed). On any
 * failure *pw is NULL. */
int fe_password_confirm(const char *file, int allow_prompt, char **pw, size_t *len);

/* The same, reading the environment variable env instead of APPKG_PASSWORD (appkg-rekey's
 * APPKG_NEW_PASSWORD). */
int fe_password_confirm_env(const char *file, const char *env, int allow_prompt, char **pw,
			    size_t *len);

/* --sign SECKEY on a writer: the key is tried without a password first, then with one from
 * key_password_file, APPKG_KEY_PASSWORD or a prompt. 0, or an APPKG_ERR_* code after one line
 * (about subject, the tool's input, naming the key file) was printed. */
int fe_set_signing_key(appkg_writer *w, const char *subject, const char *key,
		       const char *key_password_file);

#endif
