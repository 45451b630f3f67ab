#!/bin/sh
# Differential test of the JSON scanner: format/jsoncheck.c against the one of commit REV (by
# default a2b156c, the byte-at-a-time scanner before the SSE2 one), both built with ASan and
# UBSan. Every file listed, then ROUNDS mutations of each (byte flips, inserts, deletes,
# truncations, invalid UTF-8, escapes, deep nesting, runs of whitespace), must give the same
# verdict, error code, message, line, column and placeholder mark, and the same results from the
# walkers (json_member_span, json_array_elements, json_object_keys, json_values_are_strings).
# Usage: tests/tools/jsondiff.sh [REV [ROUNDS [SEED [LIST]]]]; LIST holds one path a line (by
# default the JSON of examples/ and tests/vectors/, and that inside the vectors' packages).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
REV=${1:-a2b156c}
ROUNDS=${2:-1000}
SEED=${3:-1}
out=$(mktemp -d /tmp/jsondiff.XXXXXX)
trap 'rm -rf "$out"' EXIT
git show "$REV:format/jsoncheck.c" >"$out/jsoncheck_ref.c"
gcc -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -O1 -g -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -Iinclude -Iformat -I"$out" \
	$(pkg-config --cflags jansson libsodium) tests/tools/jsondiff.c tests/tools/jsondiff_ref.c \
	format/*.c $(pkg-config --libs libzstd jansson libsodium libcurl) -lunistring -lpthread \
	-o "$out/jsondiff"
if [ $# -ge 4 ]; then
	list=$4
else
	list=$out/list
	find "$top/examples" "$top/tests/vectors" -name '*.json' >"$list"
	k=0
	for f in $(find tests/vectors -name '*.appkg'); do
		mkdir -p "$out/x$k"
		tar --zstd -xf "$f" -C "$out/x$k" 2>/dev/null || true
		k=$((k + 1))
	done
	find "$out" -path "$out/x*" -type f -size -2M ! -name '*.enc' ! -name '*.minisig' >>"$list"
fi
"$out/jsondiff" "$list" "$ROUNDS" "$SEED"
