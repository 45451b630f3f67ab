/* SPDX-License-Identifier: MIT */
/*
 * mkhostile: writes the hostile corpus that tests/cli/test_hostile.sh runs every tool on.
 * Usage: mkhostile OUTDIR. Writes OUTDIR/<case>.appkg for every case, OUTDIR/password, and
 * OUTDIR/cases with one line per case: "<case> <exit> <codes> <password|->", where codes are
 * the APPKG_ERR_* values a reader may report first ("-203|-204": either) and exit is their
 * status. Most cases put one hostile thing inside an otherwise well-formed package (valid seek
 * table, index and manifest), so that the rule meant to stop it is the one that does; "raw_*"
 * cases are stock .tar.zst and other files without an appkg container. Deterministic, and
 * fast: big inputs (512 MiB of whitespace, a million tar members) are streamed through zstd.
 * This file: names, links, devices, modes, tar headers, pax and GNU records, zstd frames, seek
 * table and index; hostile_files.c: files that are not packages and the big streamed inputs;
 * hostile_json.c: manifests, resources and secrets.
 */
#include <archive.h>
#include <archive_entry.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>

#include "hostile.h"

static const char *outdir;
static FILE *list;
static int ncases;

/* ---- output ---- */

/* The line of a case in OUTDIR/cases; the exit status follows from the codes. */
static void list_case(const char *name, const char *codes, int secrets)
{
	fprintf(list, "%s %d %s %s\n", name, appkg_error_class(atoi(codes)), codes,
		secrets ? "password" : "-");
	ncases++;
}

static void case_path(char *path, size_t size, const char *name)
{
	snprintf(path, size, "%s/%s.appkg", outdir, name);
}

void emit(const char *name, const char *codes, int secrets, const void *data, size_t len)
{
	char path[512];

	case_path(path, sizeof(path), name);
	pkg_write_file(path, data, len);
	list_case(name, codes, secrets);
}

void emit_pkg(const char *name, const char *codes, struct pkg *p)
{
	pkg_close(p, 0);
	emit(name, codes, 0, p->file.data, p->file.len);
	buf_free(&p->file);
}

/* A package of members (manifest generated from their index paths), well-formed around them. */
void members_case(const char *name, const char *codes, const struct member *m, size_t n)
{
	struct pkg p = {0};

	pkg_members(&p, m, n, NULL, -1);
	emit_pkg(name, codes, &p);
}

void compress_into(struct buf *z, const void *raw, size_t len, int level)
{
	size_t bound = ZSTD_compressBound(len), r;

	buf_reserve(z, bound);
	r = ZSTD_compress(z->data + z->len, bound, raw, len, level);
	if (ZSTD_isError(r))
		pkg_die(ZSTD_getErrorName(r));
	z->len += r;
}

/* ---- hand-made tar headers, for the lies neither appkg nor libarchive would write ---- */

struct hdr {
	const char *name, *link, *prefix, *magic, *uname;
	char type;
	uint64_t size;
	unsigned mode, uid;
	int checksum_delta; /* added to the right checksum */
	int base256_size;   /* the size field in GNU base-256 */
};

static void octal(unsigned char *f, size_t width, uint64_t v)
{
	for (size_t i = width - 1; i-- > 0; v >>= 3)
		f[i] = (unsigned char)('0' + (v & 7));
	f[width - 1] = '\0';
}

/* A ustar header: canonical except where h says otherwise. */
static void tar_header(struct buf *b, const struct hdr *h)
{
	unsigned char t[TAR_BLOCK] = {0};
	unsigned sum = 0;

	memcpy(t, h->name, strnlen(h->name, 100));
	octal(t + 100, 8, h->mode ? h->mode : 0644);
	octal(t + 108, 8, h->uid);
	octal(t + 116, 8, 0);
	octal(t + 124, 12, h->size);
	if (h->base256_size) {
		memset(t + 124, 0, 12);
		t[124] = 0x80;
		for (int i = 0; i < 8; i++)
			t[135 - i] = (unsigned char)(h->size >> (8 * i));
	}
	octal(t + 136, 12, 0);
	t[156] = (unsigned char)h->type;
	if (h->link)
		memcpy(t + 157, h->link, strnlen(h->link, 100));
	memcpy(t + 257, h->magic ? h->magic : "ustar\00000", 8);
	if (h->uname)
		memcpy(t + 265, h->uname, strnlen(h->uname, 32));
	octal(t + 329, 8, 0);
	octal(t + 337, 8, 0);
	if (h->prefix)
		memcpy(t + 345, h->prefix, strnlen(h->prefix, 155));
	memset(t + 148, ' ', 8);
	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += t[i];
	octal(t + 148, 7, sum + (unsigned)h->checksum_delta);
	t[155] = ' ';
	buf_append(b, t, TAR_BLOCK);
}

static void tar_data(struct buf *b, const void *data, size_t len)
{
	buf_append(b, data, len);
	tar_put_padding(b, len);
}

/* A pax header ('x', or 'g') holding records, in appkg's canonical header form. */
static void pax_header(struct buf *b, char type, const char *records, size_t len)
{
	tar_header(b, &(struct hdr){.name = "PaxHeader", .type = type, .size = len});
	tar_data(b, records, len);
}

