#!/bin/sh
# Crash safety (issue 5). APPKG_CRASH_AFTER=N makes a tool kill itself with SIGKILL right after
# its N-th counted write, fsync, rename, mkdir, file creation or unlink (format/io.c). For every
# N until the command completes, the target must be the old version or the new one (packages
# also verify), and the next normal run must leave the new version and no temporary file or
# directory. Then the same assertions after a real kill -9 at a random moment, on a corpus of
# a couple of thousand resources.
#
# The runs happen on a tmpfs when we may mount one: unpack's syncfs(2) then costs nothing,
# where on a shared disk it waits for everyone's dirty data; what is tested is the order of the
# operations, which a crash (unlike a power cut) does not undo.
#
# The hook exists only in the test builds of the tools (make crash-tools, APPKG_CRASH_BIN); the
# tools and library `make` builds must ignore APPKG_CRASH_AFTER (checked last).
NORMAL_BIN=${APPKG_BIN:?run through tests/run.sh}
APPKG_BIN=${APPKG_CRASH_BIN:?run through tests/run.sh}
. "$(dirname "$0")/lib.sh"

R=$W
[ "$(id -u)" -eq 0 ] && mount_tmpfs "$W/fs" 512m && R=$W/fs
S=$R/s

# fixtures DIR_OF_NEW: packages and trees of the new version and of an old one that lacks the
# queries and has one page more
fixtures() {
	rm -rf "$R/old" "$R/old.d" "$R/new.d" && cp -a "$1" "$R/old" && rm -rf "$R/new" && mv "$1" "$R/new" &&
		rm -r "$R/old/resources/queries" && echo '{"extra": true}' >"$R/old/resources/pages/extra.json" &&
		"$B/appkg-pack" "$R/old" -o "$R/old.appkg" && "$B/appkg-pack" "$R/new" -o "$R/new.appkg" &&
		"$B/appkg-unpack" "$R/old.appkg" -C "$R/old.d" && "$B/appkg-unpack" "$R/new.appkg" -C "$R/new.d" ||
		echo "FAIL: crash test fixtures"
}


# ---- what a target may look like ----

is_pkg() { # is_pkg FILE REF: FILE has the bytes of REF and verifies
	cmp -s "$1" "$2" && "$B/appkg-verify" "$1"
}

is_tree() { # is_tree DIR REF
	diff -r "$1" "$2" >/dev/null
}

# state KIND TARGET OLD NEW: prints "old", "new" or "absent" (OLD "-": no old version), or fails.
state() {
	if [ ! -e "$2" ] && [ "$3" = - ]; then
		echo absent
	elif [ "$3" != - ] && "is_$1" "$2" "$3"; then
		echo old
	elif "is_$1" "$2" "$4"; then
		echo new
	else
		echo "$2 is neither the old nor the new version"
		ls -lA "$(dirname "$2")"
		return 1
	fi
}

# After a normal run: the new version and nothing else in the target's directory.
clean_after_rerun() { # clean_after_rerun KIND TARGET NEW
	"is_$1" "$2" "$3" || { echo "rerun did not leave the new version"; return 1; }
	left=$(ls -A "$(dirname "$2")")
	[ "$left" = "$(basename "$2")" ] || { echo "left over after the rerun:" $left; return 1; }
}

# ---- one scenario: pack or unpack, replacing an old target or making a new one ----
# Sets KIND (pkg/tree), TARGET, OLD (or -), NEW, and defines reset and the command cmd.

scenario() { # scenario pack|unpack replace|new
	rm -rf "$S" && mkdir "$S"
	case $1 in
	pack) KIND=pkg TARGET=$S/out.appkg NEW=$R/new.appkg OLDREF=$R/old.appkg ;;
	unpack) KIND=tree TARGET=$S/dest NEW=$R/new.d OLDREF=$R/old.d ;;
	esac
	TOOL=$1 OLD=-
	[ "$2" = replace ] && OLD=$OLDREF
}

reset() {
	rm -rf "$TARGET"
	[ "$OLD" = - ] || cp -a "$OLD" "$TARGET"
}

