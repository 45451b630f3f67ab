# appkg-mount and ordinary mistakes (issue 10): a rename keeps a resource's manifest entry, a
# recovery directory says what it lacks, a signed package stays signed (or loses a stale
# signature, saying so), a damaged package is refused or named member by member, pack and the
# mount agree on side files, one commit reports every problem, and a mount point that is not
# empty or already mounted is refused, with commit results in a log that can be found.
. "$(dirname "$0")/lib.sh"

# Item 3: mv in the mount carries mode, id, depends_on and unknown fields to the new name, and
# depends_on elsewhere follows; rm drops the entry.
rename_carries_entry() {
	M=$W/m.rename_carries_entry
	corpus "$W/r.src" 20 plain --no-secrets || return 1
	a=$(nth_resource "$W/r.src" 3) c=$(nth_resource "$W/r.src" 7) d=$(nth_resource "$W/r.src" 9)
	dep=${a#resources/}
	set_entries "$W/r.src/manifest.json" "
entries['$a'].update(mode='overwrite', id='A-17', depends_on=[], x_note='kept')
entries['$d'].update(depends_on=['${dep%.json}'])" || return 1
	"$B/appkg-pack" "$W/r.src" -o "$W/r.appkg" || return 1
	mount_up "$W/r.appkg" "$M" || return 1
	b=$(dirname "$a")/renamed.json
	mv "$M/$a" "$M/$b" && rm "$M/$c" || return 1
	run "$B/appkg-mount" -u "$M" && expect_rc 0 || return 1
	got=$(entry "$W/r.appkg" "$b")
	for want in '"mode": "overwrite"' '"id": "A-17"' '"x_note": "kept"'; do
		case $got in *"$want"*) ;; *) fail "entry of $b lacks $want: $got"; return 1 ;; esac
	done
	[ "$(entry "$W/r.appkg" "$a")" = null ] && [ "$(entry "$W/r.appkg" "$c")" = null ] ||
		fail "entries of the old name or the removed file remain" || return 1
	b_dep=${b#resources/}
	case $(entry "$W/r.appkg" "$d") in *"\"${b_dep%.json}\""*) ;; *) fail "depends_on did not follow"; return 1 ;; esac
	run "$B/appkg-verify" "$W/r.appkg" && expect_rc 0
}

# Item 3: a refused commit of a damaged package keeps the edits in a directory that says what
# it lacks, and that pack refuses rather than making a package with less than it held.
damaged_recovery_incomplete() {
	M=$W/m.damaged_recovery_incomplete
	corpus "$W/d.src" 20 plain --no-secrets || return 1
	"$B/appkg-pack" "$W/d.src" -o "$W/d.good" && damage_frame "$W/d.good" "$W/d.appkg" || return 1
	mount_up "$W/d.appkg" "$M" || return 1
	echo '{"edited": true}' >"$M/resources/pages/edited.json" || return 1
	pid=$(mount_pid "$M")
	fusermount3 -u "$M" && wait_gone "$pid" || return 1
	e="$W/d.appkg.edits"
	[ -f "$e/resources/pages/edited.json" ] && [ -f "$e/RECOVERY-INCOMPLETE.json" ] ||
		fail "no marker in the recovery directory" || return 1
	python3 - "$e" <<'EOF' || return 1
import json, os, sys
e = sys.argv[1]
listed = [r["path"] for r in json.load(open(e + "/manifest.json"))["resources"]]
missing = json.load(open(e + "/RECOVERY-INCOMPLETE.json"))["missing"]
absent = [p for p in listed if not os.path.exists(os.path.join(e, p))]
assert missing and sorted(missing) == sorted(absent), (missing, absent)
EOF
	grep -q "edits kept in '$e', without [0-9]* file" "$XDG_STATE_HOME/appkg/mount.log" ||
		fail "the log does not say what is missing" || return 1
	run "$B/appkg-pack" "$e" -o "$W/d.repacked"
	[ "$rc" -ne 0 ] && [ ! -e "$W/d.repacked" ] || fail "an incomplete recovery packed"
}

