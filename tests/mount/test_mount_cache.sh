# appkg-mount's read path with the kernel's caches on (keep_cache, entry and attribute timeouts,
# READDIRPLUS) and members decoded at their first read rather than at open: what is read is
# always what the mount holds now. An edit is read back through another descriptor and a
# descriptor opened before it; the manifest that a commit rewrites is read anew; a member larger
# than one read comes back whole from any offset; an open file unlinked before its first read
# still reads its bytes after a commit replaced the package; a damaged member still fails, also
# in a frame the reader's read-ahead decoded and checked first; a listing read in batches while
# its directory changes lists each name that stayed once and no name that went. A read-only
# mount, and a read-write one without plaintext secrets, let the kernel open files without
# asking (no OPEN or RELEASE) and still read every byte, unless an empty member needs its check
# at open; a mount that shows secrets keeps its opens.
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

# tamper_frame PKG OUT K MODE: OUT is PKG with data frame K changed. MODE flip: one byte of
# its compressed bytes flipped (the frame does not decode); MODE member: one letter of its
# first member's bytes changed and the frame compressed again with its seek-table entry set
# to the new size (the frame decodes and tiles, that member fails its digest), and the
# member's path printed.
tamper_frame() {
	python3 - "$@" <<'EOF'
import struct, subprocess, sys
src, out, k, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
d = bytearray(open(src, "rb").read())
count = struct.unpack("<I", d[-9:-5])[0]
table = d[-9 - 8 * count:-9]
csize = [struct.unpack("<I", table[8 * i:8 * i + 4])[0] for i in range(count)]
off = sum(csize[:k])
frame = bytes(d[off:off + csize[k]])
if mode == "flip":
    d[off + csize[k] // 2] ^= 0x55
    open(out, "wb").write(d)
    sys.exit(0)
plain = bytearray(subprocess.run(["zstd", "-dcq"], input=frame, check=True,
                                 stdout=subprocess.PIPE).stdout)
if plain[156:157] != b"0":
    sys.exit("frame %d does not start with a plain file entry" % k)
name = plain[0:100].rstrip(b"\0").decode()
prefix = plain[345:500].rstrip(b"\0").decode()
i = 512 + next(j for j, c in enumerate(plain[512:]) if chr(c).isalpha())
plain[i] = ord("q") if plain[i] != ord("q") else ord("z")
open(out + ".frame", "wb").write(plain)
again = subprocess.run(["zstd", "-3", "-qc", out + ".frame"], check=True,
                       stdout=subprocess.PIPE).stdout
at = len(d) - 9 - 8 * count + 8 * k
d[at:at + 4] = struct.pack("<I", len(again))
d[off:off + csize[k]] = again
open(out, "wb").write(d)
print(prefix + "/" + name if prefix else name)
EOF
}

# The resources of a tree in the order of the package's frames (as cat of every file reads).
members_in_order() {
	(cd "$1" && find resources -type f | sort)
}

# A damaged frame in the middle of the package, which the read-ahead decodes while the frame
# before it is read: each of its members fails (EIO) on every read, the others read.
damaged_frame_read_ahead() {
	corpus "$W/dr.src" 400 plain --no-secrets || return 1
	"$B/appkg-pack" "$W/dr.src" -o "$W/dr.good" || return 1
	tamper_frame "$W/dr.good" "$W/dr.appkg" 3 flip || return 1
	mount_up -o ro "$W/dr.appkg" "$W/m.dr" || return 1
	bad=0 good=0
	for pass in 1 2; do
		for f in $(members_in_order "$W/dr.src"); do
			if cmp -s "$W/m.dr/$f" "$W/dr.src/$f"; then
				good=$((good + 1))
			elif cat "$W/m.dr/$f" >/dev/null 2>&1; then
				fail "$f: reads other bytes than it has"
				return 1
			else
				bad=$((bad + 1))
			fi
		done
	done
	fusermount3 -u "$W/m.dr"
	[ $bad -gt 0 ] && [ $good -gt 0 ] && [ $((bad % 2)) -eq 0 ] ||
		fail "$bad unreadable, $good readable reads over two passes"
}

# One member of a frame that decodes fails its digest: read in order (the read-ahead checks
# its frame before it is read), that member fails each time, its neighbours in the same frame
# read their own bytes, and read them again after it.
bad_member_read_ahead() {
	corpus "$W/bm.src" 400 plain --no-secrets || return 1
	"$B/appkg-pack" "$W/bm.src" -o "$W/bm.good" || return 1
	bad=$(tamper_frame "$W/bm.good" "$W/bm.appkg" 3 member) || return 1
	[ -n "$bad" ] && [ -f "$W/bm.src/$bad" ] || fail "tampered member '$bad' unknown" || return 1
	mount_up -o ro "$W/bm.appkg" "$W/m.bm" || return 1
	for pass in 1 2; do
		for f in $(members_in_order "$W/bm.src"); do
			if [ "$f" = "$bad" ]; then
				! cat "$W/m.bm/$f" >/dev/null 2>&1 || fail "$f: tampered, yet read" || return 1
			else
				cmp -s "$W/m.bm/$f" "$W/bm.src/$f" || fail "$f: differs (pass $pass)" || return 1
			fi
		done
	done
	fusermount3 -u "$W/m.bm"
}

# A file edited through the mount while its frame is held by the read-ahead, checked: the
# edit reads back, with the kernel's page cache on, and so does its unedited neighbour.
edit_in_read_ahead_frame() {
	mounted ea || return 1
	set -- $(members_in_order "$W/ea.src")
	first=$1 second=$2
	cat "$W/m.ea/$first" >/dev/null || return 1
	printf '{"edited": true}\n' >"$W/m.ea/$second" || return 1
	[ "$(cat "$W/m.ea/$second")" = '{"edited": true}' ] || fail "the edit does not read back" ||
		return 1
	cmp -s "$W/m.ea/$first" "$W/ea.src/$first" || fail "$first differs" || return 1
	unmount_ok ea
}

# A directory listed in batches while names in it are removed and added: no error, every name
# that stayed is listed once, and each listed name that stayed has its attributes.
listing_while_changed() {
	mounted lc || return 1
	d=$(cd "$W/lc.src" && find resources -mindepth 1 -maxdepth 1 -type d | sort | head -1)
	python3 - "$W/m.lc/$d" <<'EOF' || return 1
import os, sys
d = sys.argv[1]
for i in range(300):
    open(os.path.join(d, "extra-%03d.json" % i), "w").write("{}")
before = sorted(os.listdir(d))
it = os.scandir(d)
seen = [next(it).name for _ in range(5)]
gone = [n for n in before[-40:] if n not in seen]
for n in gone:
    os.unlink(os.path.join(d, n))
for i in range(40):
    open(os.path.join(d, "added-%03d.json" % i), "w").write("{}")
for e in it:
    seen.append(e.name)
    if e.name not in gone:
        e.stat()
stayed = [n for n in before if n not in gone]
twice = [n for n in stayed if seen.count(n) != 1]
if twice:
    sys.exit("listed %s times: %s" % ([seen.count(n) for n in twice[:3]], twice[:3]))
for n in gone:
    if os.path.exists(os.path.join(d, n)):
        sys.exit("%s: unlinked, still there" % n)
for n in os.listdir(d):
    if n.startswith(("extra-", "added-")):
        os.unlink(os.path.join(d, n))
EOF
	unmount_ok lc
}

# debug_mount LOG [OPTION]... PKG DIR: mount with FUSE debug output (foreground, in the
# background here) into LOG, the requests the kernel sends; debug_unmount DIR ends it.
debug_mount() {
	log=$1
	shift
	for last; do :; done
	mkdir -p "$last"
	"$B/appkg-mount" -d "$@" 2>"$log" &
	i=0
	until mountpoint -q "$last"; do
		i=$((i + 1))
		[ $i -lt 500 ] || { fail "$last: not mounted"; return 1; }
		sleep 0.01
	done
	debug_pid=$!
}

debug_unmount() {
	fusermount3 -u "$1" && wait "$debug_pid"
}

requests() { grep -c "opcode: $2 " "$1"; } # requests LOG OPCODE

# A read-only mount answers the first open with ENOSYS: the kernel opens every file without
# asking from then on and never sends RELEASE, and every file still reads its own bytes, twice
# (the second time from the page cache), a large one in pieces too, alternating with another
# read in pieces (the mount keeps the bytes of one such file at a time).
read_only_without_opens() {
	corpus "$W/ro.src" 30 plain --no-secrets || return 1
	python3 - "$W/ro.src/resources/pages" <<'EOF2' || return 1
import json, sys
for name, fill in (("large-a.json", "a"), ("large-b.json", "b")):
    json.dump({"rows": ["row %06d " % i + fill * 40 for i in range(9000)]},
              open("%s/%s" % (sys.argv[1], name), "w"))
EOF2
	"$B/appkg-pack" "$W/ro.src" -o "$W/ro.appkg" || return 1
	debug_mount "$W/ro.log" -o ro "$W/ro.appkg" "$W/m.ro" || return 1
	for pass in 1 2; do
		diff -r "$W/ro.src/resources" "$W/m.ro/resources" >/dev/null ||
			fail "pass $pass: the mount reads other bytes" || return 1
	done
	python3 - "$W/m.ro/resources/pages" "$W/ro.src/resources/pages" <<'EOF2' || return 1
import os, sys
m, src = sys.argv[1:]
fds = {n: os.open(os.path.join(m, n), os.O_RDONLY) for n in ("large-a.json", "large-b.json")}
want = {n: open(os.path.join(src, n), "rb").read() for n in fds}
for off in (300000, 150000, 20000):  # pages the first pass may have left: posix_fadvise drops them
    for n, fd in fds.items():
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        if os.pread(fd, 70000, off) != want[n][off:off + 70000]:
            sys.exit("%s: a read at %d differs" % (n, off))
EOF2
	debug_unmount "$W/m.ro" || return 1
	[ "$(requests "$W/ro.log" OPEN)" -le 1 ] && [ "$(requests "$W/ro.log" RELEASE)" -eq 0 ] ||
		fail "$(requests "$W/ro.log" OPEN) OPEN and $(requests "$W/ro.log" RELEASE) RELEASE requests"
}

# A read-write mount without secrets opens files without asking too: at most one OPEN and no
# RELEASE, also for reads after an edit; one with secrets shown (a password) keeps its opens,
# for secrets.json needs direct_io: one OPEN and one RELEASE for each open, also of a file in
# the page cache.
read_write_opens() {
	mounted rw || return 1
	f=$(nth_resource "$W/rw.src" 1)
	run "$B/appkg-mount" -u "$W/m.rw" && expect_rc 0 || return 1
	debug_mount "$W/rw.log" "$W/rw.appkg" "$W/m.rw" || return 1
	for i in 1 2 3; do
		cmp -s "$W/m.rw/$f" "$W/rw.src/$f" || fail "$f differs" || return 1
	done
	echo '{"edited": 1}' >"$W/m.rw/$f" && cat "$W/m.rw/$f" >/dev/null || return 1
	debug_unmount "$W/m.rw" || return 1
	[ "$(requests "$W/rw.log" OPEN)" -le 1 ] && [ "$(requests "$W/rw.log" RELEASE)" -eq 0 ] ||
		fail "$(requests "$W/rw.log" OPEN) OPEN and $(requests "$W/rw.log" RELEASE) RELEASE requests"
}

read_write_secrets_opens() {
	make_package rs 6 || return 1
	f=$(nth_resource "$W/rs.ref" 1)
	debug_mount "$W/rs.log" --password-file "$W/pw" "$W/rs.appkg" "$W/m.rs" || return 1
	for i in 1 2 3; do
		cmp -s "$W/m.rs/$f" "$W/rs.ref/$f" || fail "$f differs" || return 1
	done
	debug_unmount "$W/m.rs" || return 1
	[ "$(requests "$W/rs.log" OPEN)" -eq 3 ] && [ "$(requests "$W/rs.log" RELEASE)" -eq 3 ] ||
		fail "$(requests "$W/rs.log" OPEN) OPEN and $(requests "$W/rs.log" RELEASE) RELEASE requests"
}

# read_in_order SRC MNT SKIP: read every resource of MNT in path order and compare it with SRC
# (but SKIP); print how many were in the page cache before they were read (mincore), and how
# many differ. After a file that was not, wait (at most 1 s, and only while few waits have
# been in vain) until the next one of its directory is: the pushes run on the daemon's own
# thread, which a loaded machine may delay.
read_in_order() {
	python3 - "$@" <<'EOF'
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
def cached(path):
    size = os.stat(path).st_size
    fd = os.open(path, os.O_RDONLY)
    addr = libc.mmap(None, size, 1, 1, fd, 0)  # PROT_READ, MAP_SHARED: maps, reads nothing
    os.close(fd)
    if addr in (None, ctypes.c_void_p(-1).value):
        sys.exit("mmap of %s failed" % path)
    vec = ctypes.create_string_buffer((size + 4095) // 4096)
    libc.mincore(addr, size, vec)
    libc.munmap(addr, size)
    return all(b & 1 for b in vec.raw)
src, mnt, skip = sys.argv[1:]
files = sorted(os.path.relpath(os.path.join(d, f), mnt)
               for d, _, fs in os.walk(os.path.join(mnt, "resources")) for f in fs)
pushed = differ = waits_failed = 0
for i, f in enumerate(files):
    was = cached(os.path.join(mnt, f))
    pushed += was
    data = open(os.path.join(mnt, f), "rb").read()
    differ += f != skip and data != open(os.path.join(src, f), "rb").read()
    nxt = files[i + 1] if i + 1 < len(files) else None
    if not was and nxt and os.path.dirname(nxt) == os.path.dirname(f) and waits_failed < 8:
        until = time.monotonic() + 1
        while not cached(os.path.join(mnt, nxt)):
            if time.monotonic() > until:
                waits_failed += 1  # a frame's end, or no pushes at all: stop waiting soon
                break
            time.sleep(0.005)
print(len(files), pushed, differ)
EOF
}

# Without opens, a READ that decoded a frame pushes the other small files of that frame in the
# same directory into the page cache: most files are there before they are read and cost no
# READ, each reads its own bytes, and an edit of a pushed file (and one of a file pushed after
# it was written) reads back.
frame_pushed_ahead() {
	corpus "$W/pa.src" 200 plain --no-secrets || return 1
	"$B/appkg-pack" "$W/pa.src" -o "$W/pa.appkg" || return 1
	debug_mount "$W/pa.log" "$W/pa.appkg" "$W/m.pa" || return 1
	ls -R "$W/m.pa" >/dev/null
	f=$(nth_resource "$W/pa.src" 5)
	echo '{"written": "before the push"}' >"$W/m.pa/$f" || return 1
	set -- $(read_in_order "$W/pa.src" "$W/m.pa" "$f")
	[ $# -eq 3 ] && [ "$3" -eq 0 ] || fail "files differ: $*" || return 1
	[ "$2" -gt $(($1 * 3 / 4)) ] || fail "$2 of $1 files pushed before they were read" || return 1
	g=$(nth_resource "$W/pa.src" 9)
	echo '{"written": "after the push"}' >"$W/m.pa/$g" || return 1
	[ "$(cat "$W/m.pa/$f")" = '{"written": "before the push"}' ] &&
		[ "$(cat "$W/m.pa/$g")" = '{"written": "after the push"}' ] || fail "an edit is lost" || return 1
	reads=$(requests "$W/pa.log" READ)
	debug_unmount "$W/m.pa" || return 1
	[ "$reads" -le $(($1 - $2 + 4)) ] || fail "$reads READ requests for $1 files, $2 of them pushed"
}

# A read-only mount of a package with an empty member keeps its opens, for only an open checks
# that member (the kernel never reads it): it fails (EIO) each time, while stat of it works
# and the other files read.
read_only_empty_member() {
	[ -x "$APPKG_BUILD/tests/mkhostile" ] || { echo "no $APPKG_BUILD/tests/mkhostile"; return 1; }
	"$APPKG_BUILD/tests/mkhostile" "$W/hostile" >/dev/null 2>&1 || return 1
	mount_up -o ro --log /dev/null "$W/hostile/device_char.appkg" "$W/m.em" || return 1
	f=$W/m.em/resources/pages/null.json
	cat "$W/m.em/manifest.json" >/dev/null || fail "manifest.json does not read" || return 1
	[ "$(stat -c %s "$f")" = 0 ] || fail "stat of the empty member fails" || return 1
	for i in 1 2; do
		! cat "$f" >/dev/null 2>&1 || fail "the empty member opens ($i)" || return 1
	done
	fusermount3 -u "$W/m.em"
}

t edit_read_back_through_other_descriptors edit_read_back
t manifest_read_anew_after_commit manifest_after_commit
t large_member_whole_from_any_offset large_member
t unlinked_before_first_read_reads_after_commit unlinked_unread_after_commit
t damaged_member_eio_on_every_read damaged_member_eio
t damaged_frame_read_ahead_eio_on_every_read damaged_frame_read_ahead
t bad_member_read_ahead_fails_alone bad_member_read_ahead
t edit_in_read_ahead_frame_reads_back edit_in_read_ahead_frame
t listing_in_batches_while_changed listing_while_changed
t read_only_mount_without_opens read_only_without_opens
t read_write_mount_without_opens read_write_opens
t read_write_mount_with_secrets_keeps_opens read_write_secrets_opens
t read_only_empty_member_checked_at_open read_only_empty_member
t frame_pushed_ahead_to_the_page_cache frame_pushed_ahead
