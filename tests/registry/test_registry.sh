# SPDX-License-Identifier: MIT
# appkg push, pull, info, tags and login against a real registry (issue 14, "Must show" 1, 2,
# 3, 5 and 6): Debian's docker-registry started by lib.sh on 127.0.0.1 without auth, with
# htpasswd basic auth, and with TLS from a throw-away CA. The registry's access log counts the
# requests and the bytes of each run. The plain-HTTP rule is checked against hostile.py, which
# logs whether a connection opened with a TLS handshake or an HTTP request.
. "$(dirname "$0")/lib.sh"
registry_need "registry tests"

make_pkg pkg 20 1.4.0 64 || { echo "FAIL: registry: cannot make the test package"; exit 1; }
PKG=$W/pkg.appkg
pkg_config "$PKG" "$W/pkg.config"
registry_start plain || { echo "FAIL: registry: docker-registry does not start"; exit 1; }
PLAIN=$REG_HOST PLAIN_LOG=$REG_LOG PLAIN_URL=$REG_URL PLAIN_CURL=$REG_CURL
use_plain() { REG_HOST=$PLAIN REG_LOG=$PLAIN_LOG REG_URL=$PLAIN_URL REG_CURL=$PLAIN_CURL; }
REF=oci://$PLAIN/team/crm-console

# fresh_dir NAME: an empty directory for one pull's output.
fresh_dir() { rm -rf "$W/$1" && mkdir "$W/$1" && echo "$W/$1"; }

# --- 1. round trip ----------------------------------------------------------------------------
push_first() {
	use_plain
	access_mark
	run "$B/appkg" push --plain-http "$PKG" "$REF:1.4.0" && expect_rc 0 || return 1
	curl_manifest "$REG_URL" team/crm-console 1.4.0 "$W/m.json" || fail "curl cannot read the manifest" || return 1
	want="$REF@$(sha256_of "$W/m.json")"
	[ "$(cat "$W/stdout")" = "$want" ] || fail "stdout '$(cat "$W/stdout")', expected '$want'" || return 1
	# The counting of test second_push_sends_no_blob sees uploads: here both blobs went up.
	n=$(access_lines PUT '/blobs/uploads/' | wc -l)
	[ "$n" -eq 2 ] || fail "$n blob uploads completed, expected 2 (config and layer)"
}
t push_prints_manifest_digest push_first

pull_tag() {
	use_plain
	d=$(fresh_dir out-tag)
	run "$B/appkg-pull" --plain-http "$REF:1.4.0" -o "$d/crm.appkg" && expect_rc 0 || return 1
	cmp "$d/crm.appkg" "$PKG" || fail "pulled package differs" || return 1
	[ "$(listing "$d")" = crm.appkg ] || fail "left in the directory: $(listing "$d")"
}
t pull_by_tag_identical pull_tag

pull_digest() {
	use_plain
	d=$(fresh_dir out-digest)
	dg=$(sha256_of "$W/m.json")
	run "$B/appkg" pull --plain-http "$REF@$dg" -o "$d/crm.appkg" && expect_rc 0 || return 1
	cmp "$d/crm.appkg" "$PKG" || fail "pulled package differs" || return 1
	[ "$(listing "$d")" = crm.appkg ] || fail "left in the directory: $(listing "$d")"
}
t pull_by_digest_identical pull_digest

push_again() {
	use_plain
	access_mark
	run "$B/appkg-push" --plain-http "$PKG" "$REF:1.4.0" && expect_rc 0 || return 1
	[ "$(cat "$W/stdout")" = "$REF@$(sha256_of "$W/m.json")" ] || fail "another digest: $(cat "$W/stdout")" || return 1
	up=$(access_lines '(POST|PATCH|PUT)' '/blobs/uploads' | wc -l)
	[ "$up" -eq 0 ] || fail "second push: $up upload requests" || return 1
	heads=$(access_lines HEAD '/blobs/sha256:' | wc -l)
	[ "$heads" -ge 2 ] || fail "second push: $heads HEAD requests of blobs, expected the existence checks"
}
t second_push_sends_no_blob push_again