/* "<len> key=value\n" with a self-counting length, as pax wants. */
static size_t pax_record(struct buf *b, const char *key, const char *value, size_t vlen)
{
	size_t body = strlen(key) + vlen + 3, total = body + 1;
	char num[32];

	while ((size_t)snprintf(num, sizeof(num), "%zu", total) + body != total)
		total++;
	buf_append(b, num, strlen(num));
	buf_append(b, " ", 1);
	buf_append(b, key, strlen(key));
	buf_append(b, "=", 1);
	buf_append(b, value, vlen);
	buf_append(b, "\n", 1);
	return total;
}

/* A package whose resource `path` (listed in index and manifest with data) is stored as the
 * raw tar bytes given; the frame holds exactly them. */
static void tar_case(const char *name, const char *codes, const char *path, const char *data,
		     const struct buf *tar)
{
	struct member listed = {path, data, '0'};
	char *man = pkg_manifest(&listed, 1, "");
	struct member mm = {MANIFEST_PATH, man, '0'};
	struct pkg p = {0};

	pkg_member(&p, &mm, 0);
	pkg_index_add(&p, path, p.nframes, 0, data, strlen(data));
	pkg_frame(&p, tar->data, tar->len, 0);
	emit_pkg(name, codes, &p);
	free(man);
}

/* A hostile header then the data of a harmless resource, inside a well-formed package. */
static void header_case(const char *name, const char *codes, const struct hdr *h)
{
	static const char data[] = "{\"title\":\"Home\"}\n";
	struct buf tar = {0};
	struct hdr copy = *h;

	if (!copy.name)
		copy.name = HOME_PATH;
	if (!copy.size && !copy.base256_size)
		copy.size = strlen(data);
	tar_header(&tar, &copy);
	tar_data(&tar, data, strlen(data));
	tar_case(name, codes, HOME_PATH, data, &tar);
	buf_free(&tar);
}

/* A pax header of the given records before a canonical entry for a harmless resource. */
static void pax_case(const char *name, const char *codes, char type, const struct buf *records,
		     const char *ustar_name)
{
	static const char data[] = "{}";
	struct buf tar = {0};

	pax_header(&tar, type, (const char *)records->data, records->len);
	tar_header(&tar, &(struct hdr){.name = ustar_name ? ustar_name : HOME_PATH, .type = '0',
				       .size = 2});
	tar_data(&tar, data, 2);
	tar_case(name, codes, HOME_PATH, data, &tar);
	buf_free(&tar);
}

/* ---- members: links, devices, modes, names (table) ---- */

struct member_case {
	const char *name, *codes;
	struct member m[3];
};

#define LA(path, target, type) {path, target, type}
#define MODE(path, mode) {path, "{}", 'R', NULL, 0, NULL, S_IFREG | (mode)}
#define RES(path) {path, "{}", '0'}
#define AS(path, index_path) {path, "{\"title\":\"Home\"}\n", '0', index_path}

