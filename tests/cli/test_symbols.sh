# The library's symbol hygiene (issue 10): libappkg.so exports exactly the functions that
# include/appkg/*.h declares, and every global symbol of libappkg.a carries the prefix appkg_
# (internal ones appkg__), so that linking libappkg never clashes with a program's names.
. "$(dirname "$0")/lib.sh"
LIB=${APPKG_BUILD:?}/lib

declared() {
	grep -ho 'APPKG_API[^(]*(' "$TOP"/include/appkg/*.h | grep -o 'appkg_[a-z0-9_]*($' |
		tr -d '(' | sort -u
}

shared_exports_exactly_the_header() {
	declared >"$W/declared"
	[ "$(wc -l <"$W/declared")" -gt 30 ] || fail "too few declarations found" || return 1
	nm -D --defined-only "$LIB/libappkg.so" | awk '$2 == "T" || $2 == "D" || $2 == "B" {print $3}' |
		sort -u >"$W/exported"
	diff "$W/declared" "$W/exported" || fail "exports differ from the header (< header, > exported)"
}

static_globals_prefixed() {
	nm -g --defined-only "$LIB/libappkg.a" | awk 'NF == 3 {print $3}' | sort -u >"$W/globals"
	[ -s "$W/globals" ] || fail "no symbols" || return 1
	! grep -v '^appkg_' "$W/globals" || fail "global symbols without the appkg_ prefix"
}

t shared_exports_exactly_the_header shared_exports_exactly_the_header
t static_globals_prefixed static_globals_prefixed
