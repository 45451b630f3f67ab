#!/bin/sh
# appkg-info, the review of a package (issue 11): every field of the --json document read with
# jq (manifest fields, signature checked and not, resources by type, totals, secrets with and
# without the password); no secret value in any output, text or JSON, stdout or stderr; the text
# grouped by type and sorted; the exit statuses of the README table; '-' for standard input;
# the hostile corpus read without a crash.
. "$(dirname "$0")/lib.sh"

# The example app, with one more secret whose value JSON has to escape (a quote, non-ASCII).
cp -R "$TOP/examples/crm-console" "$W/crm"
jq '. + {"WEBHOOK_HMAC": "h\"mac-Schlüssel-7Qx"}' "$TOP/examples/crm-console/secrets.json" \
	>"$W/crm/secrets.json"
SECRETS=$W/crm/secrets.json
printf 'info-test-pw\n' >"$W/pw"
printf 'not-the-password\n' >"$W/wrong"
"$B/appkg-keygen" -W -p "$W/k.pub" -s "$W/k.sec" >/dev/null &&
	"$B/appkg-keygen" -W -p "$W/other.pub" -s "$W/other.sec" >/dev/null &&
	"$B/appkg-pack" --password-file "$W/pw" --sign "$W/k.sec" "$W/crm" -o "$W/crm.appkg" &&
	cp -R "$W/crm" "$W/plain" && rm "$W/plain/secrets.json" &&
	"$B/appkg-pack" "$W/plain" -o "$W/plain.appkg" || echo "FAIL: fixture packages"
KEY_ID=$("$B/appkg-verify" -v --pubkey "$W/k.pub" "$W/crm.appkg" |
	sed -n 's/.*signed by key \([0-9A-F]\{16\}\).*/\1/p')