# Item 5: --sign re-signs at commit; without it a commit drops the stale signature, saying so.
signed_stays_signed() {
	M=$W/m.signed_stays_signed
	corpus "$W/s.src" 10 plain --no-secrets || return 1
	echo "key password" >"$W/kpw"
	"$B/appkg-keygen" -p "$W/k.pub" -s "$W/k.sec" --password-file "$W/kpw" || return 1
	APPKG_KEY_PASSWORD="key password" "$B/appkg-pack" --sign "$W/k.sec" "$W/s.src" -o "$W/s.appkg" &&
		"$B/appkg-verify" --pubkey "$W/k.pub" "$W/s.appkg" || return 1
	mkdir -p "$M"
	run "$B/appkg-mount" --sign "$W/k.sec" --key-password-file "$W/pw-wrong" "$W/s.appkg" "$M"
	expect_rc 4 && expect_one_line appkg-mount && ! mountpoint -q "$M" || return 1
	echo "wrong" >"$W/pw-wrong"
	run "$B/appkg-mount" --sign "$W/k.sec" --key-password-file "$W/pw-wrong" "$W/s.appkg" "$M"
	expect_rc 3 && expect_one_line appkg-mount && ! mountpoint -q "$M" || return 1
	mount_up --sign "$W/k.sec" --key-password-file "$W/kpw" "$W/s.appkg" "$M" || return 1
	echo '{"signed": "edit"}' >"$M/resources/pages/signed.json"
	run "$B/appkg-mount" -u "$M" && expect_rc 0 || return 1
	run "$B/appkg-verify" --pubkey "$W/k.pub" "$W/s.appkg" && expect_rc 0 || return 1
	# without --sign: the commit would make the signature stale, so it is dropped
	mount_up "$W/s.appkg" "$M" || return 1
	echo '{"unsigned": "edit"}' >"$M/resources/pages/unsigned.json"
	run "$B/appkg-mount" -u "$M" && expect_rc 0 && expect_stderr "manifest.json.minisig: dropped" || return 1
	! tar --zstd -tf "$W/s.appkg" | grep -q minisig || fail "stale signature kept" || return 1
	run "$B/appkg-verify" "$W/s.appkg" && expect_rc 0 || return 1
	# an unsigned package mounted with --sign: signed at the commit, then nothing left to commit
	mount_up --sign "$W/k.sec" --key-password-file "$W/kpw" "$W/s.appkg" "$M" || return 1
	echo '{"signed": "again"}' >"$M/resources/pages/unsigned.json"
	run "$B/appkg-mount" --commit "$M" && expect_rc 0 && cp "$W/s.appkg" "$W/s.committed" &&
		[ -f "$M/manifest.json.minisig" ] || fail "signature not shown after the commit" || return 1
	run "$B/appkg-mount" -u "$M" && expect_rc 0 && cmp "$W/s.appkg" "$W/s.committed" &&
		"$B/appkg-verify" --pubkey "$W/k.pub" "$W/s.appkg"
}

