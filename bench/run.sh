#!/bin/sh
# SPDX-License-Identifier: MIT
# Every row of issue 13's target table, appkg against the command a user would run instead, on
# corpora from tests/tools/gen-corpus.py --seed 1: S (200 x 4 KiB), M (10,000 x 8 KiB), L
# (100,000 x 4 KiB) and T (20 x 1 KiB, the smoke check's). Each row runs BENCH_RUNS times (5),
# appkg then the peer, alternating; every sample goes to a file that bench/report.awk turns
# into BENCH_OUT (bench/RESULTS.md): medians, min-max, ratios, targets. The mount rows are in
# bench/mount.sh. Files are written in a directory on disk (BENCH_DIR, default build/) and in a
# tmpfs (/dev/shm, else $XDG_RUNTIME_DIR).
# Usage: [BENCH_SIZES="S M"] [BENCH_RUNS=5] [BENCH_OUT=FILE] bench/run.sh BIN_DIR MEMBER_TOOL
set -eu
B=$(cd "${1:?usage: bench/run.sh BIN_DIR MEMBER_TOOL}" && pwd)
MEMBER=$(cd "$(dirname "${2:?}")" && pwd)/$(basename "$2")
top=$(cd "$(dirname "$0")/.." && pwd)
out=${BENCH_OUT:-$top/bench/RESULTS.md}
runs=${BENCH_RUNS:-5}
mkdir -p "${BENCH_DIR:-$top/build}"
W=$(mktemp -d "${BENCH_DIR:-$top/build}/bench.XXXXXX")
for shm in /dev/shm "${XDG_RUNTIME_DIR:-/nonexistent}" ""; do
	[ -n "$shm" ] && [ "$(stat -f -c %T "$shm" 2>/dev/null)" = tmpfs ] && [ -w "$shm" ] && break
done
[ -n "$shm" ] || { echo "bench: no writable tmpfs (/dev/shm or \$XDG_RUNTIME_DIR)" >&2; exit 4; }
SHM=$(mktemp -d -p "$shm" appkg-bench.XXXXXX)
trap 'cleanup' EXIT
export XDG_STATE_HOME="$W/state" # the mount's commit log stays in the work directory
samples=$W/samples

cleanup() {
	for m in "$W/m" "$W/a"; do fusermount3 -uz "$m" 2>/dev/null || true; done
	rm -rf "$W" "$SHM"
}

now() { date +%s.%N; }
# elapsed T0: seconds since T0, as a decimal
elapsed() { awk -v t0="$1" -v t1="$(now)" 'BEGIN { printf "%.6f", t1 - t0 }'; }
# sample ROW SIDE VALUE: one measurement of the current size; SIDE is a (appkg) or p (peer)
sample() { echo "$size $1 $2 $3" >>"$samples"; }

# timed ROW SIDE COMMAND: run the shell command once; its wall time is a sample of ROW and its
# peak RSS (GNU time %M: the largest process of a pipeline, in KiB) one of rss_ROW
timed() {
	t0=$(now)
	/usr/bin/time -f %M -o "$W/rss" sh -c "$3" >/dev/null
	sample "$1" "$2" "$(elapsed "$t0")"
	sample "rss_$1" "$2" "$(tail -n 1 "$W/rss")"
}

# pair ROW PREPARE APPKG_COMMAND PEER_COMMAND: BENCH_RUNS alternating runs, PREPARE (untimed)
# before each
pair() {
	i=0
	while [ $i -lt "$runs" ]; do
		i=$((i + 1))
		sh -c "$2"
		timed "$1" a "$3"
		sh -c "$2"
		timed "$1" p "$4"
	done
}

tool_rows() {
	src=$W/src pkg=$W/p.appkg tzst=$W/p.tar.zst
	tar_cf="tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - ."
	pair pack "rm -f '$W/o.appkg' '$W/o.tar.zst'" "'$B/appkg-pack' -q '$src' -o '$W/o.appkg'" \
		"cd '$src' && $tar_cf | zstd -q -3 -T0 >'$W/o.tar.zst'"
	pair threads : \
		"'$B/appkg-pack' -q -T $(nproc) '$src' -o '$W/o.appkg'" "'$B/appkg-pack' -q -T 1 '$src' -o '$W/o1.appkg'"
	if cmp -s "$W/o.appkg" "$W/o1.appkg"; then sample threads same 1; else sample threads same 0; fi
	fresh="rm -rf '$W/x' '$SHM/x'; sync"
	pair unpack_ext4 "$fresh" "'$B/appkg-unpack' -q '$pkg' -C '$W/x'" \
		"mkdir '$W/x' && zstd -dc '$tzst' | tar -x -C '$W/x'"
	pair unpack_tmpfs "$fresh" "'$B/appkg-unpack' -q '$pkg' -C '$SHM/x'" \
		"mkdir '$SHM/x' && zstd -dc '$tzst' | tar -x -C '$SHM/x'"
	pair verify : "'$B/appkg-verify' -q '$pkg'" "zstd -dc '$tzst' | sha256sum"
	sample size a "$(stat -c %s "$pkg")"
	sample size p "$(stat -c %s "$tzst")"
	i=0
	while [ $i -lt "$runs" ]; do
		i=$((i + 1))
		sample member a "$("$MEMBER" "$pkg" 1000 $i | cut -d ' ' -f 1)"
	done
}

. "$top/bench/mount.sh"

# bench_size SIZE: make the corpus and the two packages, then run every row on them
bench_size() {
	size=$1
	case $size in
	T) n=20 avg=1024 ;;
	S) n=200 avg=4096 ;;
	M) n=10000 avg=8192 ;;
	L) n=100000 avg=4096 ;;
	*) echo "bench: BENCH_SIZES takes S, M, L (and T)" >&2; exit 2 ;;
	esac
	rm -rf "$W/src" && python3 "$top/tests/tools/gen-corpus.py" --resources $n --avg-size $avg \
		--seed 1 --no-secrets --out "$W/src" 2>/dev/null
	"$B/appkg-pack" -q "$W/src" -o "$W/p.appkg"
	(cd "$W/src" && tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - . |
		zstd -q -3 >"$W/p.tar.zst")
	echo "corpus $size $n $avg $(du -sb "$W/src" | cut -f 1)" >>"$W/meta"
	echo "bench: $size: $n resources" >&2
	tool_rows
	mount_rows
}

load=$(cut -d ' ' -f 1-3 /proc/loadavg)
{
	echo "cpu $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "cores $(nproc)"
	echo "kernel $(uname -sr)"
	echo "load $load"
	echo "date $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "runs $runs"
	echo "disk $(df --output=fstype "$W" | tail -n 1) ($(dirname "$W"))"
	echo "tmpfs $shm"
	echo "commit $(git -C "$top" log -1 --format='%h (%cs)' 2>/dev/null || echo unknown)"
} >"$W/meta"
# the results are written after each size, so that a run stopped in L keeps S and M
for s in ${BENCH_SIZES:-S M}; do
	bench_size "$s"
	echo "loadend $(cut -d ' ' -f 1-3 /proc/loadavg)" >>"$W/meta"
	awk -f "$top/bench/report.awk" "$W/meta" "$samples" >"$out"
	echo "bench: wrote $out" >&2
done
