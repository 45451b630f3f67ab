# appkg-mount's read path with the kernel's caches on (keep_cache, entry and attribute timeouts,
# READDIRPLUS) and members decoded at their first read rather than at open: what is read is
# always what the mount holds now. An edit is read back through another descriptor and a
# descriptor opened before it; the manifest that a commit rewrites is read anew; a member larger
# than one read comes back whole from any offset; an open file unlinked before its first read
# still reads its bytes after a commit replaced the package; a damaged member still fails.
. "$(dirname "$0")/lib.sh"

# A package without secrets whose manifest lists each resource, mounted at $W/m.$1.
mounted() {
	corpus "$W/$1.src" 6 plain --no-secrets || return 1
	python3 - "$W/$1.src" <<'EOF' || return 1
import json, os, sys
top = sys.argv[1]
m = json.load(open(os.path.join(top, "manifest.json")))
m["resources"] = [{"path": os.path.relpath(os.path.join(d, f), top)}
                  for d, _, fs in os.walk(os.path.join(top, "resources")) for f in sorted(fs)]
m["resources"].sort(key=lambda e: e["path"])
json.dump(m, open(os.path.join(top, "manifest.json"), "w"), indent=2)
EOF
	"$B/appkg-pack" "$W/$1.src" -o "$W/$1.appkg" && mount_up "$W/$1.appkg" "$W/m.$1"
}

unmount_ok() {
	run "$B/appkg-mount" -u "$W/m.$1" && expect_rc 0 && "$B/appkg-verify" "$W/$1.appkg" >/dev/null
}

nth_resource() { # nth_resource TREE N: the Nth resource path, relative to TREE
	(cd "$1" && find resources -type f -name '*.json' | sort | sed -n "$2p")
}

# Read (into the page cache), edit through another descriptor, read again: the new bytes, from
# a new descriptor and from one opened before the edit; a listing shows the new size.
edit_read_back() {
	mounted ed || return 1
	f=$(nth_resource "$W/ed.src" 2)
	python3 - "$W/m.ed/$f" <<'EOF' || return 1
import os, sys
p = sys.argv[1]
before = open(p, "rb").read()
held = os.open(p, os.O_RDONLY)
if os.pread(held, len(before) + 10, 0) != before:
    sys.exit("first read differs")
new = b'{"edited": "' + b"x" * (len(before) + 100) + b'"}\n'
with open(p, "wb") as w:
    w.write(new)
if open(p, "rb").read() != new:
    sys.exit("a new descriptor reads the old bytes")
if os.pread(held, len(new) + 10, 0) != new:
    sys.exit("a descriptor opened before the edit reads the old bytes")
if os.stat(p).st_size != len(new):
    sys.exit("stat: size %d, not %d" % (os.stat(p).st_size, len(new)))
names = {e.name: e.stat().st_size for e in os.scandir(os.path.dirname(p))}
if names[os.path.basename(p)] != len(new):
    sys.exit("listing: old size")
with open(p, "r+b") as w:
    w.truncate(len(new) - 3)
    w.write(b'{"short": 1}')
if open(p, "rb").read() != b'{"short": 1}' + new[12:len(new) - 3]:
    sys.exit("a truncated and rewritten file reads other bytes")
with open(p, "wb") as w:
    w.write(b'{"final": 1}\n')
EOF
	unmount_ok ed
}

# rm drops the resource's entry from the manifest the commit writes: reading manifest.json
# after `--commit` (its old bytes were in the page cache) gives the committed manifest.
manifest_after_commit() {
	mounted mc || return 1
	f=$(nth_resource "$W/mc.src" 3)
	grep -q "\"$f\"" "$W/m.mc/manifest.json" || fail "$f not in the manifest" || return 1
	rm "$W/m.mc/$f" || return 1
	run "$B/appkg-mount" --commit "$W/m.mc" && expect_rc 0 || return 1
	if grep -q "\"$f\"" "$W/m.mc/manifest.json"; then
		fail "the mount still shows the manifest from before the commit"
		return 1
	fi
	"$B/appkg-unpack" "$W/mc.appkg" -C "$W/mc.out" >/dev/null || return 1
	diff "$W/m.mc/manifest.json" "$W/mc.out/manifest.json" ||
		fail "manifest.json in the mount differs from the package's" || return 1
	unmount_ok mc
}

