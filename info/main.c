/* SPDX-License-Identifier: MIT */
/*
 * appkg-info: the review page of a package before import. Prints what the manifest says
 * (name, description, version, format version, package id, producing tool), the signature (key
 * ID and trusted comment, checked only against --pubkey keys), every resource grouped by type
 * with its logical name, import mode, id, dependencies and size, the totals, and whether the
 * package holds sealed secrets; with the password, the names of the secrets (never a value).
 * Only the index, the manifest, the signature and secrets.enc are read: checking the resource
 * bytes is appkg-verify's job. --json prints one document (spec §19.1).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appkg/appkg.h"
#include "fe.h"

#define MAX_KEYS 16
#define TRUSTED_PREFIX "trusted comment: "

struct options {
	const char *password_file;
	const char *pubkeys[MAX_KEYS];
	int npubkeys, json, ask_password;
	const char *package;
};

/* One resource, copied out of the reader (its strings are borrowed only until the next call). */
struct item {
	char *type, *name, *file_name, *path, *mode, *id;
	char **depends_on;
	size_t ndepends;
	uint64_t size;
	char digest[2 * APPKG_DIGEST_BYTES + 1];
};

struct info {
	const char *subject; /* the package as messages name it */
	struct item *items;
	size_t nitems, types;
	uint64_t bytes;
	const char *signature; /* "absent", "unchecked", "valid" or "invalid" */
	char key_id[64], trusted[256];
	int has_secrets, decrypted;
	char **secret_names;
	size_t nsecrets;
};

__attribute__((noreturn)) static void usage(void)
{
	printf("Usage: %s [OPTION]... PKG\n"
	       "Show what a package holds before import: its name, description, version and ids,\n"
	       "the signature, each resource by type with its import mode, id, dependencies and\n"
	       "size, and whether it has secrets; with the password, the secret names (never a\n"
	       "value). Resource bytes are not checked: use appkg verify. PKG '-' reads stdin.\n\n"
	       "      --password-file FILE list the names of the secrets, with this password\n"
	       "  -P, --ask-password       ask for that password on the terminal\n"
	       "      --pubkey FILE        check the signature with this minisign public key\n"
	       "                           (repeatable); without it the signature is not checked\n"
	       "      --json               print one JSON document on stdout\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version\n\n"
	       "APPKG_PASSWORD in the environment also supplies the password.\n"
	       "Exit status: 0 ok, 1 rejected (corrupt, not an appkg), 2 usage,\n"
	       "3 authentication (wrong password, bad or untrusted signature),\n"
	       "4 environment (no such file, I/O error).\n",
	       fe_prog);
	exit(0);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"password-file", required_argument, NULL, 'p'}, {"ask-password", no_argument, NULL, 'P'},
		{"pubkey", required_argument, NULL, 'k'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}};
	int c;

	*o = (struct options){0};
	while ((c = fe_getopt(argc, argv, "PhV", longs)) != -1) {
		switch (c) {
		case 'p': o->password_file = optarg; break;
		case 'P': o->ask_password = 1; break;
		case 'k':
			if (o->npubkeys == MAX_KEYS)
				fe_usage_error("at most %d --pubkey options", MAX_KEYS);
			o->pubkeys[o->npubkeys++] = optarg;
			break;
		case 'j': o->json = 1; break;
		case 'h': usage();
		case 'V': fe_version();
		default: fe_usage_error("bad option");
		}
	}
	if (optind == argc)
		fe_usage_error("missing PKG");
	if (argc - optind > 1)
		fe_usage_error("one PKG only ('%s' is extra)", argv[optind + 1]);
	o->package = argv[optind];
	if (!strcmp(o->package, "-") && o->password_file && !strcmp(o->password_file, "-"))
		fe_usage_error("PKG and --password-file cannot both be standard input");
}

__attribute__((noreturn)) static void out_of_memory(void)
{
	fprintf(stderr, "%s: out of memory\n", fe_prog);
	exit(APPKG_EXIT_ENVIRONMENT);
}

