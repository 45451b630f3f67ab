#!/bin/sh
# Manifest inputs and format 2.0 (spec §12, §20.3): pack finds the placeholders and lists the
# inputs; 1.0 without placeholders, 2.0 with; a placeholder outside a string, a secret
# reference secrets.json lacks and a bound tree are refused at pack; a 2.0 package whose
# manifest disagrees with its resources is rejected; merge and selection of inputs.
. "$(dirname "$0")/lib.sh"

echo pw-inputs >"$W/pw"

# app DIR: two resources using inputs (one declared with a default, one not), one plain.
app() {
	mkdir -p "$1/resources/datasources" "$1/resources/pages"
	cat >"$1/manifest.json" <<'JSON'
{"name": "inputs-app", "inputs": {
  "db_port": {"description": "Port of the database", "default": 5432},
  "db_host": {"description": "Host of the database"},
  "unused_one": {"description": "Nothing uses it"}}}
JSON
	echo '{"host": "[[appkg:input:db_host]]", "port": "[[appkg:input:db_port]]"}' \
		>"$1/resources/datasources/crm.json"
	echo '{"title": "Home on [[appkg:input:db_host]] for [[appkg:input:tenant]]"}' \
		>"$1/resources/pages/home.json"
	echo '{"title": "About"}' >"$1/resources/pages/about.json"
}

# manifest_of PKG: its manifest.json into $W/m.json.
manifest_of() {
	rm -rf "$W/m.d" && "$B/appkg-unpack" "$1" -C "$W/m.d" && cp "$W/m.d/manifest.json" "$W/m.json"
}

version_of() { jq -r .format_version "$W/m.json"; }

test_pack_lists_inputs() {
	app "$W/a"
	run "$B/appkg-pack" "$W/a" -o "$W/a.appkg" && expect_rc 0 || return 1
	manifest_of "$W/a.appkg" || return 1
	[ "$(version_of)" = 2.0 ] || fail "format_version $(version_of)" || return 1
	jq -e '.inputs == {
	  "db_host": {"description": "Host of the database", "required": true,
	    "used_by": ["resources/datasources/crm.json", "resources/pages/home.json"]},
	  "db_port": {"description": "Port of the database", "default": 5432, "required": false,
	    "used_by": ["resources/datasources/crm.json"]},
	  "tenant": {"required": true, "used_by": ["resources/pages/home.json"]},
	  "unused_one": {"description": "Nothing uses it", "required": false, "used_by": []}}' \
		"$W/m.json" >/dev/null || fail "inputs: $(jq -c .inputs "$W/m.json")"
}

# Re-packing the unpacked 2.0 tree gives the same bytes: pack's own fields are recomputed.
test_repack_same_bytes() {
	app "$W/r"
	"$B/appkg-pack" "$W/r" -o "$W/r1.appkg" && manifest_of "$W/r1.appkg" || return 1
	run "$B/appkg-pack" "$W/m.d" -o "$W/r2.appkg" && expect_rc 0 || return 1
	cmp "$W/r1.appkg" "$W/r2.appkg" || fail "re-pack differs"
}

test_version_1_0_without_placeholders() {
	mkdir -p "$W/p/resources/pages"
	echo '{"name": "plain"}' >"$W/p/manifest.json"
	echo '{"title": "{{ secrets.X }} ${env} #{v} [appkg:input:x] [[APPKG:input:x]]"}' \
		>"$W/p/resources/pages/home.json"
	run "$B/appkg-pack" "$W/p" -o "$W/p.appkg" && expect_rc 0 || return 1
	manifest_of "$W/p.appkg" && [ "$(version_of)" = 1.0 ] || fail "not 1.0: $(version_of)" || return 1
	jq -e 'has("inputs") | not' "$W/m.json" >/dev/null || fail "inputs in a 1.0 manifest"
}

test_version_2_0_with_literal_only() {
	mkdir -p "$W/l/resources/pages"
	echo '{"name": "literal"}' >"$W/l/manifest.json"
	echo '{"title": "[[appkg:literal]]input:x]] is text"}' >"$W/l/resources/pages/home.json"
	run "$B/appkg-pack" "$W/l" -o "$W/l.appkg" && expect_rc 0 || return 1
	manifest_of "$W/l.appkg" && [ "$(version_of)" = 2.0 ] || fail "not 2.0: $(version_of)" ||
		return 1
	jq -e '.inputs == {}' "$W/m.json" >/dev/null || fail "inputs: $(jq -c .inputs "$W/m.json")"
}