# Item 7: damage seen at open refuses the mount; damage seen later is named member by member,
# with advice that fits.
damaged_package_named() {
	M=$W/m.damaged_package_named
	corpus "$W/c.src" 20 plain --no-secrets || return 1
	"$B/appkg-pack" "$W/c.src" -o "$W/c.good" && damage_frame "$W/c.good" "$W/c.appkg" || return 1
	python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[40] ^= 0x55
open(sys.argv[2], "wb").write(d)' "$W/c.good" "$W/c0.appkg" || return 1
	mkdir -p "$M"
	run "$B/appkg-mount" "$W/c0.appkg" "$M" && expect_rc 1 && expect_one_line appkg-mount &&
		! mountpoint -q "$M" || fail "damaged frame 0 mounted" || return 1
	mount_up "$W/c.appkg" "$M" || return 1
	if cat "$M/resources"/*/*.json >/dev/null 2>&1; then
		fail "damaged members read"
		return 1
	fi
	echo '{"edited": true}' >"$M/resources/pages/edited.json"
	run "$B/appkg-mount" -u "$M" && expect_rc 1 || return 1
	grep -v "commit refused" "$W/stderr" >"$W/lines"
	[ -s "$W/lines" ] && ! grep -v "'$W/c.appkg': resources/[a-z]*/[^:]*\.json: .*damaged in the package" "$W/lines" ||
		fail "a line does not name the damaged member" || return 1
	# a damaged file renamed in the mount cannot be committed either, and says so
	mv "$M/$(nth_resource "$M" 1)" "$M/resources/pages/moved.json" || return 1
	run "$B/appkg-mount" -u "$M" && expect_rc 1 || return 1
	grep -v "commit refused" "$W/stderr" >"$W/lines"
	[ -s "$W/lines" ] && ! grep -v "'$W/c.appkg': resources/[a-z]*/[^:]*\.json: .*damaged in the package" "$W/lines" ||
		fail "a line does not name the damaged member" || return 1
	! grep -q ': $' "$W/stderr" && expect_stderr "commit refused, the edits are still in the mount" || return 1
	mountpoint -q "$M" && fusermount3 -uz "$M"
}

# Item 11: the mount commits what pack packs; side files by the library's rule.
side_files_as_pack() {
	M=$W/m.side_files_as_pack
	corpus "$W/p.src" 10 plain --no-secrets || return 1
	"$B/appkg-pack" "$W/p.src" -o "$W/p.appkg" || return 1
	mount_up "$W/p.appkg" "$M" || return 1
	mkdir -p "$M/docs" "$M/resources/.trash" || return 1
	echo '{"doc": 1}' >"$M/docs/notes.json"
	echo '{"old": 1}' >"$M/resources/.trash/old.json"
	echo '{"k": 1}' >"$M/resources/pages/kept.json"
	run "$B/appkg-mount" -u "$M" && expect_rc 0 || return 1
	tar --zstd -tf "$W/p.appkg" >"$W/list"
	grep -qx resources/pages/kept.json "$W/list" && ! grep -q '^docs/\|/\.trash/' "$W/list" ||
		fail "side files committed"
}

# Item 12: a JSON error, a bad name, a bad mode, a dangling dependency and an entry without a
# file, all in one commit report.
every_problem_at_once() {
	M=$W/m.every_problem_at_once
	corpus "$W/o.src" 10 plain --no-secrets || return 1
	"$B/appkg-pack" "$W/o.src" -o "$W/o.appkg" || return 1
	x=$(nth_resource "$W/o.src" 2) y=$(nth_resource "$W/o.src" 4) z=$(nth_resource "$W/o.src" 6)
	mount_up "$W/o.appkg" "$M" || return 1
	printf '{\n  "a": 1,\n  oops\n}\n' >"$M/$x"
	echo '{"bad": "name"}' >"$M/resources/pages/a:b.json"
	set_entries "$M/manifest.json" "
entries['$y']['mode'] = 'bogus'
entries['$z']['depends_on'] = ['nosuch/thing']
entries['resources/pages/ghost.json']['mode'] = 'create'" || return 1
	run "$B/appkg-mount" -u "$M" && expect_rc 1 || return 1
	expect_stderr "$x: line 3" && expect_stderr "$y: mode must be one of" &&
		expect_stderr "$z: depends_on \"nosuch/thing\" names no resource" &&
		expect_stderr "resources/pages/ghost.json: listed, but there is no such file" &&
		expect_stderr "a:b" || return 1
	mountpoint -q "$M" && fusermount3 -uz "$M"
}

