#!/bin/sh
# Differential test of the reader's open: format/*.c of the work tree against those of commit
# REV (by default main), each built as a shared object with ASan and UBSan and, as the fuzz
# targets are, with 64-byte read chunks (so that every frame is decoded in pieces); see
# readerdiff.c. Usage: tests/tools/readerdiff.sh [REV [ROUNDS [SEED [PKG...]]]]; by default
# the vectors' packages and one packed from a generated corpus of 2,000 resources.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
REV=${1:-main}
ROUNDS=${2:-200}
SEED=${3:-1}
out=$(mktemp -d /tmp/readerdiff.XXXXXX)
trap 'rm -rf "$out"' EXIT
. tests/tools/difflib.sh
build_old_and_new "-DFRAME_CHUNK=64"
gcc -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -O1 -g -fsanitize=address,undefined \
	-fno-sanitize-recover=all -Iinclude tests/tools/readerdiff.c -ldl -o "$out/readerdiff"
if [ $# -ge 4 ]; then
	shift 3
else
	python3 tests/tools/gen-corpus.py --resources 2000 --avg-size 64 --seed "$SEED" \
		--no-secrets --out "$out/corpus" >/dev/null
	build/bin/appkg-pack -q -o "$out/c.appkg" "$out/corpus"
	set -- "$out/c.appkg" $(find tests/vectors -name '*.appkg' | sort)
fi
ASAN_OPTIONS=detect_leaks=0 "$out/readerdiff" "$out/old.so" "$out/new.so" "$ROUNDS" "$SEED" "$@"
