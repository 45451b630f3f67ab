/* SPDX-License-Identifier: MIT */
/*
 * Pinned error codes of libappkg. Every call that can fail returns 0 or one of these negative
 * values; the message with context stays on the handle. Codes are grouped by area with gaps,
 * and a code is never reused for another meaning. appkg_error_class() maps a code to the exit
 * status every appkg tool uses (0 ok, 1 rejected, 2 usage, 3 authentication, 4 environment).
 */
#ifndef APPKG_ERRORS_H
#define APPKG_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the functions libappkg.so exports; everything else in the library is hidden. */
#ifndef APPKG_API
#define APPKG_API __attribute__((visibility("default")))
#endif

enum appkg_error {
	APPKG_OK = 0,

	/* -1 .. -99: caller errors (usage) */
	APPKG_ERR_INVALID_ARGUMENT = -1, /* bad argument to a library call */
	APPKG_ERR_STATE = -2,            /* call not allowed in this state, or after a fatal error */
	APPKG_ERR_NOT_FOUND = -3,        /* no such member or resource (a missing file: NO_FILE) */
	APPKG_ERR_REFERENCE = -4,        /* not a registry reference oci://HOST[:PORT]/REPO[:TAG|@DIGEST] */

	/* -100 .. -199: environment */
	APPKG_ERR_IO = -100,         /* read, write, fsync or rename failed */
	APPKG_ERR_NO_SPACE = -101,   /* no space left on device */
	APPKG_ERR_PERMISSION = -102, /* permission denied */
	APPKG_ERR_NO_MEMORY = -103,  /* allocation failed */
	APPKG_ERR_EXISTS = -104,     /* destination exists */
	APPKG_ERR_SOURCE = -105,     /* a source file is unusable (changed while packing, not regular) */
	APPKG_ERR_NO_FILE = -106,    /* a file or directory named by the caller does not exist */
	APPKG_ERR_TRANSPORT = -107,  /* registry unreachable, stalled, or 429/5xx after the retries */
	APPKG_ERR_TLS = -108,        /* TLS handshake or certificate check failed */

	/* -200 .. -299: container (zstd frames, seek table, index) */
	APPKG_ERR_NOT_APPKG = -200,       /* no seek table footer: not an appkg package */
	APPKG_ERR_TRUNCATED = -201,       /* package ends early */
	APPKG_ERR_SEEK_TABLE = -202,      /* seek table malformed or inconsistent with the file */
	APPKG_ERR_FRAME = -203,           /* zstd frame malformed or does not decode */
	APPKG_ERR_FRAME_CHECKSUM = -204,  /* zstd content checksum mismatch */
	APPKG_ERR_FRAME_WINDOW = -205,    /* frame window larger than the limit */
	APPKG_ERR_FRAME_SIZE = -206,      /* frame size differs from the seek table or is over a limit */
	APPKG_ERR_TRAILING_DATA = -207,   /* bytes after the seek table or between frames */
	APPKG_ERR_INDEX = -208,           /* member index malformed or inconsistent */
	APPKG_ERR_EXPANSION = -209,       /* decompressed size too large for the package size */

	/* -300 .. -399: tar layer */
	APPKG_ERR_TAR_HEADER = -300,    /* header not in the canonical form */
	APPKG_ERR_TAR_CHECKSUM = -301,  /* header checksum mismatch */
	APPKG_ERR_TAR_TYPE = -302,      /* not a regular file (link, device, fifo, directory, sparse) */
	APPKG_ERR_TAR_PAX = -303,       /* pax record other than a canonical path */
	APPKG_ERR_TAR_LAYOUT = -304,    /* entries do not tile the frames, or bad end of archive */
	APPKG_ERR_TAR_DUPLICATE = -305, /* the same member twice */
	APPKG_ERR_TAR_ORDER = -306,     /* members not in the required order */
	APPKG_ERR_TAR_MEMBER = -307,    /* member path not allowed by the layout */

	/* -400 .. -499: member names */
	APPKG_ERR_NAME_UTF8 = -400,      /* not valid UTF-8 */
	APPKG_ERR_NAME_NFC = -401,       /* not in Unicode NFC */
	APPKG_ERR_NAME_CHAR = -402,      /* character that must be escaped, or bad escape */
	APPKG_ERR_NAME_LENGTH = -403,    /* empty or too long */
	APPKG_ERR_NAME_COLLISION = -404, /* equal to another name ignoring case */