tags_list() {
	use_plain
	run "$B/appkg" push --plain-http "$PKG" "$REF:stable" && expect_rc 0 || return 1
	run "$B/appkg" tags --plain-http "$REF" && expect_rc 0 || return 1
	[ "$(sort "$W/stdout" | tr '\n' ' ')" = "1.4.0 stable " ] || fail "tags: $(cat "$W/stdout")"
}
t tags_lists_the_repository tags_list

ref_usage() {
	d=$(fresh_dir out-usage)
	run "$B/appkg-pull" --plain-http "$REF" -o "$d/crm.appkg" && expect_rc 2 || return 1
	run "$B/appkg-pull" --plain-http "oci://$PLAIN/Team/UPPER:1.4.0" -o "$d/crm.appkg" && expect_rc 2 || return 1
	run "$B/appkg-pull" --plain-http "$REF@sha256:1234" -o "$d/crm.appkg" && expect_rc 2 || return 1
	[ -z "$(listing "$d")" ] || fail "written: $(listing "$d")"
}
t pull_needs_tag_or_digest_exit2 ref_usage

# The chunked upload as the real registry takes it (hostile.py counts the PATCH requests too).
make_pkg big 20 1.4.0 400 || echo "FAIL: registry: cannot make the large package"
chunked_real() {
	use_plain
	access_mark
	run "$B/appkg-push" --plain-http --chunk-size 65536 "$W/big.appkg" "oci://$PLAIN/team/big:1.4.0" &&
		expect_rc 0 || return 1
	n=$(access_lines PATCH '/blobs/uploads/' | wc -l)
	[ "$n" -ge 3 ] || fail "$n PATCH requests" || return 1
	d=$(fresh_dir out-big)
	run "$B/appkg-pull" --plain-http "oci://$PLAIN/team/big:1.4.0" -o "$d/big.appkg" && expect_rc 0 &&
		cmp "$d/big.appkg" "$W/big.appkg"
}
t push_chunked_round_trip chunked_real

# --- 2. info reads the manifest and the config blob only --------------------------------------
info_remote() {
	use_plain
	access_mark
	run "$B/appkg" info -v --plain-http "$REF:1.4.0" && expect_rc 0 || return 1
	grep -q '^name: *crm-tools$' "$W/stdout" && grep -q '^version: *1\.4\.0$' "$W/stdout" &&
		grep -q '^resources: *21 ' "$W/stdout" || fail "info output: $(cat "$W/stdout")" || return 1
	layer=$(jq -r '.layers[0].digest' "$W/m.json")
	[ "$(access_lines GET "$layer" | wc -l)" -eq 0 ] || fail "info fetched the layer" || return 1
	bound=$(($(wc -c <"$W/pkg.config") + $(wc -c <"$W/m.json") + 16384))
	got=$(access_bytes)
	[ "$got" -le "$bound" ] || fail "the registry sent $got bytes, more than $bound" || return 1
	[ "$(wc -c <"$PKG")" -gt "$bound" ] || fail "test package too small to tell" || return 1
	said=$(sed -n "s/^appkg-info: '.*': \([0-9]*\) bytes transferred$/\1/p" "$W/stderr")
	[ -n "$said" ] && [ "$said" -eq "$got" ] ||
		fail "-v: no 'N bytes transferred' line with the $got bytes the registry logged"
}
t info_reads_no_layer info_remote

# --- 3. auth -----------------------------------------------------------------------------------
registry_start auth --auth crm-ci 'S3cret pass' || { echo "FAIL: registry: docker-registry with htpasswd"; exit 1; }
AUTH=$REG_HOST AUTH_CURL=$REG_CURL
AREF=oci://$AUTH/team/crm-console

