# The benchmark harness still runs (`make bench`, bench/run.sh): one run of every row on the
# tiny corpus T (20 resources), and the results file it writes has the machine line and every row
# of issue 13's target table, each with a figure for appkg. No time is checked: the figures are
# whatever this machine gives. Needs archivemount (the mount rows' peer, which .ci/install-deps
# installs): SKIP without it, FAIL in CI.
. "$(dirname "$0")/lib.sh"

ROWS='pack, every check included
`appkg-pack -T N`
unpack, every check included, fresh directory on disk
the same on tmpfs
verify, no password
package size
one resource read after open
`cat` of every file through a fresh mount (package in the page cache)
the same, second pass
`cat` of every file through a fresh mount |
mount ready + `ls` of the root
commit after editing one resource
the same commit
peak RSS of pack
peak RSS of unpack
peak RSS of verify
peak RSS (VmHWM) of the mount daemon through a commit'

harness_writes_every_row() {
	BENCH_SIZES=T BENCH_RUNS=1 BENCH_DIR=$W BENCH_OUT=$W/results.md timeout 60 \
		sh "$TOP/bench/run.sh" "$RAW_B" "$APPKG_BUILD/bench/member" >"$W/stdout" 2>"$W/stderr" ||
		fail "bench/run.sh failed" || return 1
	grep -q '^- machine: .*cores.*load average at start [0-9]' "$W/results.md" ||
		fail "no machine line" || return 1
	grep -q '^## T: 20 resources' "$W/results.md" || fail "no table for T" || return 1
	[ "$(grep -c '^| ' "$W/results.md")" -eq 18 ] || fail "not 17 rows and a header" || return 1
	echo "$ROWS" | while read -r row; do
		grep -F -- "| $row" "$W/results.md" | grep -q '^| [^|]* | [0-9.]* [mM]*[sBi]* ' ||
			{ echo "row '$row': missing or without a figure"; cat "$W/results.md"; return 1; }
	done
}

if ! command -v archivemount >/dev/null; then
	[ "${CI:-}" = true ] && { echo "FAIL: bench_smoke (archivemount is not installed)"; exit 1; }
	echo "SKIP: bench_smoke (archivemount is not installed; make check installs it)"
	exit 0
fi
t bench_harness_writes_every_row harness_writes_every_row