static char *copy(const char *s)
{
	char *c = s ? strdup(s) : NULL;

	if (s && !c)
		out_of_memory();
	return c;
}

static void copy_item(struct item *it, const struct appkg_resource *res)
{
	static const char hex[] = "0123456789abcdef";

	*it = (struct item){.type = copy(res->type), .name = copy(res->name),
			    .file_name = copy(res->file_name), .path = copy(res->path),
			    .mode = copy(res->mode), .id = copy(res->id), .size = res->size,
			    .ndepends = res->depends_on_count};
	if (it->ndepends && !(it->depends_on = calloc(it->ndepends, sizeof(char *))))
		out_of_memory();
	for (size_t d = 0; d < it->ndepends; d++)
		it->depends_on[d] = copy(res->depends_on[d]);
	for (size_t b = 0; b < APPKG_DIGEST_BYTES; b++) {
		it->digest[2 * b] = hex[res->digest[b] >> 4];
		it->digest[2 * b + 1] = hex[res->digest[b] & 15];
	}
}

static int by_type_and_name(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = strcmp(x->type, y->type);

	return c ? c : strcmp(x->name, y->name);
}

/* Every resource, sorted by type then logical name (bytes), with the totals. */
static int load_resources(appkg_reader *r, struct info *in)
{
	size_t n = appkg_reader_resource_count(r);
	struct appkg_resource res;
	int rc;

	if (n && !(in->items = calloc(n, sizeof(*in->items))))
		out_of_memory();
	for (size_t i = 0; i < n; i++) {
		if ((rc = appkg_reader_resource(r, i, &res)))
			return rc;
		copy_item(&in->items[i], &res);
		in->nitems++;
		in->bytes += res.size;
	}
	if (n)
		qsort(in->items, n, sizeof(*in->items), by_type_and_name);
	for (size_t i = 0; i < n; i++)
		in->types += i == 0 || strcmp(in->items[i].type, in->items[i - 1].type) != 0;
	return 0;
}

/* The trusted comment line of a signature no key checked, as the package carries it. */
static void unchecked_comment(appkg_reader *r, char *trusted)
{
	const void *data;
	const char *p, *end, *line;
	size_t len, k = strlen(TRUSTED_PREFIX);

	if (appkg_reader_read(r, "manifest.json.minisig", &data, &len))
		return;
	p = data;
	end = p + len;
	for (int n = 0; n < 2 && p < end; n++) /* line 3 of the four */
		p = (p = memchr(p, '\n', (size_t)(end - p))) ? p + 1 : end;
	line = p;
	if ((size_t)(end - line) < k || memcmp(line, TRUSTED_PREFIX, k))
		return;
	line += k;
	p = memchr(line, '\n', (size_t)(end - line));
	len = (size_t)((p ? p : end) - line);
	if (len < 256) {
		memcpy(trusted, line, len);
		trusted[len] = '\0';
	}
}

/* Fill the signature fields; 0, or the exit status of a bad signature or key file (printed).
 * The signer and the comment are read first without keys, so that a signature the keys refuse
 * still shows who says they made it; the key files are loaded (checked) in any case. */
static int load_signature(appkg_reader *r, const struct options *o, struct info *in)
{
	char key_id[sizeof(in->key_id)], trusted[sizeof(in->trusted)];
	int signed_rc = appkg_reader_check_signature(r, in->key_id, in->trusted), rc;

	in->signature = signed_rc == 1 ? "unchecked"
			: signed_rc == APPKG_ERR_NOT_FOUND ? "absent" : "invalid";
	if (signed_rc == 1)
		unchecked_comment(r, in->trusted);
	for (int i = 0; i < o->npubkeys; i++)
		if ((rc = appkg_reader_add_trusted_key(r, o->pubkeys[i]))) {
			in->signature = "key"; /* the key file is at fault: no report */
			return fe_report(in->subject, rc, appkg_reader_error(r));
		}
	if (signed_rc == APPKG_ERR_NOT_FOUND || (signed_rc == 1 && o->npubkeys == 0))
		return 0;
	if (signed_rc == 1 && (rc = appkg_reader_check_signature(r, key_id, trusted)) == 0) {
		in->signature = "valid";
		memcpy(in->trusted, trusted, sizeof(trusted)); /* now checked */
		return 0;
	}
	in->signature = "invalid";
	return fe_report(in->subject, signed_rc == 1 ? rc : signed_rc, appkg_reader_error(r));
}