auth_push() {
	printf 'S3cret pass\n' >"$W/pw"
	run "$B/appkg-push" --plain-http --username crm-ci --password-stdin "$PKG" "$AREF:1.4.0" <"$W/pw" &&
		expect_rc 0
}
t auth_push_password_stdin auth_push

auth_none() {
	d=$(fresh_dir out-noauth)
	run "$B/appkg-pull" --plain-http "$AREF:1.4.0" -o "$d/crm.appkg" </dev/null && expect_rc 3 || return 1
	expect_one_line appkg-pull && expect_stderr "'$AREF:1.4.0'" && expect_stderr '401' &&
		expect_stderr 'credentials' || return 1
	[ -z "$(listing "$d")" ] || fail "written: $(listing "$d")"
}
t auth_no_credentials_401_exit3 auth_none

auth_wrong() {
	d=$(fresh_dir out-wrongpw)
	run "$B/appkg-pull" --plain-http --username crm-ci --password-stdin "$AREF:1.4.0" -o "$d/crm.appkg" <<EOF
not the password
EOF
	expect_rc 3 && expect_one_line appkg-pull || return 1
	[ -z "$(listing "$d")" ] || fail "written: $(listing "$d")"
}
t auth_wrong_password_exit3 auth_wrong

auth_stdin() {
	d=$(fresh_dir out-stdin)
	run "$B/appkg-pull" --plain-http --username crm-ci --password-stdin "$AREF:1.4.0" -o "$d/crm.appkg" <"$W/pw" &&
		expect_rc 0 && cmp "$d/crm.appkg" "$PKG"
}
t auth_basic_password_stdin auth_stdin

auth_docker_config() {
	mkdir -p "$W/dc" && d=$(fresh_dir out-dc)
	jq -n --arg h "$AUTH" --arg a "$(printf 'crm-ci:S3cret pass' | base64)" \
		'{auths: {($h): {auth: $a}}}' >"$W/dc/config.json"
	DOCKER_CONFIG=$W/dc run "$B/appkg-pull" --plain-http "$AREF:1.4.0" -o "$d/crm.appkg" </dev/null &&
		expect_rc 0 && cmp "$d/crm.appkg" "$PKG"
}
t auth_basic_docker_config auth_docker_config

login() {
	mkdir -p "$W/lg" && d=$(fresh_dir out-login)
	echo '{"psFormat": "table {{.ID}}", "auths": {"other.example": {"auth": "eDp5"}}}' >"$W/lg/config.json"
	DOCKER_CONFIG=$W/lg run "$B/appkg" login --plain-http --username crm-ci --password-stdin "$AUTH" <"$W/pw" &&
		expect_rc 0 || return 1
	[ "$(stat -c %a "$W/lg/config.json")" = 600 ] || fail "config.json mode $(stat -c %a "$W/lg/config.json")" || return 1
	jq -e --arg h "$AUTH" --arg a "$(printf 'crm-ci:S3cret pass' | base64)" \
		'.auths[$h].auth == $a and .auths["other.example"].auth == "eDp5" and .psFormat == "table {{.ID}}"' \
		"$W/lg/config.json" >/dev/null || fail "config.json: $(cat "$W/lg/config.json")" || return 1
	DOCKER_CONFIG=$W/lg run "$B/appkg-pull" --plain-http "$AREF:1.4.0" -o "$d/crm.appkg" </dev/null &&
		expect_rc 0 && cmp "$d/crm.appkg" "$PKG" || return 1
	printf 'wrong\n' >"$W/badpw"
	DOCKER_CONFIG=$W/lg run "$B/appkg" login --plain-http --username crm-ci --password-stdin "$AUTH" <"$W/badpw" &&
		expect_rc 3
}
t login_stores_docker_config login

