# appkg-mount against POSIX file semantics that ordinary tools rely on: an open file whose name
# is unlinked or renamed over still answers fstat, fchmod and futimens (tail -f across sed -i,
# Python's TemporaryFile); special files are refused with EPERM; a file stops at 64 MiB (EFBIG),
# the mount at the memory it may hold (ENOSPC), and statfs reports that bound and what is used.
. "$(dirname "$0")/lib.sh"

# A mounted package without secrets at $W/m; $1 names it.
mounted() {
	make_package "$1" 5 --no-secrets && mount_up "$W/$1.appkg" "$W/m"
}

# The mount is committed and unmounted cleanly: side files and hidden files leave no trace.
unmount_ok() {
	run "$B/appkg-mount" -u "$W/m" && expect_rc 0 && "$B/appkg-verify" "$W/$1.appkg" >/dev/null
}

# GNU tail -f follows the descriptor and fstat()s it every interval; sed -i renames a new file
# over the name. tail must neither complain nor stop.
tail_follows_across_sed_i() {
	mounted tl || return 1
	f="$W/m/resources/pages/follow.json"
	printf '{"line": 1}\n' >"$f" || return 1
	tail -s 0.1 -f "$f" >"$W/tail.out" 2>"$W/tail.err" &
	tpid=$!
	sleep 0.5
	edited=0 alive=0
	sed -i 's/1/2/' "$f" && edited=1
	sleep 0.5
	kill -0 "$tpid" 2>/dev/null && alive=1
	kill "$tpid" 2>/dev/null
	wait "$tpid" 2>/dev/null
	[ $edited -eq 1 ] || fail "sed -i failed" || return 1
	[ ! -s "$W/tail.err" ] || fail "tail: $(cat "$W/tail.err")" || return 1
	[ $alive -eq 1 ] || fail "tail stopped" || return 1
	grep -q '"line": 2' "$f" && unmount_ok tl
}

# fstat, fchmod, futimens, ftruncate, read and write on a descriptor whose name was unlinked,
# then on one whose name another file was renamed over; then Python's TemporaryFile.
open_after_unlink_and_rename_over() {
	mounted ur || return 1
	python3 - "$W/m/resources/pages" <<'EOF' || return 1
import os, stat, sys, tempfile
d = sys.argv[1]

def check(fd, label, size):
    st = os.fstat(fd)
    if st.st_size != size or st.st_nlink != 0 or not stat.S_ISREG(st.st_mode):
        sys.exit("%s: fstat size %d nlink %d" % (label, st.st_size, st.st_nlink))
    os.fchmod(fd, 0o640)
    if stat.S_IMODE(os.fstat(fd).st_mode) != 0o640:
        sys.exit("%s: fchmod not seen by fstat" % label)
    os.utime(fd, ns=(1_500_000_000_123_456_789, 1_500_000_000_123_456_789))
    if os.fstat(fd).st_mtime_ns != 1_500_000_000_123_456_789:
        sys.exit("%s: futimens not seen by fstat" % label)
    os.ftruncate(fd, 5000)
    os.pwrite(fd, b"tail", 4998)
    if os.fstat(fd).st_size != 5002 or os.pread(fd, 6, 4996) != b"\0\0tail":
        sys.exit("%s: ftruncate and write not seen" % label)

p, q = d + "/victim.json", d + "/other.json"
with open(p, "w") as f:
    f.write('{"v": 1}')
fd = os.open(p, os.O_RDWR)
os.unlink(p)
check(fd, "unlinked", 8)
os.close(fd)
with open(p, "w") as f:
    f.write('{"v": 2}')
with open(q, "w") as f:
    f.write('{"other": true}')
fd = os.open(p, os.O_RDWR)
os.rename(q, p)
check(fd, "renamed over", 8)
os.close(fd)
if open(p).read() != '{"other": true}':
    sys.exit("the new file under the name changed")
with tempfile.TemporaryFile(dir=d) as t:
    t.write(b"x" * 10000)
    t.flush()
    if os.fstat(t.fileno()).st_size != 10000:
        sys.exit("TemporaryFile: fstat")
    t.truncate(4097)
    t.seek(0)
    if t.read() != b"x" * 4097:
        sys.exit("TemporaryFile: read back")
# the known limit: in a directory removed since, data calls on the descriptor still work
os.mkdir(d + "/gone")
fd = os.open(d + "/gone/f.txt", os.O_RDWR | os.O_CREAT, 0o644)
os.unlink(d + "/gone/f.txt")
os.rmdir(d + "/gone")
os.pwrite(fd, b"still here", 0)
os.ftruncate(fd, 5)
if os.pread(fd, 100, 0) != b"still":
    sys.exit("descriptor in a removed directory")
os.close(fd)
names = sorted(os.listdir(d))
if any(n.startswith(".fuse_hidden") for n in names) or "victim.json" not in names:
    sys.exit("listing: %s" % names)
EOF
	unmount_ok ur
}

