#!/bin/sh
# The tools over the library's public interface (issue 10): verify reports a signature it has
# no key for as signed by that key, not checked, keeping the package's name (item 6); unpack
# --only is repeatable, takes the path, file-name and logical forms, writes a manifest of the
# selection that packs again, and refuses -C - (item 8).
. "$(dirname "$0")/lib.sh"

cp -R "$TOP/examples/crm-console" "$W/crm" && rm "$W/crm/secrets.json"
"$B/appkg-pack" "$W/crm" -o "$W/crm.appkg" || echo "FAIL: fixture package"

signed_without_pubkey_not_checked() {
	"$B/appkg-keygen" -W -p "$W/k.pub" -s "$W/k.sec" &&
		"$B/appkg-pack" --sign "$W/k.sec" "$W/crm" -o "$W/signed.appkg" || return 1
	run "$B/appkg-verify" -v --pubkey "$W/k.pub" "$W/signed.appkg" && expect_rc 0 || return 1
	id=$(sed -n 's/.*signed by key \([0-9A-F]\{16\}\).*/\1/p' "$W/stdout" | head -1)
	[ -n "$id" ] || fail "no key id in: $(cat "$W/stdout")" || return 1
	run "$B/appkg-verify" -v "$W/signed.appkg" && expect_rc 0 || return 1
	grep -q "ok: crm-console 2.3.0, .*signed by key $id (not checked" "$W/stdout" ||
		fail "verify -v says: $(cat "$W/stdout")" || return 1
	run "$B/appkg-verify" --json "$W/signed.appkg" && expect_rc 0 || return 1
	jq -e --arg id "$id" '.name == "crm-console" and .signature.status == "unchecked"
		and .signature.key_id == $id' "$W/stdout" >/dev/null || fail "json: $(cat "$W/stdout")"
}

# Files below DIR, sorted, one per line.
files_of() { (cd "$1" && find . -type f | sort); }

only_repeatable_in_every_form() {
	run "$B/appkg-unpack" --only queries/invoices/open --only resources/datasources/billing-api.json \
		--only queries/customer_by_id --only "datasources/crm-postgres" "$W/crm.appkg" -C "$W/sel" &&
		expect_rc 0 || return 1
	files_of "$W/sel" >"$W/got"
	printf '%s\n' ./manifest.json ./resources/datasources/billing-api.json \
		./resources/datasources/crm-postgres.json ./resources/queries/customer_by_id.json \
		"./resources/queries/invoices%2Fopen.json" | sort >"$W/want"
	diff "$W/want" "$W/got" || fail "unexpected files" || return 1
	cmp "$W/crm/resources/queries/invoices%2Fopen.json" "$W/sel/resources/queries/invoices%2Fopen.json"
}

only_output_packs_and_verifies() {
	[ -d "$W/sel" ] || only_repeatable_in_every_form || return 1
	run "$B/appkg-pack" "$W/sel" -o "$W/sel.appkg" && expect_rc 0 || return 1
	run "$B/appkg-verify" "$W/sel.appkg" && expect_rc 0 || return 1
	tar --zstd -xOf "$W/sel.appkg" manifest.json >"$W/sel.json"
	jq -e '(.resources | length) == 4 and .name == "crm-console"
		and (.resources[] | select(.path == "resources/datasources/billing-api.json")
		     | .mode == "update" and .id == "ds-billing-api")
		and (.resources[] | select(.name == "invoices/open")
		     | .depends_on == ["datasources/billing-api"])' "$W/sel.json" >/dev/null ||
		fail "manifest of the re-pack: $(cat "$W/sel.json")"
}

only_missing_dependency_refused() {
	run "$B/appkg-unpack" --only "pages/Customer Detail" "$W/crm.appkg" -C "$W/dep" &&
		expect_rc 2 && expect_one_line appkg-unpack && expect_stderr "depends on" || return 1
	[ ! -e "$W/dep" ] || fail "DEST was created"
}

unpack_dash_dest_is_usage() {
	mkdir "$W/dash" && cd "$W/dash" || return 1
	run "$B/appkg-unpack" "$W/crm.appkg" -C - && expect_rc 2 || return 1
	grep -q "^appkg-unpack: -C -" "$W/stderr" || fail "no reason given" || return 1
	[ -z "$(ls -A "$W/dash")" ] || fail "something was created: $(ls -A "$W/dash")"
}

# A DEST that is not empty is refused before a password is asked: a FIFO as the password file
# would block the read, so reaching it shows the order.
dest_checked_before_password() {
	cp -R "$TOP/examples/crm-console" "$W/crm-s" && rm -rf "$W/crm-s/secrets.enc"
	APPKG_PASSWORD=pw "$B/appkg-pack" "$W/crm-s" -o "$W/s.appkg" || return 1
	mkdir -p "$W/used" && echo keep >"$W/used/file" && mkfifo "$W/pw.fifo"
	run timeout 10 "$B/appkg-unpack" --password-file "$W/pw.fifo" "$W/s.appkg" -C "$W/used"
	expect_rc 4 && expect_one_line appkg-unpack && expect_stderr "not empty" &&
		[ "$(cat "$W/used/file")" = keep ] || return 1
}

t signed_without_pubkey_not_checked signed_without_pubkey_not_checked
t dest_checked_before_password dest_checked_before_password
t only_repeatable_in_every_form only_repeatable_in_every_form
t only_output_packs_and_verifies only_output_packs_and_verifies
t only_missing_dependency_refused only_missing_dependency_refused
t unpack_dash_dest_is_usage unpack_dash_dest_is_usage
