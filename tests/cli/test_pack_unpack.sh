# appkg-pack and appkg-unpack: round trips, determinism, options and exit codes.
. "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=1767225600
PW="$W/pw"
echo "correct horse" >"$PW"

help_and_version() {
	for p in appkg appkg-pack appkg-unpack; do
		run "$B/$p" --help && expect_rc 0 && grep -q Usage "$W/stdout" || return 1
		run "$B/$p" --version && expect_rc 0 && grep -q "0.1.0" "$W/stdout" || return 1
	done
}

usage_errors() {
	run "$B/appkg-pack" && expect_rc 2 && expect_stderr "missing DIR" || return 1
	run "$B/appkg-unpack" x.appkg && expect_rc 2 && expect_stderr "missing -C" || return 1
	run "$B/appkg-pack" --level 99 d -o x && expect_rc 2 || return 1
	run "$B/appkg" nope && expect_rc 2 && expect_stderr "not an appkg command"
}

front_dispatches() {
	corpus "$W/f" 20 plain --no-secrets
	run "$B/appkg" pack "$W/f" -o "$W/f.appkg" && expect_rc 0 || return 1
	run "$B/appkg" unpack "$W/f.appkg" -C "$W/f.out" && expect_rc 0 || return 1
	diff -r "$W/f/resources" "$W/f.out/resources"
}

# pack -> unpack -> every resource byte-identical, secrets equal; unpack -> pack identical
round_trip() { # round_trip NAMES
	d="$W/rt-$1"
	corpus "$d" 200 "$1"
	run "$B/appkg-pack" --kdf interactive --password-file "$PW" "$d" -o "$d.appkg" && expect_rc 0 || return 1
	[ ! -s "$W/stdout" ] && [ ! -s "$W/stderr" ] || fail "pack is not quiet" || return 1
	run "$B/appkg-unpack" --password-file "$PW" "$d.appkg" -C "$d.out" && expect_rc 0 || return 1
	diff -r "$d/resources" "$d.out/resources" || return 1
	cmp "$d/secrets.json" "$d.out/secrets.json" || return 1
	[ "$(stat -c %a "$d.out/secrets.json")" = 600 ] || fail "secrets.json mode is not 0600" || return 1
	python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]));
sys.exit(0 if all(a[k]==b[k] for k in a) else 1)' "$d/manifest.json" "$d.out/manifest.json" ||
		fail "manifest metadata differs" || return 1
	run "$B/appkg-pack" --password-file "$PW" "$d.out" -o "$d.again.appkg" && expect_rc 0 || return 1
	cmp "$d.appkg" "$d.again.appkg" || fail "unpack -> pack is not byte-identical"
}

pack_twice_identical() {
	corpus "$W/twice" 150 unicode --no-secrets
	"$B/appkg-pack" "$W/twice" -o "$W/twice1.appkg" && "$B/appkg-pack" -T 4 "$W/twice" -o "$W/twice2.appkg" &&
		cmp "$W/twice1.appkg" "$W/twice2.appkg" || return 1
	# with secrets: a directory that has its secrets.enc (as unpack leaves it)
	corpus "$W/tws" 50 plain
	"$B/appkg-pack" --kdf interactive --password-file "$PW" "$W/tws" -o "$W/tws0.appkg" &&
		"$B/appkg-unpack" --password-file "$PW" "$W/tws0.appkg" -C "$W/tws.out" &&
		"$B/appkg-pack" --password-file "$PW" "$W/tws.out" -o "$W/tws1.appkg" &&
		"$B/appkg-pack" --password-file "$PW" "$W/tws.out" -o "$W/tws2.appkg" &&
		cmp "$W/tws1.appkg" "$W/tws2.appkg" && cmp "$W/tws0.appkg" "$W/tws1.appkg"
}

minimal_manifest() {
	mkdir -p "$W/min/resources/pages"
	printf '{"name": "tiny"}\n' >"$W/min/manifest.json"
	printf '{"title": "x"}' >"$W/min/resources/pages/home.json"
	run "$B/appkg-pack" "$W/min" -o "$W/min.appkg" && expect_rc 0 || return 1
	tar --zstd -xOf "$W/min.appkg" manifest.json | grep -q '"format_version": "1.0"'
}

stdin_and_stdout() {
	corpus "$W/io" 30 plain --no-secrets
	"$B/appkg-pack" "$W/io" -o - >"$W/io.appkg" || return 1
	"$B/appkg-pack" "$W/io" -o "$W/io2.appkg" && cmp "$W/io.appkg" "$W/io2.appkg" || return 1
	cat "$W/io.appkg" | "$B/appkg-unpack" - -C "$W/io.out" && diff -r "$W/io/resources" "$W/io.out/resources"
}

only_one_resource() {
	corpus "$W/one" 40 unicode --no-secrets
	"$B/appkg-pack" "$W/one" -o "$W/one.appkg" || return 1
	f=$(cd "$W/one/resources" && ls pages | head -1)
	run "$B/appkg-unpack" --only "pages/${f%.json}" "$W/one.appkg" -C "$W/one.out" && expect_rc 0 || return 1
	[ "$(find "$W/one.out" -type f | wc -l)" -eq 2 ] && [ -f "$W/one.out/manifest.json" ] && cmp "$W/one/resources/pages/$f" "$W/one.out/resources/pages/$f" || return 1
	run "$B/appkg-unpack" --only "pages/no such" "$W/one.appkg" -C "$W/one.none" && expect_rc 2 && [ ! -e "$W/one.none" ]
}