test_version_2_0_with_declared_input_only() {
	mkdir -p "$W/d/resources/pages"
	echo '{"name": "declared", "inputs": {"x": {}}}' >"$W/d/manifest.json"
	echo '{"title": "plain"}' >"$W/d/resources/pages/home.json"
	run "$B/appkg-pack" "$W/d" -o "$W/d.appkg" && expect_rc 0 || return 1
	manifest_of "$W/d.appkg" && [ "$(version_of)" = 2.0 ] || fail "not 2.0: $(version_of)"
}

test_placeholder_outside_string_refused() {
	mkdir -p "$W/o/resources/pages"
	echo '{"name": "outside"}' >"$W/o/manifest.json"
	printf '{\n  "title": "ok",\n  "port": [[appkg:input:port]]\n}\n' >"$W/o/resources/pages/bad.json"
	run "$B/appkg-pack" "$W/o" -o "$W/o.appkg"
	expect_rc 1 || return 1
	[ ! -e "$W/o.appkg" ] || fail "output written" || return 1
	grep -q "resources/pages/bad.json: line 3 column" "$W/stderr" || fail "no file and line" ||
		return 1
	grep -q "outside a JSON string" "$W/stderr" && grep -q "20.1" "$W/stderr" ||
		fail "the rule is not named"
}

test_bad_placeholder_every_file_reported() {
	mkdir -p "$W/b2/resources/pages"
	echo '{"name": "bad"}' >"$W/b2/manifest.json"
	echo '{"a": "[[appkg:inptu:x]]"}' >"$W/b2/resources/pages/one.json"
	echo '{"b": "[[appkg:input:ok]]"}' >"$W/b2/resources/pages/two.json"
	echo '{"c": "x [[appkg:secret:]] y"}' >"$W/b2/resources/pages/three.json"
	run "$B/appkg-pack" "$W/b2" -o "$W/b2.appkg"
	expect_rc 1 || return 1
	grep -q "resources/pages/one.json: line 1" "$W/stderr" &&
		grep -q "resources/pages/three.json: line 1" "$W/stderr" || fail "not both reported" ||
		return 1
	! grep -q two.json "$W/stderr" || fail "a good file reported"
}

test_missing_secret_reference_refused() {
	mkdir -p "$W/s/resources/datasources"
	echo '{"name": "secrets"}' >"$W/s/manifest.json"
	printf '{\n  "user": "[[appkg:secret:DB_USER]]",\n  "password": "[[appkg:secret:DB_PASS]]",\n  "token": "x[[appkg:secret:TOKEN]]"\n}\n' \
		>"$W/s/resources/datasources/crm.json"
	echo '{"DB_USER": "user-value-123"}' >"$W/s/secrets.json"
	run "$B/appkg-pack" --kdf interactive --password-file "$W/pw" "$W/s" -o "$W/s.appkg"
	expect_rc 1 || return 1
	[ ! -e "$W/s.appkg" ] || fail "output written" || return 1
	grep -q "resources/datasources/crm.json: line 3 column [0-9]*: secret DB_PASS is not in secrets.json" \
		"$W/stderr" || fail "DB_PASS not reported with its line" || return 1
	grep -q "line 4 column [0-9]*: secret TOKEN is not in secrets.json" "$W/stderr" ||
		fail "TOKEN not reported" || return 1
	[ "$(wc -l <"$W/stderr")" -eq 2 ] || fail "not one line each" || return 1
	! grep -q DB_USER "$W/stderr" || fail "a present secret reported" || return 1
	echo '{"DB_USER": "user-value-123", "DB_PASS": "pass-value-456", "TOKEN": "token-value-789"}' \
		>"$W/s/secrets.json"
	run "$B/appkg-pack" --kdf interactive --password-file "$W/pw" "$W/s" -o "$W/s.appkg"
	expect_rc 0 || fail "refused with every secret present"
}

test_bound_for_refused() {
	app "$W/bf"
	echo '{"name": "bound", "bound_for": "prod-eu"}' >"$W/bf/manifest.json"
	run "$B/appkg-pack" "$W/bf" -o "$W/bf.appkg"
	expect_rc 1 || return 1
	[ ! -e "$W/bf.appkg" ] || fail "output written" || return 1
	grep -q "bound_for: a bound tree is for import, not a package source" "$W/stderr" ||
		fail "not named"
}

