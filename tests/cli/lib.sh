# Shared helpers for the CLI tests: a fresh temp directory per test file, `t NAME CMD...`
# to run one check, and `expect` helpers that compare exit status, stdout and stderr.
set -u
B=${APPKG_BIN:?run through tests/run.sh}
TOP=${APPKG_TOP:?}
W=$(mktemp -d)
MOUNTS=
trap 'for m in $MOUNTS; do umount -l "$m"; done; final_reports; chmod -R u+w "$W" 2>/dev/null; rm -rf "$W"' EXIT
export APPKG_PASSWORD_UNSET=1
unset APPKG_PASSWORD
export XDG_STATE_HOME="$W/state" # appkg-mount logs there by default

# APPKG_TOOL_WRAPPER (e.g. "valgrind -q"): run every tool under it. $B then names a directory of
# one-line scripts with the tools' names, so every way a test calls a tool is covered; $RAW_B
# keeps the real tools for checks that measure time or memory. valgrind writes its reports to
# files in $W/.vg, so that those of a mount daemon (whose stderr is /dev/null) count too.
RAW_B=$B
if [ -n "${APPKG_TOOL_WRAPPER:-}" ]; then
	mkdir "$W/.bin" "$W/.vg" "$W/.vg/seen"
	wrap=$APPKG_TOOL_WRAPPER
	case $wrap in valgrind*) wrap="$wrap --log-file=$W/.vg/%p" ;; esac
	for p in "$RAW_B"/appkg*; do
		printf '#!/bin/sh\nexec %s '"'"'%s'"'"' "$@"\n' "$wrap" "$p" >"$W/.bin/${p##*/}"
		chmod 755 "$W/.bin/${p##*/}"
	done
	B=$W/.bin
fi

# wrapper_quiet: 1, printing them, if the tool wrapper wrote reports since the last call.
wrapper_quiet() {
	reported=0
	for f in "$W"/.vg/[0-9]*; do
		[ -s "$f" ] || continue
		echo "--- tool wrapper report ${f##*/}:"
		cat "$f"
		mv "$f" "$W/.vg/seen/"
		reported=1
	done
	return $reported
}

# Reports written after the last test (a daemon that exits when its test directory goes).
final_reports() {
	[ -d "$W/.vg" ] || return 0
	i=0
	while [ $i -lt 300 ] && pgrep -f "$W" >/dev/null; do
		i=$((i + 1))
		sleep 0.1
	done
	wrapper_quiet >"$W/.out" || { echo "FAIL: tool wrapper reports after the last test"; cat "$W/.out" >&2; }
}

# t NAME CMD [ARGS...]: CMD is a shell function that returns non-zero on failure and may print why.
t() {
	name=$1
	shift
	if ( "$@" ) >"$W/.out" 2>&1 && wrapper_quiet >>"$W/.out"; then
		echo "PASS: $name"
	else
		echo "FAIL: $name"
		sed 's/^/    /' "$W/.out" >&2
	fi
}

# run CMD...: runs it, keeping status in $rc, stdout in $W/stdout and stderr in $W/stderr.
run() {
	"$@" >"$W/stdout" 2>"$W/stderr"
	rc=$?
}

fail() {
	echo "$*"
	echo "--- stderr:"
	cat "$W/stderr" 2>/dev/null
	return 1
}

expect_rc() {
	[ "$rc" -eq "$1" ] || fail "exit status $rc, expected $1"
}

expect_stderr() {
	grep -q -- "$1" "$W/stderr" || fail "stderr lacks '$1'"
}

# One line on stderr, starting with the program name.
expect_one_line() {
	[ "$(wc -l <"$W/stderr")" -eq 1 ] && grep -q "^$1: " "$W/stderr" || fail "expected one '$1: ' line"
}

# A small realistic corpus made by the project's own generator.
corpus() { # corpus DIR N NAMES [--no-secrets]
	python3 "$TOP/tests/tools/gen-corpus.py" --resources "$2" --names "$3" --seed 7 --out "$1" ${4:-} 2>/dev/null
}

# mount_tmpfs DIR SIZE: a fresh tmpfs of SIZE (as mount -o size= takes it) at DIR below $W,
# unmounted on exit. Fails when not root or when the mount is refused.
mount_tmpfs() {
	mkdir -p "$1" && mount -t tmpfs -o "size=$2,mode=0755" tmpfs "$1" 2>"$W/.mount" || return 1
	MOUNTS="$1 $MOUNTS"
}

# expect_no_secret_values SECRETS_JSON FILE...: no value of SECRETS_JSON (an object of strings)
# appears in any FILE, neither as it is nor as JSON writes it (escaped). For the "never a
# secret value in any output" checks of the commands that read secrets: give it the stdout and
# stderr of every run. Values shorter than 8 bytes would match by chance: such a fixture fails.
expect_no_secret_values() {
	secrets=$1
	shift
	jq -e 'type == "object" and ([.[] | type == "string" and (utf8bytelength >= 8)] | all)' \
		"$secrets" >/dev/null || fail "$secrets: not an object of strings of 8 bytes or more" ||
		return 1
	jq -r '.[]' "$secrets" >"$W/.values" && jq -r '.[] | tojson | .[1:-1]' "$secrets" >>"$W/.values" ||
		return 1
	for f in "$@"; do
		if grep -F -n -f "$W/.values" "$f" >"$W/.leaks"; then
			fail "a secret value is in $f, line $(cut -d: -f1 "$W/.leaks" | head -3 | tr "\n" " ")"
			return 1
		fi
	done
}

# at_prompt ANSWERS CMD...: run CMD on a new pseudo-terminal, typing the comma-separated ANSWERS
# (an empty string is one empty answer) one at each "Password: " prompt, and only once the
# prompt has turned echo off: a prompt flushes what was typed before it, so typing on a timer
# races a slow machine. What the terminal showed goes to $W/tty; $rc is CMD's exit status.
at_prompt() {
	timeout 70 python3 - "$@" >"$W/tty" 2>&1 <<'EOF'
import os, pty, select, sys, termios, time
answers = sys.argv[1].split(",")
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
seen, shown, deadline = 0, b"", time.time() + 60
while time.time() < deadline:
    if answers and shown.count(b"Password: ") > seen and not termios.tcgetattr(fd)[3] & termios.ECHO:
        os.write(fd, answers.pop(0).encode() + b"\n")
        seen += 1
    if select.select([fd], [], [], 0.05)[0]:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        shown += data
sys.stdout.write(shown.decode(errors="replace"))
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) & 0xff)
EOF
	rc=$?
}
