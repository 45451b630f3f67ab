#!/bin/sh
# appkg merge: a conflict is refused with every conflicting resource named and nothing
# written; --prefer last gives a package that verifies and equals the one built by hand;
# secrets of both inputs end up under the new password; no secret value in any output.
. "$(dirname "$0")/lib.sh"

# mkdir_app DIR NAME: a directory with a manifest and no resources yet.
mkdir_app() {
	mkdir -p "$1/resources/pages" "$1/resources/queries"
	printf '{"name": "%s", "version": "1"}\n' "$2" >"$1/manifest.json"
}

echo pw-a >"$W/pa"
echo pw-b >"$W/pb"
echo pw-new >"$W/pn"
mkdir_app "$W/a" crm
echo '{"title": "home A"}' >"$W/a/resources/pages/home.json"
echo '{"sql": "select 1"}' >"$W/a/resources/queries/q1.json"
echo '{"title": "same"}' >"$W/a/resources/pages/about.json"
echo '{"DB_PASSWORD": "s3cr3t-AAA-value", "SHARED": "same-shared-value"}' >"$W/a/secrets.json"
mkdir_app "$W/b" crm-b
echo '{"title": "home B"}' >"$W/b/resources/pages/home.json"
echo '{"sql": "select 2"}' >"$W/b/resources/queries/q1.json"
echo '{"title": "same"}' >"$W/b/resources/pages/about.json"
echo '{"title": "only in B"}' >"$W/b/resources/pages/extra.json"
echo '{"API_KEY": "s3cr3t-BBB-value", "SHARED": "same-shared-value"}' >"$W/b/secrets.json"
"$B/appkg-pack" --kdf interactive --password-file "$W/pa" "$W/a" -o "$W/a.appkg" &&
	"$B/appkg-pack" --kdf interactive --password-file "$W/pb" "$W/b" -o "$W/b.appkg" ||
	echo "FAIL: setup"

test_merge_conflict_refused() {
	run timeout 20 "$B/appkg-merge" --password-file "$W/pa" --password-file "$W/pb" \
		--new-password-file "$W/pn" --kdf interactive "$W/a.appkg" "$W/b.appkg" -o "$W/c.appkg"
	expect_rc 1 || return 1
	[ ! -e "$W/c.appkg" ] || fail "output written" || return 1
	grep -q "resources/pages/home.json" "$W/stderr" || fail "home not named" || return 1
	grep -q "resources/queries/q1.json" "$W/stderr" || fail "q1 not named" || return 1
	! grep -q "about" "$W/stderr" || fail "an equal resource named" || return 1
	[ "$(grep -c differs "$W/stderr")" -eq 2 ] || fail "not one line per conflict"
}


test_merge_conflict_json_names_each() {
	mkdir_app "$W/x" x
	echo '{"v": 1}' >"$W/x/resources/pages/p.json"
	echo '{"v": 1}' >"$W/x/resources/queries/k.json"
	mkdir_app "$W/y" y
	echo '{"v": 2}' >"$W/y/resources/pages/p.json"
	printf '{"name": "y", "resources": [{"path": "resources/queries/k.json", "mode": "update"}]}\n' \
		>"$W/y/manifest.json"
	echo '{"v": 1}' >"$W/y/resources/queries/k.json"
	"$B/appkg-pack" "$W/x" -o "$W/x.appkg" && "$B/appkg-pack" "$W/y" -o "$W/y.appkg" || return 1
	run "$B/appkg-merge" --json "$W/x.appkg" "$W/y.appkg" -o "$W/xy.appkg"
	expect_rc 1 || return 1
	[ ! -e "$W/xy.appkg" ] || fail "output written" || return 1
	jq -e '.ok == false and .written == false and (.conflicts | length) == 2' "$W/stdout" >/dev/null &&
		jq -e '[.conflicts[] | .path + ":" + .what] | sort ==
			["resources/pages/p.json:content", "resources/queries/k.json:attributes"]' \
			"$W/stdout" >/dev/null || fail "json: $(cat "$W/stdout")"
}

