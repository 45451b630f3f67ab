# SPDX-License-Identifier: MIT
# The mount rows of bench/run.sh, which sources this file (it uses run.sh's W, SHM, B, size,
# runs, pkg, tzst, sample, now and elapsed). Each run, with the packages in the page cache:
# appkg-mount ready + `ls` of the root against archivemount's; `cat` of every file through that
# fresh mount, then a second pass, against `zstd -dc | tar -x` to the tmpfs + `cat` of every
# file there, and against archivemount (which reads a large archive very slowly: on more than
# 200 files it cats 200, on L 50, spread evenly over the sorted list and scales the time, marked
# "est." in the results);
# then, on a fresh copy and mount, the commit after editing one resource against archivemount's
# write-back at unmount (not on L) and against `cp PKG NEW && sync NEW`, and the daemon's RSS at
# open against its peak (VmHWM) through the commit.

# wait_gone PID: until the process has exited (or is a zombie waiting to be reaped)
wait_gone() {
	while [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; do sleep 0.005; done
}

# appkg_pid MOUNTPOINT: the daemon's pid, from the mount's control attribute
appkg_pid() {
	python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.appkg.pid").decode())' "$1"
}

# status_kib FIELD PID: a field of /proc/PID/status (VmRSS, VmHWM), in KiB
status_kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$2/status"; }

cat_all() { find "$1" -type f -exec cat {} + >/dev/null; }

# One run of the read rows: ready, cat, second pass; then the peers.
read_run() {
	cat "$pkg" "$tzst" >/dev/null
	t0=$(now)
	"$B/appkg-mount" "$pkg" "$W/m"
	ls "$W/m" >/dev/null
	sample ready a "$(elapsed "$t0")"
	t0=$(now)
	cat_all "$W/m"
	first=$(elapsed "$t0")
	t0=$(now)
	cat_all "$W/m"
	sample cat2 a "$(elapsed "$t0")"
	sample cat a "$first"
	sample cat2 p "$first"
	sample acat a "$first"
	"$B/appkg-mount" -q -u "$W/m"

	mkdir "$SHM/c"
	t0=$(now)
	zstd -dc "$tzst" | tar -x -C "$SHM/c"
	cat_all "$SHM/c"
	sample cat p "$(elapsed "$t0")"
	rm -rf "$SHM/c"

	t0=$(now)
	archivemount -o readonly "$pkg" "$W/a"
	ls "$W/a" >/dev/null
	sample ready p "$(elapsed "$t0")"
	t0=$(now)
	(cd "$W/a" && xargs -d '\n' cat <"$W/subset" >/dev/null)
	sample acat p "$(elapsed "$t0" | awk -v k="$scale" '{ printf "%.6f", $1 * k }')"
	fusermount3 -u "$W/a"
}

# One run of the commit rows: appkg-mount, cp + sync, archivemount (not on L).
commit_run() {
	cp "$pkg" "$W/w.appkg"
	"$B/appkg-mount" "$W/w.appkg" "$W/m"
	ls "$W/m" >/dev/null
	pid=$(appkg_pid "$W/m")
	sample rss_mount p "$(status_kib VmRSS "$pid")"
	sed -i 's/^{/{"bench": 1,/' "$W/m/$one"
	t0=$(now)
	"$B/appkg-mount" -q --commit "$W/m"
	t=$(elapsed "$t0")
	sample commit_am a "$t"
	sample commit_cp a "$t"
	sample rss_mount a "$(status_kib VmHWM "$pid")"
	"$B/appkg-mount" -q -u "$W/m"
	"$B/appkg-verify" -q "$W/w.appkg"

	rm -f "$W/new"
	t0=$(now)
	cp "$pkg" "$W/new" && sync "$W/new"
	sample commit_cp p "$(elapsed "$t0")"

	[ "$size" != L ] || return 0
	cp "$pkg" "$W/q.appkg"
	archivemount "$W/q.appkg" "$W/a"
	apid=$(pgrep -n -f -x "archivemount $W/q.appkg $W/a")
	sed -i 's/^{/{"bench": 1,/' "$W/a/$one"
	t0=$(now)
	fusermount3 -u "$W/a"
	wait_gone "$apid"
	sample commit_am p "$(elapsed "$t0")"
}

mount_rows() {
	mkdir -p "$W/m" "$W/a"
	(cd "$W/src" && find . -type f | sort) >"$W/files"
	total=$(wc -l <"$W/files")
	want=200
	[ "$size" != L ] || want=50
	k=$((total / want))
	[ $k -ge 1 ] || k=1
	awk -v k=$k '(NR - 1) % k == 0' "$W/files" >"$W/subset"
	scale=$(awk -v t="$total" -v s="$(wc -l <"$W/subset")" 'BEGIN { print t / s }')
	echo "subset $size $(wc -l <"$W/subset") $total" >>"$W/meta"
	one=$(grep '^\./resources/' "$W/files" | sed -n "$((total / 2))p")
	i=0
	while [ $i -lt "$runs" ]; do
		i=$((i + 1))
		read_run
		commit_run
	done
}
