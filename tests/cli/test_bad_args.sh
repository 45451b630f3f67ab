# Every argument of every tool that names a file, password or key, in each bad form a user can
# give it by mistake: each run must end with the status the table below states, print exactly
# one line on stderr that starts with the program's name (none when the status is 0), never die
# of a signal, and never hang (each run is under `timeout 10`, a hang guard: 124 fails).
#
# The forms (columns), made fresh for each run in a directory of its own:
#   missing  an input that does not exist; for an output, a path whose directory does not exist
#   empty    an empty regular file
#   nl       a file holding only a newline
#   dir      an empty directory
#   fifo     a FIFO that no process writes
#   zero     a symbolic link to /dev/zero
#   noperm   an input the caller may not read (mode 000), or an output in a directory it may not
#            write (mode 555); the tests run as root, so this column runs the tool without
#            CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (setpriv), where permissions apply
#   utf8     a name that is not UTF-8 ("\377.x"): a good input copied there, or a new output;
#            names are bytes, so this works (status 0, nothing on stderr)
#   long     a name with one component of 5000 bytes (over PATH_MAX and NAME_MAX)
# Statuses are those of the README: 0 ok, 1 input rejected, 2 usage, 3 authentication (no usable
# password: empty, a newline only, over 4096 bytes), 4 environment (missing, not a regular file,
# not readable or writable, name too long).
. "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=1767225600

FORMS="missing empty nl dir fifo zero noperm utf8 long"
LONG=$(printf '%5000s' '' | tr ' ' a)
BAD=$(printf '\377.x')
NODAC="setpriv --inh-caps=-dac_override,-dac_read_search --bounding-set=-dac_override,-dac_read_search"
# The hang guard: 10 s; 60 s for the rows whose good form runs scrypt on a minisign secret key
# (1 GiB, a few seconds, more on a loaded machine).
GUARD=10
FUSE=0
[ -c /dev/fuse ] && command -v fusermount3 >/dev/null && FUSE=1

# Fixtures: a directory with secrets, its package (secrets sealed with $PW), a signed package,
# an encrypted key pair ($KS, $KP: password $PW) and an unencrypted secret key ($KW).
F=$W/fixtures
mkdir "$F" "$F/emptydir"
PW=$F/pw
echo "correct horse" >"$PW"
DOC=$F/doc.txt
echo "a document" >"$DOC"
ENV=$F/env.json # a bindings file (ENV.json) for a package without inputs
echo '{"environment": "test", "inputs": {}}' >"$ENV"
mkdir -p "$F/tiny/resources/pages"
echo '{"name": "tiny"}' >"$F/tiny/manifest.json"
echo '{"title": "tiny"}' >"$F/tiny/resources/pages/home.json"
cp -r "$TOP/examples/crm-console" "$F/app0"
APP=$F/app
PKG=$F/app.appkg
SPKG=$F/signed.appkg
KS=$F/k.sec KP=$F/k.pub KW=$F/kw.sec
setup() {
	"$B/appkg-pack" --kdf interactive --password-file "$PW" "$F/app0" -o "$PKG" &&
		"$B/appkg-unpack" --password-file "$PW" "$PKG" -C "$APP" &&
		"$B/appkg-keygen" --password-file "$PW" -p "$KP" -s "$KS" &&
		"$B/appkg-keygen" -W -p "$F/kw.pub" -s "$KW" &&
		"$B/appkg-pack" --password-file "$PW" --sign "$KW" "$APP" -o "$SPKG" &&
		"$B/appkg-keygen" -W -p "$F/kw2.pub" -s "$F/kw2.sec" && cp "$F/kw2.pub" "$KP.other" &&
		"$B/appkg-pack" "$F/tiny" -o "$F/tiny.appkg"
}
if ! setup >"$W/.setup" 2>&1; then
	echo "FAIL: bad_args_fixtures"
	cat "$W/.setup" >&2
	exit 0
fi
SPKG_KEY=$F/kw.pub

