# appkg-rekey (issue 11): the new password opens the secrets and the old one no longer does,
# the resources and the manifest are as they were (bytes and digests), a wrong current password
# changes nothing, the Argon2id cost is kept with a fresh salt, a signature is dropped with a
# notice unless --sign, and no secret value appears in any output.
. "$(dirname "$0")/lib.sh"

EX=$TOP/examples/crm-console
printf 'old password\n' >"$W/old"
printf 'new password\n' >"$W/new"
printf 'a typo\n' >"$W/typo"
"$B/appkg-pack" --kdf interactive --password-file "$W/old" "$EX" -o "$W/orig.appkg" || exit 1

fresh() { # a copy of the package to rekey
	cp "$W/orig.appkg" "$W/$1.appkg"
}

# Header fields of secrets.enc (spec §11.2): KDF cost at bytes 12..27, salt at 28..43.
enc_bytes() { # enc_bytes DIR SKIP COUNT
	od -An -tx1 -j "$2" -N "$3" "$1/secrets.enc" | tr -d ' \n'
}

rekeyed() { # a fresh copy rekeyed from old to new, unpacked without secrets in $W/$1.d
	fresh "$1" &&
		run "$B/appkg-rekey" --password-file "$W/old" --new-password-file "$W/new" "$W/$1.appkg" &&
		expect_rc 0 && [ ! -s "$W/stderr" ] && [ ! -s "$W/stdout" ] || return 1
	"$B/appkg-unpack" "$W/$1.appkg" -C "$W/$1.d" || fail "unpack after rekey"
}

new_password_opens() {
	rekeyed opens || return 1
	run "$B/appkg-verify" --password-file "$W/new" "$W/opens.appkg" && expect_rc 0 || return 1
	run "$B/appkg-unpack" --password-file "$W/new" "$W/opens.appkg" -C "$W/opens.plain" &&
		expect_rc 0 || return 1
	cmp "$EX/secrets.json" "$W/opens.plain/secrets.json" || fail "secrets changed"
}

old_password_refused() {
	rekeyed refused || return 1
	run "$B/appkg-verify" --password-file "$W/old" "$W/refused.appkg" && expect_rc 3 || return 1
	run "$B/appkg-unpack" --password-file "$W/old" "$W/refused.appkg" -C "$W/refused.plain" &&
		expect_rc 3 && [ ! -e "$W/refused.plain" ] || fail "old password still opens"
}

resources_identical() {
	rekeyed same || return 1
	"$B/appkg-unpack" "$W/orig.appkg" -C "$W/orig.d" || return 1
	diff -r "$W/orig.d/resources" "$W/same.d/resources" || fail "resources differ" || return 1
	# the manifest: every field but the secrets entry, the members' digests included
	jq -S 'del(.secrets)' "$W/orig.d/manifest.json" >"$W/m.orig"
	jq -S 'del(.secrets)' "$W/same.d/manifest.json" >"$W/m.same"
	cmp "$W/m.orig" "$W/m.same" || fail "manifest changed beyond its secrets entry" || return 1
	[ "$(jq -r .secrets.digest "$W/orig.d/manifest.json")" != \
		"$(jq -r .secrets.digest "$W/same.d/manifest.json")" ] || fail "secrets.enc not re-sealed"
	# and the members as any tar sees them
	tar --zstd -xOf "$W/orig.appkg" --wildcards 'resources/*' | sha256sum >"$W/t.orig"
	tar --zstd -xOf "$W/same.appkg" --wildcards 'resources/*' | sha256sum >"$W/t.same"
	cmp "$W/t.orig" "$W/t.same" || fail "resource members differ in the tar"
}

wrong_old_password_changes_nothing() {
	fresh typo
	run "$B/appkg-rekey" --password-file "$W/typo" --new-password-file "$W/new" "$W/typo.appkg"
	expect_rc 3 && expect_one_line appkg-rekey && expect_stderr "wrong password" || return 1
	cmp "$W/orig.appkg" "$W/typo.appkg" || fail "package changed" || return 1
	[ -z "$(ls -A "$W" | grep '\.tmp-')" ] || fail "temporary left behind"
}

kdf_kept_salt_fresh() {
	rekeyed cost || return 1
	"$B/appkg-unpack" "$W/orig.appkg" -C "$W/cost.orig" || return 1
	[ "$(enc_bytes "$W/cost.orig" 12 16)" = "$(enc_bytes "$W/cost.d" 12 16)" ] ||
		fail "KDF cost changed" || return 1
	[ "$(enc_bytes "$W/cost.orig" 28 16)" != "$(enc_bytes "$W/cost.d" 28 16)" ] ||
		fail "salt reused" || return 1
	fresh costly
	run "$B/appkg-rekey" --kdf moderate --password-file "$W/old" --new-password-file "$W/new" \
		"$W/costly.appkg" && expect_rc 0 || return 1
	"$B/appkg-unpack" "$W/costly.appkg" -C "$W/costly.d" &&
		[ "$(enc_bytes "$W/cost.orig" 12 16)" != "$(enc_bytes "$W/costly.d" 12 16)" ] ||
		fail "--kdf moderate ignored"
}

passwords_from_environment() {
	fresh env
	APPKG_PASSWORD='old password' APPKG_NEW_PASSWORD='env password' \
		run "$B/appkg-rekey" "$W/env.appkg" </dev/null && expect_rc 0 || return 1
	printf 'env password\n' >"$W/envpw"
	run "$B/appkg-verify" --password-file "$W/envpw" "$W/env.appkg" && expect_rc 0 || return 1
	# no new password at all, and no terminal to ask on: exit 3, untouched
	fresh nonew
	setsid -w "$B/appkg-rekey" --password-file "$W/old" "$W/nonew.appkg" </dev/null \
		>"$W/stdout" 2>"$W/stderr"
	rc=$?
	expect_rc 3 && expect_stderr "new password" && cmp "$W/orig.appkg" "$W/nonew.appkg"
}

