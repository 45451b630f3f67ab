#!/bin/sh
# Build the libFuzzer targets (clang, ASan + UBSan) into BUILD, seed each corpus from the test
# vectors and the example, and run each for SECONDS. A crash leaves its input in BUILD/crashes;
# turn it into a vector under tests/vectors/invalid/. Usage: tests/fuzz/run.sh BUILD SECONDS
# (FUZZ_TARGETS="reader json" runs only those targets).
set -eu
BUILD=${1:-build-fuzz}
SECONDS_EACH=${2:-30}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
mkdir -p "$BUILD/crashes"
libs="$(pkg-config --libs libzstd jansson libsodium libcurl) -lunistring -lpthread"
flags="-g -O1 -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Iinclude"
V=tests/vectors
pass=0 fail=0
for t in ${FUZZ_TARGETS:-reader manifest secrets names json placeholders plan}; do
	extra=""
	[ "$t" != plan ] || extra="mount/entries.c $(pkg-config --cflags fuse3)" # the mount's plan
	clang $flags -DFRAME_CHUNK=64 "tests/fuzz/fuzz_$t.c" $extra format/*.c $libs -o "$BUILD/fuzz_$t"
	c="$BUILD/corpus/$t"
	mkdir -p "$c"
	case $t in
	reader) cp $V/valid/*.appkg $V/invalid/*/package.appkg "$c"/ 2>/dev/null || true
		for f in $V/invalid/*/package.appkg; do
			[ "$(stat -c %s "$f")" -lt 100000 ] && cp "$f" "$c/$(basename "$(dirname "$f")").appkg"
		done
		rm -f "$c/package.appkg" ;;
	manifest|plan) for f in $V/valid/*.appkg; do tar --zstd -xOf "$f" manifest.json >"$c/$(basename "$f").json"; done ;;
	secrets) tar --zstd -xOf $V/valid/v1.0-secrets.appkg secrets.enc >"$c/golden.enc" ;;
	names) find examples $V/valid/src -name '*.json' | while read -r f; do basename "$f" .json; done |
		while read -r n; do printf '%s' "$n" >"$c/$(printf '%s' "$n" | md5sum | cut -c1-12)"; done ;;
	json) find examples $V/valid/src -name '*.json' | head -40 | while read -r f; do cp "$f" "$c/$(md5sum <"$f" | cut -c1-12)"; done ;;
	placeholders) find examples $V/valid/src* -name '*.json' | head -40 | while read -r f; do cp "$f" "$c/$(md5sum <"$f" | cut -c1-12)"; done
		printf '%s' '{"a": "x [[appkg:input:h]] \u005b[appkg:secret:S]] [[appkg:literal]]", "b": ["[[appkg:input:n]]"]}' >"$c/seed-1"
		printf '%s' '{"p": [[appkg:input:port]], "[[appkg:literal]]": "[[appkg:inptu:x]]"}' >"$c/seed-2"
		printf '%s' '{"environment": "e", "inputs": {"a": [1, {"b": "c\n"}], "x.y": 1.5e3, "s": "\u00e9"}}' >"$c/seed-3"
		printf '%s' '{"A": "x", "B": "\u00e9\"q"}' >"$c/seed-4" ;;
	esac
	echo "fuzz_$t: ${SECONDS_EACH}s"
	if "$BUILD/fuzz_$t" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix="$BUILD/crashes/$t-" -print_final_stats=1 "$c" >"$BUILD/fuzz_$t.log" 2>&1; then
		pass=$((pass + 1))
		echo "PASS: fuzz_$t"
	else
		fail=$((fail + 1))
		echo "FAIL: fuzz_$t, see $BUILD/fuzz_$t.log and $BUILD/crashes/"
	fi
	grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$BUILD/fuzz_$t.log" | sed "s/^/fuzz_$t: /"
done
echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