# Sizes of the resource files as "type/name size" lines, sorted, from the source directory.
source_sizes() {
	(cd "$W/crm/resources" && for f in */*.json; do
		printf '%s %s\n' "${f%.json}" "$(wc -c <"$f")"
	done) | LC_ALL=C sort
}

json_manifest_fields() {
	run "$B/appkg-info" --json --pubkey "$W/k.pub" --password-file "$W/pw" "$W/crm.appkg" &&
		expect_rc 0 || return 1
	[ ! -s "$W/stderr" ] || fail "stderr not empty" || return 1
	id=$(tar --zstd -xOf "$W/crm.appkg" manifest.json | jq -r .package_id)
	jq -e --arg id "$id" --arg pkg "$W/crm.appkg" '.package == $pkg and .name == "crm-console"
		and (.description | startswith("Internal CRM admin console"))
		and .version == "2.3.0" and .format_version == "1.0" and .package_id == $id
		and (.package_id | length) > 0 and .created_by == "appkg 0.1.0"' "$W/stdout" \
		>/dev/null || fail "manifest fields: $(head -c 600 "$W/stdout")"
}

json_signature_checked_and_not() {
	[ -n "$KEY_ID" ] || fail "no key id from appkg-verify" || return 1
	run "$B/appkg-info" --json --pubkey "$W/k.pub" "$W/crm.appkg" && expect_rc 0 || return 1
	jq -e --arg k "$KEY_ID" '.signature == {"present": true, "status": "valid", "checked": true,
		"key_id": $k, "trusted_comment": .signature.trusted_comment}
		and (.signature.trusted_comment | test("^appkg package crm-console 2.3.0, signed "))' \
		"$W/stdout" >/dev/null || fail "with --pubkey: $(jq -c .signature "$W/stdout")" || return 1
	cp "$W/stdout" "$W/checked.json"
	run "$B/appkg-info" --json "$W/crm.appkg" && expect_rc 0 || return 1
	jq -e --arg k "$KEY_ID" --slurpfile c "$W/checked.json" '.signature.status == "unchecked"
		and .signature.checked == false and .signature.key_id == $k
		and .signature.trusted_comment == $c[0].signature.trusted_comment' "$W/stdout" \
		>/dev/null || fail "without --pubkey: $(jq -c .signature "$W/stdout")" || return 1
	run "$B/appkg-info" --json --pubkey "$W/other.pub" "$W/crm.appkg" && expect_rc 3 &&
		expect_one_line appkg-info || return 1
	jq -e --arg k "$KEY_ID" '.signature.status == "invalid" and .signature.checked
		and .signature.key_id == $k' "$W/stdout" >/dev/null ||
		fail "untrusted key: $(jq -c .signature "$W/stdout")" || return 1
	run "$B/appkg-info" --json --pubkey "$W/k.pub" "$W/plain.appkg" && expect_rc 0 || return 1
	jq -e '.signature == {"present": false, "status": "absent", "checked": false,
		"key_id": null, "trusted_comment": null}' "$W/stdout" >/dev/null ||
		fail "unsigned: $(jq -c .signature "$W/stdout")"
}

json_resources_by_type() {
	run "$B/appkg-info" --json "$W/crm.appkg" && expect_rc 0 || return 1
	# every resource: its type group, logical name and size, against the source files
	jq -r '.resources | to_entries[] | .key as $t | .value[] | "\($t)/\(.file_name) \(.size)"' \
		"$W/stdout" | LC_ALL=C sort >"$W/got" || return 1
	source_sizes >"$W/want"
	diff "$W/want" "$W/got" || fail "resources and sizes differ from the source" || return 1
	# attributes from the manifest: mode, id, depends_on; logical names; groups sorted
	jq -e '.resources.datasources[0] == {"name": "billing-api", "file_name": "billing-api",
		"path": "resources/datasources/billing-api.json", "mode": "update",
		"id": "ds-billing-api", "depends_on": [], "size": .resources.datasources[0].size,
		"digest": .resources.datasources[0].digest}
		and (.resources.datasources[0].digest | test("^[0-9a-f]{64}$"))
		and (.resources.queries[] | select(.name == "invoices/open")
		     | .file_name == "invoices%2Fopen" and .mode == "create" and .id == null
		     and .depends_on == ["datasources/billing-api"])
		and (.resources.pages[] | select(.name == "Customer Detail") | .mode == "merge"
		     and (.depends_on | length) == 5)
		and (.resources.environments[] | select(.name == "production") | .mode == "skip")
		and (.resources | keys_unsorted) == (.resources | keys)
		and ([.resources[] | map(.name) | . == sort] | all)' "$W/stdout" >/dev/null ||
		fail "resource attributes: $(jq -c '.resources.queries' "$W/stdout" | head -c 600)"
}

json_totals() {
	run "$B/appkg-info" --json "$W/crm.appkg" && expect_rc 0 || return 1
	n=$(source_sizes | wc -l)
	bytes=$(source_sizes | awk '{s += $NF} END {print s}')
	types=$(ls "$W/crm/resources" | wc -l)
	jq -e --argjson n "$n" --argjson b "$bytes" --argjson t "$types" \
		'.totals == {"count": $n, "types": $t, "bytes": $b}
		 and ([.resources[] | length] | add) == $n' "$W/stdout" >/dev/null ||
		fail "totals $(jq -c .totals "$W/stdout"), expected $n resources, $bytes bytes"
}

json_secrets_sealed_and_named() {
	run "$B/appkg-info" --json "$W/crm.appkg" && expect_rc 0 || return 1
	jq -e '.secrets == {"present": true, "sealed": true, "decrypted": false, "names": null}' \
		"$W/stdout" >/dev/null || fail "no password: $(jq -c .secrets "$W/stdout")" || return 1
	run "$B/appkg-info" --json --password-file "$W/pw" "$W/crm.appkg" && expect_rc 0 || return 1
	jq -e --slurpfile s "$SECRETS" '.secrets == {"present": true, "sealed": true,
		"decrypted": true, "names": ($s[0] | keys)}' "$W/stdout" >/dev/null ||
		fail "with the password: $(jq -c .secrets "$W/stdout")" || return 1
	APPKG_PASSWORD=info-test-pw run "$B/appkg-info" --json "$W/crm.appkg" && expect_rc 0 || return 1
	jq -e '.secrets.decrypted and (.secrets.names | length) == 5' "$W/stdout" >/dev/null ||
		fail "APPKG_PASSWORD: $(jq -c .secrets "$W/stdout")" || return 1
	run "$B/appkg-info" --json --password-file "$W/pw" "$W/plain.appkg" && expect_rc 0 || return 1
	jq -e '.secrets == {"present": false, "sealed": false, "decrypted": false, "names": null}' \
		"$W/stdout" >/dev/null || fail "no secrets: $(jq -c .secrets "$W/stdout")"
}

# Every way info can be run on a package with secrets, text and JSON, with the password from a
# file, the environment and standard input, a wrong one, and none: no value in stdout or stderr.
no_secret_value_in_any_output() {
	i=0
	for fmt in "" --json; do
		for pw in "" "--password-file $W/pw" "--password-file $W/wrong" "--password-file -" env; do
			i=$((i + 1))
			case $pw in
			env) APPKG_PASSWORD=info-test-pw "$B/appkg-info" $fmt "$W/crm.appkg" ;;
			"--password-file -") "$B/appkg-info" $fmt $pw "$W/crm.appkg" <"$W/pw" ;;
			*) "$B/appkg-info" $fmt $pw "$W/crm.appkg" ;;
			esac >"$W/out.$i" 2>"$W/err.$i"
			set -- "$@" "$W/out.$i" "$W/err.$i"
		done
	done
	grep -q WEBHOOK_HMAC "$W/out.2" && grep -q '"WEBHOOK_HMAC"' "$W/out.7" ||
		fail "the names are not listed" || return 1
	expect_no_secret_values "$SECRETS" "$@"
}

# The check above can fail: the helper finds a value planted in an output, raw or escaped.
secret_value_check_can_fail() {
	jq -r .WEBHOOK_HMAC "$SECRETS" >"$W/planted.raw"
	jq .WEBHOOK_HMAC "$SECRETS" >"$W/planted.json"
	! expect_no_secret_values "$SECRETS" "$W/planted.raw" >/dev/null &&
		! expect_no_secret_values "$SECRETS" "$W/planted.json" >/dev/null ||
		fail "a planted value was not found"
}

text_grouped_and_sorted() {
	run "$B/appkg-info" --password-file "$W/pw" --pubkey "$W/k.pub" "$W/crm.appkg" &&
		expect_rc 0 || return 1
	[ ! -s "$W/stderr" ] || fail "stderr not empty" || return 1
	for want in "^name: *crm-console$" "^version: *2.3.0$" "^format version: *1.0$" \
		"^package id: *[0-9a-f]" "^created by: *appkg 0.1.0$" "^description: *Internal CRM" \
		"^signature: *key $KEY_ID, checked: valid$" "^trusted comment: *appkg package" \
		"^secrets: *present, sealed, 5 names:$" "^  WEBHOOK_HMAC$" \
		"^resources: *17 in 6 types, " "^queries (6)$" "^  invoices/open$" "^  Kundenübersicht$" \
		"mode update, 617 bytes, id ds-billing-api$" "depends on datasources/billing-api$"; do
		grep -q "$want" "$W/stdout" || fail "no line '$want' in: $(cat "$W/stdout")" || return 1
	done
	grep '^[a-z]* ([0-9]*)$' "$W/stdout" | sed 's/ .*//' >"$W/types"
	LC_ALL=C sort -c "$W/types" && [ "$(wc -l <"$W/types")" -eq 6 ] ||
		fail "type groups not sorted: $(cat "$W/types")" || return 1
	sed -n '/^queries (/,/^$/p' "$W/stdout" | sed -n 's/^  \([^ ].*\)/\1/p' >"$W/queries"
	LC_ALL=C sort -c "$W/queries" && [ "$(wc -l <"$W/queries")" -eq 6 ] ||
		fail "queries not sorted: $(cat "$W/queries")"
}

# A description with an escape sequence and a bidi control reaches the terminal as %XX.
text_escapes_controls() {
	rm -rf "$W/ctl" && cp -R "$W/plain" "$W/ctl" || return 1
	jq '.description = "red \u001b[31m here \u202e evil"' "$W/crm/manifest.json" \
		>"$W/ctl/manifest.json" && "$B/appkg-pack" "$W/ctl" -o "$W/ctl.appkg" || return 1
	run "$B/appkg-info" "$W/ctl.appkg" && expect_rc 0 || return 1
	grep -q '^description: *red %1B\[31m here %E2%80%AE evil$' "$W/stdout" ||
		fail "description: $(grep description "$W/stdout" | od -c | head -3)" || return 1
	run "$B/appkg-info" --json "$W/ctl.appkg" && expect_rc 0 || return 1
	jq -e '.description == "red \u001b[31m here \u202e evil"' "$W/stdout" >/dev/null ||
		fail "json description changed"
}

stdin_dash() {
	"$B/appkg-info" --json "$W/crm.appkg" | jq 'del(.package)' >"$W/path.json" || return 1
	run sh -c "'$B/appkg-info' --json - <'$W/crm.appkg'" && expect_rc 0 || return 1
	jq -e '.package == "(stdin)"' "$W/stdout" >/dev/null || fail "package not (stdin)" || return 1
	jq 'del(.package)' "$W/stdout" | diff "$W/path.json" - || fail "stdin differs from the path"
	run sh -c "'$B/appkg-info' --password-file - - <'$W/crm.appkg'" && expect_rc 2 &&
		expect_one_line appkg-info
}

# On a terminal (at_prompt), no prompt unless asked: without -P the secrets stay sealed; with -P
# the password typed at the prompt lists the names.
prompt_only_when_asked() {
	at_prompt "" "$B/appkg-info" "$W/crm.appkg"
	[ "$rc" -eq 0 ] || fail "status $rc without -P: $(cat "$W/tty")" || return 1
	! grep -qi password: "$W/tty" && grep -q "present, sealed (give the password" "$W/tty" ||
		fail "without -P: $(cat "$W/tty")" || return 1
	at_prompt info-test-pw "$B/appkg-info" -P "$W/crm.appkg"
	[ "$rc" -eq 0 ] || fail "status $rc with -P: $(cat "$W/tty")" || return 1
	grep -qi "password:" "$W/tty" && grep -q "^  WEBHOOK_HMAC" "$W/tty" ||
		fail "with -P: $(cat "$W/tty")"
}

front_runs_info() {
	run "$B/appkg" info --json "$W/crm.appkg" && expect_rc 0 || return 1
	jq -e '.name == "crm-console"' "$W/stdout" >/dev/null || fail "appkg info: $(head -3 "$W/stdout")"
}

# status WANT CMD...: CMD exits WANT; a failure is one line on stderr and nothing on stdout.
status() {
	want=$1
	shift
	run "$@" && expect_rc "$want" || return 1
	[ "$want" -eq 0 ] || [ "$want" -eq 3 ] && return 0
	expect_one_line appkg-info && { [ ! -s "$W/stdout" ] || fail "output on stdout"; }
}

exit_statuses() {
	head -c 4000 "$W/crm.appkg" >"$W/truncated.appkg"
	printf 'not a package\n' >"$W/garbage.appkg"
	cp "$W/crm.appkg" "$W/tail.appkg" &&
		printf 'XXXX' | dd of="$W/tail.appkg" bs=1 seek=$(($(wc -c <"$W/crm.appkg") - 10)) \
			conv=notrunc 2>/dev/null
	status 0 "$B/appkg-info" "$W/crm.appkg" || return 1
	status 1 "$B/appkg-info" "$W/truncated.appkg" || return 1
	status 1 "$B/appkg-info" "$W/garbage.appkg" || return 1
	status 1 "$B/appkg-info" "$W/tail.appkg" || return 1
	status 4 "$B/appkg-info" "$W/missing.appkg" || return 1
	status 4 "$B/appkg-info" "$W" || return 1
	status 2 "$B/appkg-info" || return 1
	status 2 "$B/appkg-info" --bogus "$W/crm.appkg" || return 1
	status 2 "$B/appkg-info" "$W/crm.appkg" "$W/crm.appkg" || return 1
	status 4 "$B/appkg-info" --pubkey "$W/missing.pub" "$W/crm.appkg" || return 1
	status 3 "$B/appkg-info" --pubkey "$W/crm.appkg" "$W/crm.appkg" || return 1
	# a wrong password: one line, and no report at all
	run "$B/appkg-info" --json --password-file "$W/wrong" "$W/crm.appkg" && expect_rc 3 &&
		expect_one_line appkg-info || return 1
	[ ! -s "$W/stdout" ] || fail "a report after a wrong password" || return 1
	run "$B/appkg-info" --help && expect_rc 0 || return 1
	grep -q "Exit status: 0 ok, 1 rejected" "$W/stdout" || fail "--help lacks the statuses" ||
		return 1
	run "$B/appkg-info" --version && expect_rc 0 && grep -q "^appkg-info (appkg) " "$W/stdout" ||
		fail "--version"
}

# Every package of the hostile corpus: no crash or hang, a status of 0, 1 or 3, one line on
# stderr when not 0 and none when 0, under 10 s and 128 MiB. Info reads only the index, the
# manifest, the signature and secrets.enc: an attack inside the resource data is for appkg
# verify to find, so 0 is allowed here.
hostile_corpus_never_crashes() {
	"$APPKG_BUILD/tests/mkhostile" "$W/hostile" >/dev/null 2>&1 || return 1
	limit_s=10 limit_kib=131072
	[ -z "${APPKG_SANITIZED:-}${APPKG_TOOL_WRAPPER:-}" ] || limit_s=120 limit_kib=1048576
	while read -r name want codes pw; do
		p=
		[ "$pw" = password ] && p="--password-file $W/hostile/password"
		run /usr/bin/time -f '%e %M' -o "$W/time" timeout "$limit_s" \
			"$RAW_B/appkg-info" --json $p "$W/hostile/$name.appkg"
		case $rc in
		0) [ ! -s "$W/stderr" ] || fail "$name: status 0 with stderr" || return 1 ;;
		1 | 3) expect_one_line appkg-info || fail "case $name" || return 1 ;;
		*) fail "$name: status $rc" || return 1 ;;
		esac
		tail -1 "$W/time" | awk -v k="$limit_kib" '$2 > k {exit 1}' ||
			fail "$name: over $limit_kib KiB: $(cat "$W/time")" || return 1
	done <"$W/hostile/cases"
}