static const struct member_case member_cases[] = {
	/* path traversal: index and tar agree on a path the layout or the name rules forbid */
	{"path_dotdot_escape", "-307", {RES("resources/../../../../tmp/appkg-hostile-escape.json")}},
	{"path_dotdot_type", "-402", {RES("resources/../escape.json")}},
	{"path_dotdot_name", "-402", {RES("resources/pages/...json")}},
	{"path_dot_type", "-402", {RES("resources/./home.json")}},
	{"path_dot_name", "-402", {RES("resources/pages/..json")}},
	{"path_absolute", "-307", {RES("/tmp/appkg-hostile-escape.json")}},
	{"path_absolute_resources", "-307", {RES("/resources/pages/home.json")}},
	{"path_escaped_dotdot", "-402", {RES("resources/pages/%2E%2E%2F%2E%2E%2Fescape.json")}},
	{"path_trailing_slash", "-307", {RES("resources/pages/home.json/")}},
	{"path_backslash_name", "-402", {RES("resources/pages/..\\..\\..\\escape.json")}},
	{"path_backslash_type", "-402", {RES("resources/..\\..\\tmp/escape.json")}},
	/* the index names a harmless path, the tar entry another */
	{"path_dotdot_tar_only", "-208",
	 {AS("resources/pages/../../../../tmp/appkg-hostile-escape.json", HOME_PATH)}},
	{"path_absolute_tar_only", "-208", {AS("/tmp/appkg-hostile-escape.json", HOME_PATH)}},
	/* GNU long names carrying a path (libarchive's gnutar writer) */
	{"gnu_longname_dotdot", "-303",
	 {{"resources/pages/../../../../../../../../../../../../../../../../../../../../../../../../"
	   "tmp/appkg-hostile-escape.json", "{}", 'R', HOME_PATH, 0, NULL, 0,
	   ARCHIVE_FORMAT_TAR_GNUTAR}}},
	{"gnu_longname_absolute", "-303",
	 {{"/tmp/appkg-hostile-escape-with-a-name-long-enough-to-need-a-gnu-long-name-record-"
	   "0123456789abcdef.json", "{}", 'R', HOME_PATH, 0, NULL, 0, ARCHIVE_FORMAT_TAR_GNUTAR}}},
	/* links */
	{"symlink_outside", "-302", {HOME, LA("resources/pages/link.json", "/etc/passwd", '2')}},
	{"symlink_dotdot", "-302", {LA("resources/pages/up.json", "../../..", '2')}},
	{"symlink_two_hop", "-302",
	 {LA("resources/pages/a.json", "b.json", '2'), LA("resources/pages/b.json", "/etc", '2')}},
	{"symlink_then_file", "-302",
	 {LA("resources/pages/d.json", "/tmp", '2'),
	  AS("resources/pages/d.json/appkg-hostile-escape.json", "resources/pages/e.json")}},
	{"symlink_resources_dir", "-307", {LA("resources", "/tmp", '2'), HOME}},
	{"symlink_manifest_target", "-302", {LA("resources/pages/m.json", "../../manifest.json", '2')}},
	{"hardlink_outside", "-302", {LA("resources/pages/hard.json", "/etc/passwd", '1')}},
	{"hardlink_to_symlink", "-302",
	 {LA("resources/pages/a.json", "resources/pages/b.json", '1'),
	  LA("resources/pages/b.json", "/etc/passwd", '2')}},
	{"hardlink_with_data", "-302",
	 {{"resources/pages/hard.json", "/etc/passwd", '1', NULL, 0, NULL, 0, ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE, NULL, 1}}},
	{"hardlink_to_manifest", "-302", {LA("resources/pages/hard.json", "manifest.json", '1')}},
	/* devices, fifos, directories */
	{"device_char", "-302", {LA("resources/pages/null.json", "", '3')}},
	{"device_block", "-302", {LA("resources/pages/sda.json", "", '4')}},
	{"fifo_member", "-302", {LA("resources/pages/fifo.json", "", '6')}},
	{"directory_member", "-302", {LA("resources/pages/dir.json", "", '5')}},
	/* modes and attributes */
	{"mode_setuid", "-300", {LA("resources/pages/suid.json", "", 'S')}},
	{"mode_setgid", "-300", {MODE("resources/pages/sgid.json", 02644)}},
	{"mode_sticky", "-300", {MODE("resources/pages/sticky.json", 01644)}},
	{"mode_executable", "-300", {MODE("resources/pages/exec.json", 0755)}},
	{"mode_world_writable", "-300", {MODE("resources/pages/ww.json", 0666)}},
	{"xattr_user", "-300",
	 {{"resources/pages/x.json", "{}", 'R', NULL, 0, NULL, 0, 0, "user.appkg"}}},
	{"xattr_capability", "-300",
	 {{"resources/pages/cap.json", "{}", 'R', NULL, 0, NULL, 0, 0, "security.capability"}}},
	/* duplicates and type conflicts */
	{"duplicate_member", "-305", {HOME, HOME}},
	{"duplicate_manifest", "-305", {RES(MANIFEST_PATH)}},
	{"type_conflict_same_index_path", "-305", {HOME, LA(HOME_PATH, "", '5')}},
	{"type_conflict_file_then_dir", "-302",
	 {HOME, {"resources/pages/home.json/", "", '5', "resources/pages/hone.json"}}},
	{"type_conflict_dir_prefix", "-307", {LA("resources/pages", "", '5'), HOME}},
	/* case and Unicode normalisation */
	{"case_collision_name", "-404", {RES("resources/pages/HOME.json"), HOME}},
	{"case_collision_type", "-404", {RES("resources/Pages/home.json"), HOME}},
	{"case_collision_sharp_s", "-404",
	 {RES("resources/pages/STRASSE.json"), RES("resources/pages/Stra\xc3\x9f" "e.json")}},
	{"case_collision_ligature", "-404",
	 {RES("resources/pages/file.json"), RES("resources/pages/\xef\xac\x81le.json")}},
	{"case_collision_final_sigma", "-404",
	 {RES("resources/pages/\xce\xa3\xce\x91\xce\xa3.json"),
	  RES("resources/pages/\xcf\x83\xce\xb1\xcf\x82.json")}},
	{"nfc_kelvin_sign", "-401", {RES("resources/pages/\xe2\x84\xaa.json")}},
	{"nfc_decomposed_pair", "-401",
	 {RES("resources/pages/cafe\xcc\x81.json"), RES("resources/pages/caf\xc3\xa9.json")}},
	/* control, bidi and other characters that must be escaped */
	{"name_newline", "-402", {RES("resources/pages/a\nb.json")}},
	{"name_newline_type", "-402", {RES("resources/pa\nges/home.json")}},
	{"name_carriage_return", "-402", {RES("resources/pages/ok\r.json")}},
	{"name_tab", "-402", {RES("resources/pages/a\tb.json")}},
	{"name_terminal_escape", "-402", {RES("resources/pages/\x1b[2J\x1b[31mred.json")}},
	{"name_del", "-402", {RES("resources/pages/a\x7f.json")}},
	{"name_c1_control", "-402", {RES("resources/pages/a\xc2\x85z.json")}},
	{"name_bidi_override", "-402", {RES("resources/pages/invoice\xe2\x80\xaegpj.exe.json")}},
	{"name_bidi_isolate", "-402", {RES("resources/pages/a\xe2\x81\xa6z.json")}},
	{"name_colon", "-402", {RES("resources/pages/c:.json")}},
	{"name_lowercase_escape", "-402", {RES("resources/pages/%2e%2e.json")}},
	{"name_escaped_nul", "-402", {RES("resources/pages/a%00b.json")}},
	/* not UTF-8 */
	{"utf8_latin1", "-400", {RES("resources/pages/caf\xe9.json")}},
	{"utf8_overlong_slash", "-400", {RES("resources/pages/a\xc0\xaf" "b.json")}},
	{"utf8_surrogate", "-400", {RES("resources/pages/\xed\xa0\x80.json")}},
	{"utf8_truncated", "-400", {RES("resources/pages/a\xe2\x82.json")}},
	{"utf8_above_unicode", "-400", {RES("resources/pages/\xf4\x90\x80\x80.json")}},
	/* empty and dot names */
	{"name_empty", "-403", {RES("")}},
	{"name_empty_type", "-403", {RES("resources//home.json")}},
	{"name_empty_name", "-403", {RES("resources/pages/.json")}},
	{"name_dot", "-307", {RES(".")}},
	{"name_dotdot", "-307", {RES("..")}},
};

