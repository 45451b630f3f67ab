#!/bin/sh
# A commit costs what changed: the frames of members it did not change are copied as their
# compressed bytes (found byte for byte in the new package, by the seek table), even when the
# edit makes a member much larger; a copied frame damaged on disk between the mount and the
# commit is found, and the package is left as it was; a changed member is read back.
. "$(dirname "$0")/lib.sh"

# frames PKG: one line per frame, "INDEX SHA256" of its compressed bytes (from the seek table).
frames() {
	python3 - "$1" <<'EOF'
import hashlib, struct, sys
d = open(sys.argv[1], "rb").read()
count = struct.unpack("<I", d[-9:-5])[0]
table = d[-9 - 8 * count:-9]
off = 0
for i in range(count):
    c = struct.unpack("<I", table[8 * i:8 * i + 4])[0]
    print(i, hashlib.sha256(d[off:off + c]).hexdigest())
    off += c
EOF
}

nth_resource() { # nth_resource TREE N: the Nth resource path, relative to TREE
	(cd "$1" && find resources -type f -name '*.json' | sort | sed -n "$2p")
}

# An edit that makes one member 30 KB larger (its frame is written anew and may split) leaves
# every other data frame of the package as it was, byte for byte.
unchanged_frames_copied() {
	M=$W/m.copied
	corpus "$W/c.src" 400 plain --no-secrets || return 1
	"$B/appkg-pack" "$W/c.src" -o "$W/c.appkg" && cp "$W/c.appkg" "$W/c.old" || return 1
	frames "$W/c.old" >"$W/old.frames"
	[ "$(wc -l <"$W/old.frames")" -ge 6 ] || fail "the corpus makes too few frames" || return 1
	f=$(nth_resource "$W/c.src" 40)
	mount_up "$W/c.appkg" "$M" || return 1
	python3 - "$M/$f" <<'EOF' || return 1
import json, sys
p = sys.argv[1]
v = json.load(open(p))
v["grown"] = "x" * 30000
open(p, "w").write(json.dumps(v))
EOF
	run "$B/appkg-mount" -u "$M" && expect_rc 0 || return 1
	run "$B/appkg-verify" "$W/c.appkg" && expect_rc 0 || return 1
	frames "$W/c.appkg" | cut -d' ' -f2 >"$W/new.frames"
	# frame 0 (the manifest), the edited member's frame and the end frame aside, each old frame
	# is in the new package
	missing=0
	total=0
	last=$(($(wc -l <"$W/old.frames") - 1))
	while read -r i h; do
		[ "$i" -eq 0 ] || [ "$i" -eq "$last" ] && continue
		total=$((total + 1))
		grep -qx "$h" "$W/new.frames" || missing=$((missing + 1))
	done <"$W/old.frames"
	[ "$missing" -eq 1 ] || fail "$missing of $total data frames are not copied (1 expected: the edited one)"
}

# A byte of a copied frame flipped on disk after the mount: the commit decodes instead of
# copying, finds the damage, and the package is not replaced.
damaged_after_mount_found() {
	M=$W/m.damaged
	corpus "$W/d.src" 400 plain --no-secrets || return 1
	"$B/appkg-pack" "$W/d.src" -o "$W/d.appkg" || return 1
	mount_up "$W/d.appkg" "$M" || return 1
	f=$(nth_resource "$W/d.src" 1)
	echo '{"edited": true}' >"$M/$f" || return 1
	sleep 0.05 # past the file system's timestamp granularity
	flip_late_frame "$W/d.appkg" || return 1
	cp "$W/d.appkg" "$W/d.before"
	run "$B/appkg-mount" --commit "$M" && expect_rc 1 || return 1
	expect_stderr "damaged in the package" || return 1
	cmp -s "$W/d.appkg" "$W/d.before" || fail "the package was replaced" || return 1
	[ "$(temps_beside "$W/d.appkg")" -eq 0 ] || fail "a temporary file was left" || return 1
	# the same byte flipped back: the commit decodes what it would have copied, and succeeds
	flip_late_frame "$W/d.appkg" || return 1
	run "$B/appkg-mount" -u "$M" && expect_rc 0 && "$B/appkg-verify" "$W/d.appkg" >/dev/null
}

# flip_late_frame PKG: flip a byte in the middle of the last data frame but one, in place.
flip_late_frame() {
	python3 - "$1" <<'EOF'
import struct, sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
count = struct.unpack("<I", d[-9:-5])[0]
sizes = [struct.unpack("<I", d[-9 - 8 * count + 8 * i:-9 - 8 * count + 8 * i + 4])[0] for i in range(count)]
at = sum(sizes[:count - 3]) + sizes[count - 3] // 2   # the last data frame but one: not the edited
with open(p, "r+b") as f:
    f.seek(at)
    b = f.read(1)
    f.seek(at)
    f.write(bytes([b[0] ^ 0x55]))
EOF
}

# The changed member is in the new package as it was written in the mount.
changed_member_read_back() {
	M=$W/m.changed
	corpus "$W/e.src" 50 plain --no-secrets || return 1
	"$B/appkg-pack" "$W/e.src" -o "$W/e.appkg" || return 1
	mount_up "$W/e.appkg" "$M" || return 1
	f=$(nth_resource "$W/e.src" 20)
	echo '{"changed": "read back"}' >"$M/$f" || return 1
	run "$B/appkg-mount" -u "$M" && expect_rc 0 || return 1
	"$B/appkg-unpack" "$W/e.appkg" -C "$W/e.out" >/dev/null || fail "unpack" || return 1
	[ "$(cat "$W/e.out/$f")" = '{"changed": "read back"}' ] || fail "the edit is not in the package"
}

t mount_commit_copies_unchanged_frames unchanged_frames_copied
t mount_commit_damage_after_mount_found damaged_after_mount_found
t mount_commit_changed_member_read_back changed_member_read_back
