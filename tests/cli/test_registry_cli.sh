#!/bin/sh
# SPDX-License-Identifier: MIT
# The registry commands (issue 14, spec §22) where no registry is needed: references refused
# with exit 2 and one line, option combinations refused, a pull whose output cannot be written
# refused before any request, no listener is exit 4 with the output untouched and no temporary
# left, logout editing docker's config.json (other keys kept, mode 0600), and --help naming
# every exit status. The protocol itself is tested against real and hostile registries in
# tests/registry/.
. "$(dirname "$0")/lib.sh"
PKG=$TOP/tests/vectors/valid/v1.0-secrets.appkg
# Port 1 of the loopback: nothing listens there, so a request fails at once.
NOWHERE=oci://127.0.0.1:1/team/app

bad_references() {
	for ref in registry.example/team/app:1 oci://host/Team/app:1 oci://host/app:.x \
		"oci://host/app@sha256:0123" oci://host:0/app:1 "oci://host/../etc:1"; do
		run "$B/appkg-pull" "$ref" -o "$W/out.appkg"
		expect_rc 2 && expect_one_line appkg-pull && expect_stderr "not a registry reference" || return 1
		run "$B/appkg-push" "$PKG" "$ref"
		expect_rc 2 && expect_one_line appkg-push || return 1
		run "$B/appkg-info" "oci://host/Team/app:1"
		expect_rc 2 && expect_one_line appkg-info || return 1
	done
	run "$B/appkg-tags" oci://host/team/app:1
	expect_rc 2 && expect_one_line appkg-tags || return 1
	run "$B/appkg-login" --username u --password-stdin "host/team" </dev/null
	expect_rc 2 && expect_one_line appkg-login
}

pull_needs_tag_or_digest() {
	run "$B/appkg-pull" --plain-http oci://127.0.0.1:1/team/app -o "$W/out.appkg"
	expect_rc 2 && expect_one_line appkg-pull && expect_stderr "needs a :TAG or an @sha256: digest" &&
		[ ! -e "$W/out.appkg" ] || fail "wrote the output"
}

option_combinations() {
	run "$B/appkg-pull" --password-stdin $NOWHERE:1 -o "$W/out.appkg" </dev/null
	expect_rc 2 && expect_stderr "needs --username" || return 1
	run "$B/appkg-push" --username u "$PKG" $NOWHERE:1 </dev/null
	expect_rc 2 && expect_stderr "needs --password-stdin" || return 1
	run "$B/appkg-login" 127.0.0.1:1 </dev/null
	expect_rc 2 && expect_stderr "needs --username" || return 1
	run "$B/appkg-pull" $NOWHERE:1
	expect_rc 2 && expect_stderr "missing -o" || return 1
	run "$B/appkg-push" --resolve nonsense "$PKG" $NOWHERE:1
	expect_rc 2 && expect_stderr "HOST:PORT:ADDR"
}

# The output's directory does not exist: refused before the registry is asked (exit 4, and
# not the connection error that asking port 1 would give).
output_checked_first() {
	run "$B/appkg-pull" --plain-http $NOWHERE:1 -o "$W/no/such/dir/out.appkg"
	expect_rc 4 && expect_one_line appkg-pull && ! grep -q "127.0.0.1:1" "$W/stderr" ||
		fail "the output was not checked before the request"
}

no_listener_output_untouched() {
	mkdir "$W/d" && echo old >"$W/d/out.appkg"
	run "$B/appkg-pull" --plain-http $NOWHERE:1 -o "$W/d/out.appkg"
	expect_rc 4 && expect_one_line appkg-pull || return 1
	[ "$(cat "$W/d/out.appkg")" = old ] || fail "output changed"
	[ "$(ls -A "$W/d")" = out.appkg ] || fail "left: $(ls -A "$W/d")"
	run "$B/appkg-push" --plain-http "$PKG" $NOWHERE:1
	expect_rc 4 && expect_one_line appkg-push || return 1
	run "$B/appkg-info" --plain-http $NOWHERE:1
	expect_rc 4 && expect_one_line appkg-info || return 1
	run "$B/appkg-tags" --plain-http $NOWHERE
	expect_rc 4 && expect_one_line appkg-tags
}

# Without --plain-http nothing is sent in plain HTTP: a registry that speaks only HTTP is a
# TLS failure with the hint, never a fallback.
https_by_default() {
	python3 - "$W/port" <<'PY' &
import http.server, sys
s = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
open(sys.argv[1], "w").write(str(s.server_port))
s.timeout = 10
s.handle_request()
PY
	i=0
	while [ ! -s "$W/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	run timeout 20 "$B/appkg-pull" "oci://127.0.0.1:$(cat "$W/port")/team/app:1" -o "$W/out.appkg"
	wait
	expect_rc 4 && expect_one_line appkg-pull && expect_stderr "TLS" && expect_stderr "--plain-http" &&
		[ ! -e "$W/out.appkg" ] || fail "wrote the output"
}

logout_keeps_other_keys() {
	mkdir "$W/dc"
	printf '{"auths":{"reg.example:5000":{"auth":"dTpw"},"other.example":{"auth":"eDp5"}},"credsStore":"x"}' >"$W/dc/config.json"
	DOCKER_CONFIG=$W/dc run "$B/appkg-logout" -v reg.example:5000
	expect_rc 0 && expect_stderr "credentials removed" || return 1
	jq -e '.auths | has("reg.example:5000") | not' "$W/dc/config.json" >/dev/null || fail "entry kept" || return 1
	jq -e '.auths["other.example"].auth == "eDp5" and .credsStore == "x"' "$W/dc/config.json" >/dev/null ||
		fail "other keys lost: $(cat "$W/dc/config.json")" || return 1
	[ "$(stat -c %a "$W/dc/config.json")" = 600 ] || fail "mode $(stat -c %a "$W/dc/config.json")" || return 1
	DOCKER_CONFIG=$W/dc run "$B/appkg-logout" -v reg.example:5000
	expect_rc 0 && expect_stderr "no credentials were stored"
}

logout_refuses_a_broken_config() {
	mkdir "$W/dc"
	printf '{"auths": {' >"$W/dc/config.json"
	DOCKER_CONFIG=$W/dc run "$B/appkg-logout" reg.example
	expect_rc 4 && expect_one_line appkg-logout || return 1
	[ "$(cat "$W/dc/config.json")" = '{"auths": {' ] || fail "the broken file was rewritten"
}

help_names_statuses() {
	for tool in push pull tags login; do
		"$B/appkg-$tool" --help >"$W/help" || fail "appkg-$tool --help failed" || return 1
		for s in 0 1 2 3 4; do
			grep -q "$s [a-z]" "$W/help" || fail "appkg-$tool --help does not name status $s" || return 1
		done
	done
}

front_runs_them() {
	for tool in push pull tags login logout; do
		"$B/appkg" --help | grep -q "^  $tool " || fail "appkg --help does not list $tool" || return 1
		"$B/appkg" "$tool" --help >/dev/null || fail "appkg $tool --help failed" || return 1
	done
}

t registry_bad_references_exit_2 bad_references
t registry_pull_needs_tag_or_digest pull_needs_tag_or_digest
t registry_option_combinations option_combinations
t registry_output_checked_before_any_request output_checked_first
t registry_no_listener_exit_4_output_untouched no_listener_output_untouched
t registry_https_by_default_no_fallback https_by_default
t registry_logout_keeps_other_keys logout_keeps_other_keys
t registry_logout_refuses_a_broken_config logout_refuses_a_broken_config
t registry_help_names_statuses help_names_statuses
t registry_front_runs_them front_runs_them