/* The same hostile entries in a stock .tar.zst: one zstd frame, no seek table, no index. */
static void raw_tar_zst(const char *name, const struct member *m, size_t n)
{
	struct buf tar = {0}, z = {0};

	for (size_t i = 0; i < n && m[i].path; i++)
		pkg_tar_entry(&tar, &m[i]);
	buf_append_zeros(&tar, TAR_END_BYTES);
	compress_into(&z, tar.data, tar.len, 3);
	emit(name, "-200", 0, z.data, z.len);
	buf_free(&tar);
	buf_free(&z);
}

static void member_table(void)
{
	static const char *const raw[] = {"path_dotdot_escape", "path_absolute", "gnu_longname_dotdot",
					  "symlink_outside", "symlink_then_file", "hardlink_outside",
					  "device_char", "fifo_member", "mode_setuid", "name_newline"};
	char rawname[128];

	for (size_t i = 0; i < N(member_cases); i++) {
		const struct member_case *c = &member_cases[i];
		size_t n = 0;
		while (n < N(c->m) && c->m[n].path)
			n++;
		members_case(c->name, c->codes, c->m, n);
		for (size_t j = 0; j < N(raw); j++) {
			if (strcmp(raw[j], c->name))
				continue;
			snprintf(rawname, sizeof(rawname), "raw_%s", c->name);
			raw_tar_zst(rawname, c->m, n);
		}
	}
}

/* ---- tar headers that lie, and pax and GNU records ---- */

static void header_cases(void)
{
	header_case("tar_bad_checksum", "-301", &(struct hdr){.type = '0', .checksum_delta = 1});
	header_case("tar_checksum_zero", "-301", &(struct hdr){.type = '0', .checksum_delta = -100000});
	header_case("tar_gnu_magic", "-300", &(struct hdr){.type = '0', .magic = "ustar  "});
	header_case("tar_v7_no_magic", "-300", &(struct hdr){.type = '0', .magic = "\0\0\0\0\0\0\0"});
	header_case("tar_prefix_dotdot", "-300",
		    &(struct hdr){.type = '0', .prefix = "../../../../tmp"});
	header_case("tar_linkname_on_file", "-300", &(struct hdr){.type = '0', .link = "/etc/passwd"});
	header_case("tar_uid_root_name", "-300", &(struct hdr){.type = '0', .uname = "root"});
	header_case("tar_uid_nonzero", "-300", &(struct hdr){.type = '0', .uid = 1000});
	header_case("tar_old_regular_type", "-302", &(struct hdr){.type = '\0'});
	header_case("tar_contiguous_type", "-302", &(struct hdr){.type = '7'});
	header_case("tar_hardlink_with_data", "-302",
		    &(struct hdr){.type = '1', .link = "../../../../etc/passwd"});
	header_case("sparse_gnu_terabyte", "-302",
		    &(struct hdr){.type = 'S', .magic = "ustar  ", .size = 1ull << 40,
				  .base256_size = 1});
	header_case("size_base256", "-300", &(struct hdr){.type = '0', .size = 17, .base256_size = 1});
	header_case("size_lie_terabyte", "-300",
		    &(struct hdr){.type = '0', .size = 1ull << 40, .base256_size = 1});
	header_case("size_lie_beyond_frame", "-304", &(struct hdr){.type = '0', .size = 1u << 30});
	header_case("gnu_longname_type", "-303", &(struct hdr){.name = "././@LongLink", .type = 'L'});
}

/* A resource whose tar size says 512 while 1024 bytes follow: the second half is a complete tar
 * header of its own that a tolerant reader would extract. */
static void size_lie_hidden_entry(void)
{
	char data[513];
	struct buf tar = {0};

	memset(data, ' ', 512);
	data[0] = '{';
	data[511] = '}';
	data[512] = '\0';
	tar_header(&tar, &(struct hdr){.name = HOME_PATH, .type = '0', .size = 512});
	tar_data(&tar, data, 512);
	tar_header(&tar, &(struct hdr){.name = "../../../../tmp/appkg-hostile-escape.json",
				       .type = '0', .size = 2});
	tar_data(&tar, "{}", 2);
	tar_case("size_lie_hidden_entry", "-304", HOME_PATH, data, &tar);
	buf_free(&tar);
}

