# Progress of a mount commit (issue 11): `appkg-mount --commit` and `-u` show the commit's
# progress, read from the daemon while it writes; on a terminal the line is erased at the end,
# a piped stderr stays empty on success, --quiet and --progress force it off and on.
. "$(dirname "$0")/lib.sh"

ERASE=$(printf '\r\033[K')
corpus "$W/src" 1500 plain --no-secrets && "$B/appkg-pack" "$W/src" -o "$W/p.appkg" ||
	echo "FAIL: fixture package"

# edit_all M: change every resource, so that the commit compresses every member again (at
# -l 19, so that it lasts long enough for the client to see it under way).
edit_all() {
	python3 - "$1" <<'PY'
import glob, json, sys
for p in glob.glob(sys.argv[1] + "/resources/*/*.json"):
    d = json.load(open(p))
    d["edited"] = d.get("edited", 0) + 1
    json.dump(d, open(p, "w"))
PY
}

commit_progress_on_terminal() {
	M=$W/m.tty
	mount_up -l 19 "$W/p.appkg" "$M" && edit_all "$M" || return 1
	script -qec "'$B/appkg-mount' --commit --progress '$M'" /dev/null >"$W/tty" 2>&1 ||
		fail "commit failed: $(cat "$W/tty")" || return 1
	grep -aq "appkg-mount: committing: .*/1501 members" "$W/tty" ||
		{ cat -A "$W/tty" | head -c 400; fail "no progress line"; return 1; }
	[ "$(tail -c 4 "$W/tty")" = "$ERASE" ] || fail "the line was not erased at the end" || return 1
	"$B/appkg-mount" -u "$M" && "$B/appkg-verify" "$W/p.appkg"
}

commit_progress_piped_and_forced() {
	M=$W/m.pipe
	mount_up -l 19 "$W/p.appkg" "$M" && edit_all "$M" || return 1
	run "$B/appkg-mount" --commit "$M" && expect_rc 0 || return 1
	[ ! -s "$W/stderr" ] || fail "a piped commit wrote to stderr" || return 1
	edit_all "$M" || return 1
	run "$B/appkg-mount" --commit -q "$M" && expect_rc 0 && [ ! -s "$W/stderr" ] || return 1
	edit_all "$M" || return 1
	run "$B/appkg-mount" -u --progress "$M" && expect_rc 0 || return 1
	grep -q "^appkg-mount: committing: .* members" "$W/stderr" || fail "--progress drew nothing"
}

t mount_commit_progress_on_terminal commit_progress_on_terminal
t mount_commit_progress_piped_and_forced commit_progress_piped_and_forced
