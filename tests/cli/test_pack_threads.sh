# appkg-pack -T N (issue 13): the files are read, checked and digested on N threads and the
# frames filled and compressed on N threads, yet the package and the problems reported are the
# same for every N.
. "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=1767225600

# Several frames' worth of resources: -T 1, 2 and 4 give the same bytes.
same_bytes_any_threads() {
	corpus "$W/st" 400 plain --no-secrets || return 1
	for n in 1 2 4; do
		"$B/appkg-pack" -T $n "$W/st" -o "$W/st$n.appkg" || return 1
	done
	[ "$(cat "$W"/st/resources/*/* | wc -c)" -gt 400000 ] || fail "corpus too small for several frames" ||
		return 1
	cmp "$W/st1.appkg" "$W/st2.appkg" && cmp "$W/st1.appkg" "$W/st4.appkg"
}

# Bad resources in several type directories, found by threads in any order, are reported in
# the same order, with the same status, for every -T.
problems_same_order_any_threads() {
	corpus "$W/bad" 60 plain --no-secrets || return 1
	set -- $(cd "$W/bad" && find resources -name '*.json' -type f | sort | awk 'NR % 7 == 3')
	[ $# -ge 4 ] || fail "too few resources" || return 1
	printf '{"a": ' >"$W/bad/$1"
	printf '{"a": 1, "a": 2}' >"$W/bad/$2"
	printf '[1, 2,]' >"$W/bad/$3"
	rm "$W/bad/$4" && ln -s manifest.json "$W/bad/$4"
	mkdir "$W/bad/${1%/*}/dir.json"
	for n in 1 2 4; do
		"$B/appkg-pack" -T $n "$W/bad" -o "$W/bad$n.appkg" 2>"$W/bad$n.err"
		echo $? >"$W/bad$n.rc"
	done
	[ "$(cat "$W/bad1.rc")" = 1 ] && [ "$(wc -l <"$W/bad1.err")" -ge 5 ] ||
		{ cat "$W/bad1.err"; fail "expected exit 1 and five problems"; } || return 1
	for n in 2 4; do
		cmp "$W/bad1.rc" "$W/bad$n.rc" && cmp "$W/bad1.err" "$W/bad$n.err" ||
			{ diff "$W/bad1.err" "$W/bad$n.err"; fail "-T $n differs from -T 1"; } || return 1
	done
	[ ! -e "$W/bad1.appkg" ] && [ ! -e "$W/bad4.appkg" ]
}

t pack_same_bytes_any_threads same_bytes_any_threads
t pack_problems_same_order_any_threads problems_same_order_any_threads
