# appkg-verify: every invalid vector rejected, all problems reported, the JSON report, secrets,
# and signed packages (keys from appkg-keygen; stock minisign checks the signature too).
. "$(dirname "$0")/lib.sh"
V="$TOP/tests/vectors"
GPW="$V/valid/PASSWORD"
export SOURCE_DATE_EPOCH=1767225600

verify_rejects() { # verify_rejects CASE
	dir="$V/invalid/$1"
	want=$(sed -n 's/.*exit=\([0-9]\).*/\1/p' "$dir/expected")
	pw=$(sed -n 's/.*password=\([^ ]*\).*/\1/p' "$dir/expected")
	run timeout 10 env ${pw:+APPKG_PASSWORD=$pw} "$B/appkg-verify" "$dir/package.appkg"
	expect_rc "$want" || return 1
	[ -s "$W/stderr" ] && ! grep -qv '^appkg-verify: ' "$W/stderr" || fail "expected only appkg-verify lines"
}

for d in "$V"/invalid/*/; do
	t "verify_rejects_$(basename "$d")" verify_rejects "$(basename "$d")"
done

quiet_on_success() {
	run "$B/appkg-verify" "$V/valid/v1.0-plain.appkg" "$V/valid/v1.0-secrets.appkg"
	expect_rc 0 && [ ! -s "$W/stdout" ] && [ ! -s "$W/stderr" ] || fail "not quiet"
}

all_problems_in_order() {
	run "$B/appkg-verify" "$V/invalid/several_problems/package.appkg"
	expect_rc 1 || return 1
	[ "$(wc -l <"$W/stderr")" -eq 3 ] || fail "expected 3 problems" || return 1
	sed -n 1p "$W/stderr" | grep -q 'resources/pages/extra.json: not in the manifest' &&
		sed -n 2p "$W/stderr" | grep -q 'resources/pages/home.json: digest mismatch' &&
		sed -n 3p "$W/stderr" | grep -q 'resources/pages/bad.json: line 1 column 7' || fail "order"
}

json_report() {
	run "$B/appkg-verify" --json "$V/invalid/several_problems/package.appkg"
	expect_rc 1 || return 1
	jq -e '.ok == false and .exit == 1 and .package != null and (.problems | length) == 3
	       and .problems[0].code == -503 and .problems[0].member == "resources/pages/extra.json"
	       and .problems[1].name == "digest mismatch" and .problems[2].class == "resources"
	       and .checks.manifest == "fail" and .checks.resources == "fail" and .checks.tar == "pass"
	       and .checks.container == "pass" and (.members | type) == "number"' "$W/stdout" >/dev/null ||
		fail "bad report: $(cat "$W/stdout")" || return 1
	run env APPKG_PASSWORD=golden-password "$B/appkg-verify" --json "$V/valid/v1.0-secrets.appkg"
	expect_rc 0 && jq -e '.ok and .problems == [] and .name == "golden-v1" and .version == "1.0.0"
	       and .format_version == "1.0" and .resources == 4 and .secrets == "decrypted"
	       and ([.checks[]] | all(. == "pass"))' "$W/stdout" >/dev/null || fail "bad report: $(cat "$W/stdout")"
}

secrets_password() {
	run "$B/appkg-verify" --password-file "$GPW" "$V/valid/v1.0-secrets.appkg" && expect_rc 0 || return 1
	run env APPKG_PASSWORD=wrong "$B/appkg-verify" "$V/valid/v1.0-secrets.appkg"
	expect_rc 3 && expect_stderr "wrong password" || return 1
	# several packages: the worst status wins
	run env APPKG_PASSWORD=wrong "$B/appkg-verify" "$V/valid/v1.0-plain.appkg" \
		"$V/invalid/tampered_resource/package.appkg" "$V/valid/v1.0-secrets.appkg"
	expect_rc 3 && [ "$(wc -l <"$W/stderr")" -eq 2 ]
}

bomb_is_cheap() {
	/usr/bin/time -f "%e %M" -o "$W/time" "$RAW_B/appkg-verify" "$V/invalid/decompression_bomb/package.appkg" 2>/dev/null
	read -r secs kib <<EOF2
$(tail -n 1 "$W/time")
EOF2
	[ "$(echo "$secs < 2" | bc)" = 1 ] && [ "$kib" -lt 65536 ] || fail "took $secs s, $kib KiB"
}

signed() {
	cd "$W" || return 1
	"$B/appkg-keygen" -W -p k.pub -s k.sec && "$B/appkg" keygen -W -p other.pub -s other.sec || return 1
	run "$B/appkg-pack" --sign k.sec --password-file "$GPW" "$V/valid/src" -o signed.appkg
	expect_rc 0 || return 1
	run "$B/appkg-verify" -v --pubkey k.pub signed.appkg
	expect_rc 0 && grep -q "signed by" "$W/stdout" && grep -q "trusted comment: appkg package golden-v1 1.0.0, signed 1767225600" "$W/stdout" || return 1
	run "$B/appkg-verify" --pubkey other.pub signed.appkg && expect_rc 3 || return 1
	run "$B/appkg-verify" --pubkey other.pub --pubkey k.pub signed.appkg && expect_rc 0 || return 1
	run "$B/appkg-verify" --require-signature --pubkey k.pub "$V/valid/v1.0-plain.appkg" && expect_rc 3 || return 1
	# signing is deterministic with SOURCE_DATE_EPOCH
	"$B/appkg-unpack" signed.appkg -C d1 && "$B/appkg-pack" --sign k.sec d1 -o s1.appkg &&
		"$B/appkg-pack" --sign k.sec d1 -o s2.appkg && cmp s1.appkg s2.appkg &&
		cmp signed.appkg s1.appkg || fail "signed packs differ" || return 1
	# stock minisign accepts the signature member over manifest.json
	mkdir x && tar --zstd -C x -xf signed.appkg manifest.json manifest.json.minisig &&
		minisign -V -q -p k.pub -m x/manifest.json -x x/manifest.json.minisig || fail "minisign rejects"
}

one_changed_byte() {
	cd "$W" || return 1
	size=$(stat -c %s signed.appkg)
	for off in 40 $((size / 3)) $((size / 2)) $((size - 200)) $((size - 30)) $((size - 3)); do
		cp signed.appkg flip.appkg
		printf '\377' | dd of=flip.appkg bs=1 seek="$off" conv=notrunc 2>/dev/null
		cmp -s signed.appkg flip.appkg || { printf '\376' | dd of=flip.appkg bs=1 seek="$off" conv=notrunc 2>/dev/null; }
		run "$B/appkg-verify" --pubkey k.pub flip.appkg
		[ "$rc" -eq 1 ] || [ "$rc" -eq 3 ] || fail "byte $off changed: exit $rc" || return 1
	done
}

stale_after_edit() {
	cd "$W" || return 1
	"$B/appkg-unpack" signed.appkg -C un || return 1
	"$B/appkg-pack" un -o same.appkg && run "$B/appkg-verify" --pubkey k.pub same.appkg && expect_rc 0 || return 1
	printf '{"edited": true}\n' >un/resources/pages/new.json
	# pack leaves a signature out once the manifest changes; a signature file copied beside the
	# new manifest by hand is carried (pack cannot check it without the key) and is stale
	"$B/appkg-pack" un -o edited.appkg 2>/dev/null && "$B/appkg-unpack" edited.appkg -C un2 &&
		cp un/manifest.json.minisig un2/ && "$B/appkg-pack" un2 -o edited.appkg || return 1
	run "$B/appkg-verify" --pubkey k.pub edited.appkg
	expect_rc 3 && expect_stderr "does not match"
}

# A resource frame of several MiB is decoded in pieces; damage in its middle is still found.
large_frame() {
	cd "$W" || return 1
	corpus lf 5 plain --no-secrets
	python3 -c 'import base64, json, os, sys
json.dump({"blob": base64.b64encode(os.urandom(6 << 20)).decode()}, open(sys.argv[1], "w"))' \
		lf/resources/pages/large.json || return 1
	"$B/appkg-pack" lf -o lf.appkg && run "$B/appkg-verify" lf.appkg && expect_rc 0 || return 1
	"$B/appkg-unpack" lf.appkg -C lf.out && cmp lf/resources/pages/large.json lf.out/resources/pages/large.json || return 1
	printf 'XYZ' | dd of=lf.appkg bs=1 seek=$(($(stat -c %s lf.appkg) / 2)) conv=notrunc 2>/dev/null
	run "$B/appkg-verify" lf.appkg && expect_rc 1 && expect_stderr "frame [0-9]*: zstd: "
}

t quiet_on_success quiet_on_success
t all_problems_reported_in_order all_problems_in_order
t json_report_fields json_report
t secrets_password_and_worst_status secrets_password
t decompression_bomb_small_and_fast bomb_is_cheap
t signed_package_keys_and_minisign signed
t one_changed_byte_fails one_changed_byte
t signature_stale_after_edit stale_after_edit
t large_frame_decoded_in_pieces large_frame
