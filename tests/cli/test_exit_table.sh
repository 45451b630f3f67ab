# The exit-status table of the README, row by row, for every tool and every row that applies to
# it: one command that must end with that status, and print exactly one line on stderr that
# starts with the program's name (none for 0). Each tool's --help must name every status it can
# return. Status 5 ("no comparison made") belongs to diff-like commands only; appkg has none
# yet, so no row here uses it, and no tool's help mentions it.
. "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=1767225600
V=$TOP/tests/vectors
GOOD=$V/valid/v1.0-secrets.appkg
GPW=$V/valid/PASSWORD
CORRUPT=$V/invalid/tampered_resource/package.appkg
FUSE=0
[ -c /dev/fuse ] && command -v fusermount3 >/dev/null && FUSE=1

F=$W/fixtures
mkdir "$F"
echo "a wrong password" >"$F/wrong"
echo "a document" >"$F/doc"
cp -r "$TOP/examples/crm-console" "$F/app"
setup() {
	"$B/appkg-pack" --kdf interactive --password-file "$GPW" "$F/app" -o "$F/app.appkg" &&
		"$B/appkg-unpack" --password-file "$GPW" "$F/app.appkg" -C "$F/unpacked" &&
		cp -r "$F/app" "$F/badjson" && echo '{"broken": ' >"$F/badjson/resources/queries/customer_by_id.json" &&
		"$B/appkg-keygen" -W -p "$F/k.pub" -s "$F/k.sec" &&
		"$B/appkg-keygen" -W -p "$F/other.pub" -s "$F/other.sec" &&
		"$B/appkg-keygen" --password-file "$GPW" -p "$F/kp.pub" -s "$F/kp.sec" &&
		"$B/appkg-pack" --password-file "$GPW" --sign "$F/k.sec" "$F/unpacked" -o "$F/signed.appkg" &&
		"$B/appkg-pack" --password-file "$GPW" "$F/unpacked" -o "$F/unsigned.appkg" &&
		: >"$F/empty.appkg" && mkdir "$F/full" && echo x >"$F/full/x"
}
if ! setup >"$W/.setup" 2>&1; then
	echo "FAIL: exit_table_fixtures"
	cat "$W/.setup" >&2
	exit 0
fi

# status STATUS PROG CMD...: run CMD (under a 60 s hang guard) and check status and stderr.
status() {
	want=$1 prog=$2
	shift 2
	run timeout 60 "$@" </dev/null
	[ "$rc" -ne 124 ] || fail "hangs" || return 1
	expect_rc "$want" || return 1
	if [ "$want" -eq 0 ]; then
		[ ! -s "$W/stderr" ] || fail "status 0 but stderr is not empty"
	else
		expect_one_line "$prog"
	fi
}

# --help names every status the table below gives the tool, and not 5.
help_names() { # help_names PROG STATUS...
	prog=$1
	shift
	run "$B/$prog" --help
	expect_rc 0 || return 1
	tr '\n' ' ' <"$W/stdout" | sed 's/.*Exit status//' >"$W/help.exit"
	for s; do
		grep -q "[ :,]$s [a-zA-Z]" "$W/help.exit" || fail "$prog --help does not name status $s" || return 1
	done
	! grep -q "[ :,]5 [a-zA-Z]" "$W/help.exit" || fail "$prog --help names status 5"
}

# appkg-pack
t exit_table_pack_0_ok status 0 appkg-pack "$B/appkg-pack" --password-file "$GPW" "$F/unpacked" -o "$W/p0.appkg"
t exit_table_pack_1_invalid_json status 1 appkg-pack "$B/appkg-pack" --password-file "$GPW" "$F/badjson" -o "$W/p1.appkg"
# needs item 10: a usage error is one line (today getopt's line, ours and a --help hint)
t exit_table_pack_2_bad_option status 2 appkg-pack "$B/appkg-pack" --no-such-option "$F/unpacked" -o "$W/p2.appkg"
# needs item 10: a usage error is one line (today getopt's line, ours and a --help hint)
t exit_table_pack_2_missing_output status 2 appkg-pack "$B/appkg-pack" "$F/unpacked"
t exit_table_pack_3_no_password status 3 appkg-pack "$B/appkg-pack" "$F/app" -o "$W/p3.appkg"
# needs item 2: DIR has secrets.enc, so pack checks the password against it first
t exit_table_pack_3_wrong_password status 3 appkg-pack "$B/appkg-pack" --password-file "$F/wrong" "$F/unpacked" -o "$W/p3w.appkg"
t exit_table_pack_3_wrong_key_password status 3 appkg-pack "$B/appkg-pack" --password-file "$GPW" --sign "$F/kp.sec" --key-password-file "$F/wrong" "$F/unpacked" -o "$W/p3k.appkg"
t exit_table_pack_4_no_output_dir status 4 appkg-pack "$B/appkg-pack" --password-file "$GPW" "$F/unpacked" -o "$W/nodir/p4.appkg"
t exit_table_pack_4_no_dir status 4 appkg-pack "$B/appkg-pack" "$W/nosuchdir" -o "$W/p4.appkg"
t exit_table_pack_help help_names appkg-pack 0 1 2 3 4

