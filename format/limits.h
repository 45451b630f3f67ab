/* SPDX-License-Identifier: MIT */
/*
 * Every sanity limit libappkg enforces, with the reason for its value. A package is hostile
 * until verified: these bounds are checked before the allocation, loop or file-system call they
 * protect. spec/appkg-format.md, section "Limits", lists the same numbers; change both together.
 */
#ifndef APPKG_LIMITS_H
#define APPKG_LIMITS_H

/* 250,000 members: the largest real exports hold tens of thousands of resources; the index of
 * this many members stays under 100 MiB. */
#define APPKG_MAX_MEMBERS 250000u

/* One resource is one JSON document of an app definition; 16 MiB is far above real ones and
 * bounds the memory a JSON parse may need. */
#define APPKG_MAX_RESOURCE_SIZE (16u << 20)

/* A bindings file (ENV.json, spec §20.4) holds one environment's values, a few hundred at most;
 * it is bounded like a resource, since values may be whole documents. */
#define APPKG_MAX_BINDINGS_SIZE (16u << 20)

/* The manifest grows by about 300 bytes a resource: 64 MiB covers APPKG_MAX_MEMBERS. */
#define APPKG_MAX_MANIFEST_SIZE (64u << 20)

/* Secrets are short strings; 1 MiB of them is plenty and bounds the plaintext kept in locked
 * memory. The blob adds a header of at most 200 bytes. */
#define APPKG_MAX_SECRETS_SIZE (1u << 20)
#define APPKG_MAX_SECRETS_BLOB (APPKG_MAX_SECRETS_SIZE + 4096u)

/* A minisign signature file is under 400 bytes. */
#define APPKG_MAX_SIGNATURE_SIZE 4096u

/* appkg_sign_file reads the file it signs whole, as minisign's one-shot signing does. */
#define APPKG_MAX_SIGNED_FILE (1u << 30)

/* A frame holds whole tar entries: at most the largest member plus its headers. */
#define APPKG_MAX_FRAME_SIZE (APPKG_MAX_MANIFEST_SIZE + APPKG_MAX_SIGNATURE_SIZE + 8192u)

/* Writers start a new frame once a frame would pass 128 KiB: small enough that opening one
 * member decompresses little, large enough to keep the compression ratio. */
#define APPKG_FRAME_TARGET (128u << 10)

/* At most one frame a member, plus frame 0 and the end-of-archive frame. */
#define APPKG_MAX_FRAMES (APPKG_MAX_MEMBERS + 2u)

/* zstd window: 8 MiB (log 23) covers level 19; a larger window is a memory attack. */
#define APPKG_MAX_WINDOW_LOG 23

/* Sum of decompressed frames: 64 GiB absolute, and at most 1000 times the package size plus
 * 64 MiB, so a small file cannot claim to expand to gigabytes (decompression bomb). */
#define APPKG_MAX_TOTAL_SIZE (64ull << 30)
#define APPKG_MAX_EXPANSION 1000ull
#define APPKG_EXPANSION_SLACK (64ull << 20)

/* A package that is not a regular file (standard input, a pipe) is copied to an unlinked
 * temporary file first, since reading needs the seek table at its end. 1 GiB is about ten
 * times a package of APPKG_MAX_MEMBERS real resources and bounds the disk an endless stream can
 * fill; a larger package can still be read by name. */
#define APPKG_MAX_SPOOL_SIZE (1ull << 30)

/* JSON nesting: real app definitions nest widget trees a few dozen levels deep; 128 keeps a
 * recursive parser's stack small. */
#define APPKG_MAX_JSON_DEPTH 128

/* Names: a type is a short word, a name must fit a file name (255 bytes) with ".json". */
#define APPKG_MAX_TYPE_BYTES 64u
#define APPKG_MAX_NAME_BYTES 200u
#define APPKG_MAX_PATH_BYTES 300u

/* depends_on entries per resource. */
#define APPKG_MAX_DEPENDS 1024u

/* appkg_diff_compare aligns two arrays by longest common subsequence only while the part that
 * differs has at most this many cells (elements of A times elements of B): 4 MiB of table and
 * about a million element comparisons, a blink for a diff. Past it arrays are compared index by
 * index (spec §19.2). */
#define APPKG_MAX_DIFF_CELLS (1u << 20)

/* OCI registries (spec section 22): every response is hostile, so every body is bounded before
 * it is read. An image manifest is a few hundred bytes (the OCI spec suggests 4 MiB as the most
 * a registry need accept); a token response holds one token; a tags page 4 MiB and 100 pages are
 * 400 MiB of tag names, far past any real repository. The layer is bounded by its descriptor,
 * and the descriptor by APPKG_MAX_OCI_LAYER: a package is at most its members plus framing. */
#define APPKG_MAX_OCI_MANIFEST (4u << 20)
#define APPKG_MAX_OCI_TOKEN (64u << 10)
#define APPKG_MAX_OCI_TAGS_PAGE (4u << 20)
#define APPKG_MAX_OCI_TAGS_PAGES 100u
#define APPKG_MAX_OCI_ERROR_BODY (64u << 10)
#define APPKG_MAX_OCI_LAYER (64ull << 30)
#define APPKG_MAX_OCI_REDIRECTS 5
#define APPKG_MAX_OCI_RETRIES 3

#endif
