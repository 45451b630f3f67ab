# Progress on stderr (issue 11): under a terminal (script -qc) a pack that takes a few seconds
# draws a progress line (bytes, members, rate, time left) and erases it at the end; a short run
# shows nothing; a piped stderr stays empty on success; --quiet and --progress force it off and
# on, in pack, unpack, verify, rekey and merge.
. "$(dirname "$0")/lib.sh"

EX=$TOP/examples/crm-console
printf 'progress password\n' >"$W/pw"
ERASE=$(printf '\r\033[K')

# on_tty OUT CMD: run CMD with a terminal as stdin, stdout and stderr; what it drew goes to OUT.
on_tty() {
	out=$1
	shift
	script -qec "$*" /dev/null >"$out" 2>&1 </dev/null
}

big_corpus() {
	[ -d "$W/big" ] || python3 "$TOP/tests/tools/gen-corpus.py" --resources 900 --avg-size 8192 \
		--seed 11 --out "$W/big" >/dev/null 2>&1
}

long_pack_shows_progress() {
	command -v script >/dev/null || fail "script(1) is missing" || return 1
	big_corpus || fail "corpus" || return 1
	start=$(date +%s)
	# one thread: the test needs a pack of a few seconds, and -T 0 (a thread per CPU) may
	# finish within the second before progress shows
	on_tty "$W/tty" "'$B/appkg-pack' -T 1 -l 19 --kdf interactive --password-file '$W/pw' '$W/big' \
		-o '$W/big.appkg'" || fail "pack failed: $(cat "$W/tty")" || return 1
	took=$(($(date +%s) - start))
	[ "$took" -ge 2 ] || fail "the pack took ${took}s: too short to show progress" || return 1
	grep -aq "appkg-pack: packing: .* MiB / .* MiB (.*%), .*/902 members, .*/s, .* left" "$W/tty" ||
		{ cat -A "$W/tty" | head -c 400; fail "no progress line"; return 1; }
	# nothing left on the screen: the last thing written erases the line
	[ "$(tail -c 4 "$W/tty")" = "$ERASE" ] || fail "the line was not erased at the end"
}

piped_stderr_empty() {
	big_corpus || return 1
	"$B/appkg-pack" -l 19 --kdf interactive --password-file "$W/pw" "$W/big" -o "$W/piped.appkg" \
		2>"$W/err" | cat || return 1
	[ ! -s "$W/err" ] || fail "pack wrote to a piped stderr: $(head -c 200 "$W/err")" || return 1
	"$B/appkg-unpack" "$W/piped.appkg" -C "$W/piped.d" 2>&1 | cat >"$W/err"
	"$B/appkg-verify" "$W/piped.appkg" 2>&1 | cat >>"$W/err"
	[ ! -s "$W/err" ] || fail "unpack or verify wrote to a piped stderr"
}

short_run_shows_nothing() {
	on_tty "$W/short" "'$B/appkg-pack' --kdf interactive --password-file '$W/pw' '$EX' \
		-o '$W/short.appkg'" || return 1
	[ ! -s "$W/short" ] || { cat -A "$W/short"; fail "a short pack drew something"; }
}

quiet_and_forced() {
	big_corpus && [ -f "$W/big.appkg" ] || long_pack_shows_progress || return 1
	on_tty "$W/q" "'$B/appkg-pack' -q -l 19 --password-file '$W/pw' '$W/big' -o '$W/q.appkg'" ||
		return 1
	[ ! -s "$W/q" ] || fail "--quiet drew progress" || return 1
	# --progress on a pipe: plain lines, and for a short run too
	run "$B/appkg-verify" --progress "$W/short.appkg" && expect_rc 0 &&
		grep -q "^appkg-verify: verifying: .* members" "$W/stderr" || return 1
	run "$B/appkg-unpack" --progress "$W/short.appkg" -C "$W/forced.d" && expect_rc 0 &&
		grep -q "^appkg-unpack: unpacking: " "$W/stderr" || return 1
	printf 'new\n' >"$W/new"
	run "$B/appkg-rekey" --progress --password-file "$W/pw" --new-password-file "$W/new" \
		"$W/short.appkg" && expect_rc 0 && grep -q "^appkg-rekey: rekeying: " "$W/stderr" || return 1
	run "$B/appkg-merge" --progress "$W/short.appkg" -o "$W/merged.appkg" && expect_rc 0 &&
		grep -q "^appkg-merge: merging: " "$W/stderr" || return 1
	run "$B/appkg-merge" -q "$W/short.appkg" -o "$W/merged-q.appkg" && expect_rc 0 &&
		! grep -q "merging" "$W/stderr"
}

forced_on_tty_erased() {
	for cmd in "'$B/appkg-verify' --progress '$W/big.appkg'" \
		"'$B/appkg-unpack' --progress '$W/big.appkg' -C '$W/tty.d'"; do
		on_tty "$W/f" "$cmd" || fail "$cmd failed" || return 1
		grep -aq "members" "$W/f" && [ "$(tail -c 4 "$W/f")" = "$ERASE" ] ||
			{ cat -A "$W/f" | head -c 300; fail "$cmd: no progress or not erased"; return 1; }
	done
}

t progress_long_pack_on_terminal long_pack_shows_progress
t progress_piped_stderr_empty piped_stderr_empty
t progress_short_run_shows_nothing short_run_shows_nothing
t progress_quiet_and_forced quiet_and_forced
t progress_forced_on_terminal_erased forced_on_tty_erased
