# appkg-keygen and stock minisign: key pairs made by either tool sign files that `minisign -V`
# accepts; encrypted keys (scrypt, as minisign), wrong and missing passwords, existing key files,
# and exit codes. Encrypted keys use minisign's sensitive scrypt limits: each use takes seconds.
. "$(dirname "$0")/lib.sh"
umask 022

if ! command -v minisign >/dev/null 2>&1; then
	echo "SKIP: minisign_interop (minisign is not installed)"
	exit 0
fi

# Without a terminal, so that a missing password fails instead of prompting.
notty() {
	if command -v setsid >/dev/null 2>&1; then
		setsid -w "$@" </dev/null
	else
		"$@" </dev/null
	fi
}

quiet() {
	[ ! -s "$W/stdout" ] && [ ! -s "$W/stderr" ] || fail "expected no output"
}

# Nothing but the named files in directory $1.
only_files() {
	d=$1
	shift
	want=""
	[ $# -eq 0 ] || want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
	[ "$(ls -A "$d" | sort | tr '\n' ' ')" = "$want" ] ||
		fail "files in $d: $(ls -A "$d" | tr '\n' ' '), expected: $*"
}

help_and_usage() {
	run "$B/appkg-keygen" --help && expect_rc 0 && grep -q Usage "$W/stdout" &&
		grep -q -- "--sign FILE" "$W/stdout" || return 1
	run "$B/appkg-keygen" --version && expect_rc 0 && grep -q "0.1.0" "$W/stdout" || return 1
	run "$B/appkg" keygen --help && expect_rc 0 && grep -q Usage "$W/stdout" || return 1
	run "$B/appkg-keygen" -W -s "$W/x" && expect_rc 2 && expect_stderr "missing -p" || return 1
	run "$B/appkg-keygen" --sign "$W/x" -s "$W/k" -p "$W/p" && expect_rc 2 || return 1
	run "$B/appkg-keygen" -W -p "$W/same" -s "$W/same" && expect_rc 2 || return 1
	[ ! -e "$W/same" ] && [ ! -e "$W/x" ] || fail "usage error left a file"
}

# (a) appkg's key pair: its signatures pass stock minisign; a changed file does not.
appkg_key_minisign_verifies() {
	d="$W/a" && mkdir "$d"
	run "$B/appkg-keygen" -W -p "$d/pub" -s "$d/sec" && expect_rc 0 && quiet || return 1
	[ "$(stat -c %a "$d/sec")" = 600 ] && [ "$(stat -c %a "$d/pub")" = 644 ] ||
		fail "key file modes $(stat -c %a "$d/sec") $(stat -c %a "$d/pub")" || return 1
	head -1 "$d/pub" | grep -Eq '^untrusted comment: minisign public key [0-9A-F]{16}$' ||
		fail "public key comment: $(head -1 "$d/pub")" || return 1
	printf 'some data\n' >"$d/file"
	run "$B/appkg-keygen" --sign "$d/file" -s "$d/sec" && expect_rc 0 && quiet || return 1
	run minisign -V -p "$d/pub" -m "$d/file" && expect_rc 0 || return 1
	grep -q "^Trusted comment: file:file$" "$W/stdout" || fail "no trusted comment" || return 1
	printf 'S' | dd of="$d/file" bs=1 count=1 conv=notrunc 2>/dev/null
	run minisign -V -p "$d/pub" -m "$d/file"
	[ "$rc" -ne 0 ] || fail "minisign accepted a changed file" || return 1
	# and stock minisign reads appkg's unencrypted secret key
	run minisign -S -s "$d/sec" -m "$d/file" -x "$d/stock.minisig" && expect_rc 0 || return 1
	run minisign -V -p "$d/pub" -m "$d/file" -x "$d/stock.minisig" && expect_rc 0
}

# (b) minisign's key pair (-W): appkg signs with its secret key, minisign accepts.
minisign_key_appkg_signs() {
	d="$W/b" && mkdir "$d"
	run minisign -G -W -p "$d/mpub" -s "$d/msec" && expect_rc 0 || return 1
	printf 'other data\n' >"$d/file"
	run "$B/appkg-keygen" --sign "$d/file" -s "$d/msec" && expect_rc 0 && quiet || return 1
	run minisign -V -p "$d/mpub" -m "$d/file" && expect_rc 0 &&
		grep -q "^Trusted comment: file:file$" "$W/stdout" || return 1
	run "$B/appkg-keygen" --sign "$d/file" -s "$d/mpub" && expect_rc 3 || return 1
	run "$B/appkg-keygen" --sign "$d/nofile" -s "$d/msec" && expect_rc 4 || return 1
	run "$B/appkg-keygen" --sign "$d/file" -s "$d/nokey" && expect_rc 4 || return 1
	only_files "$d" file file.minisig mpub msec
}

# (c) an encrypted key: minisign's KDF and limits; the right password signs, a wrong one is 3.
encrypted_key() {
	d="$W/c" && mkdir "$d"
	echo pw >"$d/pwfile"
	run "$B/appkg-keygen" --password-file "$d/pwfile" -p "$d/p2" -s "$d/s2" && expect_rc 0 &&
		quiet || return 1
	[ "$(head -1 "$d/s2")" = "untrusted comment: minisign encrypted secret key" ] || return 1
	# "Sc", then opslimit 2^25 and memlimit 2^30 (scrypt SENSITIVE), little-endian
	[ "$(sed -n 2p "$d/s2" | base64 -d | od -An -tx1 -j2 -N2 | tr -d ' ')" = 5363 ] &&
		[ "$(sed -n 2p "$d/s2" | base64 -d | od -An -tx1 -j38 -N16 | tr -d ' ')" = \
			00000002000000000000004000000000 ] || fail "not scrypt with sensitive limits" ||
		return 1
	printf 'signed\n' >"$d/file"
	run env APPKG_PASSWORD=pw "$B/appkg-keygen" --sign "$d/file" -s "$d/s2" && expect_rc 0 &&
		quiet || return 1
	run minisign -V -p "$d/p2" -m "$d/file" && expect_rc 0 || return 1
	printf 'pw\n' | minisign -S -s "$d/s2" -m "$d/file" -x "$d/stock.minisig" >/dev/null 2>&1 &&
		minisign -Vq -p "$d/p2" -m "$d/file" -x "$d/stock.minisig" ||
		fail "stock minisign cannot use appkg's encrypted key" || return 1
	printf 'other\n' >"$d/other"
	run env APPKG_PASSWORD=wrong "$B/appkg-keygen" --sign "$d/other" -s "$d/s2" && expect_rc 3 &&
		expect_stderr "wrong password" && expect_one_line appkg-keygen || return 1
	only_files "$d" pwfile p2 s2 file file.minisig stock.minisig other
}

missing_password() {
	d="$W/m" && mkdir "$d"
	run notty "$B/appkg-keygen" -p "$d/p" -s "$d/s" && expect_rc 3 &&
		expect_stderr "password is needed" || return 1
	run notty env APPKG_PASSWORD= "$B/appkg-keygen" -p "$d/p" -s "$d/s" && expect_rc 3 || return 1
	only_files "$d" || return 1
	# a key marked encrypted ("Sc"): the password is asked for before any KDF runs
	"$B/appkg-keygen" -W -p "$d/p" -s "$d/s" || return 1
	sed -n 2p "$d/s" | base64 -d >"$d/blob" &&
		printf 'Sc' | dd of="$d/blob" bs=1 seek=2 conv=notrunc 2>/dev/null &&
		{ echo "untrusted comment: minisign encrypted secret key" && base64 -w0 "$d/blob" &&
			echo; } >"$d/enc" && rm "$d/blob" || return 1
	printf 'x\n' >"$d/file"
	run notty "$B/appkg-keygen" --sign "$d/file" -s "$d/enc" && expect_rc 3 &&
		expect_stderr "encrypted" || return 1
	only_files "$d" p s enc file
}

never_overwrites() {
	d="$W/o" && mkdir "$d"
	"$B/appkg-keygen" -W -p "$d/pub" -s "$d/sec" || return 1
	cp "$d/pub" "$d/pub.orig" && cp "$d/sec" "$d/sec.orig"
	run "$B/appkg-keygen" -W -p "$d/pub" -s "$d/sec" && expect_rc 4 &&
		expect_stderr "already exists" && expect_one_line appkg-keygen || return 1
	run "$B/appkg-keygen" -W -p "$d/new.pub" -s "$d/sec" && expect_rc 4 || return 1
	run "$B/appkg-keygen" -W -p "$d/pub" -s "$d/new.sec" && expect_rc 4 || return 1
	cmp -s "$d/pub" "$d/pub.orig" && cmp -s "$d/sec" "$d/sec.orig" || fail "key changed" ||
		return 1
	only_files "$d" pub sec pub.orig sec.orig || return 1
	run "$B/appkg" keygen -W -p "$d/front.pub" -s "$d/front.sec" && expect_rc 0 &&
		[ -s "$d/front.pub" ] && [ -s "$d/front.sec" ]
}

t help_and_usage help_and_usage
t appkg_key_minisign_verifies appkg_key_minisign_verifies
t minisign_key_appkg_signs minisign_key_appkg_signs
t encrypted_key_password_and_wrong_password encrypted_key
t missing_password_exit_3_nothing_left missing_password
t keygen_never_overwrites never_overwrites
