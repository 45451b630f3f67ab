# appkg-pack and the tools' shared front end against ordinary mistakes (issue 10, items 2, 3, 4,
# 5, 10, 11, 12 and 14): a mistyped password, a renamed resource, a stale secrets.enc or
# signature, side files in a git checkout, several manifest problems at once, and the messages
# of bad arguments. Prompts are answered on a pseudo-terminal (at_prompt in lib.sh).
. "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=1767225600
PW="$W/pw"
echo "correct horse" >"$PW"
echo "correct hrose" >"$W/typo"

# A package with secrets, unpacked with its password: DIR has secrets.json and secrets.enc.
unpacked_with_secrets() { # unpacked_with_secrets NAME
	corpus "$W/$1.src" 6 plain &&
		"$B/appkg-pack" --kdf interactive --password-file "$PW" "$W/$1.src" -o "$W/$1.appkg" &&
		"$B/appkg-unpack" --password-file "$PW" "$W/$1.appkg" -C "$W/$1"
}

# Item 2: a wrong password never re-seals the secrets (file, environment and prompt).
wrong_password_refused() {
	unpacked_with_secrets wp || return 1
	run "$B/appkg-pack" --password-file "$W/typo" "$W/wp" -o "$W/wp1.appkg"
	expect_rc 3 && expect_one_line appkg-pack && expect_stderr "secrets.enc: wrong password" || return 1
	run env APPKG_PASSWORD="correct hrose" "$B/appkg-pack" "$W/wp" -o "$W/wp1.appkg"
	expect_rc 3 && expect_one_line appkg-pack && [ ! -e "$W/wp1.appkg" ] || fail "typo accepted" || return 1
	run "$B/appkg-pack" --password-file "$PW" "$W/wp" -o "$W/wp2.appkg"
	expect_rc 0 && cmp "$W/wp.appkg" "$W/wp2.appkg"
}

wrong_password_at_prompt() {
	unpacked_with_secrets wt || return 1
	at_prompt "correct hrose" "$B/appkg-pack" "$W/wt" -o "$W/wt1.appkg"
	[ "$rc" -eq 3 ] && grep -q "wrong password" "$W/tty" && [ ! -e "$W/wt1.appkg" ] ||
		{ cat "$W/tty"; fail "exit $rc, expected 3"; } || return 1
	at_prompt "correct horse" "$B/appkg-pack" "$W/wt" -o "$W/wt2.appkg"
	[ "$rc" -eq 0 ] && cmp "$W/wt.appkg" "$W/wt2.appkg" || { cat "$W/tty"; fail "exit $rc, expected 0"; }
}

# Item 2: a new password (no secrets.enc) typed at the prompt is asked twice and must match.
new_password_asked_twice() {
	corpus "$W/np" 4 plain || return 1
	at_prompt "first,second" "$B/appkg-pack" --kdf interactive "$W/np" -o "$W/np.appkg"
	[ "$rc" -eq 3 ] && grep -q "passwords differ" "$W/tty" && [ ! -e "$W/np.appkg" ] ||
		{ cat "$W/tty"; fail "exit $rc, expected 3"; } || return 1
	at_prompt "same one,same one" "$B/appkg-pack" --kdf interactive "$W/np" -o "$W/np.appkg"
	[ "$rc" -eq 0 ] && [ "$(grep -c "Password: " "$W/tty")" -eq 2 ] || { cat "$W/tty"; fail "exit $rc"; } || return 1
	echo "same one" >"$W/np.pw"
	run "$B/appkg-verify" --password-file "$W/np.pw" "$W/np.appkg" && expect_rc 0 || return 1
	# from a file or the environment it is read once, as before
	run env APPKG_PASSWORD=x "$B/appkg-pack" --kdf interactive "$W/np" -o "$W/np2.appkg" && expect_rc 0
}