cmd() { # cmd SRC_PACKAGE_OR_DIR
	if [ "$TOOL" = pack ]; then
		"$B/appkg-pack" "$1" -o "$TARGET"
	else
		"$B/appkg-unpack" -f "$1" -C "$TARGET"
	fi
}

# The same in the background, so that $! is the tool itself and not a subshell.
cmd_background() {
	if [ "$TOOL" = pack ]; then
		"$B/appkg-pack" "$1" -o "$TARGET" >/dev/null 2>"$W/stderr" &
	else
		"$B/appkg-unpack" -f "$1" -C "$TARGET" >/dev/null 2>"$W/stderr" &
	fi
}

source_of_new() {
	[ "$TOOL" = pack ] && echo "$R/new" || echo "$R/new.appkg"
}

# One crashed run (status 137) or a completed one (0); anything else fails.
check_after() { # check_after STATUS
	case $1 in
	0) clean_after_rerun "$KIND" "$TARGET" "$NEW" || return 1 ;;
	137) seen=$(state "$KIND" "$TARGET" "$OLD" "$NEW") || { echo "$seen"; return 1; } ;;
	*) echo "exit status $1"; cat "$W/stderr"; return 1 ;;
	esac
}

# Every crash point: N = 1, 2, ... until the command completes. Writes the count to $W/.points.
crash_points() { # crash_points pack|unpack replace|new
	scenario "$1" "$2"
	src=$(source_of_new) n=1 olds=0 news=0
	while :; do
		reset
		APPKG_CRASH_AFTER=$n cmd "$src" >/dev/null 2>"$W/stderr"
		status=$?
		check_after "$status" || { echo "after crash point $n"; return 1; }
		[ "$status" -eq 0 ] && break
		case $seen in new) news=$((news + 1)) ;; *) olds=$((olds + 1)) ;; esac
		cmd "$src" >/dev/null 2>"$W/stderr" || { echo "rerun after crash point $n failed"; cat "$W/stderr"; return 1; }
		check_after 0 || { echo "after crash point $n"; return 1; }
		n=$((n + 1))
	done
	[ "$news" -gt 0 ] && [ "$olds" -gt 0 ] ||
		{ echo "expected crashes leaving both states, got $olds as it was and $news new"; return 1; }
	echo "$((n - 1)) crash points: $olds left the target as it was, $news the new version" >"$W/.points"
	[ "$n" -gt 3 ] || { echo "only $((n - 1)) crash points"; return 1; }
}

t_points() { # t_points NAME CMD...: like t, naming the number of crash points covered
	name=$1
	shift
	if ( "$@" ) >"$W/.out" 2>&1; then
		echo "PASS: $name ($(cat "$W/.points"))"
	else
		echo "FAIL: $name"
		sed 's/^/    /' "$W/.out" >&2
	fi
}

corpus "$R/small" 25 unicode --no-secrets
fixtures "$R/small"
t_points pack_replace_every_crash_point crash_points pack replace
t_points pack_new_every_crash_point crash_points pack new
t_points unpack_force_every_crash_point crash_points unpack replace
t_points unpack_new_every_crash_point crash_points unpack new

# The normal build has no crash point: the variable changes nothing, and neither the library
# nor a tool holds its name. The hooked build does stop, so that this test can fail.
normal_build_ignores_crash_after() {
	APPKG_CRASH_AFTER=1 "$NORMAL_BIN/appkg-pack" "$R/new" -o "$W/plain.appkg" &&
		APPKG_CRASH_AFTER=1 "$NORMAL_BIN/appkg-unpack" "$W/plain.appkg" -C "$W/plain.d" &&
		"$NORMAL_BIN/appkg-verify" "$W/plain.appkg" || fail "a normal build stopped" || return 1
	for f in "$APPKG_BUILD/lib/libappkg.so" "$APPKG_BUILD/lib/libappkg.a" "$NORMAL_BIN/appkg-pack"; do
		! grep -q APPKG_CRASH_AFTER "$f" || fail "$f has the crash hook" || return 1
	done
	APPKG_CRASH_AFTER=1 "$APPKG_CRASH_BIN/appkg-pack" "$R/new" -o "$W/hooked.appkg" 2>/dev/null
	[ $? -eq 137 ] || fail "the test build did not stop at crash point 1"
}
t normal_build_ignores_crash_after normal_build_ignores_crash_after