# appkg-unpack
t exit_table_unpack_0_ok status 0 appkg-unpack "$B/appkg-unpack" --password-file "$GPW" "$GOOD" -C "$W/u0"
t exit_table_unpack_1_corrupt status 1 appkg-unpack "$B/appkg-unpack" "$CORRUPT" -C "$W/u1"
t exit_table_unpack_1_not_appkg status 1 appkg-unpack "$B/appkg-unpack" "$F/empty.appkg" -C "$W/u1e"
# needs item 10: a usage error is one line (today getopt's line, ours and a --help hint)
t exit_table_unpack_2_bad_option status 2 appkg-unpack "$B/appkg-unpack" --no-such-option "$GOOD" -C "$W/u2"
t exit_table_unpack_2_no_such_resource status 2 appkg-unpack "$B/appkg-unpack" --only pages/no-such-page "$GOOD" -C "$W/u2r"
t exit_table_unpack_3_wrong_password status 3 appkg-unpack "$B/appkg-unpack" --password-file "$F/wrong" "$GOOD" -C "$W/u3"
t exit_table_unpack_4_missing_package status 4 appkg-unpack "$B/appkg-unpack" "$W/nosuch.appkg" -C "$W/u4"
t exit_table_unpack_4_dest_not_empty status 4 appkg-unpack "$B/appkg-unpack" "$GOOD" -C "$F/full"
t exit_table_unpack_4_no_dest_dir status 4 appkg-unpack "$B/appkg-unpack" "$GOOD" -C "$W/nodir/u4"
t exit_table_unpack_help help_names appkg-unpack 0 1 2 3 4

# appkg-verify
t exit_table_verify_0_ok status 0 appkg-verify "$B/appkg-verify" --password-file "$GPW" "$GOOD"
t exit_table_verify_1_corrupt status 1 appkg-verify "$B/appkg-verify" "$CORRUPT"
# needs item 10: a usage error is one line (today getopt's line, ours and a --help hint)
t exit_table_verify_2_bad_option status 2 appkg-verify "$B/appkg-verify" --no-such-option "$GOOD"
# needs item 10: a usage error is one line (today getopt's line, ours and a --help hint)
t exit_table_verify_2_missing_package_argument status 2 appkg-verify "$B/appkg-verify"
t exit_table_verify_3_wrong_password status 3 appkg-verify "$B/appkg-verify" --password-file "$F/wrong" "$GOOD"
t exit_table_verify_3_untrusted_signature status 3 appkg-verify "$B/appkg-verify" --pubkey "$F/other.pub" "$F/signed.appkg"
t exit_table_verify_3_signature_required status 3 appkg-verify "$B/appkg-verify" --require-signature "$F/unsigned.appkg"
t exit_table_verify_4_missing_package status 4 appkg-verify "$B/appkg-verify" "$W/nosuch.appkg"
t exit_table_verify_help help_names appkg-verify 0 1 2 3 4

# appkg-keygen: no input is a package, so row 1 does not apply
t exit_table_keygen_0_ok status 0 appkg-keygen "$B/appkg-keygen" -W -p "$W/k0.pub" -s "$W/k0.sec"
# needs item 10: a usage error is one line (today getopt's line, ours and a --help hint)
t exit_table_keygen_2_bad_option status 2 appkg-keygen "$B/appkg-keygen" --no-such-option -W -p "$W/k2.pub" -s "$W/k2.sec"
t exit_table_keygen_3_wrong_key_password status 3 appkg-keygen "$B/appkg-keygen" --sign "$F/doc" -s "$F/kp.sec" --password-file "$F/wrong"
t exit_table_keygen_4_key_exists status 4 appkg-keygen "$B/appkg-keygen" -W -p "$F/k.pub" -s "$W/k4.sec"
t exit_table_keygen_4_no_dir status 4 appkg-keygen "$B/appkg-keygen" -W -p "$W/nodir/k4.pub" -s "$W/nodir/k4.sec"
t exit_table_keygen_help help_names appkg-keygen 0 2 3 4

