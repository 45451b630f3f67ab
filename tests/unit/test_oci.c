/* SPDX-License-Identifier: MIT */
/*
 * The registry client without a registry (spec section 22): the reference grammar, tags and
 * digests, what a push or pull refuses before any request, and the exit classes of the
 * registry error codes. The protocol itself is tested against real and hostile registries by
 * tests/registry/.
 */
#include <string.h>

#include "appkg/appkg.h"
#include "harness.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static appkg_oci *client(const char *ref, int *rc)
{
	appkg_oci *c = appkg_oci_new();

	*rc = c ? appkg_oci_set_reference(c, ref) : -1;
	harness_msg = c ? appkg_oci_error(c) : "";
	return c;
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

TEST(reference_with_port_and_tag)
{
	int rc;
	appkg_oci *c = client("oci://registry.example:5000/team/crm-console:1.4.0", &rc);

	CHECK_EQ(rc, 0);
	CHECK(same(appkg_oci_host(c), "registry.example:5000"));
	CHECK(same(appkg_oci_repository(c), "team/crm-console"));
	CHECK(same(appkg_oci_tag(c), "1.4.0"));
	CHECK(same(appkg_oci_digest(c), NULL));
	appkg_oci_free(c);
}

TEST(reference_by_digest)
{
	int rc;
	appkg_oci *c = client("oci://localhost/a/b.c/d_e__f--g@sha256:" HEX64, &rc);

	CHECK_EQ(rc, 0);
	CHECK(same(appkg_oci_host(c), "localhost"));
	CHECK(same(appkg_oci_repository(c), "a/b.c/d_e__f--g"));
	CHECK(same(appkg_oci_tag(c), NULL));
	CHECK(same(appkg_oci_digest(c), "sha256:" HEX64));
	appkg_oci_free(c);
	c = client("oci://[::1]:5000/x:v1@sha256:" HEX64, &rc);
	CHECK_EQ(rc, 0);
	CHECK(same(appkg_oci_host(c), "[::1]:5000"));
	CHECK(same(appkg_oci_tag(c), "v1"));
	CHECK(same(appkg_oci_digest(c), "sha256:" HEX64));
	appkg_oci_free(c);
}

TEST(reference_without_tag)
{
	int rc;
	appkg_oci *c = client("oci://127.0.0.1:5000/team/app", &rc);

	CHECK_EQ(rc, 0);
	CHECK(same(appkg_oci_repository(c), "team/app"));
	CHECK(same(appkg_oci_tag(c), NULL));
	appkg_oci_free(c);
}

/* Each is refused with APPKG_ERR_REFERENCE, an exit status of 2. */
TEST(references_refused)
{
	static const char *const bad[] = {
		"registry.example/team/app:1", "http://registry.example/team/app:1", "oci://",
		"oci://host", "oci://host/", "oci:///team/app", "oci://host/Team/app",
		"oci://host/team//app", "oci://host/team/app/", "oci://host/-app", "oci://host/app-",
		"oci://host/a___b", "oci://host/a..b", "oci://host/app:", "oci://host/app:.x",
		"oci://host/app:-x", "oci://host/app:a b", "oci://host/app@", "oci://host/app@sha256:",
		"oci://host/app@sha256:" HEX64 "0", "oci://host/app@sha512:" HEX64,
		"oci://host/app@SHA256:" HEX64, "oci://host/app@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		"oci://ho_st/app", "oci://host:0/app", "oci://host:65536/app", "oci://host:/app",
		"oci://host:12a/app", "oci://-host/app", "oci://[::1/app", "oci://[]/app",
		"oci://host/app\n:1", "oci://host/../etc", "oci://user@host/app:1",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;
		appkg_oci *c = client(bad[i], &rc);
		if (rc != APPKG_ERR_REFERENCE)
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		CHECK_EQ(rc, APPKG_ERR_REFERENCE);
		CHECK(appkg_oci_host(c) == NULL && appkg_oci_repository(c) == NULL);
		CHECK(strstr(appkg_oci_error(c), "not a registry reference"));
		appkg_oci_free(c);
	}
	CHECK_EQ(appkg_error_class(APPKG_ERR_REFERENCE), 2);
}

TEST(tag_lengths)
{
	char tag[200], ref[300];
	int rc;
	appkg_oci *c;

	memset(tag, 'a', 128);
	tag[128] = '\0';
	snprintf(ref, sizeof(ref), "oci://h/app:%s", tag);
	c = client(ref, &rc);
	CHECK_EQ(rc, 0);
	appkg_oci_free(c);
	strcat(tag, "a");
	snprintf(ref, sizeof(ref), "oci://h/app:%s", tag);
	c = client(ref, &rc);
	CHECK_EQ(rc, APPKG_ERR_REFERENCE);
	CHECK_EQ(appkg_oci_set_tag(c, "1.4.0"), 0);
	appkg_oci_free(c);
}

TEST(set_tag_checks_the_text)
{
	int rc;
	appkg_oci *c = client("oci://h/app", &rc);

	CHECK_EQ(rc, 0);
	CHECK_EQ(appkg_oci_set_tag(c, "1.4.0+build"), APPKG_ERR_REFERENCE);
	CHECK_EQ(appkg_oci_set_tag(c, ""), APPKG_ERR_REFERENCE);
	CHECK_EQ(appkg_oci_set_tag(c, "../x"), APPKG_ERR_REFERENCE);
	CHECK(same(appkg_oci_tag(c), NULL));
	CHECK_EQ(appkg_oci_set_tag(c, "1.4.0_rc-1"), 0);
	CHECK(same(appkg_oci_tag(c), "1.4.0_rc-1"));
	appkg_oci_free(c);
}

TEST(registry_host_alone)
{
	appkg_oci *c = appkg_oci_new();

	CHECK(c);
	CHECK_EQ(appkg_oci_set_registry(c, "registry.example:5000"), 0);
	CHECK(same(appkg_oci_host(c), "registry.example:5000"));
	CHECK(same(appkg_oci_repository(c), NULL));
	CHECK_EQ(appkg_oci_set_registry(c, "registry.example/team"), APPKG_ERR_REFERENCE);
	CHECK_EQ(appkg_oci_set_registry(c, "oci://registry.example"), APPKG_ERR_REFERENCE);
	appkg_oci_free(c);
}

/* Refused before any request: push needs a tag and takes no digest; pull and fetch need one
 * of them. No registry is listening on these names. */
TEST(refused_before_any_request)
{
	int rc, fd = -2;
	char digest[80];
	const char *config = NULL, *sig = NULL;
	size_t len = 0;
	appkg_oci *c = client("oci://nowhere.invalid/app", &rc);

	CHECK_EQ(rc, 0);
	CHECK_EQ(appkg_oci_pull_commit(c), APPKG_ERR_STATE);
	appkg_oci_free(c);
	c = client("oci://nowhere.invalid/app", &rc);
	CHECK_EQ(appkg_oci_push(c, "no-such.appkg", digest), APPKG_ERR_REFERENCE);
	appkg_oci_free(c);
	c = client("oci://nowhere.invalid/app", &rc);
	CHECK_EQ(appkg_oci_pull(c, "out.appkg", &fd), APPKG_ERR_REFERENCE);
	CHECK_EQ(fd, -1);
	appkg_oci_free(c);
	c = client("oci://nowhere.invalid/app", &rc);
	CHECK_EQ(appkg_oci_fetch_config(c, &config, &len, &sig), APPKG_ERR_REFERENCE);
	CHECK_EQ(appkg_oci_bytes_received(c), 0);
	CHECK(appkg_oci_manifest_digest(c) == NULL);
	appkg_oci_free(c);
	c = client("oci://nowhere.invalid/app@sha256:" HEX64, &rc);
	CHECK_EQ(appkg_oci_set_tag(c, "1"), 0);
	CHECK_EQ(appkg_oci_push(c, "no-such.appkg", digest), APPKG_ERR_REFERENCE);
	appkg_oci_free(c);
}

/* Nothing listens on port 1 of the loopback: an environment error (exit 4), at once. */
TEST(no_connection_is_environment)
{
	struct appkg_oci_options o = {.plain_http = 1};
	appkg_oci *c = appkg_oci_new();
	int rc;

	CHECK(c);
	CHECK_EQ(appkg_oci_set_options(c, &o), 0);
	CHECK_EQ(appkg_oci_set_registry(c, "127.0.0.1:1"), 0);
	rc = appkg_oci_check_login(c);
	harness_msg = appkg_oci_error(c);
	CHECK_EQ(rc, APPKG_ERR_TRANSPORT);
	CHECK_EQ(appkg_error_class(rc), 4);
	appkg_oci_free(c);
}

TEST(error_classes)
{
	CHECK_EQ(appkg_error_class(APPKG_ERR_REGISTRY), 1);
	CHECK_EQ(appkg_error_class(APPKG_ERR_REGISTRY_NOT_FOUND), 1);
	CHECK_EQ(appkg_error_class(APPKG_ERR_REGISTRY_AUTH), 3);
	CHECK_EQ(appkg_error_class(APPKG_ERR_TRANSPORT), 4);
	CHECK_EQ(appkg_error_class(APPKG_ERR_TLS), 4);
	CHECK(strcmp(appkg_error_name(APPKG_ERR_REGISTRY), "unknown error"));
	CHECK(strcmp(appkg_error_name(APPKG_ERR_TLS), "unknown error"));
}

int main(void)
{
	RUN(reference_with_port_and_tag);
	RUN(reference_by_digest);
	RUN(reference_without_tag);
	RUN(references_refused);
	RUN(tag_lengths);
	RUN(set_tag_checks_the_text);
	RUN(registry_host_alone);
	RUN(refused_before_any_request);
	RUN(no_connection_is_environment);
	RUN(error_classes);
	return harness_total_failed != 0;
}
