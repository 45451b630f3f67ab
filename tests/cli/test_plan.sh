# appkg-plan (issue 12, "plan against the target"): the table and --json (schema and values) for
# a package against a target directory and the same target packed; every action and the
# changes under it; matching by id, and "match" other than "name" or "id" refused at pack; the
# import order and a cycle (also a ring of 20,000 under a small stack); a clean plan exits 0;
# bindings: inputs bound before comparing, unbound inputs listed, the environment in the JSON,
# a rejected bindings file 5; usage 2; a bindings file that cannot be read 4; damaged, hostile
# or missing inputs 5 with one line; standard input; the front runs it.
. "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=1767225600
P=$B/appkg-plan

# $W/pkg: one resource per action against $W/target; written afresh by each test.
make_inputs() {
	rm -rf "$W/pkg" "$W/target"
	mkdir -p "$W/pkg/resources/pages" "$W/pkg/resources/queries" "$W/target/resources/pages" \
		"$W/target/resources/queries"
	cat >"$W/pkg/manifest.json" <<'EOF'
{"name": "shop", "resources": [
 {"path": "resources/pages/about.json", "mode": "merge"},
 {"path": "resources/pages/archive.json", "mode": "skip"},
 {"path": "resources/pages/gone.json", "mode": "update"},
 {"path": "resources/pages/home.json", "mode": "update", "depends_on": ["queries/orders"]},
 {"path": "resources/pages/legal.json", "mode": "overwrite"},
 {"path": "resources/pages/same.json", "mode": "overwrite"},
 {"path": "resources/queries/orders.json", "mode": "create"},
 {"path": "resources/queries/stock.json", "mode": "update", "match": "id", "id": "Q-7"}]}
EOF
	echo '{"title": null, "footer": {"year": 2026}}' >"$W/pkg/resources/pages/about.json"
	echo '{"old": true}' >"$W/pkg/resources/pages/archive.json"
	echo '{"t": 1}' >"$W/pkg/resources/pages/gone.json"
	echo '{"title": "Start", "blocks": [1, 2]}' >"$W/pkg/resources/pages/home.json"
	echo '{"text": "new terms"}' >"$W/pkg/resources/pages/legal.json"
	echo '{"s": [1, {"k": "v"}]}' >"$W/pkg/resources/pages/same.json"
	echo '{"sql": "select * from orders"}' >"$W/pkg/resources/queries/orders.json"
	echo '{"sql": "select 2"}' >"$W/pkg/resources/queries/stock.json"
	cat >"$W/target/manifest.json" <<'EOF'
{"name": "prod", "resources": [{"path": "resources/queries/inventory.json", "id": "Q-7"}]}
EOF
	echo '{"title": "About", "footer": {"year": 2025, "by": "us"}}' >"$W/target/resources/pages/about.json"
	echo '{"title": "Home", "blocks": [1, 2, 3]}' >"$W/target/resources/pages/home.json"
	echo '{"text": "old terms"}' >"$W/target/resources/pages/legal.json"
	echo '{"s":[1,{"k":"v"}]}' >"$W/target/resources/pages/same.json"
	echo '{"sql": "select * from orders"}' >"$W/target/resources/queries/orders.json"
	echo '{"sql": "select 1"}' >"$W/target/resources/queries/inventory.json"
}

# line ACTION RESOURCE: the table row of RESOURCE has ACTION.
row() {
	awk -v a="$1" -v r="$2" '$1 == a && $2 == r {found = 1} END {exit !found}' "$W/stdout" ||
		fail "no row '$1 $2' in:
$(cat "$W/stdout")"
}

