#!/bin/sh
# No accidental placeholder (issue 12, spec §20.1): the templates apps already carry
# ({{ secrets.X }}, {{ env.X }}, {{ inputs.term }}, #{...}, ${...}) are never read as
# placeholders. Every .json file of the golden v1.0 sources and of the corpus generator's
# output is scanned by appkg_placeholders_scan (build/tests/phtool) and holds none; in the
# shipped examples, every placeholder found is one written out as "[[appkg:" on purpose. The
# checks are shown to fail on a planted placeholder.
. "$(dirname "$0")/lib.sh"
PH=${APPKG_BUILD:?}/tests/phtool

# scan DIR...: "FOUND RAW FILE" per .json file in $W/scan; fails when a file is refused.
scan() {
	find "$@" -name '*.json' -type f -print0 | xargs -0 "$PH" scan >"$W/scan" 2>"$W/stderr" ||
		fail "a file was refused" || return 1
	[ -s "$W/scan" ] || fail "no file scanned"
}

# no_placeholders DIR...: every file scans and holds no placeholder.
no_placeholders() {
	scan "$@" || return 1
	! awk '$1 != 0' "$W/scan" | grep . || fail "placeholders found (found, raw, file) above"
}

# only_deliberate DIR...: every file scans, and holds as many placeholders as it has "[[appkg:"
# in its text: none came from other text or from an escape.
only_deliberate() {
	scan "$@" || return 1
	! awk '$1 != $2' "$W/scan" | grep . || fail "placeholders not written as such (found, raw, file) above"
}

golden_sources_have_none() {
	# the sources hold the other templates, so the check means something
	grep -rqF '{{ secrets.' "$TOP/tests/vectors/valid/src" || fail "no {{ secrets. }} template" || return 1
	no_placeholders "$TOP/tests/vectors/valid/src"
}

corpus_has_none() {
	corpus "$W/plain" 300 plain || return 1
	python3 "$TOP/tests/tools/gen-corpus.py" --resources 100 --names unicode --seed 13 \
		--out "$W/unicode" 2>/dev/null || return 1
	no_placeholders "$W/plain" "$W/unicode" || return 1
	[ "$(wc -l <"$W/scan")" -ge 400 ] || fail "only $(wc -l <"$W/scan") files scanned"
}

examples_only_deliberate() {
	grep -rqF '{{ ' "$TOP/examples" || fail "no {{ }} template in the examples" || return 1
	only_deliberate "$TOP/examples" || return 1
	[ ! -d "$TOP/examples/crm-console" ] || no_placeholders "$TOP/examples/crm-console"
}

# The same checks on copies of the golden sources with something planted.
plant() { # plant NAME TEXT: a copy of the sources with resources/pages/planted.json
	rm -rf "$W/$1" && cp -r "$TOP/tests/vectors/valid/src" "$W/$1" &&
		printf '{"title": "%s"}\n' "$2" >"$W/$1/resources/pages/planted.json"
}

checks_fail_on_a_planted_placeholder() {
	plant p1 'db [[appkg:input:x]]' || return 1
	! no_placeholders "$W/p1" >/dev/null || fail "a planted input was not found" || return 1
	grep -q '^1 1 .*planted.json$' "$W/scan" || fail "scan: $(cat "$W/scan")" || return 1
	plant p2 '\u005b[appkg:secret:S]]' || return 1
	! only_deliberate "$W/p2" >/dev/null || fail "a placeholder made by an escape was not found" || return 1
	plant p3 '[[appkg:inptu:x]]' || return 1
	! scan "$W/p3" >/dev/null || fail "a malformed placeholder was not refused" || return 1
	grep -q "planted.json': line 1 column 12: '\[\[appkg:inptu:x\]\]' is not a placeholder: .*(spec §20.1)" \
		"$W/stderr" || fail "message"
}

t golden_sources_have_none golden_sources_have_none
t corpus_has_none corpus_has_none
t examples_only_deliberate examples_only_deliberate
t checks_fail_on_a_planted_placeholder checks_fail_on_a_planted_placeholder