# credsStore: docker-credential-NAME get, the host on its stdin, JSON on its stdout.
cred_helper() {
	mkdir -p "$W/ch/bin" && d=$(fresh_dir out-helper)
	cat >"$W/ch/bin/docker-credential-appkgtest" <<EOF
#!/bin/sh
[ "\$1" = get ] || exit 1
cat >"$W/ch/asked"
printf '{"ServerURL": "%s", "Username": "crm-ci", "Secret": "S3cret pass"}\\n' "$AUTH"
EOF
	chmod 755 "$W/ch/bin/docker-credential-appkgtest"
	echo '{"credsStore": "appkgtest"}' >"$W/ch/config.json"
	DOCKER_CONFIG=$W/ch PATH=$W/ch/bin:$PATH run "$B/appkg-pull" --plain-http "$AREF:1.4.0" -o "$d/crm.appkg" </dev/null &&
		expect_rc 0 && cmp "$d/crm.appkg" "$PKG" || return 1
	grep -q "$AUTH" "$W/ch/asked" || fail "the helper was asked for '$(cat "$W/ch/asked")'"
}
t auth_credential_helper cred_helper

push_noauth() {
	run "$B/appkg-push" --plain-http "$PKG" "$AREF:other" </dev/null && expect_rc 3 && expect_stderr 401
}
t auth_push_no_credentials_exit3 push_noauth

# TLS: the registry's certificate is signed by a CA the system does not know.
make_ca "$W/ca" || echo "FAIL: registry: cannot make the test CA"
registry_start tls --tls "$W/ca" || { echo "FAIL: registry: docker-registry with TLS"; exit 1; }
TREF=oci://$REG_HOST/team/crm-console TLS_PORT=${REG_HOST#*:}

tls_ca() {
	d=$(fresh_dir out-tls)
	run "$B/appkg-push" --ca-file "$W/ca/ca.pem" "$PKG" "$TREF:1.4.0" && expect_rc 0 || return 1
	run "$B/appkg-pull" --ca-file "$W/ca/ca.pem" "$TREF:1.4.0" -o "$d/crm.appkg" && expect_rc 0 || return 1
	cmp "$d/crm.appkg" "$PKG" || return 1
	run "$B/appkg-pull" --ca-file "$W/ca/ca.pem" "oci://localhost:$TLS_PORT/team/crm-console:1.4.0" -o "$d/local.appkg" &&
		expect_rc 0 && cmp "$d/local.appkg" "$PKG"
}
t tls_with_ca_file tls_ca

tls_unknown_ca() {
	d=$(fresh_dir out-tlsbad)
	run "$B/appkg-pull" "$TREF:1.4.0" -o "$d/crm.appkg" && expect_rc 4 || return 1
	expect_one_line appkg-pull && expect_stderr -- '--ca-file' || return 1
	[ -z "$(listing "$d")" ] || fail "written: $(listing "$d")"
}
t tls_unknown_ca_exit4 tls_unknown_ca

