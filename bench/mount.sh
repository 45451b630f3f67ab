#!/bin/sh
# appkg-mount against archivemount on the same package, in the same run: time until the mount
# is ready, `cat` of every file (and `zstd -dc` of the whole package as the floor; and the peer a
# user would run instead, `zstd -dc | tar -x` to a tmpfs and `cat` of every file there), `cat`
# of every file a second time (the kernel's page cache), and the commit after editing one
# resource. Sizes from tests/tools/gen-corpus.py: M (10,000 x 8 KiB)
# and L (100,000 x 4 KiB); BENCH_SIZES="M L" by default. archivemount reads every file of a
# large archive very slowly, so its `cat` is timed on 200 files and scaled (marked "est."); its
# commit is timed on M only (the issue measured 554 s on L).
# Usage: bench/mount.sh BIN_DIR
set -eu
B=$(cd "${1:-build/bin}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d)
trap 'for m in "$W/m" "$W/a"; do fusermount3 -uz "$m" 2>/dev/null || true; done; rm -rf "$W"' EXIT
mkdir -p "$W/m" "$W/a"

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc -l | xargs printf '%.3f'; }
ratio() { echo "$1 / ($2 + 0.0005)" | bc -l | xargs printf '%.2fx'; }

# wait until pid has exited (a daemon that has exited may stay a zombie for a while)
wait_gone() {
	while [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; do sleep 0.005; done
}

bench_size() {
	case $1 in
	M) n=10000 avg=8192 ;;
	L) n=100000 avg=4096 ;;
	*) echo "sizes are M or L" >&2; exit 2 ;;
	esac
	rm -rf "$W/src" && python3 "$top/tests/tools/gen-corpus.py" --resources $n --avg-size $avg \
		--seed 1 --no-secrets --out "$W/src" 2>/dev/null
	"$B/appkg-pack" -T 2 "$W/src" -o "$W/p.appkg"
	cp "$W/p.appkg" "$W/q.appkg"
	one=$(cd "$W/src" && find resources -type f | sort | sed -n "$((n / 2))p")
	echo "== $1: $n resources, $(du -sb "$W/src" | cut -f1) bytes, package $(stat -c %s "$W/p.appkg") bytes"

	t=$(now); zstd -dc "$W/p.appkg" >/dev/null; floor=$(since "$t")
	x=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
	t=$(now); zstd -dc "$W/p.appkg" | tar -x -C "$x"; find "$x" -type f -exec cat {} + >/dev/null
	peer=$(since "$t")
	rm -rf "$x"

	t=$(now); "$B/appkg-mount" "$W/p.appkg" "$W/m"; ls "$W/m" >/dev/null; ready=$(since "$t")
	pid=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.appkg.pid").decode())' "$W/m")
	open_rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
	t=$(now); find "$W/m" -type f -exec cat {} + >/dev/null; cat_all=$(since "$t")
	t=$(now); find "$W/m" -type f -exec cat {} + >/dev/null; cat_again=$(since "$t")
	rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
	sed -i 's/^{/{"bench": 1,/' "$W/m/$one"
	t=$(now); "$B/appkg-mount" -u "$W/m"; commit=$(since "$t")
	"$B/appkg-verify" "$W/p.appkg"

	t=$(now); archivemount -o readonly "$W/q.appkg" "$W/a"; ls "$W/a" >/dev/null; a_ready=$(since "$t")
	t=$(now); find "$W/a" -type f | sort | head -200 | xargs -d '\n' cat >/dev/null; a_200=$(since "$t")
	a_cat=$(echo "$a_200 * $n / 200" | bc -l | xargs printf '%.1f')
	fusermount3 -u "$W/a"
	a_commit="not run"
	if [ "$1" = M ]; then
		archivemount "$W/q.appkg" "$W/a"
		apid=$(pgrep -n -x archivemount)
		sed -i 's/^{/{"bench": 1,/' "$W/a/$one"
		t=$(now); fusermount3 -u "$W/a"; wait_gone "$apid"; a_commit=$(since "$t")
	fi

	printf '%-34s %12s %14s %10s\n' "" appkg-mount archivemount ratio
	printf '%-34s %10s s %12s s %10s\n' "mount ready" "$ready" "$a_ready" "$(ratio "$ready" "$a_ready")"
	printf '%-34s %10s s %10s s est %10s\n' "cat every file" "$cat_all" "$a_cat" "$(ratio "$cat_all" "$a_cat")"
	printf '%-34s %10s s %12s s %10s\n' "commit after one edit" "$commit" "$a_commit" \
		"$( [ "$a_commit" = "not run" ] && echo - || ratio "$commit" "$a_commit")"
	printf '%-34s %10s s   (cat every file / zstd -dc: %s)\n' "zstd -dc of the package" "$floor" \
		"$(ratio "$cat_all" "$floor")"
	printf '%-34s %10s s   (cat every file / this: %s)\n' "zstd -dc | tar -x to tmpfs + cat" \
		"$peer" "$(ratio "$cat_all" "$peer")"
	printf '%-34s %10s s   (/ the first pass: %s)\n' "cat every file, second pass" \
		"$cat_again" "$(ratio "$cat_again" "$cat_all")"
	printf '%-34s %7s KiB at open, %s KiB after cat of every file\n' "appkg-mount peak RSS" \
		"$open_rss" "$rss"
}

for s in ${BENCH_SIZES:-M L}; do
	bench_size "$s"
done