# A resource of 600 KiB (several reads of the kernel's largest size): whole with cat, and the
# same bytes when the first read is in the middle.
large_member() {
	corpus "$W/lg.src" 3 plain --no-secrets || return 1
	python3 - "$W/lg.src/resources/pages/large.json" <<'EOF' || return 1
import json, sys
json.dump({"rows": ["row %06d " % i + "y" * 40 for i in range(12000)]}, open(sys.argv[1], "w"))
EOF
	"$B/appkg-pack" "$W/lg.src" -o "$W/lg.appkg" || return 1
	mount_up -o ro "$W/lg.appkg" "$W/m.lg" || return 1
	src=$W/lg.src/resources/pages/large.json
	python3 - "$W/m.lg/resources/pages/large.json" "$src" <<'EOF' || return 1
import os, sys
want = open(sys.argv[2], "rb").read()
fd = os.open(sys.argv[1], os.O_RDONLY)
mid = len(want) // 2 + 4097
if os.pread(fd, 70000, mid) != want[mid:mid + 70000]:
    sys.exit("a read from the middle differs")
os.close(fd)
if open(sys.argv[1], "rb").read() != want:
    sys.exit("the whole file differs")
EOF
	cmp -s "$W/m.lg/resources/pages/large.json" "$src" || fail "cat differs" || return 1
	fusermount3 -u "$W/m.lg"
}

# An open file unlinked before its first read, then a commit that replaces the package: the
# descriptor still reads the bytes it had.
unlinked_unread_after_commit() {
	mounted ul || return 1
	f=$(nth_resource "$W/ul.src" 4)
	python3 - "$W/m.ul" "$f" "$W/ul.src/$f" <<'EOF' || return 1
import os, sys
m, f, ref = sys.argv[1:]
want = open(ref, "rb").read()
fd = os.open(os.path.join(m, f), os.O_RDONLY)
os.unlink(os.path.join(m, f))
os.setxattr(m, "user.appkg.commit", b"1")
if os.pread(fd, len(want) + 10, 0) != want:
    sys.exit("the unlinked file reads other bytes after the commit")
os.close(fd)
EOF
	unmount_ok ul
}

# Members of a damaged frame fail their read (EIO) now that they are decoded at the first read,
# a second time as well, while a member of a sound frame reads.
damaged_member_eio() {
	corpus "$W/dm.src" 400 plain --no-secrets || return 1
	"$B/appkg-pack" "$W/dm.src" -o "$W/dm.good" || return 1
	damage_frame "$W/dm.good" "$W/dm.appkg" || return 1
	mount_up -o ro "$W/dm.appkg" "$W/m.dm" || return 1
	bad=0 good=0
	for f in $(cd "$W/dm.src" && find resources -type f | sort); do
		if cat "$W/m.dm/$f" >/dev/null 2>&1; then
			good=$((good + 1))
		else
			bad=$((bad + 1))
			cat "$W/m.dm/$f" >/dev/null 2>&1 && { fail "$f: read once failed, then read"; return 1; }
		fi
	done
	fusermount3 -u "$W/m.dm"
	[ $bad -gt 0 ] && [ $good -gt 0 ] || fail "$bad unreadable, $good readable members"
}

t edit_read_back_through_other_descriptors edit_read_back
t manifest_read_anew_after_commit manifest_after_commit
t large_member_whole_from_any_offset large_member
t unlinked_before_first_read_reads_after_commit unlinked_unread_after_commit
t damaged_member_eio_on_every_read damaged_member_eio
