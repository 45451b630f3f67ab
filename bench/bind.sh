#!/bin/sh
# Binding speed (issue 12): one document holding 1,000, 10,000 and then 100,000 placeholders
# (one per string of an array, values from 100 inputs: strings that need escaping, numbers,
# objects; every tenth string is a whole placeholder) is bound with appkg_bind, each size
# repeated for half a second; prints the fastest bind and the growth per 10x
# more placeholders, whose target is at most 12x (linear, with room for cache effects); a
# benchmark reports a missed target, it does not fail.
# Usage: bench/bind.sh PHTOOL (build/tests/phtool, which `make bench` builds)
set -eu
T=${1:-build/tests/phtool}
W=$(mktemp)
trap 'rm -f "$W"' EXIT
for n in 1000 10000 100000; do
	"$T" bench $n >>"$W"
done
awk 'BEGIN { printf "%-28s %12s %14s %10s\n", "bind, one document", "bytes", "s per bind", "growth" }
{
	growth = prev ? sprintf("%.2fx", $3 / prev) : "-"
	if (prev && $3 / prev > worst) worst = $3 / prev
	printf "%-28s %12d %14.6f %10s\n", $1 " placeholders", $2, $3, growth
	prev = $3
}
END {
	printf "worst growth per 10x placeholders: %.2fx (target at most 12x: %s)\n", worst,
		(worst > 12) ? "not met" : "met"
}' "$W"
