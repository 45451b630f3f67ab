#!/usr/bin/env python3
"""Mount model test: apply the same random file operations to a mounted package and to a plain
shadow directory, and compare the two after every step: the outcome (errno or the bytes and
attributes returned), the listing, every file's contents and mode, and fstat of every open
descriptor.

Usage: model.py SEED OPS MOUNT SHADOW [final]
Operations touch resources/m0..m2/ with a few names: .json files (committed) and side files
(never committed). Besides calls by path (write, create, truncate, chmod, rename, unlink, mkdir,
rmdir, rm -r), up to four descriptors stay open across operations, as fsx keeps its file open: pread,
pwrite, ftruncate up and down, fstat, fchmod and futimens on them, reads and writes through a
shared mmap, close and open again. Offsets and sizes cluster around 4 KiB page boundaries, and
names are unlinked or renamed over while open, so the descriptor outlives its name.
With `final`, every .json file is then rewritten as valid JSON in both trees so that the caller
can commit, remount and compare the committed files.

One known limit is allowed: once the directory of an unlinked open file is removed too,
libfuse can no longer name the file, and fstat, fchmod and futimens on it give ESTALE (or
attributes the kernel cached), so for such a file only data calls are compared.
"""
import errno
import hashlib
import mmap
import os
import random
import stat
import sys

DIRS = ["resources/m0", "resources/m1", "resources/m2"]
NAMES = ["a.json", "b.json", "c.json", "notes.txt", ".a.json.swp", "x~"]
SLOTS = 4
PAGE = 4096
MODES = [0o600, 0o640, 0o644, 0o664, 0o700, 0o755]
OPENS = [os.O_RDONLY, os.O_RDWR, os.O_RDWR, os.O_WRONLY, os.O_RDWR | os.O_CREAT,
         os.O_WRONLY | os.O_CREAT, os.O_RDWR | os.O_TRUNC]


class Tree:
    """One side of the comparison: a directory and the descriptors open in it."""

    def __init__(self, root):
        self.root = root
        self.fds = [None] * SLOTS

    def path(self, rel):
        return os.path.join(self.root, rel)


def outcome(fn):
    try:
        return ("ok", fn())
    except OSError as e:
        return ("errno", errno.errorcode.get(e.errno, str(e.errno)))


def pick(rng):
    return rng.choice(DIRS) + "/" + rng.choice(NAMES)


def offset(rng):
    """An offset or size, often a few bytes either side of a page boundary."""
    if rng.random() < 0.5:
        return max(0, PAGE * rng.randrange(0, 7) + rng.randrange(-3, 4))
    return rng.randrange(0, 6 * PAGE + 1)


def length(rng):
    return rng.choice([rng.randrange(0, 300), rng.randrange(0, 3 * PAGE), PAGE,
                       PAGE + rng.randrange(-2, 3)])


def payload(rng):
    return rng.randbytes(length(rng))


def fstat_view(fd):
    st = os.fstat(fd)
    return (st.st_size, stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_nlink)


def by_fd(slot, fn):
    """An operation on an open descriptor; a closed slot is an outcome of its own."""
    def run(t):
        if t.fds[slot] is None:
            return "closed"
        return fn(t.fds[slot])
    return run