table_every_action() {
	make_inputs
	"$B/appkg-pack" "$W/pkg" -o "$W/pkg.appkg" || return 1
	run "$P" "$W/pkg.appkg" "$W/target"
	expect_rc 1 && [ ! -s "$W/stderr" ] || fail "stderr not empty" || return 1
	head -1 "$W/stdout" | grep -q '^ACTION *RESOURCE *MODE *MATCH *TARGET *CHANGES$' ||
		fail "no header" || return 1
	row merge pages/about && row skip pages/archive && row error pages/gone &&
		row update pages/home && row overwrite pages/legal && row unchanged pages/same &&
		row conflict queries/orders && row update queries/stock || return 1
	grep -q '^update  *pages/home  *update  *name  *resources/pages/home.json  *2$' "$W/stdout" &&
		grep -qx '    /title: "Home" -> "Start"' "$W/stdout" &&
		grep -qx '    /blocks/2: removed 3' "$W/stdout" &&
		grep -qx '    /footer/year: 2025 -> 2026' "$W/stdout" &&
		! grep -q '/footer/by' "$W/stdout" &&
		grep -q '^error  *pages/gone  *update  *name  *mode update, but the target has no such resource  *0$' "$W/stdout" &&
		grep -q '^update  *queries/stock  *update  *id  *resources/queries/inventory.json  *1$' "$W/stdout" ||
		fail "rows or changes differ:
$(cat "$W/stdout")" || return 1
	# import order: what home depends on comes before it
	[ "$(grep -n 'queries/orders' "$W/stdout" | cut -d: -f1)" -lt "$(grep -n 'pages/home ' "$W/stdout" | cut -d: -f1)" ] ||
		fail "queries/orders is not before pages/home"
}

json_schema_and_values() {
	make_inputs
	run "$P" --json "$W/pkg" "$W/target"
	expect_rc 1 || return 1
	jq -e '
	  (keys == ["clean","cycles","environment","items","package","summary","target","unbound_inputs"])
	  and .clean == false and .environment == null and .cycles == [] and .unbound_inputs == []
	  and (.package | endswith("/pkg")) and (.target | endswith("/target"))
	  and .summary == {"create":0,"conflict":1,"update":2,"overwrite":1,"merge":1,
	                   "unchanged":1,"error":1,"skip":1}
	  and ([.items[].order] == [range(1; 9)])
	  and all(.items[]; keys == ["action","changes","id","match","mode","name","order","path",
	                             "reason","target_path","type"])
	  and all(.items[].changes[]; keys == ["kind","new","old","pointer"]
	          and (.kind | IN("added","removed","changed")))
	  and ([.items[] | select(.path == "resources/pages/about.json")][0] as $m
	       | $m.action == "merge" and $m.target_path == "resources/pages/about.json"
	       and ($m.changes | map(.pointer) | sort) == ["/footer/year","/title"])
	  and ([.items[] | select(.name == "stock")][0] | .match == "id" and .id == "Q-7"
	       and .target_path == "resources/queries/inventory.json"
	       and .changes == [{"kind":"changed","pointer":"/sql","old":"\"select 1\"","new":"\"select 2\""}])
	  and ([.items[] | select(.action == "conflict" or .action == "error")] | all(.reason | type == "string"))
	  and ([.items[] | select(.action == "create" or .action == "unchanged")] | all(.reason == null))
	' "$W/stdout" >/dev/null || fail "$(cat "$W/stdout")"
}

# The same target as a directory and packed: the same plan.
directory_and_package_targets_agree() {
	make_inputs
	"$B/appkg-pack" "$W/target" -o "$W/target.appkg" || return 1
	run "$P" --json "$W/pkg" "$W/target" && jq 'del(.target)' "$W/stdout" >"$W/dir.json" || return 1
	run "$P" --json "$W/pkg" "$W/target.appkg" && jq 'del(.target)' "$W/stdout" >"$W/pkg.json" || return 1
	expect_rc 1 && cmp -s "$W/dir.json" "$W/pkg.json" || fail "plans differ"
}

clean_is_0() {
	make_inputs
	sed -i 's/"create"/"overwrite"/; s/"update"/"overwrite"/g; s/"merge"/"overwrite"/' "$W/pkg/manifest.json"
	"$B/appkg-pack" "$W/pkg" -o "$W/pkg.appkg" || return 1
	run "$P" "$W/pkg.appkg" "$W/pkg"
	expect_rc 0 && [ ! -s "$W/stderr" ] || return 1
	[ "$(grep -c '^unchanged ' "$W/stdout")" -eq 7 ] && [ "$(grep -c '^skip ' "$W/stdout")" -eq 1 ] ||
		fail "$(cat "$W/stdout")" || return 1
	run "$P" --json "$W/pkg.appkg" "$W/pkg"
	expect_rc 0 && jq -e '.clean == true and .summary.unchanged == 7' "$W/stdout" >/dev/null ||
		fail "$(cat "$W/stdout")"
}