# make_form FORM KIND GOOD R: create the form in the fresh directory R; prints its path.
# KIND: in (GOOD is a good value, copied for noperm and utf8), out (a file the tool creates),
# mnt (a mount point: GOOD is an empty directory; its zero form links to a private copy of
# /dev/zero's device node, so that a mount that followed the link would cover nothing shared),
# ctl (a path that should name a running mount; the directories given are not mounts).
make_form() {
	case $1 in
	missing) [ "$2" = out ] && echo "$4/nodir/x" || echo "$4/absent" ;;
	empty) : >"$4/empty" && echo "$4/empty" ;;
	nl) echo >"$4/nl" && echo "$4/nl" ;;
	dir) mkdir "$4/dir" && echo "$4/dir" ;;
	fifo) mkfifo "$4/fifo" && echo "$4/fifo" ;;
	zero)
		if [ "$2" = mnt ]; then
			mknod "$4/dev-zero" c 1 5 && ln -s "$4/dev-zero" "$4/zero" && echo "$4/zero"
		else
			ln -s /dev/zero "$4/zero" && echo "$4/zero"
		fi ;;
	noperm)
		case $2 in
		in | mnt) cp -r "$3" "$4/noperm" && chmod 000 "$4/noperm" && echo "$4/noperm" ;;
		ctl) mkdir "$4/noperm" && chmod 000 "$4/noperm" && echo "$4/noperm" ;;
		out) mkdir "$4/ro" && chmod 555 "$4/ro" && echo "$4/ro/x" ;;
		esac ;;
	utf8)
		case $2 in
		in | mnt) cp -r "$3" "$4/$BAD" ;;
		ctl) mkdir "$4/$BAD" ;;
		esac
		echo "$4/$BAD" ;;
	long) echo "$4/$LONG" ;;
	esac
}

# Unmount whatever a run mounted at or below R (a row whose mount succeeded).
unmount_below() {
	LC_ALL=C awk -v r="$1" '$3 == "fuse.appkg" && ($2 == r || index($2, r "/") == 1) { print $2 }' /proc/mounts |
		while read -r m; do fusermount3 -u "$m" || fusermount3 -uz "$m"; done
}

# check_one ID FORM WANT KIND GOOD PROG CMD...: one run; ARG in CMD is the form, NEW and NEW2
# fresh paths, MNT a fresh empty directory.
check_one() {
	id=$1 form=$2 want=$3 kind=$4 good=$5 prog=$6
	shift 6
	R=$W/r/$id.$form
	mkdir -p "$R" "$R/mnt"
	arg=$(make_form "$form" "$kind" "$good" "$R") || fail "cannot make the form" || return 1
	for a; do
		case $a in
		ARG) a=$arg ;;
		NEW) a=$R/new ;;
		NEW2) a=$R/new2 ;;
		MNT) a=$R/mnt ;;
		esac
		set -- "$@" "$a"
		shift
	done
	wrap=
	[ "$form" = noperm ] && wrap=$NODAC
	run timeout "$GUARD" $wrap "$@" </dev/null
	unmount_below "$R"
	chmod -R u+rwx "$R" 2>/dev/null
	[ "$rc" -ne 124 ] || fail "hangs (killed after $GUARD s)" || return 1
	[ "$rc" -lt 128 ] || fail "killed by signal $((rc - 128))" || return 1
	expect_rc "$want" || return 1
	if [ "$want" -eq 0 ]; then
		[ ! -s "$W/stderr" ] || fail "status 0 but stderr is not empty"
	else
		expect_one_line "$prog"
	fi
}

# row ID KIND GOOD "STATUS PER FORM" PROG CMD...: one check per form, in the order of $FORMS.
row() {
	id=$1 kind=$2 good=$3 wants=$4 prog=$5
	shift 5
	case $prog in appkg-mount) [ $FUSE = 1 ] || { echo "SKIP: bad_args_$id (no FUSE)"; return 0; } ;; esac
	i=0
	for form in $FORMS; do
		i=$((i + 1))
		want=$(echo "$wants" | cut -d' ' -f$i)
		t "bad_args_${id}_$form" check_one "$id" "$form" "$want" "$kind" "$good" "$prog" "$@"
	done
}

