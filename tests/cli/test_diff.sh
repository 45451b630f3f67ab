# appkg-diff (issue 11, must-show 2): equal inputs exit 0; one changed value exits 1 and names
# its pointer; RFC 6901 escaping of keys with '/' and '~'; an element inserted into an array is
# one change; a removed key; package against directory and directory against directory;
# damaged inputs exit 5, never 1; secrets by name with passwords, "changed" without; no secret
# value in any output; --stat and --json.
. "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=1767225600
D=$B/appkg-diff

# $W/a: two resources; $W/b: the same with edits made by each test.
make_dir() { # make_dir DIR
	mkdir -p "$1/resources/pages" "$1/resources/queries"
	printf '%s\n' '{"name":"demo","version":"1.0","resources":[{"path":"resources/pages/home.json","mode":"create","depends_on":["queries/q1"]}]}' >"$1/manifest.json"
	printf '%s\n' '{"title":"Home","blocks":[{"k":1},{"k":2},{"k":3}],"a/b":{"c~d":1},"gone":true}' >"$1/resources/pages/home.json"
	printf '%s\n' '{"sql":"select 1"}' >"$1/resources/queries/q1.json"
}

fresh() {
	rm -rf "$W/a" "$W/b"
	make_dir "$W/a"
	make_dir "$W/b"
}

equal_is_0() {
	fresh
	"$B/appkg-pack" "$W/a" -o "$W/a.appkg" || return 1
	run "$D" "$W/a.appkg" "$W/a.appkg"
	expect_rc 0 && [ ! -s "$W/stdout" ] && [ ! -s "$W/stderr" ] || fail "not quiet" || return 1
	run "$D" "$W/a" "$W/b"
	expect_rc 0 && [ ! -s "$W/stdout" ] || fail "directories differ"
}

one_value_is_1_with_pointer() {
	fresh
	sed -i 's/"Home"/"Start"/' "$W/b/resources/pages/home.json"
	run "$D" "$W/a" "$W/b"
	expect_rc 1 || return 1
	grep -qx 'changed pages/home' "$W/stdout" &&
		grep -qx '    /title: "Home" -> "Start"' "$W/stdout" &&
		[ "$(wc -l <"$W/stdout")" -eq 2 ] || fail "$(cat "$W/stdout")"
}

escaped_pointer() {
	fresh
	sed -i 's/"c~d":1/"c~d":2/' "$W/b/resources/pages/home.json"
	run "$D" --json "$W/a" "$W/b"
	expect_rc 1 || return 1
	jq -e '[.changes[] | select(.subject == "value")] | length == 1 and .[0].pointer == "/a~1b/c~0d"
	       and .[0].old == "1" and .[0].new == "2"' "$W/stdout" >/dev/null || fail "$(cat "$W/stdout")"
}

# What reaches the terminal from a package is safe: a bidirectional control (U+202E) in a key
# or a value, which JSON leaves as it is, is written %E2%80%AE in the text (the JSON keeps it).
bidi_written_escaped() {
	fresh
	sed -i 's/"Home"/"Ho\xe2\x80\xaeme"/; s/"gone"/"go\xe2\x80\xaene"/' "$W/b/resources/pages/home.json"
	run "$D" "$W/a" "$W/b"
	expect_rc 1 || return 1
	! grep -q "$(printf '\342\200\256')" "$W/stdout" &&
		grep -qx '    /title: "Home" -> "Ho%E2%80%AEme"' "$W/stdout" &&
		grep -qx '    /go%E2%80%AEne: added true' "$W/stdout" || fail "$(cat -A "$W/stdout")"
}

array_insert_is_one_change() {
	fresh
	sed -i 's/{"k":1},/{"k":1},{"k":9},/' "$W/b/resources/pages/home.json"
	run "$D" --json "$W/a" "$W/b"
	expect_rc 1 || return 1
	jq -e '[.changes[] | select(.subject == "value")] | length == 1 and .[0].kind == "added"
	       and .[0].pointer == "/blocks/1" and .[0].new == "{\"k\":9}"' "$W/stdout" >/dev/null ||
		fail "$(cat "$W/stdout")"
}