cycle_reported() {
	make_inputs
	sed -i 's|"mode": "skip"}|"mode": "skip", "depends_on": ["pages/legal"]}|;
		s|{"path": "resources/pages/legal.json", "mode": "overwrite"}|{"path": "resources/pages/legal.json", "mode": "overwrite", "depends_on": ["pages/archive"]}|' \
		"$W/pkg/manifest.json"
	run "$P" "$W/pkg" "$W/target"
	expect_rc 1 || return 1
	grep -qx 'cycle: resources/pages/archive.json -> resources/pages/legal.json -> resources/pages/archive.json' "$W/stdout" &&
		[ "$(grep -c '^cycle: ' "$W/stdout")" -eq 1 ] || fail "$(cat "$W/stdout")" || return 1
	# resources on the cycle come last
	grep -v '^ \|^cycle: ' "$W/stdout" | tail -2 | awk '{print $1, $2}' | tr '\n' ' ' |
		grep -qx 'skip pages/archive overwrite pages/legal ' || fail "$(cat "$W/stdout")" || return 1
	run "$P" --json "$W/pkg" "$W/target"
	jq -e '.cycles == [["resources/pages/archive.json","resources/pages/legal.json"]]
	       and .items[-2].path == "resources/pages/archive.json"
	       and .items[-1].path == "resources/pages/legal.json"' "$W/stdout" >/dev/null ||
		fail "$(cat "$W/stdout")"
}

usage_is_2() {
	make_inputs
	for args in "" "$W/pkg" "$W/pkg $W/target $W/target" "--no-such $W/pkg $W/target" \
		"- -" "--bindings" "--bindings - $W/pkg $W/target"; do
		# shellcheck disable=SC2086
		run "$P" $args
		expect_rc 2 && expect_one_line appkg-plan || { echo "args: $args"; return 1; }
	done
	run "$P" --help
	expect_rc 0 && grep -q -- '--bindings' "$W/stdout"
}

# A format 2.0 package whose datasource uses db_host (required) and port (with a default), and
# a secret reference, against a target that holds it bound.
make_bindable() {
	rm -rf "$W/app" "$W/prod"
	mkdir -p "$W/app/resources/datasources" "$W/prod/resources/datasources"
	echo '{"name": "app", "inputs": {"port": {"default": 5432, "description": "database port"}},
	       "resources": [{"path": "resources/datasources/crm.json", "mode": "update"}]}' >"$W/app/manifest.json"
	echo '{"url": "pg://[[appkg:input:db_host]]:[[appkg:input:port]]/crm", "port": "[[appkg:input:port]]",
	       "password": "[[appkg:secret:DB_PASS]]"}' >"$W/app/resources/datasources/crm.json"
	echo '{"name": "prod"}' >"$W/prod/manifest.json"
	echo '{"url": "pg://db.prod:5432/crm", "port": 5432, "password": "[[appkg:secret:DB_PASS]]"}' \
		>"$W/prod/resources/datasources/crm.json"
	echo '{"environment": "prod-eu", "inputs": {"db_host": "db.prod"}}' >"$W/prod.json"
	echo '{"environment": "prod-eu", "inputs": {}}' >"$W/none.json"
}

