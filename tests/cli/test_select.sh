#!/bin/sh
# Selections with dependencies: pack --only and merge --only take each named resource and
# everything it depends on, transitively; a missing dependency names both ends; a selection
# made from a package keeps the secrets sealed as they are, or seals them anew.
. "$(dirname "$0")/lib.sh"

# A chain pages/home -> queries/get/users -> queries/base, and resources off the chain.
mkdir -p "$W/d/resources/pages" "$W/d/resources/queries" "$W/d/resources/scripts"
cat >"$W/d/manifest.json" <<'JSON'
{"name": "chain", "resources": [
 {"path": "resources/pages/home.json", "depends_on": ["queries/get%2Fusers"], "mode": "update", "id": "p1"},
 {"path": "resources/queries/get%2Fusers.json", "depends_on": ["queries/base"]},
 {"path": "resources/scripts/other.json", "depends_on": ["queries/base"]}
]}
JSON
echo '{"title": "home"}' >"$W/d/resources/pages/home.json"
echo '{"sql": "users"}' >"$W/d/resources/queries/get%2Fusers.json"
echo '{"sql": "base"}' >"$W/d/resources/queries/base.json"
echo '{"js": "x"}' >"$W/d/resources/scripts/other.json"
echo '{"title": "lonely"}' >"$W/d/resources/pages/lonely.json"
echo '{"DB": "s3cr3t-select-value"}' >"$W/d/secrets.json"
echo pw-old >"$W/pw"
echo pw-new >"$W/pn"

paths() { jq -r '[.resources[].path] | join(" ")' "$1"; }

test_pack_only_closure() {
	run timeout 20 "$B/appkg-pack" --kdf interactive --password-file "$W/pw" \
		--only pages/home "$W/d" -o "$W/sel.appkg"
	expect_rc 0 || return 1
	"$B/appkg-unpack" "$W/sel.appkg" -C "$W/sel" || return 1
	got=$(paths "$W/sel/manifest.json")
	[ "$got" = "resources/pages/home.json resources/queries/base.json resources/queries/get%2Fusers.json" ] ||
		fail "resources: $got" || return 1
	[ "$(find "$W/sel/resources" -type f | wc -l)" -eq 3 ] || fail "files" || return 1
	jq -e '.resources[0].mode == "update" and .resources[0].id == "p1"' "$W/sel/manifest.json" \
		>/dev/null || fail "attributes lost"
}

test_pack_only_logical_name() {
	run "$B/appkg-pack" --only queries/get/users "$W/d" -o "$W/sel2.appkg" --password-file "$W/pw" --kdf interactive
	expect_rc 0 || return 1
	"$B/appkg-unpack" "$W/sel2.appkg" -C "$W/sel2" || return 1
	got=$(paths "$W/sel2/manifest.json")
	[ "$got" = "resources/queries/base.json resources/queries/get%2Fusers.json" ] || fail "resources: $got"
}

test_pack_only_missing_dependency() {
	cp -r "$W/d" "$W/m"
	rm "$W/m/resources/queries/base.json"
	run "$B/appkg-pack" --only pages/home "$W/m" -o "$W/miss.appkg" --password-file "$W/pw"
	expect_rc 1 || return 1
	[ ! -e "$W/miss.appkg" ] || fail "written" || return 1
	grep -q "resources/queries/get%2Fusers.json: depends on queries/base" "$W/stderr" ||
		fail "both ends not named"
}

test_pack_only_unknown() {
	run "$B/appkg-pack" --only pages/nosuch "$W/d" -o "$W/no.appkg" --password-file "$W/pw"
	expect_rc 2 || return 1
	grep -q "pages/nosuch: no such resource" "$W/stderr" || fail "not named"
}

test_select_from_package_sealed() {
	run timeout 20 "$B/appkg-pack" --kdf interactive --password-file "$W/pw" "$W/d" -o "$W/full.appkg"
	expect_rc 0 || return 1
	run "$B/appkg-merge" --only pages/home "$W/full.appkg" -o "$W/part.appkg"
	expect_rc 0 || return 1
	[ "$(wc -l <"$W/stderr")" -eq 1 ] && grep -q "sealed" "$W/stderr" || fail "no one-line notice" || return 1
	! grep -q s3cr3t "$W/stderr" "$W/stdout" || fail "value printed" || return 1
	"$B/appkg-unpack" "$W/part.appkg" -C "$W/part" || return 1
	"$B/appkg-unpack" "$W/full.appkg" -C "$W/full" || return 1
	got=$(paths "$W/part/manifest.json")
	[ "$got" = "resources/pages/home.json resources/queries/base.json resources/queries/get%2Fusers.json" ] ||
		fail "resources: $got" || return 1
	cmp "$W/part/secrets.enc" "$W/full/secrets.enc" || fail "blob not carried as it is" || return 1
	[ ! -e "$W/part/secrets.json" ] || fail "plaintext written" || return 1
	"$B/appkg-verify" --password-file "$W/pw" "$W/part.appkg" || fail "old password does not open it"
}

test_select_from_package_new_password() {
	run timeout 20 "$B/appkg-merge" --only queries/base --password-file "$W/pw" \
		--new-password-file "$W/pn" --kdf interactive "$W/full.appkg" -o "$W/part2.appkg"
	expect_rc 0 || return 1
	[ ! -s "$W/stderr" ] || fail "not quiet" || return 1
	"$B/appkg-unpack" --password-file "$W/pn" "$W/part2.appkg" -C "$W/p2" >/dev/null || return 1
	[ "$(jq -r 'keys | join(",")' "$W/p2/secrets.json")" = DB ] || fail "secret names" || return 1
	[ "$(paths "$W/p2/manifest.json")" = "resources/queries/base.json" ] || fail "resources"
}

t select_pack_only_two_level_chain_gives_three test_pack_only_closure
t select_pack_only_logical_name test_pack_only_logical_name
t select_pack_only_missing_dependency_names_both test_pack_only_missing_dependency
t select_pack_only_unknown_resource test_pack_only_unknown
t select_from_package_secrets_sealed test_select_from_package_sealed
t select_from_package_new_password test_select_from_package_new_password