/* A path of `depth` components "a/" under resources/, NUL-terminated; malloc'd. */
static char *deep_path(size_t depth)
{
	char *p = malloc(2 * depth + 32);

	strcpy(p, "resources/");
	for (size_t i = 0; i < depth; i++)
		memcpy(p + 10 + 2 * i, "a/", 2);
	strcpy(p + 10 + 2 * depth, "x.json");
	return p;
}

/* A name of len bytes ending in ".json" under resources/pages/; malloc'd. */
static char *long_path(size_t len)
{
	char *p = malloc(len + 1);

	memset(p, 'n', len);
	memcpy(p, "resources/pages/", 16);
	memcpy(p + len - 5, ".json", 5);
	p[len] = '\0';
	return p;
}

static void pax_records_case(const char *name, const char *codes, char type, const char *key,
			     const char *value, size_t vlen, const char *key2, const char *value2)
{
	struct buf rec = {0};

	pax_record(&rec, key, value, vlen);
	if (key2)
		pax_record(&rec, key2, value2, strlen(value2));
	/* a path record with the ustar name canonical tar pairs with it */
	pax_case(name, codes, type, &rec, strcmp(key, "path") ? NULL : value);
	buf_free(&rec);
}

static void pax_cases(void)
{
	char *deep = deep_path(5000), *mb = long_path(MIB), *big = malloc(16 * MIB);
	static const char esc[] = "../../../../../../../../../../../../../../../../../../../../../../../../"
				  "../../../../../../tmp/appkg-hostile-escape.json";
	static const char abs[] = "/tmp/appkg-hostile-escape-through-a-pax-path-record-that-is-long-enough-"
				  "to-need-one-0123456789abcdef.json";
	struct buf rec = {0};

	pax_records_case("pax_path_dotdot", "-208", 'x', "path", esc, strlen(esc), NULL, NULL);
	pax_records_case("pax_path_absolute", "-208", 'x', "path",
			 abs, strlen(abs), NULL, NULL);
	pax_records_case("pax_path_5000_deep", "-303", 'x', "path", deep, strlen(deep), NULL, NULL);
	pax_records_case("pax_path_1mb", "-303", 'x', "path", mb, MIB, NULL, NULL);
	memset(big, 'v', 16 * MIB);
	pax_records_case("pax_record_16mb", "-303", 'x', "appkg.vendor", big, 16 * MIB - 64, NULL,
			 NULL);
	pax_records_case("pax_path_and_mtime", "-303", 'x', "path", esc, strlen(esc), "mtime", "1");
	pax_records_case("pax_size_record", "-303", 'x', "size", "1099511627776", 13, NULL, NULL);
	pax_records_case("pax_linkpath", "-303", 'x', "linkpath", "/etc/passwd", 11, NULL, NULL);
	pax_records_case("pax_xattr", "-303", 'x', "SCHILY.xattr.security.capability", "v", 1, NULL,
			 NULL);
	pax_records_case("pax_sparse_terabyte", "-303", 'x', "GNU.sparse.realsize", "1099511627776",
			 13, "GNU.sparse.major", "1");
	pax_records_case("pax_global_header", "-303", 'g', "path", esc, strlen(esc), NULL, NULL);
	pax_records_case("pax_path_not_needed", "-303", 'x', "path", HOME_PATH, strlen(HOME_PATH),
			 NULL, NULL);
	buf_append(&rec, "99999999999999999999 path=x\n", 28);
	pax_case("pax_length_lie", "-303", 'x', &rec, NULL);
	rec.len = 0;
	/* the header claims an 8 GiB record in a frame of a few KiB */
	tar_header(&rec, &(struct hdr){.name = "PaxHeader", .type = 'x', .size = 077777777777ull});
	tar_data(&rec, "17 path=x.json\n", 15);
	tar_case("pax_huge_size_field", "-304", HOME_PATH, "{}", &rec);
	buf_free(&rec);
	free(deep);
	free(mb);
	free(big);
}

/* Names longer than any limit, in the index and in GNU long-name records. */
static void long_name_cases(void)
{
	char *deep = deep_path(5000), *mb = long_path(MIB), *idx = long_path(65535);
	struct member m[] = {{deep, "{}", 'R'}};

	members_case("path_5000_deep_index", "-403", m, 1);
	m[0].path = idx;
	members_case("path_64k_index", "-403", m, 1);
	m[0] = (struct member){deep, "{}", 'R', HOME_PATH, 0, NULL, 0, ARCHIVE_FORMAT_TAR_GNUTAR};
	members_case("gnu_longname_5000_deep", "-303", m, 1);
	m[0].path = mb;
	members_case("gnu_longname_1mb", "-303", m, 1);
	raw_tar_zst("raw_gnu_longname_1mb", m, 1);
	free(deep);
	free(mb);
	free(idx);
}

/* ---- zstd frames ---- */

struct zhdr {
	int window_log;   /* 0: single segment (window = content size) */
	int64_t fcs;      /* -1: no content size */
	int checksum;     /* keep the content checksum */
	uint32_t dict_id; /* 0: none */
};

/* Re-write the header of a frame made by ZSTD_compress2 (single segment, checksum on) as h
 * says; the blocks are kept, so the frame still decodes when the header is honest. */