	/* -500 .. -599: manifest */
	APPKG_ERR_MANIFEST_JSON = -500,      /* manifest.json is not a valid JSON object */
	APPKG_ERR_MANIFEST_SCHEMA = -501,    /* field missing or of the wrong type */
	APPKG_ERR_NEWER_MAJOR = -502,        /* written by a newer appkg (format major above 1) */
	APPKG_ERR_MEMBER_UNLISTED = -503,    /* member present but not in the manifest */
	APPKG_ERR_MEMBER_MISSING = -504,     /* manifest entry without a member */
	APPKG_ERR_SIZE_MISMATCH = -505,      /* member size differs from the manifest */
	APPKG_ERR_DIGEST_MISMATCH = -506,    /* member digest differs from the manifest */
	APPKG_ERR_IMPORT_MODE = -507,        /* import mode not one of the defined values */
	APPKG_ERR_DEPENDENCY = -508,         /* depends_on names no resource in the package */
	APPKG_ERR_DIGEST_ALGORITHM = -509,   /* digest algorithm not supported */
	APPKG_ERR_UNBOUND = -510,            /* an input or secret reference has no value */
	APPKG_ERR_PLACEHOLDER = -511,        /* placeholder text outside the grammar, outside a
					      * string, in a key, or not as the manifest lists it */
	APPKG_ERR_BINDINGS = -512,           /* a bindings file (ENV.json) is not as spec §20.4 says */
	APPKG_ERR_MERGE_CONFLICT = -520,     /* packages to merge hold a resource or secret differently */

	/* -600 .. -699: resources */
	APPKG_ERR_JSON_SYNTAX = -600,     /* not valid JSON (message has line and column) */
	APPKG_ERR_JSON_NOT_OBJECT = -601, /* valid JSON but not an object */
	APPKG_ERR_JSON_DEPTH = -602,      /* nesting deeper than APPKG_MAX_JSON_DEPTH */
	APPKG_ERR_JSON_DUPLICATE = -603,  /* duplicate key in an object */
	APPKG_ERR_RESOURCE_SIZE = -604,   /* resource larger than APPKG_MAX_RESOURCE_SIZE */

	/* -700 .. -799: secrets */
	APPKG_ERR_SECRETS_FORMAT = -700, /* secrets.enc header malformed */
	APPKG_ERR_KDF_PARAMS = -701,     /* KDF parameters outside the allowed range */
	APPKG_ERR_AUTH = -702,           /* wrong password or secrets tampered */
	APPKG_ERR_SECRETS_JSON = -703,   /* secrets.json is not an object of strings */
	APPKG_ERR_SECRETS_BINDING = -704, /* secrets.enc belongs to another package_id */
	APPKG_ERR_NO_PASSWORD = -705,     /* secrets present but no password given */

	/* -800 .. -899: signatures (reserved for the signing work) */
	APPKG_ERR_SIGNATURE = -800,

	/* -900 .. -999: sanity limits (format/limits.h) */
	APPKG_ERR_LIMIT_MEMBERS = -900,    /* more members than APPKG_MAX_MEMBERS */
	APPKG_ERR_LIMIT_MEMBER_SIZE = -901, /* a member over its size limit */
	APPKG_ERR_LIMIT_TOTAL = -902,      /* package expands past APPKG_MAX_TOTAL_SIZE */
	APPKG_ERR_LIMIT_FRAMES = -903,     /* more frames than APPKG_MAX_FRAMES */

	/* -1000 .. -1099: OCI registries (spec section 22) */
	APPKG_ERR_REGISTRY = -1000,          /* a registry response that is malformed or lies (digest,
					      * size, truncated or endless body, not an appkg artifact) */
	APPKG_ERR_REGISTRY_AUTH = -1001,     /* credentials missing or refused (401, 403) */
	APPKG_ERR_REGISTRY_NOT_FOUND = -1002, /* no such repository, tag, manifest or blob (404) */
};

/* Exit statuses shared by all appkg tools. */
enum appkg_exit {
	APPKG_EXIT_OK = 0,
	APPKG_EXIT_REJECTED = 1,
	APPKG_EXIT_USAGE = 2,
	APPKG_EXIT_AUTH = 3,
	APPKG_EXIT_ENVIRONMENT = 4,
	/* Only for commands whose 1 means "different" (diff, plan): an input was rejected or
	 * could not be read, so no comparison was made. The other tools report that as 1. */
	APPKG_EXIT_NO_COMPARISON = 5,
};

/* The exit status for an error code (APPKG_EXIT_*). */
APPKG_API int appkg_error_class(int code);

/* A short constant description of an error code ("digest mismatch"). Never NULL. */
APPKG_API const char *appkg_error_name(int code);

#ifdef __cplusplus
}
#endif
#endif