# Each row: an argument of a tool, the status for each form (columns in the order of $FORMS),
# the program that must start the line on stderr, and the command (ARG is the form, NEW and NEW2
# fresh paths, MNT a fresh empty directory). Why a status:
# - a password source that can be read but holds no usable password (empty, a newline only, a
#   FIFO with no writer reads as empty, /dev/zero is over 4096 bytes) is 3, like no password;
#   one that cannot be read (missing, a directory, no permission, name too long) is 4;
# - a package or key that is a file but not a package or key (empty, a newline) is rejected:
#   1 for a package, 3 for a key (a bad key is an authentication failure, like a bad signature);
# - a path of the wrong type (a directory, a FIFO or a device where a file is read or replaced,
#   a file where a directory is needed) is 4 and is refused without blocking or reading;
# - outputs: an existing regular file is replaced (pack -o, mount --output), appended to
#   (--log, which may also be a device such as /dev/null), or refused (keygen never overwrites a
#   key, unpack -C wants an absent or empty directory), all before any work is done;
# - appkg-mount -u / --commit on a path that is not an appkg mount is a usage error (2), on a
#   path that cannot be looked at an environment error (4);
# - pack DIR that is an empty directory lacks manifest.json: the input is rejected (1).
#
# ID                          KIND GOOD          missing empty nl dir fifo zero noperm utf8 long
row pack-DIR                  in "$APP"          "4 4 4 1 4 4 4 0 4" appkg-pack "$B/appkg-pack" ARG -o NEW --password-file "$PW"
row pack-o                    out -              "4 0 0 4 4 4 4 0 4" appkg-pack "$B/appkg-pack" "$APP" -o ARG --password-file "$PW"
row pack-password-file        in "$PW"           "4 3 3 4 3 3 4 0 4" appkg-pack "$B/appkg-pack" "$APP" -o NEW --password-file ARG
row pack-sign                 in "$KW"           "4 3 3 4 4 4 4 0 4" appkg-pack "$B/appkg-pack" "$APP" -o NEW --password-file "$PW" --sign ARG
GUARD=60
row pack-key-password-file    in "$PW"           "4 3 3 4 3 3 4 0 4" appkg-pack "$B/appkg-pack" "$APP" -o NEW --password-file "$PW" --sign "$KS" --key-password-file ARG
GUARD=10
row unpack-PKG                in "$PKG"          "4 1 1 4 4 4 4 0 4" appkg-unpack "$B/appkg-unpack" --password-file "$PW" ARG -C NEW
row unpack-C                  out -              "4 4 4 0 4 4 4 0 4" appkg-unpack "$B/appkg-unpack" --password-file "$PW" "$PKG" -C ARG
row unpack-password-file      in "$PW"           "4 3 3 4 3 3 4 0 4" appkg-unpack "$B/appkg-unpack" --password-file ARG "$PKG" -C NEW
row verify-PKG                in "$PKG"          "4 1 1 4 4 4 4 0 4" appkg-verify "$B/appkg-verify" --password-file "$PW" ARG
row verify-password-file      in "$PW"           "4 3 3 4 3 3 4 0 4" appkg-verify "$B/appkg-verify" --password-file ARG "$PKG"
row verify-pubkey             in "$SPKG_KEY"     "4 3 3 4 4 4 4 0 4" appkg-verify "$B/appkg-verify" --pubkey ARG "$SPKG"
row verify-bindings           in "$ENV"          "4 1 1 4 4 4 4 0 4" appkg-verify "$B/appkg-verify" --bindings ARG "$F/tiny.appkg"
row unpack-bindings           in "$ENV"          "4 1 1 4 4 4 4 0 4" appkg-unpack "$B/appkg-unpack" --bindings ARG "$F/tiny.appkg" -C NEW
row keygen-p                  out -              "4 4 4 4 4 4 4 0 4" appkg-keygen "$B/appkg-keygen" -W -p ARG -s NEW
row keygen-s                  out -              "4 4 4 4 4 4 4 0 4" appkg-keygen "$B/appkg-keygen" -W -p NEW -s ARG
GUARD=60
row keygen-password-file      in "$PW"           "4 3 3 4 3 3 4 0 4" appkg-keygen "$B/appkg-keygen" --password-file ARG -p NEW -s NEW2
GUARD=10
row keygen-sign               in "$DOC"          "4 0 0 4 4 4 4 0 4" appkg-keygen "$B/appkg-keygen" --sign ARG -s "$KW"
row keygen-sign-s             in "$KW"           "4 3 3 4 4 4 4 0 4" appkg-keygen "$B/appkg-keygen" --sign "$DOC" -s ARG
GUARD=60
row keygen-sign-password-file in "$PW"           "4 3 3 4 3 3 4 0 4" appkg-keygen "$B/appkg-keygen" --sign "$DOC" -s "$KS" --password-file ARG
GUARD=10
row mount-PKG                 in "$PKG"          "4 1 1 4 4 4 4 0 4" appkg-mount "$B/appkg-mount" --password-file "$PW" ARG MNT
row mount-MOUNTPOINT          mnt "$F/emptydir"  "4 4 4 0 4 4 4 0 4" appkg-mount "$B/appkg-mount" --password-file "$PW" "$PKG" ARG
row mount-password-file       in "$PW"           "4 3 3 4 3 3 4 0 4" appkg-mount "$B/appkg-mount" --password-file ARG "$PKG" MNT
row mount-output              out -              "4 0 0 4 4 4 4 0 4" appkg-mount "$B/appkg-mount" --password-file "$PW" --output ARG "$PKG" MNT
row mount-log                 out -              "4 0 0 4 4 0 4 0 4" appkg-mount "$B/appkg-mount" --password-file "$PW" --log ARG "$PKG" MNT
row mount-u                   ctl -              "4 2 2 2 2 2 4 2 4" appkg-mount "$B/appkg-mount" -u ARG
row mount-commit              ctl -              "4 2 2 2 2 2 4 2 4" appkg-mount "$B/appkg-mount" --commit ARG
row front-verify-PKG          in "$PKG"          "4 1 1 4 4 4 4 0 4" appkg-verify "$B/appkg" verify --password-file "$PW" ARG
row front-unpack-PKG          in "$PKG"          "4 1 1 4 4 4 4 0 4" appkg-unpack "$B/appkg" unpack ARG -C NEW
row front-pack-DIR            in "$APP"          "4 4 4 1 4 4 4 0 4" appkg-pack "$B/appkg" pack ARG -o NEW --password-file "$PW"
row pack-reuse-from           in "$PKG"          "4 1 1 4 4 4 4 0 4" appkg-pack "$B/appkg-pack" --password-file "$PW" --reuse-from ARG "$F/app0" -o NEW
row rekey-PKG                 in "$PKG"          "4 1 1 4 4 4 4 0 4" appkg-rekey "$B/appkg-rekey" --password-file "$PW" --new-password-file "$PW" ARG
row rekey-o                   out -              "4 0 0 4 4 4 4 0 4" appkg-rekey "$B/appkg-rekey" --password-file "$PW" --new-password-file "$PW" -o ARG "$PKG"
row rekey-password-file       in "$PW"           "4 3 3 4 3 3 4 0 4" appkg-rekey "$B/appkg-rekey" --password-file ARG --new-password-file "$PW" -o NEW "$PKG"
row rekey-new-password-file   in "$PW"           "4 3 3 4 3 3 4 0 4" appkg-rekey "$B/appkg-rekey" --password-file "$PW" --new-password-file ARG -o NEW "$PKG"
row rekey-sign                in "$KW"           "4 3 3 4 4 4 4 0 4" appkg-rekey "$B/appkg-rekey" --password-file "$PW" --new-password-file "$PW" --sign ARG -o NEW "$PKG"