# appkg-rekey
t exit_table_rekey_0_ok status 0 appkg-rekey "$B/appkg-rekey" --password-file "$GPW" --new-password-file "$F/wrong" -o "$W/r0.appkg" "$F/app.appkg"
t exit_table_rekey_1_not_appkg status 1 appkg-rekey "$B/appkg-rekey" --password-file "$GPW" --new-password-file "$F/wrong" "$F/empty.appkg"
t exit_table_rekey_1_corrupt status 1 appkg-rekey "$B/appkg-rekey" --password-file "$GPW" --new-password-file "$F/wrong" -o "$W/r1.appkg" "$CORRUPT"
t exit_table_rekey_2_bad_option status 2 appkg-rekey "$B/appkg-rekey" --no-such-option "$F/app.appkg"
t exit_table_rekey_3_wrong_password status 3 appkg-rekey "$B/appkg-rekey" --password-file "$F/wrong" --new-password-file "$GPW" -o "$W/r3.appkg" "$F/app.appkg"
t exit_table_rekey_4_missing_package status 4 appkg-rekey "$B/appkg-rekey" --password-file "$GPW" --new-password-file "$F/wrong" "$W/nosuch.appkg"
t exit_table_rekey_help help_names appkg-rekey 0 1 2 3 4

# appkg-mount
mount_ok() { # mount, unmount with -u: both 0
	mkdir -p "$W/m0"
	status 0 appkg-mount "$B/appkg-mount" --password-file "$GPW" "$F/app.appkg" "$W/m0" || return 1
	status 0 appkg-mount "$B/appkg-mount" -u "$W/m0"
}
mount_refused_commit() { # an edit that is not JSON: -u refuses the commit with 1
	mkdir -p "$W/m1"
	cp "$F/app.appkg" "$W/m1.appkg"
	run "$B/appkg-mount" --password-file "$GPW" "$W/m1.appkg" "$W/m1" && expect_rc 0 || return 1
	echo '{"broken": ' >"$W/m1/resources/queries/customer_by_id.json"
	run timeout 60 "$B/appkg-mount" -u "$W/m1"
	fusermount3 -u "$W/m1" 2>/dev/null
	expect_rc 1 && grep -q '^appkg-mount: ' "$W/stderr" || fail "expected appkg-mount lines"
}
if [ $FUSE = 1 ]; then
	mkdir -p "$W/m1e" "$W/m3" "$W/m4"
	t exit_table_mount_0_ok mount_ok
	t exit_table_mount_1_not_appkg status 1 appkg-mount "$B/appkg-mount" "$F/empty.appkg" "$W/m1e"
	t exit_table_mount_1_refused_commit mount_refused_commit
	t exit_table_mount_2_bad_option status 2 appkg-mount "$B/appkg-mount" --no-such-option "$F/app.appkg" "$W"
	t exit_table_mount_2_not_a_mount status 2 appkg-mount "$B/appkg-mount" -u "$F"
	t exit_table_mount_3_wrong_password status 3 appkg-mount "$B/appkg-mount" --password-file "$F/wrong" "$F/app.appkg" "$W/m3"
	t exit_table_mount_4_missing_package status 4 appkg-mount "$B/appkg-mount" "$W/nosuch.appkg" "$W/m4"
	t exit_table_mount_4_no_mountpoint status 4 appkg-mount "$B/appkg-mount" "$F/app.appkg" "$W/nodir"
	t exit_table_mount_help help_names appkg-mount 0 1 2 3 4
else
	echo "SKIP: exit_table_mount (no FUSE)"
fi

# appkg, the front: its own usage errors, and the status of the command it runs
t exit_table_front_0_help status 0 appkg "$B/appkg" --help
# needs item 10: a usage error is one line (today getopt's line, ours and a --help hint)
t exit_table_front_2_no_command status 2 appkg "$B/appkg"
t exit_table_front_2_unknown_command status 2 appkg "$B/appkg" no-such-command
t exit_table_front_1_passes_status status 1 appkg-verify "$B/appkg" verify "$CORRUPT"
t exit_table_front_3_passes_status status 3 appkg-verify "$B/appkg" verify --password-file "$F/wrong" "$GOOD"
t exit_table_front_4_passes_status status 4 appkg-verify "$B/appkg" verify "$W/nosuch.appkg"
