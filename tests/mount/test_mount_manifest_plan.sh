# The manifest at a commit is walked entry by entry (mount/entries.c), not parsed as one tree:
# entries in any JSON form still follow renames and unlinks, every byte of the manifest still
# goes through a JSON parser (a manifest that is not JSON is refused as before, naming it), and
# the entries a commit keeps are the user's text, byte for byte.
. "$(dirname "$0")/lib.sh"

# edit_text FILE PYTHON: change the text of FILE in place; the code sees and sets `t`.
edit_text() {
	python3 - "$1" "$2" <<'EOF'
import sys
p = sys.argv[1]
t = open(p).read()
exec(sys.argv[2])
open(p, "w").write(t)
EOF
}

# Entries in unusual but valid forms: a "resources" key written with an escape, an entry with
# escapes and non-ASCII text, one with odd spacing. A rename and an unlink still carry and drop
# their entries, and the unknown fields stay.
odd_forms_followed() {
	M=$W/m.odd
	corpus "$W/o.src" 12 plain --no-secrets || return 1
	a=$(nth_resource "$W/o.src" 2) c=$(nth_resource "$W/o.src" 5) d=$(nth_resource "$W/o.src" 8)
	dep=${a#resources/}
	"$B/appkg-pack" "$W/o.src" -o "$W/o.appkg" && mount_up "$W/o.appkg" "$M" || return 1
	set_entries "$M/manifest.json" "
entries['$a'].update(mode='overwrite', x_note='caf\u00e9 \"quoted\" \\\\ back')
entries['$d'].update(depends_on=['${dep%.json}'])" || return 1
	edit_text "$M/manifest.json" "
t = t.replace('\"resources\"', '\"resour\\\\u0063es\"', 1)
t = t.replace('\"mode\": \"create\"', '\"mode\"  :\n\t\"create\"', 1)" || return 1
	grep -q 'resour\\u0063es' "$M/manifest.json" || fail "the key was not escaped" || return 1
	b=$(dirname "$a")/renamed.json
	mv "$M/$a" "$M/$b" && rm "$M/$c" || return 1
	run "$B/appkg-mount" -u "$M" && expect_rc 0 || return 1
	got=$(entry "$W/o.appkg" "$b")
	for want in '"mode": "overwrite"' '"x_note": "café \"quoted\" \\ back"'; do
		case $got in *"$want"*) ;; *) fail "entry of $b lacks $want: $got"; return 1 ;; esac
	done
	[ "$(entry "$W/o.appkg" "$a")" = null ] && [ "$(entry "$W/o.appkg" "$c")" = null ] ||
		fail "entries of the old name or the removed file remain" || return 1
	b_dep=${b#resources/}
	case $(entry "$W/o.appkg" "$d") in *"\"${b_dep%.json}\""*) ;; *) fail "depends_on did not follow"; return 1 ;; esac
	"$B/appkg-verify" -q "$W/o.appkg" || fail "the package does not verify"
}

# A manifest that is not JSON, wherever the fault is (inside an entry the plan reads from its
# bytes, between entries, at the top level), is refused with the parser's message; the package
# is not changed, and a good manifest commits again.
not_json_refused() {
	M=$W/m.bad
	corpus "$W/b.src" 6 plain --no-secrets || return 1
	"$B/appkg-pack" "$W/b.src" -o "$W/b.appkg" && mount_up "$W/b.appkg" "$M" || return 1
	x=$(nth_resource "$W/b.src" 3)
	echo '{"edited": true}' >"$M/$x"
	cp "$M/manifest.json" "$W/good.json" && cp "$W/b.appkg" "$W/b.before" || return 1
	for change in \
		"t = t.replace('{\n      \"depends_on\"', '{\"path\": \"x\", \"path\": \"y\",\n      \"depends_on\"', 1)" \
		"import re; t = re.sub(r'\"size\": (\d+)', r'\"size\": 0\1', t, count=1)" \
		"t = t.replace('}\n  ]', '},\n  ]', 1)" \
		"t = t.replace('\"mode\": \"create\"', '\"mode\": \"cre\x01ate\"', 1)" \
		"t = t.replace('\"name\"', '\"name\" \"', 1)" \
		"t = t[:-3]" \
		"t = t[:t.index('\"resources\"') + 12]"; do
		cp "$W/good.json" "$M/manifest.json" && edit_text "$M/manifest.json" "$change" || return 1
		cmp -s "$W/good.json" "$M/manifest.json" && { fail "no change made: $change"; return 1; }
		run "$B/appkg-mount" --commit "$M"
		expect_rc 1 && expect_stderr "manifest.json" || { fail "($change)"; return 1; }
		cmp -s "$W/b.appkg" "$W/b.before" || fail "the package changed ($change)" || return 1
	done
	cp "$W/good.json" "$M/manifest.json"
	run "$B/appkg-mount" --commit "$M" && expect_rc 0 || return 1
	run "$B/appkg-mount" -u "$M" && expect_rc 0 &&
		"$B/appkg-verify" -q "$W/b.appkg" || fail "the package does not verify"
}

# A commit refused at a plain unmount keeps the edits: the recovered manifest.json has the user's
# entries as they were written, the renamed one at its new path, and packs.
recovered_keeps_text() {
	M=$W/m.rec
	corpus "$W/r.src" 8 plain --no-secrets || return 1
	a=$(nth_resource "$W/r.src" 2) bad=$(nth_resource "$W/r.src" 6)
	"$B/appkg-pack" "$W/r.src" -o "$W/r.appkg" && mount_up "$W/r.appkg" "$M" || return 1
	set_entries "$M/manifest.json" "entries['$a'].update(mode='merge', x_keep=[1, 2.5, True])" || return 1
	edit_text "$M/manifest.json" "t = t.replace('\"mode\": \"create\"', '\"mode\":   \"create\"', 1)" || return 1
	b=$(dirname "$a")/moved.json
	mv "$M/$a" "$M/$b" && echo '{"a": 1, oops}' >"$M/$bad" || return 1
	pid=$(mount_pid "$M")
	fusermount3 -u "$M" && wait_gone "$pid" || return 1
	e=$W/r.appkg.edits
	grep -q '"mode":   "create"' "$e/manifest.json" || fail "the user's text was not kept" || return 1
	python3 - "$e/manifest.json" "$a" "$b" <<'EOF' || fail "recovered entries: $(cat "$e/manifest.json")" || return 1
import json, sys
m = json.load(open(sys.argv[1]))
paths = {x["path"]: x for x in m["resources"]}
assert sys.argv[2] not in paths, "old path kept"
assert paths[sys.argv[3]]["mode"] == "merge" and paths[sys.argv[3]]["x_keep"] == [1, 2.5, True]
EOF
	echo '{"fixed": true}' >"$e/$bad"
	"$B/appkg-pack" "$e" -o "$W/r2.appkg" && "$B/appkg-verify" -q "$W/r2.appkg" ||
		fail "the recovered tree does not pack"
}

t mount_plan_follows_entries_in_odd_forms odd_forms_followed
t mount_plan_refuses_what_is_not_json not_json_refused
t mount_plan_recovery_keeps_user_text recovered_keeps_text