# Standard input ('-') as a package or a password source: /dev/zero, empty, a pipe of garbage.
# A package stream must begin with a zstd frame and is refused at once otherwise (1), without
# being copied; a password stream is read only up to its first line (4096 bytes at most).
stdin_one() { # stdin_one WANT PROG INPUT CMD...
	want=$1 prog=$2 input=$3
	shift 3
	run timeout 10 "$@" <"$input"
	[ "$rc" -ne 124 ] || fail "hangs (killed after 10 s)" || return 1
	expect_rc "$want" && expect_one_line "$prog"
}
: >"$W/empty"
printf 'not a package at all\n' >"$W/garbage"
for p in verify unpack; do
	set -- "$B/appkg-$p" -
	[ $p = unpack ] && set -- "$@" -C "$W/stdin-$p"
	t "bad_args_$p-stdin_zero" stdin_one 1 "appkg-$p" /dev/zero "$@"
	t "bad_args_$p-stdin_empty" stdin_one 1 "appkg-$p" "$W/empty" "$@"
	t "bad_args_$p-stdin_garbage" stdin_one 1 "appkg-$p" "$W/garbage" "$@"
done
t bad_args_verify-password-stdin_zero stdin_one 3 appkg-verify /dev/zero "$B/appkg-verify" --password-file - "$PKG"
t bad_args_verify-password-stdin_empty stdin_one 3 appkg-verify "$W/empty" "$B/appkg-verify" --password-file - "$PKG"
t bad_args_pack-password-stdin_zero stdin_one 3 appkg-pack /dev/zero "$B/appkg-pack" --password-file - "$APP" -o "$W/stdin.appkg"
t bad_args_rekey-stdin_zero stdin_one 1 appkg-rekey /dev/zero "$B/appkg-rekey" --password-file "$PW" --new-password-file "$PW" - -o "$W/stdin-rekey.appkg"
t bad_args_rekey-new-password-stdin_zero stdin_one 3 appkg-rekey /dev/zero "$B/appkg-rekey" --password-file "$PW" --new-password-file - -o "$W/stdin-rekey.appkg" "$PKG"