dest_rules() {
	corpus "$W/dst" 10 plain --no-secrets
	"$B/appkg-pack" "$W/dst" -o "$W/dst.appkg" || return 1
	mkdir -p "$W/full" && echo keep >"$W/full/file"
	run "$B/appkg-unpack" "$W/dst.appkg" -C "$W/full" && expect_rc 4 && expect_one_line appkg-unpack || return 1
	[ "$(cat "$W/full/file")" = keep ] || return 1
	mkdir -p "$W/empty"
	run "$B/appkg-unpack" "$W/dst.appkg" -C "$W/empty" && expect_rc 0 || return 1
	run "$B/appkg-unpack" --force "$W/dst.appkg" -C "$W/full" && expect_rc 0 || return 1
	[ ! -e "$W/full/file" ] && [ -f "$W/full/manifest.json" ] || return 1
	[ -z "$(find "$W" -maxdepth 1 -name '.*unpack-*')" ] || fail "temporary directory left"
}

wrong_password() {
	corpus "$W/wp" 20 plain
	"$B/appkg-pack" --kdf interactive --password-file "$PW" "$W/wp" -o "$W/wp.appkg" || return 1
	run env APPKG_PASSWORD=wrong "$B/appkg-unpack" "$W/wp.appkg" -C "$W/wp.out"
	expect_rc 3 && expect_one_line appkg-unpack && expect_stderr "wrong password" || return 1
	[ ! -e "$W/wp.out" ] && [ -z "$(find "$W" -maxdepth 1 -name '.wp.out*')" ] || fail "output left behind"
}

no_password_keeps_blob() {
	corpus "$W/np" 20 plain
	"$B/appkg-pack" --kdf interactive --password-file "$PW" "$W/np" -o "$W/np.appkg" || return 1
	run "$B/appkg-unpack" "$W/np.appkg" -C "$W/np.out" && expect_rc 0 || return 1
	[ -f "$W/np.out/secrets.enc" ] && [ ! -e "$W/np.out/secrets.json" ] || return 1
	! grep -rqF "$(python3 -c 'import json,sys; print(list(json.load(open(sys.argv[1])).values())[0])' "$W/np/secrets.json")" "$W/np.out" "$W/np.appkg" ||
		fail "a secret value is in plaintext on disk" || return 1
	# carried over unchanged by pack without a password
	run "$B/appkg-pack" "$W/np.out" -o "$W/np2.appkg" && expect_rc 0 && cmp "$W/np.appkg" "$W/np2.appkg"
}

pack_needs_password() {
	corpus "$W/nopw" 5 plain
	run "$B/appkg-pack" "$W/nopw" -o "$W/nopw.appkg" </dev/null
	expect_rc 3 && expect_stderr "password" && [ ! -e "$W/nopw.appkg" ]
}

invalid_json_at_pack() {
	corpus "$W/bad" 10 plain --no-secrets
	printf '{"a": 1,\n  "b": }\n' >"$W/bad/resources/pages/broken.json"
	run "$B/appkg-pack" "$W/bad" -o "$W/bad.appkg"
	expect_rc 1 && expect_one_line appkg-pack && expect_stderr "resources/pages/broken.json: line 2" || return 1
	[ -z "$(ls "$W" | grep 'bad.appkg')" ] || fail "output or temp file left"
}

pack_rejects_links_and_strays() {
	corpus "$W/lnk" 5 plain --no-secrets
	ln -s /etc/passwd "$W/lnk/resources/pages/evil.json"
	mkfifo "$W/lnk/resources/pages/fifo.json"
	echo hi >"$W/lnk/notes.txt" # a side file (spec §6.1): skipped
	echo '{}' >"$W/lnk/notes.json"
	run "$B/appkg-pack" "$W/lnk" -o "$W/lnk.appkg"
	expect_rc 1 && expect_stderr "evil.json: symbolic link" && expect_stderr "fifo.json: special file" &&
		expect_stderr "notes.json: not part of" && [ ! -e "$W/lnk.appkg" ]
}

stock_tools_read_every_package() {
	n=0
	for p in "$W"/*.appkg "$TOP"/tests/vectors/valid/*.appkg; do
		[ -f "$p" ] || continue
		zstd -q -t "$p" && tar --zstd -tf "$p" >/dev/null || fail "stock tools reject $p" || return 1
		n=$((n + 1))
	done
	[ "$n" -ge 10 ] || fail "only $n packages checked"
}

t help_and_version help_and_version
t usage_errors usage_errors
t front_dispatches front_dispatches
t round_trip_plain_names round_trip plain
t round_trip_unicode_names round_trip unicode
t pack_twice_identical pack_twice_identical
t minimal_manifest minimal_manifest
t stdin_and_stdout stdin_and_stdout
t only_one_resource only_one_resource
t dest_rules dest_rules
t wrong_password_exit_3_no_output wrong_password
t no_password_keeps_blob no_password_keeps_blob
t pack_needs_password pack_needs_password
t invalid_json_at_pack invalid_json_at_pack
t pack_rejects_links_and_strays pack_rejects_links_and_strays
t stock_tools_read_every_package stock_tools_read_every_package
