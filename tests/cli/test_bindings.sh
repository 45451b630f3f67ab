#!/bin/sh
# SPDX-License-Identifier: MIT
# A package checked and bound for one target environment (issue 12): appkg-verify --bindings
# names every required input ENV.json lacks (one line each, exit 1) and warns of keys nothing
# uses; appkg-unpack --bindings writes the import-ready tree (values JSON-escaped in place, the
# files still valid JSON, "bound_for" in the manifest, secret references left unless
# --bind-secrets, then 0600 files and no secret value printed); an unbound input or secret
# writes nothing; appkg-pack refuses a bound tree.
. "$(dirname "$0")/lib.sh"
umask 022

# Three required inputs (db_host, org_name, motd), one with a default (port), two secrets
# referenced, a literal, and an app template of its own that is no placeholder.
mkdir -p "$W/src/resources/datasources" "$W/src/resources/pages" "$W/src/resources/apis" \
	"$W/src/resources/docs" "$W/src/resources/queries"
cat >"$W/src/manifest.json" <<'JSON'
{"name": "bind-me", "version": "1.0.0", "inputs": {
 "db_host": {"description": "database host of the target"},
 "port": {"description": "database port", "default": 5432}}}
JSON
cat >"$W/src/resources/datasources/crm.json" <<'JSON'
{"host": "[[appkg:input:db_host]]", "port": "[[appkg:input:port]]",
 "url": "postgres://[[appkg:input:db_host]]:[[appkg:input:port]]/crm",
 "password": "[[appkg:secret:DB_PASSWORD]]", "kept": [1, 2.50, "x"]}
JSON
cat >"$W/src/resources/pages/home.json" <<'JSON'
{"title": "Welcome to [[appkg:input:org_name]]!", "banner": "[[appkg:input:motd]]",
 "search": "{{ inputs.term }}"}
JSON
echo '{"key": "[[appkg:secret:API_KEY]]", "header": "Bearer [[appkg:secret:API_KEY]]"}' \
	>"$W/src/resources/apis/billing.json"
echo '{"text": "write [[appkg:literal]]input:NAME]] to use an input"}' >"$W/src/resources/docs/help.json"
echo '{"sql": "select 1"}' >"$W/src/resources/queries/plain.json"
# Values JSON must escape: a quote, a backslash, non-ASCII.
cat >"$W/src/secrets.json" <<'JSON'
{"DB_PASSWORD": "db-\"pass\"\\word-Grüße", "API_KEY": "api-key-7f3a9c1e55"}
JSON
SECRETS=$W/src/secrets.json
printf 'bindings-test-pw\n' >"$W/pw"

# Targets: two inputs missing; complete plus a key nothing uses; complete.
echo '{"environment": "staging", "inputs": {"org_name": "Acme"}}' >"$W/missing.json"
cat >"$W/full.json" <<'JSON'
{"environment": "prod-eu", "inputs": {"db_host": "crm-db.prod.example",
 "org_name": "Ünïcode \"Quoted\" \\ Org\nline 2", "motd": {"text": "hi", "level": 2}}}
JSON
jq '.inputs.tenant = "t-42"' "$W/full.json" >"$W/unused.json"
ORG=$(jq -r .inputs.org_name "$W/full.json")

"$B/appkg-pack" --kdf interactive --password-file "$W/pw" "$W/src" -o "$W/app.appkg" ||
	echo "FAIL: bindings fixture (pack)"

# Nothing of DEST, and no temporary directory beside it.
nothing_at() {
	[ ! -e "$1" ] || fail "$1 written" || return 1
	! ls -a "$(dirname "$1")" | grep -q "unpack-" || fail "temporary directory left"
}

verify_every_missing_input() {
	run "$B/appkg-verify" --bindings "$W/missing.json" "$W/app.appkg"
	expect_rc 1 || return 1
	cat >"$W/want" <<EOF
appkg-verify: '$W/missing.json': input 'db_host' is required (used by resources/datasources/crm.json)
appkg-verify: '$W/missing.json': input 'motd' is required (used by resources/pages/home.json)
EOF
	diff "$W/want" "$W/stderr" || fail "not one line per missing input"
}