# Item 3: a renamed resource keeps the pack from dropping its entry silently.
moved_entry_reported() {
	corpus "$W/mv" 6 plain --no-secrets && "$B/appkg-pack" "$W/mv" -o "$W/mv.appkg" &&
		"$B/appkg-unpack" "$W/mv.appkg" -C "$W/mv.d" || return 1
	from=$(cd "$W/mv.d" && find resources -name '*.json' | sort | head -n 1)
	gone=$(cd "$W/mv.d" && find resources -name '*.json' | sort | tail -n 1)
	mv "$W/mv.d/$from" "$W/mv.d/${from%.json}-renamed.json" && rm "$W/mv.d/$gone" || return 1
	run "$B/appkg-pack" "$W/mv.d" -o "$W/mv2.appkg"
	expect_rc 1 && [ "$(wc -l <"$W/stderr")" -eq 2 ] && [ ! -e "$W/mv2.appkg" ] || fail "not refused" || return 1
	grep "$from: listed, but there is no such file; ${from%.json}-renamed.json has the same content" "$W/stderr" |
		grep -q -- "--prune" || fail "rename not named" || return 1
	expect_stderr "$gone: listed, but there is no such file; restore it" || return 1
	run "$B/appkg-pack" --prune "$W/mv.d" -o "$W/mv2.appkg" && expect_rc 0 || return 1
	run "$B/appkg-verify" "$W/mv2.appkg" && expect_rc 0
}

# Item 4: secrets.json edited after unpack while secrets.enc still holds the old values.
stale_secrets_enc() {
	unpacked_with_secrets ss || return 1
	printf '{"API_TOKEN": "new value"}\n' >"$W/ss/secrets.json"
	cp "$W/ss/secrets.enc" "$W/ss.old.enc"
	run "$B/appkg-pack" --password-file "$PW" "$W/ss" -o "$W/ss1.appkg"
	expect_rc 1 && expect_one_line appkg-pack && expect_stderr "secrets.json differs from secrets.enc" &&
		[ ! -e "$W/ss1.appkg" ] || return 1
	run "$B/appkg-pack" --update-secrets-enc --password-file "$PW" "$W/ss" -o "$W/ss1.appkg"
	expect_rc 0 && ! cmp -s "$W/ss.old.enc" "$W/ss/secrets.enc" || fail "secrets.enc not rewritten" || return 1
	[ "$(stat -c %a "$W/ss/secrets.enc")" = 644 ] && [ -z "$(find "$W/ss" -name '.secrets.enc*')" ] || return 1
	# a clone without secrets.json now packs the new secret, and the next pack agrees
	mkdir "$W/clone" && cp -r "$W/ss/manifest.json" "$W/ss/resources" "$W/ss/secrets.enc" "$W/clone/" &&
		"$B/appkg-pack" "$W/clone" -o "$W/clone.appkg" &&
		"$B/appkg-unpack" --password-file "$PW" "$W/clone.appkg" -C "$W/clone.out" || return 1
	cmp "$W/ss/secrets.json" "$W/clone.out/secrets.json" || fail "the clone packed old secrets" || return 1
	run "$B/appkg-pack" --password-file "$PW" "$W/ss" -o "$W/ss2.appkg" && expect_rc 0 && cmp "$W/ss1.appkg" "$W/ss2.appkg"
}

# Item 5: a carried signature that no longer covers the manifest is left out, with a notice.
stale_signature_dropped() {
	corpus "$W/sg" 5 plain --no-secrets && "$B/appkg-keygen" -W -p "$W/k.pub" -s "$W/k.sec" &&
		"$B/appkg-pack" --sign "$W/k.sec" "$W/sg" -o "$W/sg.appkg" &&
		"$B/appkg-unpack" "$W/sg.appkg" -C "$W/sg.d" || return 1
	run "$B/appkg-pack" "$W/sg.d" -o "$W/same.appkg" && expect_rc 0 && [ ! -s "$W/stderr" ] || return 1
	run "$B/appkg-verify" --require-signature --pubkey "$W/k.pub" "$W/same.appkg" && expect_rc 0 || return 1
	printf '{"edited": true}\n' >"$W/sg.d/resources/pages/new.json"
	run "$B/appkg-pack" "$W/sg.d" -o "$W/edited.appkg"
	expect_rc 0 && expect_one_line appkg-pack && expect_stderr "manifest.json.minisig: left out" || return 1
	! tar --zstd -tf "$W/edited.appkg" | grep -q minisig || fail "stale signature carried" || return 1
	run "$B/appkg-verify" --pubkey "$W/k.pub" "$W/edited.appkg" && expect_rc 0 || return 1
	run "$B/appkg-pack" --sign "$W/k.sec" "$W/sg.d" -o "$W/resigned.appkg" && expect_rc 0 && [ ! -s "$W/stderr" ] || return 1
	run "$B/appkg-verify" --require-signature --pubkey "$W/k.pub" "$W/resigned.appkg" && expect_rc 0
}

