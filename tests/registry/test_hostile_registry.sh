# SPDX-License-Identifier: MIT
# appkg pull and push against hostile.py (issue 14, "Must show" 4): every lie of the server is
# refused with its exit status, the output path keeps its old content, nothing is left beside
# it, and the pull ends in bounded time and memory; the server's log shows that each lie was
# really served. The same server checks the protocol: 429 and 503 retried, the bearer
# challenge -> token -> retry flow, a blob redirect to another host (127.0.0.2) that receives
# no Authorization header, a chunked push (at least three PATCH requests), a monolithic one,
# and a second push that uploads no blob. The stalled body waits for the client's stall
# timeout (30 s, OCI-CONTRACT.md; it has no option to lower it), so it runs in the background
# while the other cases run.
. "$(dirname "$0")/lib.sh"
registry_need "hostile registry tests"

make_pkg pkg 20 1.4.0 64 || { echo "FAIL: hostile registry: cannot make the test package"; exit 1; }
PKG=$W/pkg.appkg
hostile_start h "$PKG" || { echo "FAIL: hostile registry: hostile.py does not start"; exit 1; }
HOST=$H_HOST HLOG=$H_LOG
HREF=oci://$HOST

# case_dir NAME: a directory holding only crm.appkg, an old file the failed pulls must keep.
case_dir() {
	rm -rf "$W/case-$1" && mkdir "$W/case-$1" && printf 'old package\n' >"$W/case-$1/crm.appkg" &&
		echo "$W/case-$1"
}

# untouched DIR: crm.appkg still the old file, and nothing else in DIR.
untouched() {
	[ "$(cat "$1/crm.appkg")" = "old package" ] || fail "the output was changed" || return 1
	[ "$(listing "$1")" = crm.appkg ] || fail "left beside the output: $(listing "$1" | tr '\n' ' ')"
}

# Every stderr line names the reference, as the house style writes messages.
names_ref() {
	[ -s "$W/stderr" ] || fail "nothing on stderr" || return 1
	! grep -v -F "appkg-pull: '$1'" "$W/stderr" | grep -q . || fail "a line does not name '$1'"
}

# The stalled body, started first: it takes the client's stall timeout. While the client
# waits, the temporary it writes is beside the output, mode 0600.
stall_bg() {
	d=$(case_dir stall)
	t0=$(date +%s)
	timeout 50 "$RAW_B/appkg-pull" --plain-http "$HREF/t/stall:1.4.0" -o "$d/crm.appkg" \
		>"$W/stall.stdout" 2>"$W/stall.stderr" &
	p=$!
	i=0
	while [ $i -lt 100 ] && ! hlog "$HLOG" 'select(.stalling)' | grep -q .; do
		i=$((i + 1))
		sleep 0.1
	done
	sleep 1
	find "$d" -mindepth 1 -maxdepth 1 -exec stat -c '%a %n' {} + | sort >"$W/stall.files"
	wait $p
	echo "$? $(elapsed_since "$t0")" >"$W/stall.result"
}
stall_bg &
STALL=$!

# A layer that drips (2 bytes every 0.5 s: never 30 s without a byte, and 8 hours for this
# package): a transfer slower than 1 KiB/s for 30 s fails (spec section 22.5), so well within 45 s.
drip_bg() {
	d=$(case_dir drip)
	t0=$(date +%s)
	timeout 47 "$RAW_B/appkg-pull" --plain-http "$HREF/t/drip:1.4.0" -o "$d/crm.appkg" \
		>"$W/drip.stdout" 2>"$W/drip.stderr"
	echo "$? $(elapsed_since "$t0")" >"$W/drip.result"
}
drip_bg &
DRIP=$!

# Retry-After: 3600 on the first manifest request: honoured up to 5 s, then the pull goes on.
retrylong_bg() {
	d=$(case_dir retrylong)
	t0=$(date +%s)
	timeout 50 "$RAW_B/appkg-pull" --plain-http "$HREF/t/retrylong:1.4.0" -o "$d/crm.appkg" \
		>"$W/retrylong.stdout" 2>"$W/retrylong.stderr"
	echo "$? $(elapsed_since "$t0")" >"$W/retrylong.result"
}
retrylong_bg &
RETRYLONG=$!