# Several packages: each line names its package.
verify_several_packages() {
	cp "$W/app.appkg" "$W/app2.appkg"
	run "$B/appkg-verify" --bindings "$W/missing.json" "$W/app.appkg" "$W/app2.appkg"
	expect_rc 1 || return 1
	[ "$(wc -l <"$W/stderr")" -eq 4 ] || fail "not four lines" || return 1
	[ "$(grep -c "input 'motd' is required (used by resources/pages/home.json) in '$W/app2.appkg'$" "$W/stderr")" -eq 1 ] ||
		fail "the package is not named"
}

verify_missing_json() {
	run "$B/appkg-verify" --json --bindings "$W/missing.json" "$W/app.appkg"
	expect_rc 1 || return 1
	jq -e --arg f "$W/missing.json" '.ok == false and .exit == 1 and .bindings == {"file": $f,
		"unbound": [{"name": "db_host", "used_by": ["resources/datasources/crm.json"]},
			    {"name": "motd", "used_by": ["resources/pages/home.json"]}], "unused": []}
		and (.problems | length) == 0' "$W/stdout" >/dev/null || fail "report: $(cat "$W/stdout")"
}

verify_unused_key_warned() {
	run "$B/appkg-verify" --bindings "$W/unused.json" "$W/app.appkg"
	expect_rc 0 || return 1
	[ "$(cat "$W/stderr")" = "appkg-verify: '$W/unused.json': warning: input 'tenant' is not used by the package" ] ||
		fail "no one warning line"
}

verify_complete_passes() {
	run "$B/appkg-verify" --bindings "$W/full.json" "$W/app.appkg"
	expect_rc 0 || return 1
	[ ! -s "$W/stderr" ] && [ ! -s "$W/stdout" ] || fail "not quiet" || return 1
	run "$B/appkg-verify" --json --bindings "$W/unused.json" "$W/app.appkg"
	expect_rc 0 || return 1
	jq -e --arg f "$W/unused.json" '.ok and .bindings == {"file": $f, "unbound": [],
		"unused": ["tenant"]}' "$W/stdout" >/dev/null || fail "report: $(cat "$W/stdout")"
}

# A bad ENV.json is one line naming it: 1 when it is not valid, 4 when it cannot be read.
verify_bad_bindings_file() {
	echo '{"environment": "x", "inputs": {}, "input": {"db_host": "h"}}' >"$W/typo.json"
	run "$B/appkg-verify" --bindings "$W/typo.json" "$W/app.appkg"
	expect_rc 1 && expect_one_line appkg-verify && expect_stderr "'$W/typo.json'" || return 1
	printf '\n  [1]\n' >"$W/array.json" # the position of the value, not of the end of the text
	run "$B/appkg-verify" --bindings "$W/array.json" "$W/app.appkg"
	expect_rc 1 && expect_stderr "'$W/array.json': line 2 column 3: not an object" || return 1
	run "$B/appkg-verify" --bindings "$W/nosuch.json" "$W/app.appkg"
	expect_rc 4 && expect_one_line appkg-verify && expect_stderr "'$W/nosuch.json'"
}

