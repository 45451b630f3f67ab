#!/usr/bin/env python3
"""Mount model test: apply the same random file operations to a mounted package and to a plain
shadow directory, and compare the two after every step (outcome, listing, contents).

Usage: model.py SEED OPS MOUNT SHADOW [final]
Operations touch resources/m0..m2/ with a few names: .json files (committed) and side files
(never committed). With `final`, every .json file is then rewritten as valid JSON in both trees
so that the caller can commit, remount and compare the committed files.
"""
import hashlib
import os
import random
import sys

DIRS = ["resources/m0", "resources/m1", "resources/m2"]
NAMES = ["a.json", "b.json", "c.json", "notes.txt", ".a.json.swp", "x~"]


def outcome(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return "errno %d" % e.errno


def pick(rng):
    return rng.choice(DIRS) + "/" + rng.choice(NAMES)


def op_write(root, path, off, data):
    fd = os.open(os.path.join(root, path), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, data, off)
    finally:
        os.close(fd)


def make_op(rng):
    """One random operation as (description, function of root)."""
    kind = rng.choice(["write", "write", "create", "truncate", "rename", "unlink", "mkdir",
                       "rmdir"])
    path = pick(rng)
    if kind in ("write", "create"):
        off = 0 if kind == "create" else rng.randrange(0, 9000)
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 300)))
        if kind == "create":
            return kind + " " + path, lambda r: open(os.path.join(r, path), "wb").write(data)
        return "%s %s @%d +%d" % (kind, path, off, len(data)), lambda r: op_write(r, path, off, data)
    if kind == "truncate":
        size = rng.randrange(0, 10000)
        return "truncate %s %d" % (path, size), lambda r: os.truncate(os.path.join(r, path), size)
    if kind == "rename":
        to = pick(rng) if rng.random() < 0.8 else rng.choice(DIRS)
        return "rename %s %s" % (path, to), lambda r: os.rename(os.path.join(r, path),
                                                              os.path.join(r, to))
    if kind == "unlink":
        return "unlink " + path, lambda r: os.unlink(os.path.join(r, path))
    d = rng.choice(DIRS)
    if kind == "mkdir":
        return "mkdir " + d, lambda r: os.mkdir(os.path.join(r, d))
    return "rmdir " + d, lambda r: os.rmdir(os.path.join(r, d))


def snapshot(root, dirs):
    """{relative path: sha256 or 'dir'} for the given directories."""
    out = {}
    for d in dirs:
        top = os.path.join(root, d)
        for base, subdirs, files in os.walk(top):
            rel = os.path.relpath(base, root)
            out[rel] = "dir"
            for f in files:
                with open(os.path.join(base, f), "rb") as fh:
                    out[os.path.join(rel, f)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def finalize(root):
    for d in DIRS:
        top = os.path.join(root, d)
        if not os.path.isdir(top):
            continue
        for f in sorted(os.listdir(top)):
            p = os.path.join(top, f)
            if f.endswith(".json") and not f.startswith("."):
                digest = hashlib.sha256(open(p, "rb").read()).hexdigest()
                open(p, "w").write('{"content": "%s"}\n' % digest)


def main():
    seed, ops, mount, shadow = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    rng = random.Random(seed)
    for i in range(ops):
        desc, fn = make_op(rng)
        a, b = outcome(lambda: fn(mount)), outcome(lambda: fn(shadow))
        if a != b:
            sys.exit("op %d (%s): mount %s, shadow %s" % (i, desc, a, b))
        sm, ss = snapshot(mount, DIRS), snapshot(shadow, DIRS)
        if sm != ss:
            diff = sorted(set(sm.items()) ^ set(ss.items()))
            sys.exit("op %d (%s): trees differ: %s" % (i, desc, diff[:4]))
    if len(sys.argv) > 5 and sys.argv[5] == "final":
        finalize(mount)
        finalize(shadow)
    print("%d operations, seed %d: mount and shadow agree" % (ops, seed))


if __name__ == "__main__":
    main()