# lie NAME RC [REF]: pull the artifact of repository t/NAME, served with the lie NAME, which
# must exit RC within 15 s and 64 MiB, leaving the output as it was; the log shows the lie.
lie() {
	name=$1 want=$2 ref=${3:-$HREF/t/$1:1.4.0}
	d=$(case_dir "$name")
	hlog_mark "$HLOG"
	t0=$(date +%s)
	run /usr/bin/time -f %M -o "$W/mem-$name" timeout 25 "$RAW_B/appkg-pull" --plain-http "$ref" -o "$d/crm.appkg"
	took=$(elapsed_since "$t0")
	expect_rc "$want" && names_ref "$ref" && untouched "$d" || return 1
	[ "$took" -le 15 ] || fail "took $took s" || return 1
	mem=$(tail -1 "$W/mem-$name")
	[ "$mem" -le 65536 ] || fail "peak RSS $mem KiB" || return 1
	n=$(hlog_since "$HLOG" "select(.lie == \"$name\")" | wc -l)
	[ "$n" -ge 1 ] || fail "the server did not serve the lie $name"
}

pull_ok() {
	d=$(case_dir ok)
	run timeout 25 "$B/appkg-pull" --plain-http "$HREF/t/ok:1.4.0" -o "$d/crm.appkg" && expect_rc 0 || return 1
	cmp "$d/crm.appkg" "$PKG" && [ "$(listing "$d")" = crm.appkg ] || fail "not the package, or more files"
}
t hostile_truthful_pull_works pull_ok

t hostile_wrong_digest lie digest 1
t hostile_size_short lie short 1
t hostile_size_long lie long 1
t hostile_truncated_body lie truncated 1
t hostile_config_differs lie config 1
t hostile_artifact_type lie arttype 1
t hostile_layer_media_type lie layertype 1
t hostile_manifest_over_4mib lie bigman 1
t hostile_endless_layer lie endless 1
t hostile_endless_manifest lie endlessman 1
t hostile_endless_config lie endlesscfg 1
t hostile_redirect_loop lie redirloop 1
t hostile_redirect_to_file lie redirfile 1
t hostile_two_layers lie twolayers 1
t hostile_no_layer lie nolayers 1
t hostile_layer_size_1tib lie hugesize 1

# A layer digest that is a path: refused before any request leaves the repository or holds
# "..". (The background pulls of t/stall, t/drip and t/retrylong log in the same file.)
bad_digest() {
	lie baddigest 1 || return 1
	n=$(hlog_since "$HLOG" 'select(.method and (.path | test("^/v2/t/(stall|drip|retrylong)/") | not)
		and ((.path | startswith("/v2/t/baddigest/") | not) or (.path | contains(".."))))' | wc -l)
	[ "$n" -eq 0 ] || fail "$n requests outside /v2/t/baddigest/ or with .."
}
t hostile_digest_is_a_path bad_digest

