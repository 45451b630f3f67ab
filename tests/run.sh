#!/bin/sh
# Runs every test: the C unit programs in BUILD/tests/test_* and the shell tests in
# tests/cli/, tests/mount/ and tests/registry/ (every tests/*/test_*.sh). Each prints
# "PASS: name", "FAIL: name" or "SKIP: name" lines; a program that dies without reporting counts
# as one failure. Ends with "N passed, N failed, N skipped".
# Tests run APPKG_TEST_JOBS at a time (default: one per CPU; every test keeps its files in its
# own temporary directory); their output is printed whole and in the order listed, as each
# finishes. APPKG_TEST_WRAPPER (e.g. valgrind) runs the C programs under a wrapper.
BUILD=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
# APPKG_CRASH_BIN: the tools built with the crash hook (make crash-tools), for the crash tests.
export APPKG_BIN="$top/$BUILD/bin" APPKG_TOP="$top" APPKG_BUILD="$top/$BUILD"
export APPKG_CRASH_BIN="${APPKG_CRASH_BIN:-$top/$BUILD/crash/bin}"
# run.sh --one DIR N TEST: runs test N, leaving its stdout in DIR/N.out, its stderr in DIR/N.err
# and, last, its exit status in DIR/N.rc
if [ "${2:-}" = --one ]; then
	dir=$3 i=$4 t=$(sed -n "${4}p" "$3/list")
	case $t in
	*.sh) sh "$t" ;;
	*) cd "$APPKG_TOP" && $APPKG_TEST_WRAPPER "$t" ;;
	esac >"$dir/$i.out" 2>"$dir/$i.err"
	echo $? >"$dir/$i.rc.tmp" && mv "$dir/$i.rc.tmp" "$dir/$i.rc"
	exit 0
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
pass=0 fail=0 skip=0

# report N NAME: prints test N's output and adds up its lines
report() {
	touch "$out/$1.out" "$out/$1.err"
	cat "$out/$1.out"
	status=$(cat "$out/$1.rc")
	p=$(grep -c '^PASS: ' "$out/$1.out")
	f=$(grep -c '^FAIL: ' "$out/$1.out")
	s=$(grep -c '^SKIP: ' "$out/$1.out")
	if [ "$f" -gt 0 ] || [ "$status" -ne 0 ]; then
		sed 's/^/    /' "$out/$1.err"
	fi
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $2 (exit status $status)"
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
}

n=0
for t in "$top/$BUILD"/tests/test_* "$top"/tests/*/test_*.sh; do
	case $t in *.sh) ;; *) [ -x "$t" ] || continue ;; esac
	n=$((n + 1))
	echo "$t"
done >"$out/list"
jobs=${APPKG_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
# xargs runs the tests; this shell prints each one's output in list order once it has finished.
seq "$n" | xargs -P "$jobs" -I{} sh "$0" "$BUILD" --one "$out" {} &
runner=$!
i=0
while read -r t; do
	i=$((i + 1))
	while [ ! -e "$out/$i.rc" ] && kill -0 "$runner" 2>/dev/null; do sleep 0.1; done
	[ -e "$out/$i.rc" ] || echo 1 >"$out/$i.rc" # the runner was killed before this test ended
	report "$i" "$(basename "$t")"
done <"$out/list"
wait
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
