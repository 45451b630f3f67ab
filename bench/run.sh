#!/bin/sh
# Speed and memory of appkg-pack and appkg-unpack against tar + zstd on the same corpus, in the
# same run, reported as ratios (appkg / peer). Corpus from tests/tools/gen-corpus.py:
# BENCH_SIZE=S (200 x 4 KiB), M (10,000 x 8 KiB, default) or L (100,000 x 4 KiB).
# Usage: bench/run.sh BIN_DIR
set -eu
B=$(cd "${1:-build/bin}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
case ${BENCH_SIZE:-M} in
S) n=200 avg=4096 ;;
M) n=10000 avg=8192 ;;
L) n=100000 avg=4096 ;;
*) echo "BENCH_SIZE must be S, M or L" >&2; exit 2 ;;
esac
python3 "$top/tests/tools/gen-corpus.py" --resources $n --avg-size $avg --seed 1 --no-secrets --out "$W/src" 2>/dev/null
mkdir -p "$W/x1" "$W/x2"
cat "$(find "$W/src" -type f)" >/dev/null 2>&1 || true # warm the page cache

# measure NAME CMD...: best wall time of 3 runs and the peak RSS, as "seconds kib"
measure() {
	best="" rss=0
	for _ in 1 2 3; do
		rm -rf "$W/x1" "$W/x2" && mkdir -p "$W/x2"
		/usr/bin/time -f "%e %M" -o "$W/t" sh -c "$1" >/dev/null 2>&1
		read -r s m <"$W/t"
		if [ -z "$best" ] || [ "$(echo "$s < $best" | bc)" = 1 ]; then best=$s; fi
		[ "$m" -gt "$rss" ] && rss=$m
	done
	echo "$best $rss"
}

row() { # row WHAT APPKG_RESULT PEER_RESULT
	set -- "$1" $2 $3
	printf '%-28s %8.2f s %7d KiB   %8.2f s %7d KiB   %6.2fx time  %6.2fx RSS\n' "$1" "$2" "$3" "$4" "$5" \
		"$(echo "$2 / ($4 + 0.001)" | bc -l)" "$(echo "$3 / $5" | bc -l)"
}

pkg="$W/p.appkg"
"$B/appkg-pack" "$W/src" -o "$pkg"
tar -C "$W/src" -cf - . | zstd -q -3 -o "$W/p.tar.zst"
member=$(cd "$W/src" && find resources -type f | sort | sed -n "$((n / 2))p")
type_name=$(echo "$member" | sed 's|^resources/||; s|\.json$||')

echo "corpus: $n resources, $(du -sb "$W/src" | cut -f1) bytes; appkg $(stat -c %s "$pkg") bytes," \
	"tar.zst $(stat -c %s "$W/p.tar.zst") bytes"
printf '%-28s %21s   %21s   %s\n' "" "appkg" "peer" "ratio appkg/peer"
row "pack vs tar|zstd -3" "$(measure "$B/appkg-pack '$W/src' -o '$W/x1.appkg'")" \
	"$(measure "tar -C '$W/src' -cf - . | zstd -q -3 -o '$W/x1.tar.zst' -f")"
row "unpack vs zstd -dc|tar -x" "$(measure "$B/appkg-unpack '$pkg' -C '$W/x1'")" \
	"$(measure "zstd -dc '$W/p.tar.zst' | tar -C '$W/x2' -xf -")"
row "one member vs tar --zstd -x" "$(measure "$B/appkg-unpack --only '$type_name' '$pkg' -C '$W/x1'")" \
	"$(measure "tar --zstd -C '$W/x2' -xf '$W/p.tar.zst' './$member'")"
row "verify vs zstd -dc|sha256sum" "$(measure "$B/appkg-verify '$pkg'")" \
	"$(measure "zstd -dc '$pkg' | sha256sum")"