unpack_bound_tree() {
	run "$B/appkg-unpack" --bindings "$W/full.json" "$W/app.appkg" -C "$W/bound"
	expect_rc 0 || return 1
	for f in "$W"/bound/resources/*/*.json; do
		jq . "$f" >/dev/null || fail "$f: not valid JSON" || return 1
	done
	! grep -r -n '\[\[appkg:input' "$W/bound/resources" | grep -v docs/help.json ||
		fail "an input placeholder left" || return 1
	jq -e '.host == "crm-db.prod.example" and .port == 5432 and
		.url == "postgres://crm-db.prod.example:5432/crm" and .kept == [1, 2.50, "x"]' \
		"$W/bound/resources/datasources/crm.json" >/dev/null || fail "datasource values" || return 1
	jq -e '.text == "write [[appkg:input:NAME]] to use an input"' \
		"$W/bound/resources/docs/help.json" >/dev/null || fail "literal" || return 1
	cmp "$W/src/resources/queries/plain.json" "$W/bound/resources/queries/plain.json" ||
		fail "a resource without placeholders changed" || return 1
	jq -e '.bound_for == "prod-eu" and .name == "bind-me"' "$W/bound/manifest.json" >/dev/null ||
		fail "bound_for: $(jq -c .bound_for "$W/bound/manifest.json")"
}

# Quotes, a backslash, a newline and non-ASCII inside a string; an object for a whole string.
unpack_values_escaped() {
	home=$W/bound/resources/pages/home.json
	jq -e --arg org "$ORG" '.title == "Welcome to " + $org + "!" and
		.banner == {"text": "hi", "level": 2} and .search == "{{ inputs.term }}"' "$home" \
		>/dev/null || fail "home: $(cat "$home")" || return 1
	grep -q 'Ünïcode \\"Quoted\\" \\\\ Org\\nline 2' "$home" || fail "not escaped as JSON: $(cat "$home")"
}

unpack_secret_references_stay() {
	jq -e '.password == "[[appkg:secret:DB_PASSWORD]]"' "$W/bound/resources/datasources/crm.json" \
		>/dev/null || fail "secret reference gone" || return 1
	jq -e '.key == "[[appkg:secret:API_KEY]]"' "$W/bound/resources/apis/billing.json" \
		>/dev/null || fail "secret reference gone" || return 1
	run "$B/appkg-unpack" --bindings "$W/full.json" "$W/app.appkg" -C "$W/bound2"
	[ "$(cat "$W/stderr")" = "appkg-unpack: '$W/bound2': 3 secret references left as placeholders (--bind-secrets replaces them)" ] ||
		fail "no notice line"
}

unpack_bind_secrets() {
	run "$B/appkg-unpack" --bindings "$W/full.json" --bind-secrets --password-file "$W/pw" \
		"$W/app.appkg" -C "$W/sec"
	expect_rc 0 || return 1
	[ ! -s "$W/stderr" ] && [ ! -s "$W/stdout" ] || fail "not quiet" || return 1
	jq -e --slurpfile s "$SECRETS" '.password == $s[0].DB_PASSWORD' \
		"$W/sec/resources/datasources/crm.json" >/dev/null || fail "DB_PASSWORD not bound" || return 1
	jq -e --slurpfile s "$SECRETS" '.key == $s[0].API_KEY and .header == "Bearer " + $s[0].API_KEY' \
		"$W/sec/resources/apis/billing.json" >/dev/null || fail "API_KEY not bound" || return 1
	for f in datasources/crm apis/billing; do
		[ "$(stat -c %a "$W/sec/resources/$f.json")" = 600 ] || fail "$f.json not 0600" || return 1
	done
	[ "$(stat -c %a "$W/sec/resources/pages/home.json")" = 644 ] || fail "home.json mode" || return 1
	expect_no_secret_values "$SECRETS" "$W/stdout" "$W/stderr" || return 1
	run "$B/appkg-verify" --json --bindings "$W/full.json" --password-file "$W/pw" "$W/app.appkg"
	expect_rc 0 && expect_no_secret_values "$SECRETS" "$W/stdout" "$W/stderr"
}

unpack_unbound_writes_nothing() {
	run "$B/appkg-unpack" --bindings "$W/missing.json" --password-file "$W/pw" "$W/app.appkg" -C "$W/nb"
	expect_rc 1 || return 1
	cat >"$W/want" <<EOF
appkg-unpack: '$W/missing.json': input 'db_host' is required (used by resources/datasources/crm.json)
appkg-unpack: '$W/missing.json': input 'motd' is required (used by resources/pages/home.json)
EOF
	diff "$W/want" "$W/stderr" || fail "not one line per unbound input" || return 1
	nothing_at "$W/nb"
}

# Only the inputs of what is written count: pages/home alone needs org_name and motd.
unpack_unbound_of_selection() {
	run "$B/appkg-unpack" --bindings "$W/missing.json" --only pages/home "$W/app.appkg" -C "$W/ns"
	expect_rc 1 || return 1
	[ "$(cat "$W/stderr")" = "appkg-unpack: '$W/missing.json': input 'motd' is required (used by resources/pages/home.json)" ] ||
		fail "selection: not just motd" || return 1
	nothing_at "$W/ns" || return 1
	run "$B/appkg-unpack" --bindings "$W/missing.json" --only queries/plain "$W/app.appkg" -C "$W/ns"
	expect_rc 0 || return 1
	jq -e '.bound_for == "staging" and (.resources | length) == 1' "$W/ns/manifest.json" >/dev/null ||
		fail "selection manifest"
}

# A reference to a secret the package lacks (unchecked at pack: no password, no secrets).
unpack_missing_secret_writes_nothing() {
	mkdir -p "$W/nosec/resources/apis"
	echo '{"name": "no-secrets"}' >"$W/nosec/manifest.json"
	echo '{"key": "[[appkg:secret:NOPE]]"}' >"$W/nosec/resources/apis/x.json"
	"$B/appkg-pack" "$W/nosec" -o "$W/nosec.appkg" || fail "pack" || return 1
	run "$B/appkg-unpack" --bindings "$W/full.json" --bind-secrets --password-file "$W/pw" \
		"$W/nosec.appkg" -C "$W/ms"
	expect_rc 1 && expect_one_line appkg-unpack && expect_stderr "secret 'NOPE' is not in secrets.json" ||
		return 1
	nothing_at "$W/ms"
}

unpack_bind_secrets_needs_password() {
	run "$B/appkg-unpack" --bindings "$W/full.json" --bind-secrets "$W/app.appkg" -C "$W/np"
	expect_rc 2 && expect_one_line appkg-unpack && expect_stderr "needs the password" || return 1
	nothing_at "$W/np" || return 1
	run "$B/appkg-unpack" --bind-secrets --password-file "$W/pw" "$W/app.appkg" -C "$W/np"
	expect_rc 2 && expect_one_line appkg-unpack && expect_stderr "needs --bindings" || return 1
	nothing_at "$W/np"
}

unpack_bad_bindings_file() {
	run "$B/appkg-unpack" --bindings "$W/typo.json" "$W/app.appkg" -C "$W/bad"
	expect_rc 1 && expect_one_line appkg-unpack && expect_stderr "'$W/typo.json'" || return 1
	run "$B/appkg-unpack" --bindings "$W/nosuch.json" "$W/app.appkg" -C "$W/bad"
	expect_rc 4 && expect_one_line appkg-unpack && expect_stderr "'$W/nosuch.json'" || return 1
	nothing_at "$W/bad"
}

# The bound tree is for import: pack refuses it (and says to pack the unbound directory).
pack_refuses_bound_tree() {
	run "$B/appkg-pack" --password-file "$W/pw" "$W/sec" -o "$W/again.appkg"
	expect_rc 1 && expect_stderr "bound_for" || return 1
	[ ! -e "$W/again.appkg" ] || fail "written"
}

t bindings_verify_every_missing_input_one_line_each verify_every_missing_input
t bindings_verify_several_packages_named verify_several_packages
t bindings_verify_json_unbound verify_missing_json
t bindings_verify_unused_key_warned verify_unused_key_warned
t bindings_verify_complete_passes verify_complete_passes
t bindings_verify_bad_bindings_file verify_bad_bindings_file
t bindings_unpack_bound_tree unpack_bound_tree
t bindings_unpack_values_json_escaped unpack_values_escaped
t bindings_unpack_secret_references_stay unpack_secret_references_stay
t bindings_unpack_bind_secrets_0600_no_value_printed unpack_bind_secrets
t bindings_unpack_unbound_writes_nothing unpack_unbound_writes_nothing
t bindings_unpack_unbound_of_selection unpack_unbound_of_selection
t bindings_unpack_missing_secret_writes_nothing unpack_missing_secret_writes_nothing
t bindings_unpack_bind_secrets_needs_password unpack_bind_secrets_needs_password
t bindings_unpack_bad_bindings_file unpack_bad_bindings_file
t bindings_pack_refuses_bound_tree pack_refuses_bound_tree