/* With a password, the secret names; 0 or the exit status of a failure (printed). */
static int load_secrets(appkg_reader *r, const struct options *o, struct info *in)
{
	char *pw = NULL;
	size_t pw_len = 0;
	int rc;

	in->has_secrets = appkg_reader_has_secrets(r);
	if (!in->has_secrets || (!o->password_file && !o->ask_password && !getenv("APPKG_PASSWORD")))
		return 0;
	rc = fe_password(o->password_file, o->ask_password, &pw, &pw_len);
	if (rc < 0) /* fe_password printed why */
		return appkg_error_class(rc);
	if (rc == 1)
		return fe_report(in->subject, APPKG_ERR_NO_PASSWORD, "secrets.enc: no password");
	rc = appkg_reader_secret_names(r, pw, pw_len, &in->secret_names, &in->nsecrets);
	fe_secret_free(pw, pw_len);
	if (rc)
		return fe_report(in->subject, rc, appkg_reader_error(r));
	in->decrypted = 1;
	return 0;
}

/* ---- text output ---- */

/* "label:" padded to one column, then the value (or "-" when absent). */
static void put_field(const char *label, const char *value)
{
	printf("%-17s", label);
	fe_put_text(value ? value : "-");
	putchar('\n');
}

static void print_signature_text(const struct info *in)
{
	if (!strcmp(in->signature, "absent")) {
		put_field("signature:", "none");
		return;
	}
	printf("%-17skey %s, %s\n", "signature:", in->key_id,
	       !strcmp(in->signature, "valid") ? "checked: valid"
	       : !strcmp(in->signature, "unchecked") ? "not checked (no --pubkey)"
						     : "checked: INVALID");
	if (in->trusted[0]) {
		printf("%-17s", "trusted comment:");
		fe_put_text(in->trusted);
		printf("%s\n", !strcmp(in->signature, "valid") ? "" : " (not checked)");
	}
}

static void print_item_text(const struct item *it)
{
	printf("  ");
	fe_put_text(it->name);
	printf("\n      mode %s, %llu bytes", it->mode, (unsigned long long)it->size);
	if (it->id) {
		printf(", id ");
		fe_put_text(it->id);
	}
	putchar('\n');
	for (size_t d = 0; d < it->ndepends; d++) {
		printf(d ? ", " : "      depends on ");
		fe_put_text(it->depends_on[d]);
	}
	if (it->ndepends)
		putchar('\n');
}

static void print_secrets_text(const struct info *in)
{
	if (!in->has_secrets) {
		put_field("secrets:", "none");
		return;
	}
	if (!in->decrypted) {
		put_field("secrets:", "present, sealed (give the password to list their names)");
		return;
	}
	printf("%-17spresent, sealed, %zu name%s:\n", "secrets:", in->nsecrets,
	       in->nsecrets == 1 ? "" : "s");
	for (size_t i = 0; i < in->nsecrets; i++) {
		printf("  ");
		fe_put_text(in->secret_names[i]);
		putchar('\n');
	}
}