key_removed() {
	fresh
	sed -i 's/,"gone":true//' "$W/b/resources/pages/home.json"
	run "$D" "$W/a" "$W/b"
	expect_rc 1 || return 1
	grep -qx '    /gone: removed true' "$W/stdout" || fail "$(cat "$W/stdout")"
}

package_vs_directory() {
	fresh
	"$B/appkg-pack" "$W/a" -o "$W/a.appkg" || return 1
	run "$D" "$W/a.appkg" "$W/b"
	expect_rc 0 || return 1
	printf '%s\n' '{"n":1}' >"$W/b/resources/queries/new%2Fone.json"
	sed -i 's/"create"/"update"/' "$W/b/manifest.json"
	sed -i 's/"1.0"/"1.1"/' "$W/b/manifest.json"
	rm "$W/b/resources/queries/q1.json"
	sed -i 's/"queries\/q1"//' "$W/b/manifest.json"
	run "$D" "$W/a.appkg" "$W/b"
	expect_rc 1 || return 1
	grep -qx 'package /version: "1.0" -> "1.1"' "$W/stdout" &&
		grep -qx 'added   queries/new/one' "$W/stdout" &&
		grep -qx 'removed queries/q1' "$W/stdout" &&
		grep -qx '    entry /mode: "create" -> "update"' "$W/stdout" &&
		grep -qx '    entry /depends_on/0: removed "queries/q1"' "$W/stdout" || fail "$(cat "$W/stdout")"
}

stat_counts() {
	fresh
	rm "$W/b/resources/queries/q1.json"
	sed -i 's/"queries\/q1"//' "$W/b/manifest.json"
	printf '%s\n' '{}' >"$W/b/resources/queries/q2.json"
	run "$D" --stat "$W/a" "$W/b"
	expect_rc 1 || return 1
	grep -qx 'queries: 1 added, 1 removed, 0 changed' "$W/stdout" &&
		grep -qx 'pages: 0 added, 0 removed, 1 changed' "$W/stdout" || fail "$(cat "$W/stdout")"
	run "$D" --json --stat "$W/a" "$W/b"
	jq -e '.stat.resources.queries == {"added":1,"removed":1,"changed":0} and .equal == false
	       and .exit == 1' "$W/stdout" >/dev/null || fail "$(cat "$W/stdout")"
}

# A package whose resource frame is damaged: the manifest digests agree with the intact copy,
# so only reading every member tells; 5, never 0 or 1.
# A directory with several problems: the one line names the first (its code and message agree).
directory_first_problem() {
	fresh
	echo '{}' >"$W/b/a-notes.json" && echo '{}' >"$W/b/b-notes.json" || return 1
	run "$D" "$W/a" "$W/b"
	expect_rc 5 && expect_one_line appkg-diff && expect_stderr "': a-notes.json: not part of"
}

corrupt_is_5() {
	fresh
	"$B/appkg-pack" "$W/a" -o "$W/a.appkg" || return 1
	cp "$W/a.appkg" "$W/bad.appkg"
	size=$(stat -c %s "$W/a.appkg")
	for off in $(seq 200 40 $((size - 200))); do
		cp "$W/a.appkg" "$W/bad.appkg"
		printf '\377' | dd of="$W/bad.appkg" bs=1 seek="$off" conv=notrunc 2>/dev/null
		"$B/appkg-verify" "$W/bad.appkg" 2>/dev/null && continue
		run "$D" "$W/bad.appkg" "$W/a.appkg"
		expect_rc 5 || return 1
		expect_one_line appkg-diff || return 1
		run "$D" "$W/a" "$W/bad.appkg"
		expect_rc 5 || return 1
	done
	head -c 100 "$W/a.appkg" >"$W/short.appkg"
	run "$D" "$W/short.appkg" "$W/a"
	expect_rc 5 || return 1
	printf '{"t":' >"$W/b/resources/pages/home.json"
	run "$D" "$W/a" "$W/b"
	expect_rc 5 && expect_stderr "resources/pages/home.json" || return 1
	run "$D" "$W/a" "$W/missing"
	expect_rc 5
}