# The manual renders, and its OPTIONS section names exactly the long options --help prints.
# Inputs (issue 12): the golden 2.0 package's, in text and JSON; none for a 1.0 package.
inputs_listed() {
	g=$TOP/tests/vectors/valid/v2.0-inputs.appkg
	run "$B/appkg-info" "$g" && expect_rc 0 || return 1
	sed -n '/^Inputs (4)$/,$p' "$W/stdout" >"$W/inputs.txt"
	cat >"$W/inputs.want" <<'TXT'
Inputs (4)
  crm_host
      required
      Host name of the CRM database in the target environment
      used by resources/datasources/crm.json
  crm_port
      default 5432
      Port of the CRM database
      used by resources/datasources/crm.json
  region
      default "eu-west", used by no resource
      Declared for the target, used by no resource
  tenant_host
      required
      used by resources/queries/customers.json
TXT
	diff "$W/inputs.want" "$W/inputs.txt" || fail "text inputs differ" || return 1
	run "$B/appkg-info" --json "$g" && expect_rc 0 || return 1
	jq -e '.inputs == [
	  {"name": "crm_host", "description": "Host name of the CRM database in the target environment",
	   "default": null, "required": true, "used_by": ["resources/datasources/crm.json"]},
	  {"name": "crm_port", "description": "Port of the CRM database", "default": 5432,
	   "required": false, "used_by": ["resources/datasources/crm.json"]},
	  {"name": "region", "description": "Declared for the target, used by no resource",
	   "default": "eu-west", "required": false, "used_by": []},
	  {"name": "tenant_host", "description": null, "default": null, "required": true,
	   "used_by": ["resources/queries/customers.json"]}]' "$W/stdout" >/dev/null ||
		fail "json inputs: $(jq -c .inputs "$W/stdout")" || return 1
	run "$B/appkg-info" --json "$W/plain.appkg" && expect_rc 0 || return 1
	jq -e '.inputs == []' "$W/stdout" >/dev/null || fail "a 1.0 package has inputs" || return 1
	run "$B/appkg-info" "$W/plain.appkg" && expect_rc 0 || return 1
	! grep -q '^Inputs' "$W/stdout" || fail "an Inputs section without inputs"
}