test_bad_input_declaration_refused() {
	app "$W/bd"
	echo '{"name": "x", "inputs": {"9lives": {}, "ok": {"description": 3}, "fine": []}}' \
		>"$W/bd/manifest.json"
	run "$B/appkg-pack" "$W/bd" -o "$W/bd.appkg"
	expect_rc 1 || return 1
	grep -q "inputs: 9lives: not an input name" "$W/stderr" &&
		grep -q "inputs: ok: description must be a string" "$W/stderr" &&
		grep -q "inputs: fine: must be an object" "$W/stderr" || fail "not every problem"
}

# A 2.0 package whose manifest omits an input a resource uses: verify rejects it.
test_verify_rejects_unlisted_input() {
	run "$B/appkg-verify" "$TOP/tests/vectors/invalid/input_not_listed/package.appkg"
	expect_rc 1 || return 1
	grep -q "input 'db_host' is used, but manifest.json inputs does not list it" "$W/stderr" ||
		fail "not named"
}

# merge: declarations from the inputs that give them; two that differ conflict, --prefer
# settles; a selection keeps only the inputs its resources use.
test_merge_inputs() {
	app "$W/ma"
	mkdir -p "$W/mb/resources/queries"
	echo '{"name": "b", "inputs": {"region": {"default": "eu"}, "db_port": {"default": 6543}}}' \
		>"$W/mb/manifest.json"
	echo '{"sql": "select [[appkg:input:region]]", "p": "[[appkg:input:db_port]]"}' \
		>"$W/mb/resources/queries/q.json"
	"$B/appkg-pack" "$W/ma" -o "$W/ma.appkg" && "$B/appkg-pack" "$W/mb" -o "$W/mb.appkg" || return 1
	run "$B/appkg-merge" "$W/ma.appkg" "$W/mb.appkg" -o "$W/mc.appkg"
	expect_rc 1 || return 1
	[ ! -e "$W/mc.appkg" ] || fail "written despite the conflict" || return 1
	grep -q "'input db_port': declaration differs" "$W/stderr" || fail "conflict not named" ||
		return 1
	[ "$(wc -l <"$W/stderr")" -eq 2 ] || fail "more than the conflict and the summary" || return 1
	run "$B/appkg-merge" --prefer last "$W/ma.appkg" "$W/mb.appkg" -o "$W/mc.appkg"
	expect_rc 0 || return 1
	manifest_of "$W/mc.appkg" || return 1
	jq -e '.inputs.db_port == {"default": 6543, "required": false,
	    "used_by": ["resources/datasources/crm.json", "resources/queries/q.json"]} and
	  .inputs.region.default == "eu" and .inputs.db_host.description == "Host of the database" and
	  .inputs.tenant.required and (.inputs | has("unused_one"))' "$W/m.json" >/dev/null ||
		fail "merged inputs: $(jq -c .inputs "$W/m.json")" || return 1
	run "$B/appkg-merge" --only pages/home "$W/ma.appkg" -o "$W/sel.appkg"
	expect_rc 0 || return 1
	manifest_of "$W/sel.appkg" || return 1
	jq -e '(.inputs | keys) == ["db_host", "tenant"] and .format_version == "2.0"' "$W/m.json" \
		>/dev/null || fail "selection: $(jq -c '{format_version, inputs}' "$W/m.json")" || return 1
	run "$B/appkg-merge" --only pages/about "$W/ma.appkg" -o "$W/sel.appkg"
	expect_rc 0 || return 1
	manifest_of "$W/sel.appkg" || return 1
	jq -e 'has("inputs") == false and .format_version == "1.0"' "$W/m.json" >/dev/null ||
		fail "selection without placeholders: $(jq -c '{format_version, inputs}' "$W/m.json")"
}

t pack_lists_inputs test_pack_lists_inputs
t repack_2_0_same_bytes test_repack_same_bytes
t version_1_0_without_placeholders test_version_1_0_without_placeholders
t version_2_0_with_literal_only test_version_2_0_with_literal_only
t version_2_0_with_declared_input_only test_version_2_0_with_declared_input_only
t placeholder_outside_string_refused test_placeholder_outside_string_refused
t bad_placeholder_every_file_reported test_bad_placeholder_every_file_reported
t missing_secret_reference_refused test_missing_secret_reference_refused
t bound_for_refused test_bound_for_refused
t bad_input_declaration_refused test_bad_input_declaration_refused
t verify_rejects_unlisted_input test_verify_rejects_unlisted_input
t merge_inputs test_merge_inputs
