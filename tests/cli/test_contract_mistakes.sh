#!/bin/sh
# SPDX-License-Identifier: MIT
# The import contract's commands (issue 12) against ordinary mistakes: a bindings file that is
# a FIFO, a device, a directory, missing, empty or bad JSON; appkg-plan given inputs that are no
# package; and appkg-unpack --force aimed at the directory that holds its own package or
# ENV.json, which the swap would delete (it is refused, exit 4, nothing lost).
. "$(dirname "$0")/lib.sh"

mkdir -p "$W/src/resources/ds" "$W/emptydir"
echo '{"name": "qa", "version": "1.0.0"}' >"$W/src/manifest.json"
echo '{"host": "[[appkg:input:db_host]]"}' >"$W/src/resources/ds/crm.json"
echo '{"inputs": {"db_host": "h"}}' >"$W/env.json"
"$B/appkg-pack" "$W/src" -o "$W/app.appkg" || echo "FAIL: contract mistakes fixture (pack)"
mkfifo "$W/fifo"
: >"$W/empty.json"

# Each bad bindings file: one line naming it, the documented status, no hang, nothing written.
bad_bindings() { # bad_bindings FILE STATUS_VERIFY_UNPACK STATUS_PLAN
	run timeout 10 "$B/appkg-verify" --bindings "$1" "$W/app.appkg" </dev/null
	expect_rc "$2" && expect_one_line appkg-verify && expect_stderr "'$1'" || return 1
	run timeout 10 "$B/appkg-unpack" --bindings "$1" "$W/app.appkg" -C "$W/out" </dev/null
	expect_rc "$2" && expect_one_line appkg-unpack && [ ! -e "$W/out" ] || return 1
	run timeout 10 "$B/appkg-plan" "$W/app.appkg" "$W/src" --bindings "$1" </dev/null
	expect_rc "$3" && expect_one_line appkg-plan && expect_stderr "'$1'"
}
t bindings_fifo bad_bindings "$W/fifo" 4 4
t bindings_dev_zero bad_bindings /dev/zero 4 4
t bindings_directory bad_bindings "$W/emptydir" 4 4
t bindings_missing bad_bindings "$W/nope.json" 4 4
t bindings_empty bad_bindings "$W/empty.json" 1 5

# appkg-plan with an input that is no package: one line naming it, exit 5 (2 for usage).
bad_plan_input() { # bad_plan_input STATUS PKG TARGET
	st=$1
	shift
	run timeout 10 "$B/appkg-plan" "$@" </dev/null
	expect_rc "$st" && expect_one_line appkg-plan
}
t plan_missing_target bad_plan_input 2 "$W/app.appkg"
t plan_fifo_target bad_plan_input 5 "$W/app.appkg" "$W/fifo"
t plan_dev_zero_pkg bad_plan_input 5 /dev/zero "$W/app.appkg"
t plan_empty_dir_target bad_plan_input 5 "$W/app.appkg" "$W/emptydir"
t plan_stdin_twice bad_plan_input 2 - -

# --force into the directory holding the package (or an ancestor of it): refused, package kept.
force_over_own_package() {
	mkdir -p "$W/pk/sub" && cp "$W/app.appkg" "$W/pk/sub/app.appkg" || return 1
	for d in "$W/pk/sub" "$W/pk"; do
		run timeout 10 "$B/appkg-unpack" --force "$W/pk/sub/app.appkg" -C "$d" </dev/null
		expect_rc 4 && expect_one_line appkg-unpack && expect_stderr "holds the package" &&
			cmp -s "$W/app.appkg" "$W/pk/sub/app.appkg" || fail "package lost ($d)" || return 1
	done
	# A DEST below the package's directory is fine.
	run timeout 10 "$B/appkg-unpack" --force "$W/pk/sub/app.appkg" -C "$W/pk/sub/x" </dev/null
	expect_rc 0 && [ -f "$W/pk/sub/x/manifest.json" ] && [ -f "$W/pk/sub/app.appkg" ]
}
t unpack_force_over_own_package force_over_own_package

# --force --bindings into the directory holding ENV.json: refused, ENV.json kept.
force_over_own_bindings() {
	mkdir -p "$W/envdir" && cp "$W/env.json" "$W/envdir/env.json" || return 1
	run timeout 10 "$B/appkg-unpack" --bindings "$W/envdir/env.json" --force "$W/app.appkg" \
		-C "$W/envdir" </dev/null
	expect_rc 4 && expect_one_line appkg-unpack && expect_stderr "holds the bindings file" &&
		[ -f "$W/envdir/env.json" ] && [ ! -e "$W/envdir/manifest.json" ]
}
t unpack_force_over_own_bindings force_over_own_bindings

# DEST a symbolic link (dangling, or to an empty directory) or a file: one line that says so,
# not "destination is not empty"; nothing written through the link.
dest_not_a_directory() {
	mkdir -p "$W/linked" && ln -s "$W/nowhere" "$W/dangling" && ln -s "$W/linked" "$W/dirlink" &&
		echo keep >"$W/afile" || return 1
	for d in "$W/dangling" "$W/dirlink"; do
		run timeout 10 "$B/appkg-unpack" --bindings "$W/env.json" "$W/app.appkg" -C "$d" </dev/null
		expect_rc 4 && expect_one_line appkg-unpack && expect_stderr "a symbolic link" || return 1
	done
	run timeout 10 "$B/appkg-unpack" "$W/app.appkg" -C "$W/afile" </dev/null
	expect_rc 4 && expect_one_line appkg-unpack && expect_stderr "is not a directory" &&
		[ ! -e "$W/nowhere" ] && [ -z "$(ls -A "$W/linked")" ] && [ "$(cat "$W/afile")" = keep ]
}
t unpack_dest_not_a_directory dest_not_a_directory

# One big value bound by many placeholders: a bound resource is still at most 16 MiB, so a
# 1 MiB value used 20 times is refused in one line (exit 1, nothing written), not a 20 MiB
# file (nor, at larger counts, memory exhausted); appkg-plan refuses it too.
bound_resource_limited() {
	mkdir -p "$W/amp/resources/ds" || return 1
	echo '{"name": "amp", "version": "1.0.0", "resources": [{"path": "resources/ds/x.json",
 "mode": "update"}]}' >"$W/amp/manifest.json"
	jq -cn '{v: [range(20) | "[[appkg:input:x]]"]}' >"$W/amp/resources/ds/x.json"
	jq -cn '{inputs: {x: ("y" * 1048576)}}' >"$W/big-env.json"
	"$B/appkg-pack" "$W/amp" -o "$W/amp.appkg" || return 1
	run timeout 10 "$B/appkg-unpack" --bindings "$W/big-env.json" "$W/amp.appkg" -C "$W/amp.out"
	expect_rc 1 && expect_one_line appkg-unpack && expect_stderr "over the 16777216-byte limit" &&
		[ ! -e "$W/amp.out" ] || return 1
	mkdir -p "$W/amp.tgt/resources/ds" &&
		echo '{"name": "target", "version": "1.0.0"}' >"$W/amp.tgt/manifest.json" &&
		echo '{"v": 1}' >"$W/amp.tgt/resources/ds/x.json" || return 1
	run timeout 10 "$B/appkg-plan" --bindings "$W/big-env.json" "$W/amp" "$W/amp.tgt"
	[ "$rc" -ne 0 ] && expect_one_line appkg-plan && expect_stderr "over the 16777216-byte limit"
}
t bound_resource_limited bound_resource_limited