man_page_matches_help() {
	page=$TOP/man/appkg-info.1
	command -v man >/dev/null || { echo "no man(1)"; return 0; }
	MANWIDTH=80 man -l "$page" >"$W/man.txt" 2>"$W/man.err" && [ ! -s "$W/man.err" ] ||
		fail "man -l: $(cat "$W/man.err")" || return 1
	"$B/appkg-info" --help | grep -o -- '--[a-z][a-z-]*' | sort -u >"$W/help.opts"
	sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$page" | grep -o '\\-\\-[a-z][a-z-]*' |
		sed 's/\\-/-/g' | sort -u >"$W/man.opts"
	diff "$W/help.opts" "$W/man.opts" || fail "--help and the manual differ"
}

t info_man_page_matches_help man_page_matches_help
t info_json_manifest_fields json_manifest_fields
t info_json_signature_checked_and_not json_signature_checked_and_not
t info_json_resources_by_type json_resources_by_type
t info_json_totals json_totals
t info_json_secrets_sealed_and_named json_secrets_sealed_and_named
t info_no_secret_value_in_any_output no_secret_value_in_any_output
t info_secret_value_check_can_fail secret_value_check_can_fail
t info_text_grouped_and_sorted text_grouped_and_sorted
t info_text_escapes_controls text_escapes_controls
t info_stdin_dash stdin_dash
t info_prompt_only_when_asked prompt_only_when_asked
t info_front_runs_info front_runs_info
t info_inputs_listed inputs_listed
t info_exit_statuses exit_statuses
t info_hostile_corpus_never_crashes hostile_corpus_never_crashes
