#!/bin/sh
# Differential test of the manifest loader: format/*.c of the work tree against those of commit
# REV (by default main), each built as a shared object with ASan and UBSan; see manifestdiff.c.
# Usage: tests/tools/manifestdiff.sh [REV [ROUNDS [SEED [LIST]]]]; LIST holds one manifest
# path a line (by default the manifests of examples/, of tests/vectors/ and those inside the
# vectors' packages, and of a generated corpus of 300 resources).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
REV=${1:-main}
ROUNDS=${2:-300}
SEED=${3:-1}
out=$(mktemp -d /tmp/manifestdiff.XXXXXX)
trap 'rm -rf "$out"' EXIT
. tests/tools/difflib.sh
build_old_and_new ""
gcc -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -O1 -g -fsanitize=address,undefined \
	-fno-sanitize-recover=all -Iinclude $(pkg-config --cflags jansson) \
	tests/tools/manifestdiff.c $(pkg-config --libs jansson) -ldl -o "$out/manifestdiff"
if [ $# -ge 4 ]; then
	list=$4
else
	list=$out/list
	find "$top/examples" "$top/tests/vectors" -name manifest.json >"$list"
	k=0
	for f in $(find tests/vectors -name '*.appkg'); do
		mkdir -p "$out/x$k"
		tar --zstd -xf "$f" -C "$out/x$k" manifest.json 2>/dev/null || true
		k=$((k + 1))
	done
	find "$out" -path "$out/x*" -name manifest.json >>"$list"
	python3 tests/tools/gen-corpus.py --resources 300 --avg-size 64 --seed "$SEED" \
		--no-secrets --out "$out/corpus" >/dev/null
	if [ -x build/bin/appkg-pack ]; then
		build/bin/appkg-pack -q -o "$out/c.appkg" "$out/corpus" 2>/dev/null &&
			tar --zstd -xf "$out/c.appkg" -C "$out/corpus" manifest.json 2>/dev/null || true
	fi
	echo "$out/corpus/manifest.json" >>"$list"
fi
ASAN_OPTIONS=detect_leaks=0 "$out/manifestdiff" "$out/old.so" "$out/new.so" "$list" "$ROUNDS" "$SEED"