def op_write(t, path, off, data):
    fd = os.open(t.path(path), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        return os.pwrite(fd, data, off)
    finally:
        os.close(fd)


def op_create(t, path, data):
    with open(t.path(path), "wb") as f:
        f.write(data)


def op_open(t, slot, path, flags):
    if t.fds[slot] is not None:
        os.close(t.fds[slot])
        t.fds[slot] = None
    t.fds[slot] = os.open(t.path(path), flags, 0o644)


def op_close(t, slot):
    if t.fds[slot] is None:
        return "closed"
    os.close(t.fds[slot])
    t.fds[slot] = None


def mapped(fd, writable, fn):
    """Map the whole file shared and run fn on the map; an empty file is not mapped."""
    size = os.lseek(fd, 0, os.SEEK_END)  # by the descriptor, as fsx does
    if size == 0:
        return "empty"
    prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
    m = mmap.mmap(fd, size, mmap.MAP_SHARED, prot)
    try:
        return fn(m, size)
    finally:
        m.close()


def mmap_read(fd, off, n):
    return mapped(fd, False, lambda m, size: m[min(off, size):min(off + n, size)])


def mmap_write(fd, off, data, sync):
    def put(m, size):
        start = min(off, size)
        end = min(start + len(data), size)
        m[start:end] = data[:end - start]
        if sync:
            m.flush()
        return end - start
    return mapped(fd, True, put)


def futimens(fd, ns):
    os.utime(fd, ns=(ns, ns))
    return os.fstat(fd).st_mtime_ns


def fchmod(fd, mode):
    os.fchmod(fd, mode)
    return stat.S_IMODE(os.fstat(fd).st_mode)


def rmtree(t, d):
    """rm -r of one of DIRS (they hold only files)."""
    for name in sorted(os.listdir(t.path(d))):
        os.unlink(t.path(d + "/" + name))
    os.rmdir(t.path(d))


def path_op(rng, kind):
    path = pick(rng)
    if kind == "write":
        off, data = offset(rng), payload(rng)
        return "write %s @%d +%d" % (path, off, len(data)), lambda t: op_write(t, path, off, data)
    if kind == "create":
        data = payload(rng)
        return "create %s +%d" % (path, len(data)), lambda t: op_create(t, path, data)
    if kind == "truncate":
        size = offset(rng)
        return "truncate %s %d" % (path, size), lambda t: os.truncate(t.path(path), size)
    if kind == "chmod":
        mode = rng.choice(MODES)
        return "chmod %s %o" % (path, mode), lambda t: os.chmod(t.path(path), mode)
    if kind == "rename":
        to = pick(rng) if rng.random() < 0.8 else rng.choice(DIRS)
        return "rename %s %s" % (path, to), lambda t: os.rename(t.path(path), t.path(to))
    if kind == "unlink":
        return "unlink " + path, lambda t: os.unlink(t.path(path))
    d = rng.choice(DIRS)
    if kind == "mkdir":
        return "mkdir " + d, lambda t: os.mkdir(t.path(d))
    if kind == "rmtree":
        return "rmtree " + d, lambda t: rmtree(t, d)
    return "rmdir " + d, lambda t: os.rmdir(t.path(d))


def fd_op(rng, kind):
    s = rng.randrange(SLOTS)
    if kind == "open":
        path, flags = pick(rng), rng.choice(OPENS)
        return "open [%d] %s 0%o" % (s, path, flags), lambda t: op_open(t, s, path, flags)
    if kind == "close":
        return "close [%d]" % s, lambda t: op_close(t, s)
    if kind == "pread":
        off, n = offset(rng), length(rng)
        return "pread [%d] @%d +%d" % (s, off, n), by_fd(s, lambda fd: os.pread(fd, n, off))
    if kind == "pwrite":
        off, data = offset(rng), payload(rng)
        return ("pwrite [%d] @%d +%d" % (s, off, len(data)),
                by_fd(s, lambda fd: os.pwrite(fd, data, off)))
    if kind == "ftruncate":
        size = offset(rng)
        return "ftruncate [%d] %d" % (s, size), by_fd(s, lambda fd: os.ftruncate(fd, size))
    if kind == "fstat":
        return "fstat [%d]" % s, by_fd(s, fstat_view)
    if kind == "fchmod":
        mode = rng.choice(MODES)
        return "fchmod [%d] %o" % (s, mode), by_fd(s, lambda fd: fchmod(fd, mode))
    if kind == "futimens":
        ns = rng.randrange(10 ** 18, 2 * 10 ** 18)
        return "futimens [%d] %d" % (s, ns), by_fd(s, lambda fd: futimens(fd, ns))
    if kind == "mmap_read":
        off, n = offset(rng), length(rng)
        return "mmap read [%d] @%d +%d" % (s, off, n), by_fd(s, lambda fd: mmap_read(fd, off, n))
    off, data, sync = offset(rng), payload(rng), rng.random() < 0.5
    return ("mmap write [%d] @%d +%d%s" % (s, off, len(data), " msync" if sync else ""),
            by_fd(s, lambda fd: mmap_write(fd, off, data, sync)))


PATH_OPS = ["write", "create", "truncate", "chmod", "rename", "rename", "unlink", "unlink",
            "mkdir", "rmdir", "rmtree"]
FD_OPS = ["open", "open", "close", "pread", "pwrite", "pwrite", "ftruncate", "fstat", "fchmod",
          "futimens", "mmap_read", "mmap_write", "mmap_write"]


def make_op(rng):
    """One random operation as (description, metadata-only, function of a Tree)."""
    if rng.random() < 0.45:
        kind = rng.choice(PATH_OPS)
        return path_op(rng, kind) + (False,)
    kind = rng.choice(FD_OPS)
    return fd_op(rng, kind) + (kind in ("fstat", "fchmod", "futimens"),)


def snapshot(root):
    """{relative path: (mode, sha256 or 'dir')} for DIRS, and {inode: path} of the files."""
    out, inodes = {}, {}
    for d in DIRS:
        for base, subdirs, files in os.walk(os.path.join(root, d)):
            rel = os.path.relpath(base, root)
            out[rel] = (os.stat(base).st_mode, "dir")
            for f in files:
                p = os.path.join(base, f)
                st = os.stat(p)
                with open(p, "rb") as fh:
                    out[os.path.join(rel, f)] = (st.st_mode, hashlib.sha256(fh.read()).hexdigest())
                inodes[st.st_ino] = os.path.join(rel, f)
    return out, inodes


class Model:
    def __init__(self, mount, shadow):
        self.m, self.s = Tree(mount), Tree(shadow)
        self.where = [None] * SLOTS  # directory of each open file, last seen (shadow)
        self.orphan = [False] * SLOTS  # unlinked, and its directory removed since

    def track(self, desc, ok, inodes):
        """Follow where each open file is, and which lost their directory (the known limit)."""
        for i, fd in enumerate(self.s.fds):
            if fd is None:
                self.where[i], self.orphan[i] = None, False
                continue
            if desc.startswith("open [%d]" % i):
                self.orphan[i] = False
            st = os.fstat(fd)
            if st.st_nlink and st.st_ino in inodes:
                self.where[i] = os.path.dirname(inodes[st.st_ino])
            elif ok and desc.split()[0] in ("rmdir", "rmtree") and self.where[i] == desc.split()[1]:
                self.orphan[i] = True

    def agree(self, desc, meta, a, b, i):
        slot = int(desc.split("[")[1][0]) if "[" in desc else None
        if a == b or (meta and self.orphan[slot]):
            return
        sys.exit("op %d (%s): mount %s, shadow %s" % (i, desc, short(a), short(b)))

    def step(self, i, desc, meta, fn):
        a, b = outcome(lambda: fn(self.m)), outcome(lambda: fn(self.s))
        self.agree(desc, meta, a, b, i)
        (sm, _), (ss, inodes) = snapshot(self.m.root), snapshot(self.s.root)
        if sm != ss:
            diff = sorted(set(sm.items()) ^ set(ss.items()))
            sys.exit("op %d (%s): trees differ: %s" % (i, desc, diff[:4]))
        self.track(desc, b[0] == "ok", inodes)
        for k in range(SLOTS):
            if self.s.fds[k] is None or self.orphan[k]:
                continue
            fa = outcome(lambda: fstat_view(self.m.fds[k]))
            fb = outcome(lambda: fstat_view(self.s.fds[k]))
            if fa != fb:
                sys.exit("op %d (%s): fstat [%d]: mount %s, shadow %s" % (i, desc, k, fa, fb))

    def close_all(self):
        for t in (self.m, self.s):
            for k in range(SLOTS):
                op_close(t, k)


def short(result):
    kind, value = result
    if isinstance(value, bytes) and len(value) > 16:
        return "%s %d bytes sha256 %s" % (kind, len(value), hashlib.sha256(value).hexdigest()[:12])
    return "%s %r" % (kind, value)


def finalize(root):
    for d in DIRS:
        top = os.path.join(root, d)
        if not os.path.isdir(top):
            continue
        for f in sorted(os.listdir(top)):
            p = os.path.join(top, f)
            if f.endswith(".json") and not f.startswith("."):
                os.chmod(p, 0o644)
                digest = hashlib.sha256(open(p, "rb").read()).hexdigest()
                open(p, "w").write('{"content": "%s"}\n' % digest)


def main():
    seed, ops, mount, shadow = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    rng = random.Random(seed)
    model = Model(mount, shadow)
    for i in range(ops):
        desc, fn, meta = make_op(rng)
        model.step(i, desc, meta, fn)
    model.close_all()
    if len(sys.argv) > 5 and sys.argv[5] == "final":
        finalize(mount)
        finalize(shadow)
    print("%d operations, seed %d: mount and shadow agree" % (ops, seed))


if __name__ == "__main__":
    main()