/* Inputs (spec §20.3): what the target must supply, one block per input. */
static void print_inputs_text(appkg_reader *r)
{
	size_t n = appkg_reader_input_count(r);
	struct appkg_input x;

	if (!n)
		return;
	printf("\nInputs (%zu)\n", n);
	for (size_t i = 0; i < n; i++) {
		if (appkg_reader_input(r, i, &x))
			continue;
		printf("  ");
		fe_put_text(x.name);
		if (x.required)
			printf("\n      required");
		else if (x.default_json) {
			printf("\n      default ");
			fe_put_text(x.default_json);
		} else
			printf("\n      optional");
		printf(x.used_by_count ? "" : ", used by no resource");
		putchar('\n');
		if (x.description) {
			printf("      ");
			fe_put_text(x.description);
			putchar('\n');
		}
		for (size_t u = 0; u < x.used_by_count; u++) {
			printf(u ? ", " : "      used by ");
			fe_put_text(x.used_by[u]);
		}
		if (x.used_by_count)
			putchar('\n');
	}
}

static void print_text(appkg_reader *r, const struct info *in)
{
	put_field("name:", appkg_reader_meta(r, "name"));
	put_field("description:", appkg_reader_meta(r, "description"));
	put_field("version:", appkg_reader_meta(r, "version"));
	put_field("format version:", appkg_reader_meta(r, "format_version"));
	put_field("package id:", appkg_reader_meta(r, "package_id"));
	put_field("created by:", appkg_reader_meta(r, "created_by"));
	print_signature_text(in);
	print_secrets_text(in);
	printf("%-17s%zu in %zu type%s, %llu bytes\n", "resources:", in->nitems, in->types,
	       in->types == 1 ? "" : "s", (unsigned long long)in->bytes);
	for (size_t i = 0; i < in->nitems; i++) {
		if (i == 0 || strcmp(in->items[i].type, in->items[i - 1].type)) {
			size_t n = 1;
			while (i + n < in->nitems && !strcmp(in->items[i + n].type, in->items[i].type))
				n++;
			printf("\n");
			fe_put_text(in->items[i].type);
			printf(" (%zu)\n", n);
		}
		print_item_text(&in->items[i]);
	}
	print_inputs_text(r);
}

/* ---- JSON output (spec §19.1) ---- */

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* A string from outside the manifest (the path given, or the trusted comment, which minisign
 * lets be any bytes but controls): as it is when it is UTF-8, else with every non-ASCII byte
 * written %XX, so that the document stays valid JSON. */
static json_t *bytes_json(const char *s)
{
	json_t *j;
	char *escaped, *p;

	if (!s || (j = json_string(s)))
		return s ? j : json_null();
	if (!(escaped = p = malloc(3 * strlen(s) + 1)))
		out_of_memory();
	for (; *s; s++)
		p += (unsigned char)*s < 0x80 ? sprintf(p, "%c", *s)
					      : sprintf(p, "%%%02X", (unsigned char)*s);
	j = json_string(escaped);
	free(escaped);
	return j;
}

static json_t *item_json(const struct item *it)
{
	json_t *deps = json_array();

	for (size_t d = 0; d < it->ndepends; d++)
		json_array_append_new(deps, json_string(it->depends_on[d]));
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:s}", "name", it->name, "file_name",
			 it->file_name, "path", it->path, "mode", it->mode, "id",
			 string_or_null(it->id), "depends_on", deps, "size", (json_int_t)it->size,
			 "digest", it->digest);
}

/* {"<type>": [resource, ...], ...}: types and resources in sorted order. */
static json_t *resources_json(const struct info *in)
{
	json_t *o = json_object(), *group = NULL;

	for (size_t i = 0; i < in->nitems; i++) {
		if (i == 0 || strcmp(in->items[i].type, in->items[i - 1].type)) {
			group = json_array();
			json_object_set_new(o, in->items[i].type, group);
		}
		json_array_append_new(group, item_json(&in->items[i]));
	}
	return o;
}

static json_t *secrets_json(const struct info *in)
{
	json_t *names = in->decrypted ? json_array() : json_null();

	for (size_t i = 0; in->decrypted && i < in->nsecrets; i++)
		json_array_append_new(names, json_string(in->secret_names[i]));
	return json_pack("{s:b, s:b, s:b, s:o}", "present", in->has_secrets, "sealed",
			 in->has_secrets, "decrypted", in->decrypted, "names", names);
}