bindings_bind_and_report() {
	make_bindable
	run "$P" --bindings "$W/prod.json" "$W/app" "$W/prod"
	expect_rc 0 && [ ! -s "$W/stderr" ] && grep -q '^unchanged  *datasources/crm ' "$W/stdout" ||
		fail "bound plan not clean: $(cat "$W/stdout")" || return 1
	run "$P" --json --bindings "$W/prod.json" "$W/app" "$W/prod"
	expect_rc 0 && jq -e '.environment == "prod-eu" and .clean and .unbound_inputs == []' \
		"$W/stdout" >/dev/null || fail "$(cat "$W/stdout")" || return 1
	# a required input the file does not supply: listed, the plan is not clean
	run "$P" --bindings "$W/none.json" "$W/app" "$W/prod"
	expect_rc 1 && grep -qx 'unbound input db_host (used by resources/datasources/crm.json)' "$W/stdout" ||
		fail "$(cat "$W/stdout")" || return 1
	run "$P" --json "$W/app" "$W/prod"
	expect_rc 1 && jq -e '.environment == null and .clean == false
	       and .unbound_inputs == [{"name": "db_host", "used_by": ["resources/datasources/crm.json"]}]
	       and .items[0].action == "update"' "$W/stdout" >/dev/null || fail "$(cat "$W/stdout")" || return 1
	# a rejected bindings file: no plan
	echo '{"inputs": {}, "inputz": {}}' >"$W/typo.json"
	run "$P" --bindings "$W/typo.json" "$W/app" "$W/prod"
	expect_rc 5 && expect_one_line appkg-plan && expect_stderr inputz && [ ! -s "$W/stdout" ]
}

# No secret value in any output: a package with sealed secrets, a target directory with its
# secrets.json, the secret references of the resources; text and JSON, with bindings.
no_secret_value() {
	make_bindable
	echo '{"DB_PASS": "s3cret-value-9b1f", "API_KEY": "key \"quoted\" 7c2e"}' >"$W/app/secrets.json"
	cp "$W/app/secrets.json" "$W/prod/secrets.json"
	echo "a password for the test" >"$W/pw"
	"$B/appkg-pack" --kdf interactive --password-file "$W/pw" "$W/app" -o "$W/app.appkg" || return 1
	run "$P" --bindings "$W/none.json" "$W/app.appkg" "$W/prod"
	expect_rc 1 && cp "$W/stdout" "$W/out1" && cp "$W/stderr" "$W/err1" || return 1
	APPKG_PASSWORD="a password for the test" run "$P" --json "$W/app.appkg" "$W/prod"
	expect_rc 1 || return 1
	expect_no_secret_values "$W/app/secrets.json" "$W/out1" "$W/err1" "$W/stdout" "$W/stderr"
}

bindings_unreadable_is_4() {
	make_inputs
	run "$P" --bindings "$W/no-such.json" "$W/pkg" "$W/target"
	expect_rc 4 && expect_one_line appkg-plan && expect_stderr "no-such.json" && [ ! -s "$W/stdout" ]
}

# damaged, hostile, missing: 5 and one line, nothing on stdout, whichever side
damaged_inputs_are_5() {
	make_inputs
	"$B/appkg-pack" "$W/target" -o "$W/t.appkg" || return 1
	size=$(stat -c %s "$W/t.appkg")
	tried=0
	for off in $(seq 100 37 $((size - 100))); do
		cp "$W/t.appkg" "$W/bad.appkg"
		printf '\377' | dd of="$W/bad.appkg" bs=1 seek="$off" conv=notrunc 2>/dev/null
		"$B/appkg-verify" "$W/bad.appkg" 2>/dev/null && continue
		tried=$((tried + 1))
		run timeout 10 "$P" "$W/pkg" "$W/bad.appkg"
		expect_rc 5 && expect_one_line appkg-plan && [ ! -s "$W/stdout" ] || { echo "offset $off"; return 1; }
	done
	[ "$tried" -gt 3 ] || fail "too few damaged copies" || return 1
	for v in zstd_frame_bit_flip decompression_bomb symlink_member traversal_member; do
		run timeout 10 "$P" "$W/pkg" "$TOP/tests/vectors/invalid/$v/package.appkg"
		expect_rc 5 && expect_one_line appkg-plan || { echo "vector $v"; return 1; }
		run timeout 10 "$P" "$TOP/tests/vectors/invalid/$v/package.appkg" "$W/target"
		expect_rc 5 && expect_one_line appkg-plan || { echo "vector $v as PKG"; return 1; }
	done
	printf '{"t":' >"$W/target/resources/pages/home.json"
	run "$P" "$W/pkg" "$W/target"
	expect_rc 5 && expect_one_line appkg-plan && expect_stderr "resources/pages/home.json" || return 1
	run "$P" "$W/pkg" "$W/missing"
	expect_rc 5 && expect_one_line appkg-plan
}