static void zstd_reheader(struct buf *z, const struct zhdr *h)
{
	static const size_t fcs_bytes[4] = {0, 2, 4, 8}, dict_bytes[4] = {0, 1, 2, 4};
	unsigned char fhd = z->data[4], out[32];
	int single = fhd >> 5 & 1;
	size_t fcs_len = fhd >> 6 ? fcs_bytes[fhd >> 6] : (size_t)single;
	size_t head = 5 + !single + dict_bytes[fhd & 3] + fcs_len, end = z->len - 4 * !h->checksum;
	size_t n = 5;
	struct buf nz = {0};

	memcpy(out, z->data, 4);
	out[4] = (unsigned char)((h->fcs >= 0 ? 3u << 6 : 0) | (!h->window_log && h->fcs >= 0) << 5 |
				 (h->checksum ? 4 : 0) | (h->dict_id ? 3 : 0));
	if (h->window_log || h->fcs < 0)
		out[n++] = (unsigned char)((h->window_log ? h->window_log : 20) - 10) << 3;
	if (h->dict_id)
		put_le32(out + n, h->dict_id), n += 4;
	if (h->fcs >= 0)
		put_le64(out + n, (uint64_t)h->fcs), n += 8;
	buf_append(&nz, out, n);
	buf_append(&nz, z->data + head, end - head);
	buf_free(z);
	*z = nz;
}

enum zlie { Z_WINDOW_24, Z_WINDOW_31, Z_FCS_LARGER, Z_FCS_SMALLER, Z_FCS_64MB, Z_FCS_ABSENT,
	    Z_NO_CHECKSUM, Z_DICT, Z_TRUNCATED, Z_FLIP_BLOCK, Z_FLIP_CHECKSUM, Z_FLIP_MAGIC,
	    Z_SKIPPABLE, Z_TWO_FRAMES, Z_DSIZE_LIE };

/* Apply one lie to the compressed frame z of dsize bytes (the seek table lists *dsize). */
static void zstd_lie(struct buf *z, uint32_t *dsize, enum zlie lie)
{
	uint32_t d = *dsize;

	switch (lie) {
	case Z_WINDOW_24: zstd_reheader(z, &(struct zhdr){24, d, 1, 0}); break;
	case Z_WINDOW_31: zstd_reheader(z, &(struct zhdr){31, d, 1, 0}); break;
	case Z_FCS_LARGER: zstd_reheader(z, &(struct zhdr){20, d + 4096, 1, 0}), *dsize += 4096; break;
	case Z_FCS_SMALLER: zstd_reheader(z, &(struct zhdr){20, d - 512, 1, 0}), *dsize -= 512; break;
	case Z_FCS_64MB:
		*dsize = 60 * MIB; /* the expansion limit still allows it: the decoder must refuse */
		zstd_reheader(z, &(struct zhdr){20, *dsize, 1, 0});
		break;
	case Z_FCS_ABSENT: zstd_reheader(z, &(struct zhdr){20, -1, 1, 0}); break;
	case Z_NO_CHECKSUM: zstd_reheader(z, &(struct zhdr){0, d, 0, 0}); break;
	case Z_DICT: zstd_reheader(z, &(struct zhdr){20, d, 1, 0x41504b47}); break;
	case Z_TRUNCATED: z->len -= 7; break;
	case Z_FLIP_BLOCK: z->data[z->len / 2] ^= 0x10; break;
	case Z_FLIP_CHECKSUM: z->data[z->len - 1] ^= 0x01; break;
	case Z_FLIP_MAGIC: z->data[0] ^= 0x01; break;
	case Z_SKIPPABLE: put_le32(z->data, 0x184D2A50), put_le32(z->data + 4, (uint32_t)z->len - 8); break;
	case Z_TWO_FRAMES: buf_reserve(z, z->len), buf_append(z, z->data, z->len); break;
	case Z_DSIZE_LIE: *dsize += 1; break;
	}
}

/* A good package whose resource frame (frame 1), or manifest frame, carries one lie. */
static void frame_case(const char *name, const char *codes, enum zlie lie, int manifest_frame)
{
	static const struct member home = HOME;
	char *man = pkg_manifest(&home, 1, "");
	struct buf tar = {0}, z = {0};
	struct pkg p = {0};
	struct member mm = {MANIFEST_PATH, man, '0'};
	const struct member *m = manifest_frame ? &mm : &home;
	uint32_t dsize;

	if (!manifest_frame)
		pkg_member(&p, &mm, 0);
	pkg_tar_entry(&tar, m);
	dsize = (uint32_t)tar.len;
	ZSTD_CCtx *c = ZSTD_createCCtx();
	struct appkg_err e = {0};
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	if (frame_encode(c, tar.data, tar.len, &z, &e))
		pkg_die(e.msg);
	ZSTD_freeCCtx(c);
	zstd_lie(&z, &dsize, lie);
	pkg_index_add(&p, m->path, p.nframes, 0, m->data, member_len(m));
	pkg_frame_bytes(&p, z.data, z.len, dsize);
	if (manifest_frame)
		pkg_member(&p, &home, 0);
	emit_pkg(name, codes, &p);
	buf_free(&tar);
	buf_free(&z);
	free(man);
}