new_password_asked_twice() {
	fresh twice
	at_prompt 'old password,typed twice,typed twice' "$B/appkg-rekey" "$W/twice.appkg"
	[ "$rc" -eq 0 ] && [ "$(grep -c 'Password:' "$W/tty")" -eq 3 ] ||
		fail "exit $rc, expected three prompts: $(cat "$W/tty")" || return 1
	printf 'typed twice\n' >"$W/typed"
	run "$B/appkg-verify" --password-file "$W/typed" "$W/twice.appkg" && expect_rc 0 || return 1
	# two different answers: refused, nothing changed
	fresh differ
	at_prompt 'old password,first answer,second answer' "$B/appkg-rekey" "$W/differ.appkg"
	grep -q "the two passwords differ" "$W/tty" || fail "no refusal: $(cat "$W/tty")" || return 1
	cmp "$W/orig.appkg" "$W/differ.appkg" || fail "package changed"
}

output_elsewhere() {
	fresh keep
	run "$B/appkg-rekey" --password-file "$W/old" --new-password-file "$W/new" -o "$W/moved.appkg" \
		"$W/keep.appkg" && expect_rc 0 || return 1
	cmp "$W/orig.appkg" "$W/keep.appkg" || fail "PKG changed with -o" || return 1
	run "$B/appkg-verify" --password-file "$W/new" "$W/moved.appkg" && expect_rc 0
}

signature_dropped_unless_sign() {
	"$B/appkg-keygen" -W -p "$W/k.pub" -s "$W/k.sec" || return 1
	"$B/appkg-pack" --kdf interactive --password-file "$W/old" --sign "$W/k.sec" "$EX" \
		-o "$W/signed.appkg" || return 1
	cp "$W/signed.appkg" "$W/resigned.appkg"
	run "$B/appkg-rekey" --password-file "$W/old" --new-password-file "$W/new" "$W/signed.appkg"
	expect_rc 0 && expect_one_line appkg-rekey && expect_stderr "minisig: left out" || return 1
	run "$B/appkg-verify" --pubkey "$W/k.pub" --require-signature "$W/signed.appkg" &&
		expect_rc 3 || return 1
	run "$B/appkg-rekey" --password-file "$W/old" --new-password-file "$W/new" --sign "$W/k.sec" \
		"$W/resigned.appkg" && expect_rc 0 && [ ! -s "$W/stderr" ] || return 1
	run "$B/appkg-verify" --pubkey "$W/k.pub" --require-signature --password-file "$W/new" \
		"$W/resigned.appkg" && expect_rc 0
}

no_secret_in_any_output() {
	fresh leak
	: >"$W/all"
	for args in "--password-file $W/old --new-password-file $W/new --progress" \
		"--password-file $W/typo --new-password-file $W/new" \
		"--password-file $W/new --new-password-file $W/old --progress -o -"; do
		# shellcheck disable=SC2086
		"$B/appkg-rekey" $args "$W/leak.appkg" >>"$W/all" 2>&1 </dev/null
	done
	grep -c . "$W/all" >/dev/null || fail "no output to check" || return 1
	jq -r '.[]' "$EX/secrets.json" | while read -r v; do
		! grep -aqF "$v" "$W/all" || { echo "secret value in the output"; exit 1; }
	done
}

no_secrets_rejected() {
	mkdir -p "$W/nosec" && cp -r "$EX/manifest.json" "$EX/resources" "$W/nosec/" &&
		"$B/appkg-pack" "$W/nosec" -o "$W/nosec.appkg" || return 1
	run "$B/appkg-rekey" --password-file "$W/old" --new-password-file "$W/new" "$W/nosec.appkg"
	expect_rc 1 && expect_one_line appkg-rekey && expect_stderr "no secrets.enc"
}

usage_and_front() {
	run "$B/appkg-rekey" --help && expect_rc 0 && grep -q "Usage" "$W/stdout" || return 1
	run "$B/appkg" rekey --version && expect_rc 0 && grep -q "0.1.0" "$W/stdout" || return 1
	run "$B/appkg-rekey" && expect_rc 2 && expect_one_line appkg-rekey || return 1
	run "$B/appkg-rekey" - && expect_rc 2 && expect_one_line appkg-rekey || return 1
	run "$B/appkg-rekey" --kdf fast "$W/orig.appkg" && expect_rc 2 || return 1
	run "$B/appkg-rekey" --password-file "$W/old" "$W/absent.appkg" && expect_rc 4
}

t rekey_new_password_opens new_password_opens
t rekey_old_password_refused old_password_refused
t rekey_resources_byte_identical resources_identical
t rekey_wrong_old_password_changes_nothing wrong_old_password_changes_nothing
t rekey_kdf_cost_kept_salt_fresh kdf_kept_salt_fresh
t rekey_passwords_from_environment passwords_from_environment
t rekey_new_password_asked_twice new_password_asked_twice
t rekey_output_elsewhere output_elsewhere
t rekey_signature_dropped_unless_sign signature_dropped_unless_sign
t rekey_no_secret_in_any_output no_secret_in_any_output
t rekey_no_secrets_rejected no_secrets_rejected
t rekey_usage_and_front usage_and_front