usage_is_2() {
	run "$D" "$W/a"
	expect_rc 2 || return 1
	run "$D" - -
	expect_rc 2 || return 1
	run "$D" --help
	expect_rc 0 && grep -q -- '--password-file' "$W/stdout"
}

# Secrets: by name with the passwords (one per input), "changed" without; a wrong password is
# 3; no value in any output, text or JSON.
secrets_never_shown() {
	fresh
	printf 'pw-one\n' >"$W/p1"
	printf 'pw-two\n' >"$W/p2"
	printf '%s\n' '{"KEEP":"plain-keep-1a","CHANGE":"plain-old-2b","DROP":"plain-drop-3c"}' >"$W/a/secrets.json"
	printf '%s\n' '{"KEEP":"plain-keep-1a","CHANGE":"plain-new-4d","ADD":"plain-add-5e"}' >"$W/b/secrets.json"
	"$B/appkg-pack" --kdf interactive --password-file "$W/p1" "$W/a" -o "$W/s1.appkg" &&
		"$B/appkg-pack" --kdf interactive --password-file "$W/p2" "$W/b" -o "$W/s2.appkg" &&
		"$B/appkg-pack" --kdf interactive --password-file "$W/p1" "$W/a" -o "$W/s1b.appkg" || return 1
	: >"$W/all"
	run "$D" --password-file "$W/p1" --password-file "$W/p2" "$W/s1.appkg" "$W/s2.appkg"
	cat "$W/stdout" "$W/stderr" >>"$W/all"
	expect_rc 1 || return 1
	grep -qx 'secret changed CHANGE' "$W/stdout" && grep -qx 'secret removed DROP' "$W/stdout" &&
		grep -qx 'secret added ADD' "$W/stdout" && ! grep -q KEEP "$W/stdout" ||
		fail "$(cat "$W/stdout")" || return 1
	run "$D" --json --password-file "$W/p1" --password-file "$W/p2" "$W/s1.appkg" "$W/s2.appkg"
	cat "$W/stdout" "$W/stderr" >>"$W/all"
	jq -e '[.changes[] | select(.subject == "secret")] | length == 3' "$W/stdout" >/dev/null || return 1
	run "$D" --password-file "$W/p1" "$W/s1.appkg" "$W/s1b.appkg" # the same, sealed twice
	cat "$W/stdout" "$W/stderr" >>"$W/all"
	expect_rc 0 || return 1
	run "$D" "$W/s1.appkg" "$W/s1b.appkg" # without a password only the blobs are compared
	cat "$W/stdout" "$W/stderr" >>"$W/all"
	expect_rc 1 && grep -q '^secrets changed' "$W/stdout" || return 1
	run "$D" --password-file "$W/p2" "$W/s1.appkg" "$W/s2.appkg"
	cat "$W/stdout" "$W/stderr" >>"$W/all"
	expect_rc 3 || return 1
	run "$D" --password-file "$W/p2" "$W/a" "$W/s2.appkg" # directory: its secrets.json
	cat "$W/stdout" "$W/stderr" >>"$W/all"
	expect_rc 1 && grep -qx 'secret added ADD' "$W/stdout" || return 1
	run "$D" --stat "$W/a" "$W/b"
	cat "$W/stdout" "$W/stderr" >>"$W/all"
	! grep -e plain-keep -e plain-old -e plain-new -e plain-drop -e plain-add -e pw-one -e pw-two "$W/all" ||
		fail "a secret value in the output"
}

t diff_equal_is_0 equal_is_0
t diff_one_value_is_1_with_pointer one_value_is_1_with_pointer
t diff_pointer_escaping escaped_pointer
t diff_bidi_written_escaped bidi_written_escaped
t diff_array_insert_is_one_change array_insert_is_one_change
t diff_key_removed key_removed
t diff_package_vs_directory package_vs_directory
t diff_stat_counts stat_counts
t diff_corrupt_input_is_5 corrupt_is_5
t diff_directory_first_problem directory_first_problem
t diff_usage_is_2 usage_is_2
t diff_secrets_never_shown secrets_never_shown