# mkfifo, mknod, symlink and link: EPERM, as the README says (a package holds none of them).
special_files_eperm() {
	mounted sp || return 1
	python3 - "$W/m/resources/pages" <<'EOF' || return 1
import errno, os, stat, sys
d = sys.argv[1]
for label, op in (("mkfifo", lambda: os.mkfifo(d + "/fifo")),
                  ("mknod fifo", lambda: os.mknod(d + "/node", 0o600 | stat.S_IFIFO)),
                  ("mknod socket", lambda: os.mknod(d + "/sock", 0o600 | stat.S_IFSOCK)),
                  ("symlink", lambda: os.symlink("x.json", d + "/link")),
                  ("link", lambda: os.link(d + "/" + sorted(os.listdir(d))[0], d + "/hard"))):
    try:
        op()
        sys.exit(label + ": allowed")
    except OSError as e:
        if e.errno != errno.EPERM:
            sys.exit("%s: %s, expected EPERM" % (label, os.strerror(e.errno)))
os.mknod(d + "/plain.txt", 0o644 | stat.S_IFREG)  # a regular file is fine
EOF
	unmount_ok sp
}

# 64 MiB per file: a write stops there and the next one is EFBIG; truncate past it is EFBIG.
file_size_cap_efbig() {
	mounted fc || return 1
	python3 - "$W/m/resources/pages/big.bin" <<'EOF' || return 1
import errno, os, sys
cap = 64 << 20
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
n = os.pwrite(fd, b"a" * 10000, cap - 5000)  # crosses the cap: cut short there
if n != 5000 or os.fstat(fd).st_size != cap:
    sys.exit("%d written, size %d, after a write across the cap" % (n, os.fstat(fd).st_size))
for label, op in (("write", lambda: os.pwrite(fd, b"b", cap)),
                  ("ftruncate", lambda: os.ftruncate(fd, cap + 1))):
    try:
        op()
        sys.exit(label + " past 64 MiB allowed")
    except OSError as e:
        if e.errno != errno.EFBIG:
            sys.exit("%s: %s, expected EFBIG" % (label, os.strerror(e.errno)))
os.close(fd)
os.unlink(sys.argv[1])
EOF
	unmount_ok fc
}

# statfs: the total is the bound on bytes held (1 GiB), the used part what is held; side files
# beyond the bound give ENOSPC, and removing one makes room again.
held_bound_and_statfs() {
	mounted hb || return 1
	python3 - "$W/m" <<'EOF' || return 1
import errno, os, sys
m = sys.argv[1]
d = m + "/resources"
GiB, MiB = 1 << 30, 1 << 20

def used():
    s = os.statvfs(m)
    if s.f_blocks * s.f_frsize != GiB or s.f_bavail != s.f_bfree:
        sys.exit("statfs: %d blocks of %d" % (s.f_blocks, s.f_frsize))
    return (s.f_blocks - s.f_bfree) * s.f_frsize

base = used()
with open(d + "/one.bin", "wb") as f:
    f.write(b"x" * MiB)
grown = used() - base
if not MiB <= grown <= MiB + 8192:
    sys.exit("statfs: 1 MiB written, used grew by %d" % grown)
os.unlink(d + "/one.bin")
if used() != base:
    sys.exit("statfs: used did not shrink back")
n = 0
while True:                                  # side files at the per-file cap until full
    fd = os.open("%s/.side%d.swp" % (d, n), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.ftruncate(fd, 64 * MiB)
    except OSError as e:
        if e.errno != errno.ENOSPC:
            sys.exit("truncate %d: %s, expected ENOSPC" % (n, os.strerror(e.errno)))
        break
    finally:
        os.close(fd)
    n += 1
    if n > 16:
        sys.exit("more than 1 GiB held")
if n < 15:
    sys.exit("full after %d files of 64 MiB" % n)
free = os.statvfs(m).f_bavail * 4096
try:
    with open(d + "/more.txt", "wb") as f:
        f.write(b"y" * (free + 8192))
    sys.exit("write past the bound allowed")
except OSError as e:
    if e.errno != errno.ENOSPC:
        sys.exit("write: %s, expected ENOSPC" % os.strerror(e.errno))
if used() < GiB - 4096:
    sys.exit("statfs: %d used when full" % used())
os.unlink("%s/.side0.swp" % d)
with open(d + "/more.txt", "wb") as f:
    f.write(b"z" * MiB)
for i in range(1, n + 1):
    os.unlink("%s/.side%d.swp" % (d, i))
EOF
	unmount_ok hb
}

t tail_follows_across_sed_i tail_follows_across_sed_i
t fstat_fchmod_futimens_after_unlink_and_rename_over open_after_unlink_and_rename_over
t mkfifo_mknod_symlink_link_eperm special_files_eperm
t file_size_cap_64mib_efbig file_size_cap_efbig
t held_bytes_bound_enospc_and_statfs held_bound_and_statfs
