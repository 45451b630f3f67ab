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
#include <sodium.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "fe.h"
#include "registry.h"

#define MAX_KEYS 16
#define TRUSTED_PREFIX "trusted comment: "

struct options {
	struct fe_registry reg; /* an oci:// operand: the registry options */
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
	const char *manifest_digest; /* oci://: the image manifest's digest, else NULL */
};

__attribute__((noreturn)) static void usage(void)
{
	printf("Usage: %s [OPTION]... PKG\n"
	       "       %s [OPTION]... oci://HOST[:PORT]/REPOSITORY{:TAG|@sha256:DIGEST}\n"
	       "Show what a package holds before import: its name, description, version and ids,\n"
	       "the signature, each resource by type with its import mode, id, dependencies and\n"
	       "size, and whether it has secrets; with the password, the secret names (never a\n"
	       "value). Resource bytes are not checked: use appkg verify. PKG '-' reads stdin.\n"
	       "From a registry only the OCI manifest and the config blob are read.\n\n"
	       "      --password-file FILE list the names of the secrets, with this password\n"
	       "  -P, --ask-password       ask for that password on the terminal\n"
	       "      --pubkey FILE        check the signature with this minisign public key\n"
	       "                           (repeatable); without it the signature is not checked\n"
	       "      --json               print one JSON document on stdout\n"
	       FE_REGISTRY_HELP
	       "  -v, --verbose            with oci://: print the bytes transferred; twice:\n"
	       "                           each request too (never a credential)\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version\n\n"
	       "APPKG_PASSWORD in the environment also supplies the password.\n"
	       "Exit status: 0 ok, 1 rejected (corrupt, not an appkg), 2 usage,\n"
	       "3 authentication (wrong password, bad or untrusted signature),\n"
	       "4 environment (no such file, I/O error, cannot reach the registry).\n",
	       fe_prog, fe_prog);
	exit(0);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"password-file", required_argument, NULL, 'p'}, {"ask-password", no_argument, NULL, 'P'},
		{"pubkey", required_argument, NULL, 'k'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
		{"verbose", no_argument, NULL, 'v'}, FE_REGISTRY_LONGS, {NULL, 0, NULL, 0}};
	int c;

	*o = (struct options){0};
	while ((c = fe_getopt(argc, argv, "PvhV", longs)) != -1) {
		if (fe_registry_option(&o->reg, c, optarg))
			continue;
		switch (c) {
		case 'v': o->reg.verbose++; break;
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
	o->package = fe_one_operand(argc, argv, "PKG");
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

/* ---- the manifest's fields: from the reader, or for oci:// from the config blob ---- */

/* The package's manifest.json as the registry's config blob holds it (remote info), or NULL. */
static json_t *remote;
static const char **remote_inputs; /* its input names, sorted */
static size_t remote_ninputs;

static const char *meta(appkg_reader *r, const char *field)
{
	return remote ? json_string_value(json_object_get(remote, field)) : appkg_reader_meta(r, field);
}

static size_t input_count(appkg_reader *r)
{
	return remote ? remote_ninputs : appkg_reader_input_count(r);
}

/* Input i of the remote manifest; its strings live until the next call. */
static int remote_input(size_t i, struct appkg_input *x)
{
	static const char *used[4096];
	static char *default_json;
	json_t *in = json_object_get(json_object_get(remote, "inputs"), remote_inputs[i]), *u, *d;
	size_t k;

	free(default_json);
	d = json_object_get(in, "default");
	default_json = d ? json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	*x = (struct appkg_input){.name = remote_inputs[i],
				  .description = json_string_value(json_object_get(in, "description")),
				  .default_json = default_json,
				  .required = json_is_true(json_object_get(in, "required")),
				  .used_by = used};
	json_array_foreach(json_object_get(in, "used_by"), k, u)
		if (json_string_value(u) && x->used_by_count < sizeof(used) / sizeof(used[0]))
			used[x->used_by_count++] = json_string_value(u);
	return 0;
}

static int input_at(appkg_reader *r, size_t i, struct appkg_input *x)
{
	return remote ? remote_input(i, x) : appkg_reader_input(r, i, x);
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
	size_t n = input_count(r);
	struct appkg_input x;

	if (!n)
		return;
	printf("\nInputs (%zu)\n", n);
	for (size_t i = 0; i < n; i++) {
		if (input_at(r, i, &x))
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
	put_field("name:", meta(r, "name"));
	put_field("description:", meta(r, "description"));
	put_field("version:", meta(r, "version"));
	put_field("format version:", meta(r, "format_version"));
	put_field("package id:", meta(r, "package_id"));
	put_field("created by:", meta(r, "created_by"));
	if (in->manifest_digest)
		put_field("oci manifest:", in->manifest_digest);
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

	for (size_t i = 0; i < input_count(r); i++) {
		if (input_at(r, i, &x))
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
		json_object_set_new(o, fields[i], string_or_null(meta(r, fields[i])));
	json_object_set_new(o, "signature", signature_json(in));
	json_object_set_new(o, "resources", resources_json(in));
	json_object_set_new(o, "totals", json_pack("{s:I, s:I, s:I}", "count", (json_int_t)in->nitems,
						   "types", (json_int_t)in->types, "bytes",
						   (json_int_t)in->bytes));
	json_object_set_new(o, "secrets", secrets_json(in));
	json_object_set_new(o, "inputs", inputs_json(r));
	if (in->manifest_digest)
		json_object_set_new(o, "oci_manifest_digest", json_string(in->manifest_digest));
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

/* ---- oci:// (spec section 22): the OCI manifest and the config blob only ---- */

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void load_remote_inputs(void)
{
	json_t *inputs = json_object_get(remote, "inputs");
	const char *key;
	json_t *v;

	if (!json_is_object(inputs) || !json_object_size(inputs))
		return;
	if (!(remote_inputs = calloc(json_object_size(inputs), sizeof(*remote_inputs))))
		out_of_memory();
	json_object_foreach(inputs, key, v)
		remote_inputs[remote_ninputs++] = key;
	qsort(remote_inputs, remote_ninputs, sizeof(*remote_inputs), by_name);
}

/* One resource entry of the manifest, as the reader would give it. */
static void remote_item(struct item *it, json_t *e)
{
	const char *path = json_string_value(json_object_get(e, "path")) ?: "";
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path, *dot = strrchr(base, '.');
	const char *digest = json_string_value(json_object_get(e, "digest")) ?: "";
	json_t *deps = json_object_get(e, "depends_on"), *d;
	size_t k;

	*it = (struct item){.type = copy(json_string_value(json_object_get(e, "type")) ?: ""),
			    .name = copy(json_string_value(json_object_get(e, "name")) ?: ""),
			    .path = copy(path),
			    .mode = copy(json_string_value(json_object_get(e, "mode")) ?: "create"),
			    .id = copy(json_string_value(json_object_get(e, "id"))),
			    .size = (uint64_t)json_integer_value(json_object_get(e, "size"))};
	if (!(it->file_name = strndup(base, dot ? (size_t)(dot - base) : strlen(base))))
		out_of_memory();
	snprintf(it->digest, sizeof(it->digest), "%s", digest);
	if (json_array_size(deps) && !(it->depends_on = calloc(json_array_size(deps), sizeof(char *))))
		out_of_memory();
	json_array_foreach(deps, k, d)
		if (json_string_value(d))
			it->depends_on[it->ndepends++] = copy(json_string_value(d));
}

static void load_remote_resources(struct info *in)
{
	json_t *list = json_object_get(remote, "resources"), *e;
	size_t i;

	if (json_array_size(list) && !(in->items = calloc(json_array_size(list), sizeof(*in->items))))
		out_of_memory();
	json_array_foreach(list, i, e) {
		remote_item(&in->items[in->nitems++], e);
		in->bytes += in->items[in->nitems - 1].size;
	}
	if (in->nitems)
		qsort(in->items, in->nitems, sizeof(*in->items), by_type_and_name);
	for (size_t k = 0; k < in->nitems; k++)
		in->types += k == 0 || strcmp(in->items[k].type, in->items[k - 1].type) != 0;
	in->has_secrets = json_is_object(json_object_get(remote, "secrets"));
}

/* Line n (from 0) of text, copied into out (size bytes); 0 or -1. */
static int text_line(const char *text, int n, char *out, size_t size)
{
	const char *p = text, *end;

	for (int i = 0; i < n && p; i++)
		p = (p = strchr(p, '\n')) ? p + 1 : NULL;
	if (!p)
		return -1;
	end = p + strcspn(p, "\r\n");
	if ((size_t)(end - p) >= size)
		return -1;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return 0;
}

/* Write len bytes to a new temporary file in $TMPDIR; its path in path (PATH_MAX). */
static int temp_file(const void *data, size_t len, char *path, size_t size)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, size, "%s/appkg-info-XXXXXX", dir && *dir ? dir : "/tmp");
	if ((fd = mkstemp(path)) < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

/* The signature of the manifest's annotation (it signs the config blob's bytes): who made it,
 * and with --pubkey whether a key trusts it. 0, or the exit status of a bad one (printed). */
static int remote_signature(const struct options *o, struct info *in, const char *sig,
			    const char *config, size_t len)
{
	unsigned char raw[80];
	char line[200], cpath[4096], spath[4096];
	size_t n = 0;
	int rc = APPKG_ERR_SIGNATURE, k;

	in->signature = sig ? "unchecked" : "absent";
	if (!sig)
		return 0;
	if (!text_line(sig, 1, line, sizeof(line)) &&
	    !sodium_base642bin(raw, sizeof(raw), line, strlen(line), NULL, &n, NULL,
			       sodium_base64_VARIANT_ORIGINAL) && n >= 10) {
		unsigned long long id = 0;
		for (int b = 7; b >= 0; b--)
			id = id << 8 | raw[2 + b];
		snprintf(in->key_id, sizeof(in->key_id), "%016llX", id);
	}
	if (!text_line(sig, 2, line, sizeof(line)) && !strncmp(line, TRUSTED_PREFIX, strlen(TRUSTED_PREFIX)))
		snprintf(in->trusted, sizeof(in->trusted), "%s", line + strlen(TRUSTED_PREFIX));
	if (!o->npubkeys)
		return 0;
	if (temp_file(config, len, cpath, sizeof(cpath)))
		return fe_report("TMPDIR", APPKG_ERR_IO, "cannot write a temporary file");
	if (temp_file(sig, strlen(sig), spath, sizeof(spath))) {
		unlink(cpath);
		return fe_report("TMPDIR", APPKG_ERR_IO, "cannot write a temporary file");
	}
	for (k = 0; k < o->npubkeys && rc; k++) {
		char key_id[sizeof(in->key_id)], trusted[sizeof(in->trusted)];
		if (!(rc = appkg_check_file_signature(cpath, spath, o->pubkeys[k], key_id, trusted)))
			memcpy(in->trusted, trusted, sizeof(trusted)); /* now checked */
	}
	unlink(cpath);
	unlink(spath);
	in->signature = rc ? "invalid" : "valid";
	return rc ? fe_report(in->subject, rc, "manifest.json.minisig (annotation dev.appkg.signature): "
			      "no --pubkey key trusts this signature") : 0;
}

static int remote_info(const struct options *o)
{
	struct info in = {.subject = o->package};
	struct fe_registry reg = o->reg;
	const char *config, *sig;
	size_t len;
	appkg_oci *c;
	int rc, status, verbose = reg.verbose;

	if (o->password_file || o->ask_password)
		fe_usage_error("secret names need the package's secrets.enc: pull it first");
	c = fe_registry_handle(&reg, o->package, FE_REF_TAG_OR_DIGEST);
	reg.verbose = verbose > 1; /* -v: the bytes transferred; -vv: each request too */
	if ((status = fe_registry_setup(&reg, c, appkg_oci_host(c), o->package)))
		goto out;
	rc = appkg_oci_fetch_config(c, &config, &len, &sig);
	if (verbose)
		fprintf(stderr, "%s: '%s': %llu bytes transferred\n", fe_prog, o->package,
			(unsigned long long)appkg_oci_bytes_received(c));
	if (rc) {
		status = fe_registry_report(o->package, c, rc);
		goto out;
	}
	if (!(remote = json_loadb(config, len, JSON_REJECT_DUPLICATES, NULL)))
		out_of_memory(); /* the library checked that it parses */
	in.manifest_digest = appkg_oci_manifest_digest(c);
	load_remote_inputs();
	load_remote_resources(&in);
	status = remote_signature(o, &in, sig, config, len);
	if (o->json)
		print_json(NULL, &in);
	else
		print_text(NULL, &in);
	if (fflush(stdout) || ferror(stdout))
		status = fe_report("standard output", APPKG_ERR_IO, "cannot write the report");
out:
	fe_registry_free(&reg);
	info_free(&in);
	free(remote_inputs);
	json_decref(remote);
	remote = NULL;
	appkg_oci_free(c);
	return status;
}

int main(int argc, char **argv)
{
	struct options o;
	struct info in = {0};
	appkg_reader *r;
	int rc, status = 0, signature_status;

	fe_init(argv[0]);
	parse_options(argc, argv, &o);
	if (!strncmp(o.package, "oci://", 6))
		return remote_info(&o);
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
