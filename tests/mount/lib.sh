# Helpers for the mount tests, on top of the CLI test library. The tests mount for real; without
# /dev/fuse they are skipped, except in CI (CI=true) where that is a failure.
. "$(dirname "$0")/../cli/lib.sh"
trap 'unmount_all; final_reports; chmod -R u+w "$W" 2>/dev/null; rm -rf "$W"' EXIT
export SOURCE_DATE_EPOCH=1767225600

unmount_all() {
	awk -v w="$W" '$3 == "fuse.appkg" && index($2, w) == 1 { print $2 }' /proc/mounts |
		while read -r m; do fusermount3 -uz "$m"; done
}

if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
	if [ "${CI:-}" = true ]; then
		echo "FAIL: mount tests: no /dev/fuse or fusermount3"
		exit 1
	fi
	echo "SKIP: mount tests: no /dev/fuse or fusermount3"
	exit 0
fi

# mount_up [OPTION]... PKG DIR: mount and check that DIR is a mount.
mount_up() {
	for last; do :; done
	mkdir -p "$last"
	run "$B/appkg-mount" "$@" && expect_rc 0 || return 1
	mountpoint -q "$last" || fail "$last: not mounted"
}

# The daemon's pid, from the mount's control attribute.
mount_pid() {
	python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.appkg.pid").decode())' "$1"
}

# Wait until a process has exited (or is a zombie), at most about 30 s.
wait_gone() {
	i=0
	while [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 3000 ] || return 1
		sleep 0.01
	done
}

# Stale temporary files beside a package: the name the library uses for them.
temps_beside() {
	find "$(dirname "$1")" -maxdepth 1 -name ".$(basename "$1").tmp-*" | wc -l
}

# A package made from a small corpus, its unpacked reference tree, and the password file.
make_package() { # make_package NAME N [--no-secrets]
	corpus "$W/$1.src" "$2" plain ${3:-} || return 1
	echo "mount test password" >"$W/pw"
	"$B/appkg-pack" --kdf interactive --password-file "$W/pw" "$W/$1.src" -o "$W/$1.appkg" &&
		"$B/appkg-unpack" --password-file "$W/pw" "$W/$1.appkg" -C "$W/$1.ref"
}

# damage_frame PKG OUT: OUT is PKG with one byte of data frame 1 flipped (the seek table says
# where the frame is), so that the package opens but the members of frame 1 do not read back.
damage_frame() {
	python3 - "$1" "$2" <<'EOF'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
count = struct.unpack("<I", d[-9:-5])[0]
table = d[-9 - 8 * count:-9]
sizes = [struct.unpack("<I", table[8 * i:8 * i + 4])[0] for i in range(count)]
d[sizes[0] + sizes[1] // 2] ^= 0x55
open(sys.argv[2], "wb").write(d)
EOF
}

# set_entries MANIFEST PYTHON: edit the "resources" entries of a user manifest in place; the
# code sees `entries` (path -> entry, created on demand).
set_entries() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
p = sys.argv[1]
m = json.load(open(p))
entries = {e["path"]: e for e in m.get("resources", [])}
class Auto(dict):
    def __missing__(self, k):
        self[k] = {"path": k}
        return self[k]
entries = Auto(entries)
exec(sys.argv[2])
m["resources"] = sorted(entries.values(), key=lambda e: e["path"])
json.dump(m, open(p, "w"), indent=2)
EOF
}

# entry PKG PATH: the manifest entry of PATH in PKG, as compact JSON with sorted keys ("null"
# if none).
entry() {
	tar --zstd -xOf "$1" manifest.json |
		python3 -c 'import json, sys; m = json.load(sys.stdin)
print(json.dumps(next((e for e in m["resources"] if e["path"] == sys.argv[1]), None), sort_keys=True, ensure_ascii=False))' "$2"
}

nth_resource() { # nth_resource TREE N: the Nth resource path, relative to TREE
	(cd "$1" && find resources -type f -name '*.json' | sort | sed -n "$2p")
}
