/* SPDX-License-Identifier: MIT */
/* What the two files of mkhostile share: the output of a case and a few common members. */
#ifndef APPKG_HOSTILE_H
#define APPKG_HOSTILE_H

#include "pkgbuild.h"

#define HOME_PATH "resources/pages/home.json"
#define HOME {HOME_PATH, "{\"title\":\"Home\"}\n", '0'}
#define N(a) (sizeof(a) / sizeof((a)[0]))
#define PASSWORD "hostile-pw"
#define MIB (1024u * 1024u)

/* 512 bytes that are neither a tar header nor a zstd frame. */
extern const unsigned char garbage[512];

/* Write one case and its line in OUTDIR/cases; the exit status follows from the codes (the
 * first of "A|B"); secrets: the tools get the corpus password. */
void emit(const char *name, const char *codes, int secrets, const void *data, size_t len);
/* Close a package (end frame, index, seek table) and emit it. */
void emit_pkg(const char *name, const char *codes, struct pkg *p);
/* A package of members (manifest generated from their index paths), well-formed around them. */
void members_case(const char *name, const char *codes, const struct member *m, size_t n);

/* Append one zstd frame of raw at level to z. */
void compress_into(struct buf *z, const void *raw, size_t len, int level);

/* hostile_files.c: files that are not packages, and big streamed inputs. */
void file_cases(void);
void whitespace_512mb(void);
void million_members_raw(void);

/* hostile_json.c: manifests, resources and secrets blobs. */
void manifest_cases(void);
void resource_cases(void);
void secrets_cases(void);

#endif