/* A resource frame followed by a hole of 256 MiB that the seek table counts as part of it: the
 * frame is cheap on disk and huge in size, which a reader must not load whole to refuse it. */
static void frame_padded_case(void)
{
	static const struct member home = HOME;
	const uint32_t hole = 256u << 20;
	char *man = pkg_manifest(&home, 1, ""), path[512];
	struct pkg p = {0};
	size_t at;
	FILE *f;

	pkg_member(&p, &(struct member){MANIFEST_PATH, man, '0'}, 0);
	pkg_member(&p, &home, 0);
	at = p.file.len;
	p.frames[1].csize += hole;
	pkg_close(&p, 0);
	case_path(path, sizeof(path), "zstd_frame_padded_256mb");
	if (!(f = fopen(path, "wb")) || fwrite(p.file.data, 1, at, f) != at ||
	    fseeko(f, hole, SEEK_CUR) != 0 ||
	    fwrite(p.file.data + at, 1, p.file.len - at, f) != p.file.len - at || fclose(f) != 0)
		pkg_die(path);
	list_case("zstd_frame_padded_256mb", "-206", 0);
	buf_free(&p.file);
	free(man);
}

static void frame_cases(void)
{
	static const struct {
		const char *name, *codes;
		enum zlie lie;
		int manifest_frame;
	} t[] = {
		{"zstd_window_16mb", "-205", Z_WINDOW_24, 0},
		{"zstd_window_2gb", "-205", Z_WINDOW_31, 0},
		{"zstd_window_2gb_manifest", "-205", Z_WINDOW_31, 1},
		{"zstd_content_size_larger", "-203|-206", Z_FCS_LARGER, 0},
		{"zstd_content_size_smaller", "-203|-206", Z_FCS_SMALLER, 0},
		{"zstd_content_size_64mb", "-203|-206", Z_FCS_64MB, 0},
		{"zstd_content_size_absent", "-206", Z_FCS_ABSENT, 0},
		{"zstd_no_checksum", "-206", Z_NO_CHECKSUM, 0},
		{"zstd_dictionary", "-203", Z_DICT, 0},
		{"zstd_truncated_frame", "-203|-206", Z_TRUNCATED, 0},
		{"zstd_truncated_manifest_frame", "-203|-206", Z_TRUNCATED, 1},
		{"zstd_bit_flip_block", "-203|-204", Z_FLIP_BLOCK, 0},
		{"zstd_bit_flip_checksum", "-204", Z_FLIP_CHECKSUM, 0},
		{"zstd_bit_flip_magic", "-203", Z_FLIP_MAGIC, 0},
		{"zstd_bit_flip_manifest", "-203|-204", Z_FLIP_BLOCK, 1},
		{"zstd_skippable_as_data", "-203", Z_SKIPPABLE, 0},
		{"zstd_concatenated_frames", "-206", Z_TWO_FRAMES, 0},
		{"zstd_seek_table_dsize_lie", "-206", Z_DSIZE_LIE, 0},
	};

	for (size_t i = 0; i < N(t); i++)
		frame_case(t[i].name, t[i].codes, t[i].lie, t[i].manifest_frame);
	frame_padded_case();
}

/* ---- seek table, member index, and what surrounds them ---- */

enum clie { C_FRAMES_HUGE, C_FRAMES_ONE, C_DESCRIPTOR, C_CSIZE_OVERRUN, C_DSIZE_ZERO, C_EXPANSION,
	    C_INDEX_MILLION, C_INDEX_ZERO, C_INDEX_COUNT_LIE, C_INDEX_FRAME, C_INDEX_OFFSET,
	    C_INDEX_MAGIC, C_GARBAGE_BEFORE_INDEX, C_GARBAGE_BEFORE_SEEK, C_GARBAGE_AFTER_TAR,
	    C_GARBAGE_IN_FRAME, C_NO_END, C_ZERO_BLOCK, C_TAIL, C_CUT };

const unsigned char garbage[512] = "garbage: not a tar header, not a zstd frame";

/* The manifest frame, the resource frame and the end frame, each perhaps with extra bytes. */
static void container_frames(struct pkg *p, enum clie lie, char *manifest)
{
	static const struct member home = HOME;
	struct buf tar = {0};

	pkg_member(p, &(struct member){MANIFEST_PATH, manifest, '0'}, 0);
	pkg_tar_entry(&tar, &home);
	if (lie == C_GARBAGE_IN_FRAME)
		buf_append(&tar, garbage, sizeof(garbage));
	if (lie == C_ZERO_BLOCK)
		buf_append_zeros(&tar, TAR_BLOCK);
	pkg_index_add(p, HOME_PATH, 1, 0, home.data, member_len(&home));
	pkg_frame(p, tar.data, tar.len, 0);
	tar.len = 0;
	buf_append_zeros(&tar, lie == C_NO_END ? TAR_BLOCK : TAR_END_BYTES);
	if (lie == C_GARBAGE_AFTER_TAR || lie == C_NO_END)
		buf_append(&tar, garbage, sizeof(garbage));
	pkg_frame(p, tar.data, tar.len, 0);
	buf_free(&tar);
	if (lie == C_EXPANSION) /* two frames at the size limit: far more than 1000 x the file */
		p->frames[1].dsize = p->frames[2].dsize = APPKG_MAX_FRAME_SIZE;
}