# Item 10: each message names its subject, once, on one line.
sign_key_named() {
	corpus "$W/sk" 3 plain --no-secrets || return 1
	run "$B/appkg-pack" --sign "$W/nosuch.sec" "$W/sk" -o "$W/sk.appkg"
	expect_rc 4 && expect_one_line appkg-pack && expect_stderr "nosuch.sec: cannot open: No such file"
}

missing_dir_message() {
	cd "$W" || return 1
	run "$B/appkg-pack" nosuchdir -o x.appkg
	expect_rc 4 && [ "$(cat "$W/stderr")" = "appkg-pack: 'nosuchdir': No such file or directory" ] ||
		fail "unexpected message"
}

parse_error_once() {
	corpus "$W/pe" 3 plain --no-secrets || return 1
	printf '{"name": \n' >"$W/pe/manifest.json"
	run "$B/appkg-pack" "$W/pe" -o "$W/pe.appkg"
	expect_rc 1 && expect_one_line appkg-pack && expect_stderr "manifest.json: line 2"
}

bad_option_one_line() {
	for p in appkg-pack appkg-unpack appkg-verify appkg-keygen appkg-mount; do
		run "$B/$p" --x
		expect_rc 2 && [ "$(cat "$W/stderr")" = "$p: unrecognized option '--x' (see $p --help)" ] ||
			fail "$p: unexpected message" || return 1
	done
	run "$B/appkg-pack" -o && expect_rc 2 && expect_one_line appkg-pack && expect_stderr "'-o' needs an argument" || return 1
	run "$B/appkg-pack" && expect_rc 2 && expect_one_line appkg-pack && expect_stderr "missing DIR"
}

colon_name_says_escape() {
	corpus "$W/cn" 3 plain --no-secrets || return 1
	printf '{}\n' >"$W/cn/resources/pages/a:b.json"
	run "$B/appkg-pack" "$W/cn" -o "$W/cn.appkg"
	expect_rc 1 && expect_one_line appkg-pack && expect_stderr "a:b.json: ':' is written %3A" || return 1
	mv "$W/cn/resources/pages/a:b.json" "$W/cn/resources/pages/a%3Ab.json" || return 1
	run "$B/appkg-pack" "$W/cn" -o "$W/cn.appkg" && expect_rc 0
}

# Item 11: the files of a git checkout and an editor are side files; misplaced .json are errors.
side_files_skipped() {
	corpus "$W/sf" 5 plain --no-secrets && "$B/appkg-pack" "$W/sf" -o "$W/sf.appkg" || return 1
	t1=$(cd "$W/sf/resources" && ls | head -n 1)
	mkdir "$W/sf/.git" && echo "[core]" >"$W/sf/.git/config" && echo "*.swp" >"$W/sf/.gitignore" &&
		: >"$W/sf/.DS_Store" && echo "# notes" >"$W/sf/README.md" && mkdir "$W/sf/docs" &&
		echo '{}' >"$W/sf/docs/example.json" && echo '{' >"$W/sf/resources/$t1/x.json~" &&
		echo junk >"$W/sf/resources/$t1/.x.json.swp" && : >"$W/sf/resources/$t1/4913" || return 1
	run "$B/appkg-pack" "$W/sf" -o "$W/sf2.appkg"
	expect_rc 0 && [ ! -s "$W/stderr" ] && cmp "$W/sf.appkg" "$W/sf2.appkg" || fail "side files not skipped" || return 1
	echo '{}' >"$W/sf/notes.json" && echo '{}' >"$W/sf/resources/loose.json" &&
		mkdir "$W/sf/resources/$t1/deeper" || return 1
	run "$B/appkg-pack" "$W/sf" -o "$W/sf3.appkg"
	expect_rc 1 && [ "$(wc -l <"$W/stderr")" -eq 3 ] && expect_stderr "': notes.json: not part of" &&
		expect_stderr "resources/loose.json: not part of" && expect_stderr "resources/$t1/deeper: not part of" &&
		[ ! -e "$W/sf3.appkg" ]
}