stdin_and_front() {
	make_inputs
	"$B/appkg-pack" "$W/pkg" -o "$W/pkg.appkg" || return 1
	run "$P" --json "$W/pkg" "$W/target"
	jq 'del(.package)' "$W/stdout" >"$W/want.json"
	"$P" --json - "$W/target" <"$W/pkg.appkg" >"$W/stdout" 2>"$W/stderr"
	[ $? -eq 1 ] && jq -e '.package == "(stdin)"' "$W/stdout" >/dev/null &&
		jq 'del(.package)' "$W/stdout" | cmp -s - "$W/want.json" || fail "stdin plan differs" || return 1
	run "$B/appkg" plan "$W/pkg.appkg" "$W/target"
	expect_rc 1 && grep -q '^conflict  *queries/orders ' "$W/stdout" || fail "appkg plan"
}

# "match" must be "name" or "id": pack refuses another value, naming the entry
match_must_be_name_or_id() {
	make_inputs
	for bad in '"path"' '3' 'null'; do
		sed -i "s|\"match\": [^,]*,|\"match\": $bad,|" "$W/pkg/manifest.json"
		run "$B/appkg-pack" "$W/pkg" -o "$W/badmatch.appkg"
		expect_rc 1 && expect_stderr 'resources/queries/stock.json: match must be "name" or "id"' &&
			[ ! -e "$W/badmatch.appkg" ] || { echo "match: $bad"; return 1; }
	done
	run "$P" "$W/pkg" "$W/target"
	expect_rc 5 && expect_one_line appkg-plan && expect_stderr 'match must be'
}

# A ring of 20,000 resources (each depends on the next) under a 256 KiB stack: the order and
# the cycle are found without recursion per resource; the cycle is reported once, whole.
long_cycle_bounded_stack() {
	mkdir -p "$W/ring/resources/r" "$W/empty" || return 1
	python3 - "$W/ring" <<'EOF2' || return 1
import json, sys
n, top = 20000, sys.argv[1]
for i in range(n):
    with open("%s/resources/r/%05d.json" % (top, i), "w") as f:
        f.write('{"i": %d}' % i)
entries = [{"path": "resources/r/%05d.json" % i, "depends_on": ["r/%05d" % ((i + 1) % n)]}
           for i in range(n)]
json.dump({"name": "ring", "resources": entries}, open(top + "/manifest.json", "w"))
EOF2
	echo '{"name": "empty"}' >"$W/empty/manifest.json"
	"$B/appkg-pack" "$W/ring" -o "$W/ring.appkg" || return 1
	(ulimit -s 256 && exec timeout 20 "$P" --json "$W/ring.appkg" "$W/empty") >"$W/stdout" 2>"$W/stderr"
	rc=$?
	expect_rc 1 || return 1
	jq -e '(.cycles | length) == 1 and (.cycles[0] | length) == 20000
	       and .cycles[0][0] == "resources/r/00000.json" and .cycles[0][1] == "resources/r/00001.json"
	       and .summary.create == 20000' "$W/stdout" >/dev/null || fail "cycle not reported whole"
}

t plan_table_every_action table_every_action
t plan_json_schema_and_values json_schema_and_values
t plan_directory_and_package_targets_agree directory_and_package_targets_agree
t plan_clean_is_0 clean_is_0
t plan_cycle_reported cycle_reported
t plan_usage_is_2 usage_is_2
t plan_bindings_bind_and_report bindings_bind_and_report
t plan_bindings_unreadable_is_4 bindings_unreadable_is_4
t plan_no_secret_value no_secret_value
t plan_damaged_inputs_are_5 damaged_inputs_are_5
t plan_stdin_and_front stdin_and_front
t plan_match_must_be_name_or_id match_must_be_name_or_id
t plan_long_cycle_bounded_stack long_cycle_bounded_stack