# A name that is not local, pointed at a plain-HTTP server with --resolve: without --plain-http
# the client must speak TLS to it (hostile.py logs a TLS handshake) and send no HTTP request.
hostile_start hplain "$PKG" || echo "FAIL: registry: hostile.py does not start"
NREF=oci://registry.example:${H_HOST#*:}/t/ok:1.4.0
plain_refused() {
	d=$(fresh_dir out-nonlocal)
	hlog_mark "$H_LOG"
	run timeout 30 "$B/appkg-pull" --resolve "registry.example:${H_HOST#*:}:127.0.0.1" "$NREF" -o "$d/crm.appkg" &&
		expect_rc 4 || return 1
	expect_one_line appkg-pull && expect_stderr -- '--plain-http' || return 1
	n=$(hlog_since "$H_LOG" 'select(.method)' | wc -l)
	[ "$n" -eq 0 ] || fail "$n plain HTTP requests reached the server" || return 1
	[ -z "$(listing "$d")" ] || fail "written: $(listing "$d")" || return 1
	# The same with --plain-http goes through: the refusal above was the rule, not the setup.
	hlog_mark "$H_LOG"
	run timeout 30 "$B/appkg-pull" --plain-http --resolve "registry.example:${H_HOST#*:}:127.0.0.1" "$NREF" -o "$d/crm.appkg" &&
		expect_rc 0 && cmp "$d/crm.appkg" "$PKG" || return 1
	[ "$(hlog_since "$H_LOG" "select(.host == \"registry.example:${H_HOST#*:}\")" | wc -l)" -ge 1 ] ||
		fail "the server saw no request for registry.example"
}
t plain_http_nonlocal_refused plain_refused

# Proxies from the environment, as curl honours them: hostile.py answers a plain-HTTP proxy
# request (absolute URI) like any other, and logs the Host it was for.
proxy_env() {
	d=$(fresh_dir out-proxy)
	hlog_mark "$H_LOG"
	http_proxy=http://$H_HOST run timeout 30 "$B/appkg-pull" --plain-http "oci://registry.invalid:5000/t/ok:1.4.0" \
		-o "$d/crm.appkg" && expect_rc 0 && cmp "$d/crm.appkg" "$PKG" || return 1
	[ "$(hlog_since "$H_LOG" 'select(.host == "registry.invalid:5000" and (.path | startswith("http://registry.invalid:5000/v2/")))' |
		wc -l)" -ge 2 ] || fail "no proxy request for registry.invalid"
}
t proxy_from_environment proxy_env

# --- 5. signatures -----------------------------------------------------------------------------
"$B/appkg-keygen" -W -p "$W/sign.pub" -s "$W/sign.key" >/dev/null 2>&1 &&
	"$B/appkg-keygen" -W -p "$W/other.pub" -s "$W/other.key" >/dev/null 2>&1 &&
	"$B/appkg-pack" -q --sign "$W/sign.key" "$W/pkg.src" -o "$W/signed.appkg" 2>/dev/null ||
	echo "FAIL: registry: cannot make the signed package"
SREF=oci://$PLAIN/team/signed:1.4.0

signed_push() {
	run "$B/appkg-push" --plain-http "$W/signed.appkg" "$SREF" && expect_rc 0 || return 1
	use_plain
	curl_manifest "$REG_URL" team/signed 1.4.0 "$W/sm.json" || return 1
	zstd -dcq "$W/signed.appkg" | tar -xOf - manifest.json.minisig >"$W/signed.minisig"
	jq -e --rawfile s "$W/signed.minisig" '.annotations["dev.appkg.signature"] == $s' "$W/sm.json" >/dev/null ||
		fail "dev.appkg.signature is not the text of manifest.json.minisig"
}
t signed_push_signature_annotation signed_push

signed_wrong_key() {
	d=$(fresh_dir out-wrongkey)
	run "$B/appkg-pull" --plain-http --pubkey "$W/other.pub" "$SREF" -o "$d/crm.appkg" && expect_rc 3 || return 1
	expect_stderr "'$SREF'" || return 1
	[ -z "$(listing "$d")" ] || fail "written: $(listing "$d")" || return 1
	run "$B/appkg-pull" --plain-http --pubkey "$W/sign.pub" "$SREF" -o "$d/crm.appkg" && expect_rc 0 &&
		cmp "$d/crm.appkg" "$W/signed.appkg"
}
t signed_wrong_pubkey_exit3 signed_wrong_key

# The pull runs the full verify: packages that fail it, put on the registry by curl (their
# digests are right), are refused with verify's status and nothing is written.
full_verify() {
	use_plain
	for v in tampered_resource traversal_member symlink_member; do
		cp "$TOP/tests/vectors/invalid/$v/package.appkg" "$W/$v.appkg"
		dg=$(curl_push "$REG_URL" "bad/$v" 1.0 "$W/$v.appkg") && [ -n "$dg" ] || fail "$v: curl push failed" || return 1
		d=$(fresh_dir "out-$v")
		run "$B/appkg-pull" --plain-http "oci://$PLAIN/bad/$v:1.0" -o "$d/crm.appkg" && expect_rc 1 || return 1
		[ -z "$(listing "$d")" ] || fail "$v: written: $(listing "$d")" || return 1
	done
	"$B/appkg-verify" --require-signature "$PKG" >/dev/null 2>&1
	want=$?
	[ "$want" -ne 0 ] || fail "appkg-verify --require-signature accepts an unsigned package" || return 1
	d=$(fresh_dir out-require)
	run "$B/appkg-pull" --plain-http --require-signature "$REF:1.4.0" -o "$d/crm.appkg" && expect_rc "$want" || return 1
	[ -z "$(listing "$d")" ] || fail "--require-signature: written: $(listing "$d")"
}
t pull_runs_full_verify full_verify

signed_info() {
	run "$B/appkg" info --plain-http --pubkey "$W/other.pub" "$SREF" && expect_rc 3 || return 1
	run "$B/appkg" info --plain-http --pubkey "$W/sign.pub" "$SREF" && expect_rc 0 || return 1
	grep -q '^signature:.*checked: valid$' "$W/stdout" ||
		fail "info: $(grep '^signature' "$W/stdout")"
}
t info_remote_checks_signature signed_info

# --- 6. the artifact through the registry's plain HTTP API -------------------------------------
curl_reads() {
	use_plain
	curl_manifest "$REG_URL" team/crm-console 1.4.0 "$W/c.json" || return 1
	jq -e '.schemaVersion == 2 and .mediaType == "application/vnd.oci.image.manifest.v1+json"
		and .artifactType == "application/vnd.appkg.package.v1"
		and .config.mediaType == "application/vnd.appkg.manifest.v1+json"
		and (.layers | length) == 1
		and .layers[0].mediaType == "application/vnd.appkg.package.v1.tar+zstd"
		and .layers[0].annotations["org.opencontainers.image.title"] == "pkg.appkg"
		and .annotations["org.opencontainers.image.title"] == "crm-tools"
		and .annotations["org.opencontainers.image.version"] == "1.4.0"' "$W/c.json" >/dev/null ||
		fail "manifest: $(cat "$W/c.json")" || return 1
	jq -cS . "$W/c.json" | tr -d '\n' | cmp -s - "$W/c.json" || fail "manifest not canonical JSON" || return 1
	curl_blob "$REG_URL" team/crm-console "$(jq -r .config.digest "$W/c.json")" "$W/c.config" &&
		cmp "$W/c.config" "$W/pkg.config" || fail "config blob is not the package's manifest.json" || return 1
	[ "$(jq -r .layers[0].size "$W/c.json")" -eq "$(wc -c <"$PKG")" ] || fail "layer size" || return 1
	curl_blob "$REG_URL" team/crm-console "$(jq -r .layers[0].digest "$W/c.json")" "$W/c.layer" &&
		cmp "$W/c.layer" "$PKG"
}
t curl_reads_the_artifact curl_reads

curl_writes() {
	use_plain
	dg=$(curl_push "$REG_URL" team/by-curl 1.4.0 "$PKG") && [ -n "$dg" ] || fail "curl push failed" || return 1
	d=$(fresh_dir out-curl)
	run "$B/appkg-pull" --plain-http "oci://$PLAIN/team/by-curl@$dg" -o "$d/crm.appkg" && expect_rc 0 &&
		cmp "$d/crm.appkg" "$PKG" || return 1
	run "$B/appkg" info --plain-http "oci://$PLAIN/team/by-curl:1.4.0" && expect_rc 0 &&
		grep -q '^name: *crm-tools$' "$W/stdout"
}
t curl_pushed_artifact_pulls curl_writes