# No manifest.json beside another problem: both are named, and the missing manifest is not
# mistaken for a manifest entry (no --prune hint).
no_manifest_with_other_problem() {
	corpus "$W/nm" 3 plain --no-secrets && rm "$W/nm/manifest.json" && echo '{}' >"$W/nm/notes.json" ||
		return 1
	run "$B/appkg-pack" "$W/nm" -o "$W/nm.appkg"
	expect_rc 1 && [ "$(wc -l <"$W/stderr")" -eq 2 ] && expect_stderr "': notes.json: not part of" &&
		expect_stderr "': manifest.json: missing" && ! grep -q -- --prune "$W/stderr" &&
		[ ! -e "$W/nm.appkg" ]
}

# Item 12: every manifest problem in one run, with the resource problems beside them.
every_problem_at_once() {
	corpus "$W/ep" 6 plain --no-secrets && "$B/appkg-pack" "$W/ep" -o "$W/ep.appkg" &&
		"$B/appkg-unpack" "$W/ep.appkg" -C "$W/ep.d" || return 1
	python3 - "$W/ep.d/manifest.json" <<'EOF' || return 1
import json, sys
m = json.load(open(sys.argv[1]))
r = m["resources"]
r[0]["mode"] = "replace"
r[1]["depends_on"] = ["pages/nothing-here"]
r[2]["id"] = 42
r.append({"path": "resources/pages/never-there.json"})
json.dump(m, open(sys.argv[1], "w"), indent=2)
EOF
	bad=$(cd "$W/ep.d" && find resources -name '*.json' | sort | tail -n 1)
	printf '{"a": }\n' >"$W/ep.d/$bad"
	run "$B/appkg-pack" "$W/ep.d" -o "$W/ep2.appkg"
	expect_rc 1 && [ "$(wc -l <"$W/stderr")" -eq 5 ] && expect_stderr "mode must be one of" &&
		expect_stderr "pages/nothing-here" && expect_stderr "id must be a string" &&
		expect_stderr "never-there.json: listed, but there is no such file" &&
		expect_stderr "$bad: line 1" && [ ! -e "$W/ep2.appkg" ]
}

# Item 14: the front lists every tool and `appkg help CMD` shows the command's own help.
front_help() {
	run "$B/appkg" --help && expect_rc 0 || return 1
	for t in "$RAW_B"/appkg-*; do # every tool is listed, and every command listed exists
		grep -q "^  ${t##*/appkg-} " "$W/stdout" || fail "appkg --help lacks ${t##*/appkg-}" || return 1
	done
	for c in $(sed -n 's/^  \([a-z]*\) .*/\1/p' "$W/stdout"); do
		[ -x "$RAW_B/appkg-$c" ] || fail "appkg --help lists $c, which does not exist" || return 1
	done
	"$B/appkg-pack" --help >"$W/pack.help" || return 1
	run "$B/appkg" help pack && expect_rc 0 && cmp "$W/stdout" "$W/pack.help" || fail "appkg help pack differs" || return 1
	run "$B/appkg" help nosuch && expect_rc 2 && expect_one_line appkg
}

t wrong_password_refused wrong_password_refused
t wrong_password_at_prompt wrong_password_at_prompt
t new_password_asked_twice new_password_asked_twice
t moved_entry_reported moved_entry_reported
t stale_secrets_enc stale_secrets_enc
t stale_signature_dropped stale_signature_dropped
t sign_key_named sign_key_named
t missing_dir_message missing_dir_message
t parse_error_once parse_error_once
t bad_option_one_line bad_option_one_line
t colon_name_says_escape colon_name_says_escape
t side_files_skipped side_files_skipped
t every_problem_at_once every_problem_at_once
t no_manifest_with_other_problem no_manifest_with_other_problem
t front_help front_help