# The front's own argument, a command name: empty, not UTF-8, very long.
front_bad_command() {
	for c in "" "$BAD" "$LONG"; do
		run timeout 10 "$B/appkg" "$c"
		expect_rc 2 && expect_one_line appkg || return 1
	done
}
t bad_args_front-COMMAND front_bad_command

# Item 1 of issue 10: an empty password crashed pack, verify and mount (a double free). Every
# password source, for every tool that takes a password: APPKG_PASSWORD (and APPKG_KEY_PASSWORD)
# set but empty or over 4096 bytes, and Enter at the terminal prompt: 3, one line naming the
# source.
password_env() { # password_env VALUE WHAT: each tool with APPKG_PASSWORD=VALUE
	for c in "appkg-pack $APP -o $W/env.appkg" "appkg-verify $PKG" "appkg-unpack $PKG -C $W/env.d" \
		"appkg-keygen -p $W/env.pub -s $W/env.sec" "appkg-keygen --sign $DOC -s $KS"; do
		run timeout 10 env APPKG_PASSWORD="$1" $(echo "$c" | sed "s|^|$B/|")
		expect_rc 3 && expect_one_line "${c%% *}" && expect_stderr "'APPKG_PASSWORD': $2" || return 1
	done
	if [ $FUSE = 1 ]; then
		mkdir -p "$W/env.mnt"
		run timeout 10 env APPKG_PASSWORD="$1" "$B/appkg-mount" "$PKG" "$W/env.mnt"
		unmount_below "$W/env.mnt"
		expect_rc 3 && expect_one_line appkg-mount && expect_stderr "'APPKG_PASSWORD': $2" || return 1
	fi
	# several packages: the refused source is reported once
	run timeout 10 env APPKG_PASSWORD="$1" "$B/appkg-verify" "$PKG" "$PKG"
	expect_rc 3 && expect_one_line appkg-verify || return 1
	run timeout 10 env APPKG_KEY_PASSWORD="$1" "$B/appkg-pack" --password-file "$PW" --sign "$KS" "$APP" -o "$W/env.appkg"
	expect_rc 3 && expect_one_line appkg-pack && expect_stderr "'APPKG_KEY_PASSWORD': $2"
}
t bad_args_password_env_empty password_env "" "empty password"
t bad_args_password_env_long password_env "$LONG" "password longer than 4096 bytes"

# Enter at the prompt, on a terminal (at_prompt).
password_prompt_enter() {
	mkdir -p "$W/tty.mnt"
	for c in "appkg-pack $APP -o $W/tty.appkg" "appkg-verify -P $PKG" "appkg-unpack -s $PKG -C $W/tty.d" \
		"appkg-keygen -p $W/tty.pub -s $W/tty.sec" "appkg-keygen --sign $DOC -s $KS" \
		"appkg-mount $PKG $W/tty.mnt"; do
		[ $FUSE = 1 ] || [ "${c%% *}" != appkg-mount ] || continue
		# shellcheck disable=SC2086 # $c is the command line, split on spaces
		at_prompt "" "$B/"$c
		unmount_below "$W/tty.mnt"
		tr -d '\r' <"$W/tty" | grep -v '^Password: *$' >"$W/stderr.lines"
		mv "$W/stderr.lines" "$W/stderr"
		expect_rc 3 && expect_one_line "${c%% *}" && expect_stderr "'/dev/tty': empty password" || return 1
	done
}
t bad_args_password_prompt_enter password_prompt_enter

# Passwords are bytes: one that is not UTF-8 seals and opens, and only byte for byte.
password_not_utf8() {
	printf '\377\376 latin-1 caf\351\n' >"$W/pw.latin1"
	printf '\303\277\303\276 latin-1 caf\303\251\n' >"$W/pw.utf8" # the same text in UTF-8
	cp -r "$F/app0" "$W/latin1"
	run "$B/appkg-pack" --kdf interactive --password-file "$W/pw.latin1" "$W/latin1" -o "$W/latin1.appkg" &&
		expect_rc 0 || return 1
	run "$B/appkg-verify" --password-file "$W/pw.latin1" "$W/latin1.appkg" && expect_rc 0 || return 1
	run "$B/appkg-verify" --password-file "$W/pw.utf8" "$W/latin1.appkg"
	expect_rc 3 && expect_one_line appkg-verify
}
t bad_args_password_not_utf8 password_not_utf8
