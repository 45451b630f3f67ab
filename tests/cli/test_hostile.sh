# The hostile corpus (tests/tools/mkhostile.c), generated afresh, through every tool that reads a
# package. For each case and tool: the expected exit status; stderr lines naming the package
# (exactly one for a tool that stops at the first problem; appkg-verify reports every problem, at
# least one); at most 10 s and 128 MiB; nothing written anywhere but DEST, and DEST itself and
# any temporary directory gone; the package unchanged. appkg-verify --json must also report one
# of the expected codes first, so that the rule meant to stop each attack is the one that does.
. "$(dirname "$0")/lib.sh"
H="$W/corpus"
MAX_SECONDS=10
MAX_KIB=131072
# Sanitizers and valgrind add their own memory and time: the limits hold for the plain build.
# A case refused from the index alone decodes nothing, so it has a tighter bound: a manifest
# over its limit once cost a 64 MiB decode before it was refused (spec §15 step 6).
SMALL_KIB=16384
if [ -n "${APPKG_SANITIZED:-}${APPKG_TOOL_WRAPPER:-}" ]; then
	MAX_SECONDS=120 MAX_KIB=1048576 SMALL_KIB=1048576
fi
max_kib() { # max_kib CASE: the peak RSS allowed for CASE
	case $1 in
	manifest_whitespace_over_limit) echo "$SMALL_KIB" ;;
	*) echo "$MAX_KIB" ;;
	esac
}
TOOLS="verify unpack mount" # add a tool: a tool_NAME function and, if it may print more, lines_NAME

# measured CMD...: CMD under the time limit, its seconds and peak RSS (KiB) kept in $W/time.
measured() {
	/usr/bin/time -f '%e %M' -o "$W/time" timeout "$MAX_SECONDS" "$@"
}

# tool_NAME PKG DEST PWFILE: run the tool on PKG through `measured`, in the current directory.
# DEST is where it may write (absent before, and after a rejection); PWFILE is empty for no
# password.
tool_verify() {
	measured "$B/appkg-verify" ${3:+--password-file "$3"} "$1"
}
tool_unpack() {
	measured "$B/appkg-unpack" ${3:+--password-file "$3"} -C "$2" "$1"
}
lines_verify=any # verify reports every problem it finds; the others stop at the first

# The mount checks the container, index and manifest before it mounts, and each member when it
# is read: a package that mounts has every file read, and `-u` then reports (exit 1) the members
# that failed. Without /dev/fuse (outside CI) mount is left out.
tool_mount() {
	mkdir "$2" || return 1
	measured "$B/appkg-mount" --log /dev/null ${3:+--password-file "$3"} "$1" "$2"
	rc=$?
	if [ $rc -eq 0 ]; then
		find "$2" -type f -exec cat {} + >/dev/null 2>&1
		"$B/appkg-mount" -u "$2"
		rc=$?
		mountpoint -q "$2" && fusermount3 -uz "$2"
	fi
	rmdir "$2"
	return $rc
}
lines_mount=any
if [ ! -c /dev/fuse ] && [ "${CI:-}" != true ]; then
	TOOLS="verify unpack"
fi

# Anything written outside DEST: the sandbox around DEST and the jail around the sandbox must be
# empty, $W must hold only this script's files, and the absolute paths mkhostile aims at
# (/tmp/appkg-hostile-escape*) must not exist.
stray() {
	find "$W/jail" -mindepth 1
	ls -A "$W" | grep -vxE 'corpus|jail|stdout|stderr|time|\.out|\.bin|\.vg'
	ls -d /tmp/appkg-hostile-escape* 2>/dev/null
}

# Every stderr line is "appkg-TOOL: 'PKG': ..."; one line unless lines_TOOL=any.
check_stderr() { # check_stderr TOOL PKG
	n=$(wc -l <"$W/stderr")
	[ "$n" -ge 1 ] || fail "no message on stderr" || return 1
	eval "lines=\${lines_$1:-one}"
	[ "$lines" = any ] || [ "$n" -eq 1 ] || fail "$n lines on stderr, expected one" || return 1
	! grep -qvF "appkg-$1: '$2': " "$W/stderr" || fail "a stderr line does not name '$2'"
}

check_cost() { # check_cost TIMEFILE MAX_KIB
	mk=$2
	set -- $(tail -n 1 "$1")
	awk -v s="$1" -v k="$2" -v ms="$MAX_SECONDS" -v mk="$mk" \
		'BEGIN { exit !(s + 0 < ms && k + 0 <= mk) }' || fail "took $1 s and $2 KiB"
}

# rejects TOOL CASE EXIT PW: run one tool on one case in a fresh sandbox and check everything.
rejects() {
	pkg="$H/$2.appkg" sb="$W/jail/cell/sandbox"
	pw=
	[ "$4" = password ] && pw="$H/password"
	sum=$(b2sum "$pkg")
	rm -rf "$W/jail/cell" # what an earlier failure left
	mkdir -p "$sb" && cd "$sb" || return 1
	"tool_$1" "$pkg" "$sb/dest" "$pw" >"$W/stdout" 2>"$W/stderr"
	rc=$?
	cd "$W" && rmdir "$sb" "$W/jail/cell" 2>/dev/null
	expect_rc "$3" || return 1
	if [ "$3" -eq 0 ]; then
		[ ! -s "$W/stderr" ] || fail "accepted, yet messages on stderr" || return 1
	else
		check_stderr "$1" "$pkg" || return 1
	fi
	check_cost "$W/time" "$(max_kib "$2")" || return 1
	[ ! -s "$W/stdout" ] || fail "output on stdout" || return 1
	[ -z "$(stray)" ] || fail "written outside DEST or left behind: $(stray)" || return 1
	[ "$(b2sum "$pkg")" = "$sum" ] || fail "package changed"
}

# The first problem appkg-verify --json reports has one of the expected codes.
first_code() { # first_code CASE CODES PW
	pw=
	[ "$3" = password ] && pw="$H/password"
	run timeout "$MAX_SECONDS" "$B/appkg-verify" --json ${pw:+--password-file "$pw"} "$H/$1.appkg"
	got=$(jq -r '.problems[0].code' "$W/stdout" 2>/dev/null)
	case "|$2|" in
	*"|$got|"*) ;;
	*) fail "first problem code '$got', expected $2" ;;
	esac
}

hostile() { # hostile CASE EXIT CODES PW
	for tool in $TOOLS; do
		rejects "$tool" "$1" "$2" "$4" || return 1
	done
	first_code "$1" "$3" "$4"
}

mkdir -p "$W/jail"
t hostile_corpus_generated "$APPKG_BUILD/tests/mkhostile" "$H"
while read -r name want codes pw; do
	t "hostile_$name" hostile "$name" "$want" "$codes" "$pw"
done <"$H/cases"
