/* SPDX-License-Identifier: MIT */
/* Error codes: their exit class, their short names, and the per-handle message. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistr.h>

#include "internal.h"

/* Messages quote member paths taken from the package: a newline would forge a second line of
 * output, an escape sequence or bidi control would rewrite the terminal, and bytes that are not
 * UTF-8 would break the JSON report. Whole characters only, so truncation never splits one. */
static void escape_message(char *msg)
{
	static const char digits[] = "0123456789ABCDEF";
	const uint8_t *s = (const uint8_t *)msg;
	size_t n = strlen(msg), o = 0;
	char out[APPKG_MSG_MAX];

	for (size_t i = 0; i < n;) {
		ucs4_t c;
		int k = u8_mbtoucr(&c, s + i, n - i);
		size_t len = k > 0 ? (size_t)k : 1;
		int esc = k < 0 || name_char_control(c);
		if (o + (esc ? 3 * len : len) >= sizeof(out))
			break;
		for (size_t j = 0; j < len; j++) {
			if (esc) {
				out[o++] = '%';
				out[o++] = digits[s[i + j] >> 4];
				out[o++] = digits[s[i + j] & 15];
			} else {
				out[o++] = (char)s[i + j];
			}
		}
		i += len;
	}
	out[o] = '\0';
	memcpy(msg, out, o + 1);
}

int appkg_fail(struct appkg_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e->code != 0)
		return e->code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	escape_message(e->msg);
	return code;
}

int appkg_errno_code(int err)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
		return APPKG_ERR_NO_SPACE;
	case EACCES:
	case EPERM:
	case EROFS:
		return APPKG_ERR_PERMISSION;
	case ENOMEM:
		return APPKG_ERR_NO_MEMORY;
	case EEXIST:
	case ENOTEMPTY:
		return APPKG_ERR_EXISTS;
	case ENOENT: /* a file the caller named: an environment error, not "no such member" */
	case ENOTDIR:
		return APPKG_ERR_NO_FILE;
	default:
		return APPKG_ERR_IO;
	}
}

int appkg_error_class(int code)
{
	if (code >= 0)
		return APPKG_EXIT_OK;
	if (code == APPKG_ERR_AUTH || code == APPKG_ERR_SIGNATURE || code == APPKG_ERR_NO_PASSWORD ||
	    code == APPKG_ERR_REGISTRY_AUTH)
		return APPKG_EXIT_AUTH;
	if (code > -100)
		return APPKG_EXIT_USAGE;
	if (code > -200)
		return APPKG_EXIT_ENVIRONMENT;
	return APPKG_EXIT_REJECTED;
}