static void insert_bytes(struct buf *b, size_t at, const void *bytes, size_t n)
{
	buf_reserve(b, n);
	memmove(b->data + at + n, b->data + at, b->len - at);
	memcpy(b->data + at, bytes, n);
	b->len += n;
}

/* Patch the index or the seek table of a finished package. */
static void container_patch(struct pkg *p, enum clie lie)
{
	const struct frame_info *last = &p->frames[p->nframes - 1];
	size_t index = last->offset + last->csize, seek = p->file.len - 17 - 8 * p->nframes;
	unsigned char *x = p->file.data + index + 8, *foot = p->file.data + p->file.len - 9;
	size_t entry1 = 12 + 50 + strlen(MANIFEST_PATH);

	switch (lie) {
	case C_FRAMES_HUGE: put_le32(foot, 300000); break;
	case C_FRAMES_ONE: put_le32(foot, 1); break;
	case C_DESCRIPTOR: foot[4] = 0x80; break;
	case C_CSIZE_OVERRUN: put_le32(p->file.data + seek + 16, 1u << 20); break;
	case C_DSIZE_ZERO: put_le32(p->file.data + seek + 20, 0); break;
	case C_INDEX_MILLION: put_le32(x + 8, 1000000); break;
	case C_INDEX_ZERO: put_le32(x + 8, 0); break;
	case C_INDEX_COUNT_LIE: put_le32(x + 8, 3); break;
	case C_INDEX_FRAME: put_le32(x + entry1, 7); break;
	case C_INDEX_OFFSET: put_le32(x + entry1 + 4, 100); break;
	case C_INDEX_MAGIC: x[0] ^= 0x20; break;
	case C_GARBAGE_BEFORE_INDEX: insert_bytes(&p->file, index, garbage, 64); break;
	case C_GARBAGE_BEFORE_SEEK: insert_bytes(&p->file, seek, garbage, 64); break;
	case C_TAIL: buf_append(&p->file, garbage, 64); break;
	case C_CUT: p->file.len -= 20; break;
	default: break;
	}
}

static void container_cases(void)
{
	static const struct {
		const char *name, *codes;
		enum clie lie;
	} t[] = {
		{"seek_table_frames_300k", "-903", C_FRAMES_HUGE},
		{"seek_table_one_frame", "-202", C_FRAMES_ONE},
		{"seek_table_descriptor", "-202", C_DESCRIPTOR},
		{"seek_table_csize_overrun", "-202", C_CSIZE_OVERRUN},
		{"seek_table_dsize_zero", "-206", C_DSIZE_ZERO},
		{"seek_table_expansion_bomb", "-209", C_EXPANSION},
		{"index_million_members", "-900", C_INDEX_MILLION},
		{"index_zero_members", "-208", C_INDEX_ZERO},
		{"index_count_lie", "-208", C_INDEX_COUNT_LIE},
		{"index_frame_out_of_range", "-208", C_INDEX_FRAME},
		{"index_offset_lie", "-304", C_INDEX_OFFSET},
		{"index_bad_magic", "-208", C_INDEX_MAGIC},
		{"garbage_before_index", "-208", C_GARBAGE_BEFORE_INDEX},
		{"garbage_before_seek_table", "-207", C_GARBAGE_BEFORE_SEEK},
		{"garbage_after_tar", "-304", C_GARBAGE_AFTER_TAR},
		{"garbage_after_member", "-304", C_GARBAGE_IN_FRAME},
		{"end_marker_short", "-304", C_NO_END},
		{"zero_block_mid_archive", "-304", C_ZERO_BLOCK},
		{"garbage_after_seek_table", "-200", C_TAIL},
		{"truncated_seek_table", "-200", C_CUT},
	};
	static const struct member home = HOME;

	for (size_t i = 0; i < N(t); i++) {
		struct pkg p = {0};
		char *man = pkg_manifest(&home, 1, "");
		container_frames(&p, t[i].lie, man);
		pkg_finish(&p);
		container_patch(&p, t[i].lie);
		emit(t[i].name, t[i].codes, 0, p.file.data, p.file.len);
		buf_free(&p.file);
		free(man);
	}
}

int main(int argc, char **argv)
{
	char path[512];

	if (argc != 2) {
		fprintf(stderr, "usage: mkhostile OUTDIR\n");
		return 2;
	}
	if (sodium_init() < 0)
		pkg_die("libsodium");
	outdir = argv[1];
	mkdir(outdir, 0755);
	snprintf(path, sizeof(path), "%s/password", outdir);
	pkg_write_file(path, PASSWORD "\n", strlen(PASSWORD) + 1);
	snprintf(path, sizeof(path), "%s/cases", outdir);
	if (!(list = fopen(path, "w")))
		pkg_die(path);
	member_table();
	header_cases();
	size_lie_hidden_entry();
	pax_cases();
	long_name_cases();
	frame_cases();
	container_cases();
	file_cases();
	whitespace_512mb();
	million_members_raw();
	manifest_cases();
	resource_cases();
	secrets_cases();
	if (fclose(list) != 0)
		pkg_die(path);
	fprintf(stderr, "mkhostile: %d cases in %s\n", ncases, outdir);
	return 0;
}