# info: the same bounds, and never the layer (a config that differs from the layer's manifest
# is for pull to find: info does not read the layer).
info_lies() {
	for name in endlessman endlesscfg bigman arttype; do
		hlog_mark "$HLOG"
		t0=$(date +%s)
		run /usr/bin/time -f %M -o "$W/mem-info" timeout 25 "$RAW_B/appkg-info" --plain-http "$HREF/t/$name:1.4.0"
		[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "$name: exit status $rc" || return 1
		[ "$(elapsed_since "$t0")" -le 15 ] && [ "$(tail -1 "$W/mem-info")" -le 65536 ] ||
			fail "$name: over 15 s or 64 MiB" || return 1
		[ "$(hlog_since "$HLOG" "select(.path | startswith(\"/v2/t/$name/blobs/\"))" | jq -r .path |
			grep -c "$(sha256_of "$PKG")")" -eq 0 ] ||
			fail "$name: info asked for the layer" || return 1
	done
}
t hostile_info_bounded info_lies

by_digest_lie() {
	curl -sS -f -o "$W/true-manifest" "http://$HOST/v2/t/mandigest/manifests/1.4.0" || return 1
	lie mandigest 1 "$HREF/t/mandigest@$(sha256_of "$W/true-manifest")"
}
t hostile_manifest_not_the_digest by_digest_lie

not_found() {
	lie notfound 1 && expect_stderr 'not found'
}
t hostile_manifest_not_found not_found

# The endless layer: the client stopped reading soon after the size the descriptor gives.
endless_cut() {
	i=0
	while [ $i -lt 50 ] && ! hlog "$HLOG" 'select(.lie == "endless")' | grep -q .; do
		i=$((i + 1))
		sleep 0.1
	done
	out=$(hlog "$HLOG" 'select(.lie == "endless") | .out' | sort -n | tail -1)
	[ -n "$out" ] && [ "$out" -le $((64 << 20)) ] || fail "the server sent ${out:-?} bytes of the endless layer"
}
t hostile_endless_layer_cut_off endless_cut

unavailable() {
	lie unavailable 4 || return 1
	n=$(hlog_since "$HLOG" 'select(.lie == "unavailable")' | wc -l)
	[ "$n" -ge 2 ] && [ "$n" -le 4 ] || fail "$n requests answered 503: expected the first and at most 3 retries"
}
t hostile_5xx_retried_then_exit4 unavailable

retry() {
	d=$(case_dir retry)
	hlog_mark "$HLOG"
	run timeout 25 "$B/appkg-pull" --plain-http "$HREF/t/retry:1.4.0" -o "$d/crm.appkg" && expect_rc 0 || return 1
	cmp "$d/crm.appkg" "$PKG" || return 1
	[ "$(hlog_since "$HLOG" 'select(.lie == "429")' | wc -l)" -ge 1 ] &&
		[ "$(hlog_since "$HLOG" 'select(.lie == "503")' | wc -l)" -ge 1 ] ||
		fail "the server did not answer 429 and 503 first"
}
t hostile_429_and_503_retried retry

stdout_after_verify() {
	run timeout 25 "$B/appkg-pull" --plain-http "$HREF/t/truncated:1.4.0" -o - && expect_rc 1 || return 1
	[ ! -s "$W/stdout" ] || fail "$(wc -c <"$W/stdout") bytes on stdout before the refusal" || return 1
	run timeout 25 "$B/appkg-pull" --plain-http "$HREF/t/digest:1.4.0" -o - && expect_rc 1 || return 1
	[ ! -s "$W/stdout" ] || fail "$(wc -c <"$W/stdout") bytes on stdout before the refusal" || return 1
	run timeout 25 "$B/appkg-pull" --plain-http "$HREF/t/ok:1.4.0" -o - && expect_rc 0 && cmp "$W/stdout" "$PKG"
}
t hostile_stdout_only_after_verify stdout_after_verify

# A pull into a directory where the output does not exist yet: it still does not after a lie.
no_output() {
	rm -rf "$W/empty" && mkdir "$W/empty"
	for name in digest truncated config; do
		run timeout 25 "$B/appkg-pull" --plain-http "$HREF/t/$name:1.4.0" -o "$W/empty/crm.appkg" &&
			expect_rc 1 || return 1
		[ -z "$(listing "$W/empty")" ] || fail "$name: left $(listing "$W/empty")" || return 1
	done
}
t hostile_nothing_created no_output

tags_pages() {
	run timeout 25 "$B/appkg-tags" --plain-http "$HREF/t/pages" && expect_rc 0 || return 1
	[ "$(tr '\n' ' ' <"$W/stdout")" = "1.0 1.1 1.2 1.3 1.4 latest " ] || fail "tags: $(cat "$W/stdout")" || return 1
	hlog_mark "$HLOG"
	run timeout 25 "$B/appkg-tags" --plain-http "$HREF/t/pagesloop" && expect_rc 1 || return 1
	n=$(hlog_since "$HLOG" 'select(.lie == "pagesloop")' | wc -l)
	[ "$n" -ge 2 ] && [ "$n" -le 101 ] || fail "$n pages asked for (at most 100 expected)"
}
t tags_pagination_bounded tags_pages

# --- pushes, counted by the server ---------------------------------------------------------------
make_pkg big 20 1.4.0 400 || echo "FAIL: hostile registry: cannot make the large package"

chunked() {
	hlog_mark "$HLOG"
	run timeout 25 "$B/appkg-push" --plain-http --chunk-size 65536 "$W/big.appkg" "$HREF/push/big:1.4.0" &&
		expect_rc 0 || return 1
	n=$(hlog_since "$HLOG" 'select(.method == "PATCH" and (.path | startswith("/v2/push/big/blobs/uploads/")))' | wc -l)
	[ "$n" -ge 3 ] || fail "$n PATCH requests for a $(wc -c <"$W/big.appkg")-byte layer in chunks of 65536" || return 1
	curl -sS -f -o "$W/big.back" "http://$HOST/v2/push/big/blobs/$(sha256_of "$W/big.appkg")" &&
		cmp "$W/big.back" "$W/big.appkg" || fail "the uploaded layer differs"
}
t push_chunked_three_patches chunked

monolithic() {
	hlog_mark "$HLOG"
	run timeout 25 "$B/appkg-push" --plain-http "$PKG" "$HREF/push/small:1.4.0" && expect_rc 0 || return 1
	ups=$(hlog_since "$HLOG" 'select(.path | test("^/v2/push/small/blobs/uploads/"))')
	[ "$(printf '%s\n' "$ups" | jq -r 'select(.method == "PATCH")' | grep -c .)" -eq 0 ] ||
		fail "PATCH for a small package" || return 1
	[ "$(printf '%s\n' "$ups" | jq -r 'select(.method == "PUT" and .status == 201) | .in' |
		awk '{ s += $1 } END { print s + 0 }')" -eq $(($(wc -c <"$PKG") + $(wc -c <"$W/h/config.json"))) ] ||
		fail "the PUT requests did not carry config and layer: $ups" || return 1
	curl -sS -f -o "$W/small.m" "http://$HOST/v2/push/small/manifests/1.4.0" &&
		[ "$(cat "$W/stdout")" = "$HREF/push/small@$(sha256_of "$W/small.m")" ] || fail "stdout: $(cat "$W/stdout")"
}
t push_monolithic monolithic

second_push() {
	hlog_mark "$HLOG"
	run timeout 25 "$B/appkg-push" --plain-http "$PKG" "$HREF/push/small:1.4.0" && expect_rc 0 || return 1
	up=$(hlog_since "$HLOG" 'select(.path | test("^/v2/push/small/blobs/uploads"))' | wc -l)
	[ "$up" -eq 0 ] || fail "second push: $up upload requests" || return 1
	sent=$(hlog_since "$HLOG" 'select(.path | test("/blobs/")) | .in' | awk '{ s += $1 } END { print s + 0 }')
	[ "$sent" -eq 0 ] || fail "second push: $sent blob bytes sent" || return 1
	heads=$(hlog_since "$HLOG" 'select(.method == "HEAD" and (.path | test("^/v2/push/small/blobs/sha256:")))' | wc -l)
	[ "$heads" -ge 2 ] || fail "second push: $heads HEAD requests, expected the existence checks"
}
t push_second_sends_no_blob second_push

# --- bearer tokens and redirects to another host -------------------------------------------------
hostile_start hb "$PKG" --auth bearer --user crm-ci --password 'S3cret pass' ||
	echo "FAIL: hostile registry: hostile.py with bearer auth does not start"
BHOST=$H_HOST BLOG=$H_LOG
printf 'S3cret pass\n' >"$W/pw"

bearer() {
	d=$(case_dir bearer)
	hlog_mark "$BLOG"
	run timeout 25 "$B/appkg-pull" --plain-http --username crm-ci --password-stdin "oci://$BHOST/t/ok:1.4.0" \
		-o "$d/crm.appkg" <"$W/pw" && expect_rc 0 && cmp "$d/crm.appkg" "$PKG" || return 1
	hlog_since "$BLOG" . >"$W/bearer.log"
	jq -e -s '
		(map(select(.status == 401 and .auth == "none")) | length >= 1) and
		(map(select((.path | startswith("/token?")) and .auth == "basic" and .status == 200
			and (.lie | contains("repository:t/ok:pull")))) | length >= 1) and
		(map(select((.path | test("/manifests/")) and .auth == "bearer" and .status == 200)) | length >= 1) and
		(map(select((.path | startswith("/v2/")) and .auth == "basic")) | length == 0)' \
		"$W/bearer.log" >/dev/null || fail "not the challenge -> token -> retry flow: $(cat "$W/bearer.log")"
}
t bearer_challenge_token_retry bearer

bearer_none() {
	d=$(case_dir bearer-none)
	run timeout 25 "$B/appkg-pull" --plain-http "oci://$BHOST/t/ok:1.4.0" -o "$d/crm.appkg" </dev/null &&
		expect_rc 3 && names_ref "oci://$BHOST/t/ok:1.4.0" && expect_stderr 401 && untouched "$d"
}
t bearer_no_credentials_exit3 bearer_none

# A registry that refuses every token, and a token endpoint whose answer never ends: exit 3
# (or 1 for the endless answer), bounded requests, time and memory, output untouched.
bearer_lies() {
	for name in deny endlesstoken; do
		d=$(case_dir "$name")
		hlog_mark "$BLOG"
		t0=$(date +%s)
		run /usr/bin/time -f %M -o "$W/mem-$name" timeout 25 "$RAW_B/appkg-pull" --plain-http --username crm-ci \
			--password-stdin "oci://$BHOST/t/$name:1.4.0" -o "$d/crm.appkg" <"$W/pw"
		[ "$rc" -eq 3 ] || [ "$rc" -eq 1 ] || fail "$name: exit status $rc, expected 3 or 1" || return 1
		names_ref "oci://$BHOST/t/$name:1.4.0" && untouched "$d" || return 1
		[ "$(elapsed_since "$t0")" -le 15 ] && [ "$(tail -1 "$W/mem-$name")" -le 65536 ] ||
			fail "$name: over 15 s or 64 MiB" || return 1
		n=$(hlog_since "$BLOG" 'select(.method)' | wc -l)
		[ "$n" -le 10 ] || fail "$name: $n requests" || return 1
		[ "$(hlog_since "$BLOG" "select(.lie == \"$name\")" | wc -l)" -ge 1 ] || fail "$name: lie not served" || return 1
	done
}
t bearer_lies_bounded bearer_lies

# -v shows requests, never a credential: neither the password, nor user:password in base64,
# nor a token the server issued.
no_credentials_shown() {
	d=$(case_dir verbose)
	hlog_mark "$BLOG"
	run timeout 25 "$B/appkg-pull" -v --plain-http --username crm-ci --password-stdin "oci://$BHOST/t/ok:1.4.0" \
		-o "$d/crm.appkg" <"$W/pw" && expect_rc 0 || return 1
	[ -s "$W/stderr" ] || fail "-v printed nothing" || return 1
	hlog_since "$BLOG" 'select(.issued != "") | {(.issued): .issued}' | jq -s add >"$W/tokens.json"
	jq -e 'length >= 1' "$W/tokens.json" >/dev/null || fail "no token issued" || return 1
	jq -n --arg b "$(printf 'crm-ci:S3cret pass' | base64)" '{pw: "S3cret pass", basic: $b}' >"$W/creds.json"
	expect_no_secret_values "$W/creds.json" "$W/stdout" "$W/stderr" &&
		expect_no_secret_values "$W/tokens.json" "$W/stdout" "$W/stderr"
}
t verbose_shows_no_credentials no_credentials_shown

bearer_push() {
	hlog_mark "$BLOG"
	run timeout 25 "$B/appkg-push" --plain-http --username crm-ci --password-stdin "$PKG" "oci://$BHOST/push/b:1.4.0" \
		<"$W/pw" && expect_rc 0 || return 1
	[ "$(hlog_since "$BLOG" 'select(.lie | test("^token:.*repository:push/b:.*push"))' | wc -l)" -ge 1 ] ||
		fail "no token asked for with the push scope"
}
t bearer_push bearer_push

redirect() {
	d=$(case_dir redirect)
	hlog_mark "$BLOG"
	run timeout 25 "$B/appkg-pull" --plain-http --username crm-ci --password-stdin "oci://$BHOST/t/redirect:1.4.0" \
		-o "$d/crm.appkg" <"$W/pw" && expect_rc 0 && cmp "$d/crm.appkg" "$PKG" || return 1
	hlog_since "$BLOG" . >"$W/redirect.log"
	jq -e -s 'map(select(.lie == "redirect" and .auth == "bearer")) | length >= 1' "$W/redirect.log" >/dev/null ||
		fail "the registry did not redirect an authorized request" || return 1
	jq -e -s 'map(select(.srv == "alt")) | length >= 1' "$W/redirect.log" >/dev/null ||
		fail "the other host was not asked" || return 1
	jq -e -s 'map(select(.srv == "alt" and .auth != "none")) | length == 0' "$W/redirect.log" >/dev/null ||
		fail "the other host received an Authorization header"
}
t redirect_drops_authorization redirect

# --- TLS: a redirect from the HTTPS registry to plain HTTP is a downgrade --------------------------
make_ca "$W/ca" || echo "FAIL: hostile registry: cannot make the test CA"
hostile_start ht "$PKG" --tls "$W/ca/server.pem" "$W/ca/server.key" ||
	echo "FAIL: hostile registry: hostile.py with TLS does not start"
THOST=$H_HOST TLOG=$H_LOG

tls_ok() {
	d=$(case_dir tls-ok)
	run timeout 25 "$B/appkg-pull" --ca-file "$W/ca/ca.pem" "oci://$THOST/t/ok:1.4.0" -o "$d/crm.appkg" &&
		expect_rc 0 && cmp "$d/crm.appkg" "$PKG"
}
t hostile_tls_pull_works tls_ok

downgrade() {
	d=$(case_dir downgrade)
	ref=oci://$THOST/t/redirect:1.4.0
	hlog_mark "$TLOG"
	run timeout 25 "$B/appkg-pull" --ca-file "$W/ca/ca.pem" "$ref" -o "$d/crm.appkg" || :
	[ "$rc" -eq 1 ] || [ "$rc" -eq 4 ] || fail "exit status $rc, expected 1 or 4" || return 1
	names_ref "$ref" && untouched "$d" || return 1
	[ "$(hlog_since "$TLOG" 'select(.lie == "redirect")' | wc -l)" -ge 1 ] || fail "no redirect served" || return 1
	n=$(hlog_since "$TLOG" 'select(.srv == "alt")' | wc -l)
	[ "$n" -eq 0 ] || fail "$n plain HTTP requests after the redirect"
}
t hostile_tls_redirect_to_http_refused downgrade

# --- the stalled body, started at the top --------------------------------------------------------
stall() {
	read -r rc took <"$W/stall.result" || fail "no result" || return 1
	cp "$W/stall.stderr" "$W/stderr"
	[ "$rc" -eq 1 ] || [ "$rc" -eq 4 ] || fail "exit status $rc, expected 1 or 4 (124: still running after 50 s)" || return 1
	[ "$took" -le 45 ] || fail "took $took s" || return 1
	names_ref "$HREF/t/stall:1.4.0" && untouched "$W/case-stall" || return 1
	[ "$(hlog "$HLOG" 'select(.lie == "stall" and .stalling)' | wc -l)" -ge 1 ] || fail "the server did not stall" || return 1
	# The library's temporaries are .NAME.tmp-XXXXXX (format/io.c); the contract wrote NAME.XXXXXX.
	grep -q "^600 $W/case-stall/\.\{0,1\}crm\.appkg\.[^/]*\$" "$W/stall.files" && [ "$(wc -l <"$W/stall.files")" -eq 2 ] ||
		fail "while the body stalled, beside the output: $(cat "$W/stall.files")"
}
wait "$STALL"
t hostile_stalled_body_times_out stall

wait "$RETRYLONG"
retrylong() {
	read -r rc took <"$W/retrylong.result" || fail "no result" || return 1
	cp "$W/retrylong.stderr" "$W/stderr"
	expect_rc 0 && cmp "$W/case-retrylong/crm.appkg" "$PKG" || return 1
	[ "$took" -ge 4 ] && [ "$took" -le 10 ] || fail "took $took s: Retry-After is honoured up to 5 s" || return 1
	[ "$(hlog "$HLOG" 'select(.lie == "retrylong")' | wc -l)" -eq 1 ] || fail "the server did not answer 429 first"
}
t hostile_retry_after_capped retrylong

wait "$DRIP"
drip() {
	read -r rc took <"$W/drip.result" || fail "no result" || return 1
	cp "$W/drip.stderr" "$W/stderr"
	[ "$(hlog "$HLOG" 'select(.lie == "drip" and .dripping)' | wc -l)" -ge 1 ] || fail "the server did not drip" || return 1
	[ "$rc" -eq 1 ] || [ "$rc" -eq 4 ] || fail "exit status $rc, expected 1 or 4 (124: still running after 47 s)" || return 1
	[ "$took" -le 45 ] || fail "took $took s" || return 1
	names_ref "$HREF/t/drip:1.4.0" && untouched "$W/case-drip"
}
t hostile_dripping_body_bounded drip