static const struct {
	int code;
	const char *name;
} names[] = {
	{APPKG_ERR_INVALID_ARGUMENT, "invalid argument"},
	{APPKG_ERR_STATE, "call not allowed in this state"},
	{APPKG_ERR_NOT_FOUND, "not found"},
	{APPKG_ERR_REFERENCE, "bad registry reference"},
	{APPKG_ERR_IO, "input/output error"},
	{APPKG_ERR_NO_SPACE, "no space left on device"},
	{APPKG_ERR_PERMISSION, "permission denied"},
	{APPKG_ERR_NO_MEMORY, "out of memory"},
	{APPKG_ERR_EXISTS, "destination exists"},
	{APPKG_ERR_SOURCE, "unusable source file"},
	{APPKG_ERR_NO_FILE, "no such file or directory"},
	{APPKG_ERR_TRANSPORT, "registry unreachable"},
	{APPKG_ERR_TLS, "TLS failure"},
	{APPKG_ERR_NOT_APPKG, "not an appkg package"},
	{APPKG_ERR_TRUNCATED, "truncated package"},
	{APPKG_ERR_SEEK_TABLE, "bad seek table"},
	{APPKG_ERR_FRAME, "bad zstd frame"},
	{APPKG_ERR_FRAME_CHECKSUM, "zstd checksum mismatch"},
	{APPKG_ERR_FRAME_WINDOW, "zstd window too large"},
	{APPKG_ERR_FRAME_SIZE, "bad frame size"},
	{APPKG_ERR_TRAILING_DATA, "trailing data"},
	{APPKG_ERR_INDEX, "bad member index"},
	{APPKG_ERR_EXPANSION, "decompressed size out of proportion"},
	{APPKG_ERR_TAR_HEADER, "non-canonical tar header"},
	{APPKG_ERR_TAR_CHECKSUM, "tar header checksum mismatch"},
	{APPKG_ERR_TAR_TYPE, "member is not a regular file"},
	{APPKG_ERR_TAR_PAX, "unexpected pax record"},
	{APPKG_ERR_TAR_LAYOUT, "bad tar layout"},
	{APPKG_ERR_TAR_DUPLICATE, "duplicate member"},
	{APPKG_ERR_TAR_ORDER, "members out of order"},
	{APPKG_ERR_TAR_MEMBER, "member not allowed"},
	{APPKG_ERR_NAME_UTF8, "name is not UTF-8"},
	{APPKG_ERR_NAME_NFC, "name is not NFC"},
	{APPKG_ERR_NAME_CHAR, "name has a forbidden character"},
	{APPKG_ERR_NAME_LENGTH, "bad name length"},
	{APPKG_ERR_NAME_COLLISION, "names collide ignoring case"},
	{APPKG_ERR_MANIFEST_JSON, "manifest is not a JSON object"},
	{APPKG_ERR_MANIFEST_SCHEMA, "manifest schema violation"},
	{APPKG_ERR_NEWER_MAJOR, "written by a newer appkg"},
	{APPKG_ERR_MEMBER_UNLISTED, "member not in manifest"},
	{APPKG_ERR_MEMBER_MISSING, "manifest entry without member"},
	{APPKG_ERR_SIZE_MISMATCH, "size mismatch"},
	{APPKG_ERR_DIGEST_MISMATCH, "digest mismatch"},
	{APPKG_ERR_IMPORT_MODE, "bad import mode"},
	{APPKG_ERR_DEPENDENCY, "dangling dependency"},
	{APPKG_ERR_MERGE_CONFLICT, "merge conflict"},
	{APPKG_ERR_DIGEST_ALGORITHM, "unsupported digest algorithm"},
	{APPKG_ERR_UNBOUND, "input or secret without a value"},
	{APPKG_ERR_PLACEHOLDER, "bad placeholder"},
	{APPKG_ERR_BINDINGS, "bad bindings file"},
	{APPKG_ERR_JSON_SYNTAX, "invalid JSON"},
	{APPKG_ERR_JSON_NOT_OBJECT, "JSON is not an object"},
	{APPKG_ERR_JSON_DEPTH, "JSON nested too deep"},
	{APPKG_ERR_JSON_DUPLICATE, "duplicate JSON key"},
	{APPKG_ERR_RESOURCE_SIZE, "resource too large"},
	{APPKG_ERR_SECRETS_FORMAT, "bad secrets blob"},
	{APPKG_ERR_KDF_PARAMS, "KDF parameters out of range"},
	{APPKG_ERR_AUTH, "authentication failed"},
	{APPKG_ERR_SECRETS_JSON, "secrets.json is not an object of strings"},
	{APPKG_ERR_SECRETS_BINDING, "secrets belong to another package"},
	{APPKG_ERR_NO_PASSWORD, "password required"},
	{APPKG_ERR_SIGNATURE, "bad signature"},
	{APPKG_ERR_REGISTRY, "bad registry response"},
	{APPKG_ERR_REGISTRY_AUTH, "registry authentication failed"},
	{APPKG_ERR_REGISTRY_NOT_FOUND, "not found in the registry"},
	{APPKG_ERR_LIMIT_MEMBERS, "too many members"},
	{APPKG_ERR_LIMIT_MEMBER_SIZE, "member too large"},
	{APPKG_ERR_LIMIT_TOTAL, "package too large"},
	{APPKG_ERR_LIMIT_FRAMES, "too many frames"},
};

const char *appkg_error_name(int code)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == code)
			return names[i].name;
	return code == 0 ? "ok" : "unknown error";
}