test_merge_prefer_last_matches_by_hand() {
	run timeout 30 "$B/appkg-merge" --prefer last --password-file "$W/pa" --password-file "$W/pb" \
		--new-password-file "$W/pn" --kdf interactive "$W/a.appkg" "$W/b.appkg" -o "$W/m.appkg"
	expect_rc 0 || return 1
	[ ! -s "$W/stderr" ] || fail "not quiet" || return 1
	"$B/appkg-verify" --password-file "$W/pn" "$W/m.appkg" || fail "does not verify" || return 1
	# by hand: B's resources win, A's name and version, no secrets in the comparison
	mkdir -p "$W/want/resources/pages" "$W/want/resources/queries"
	cp "$W/b/resources/pages/"*.json "$W/want/resources/pages/"
	cp "$W/b/resources/queries/q1.json" "$W/want/resources/queries/"
	"$B/appkg-unpack" "$W/m.appkg" -C "$W/got" || return 1
	diff -r "$W/want/resources" "$W/got/resources" || fail "resources differ" || return 1
	jq -e '.name == "crm" and .version == "1" and (.resources | length) == 4' \
		"$W/got/manifest.json" >/dev/null || fail "manifest fields"
}

test_merge_secrets_under_new_password() {
	[ -f "$W/m.appkg" ] || return 1
	"$B/appkg-unpack" --password-file "$W/pn" "$W/m.appkg" -C "$W/sec" >/dev/null 2>&1 || return 1
	names=$(jq -r 'keys | join(",")' "$W/sec/secrets.json")
	[ "$names" = "API_KEY,DB_PASSWORD,SHARED" ] || fail "secret names: $names" || return 1
	run "$B/appkg-unpack" --password-file "$W/pa" "$W/m.appkg" -C "$W/sec2"
	expect_rc 3
}

test_merge_secret_conflict_listed() {
	mkdir_app "$W/s1" s1
	echo '{"K": "s3cr3t-one-value"}' >"$W/s1/secrets.json"
	mkdir_app "$W/s2" s2
	echo '{"K": "s3cr3t-two-value"}' >"$W/s2/secrets.json"
	"$B/appkg-pack" --kdf interactive --password-file "$W/pa" "$W/s1" -o "$W/s1.appkg" &&
		"$B/appkg-pack" --kdf interactive --password-file "$W/pa" "$W/s2" -o "$W/s2.appkg" ||
		return 1
	run timeout 20 "$B/appkg-merge" --password-file "$W/pa" --new-password-file "$W/pn" \
		"$W/s1.appkg" "$W/s2.appkg" -o "$W/s12.appkg"
	expect_rc 1 || return 1
	grep -q "secret K" "$W/stderr" || fail "secret conflict not named" || return 1
	! grep -q "s3cr3t" "$W/stderr" "$W/stdout" || fail "a value printed"
}

test_merge_signed_input_output_unsigned() {
	"$B/appkg-keygen" -W -p "$W/k.pub" -s "$W/k.sec" >/dev/null 2>&1 || return 1
	"$B/appkg-pack" --sign "$W/k.sec" "$W/x" -o "$W/xs.appkg" || return 1
	run "$B/appkg-merge" "$W/xs.appkg" -o "$W/xs2.appkg" --name renamed
	expect_rc 0 || return 1
	"$B/appkg-unpack" "$W/xs2.appkg" -C "$W/xs2" || return 1
	[ ! -e "$W/xs2/manifest.json.minisig" ] || fail "signature carried over a changed manifest"
}

test_merge_no_secret_value_in_output() {
	for f in "$W"/*.out "$W/stdout" "$W/stderr"; do
		[ -f "$f" ] || continue
		! grep -q "s3cr3t" "$f" || fail "secret value in $f" || return 1
	done
	run timeout 20 "$B/appkg-merge" --json --prefer first --password-file "$W/pa" \
		--password-file "$W/pb" --new-password-file "$W/pn" --kdf interactive \
		"$W/a.appkg" "$W/b.appkg" -o "$W/f.appkg"
	expect_rc 0 || return 1
	! grep -q "s3cr3t" "$W/stdout" "$W/stderr" || fail "secret value printed"
}

test_merge_to_stdout() {
	"$B/appkg-merge" "$W/x.appkg" "$W/y.appkg" --prefer first -o - >"$W/so.appkg" 2>"$W/stderr" ||
		fail "exit $?" || return 1
	"$B/appkg-verify" "$W/so.appkg"
}

t merge_conflict_refused_output_not_written test_merge_conflict_refused
t merge_conflict_json_names_each test_merge_conflict_json_names_each
t merge_prefer_last_matches_by_hand test_merge_prefer_last_matches_by_hand
t merge_secrets_of_both_under_new_password test_merge_secrets_under_new_password
t merge_secret_conflict_listed_without_value test_merge_secret_conflict_listed
t merge_signature_not_carried test_merge_signed_input_output_unsigned
t merge_no_secret_value_in_any_output test_merge_no_secret_value_in_output
t merge_to_stdout test_merge_to_stdout