# ---- real kill -9 at a random moment ----

now_ms() { echo $(($(date +%s%N) / 1000000)); }

random_below() { # random_below N (N >= 1)
	echo $(($(od -An -N4 -tu4 /dev/urandom) % $1))
}

# Kill the command at random moments within its normal running time until it has been killed
# KILLS times (at most 4 * KILLS tries); the same checks as above after each.
kill_loop() { # kill_loop pack|unpack KILLS
	scenario "$1" replace
	src=$(source_of_new) kills=0 tries=0 temps=0 news=0
	reset
	start=$(now_ms)
	cmd "$src" || return 1
	span=$(($(now_ms) - start + 1))
	while [ "$kills" -lt "$2" ] && [ "$tries" -lt $(($2 * 4)) ]; do
		reset
		cmd_background "$src"
		pid=$!
		sleep "$(awk "BEGIN { printf \"%.3f\", $(random_below "$span") / 1000 }")"
		kill -9 "$pid" 2>/dev/null
		wait "$pid"
		status=$?
		check_after "$status" || { echo "after kill $kills"; return 1; }
		if [ "$status" -eq 137 ]; then
			kills=$((kills + 1))
			[ "$seen" = new ] && news=$((news + 1))
			ls -A "$S" | grep -q '^\.' && temps=$((temps + 1))
			cmd "$src" >/dev/null 2>"$W/stderr" && check_after 0 || return 1
		fi
		tries=$((tries + 1))
	done
	echo "$kills kills in $tries runs: $temps left a temporary, $news the new version" >"$W/.points"
	[ "$kills" -ge "$2" ] || { echo "only $kills kills in $tries tries"; return 1; }
}

corpus "$R/medium" 2500 plain --no-secrets
fixtures "$R/medium"

t_points pack_kill9_random_moments kill_loop pack 20
t_points unpack_kill9_random_moments kill_loop unpack 20

# ---- what the next run removes, and what it must leave alone ----

leftovers_removed_only_when_dead_and_unlocked() {
	scenario pack replace
	reset
	sh -c 'exit 0' & dead=$!
	wait "$dead"
	for name in ".out.appkg.tmp-$dead-0000000a" ".out.appkg.tmp-$$-0000000b" \
		".other.appkg.tmp-$dead-0000000c" ".out.appkg.tmp-$dead-0000000dx" \
		".out.appkg.tmp-$dead-0000000e" ".out.appkg.unpack-$dead-0000000f"; do
		echo junk >"$S/$name"
	done
	mkdir "$S/.out.appkg.tmp-$dead-00000010" && echo junk >"$S/.out.appkg.tmp-$dead-00000010/f"
	# flock -o: the lock stays with flock itself, not with its sleep
	flock -o "$S/.out.appkg.tmp-$dead-0000000e" sleep 30 </dev/null >/dev/null 2>&1 &
	holder=$!
	sleep 0.2
	cmd "$R/new"
	status=$?
	pkill -P "$holder"
	wait "$holder" 2>/dev/null
	[ "$status" -eq 0 ] || return 1
	left=$(ls -A "$S" | LC_ALL=C sort | tr '\n' ' ')
	# removed: the dead, unlocked one and the dead directory; kept: a live PID, another target,
	# a name not of the form, a locked one, another tag
	kept=$(printf '%s\n' ".other.appkg.tmp-$dead-0000000c" ".out.appkg.tmp-$$-0000000b" \
		".out.appkg.tmp-$dead-0000000dx" ".out.appkg.tmp-$dead-0000000e" \
		".out.appkg.unpack-$dead-0000000f" out.appkg | LC_ALL=C sort | tr '\n' ' ')
	[ "$left" = "$kept" ] ||
		{ echo "left: $left"; echo "expected: $kept"; return 1; }
}

t leftovers_removed_only_when_dead_and_unlocked leftovers_removed_only_when_dead_and_unlocked
