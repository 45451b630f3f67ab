# Hostile and golden packages through the command-line tools.
. "$(dirname "$0")/lib.sh"
V="$TOP/tests/vectors"

# Every invalid vector: unpack exits with the expected status and one line, writes nothing
# anywhere (not at DEST, not beside it, not at the paths the vector aims at), and leaves the
# package unchanged.
unpack_rejects() { # unpack_rejects CASE
	dir="$V/invalid/$1"
	want=$(sed -n 's/.*exit=\([0-9]\).*/\1/p' "$dir/expected")
	pw=$(sed -n 's/.*password=\([^ ]*\).*/\1/p' "$dir/expected")
	sum=$(b2sum "$dir/package.appkg")
	mkdir -p "$W/$1" && cd "$W/$1" || return 1
	if [ -n "$pw" ]; then
		run timeout 10 env APPKG_PASSWORD="$pw" "$B/appkg-unpack" "$dir/package.appkg" -C out
	else
		run timeout 10 "$B/appkg-unpack" "$dir/package.appkg" -C out
	fi
	expect_rc "$want" && expect_one_line appkg-unpack || return 1
	[ -z "$(ls -A "$W/$1")" ] || fail "left behind: $(ls -A "$W/$1")" || return 1
	[ ! -e /tmp/appkg-escape.json ] && [ ! -e "$W/escape.json" ] || fail "wrote outside DEST" || return 1
	[ "$(b2sum "$dir/package.appkg")" = "$sum" ] || fail "input changed"
}

for d in "$V"/invalid/*/; do
	c=$(basename "$d")
	t "unpack_rejects_$c" unpack_rejects "$c"
done

# The golden packages open, match their source, and re-pack to the same bytes.
golden() { # golden NAME [SOURCE]
	out="$W/golden-$1" src="$V/valid/${2:-src}"
	run "$B/appkg-unpack" --password-file "$V/valid/PASSWORD" "$V/valid/$1.appkg" -C "$out" && expect_rc 0 || return 1
	diff -r "$src/resources" "$out/resources" || return 1
	if [ -f "$out/secrets.enc" ]; then
		cmp "$src/secrets.json" "$out/secrets.json" || return 1
	fi
	grep -q '"x-vendor-extension"' "$out/manifest.json" || fail "unknown field lost" || return 1
	run env SOURCE_DATE_EPOCH=1767225600 "$B/appkg-pack" --password-file "$V/valid/PASSWORD" "$out" -o "$out.appkg" &&
		expect_rc 0 || return 1
	cmp "$V/valid/$1.appkg" "$out.appkg" || fail "re-pack of the golden package differs"
}

t golden_v1.0_plain golden v1.0-plain
t golden_v1.0_secrets golden v1.0-secrets
t golden_v2.0_inputs golden v2.0-inputs src2

# The format 2.0 golden package lists what its source uses: every input with its declared
# fields and the computed ones, the one declared but unused, and the undeclared one.
golden_v2_inputs_listed() {
	run "$B/appkg-info" --json "$V/valid/v2.0-inputs.appkg" && expect_rc 0 || return 1
	grep -q '"format_version": *"2.0"' "$W/stdout" || fail "not 2.0" || return 1
	python3 - "$W/stdout" <<'PY' || fail "inputs differ"
import json, sys
inputs = {i["name"]: i for i in json.load(open(sys.argv[1]))["inputs"]}
crm = "resources/datasources/crm.json"
assert inputs["crm_host"]["required"] is True and inputs["crm_host"]["used_by"] == [crm], inputs
assert inputs["crm_port"]["default"] == 5432 and inputs["crm_port"]["required"] is False
assert inputs["crm_port"]["description"] == "Port of the CRM database"
assert inputs["region"]["used_by"] == [] and inputs["region"]["required"] is False
assert inputs["tenant_host"]["required"] is True and inputs["tenant_host"]["description"] is None
assert inputs["tenant_host"]["used_by"] == ["resources/queries/customers.json"]
assert sorted(inputs) == ["crm_host", "crm_port", "region", "tenant_host"]
PY
}
t golden_v2.0_inputs_listed golden_v2_inputs_listed

# The spec lists the digest of every committed vector: a silent regeneration shows here.
spec_digests_match() {
	n=0
	for f in "$V"/valid/*.appkg "$V"/invalid/*/package.appkg; do
		rel=${f#"$V"/}
		key=$(echo "$rel" | sed 's|/package.appkg$|/|')
		want=$(grep -F "| \`$key\` |" "$TOP/spec/appkg-format.md" | sed 's/.*| `\([0-9a-f]\{64\}\)` |$/\1/')
		have=$(b2sum -l 256 "$f" | cut -d' ' -f1)
		[ -n "$want" ] && [ "$want" = "$have" ] || fail "$rel: digest $have, spec lists '${want}'" || return 1
		n=$((n + 1))
	done
	[ "$n" -ge 20 ]
}
t spec_lists_every_vector_digest spec_digests_match