# The problems of the manifest's plan are reported before the files' (the plan runs first), and
# a manifest that is not JSON still leaves every file checked.
line_of() { grep -n -- "$1" "$W/stderr" | head -1 | cut -d: -f1; }
problems_in_order() {
	M=$W/m.problems_in_order
	corpus "$W/q.src" 10 plain --no-secrets || return 1
	"$B/appkg-pack" "$W/q.src" -o "$W/q.appkg" || return 1
	x=$(nth_resource "$W/q.src" 1) y=$(nth_resource "$W/q.src" 8)
	mount_up "$W/q.appkg" "$M" || return 1
	echo '{"a": oops}' >"$M/$x"
	echo 'not json' >"$M/resources/zzz.json"
	set_entries "$M/manifest.json" "entries['$y']['mode'] = 'bogus'" || return 1
	run "$B/appkg-mount" -q --commit "$M" && expect_rc 1 || return 1
	expect_stderr "$y: mode must be one of" && expect_stderr "$x: line 1" &&
		expect_stderr "resources/zzz.json: not committed" || return 1
	[ "$(line_of "mode must be one of")" -lt "$(line_of "$x: line 1")" ] &&
		[ "$(line_of "$x: line 1")" -lt "$(line_of "zzz.json: not committed")" ] ||
		fail "problems out of order" || return 1
	echo '{"name": ' >"$M/manifest.json"
	run "$B/appkg-mount" -q --commit "$M" && expect_rc 1 || return 1
	expect_stderr "manifest.json" && expect_stderr "$x: line 1" &&
		expect_stderr "resources/zzz.json: not committed" || return 1
	fusermount3 -uz "$M"
}

# Item 13: a mount point that is not empty or already mounted is refused with one line; the
# default log is announced at mount time and holds a refusal at a plain unmount.
mount_point_checked_log_found() {
	M=$W/m.mount_point_checked_log_found
	corpus "$W/t.src" 10 plain --no-secrets || return 1
	"$B/appkg-pack" "$W/t.src" -o "$W/t.appkg" || return 1
	mkdir -p "$W/full" && echo keep >"$W/full/file"
	run "$B/appkg-mount" "$W/t.appkg" "$W/full"
	expect_rc 4 && expect_one_line appkg-mount && expect_stderr "not empty" && ! mountpoint -q "$W/full" || return 1
	mkdir -p "$M"
	log="$XDG_STATE_HOME/appkg/mount.log" # named at mount time on a terminal only
	script -qec "'$B/appkg-mount' '$W/t.appkg' '$M'" /dev/null >"$W/tty" 2>&1 &&
		grep -q "^appkg-mount: .*commit results are logged in '$log'" "$W/tty" || fail "no log path: $(cat "$W/tty")" || return 1
	pid=$(mount_pid "$M")
	run "$B/appkg-mount" "$W/t.appkg" "$M"
	expect_rc 4 && expect_one_line appkg-mount && expect_stderr "already a mount point" || return 1
	[ "$(awk -v m="$M" '$2 == m' /proc/mounts | wc -l)" -eq 1 ] || fail "stacked mounts" || return 1
	echo 'not json' >"$M/resources/pages/broken.json"
	fusermount3 -u "$M" && wait_gone "$pid" || return 1
	grep -q '^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z .*broken.json' "$log" &&
		grep -q "commit refused" "$log" || fail "the log lacks the refusal: $(cat "$log")"
}

t mount_rename_carries_manifest_entry rename_carries_entry
t mount_damaged_recovery_says_what_it_lacks damaged_recovery_incomplete
t mount_sign_resigns_or_drops_stale signed_stays_signed
t mount_damaged_package_named_by_member damaged_package_named
t mount_side_files_as_pack side_files_as_pack
t mount_commit_reports_every_problem every_problem_at_once
t mount_point_checked_and_log_found mount_point_checked_log_found
t mount_commit_plan_problems_first problems_in_order
