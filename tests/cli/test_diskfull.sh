#!/bin/sh
# Disk full (issue 5): on a small tmpfs filled almost to the brim, packing a larger package over
# an existing one and unpacking into the tmpfs fail with exit 4 and one line naming the file and
# "No space left on device"; the existing package or tree is intact and no temporary is left.
# Needs root for the mount: SKIP otherwise; as root a refused mount is a failure.
. "$(dirname "$0")/lib.sh"

FS=$W/full
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: disk_full (mounting a tmpfs needs root)"
	exit 0
fi
if ! mount_tmpfs "$FS" 8m; then
	echo "FAIL: disk_full_mount_tmpfs"
	sed 's/^/    /' "$W/.mount" >&2
	exit 0
fi

corpus "$W/small" 10 plain --no-secrets
corpus "$W/big" 800 plain --no-secrets
"$B/appkg-pack" "$W/small" -o "$FS/app.appkg" && "$B/appkg-pack" "$W/big" -o "$W/big.appkg" &&
	"$B/appkg-unpack" "$FS/app.appkg" -C "$FS/tree" && cp "$FS/app.appkg" "$W/app.appkg" &&
	cp -a "$FS/tree" "$W/tree" || echo "FAIL: disk_full_fixtures"

# Leave 64 KiB: less than the big package (a few hundred KiB) or its tree.
avail=$(df --output=avail -B1 "$FS" | tail -n 1)
fallocate -l $((avail - 65536)) "$FS/filler" || echo "FAIL: disk_full_fill"

# Nothing in the file system but what the test put there.
no_temporaries() {
	left=$(ls -A "$FS" | tr '\n' ' ')
	[ "$left" = "app.appkg filler tree " ] || fail "left in the file system: $left"
}

no_space_line() { # no_space_line PROGRAM NAME
	expect_rc 4 && expect_one_line "$1" && expect_stderr "$2" &&
		expect_stderr "No space left on device"
}

pack_over_existing() {
	run "$B/appkg-pack" "$W/big" -o "$FS/app.appkg"
	no_space_line appkg-pack "app.appkg: write" && cmp "$FS/app.appkg" "$W/app.appkg" &&
		"$B/appkg-verify" "$FS/app.appkg" && no_temporaries
}

unpack_new_dest() {
	run "$B/appkg-unpack" "$W/big.appkg" -C "$FS/dest"
	no_space_line appkg-unpack "\.json: " && [ ! -e "$FS/dest" ] && no_temporaries
}

unpack_force_over_tree() {
	run "$B/appkg-unpack" -f "$W/big.appkg" -C "$FS/tree"
	no_space_line appkg-unpack "\.json: " && diff -r "$FS/tree" "$W/tree" && no_temporaries
}

t disk_full_pack_keeps_the_old_package pack_over_existing
t disk_full_unpack_leaves_no_dest unpack_new_dest
t disk_full_unpack_force_keeps_the_old_tree unpack_force_over_tree