static json_t *signature_json(const struct info *in)
{
	int present = strcmp(in->signature, "absent") != 0;

	return json_pack("{s:b, s:s, s:b, s:o, s:o}", "present", present, "status", in->signature,
			 "checked", !strcmp(in->signature, "valid") || !strcmp(in->signature, "invalid"),
			 "key_id", string_or_null(present && in->key_id[0] ? in->key_id : NULL),
			 "trusted_comment", bytes_json(in->trusted[0] ? in->trusted : NULL));
}

/* [{"name", "description", "default", "required", "used_by"}], sorted by name. */
static json_t *inputs_json(appkg_reader *r)
{
	json_t *a = json_array(), *used, *def;
	struct appkg_input x;

	for (size_t i = 0; i < appkg_reader_input_count(r); i++) {
		if (appkg_reader_input(r, i, &x))
			continue;
		used = json_array();
		for (size_t u = 0; u < x.used_by_count; u++)
			json_array_append_new(used, json_string(x.used_by[u]));
		def = x.default_json ? json_loads(x.default_json, JSON_DECODE_ANY, NULL) : NULL;
		json_array_append_new(a, json_pack("{s:s, s:o, s:o, s:b, s:o}", "name", x.name,
						   "description", string_or_null(x.description),
						   "default", def ? def : json_null(), "required",
						   x.required, "used_by", used));
	}
	return a;
}

static void print_json(appkg_reader *r, const struct info *in)
{
	static const char *const fields[] = {"name", "description", "version", "format_version",
					     "package_id", "created_by"};
	json_t *o = json_object();

	json_object_set_new(o, "package", bytes_json(in->subject));
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		json_object_set_new(o, fields[i], string_or_null(appkg_reader_meta(r, fields[i])));
	json_object_set_new(o, "signature", signature_json(in));
	json_object_set_new(o, "resources", resources_json(in));
	json_object_set_new(o, "totals", json_pack("{s:I, s:I, s:I}", "count", (json_int_t)in->nitems,
						   "types", (json_int_t)in->types, "bytes",
						   (json_int_t)in->bytes));
	json_object_set_new(o, "secrets", secrets_json(in));
	json_object_set_new(o, "inputs", inputs_json(r));
	if (json_dumpf(o, stdout, JSON_INDENT(2)) != 0)
		out_of_memory();
	putchar('\n');
	json_decref(o);
}

static void info_free(struct info *in)
{
	for (size_t i = 0; i < in->nitems; i++) {
		struct item *it = &in->items[i];
		for (size_t d = 0; d < it->ndepends; d++)
			free(it->depends_on[d]);
		free(it->depends_on);
		free(it->type), free(it->name), free(it->file_name);
		free(it->path), free(it->mode), free(it->id);
	}
	free(in->items);
	appkg_secret_names_free(in->secret_names, in->nsecrets);
}

int main(int argc, char **argv)
{
	struct options o;
	struct info in = {0};
	appkg_reader *r;
	int rc, status = 0, signature_status;

	fe_init(argv[0]);
	parse_options(argc, argv, &o);
	in.subject = strcmp(o.package, "-") ? o.package : "(stdin)";
	if (!(r = appkg_reader_new()))
		out_of_memory();
	rc = strcmp(o.package, "-") ? appkg_reader_open_path(r, o.package) : appkg_reader_open_fd(r, 0);
	if (rc || (rc = load_resources(r, &in))) {
		status = fe_report(in.subject, rc, appkg_reader_error(r));
		goto out;
	}
	if ((status = load_secrets(r, &o, &in)))
		goto out;
	signature_status = load_signature(r, &o, &in);
	if (signature_status && !strcmp(in.signature, "key")) {
		status = signature_status;
		goto out;
	}
	if (o.json)
		print_json(r, &in);
	else
		print_text(r, &in);
	status = signature_status;
	if (fflush(stdout) || ferror(stdout))
		status = fe_report("standard output", APPKG_ERR_IO, "cannot write the report");
out:
	info_free(&in);
	appkg_reader_free(r);
	return status;
}
