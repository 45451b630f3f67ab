#!/bin/sh
# Runs every test: the C unit programs in BUILD/tests/test_* and the shell tests in
# tests/cli/test_*.sh, tests/mount/test_*.sh and tests/registry/test_*.sh. Each prints "PASS: name", "FAIL: name" or
# "SKIP: name" lines; a program that dies without reporting counts as one failure. Ends with "N passed, N failed, N skipped".
# APPKG_TEST_WRAPPER (e.g. valgrind) runs the C programs under a wrapper.
BUILD=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
# APPKG_CRASH_BIN: the tools built with the crash hook (make crash-tools), for the crash tests.
export APPKG_BIN="$top/$BUILD/bin" APPKG_TOP="$top" APPKG_BUILD="$top/$BUILD"
export APPKG_CRASH_BIN="${APPKG_CRASH_BIN:-$top/$BUILD/crash/bin}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
pass=0 fail=0 skip=0

run_one() {
	name=$1
	shift
	out=$("$@" 2>"$log")
	status=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | grep -c '^PASS: ')
	f=$(printf '%s\n' "$out" | grep -c '^FAIL: ')
	s=$(printf '%s\n' "$out" | grep -c '^SKIP: ')
	if [ "$f" -gt 0 ] || [ "$status" -ne 0 ]; then
		sed 's/^/    /' "$log"
	fi
	if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $name (exit status $status)"
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
}

for t in "$top/$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "$(basename "$t")" sh -c 'cd "$APPKG_TOP" && exec $APPKG_TEST_WRAPPER "$0"' "$t"
done
for t in "$top"/tests/cli/test_*.sh "$top"/tests/mount/test_*.sh "$top"/tests/registry/test_*.sh; do
	run_one "$(basename "$t")" sh "$t"
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
