# Reproducible exports with secrets (issue 11, spec §11.6): a platform writes a fresh export
# each time (secrets.json, no secrets.enc, no package_id); packing it to the output that holds
# the previous package reuses that package's salt, KDF cost and package id once the password
# opens its secrets, so the same content and password give the same bytes and git shows only
# real changes. A different password gives different bytes; a wrong one for the existing
# output is refused (exit 3) and nothing is written.
. "$(dirname "$0")/lib.sh"

EX=$TOP/examples/crm-console
printf 'export password\n' >"$W/pw"
printf 'another password\n' >"$W/pw2"
G="git -c user.name=test -c user.email=test@example.invalid -c init.defaultBranch=main"

export_app() { # export_app DIR: what the platform writes, fresh each time
	rm -rf "$1" && mkdir -p "$1" && cp -r "$EX/manifest.json" "$EX/resources" "$EX/secrets.json" "$1/"
}

fresh_export_shape() {
	export_app "$W/shape" || return 1
	[ -f "$W/shape/secrets.json" ] && [ ! -e "$W/shape/secrets.enc" ] ||
		fail "not a fresh export" || return 1
	[ "$(jq 'has("package_id")' "$W/shape/manifest.json")" = false ] || fail "has a package_id"
}

# The repository tracks the package and its unpacked form (without plaintext secrets).
pack_and_unpack() { # pack_and_unpack REPO [PASSWORD FILE]
	"$B/appkg-pack" --kdf interactive --password-file "${2:-$W/pw}" "$W/export" \
		-o "$1/app.appkg" >"$W/stdout" 2>"$W/stderr" || fail "pack" || return 1
	[ ! -s "$W/stderr" ] || fail "pack was not quiet" || return 1
	"$B/appkg-unpack" -q --force "$1/app.appkg" -C "$1/unpacked" || fail "unpack"
}

setup_repo() { # a repository with one commit of the first export, packed
	mkdir -p "$W/repo" && $G -C "$W/repo" init -q || return 1
	export_app "$W/export" && pack_and_unpack "$W/repo" || return 1
	cp "$W/repo/app.appkg" "$W/first.appkg"
	$G -C "$W/repo" add -A && $G -C "$W/repo" commit -qm "first export"
}

fresh_export_same_bytes() {
	setup_repo || return 1
	export_app "$W/export" && pack_and_unpack "$W/repo" || return 1
	cmp "$W/first.appkg" "$W/repo/app.appkg" || fail "the same export packed to other bytes" ||
		return 1
	[ -z "$($G -C "$W/repo" status --porcelain)" ] || { $G -C "$W/repo" status; fail "git status not clean"; }
}

one_edit_one_change() {
	export_app "$W/export" || return 1
	sed -i 's/"default": 25/"default": 50/' "$W/export/resources/variables/default_page_size.json"
	! cmp -s "$EX/resources/variables/default_page_size.json" \
		"$W/export/resources/variables/default_page_size.json" || fail "edit did nothing" || return 1
	pack_and_unpack "$W/repo" || return 1
	$G -C "$W/repo" add -A
	$G -C "$W/repo" diff --cached --stat | sed '$d' | awk '{print $1}' | sort >"$W/changed"
	printf '%s\n' app.appkg unpacked/manifest.json \
		unpacked/resources/variables/default_page_size.json | sort >"$W/expected"
	diff "$W/expected" "$W/changed" || fail "git diff --stat shows more or less than the edit"
}

different_password_different_bytes() {
	export_app "$W/export" && mkdir -p "$W/other" || return 1
	"$B/appkg-pack" --kdf interactive --password-file "$W/pw2" "$W/export" -o "$W/other/app.appkg" ||
		return 1
	! cmp -s "$W/first.appkg" "$W/other/app.appkg" || fail "another password, the same bytes" ||
		return 1
	# and with it, the same bytes again on the next fresh export
	cp "$W/other/app.appkg" "$W/other/first.appkg"
	export_app "$W/export" &&
		"$B/appkg-pack" --password-file "$W/pw2" "$W/export" -o "$W/other/app.appkg" &&
		cmp "$W/other/first.appkg" "$W/other/app.appkg" || fail "not reproducible under pw2"
}

wrong_password_refused() {
	cp "$W/first.appkg" "$W/kept.appkg"
	export_app "$W/export" || return 1
	run "$B/appkg-pack" --password-file "$W/pw2" "$W/export" -o "$W/kept.appkg"
	expect_rc 3 && expect_one_line appkg-pack && expect_stderr "wrong password" || return 1
	cmp "$W/first.appkg" "$W/kept.appkg" || fail "output changed" || return 1
	[ -z "$(ls -A "$W" | grep '\.tmp-')" ] || fail "temporary left behind"
}

reuse_from_names_the_package() {
	export_app "$W/export" || return 1
	run "$B/appkg-pack" --password-file "$W/pw" --reuse-from "$W/first.appkg" "$W/export" \
		-o "$W/elsewhere.appkg" && expect_rc 0 || return 1
	cmp "$W/first.appkg" "$W/elsewhere.appkg" || fail "--reuse-from gave other bytes" || return 1
	"$B/appkg-pack" --password-file "$W/pw" --reuse-from "$W/first.appkg" "$W/export" -o - \
		>"$W/streamed.appkg" && cmp "$W/first.appkg" "$W/streamed.appkg" || fail "-o -" || return 1
	run "$B/appkg-pack" --password-file "$W/pw2" --reuse-from "$W/first.appkg" "$W/export" \
		-o "$W/typo.appkg" && expect_rc 3 && [ ! -e "$W/typo.appkg" ] || return 1
	run "$B/appkg-pack" --password-file "$W/pw" --reuse-from "$W/absent.appkg" "$W/export" \
		-o "$W/absent-out.appkg" && expect_rc 4 && [ ! -e "$W/absent-out.appkg" ]
}

t reproducible_fresh_export_shape fresh_export_shape
t reproducible_fresh_export_same_bytes_git_clean fresh_export_same_bytes
t reproducible_one_edit_changes_resource_and_manifest one_edit_one_change
t reproducible_different_password_different_bytes different_password_different_bytes
t reproducible_wrong_password_for_output_refused wrong_password_refused
t reproducible_reuse_from reuse_from_names_the_package
