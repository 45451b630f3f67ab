# The four platform workflows of examples/ end to end (issue 12, must-show 1 and 2): pack with
# secrets, verify, info lists the inputs, mount and edit with sed and jq, commit, diff against
# the original shows exactly the edits, verify --bindings names every missing input, plan
# against the target export equals tests/mount/expected/EXAMPLE/plan.json, and the bound,
# import-ready tree equals tests/mount/expected/EXAMPLE/bound/. The deployment project is first
# merged from its two server exports (a conflict refused, then --prefer last). The expected
# files were written from the rules of the design (binding: spec §20.2, plan: spec §21), not
# copied from the tools' output.
. "$(dirname "$0")/lib.sh"

EX=$TOP/examples
EXP=$TOP/tests/mount/expected
echo "workflow test password" >"$W/pw"

# step NAME CMD...: run CMD (as `run` does) and keep its stdout and stderr for the final check
# that no secret value was ever printed.
step() {
	n=$1
	shift
	run "$@"
	cat "$W/stdout" "$W/stderr" >>"$W/$n.printed"
}

pack_it() { # pack_it NAME SRC PKG
	step "$1" "$B/appkg-pack" --kdf interactive --password-file "$W/pw" "$2" -o "$3" &&
		expect_rc 0
}

# verify, then info: every input of the expected manifest, with its description, required
# flag and users, in the --json report, and an Inputs section in the text.
verify_and_info() { # verify_and_info NAME PKG
	step "$1" "$B/appkg-verify" "$2" && expect_rc 0 || return 1
	step "$1" "$B/appkg-info" --json "$2" && expect_rc 0 || return 1
	jq -S '[.inputs[] | {name, description, required, used_by}]' "$W/stdout" >"$W/$1.info" &&
		jq -S '.inputs | to_entries | map({name: .key, description: .value.description,
			required: .value.required, used_by: .value.used_by})' \
			"$EXP/$1/bound/manifest.json" >"$W/$1.info.want" || return 1
	diff "$W/$1.info.want" "$W/$1.info" || fail "info --json: inputs differ" || return 1
	step "$1" "$B/appkg-info" "$2" && expect_rc 0 || return 1
	grep -qi '^inputs' "$W/stdout" || fail "info: no Inputs section" || return 1
	for i in $(jq -r '.inputs | keys[]' "$EXP/$1/bound/manifest.json"); do
		grep -q "$i" "$W/stdout" || fail "info: input $i not listed" || return 1
	done
}

# mount PKG, run the edit function in the mount, commit; then appkg diff against the copy of
# PKG taken before: exactly the expected value changes (a JSON array of
# {kind, type, name, pointer, old, new}), each after its resource's line, nothing else.
mount_edit_diff() { # mount_edit_diff NAME PKG EDIT_FN EXPECTED_CHANGES
	cp "$2" "$2.orig" || return 1
	mount_up "$2" "$W/m.$1" || return 1
	(cd "$W/m.$1" && "$3") || fail "the edit failed" || return 1
	step "$1" "$B/appkg-mount" -u "$W/m.$1" && expect_rc 0 || return 1
	! mountpoint -q "$W/m.$1" || fail "still mounted" || return 1
	step "$1" "$B/appkg-verify" "$2" && expect_rc 0 || return 1
	step "$1" "$B/appkg-diff" --json --password-file "$W/pw" "$2.orig" "$2" && expect_rc 1 ||
		return 1
	jq -S '[.changes[] | select(.subject == "value") | {kind, type, name, pointer, old, new}]' \
		"$W/stdout" >"$W/$1.diff" && echo "$4" | jq -S . >"$W/$1.diff.want" || return 1
	diff "$W/$1.diff.want" "$W/$1.diff" || fail "diff: other value changes" || return 1
	# besides the value changes only one "changed resource" line per edited resource
	jq -e '[.changes[] | select(.subject != "value")] | all(.subject == "resource" and
		.kind == "changed")' "$W/stdout" >/dev/null &&
		[ "$(jq '[.changes[] | select(.subject == "resource")] | length' "$W/stdout")" = \
			"$(echo "$4" | jq '[.[] | .type + "/" + .name] | unique | length')" ] ||
		fail "diff: changes besides the edits: $(cat "$W/stdout")"
}

# verify --bindings: the incomplete file exits 1 naming every missing input (one line each,
# with its users), and the complete one exits 0.
verify_bindings() { # verify_bindings NAME PKG COMPLETE INCOMPLETE MISSING...
	n=$1 pkg=$2 complete=$3 incomplete=$4
	shift 4
	step "$n" "$B/appkg-verify" --bindings "$incomplete" "$pkg" && expect_rc 1 || return 1
	for i; do
		grep -q "^appkg-verify: '$incomplete': input '$i' is required (used by resources/" \
			"$W/stderr" || fail "missing input $i not named" || return 1
	done
	[ "$(grep -c "is required" "$W/stderr")" -eq $# ] || fail "not one line per missing input" ||
		return 1
	# a key that no input of the package has is a warning
	for k in $(jq -r --slurpfile m "$EXP/$n/bound/manifest.json" \
		'.inputs | keys - ($m[0].inputs | keys) | .[]' "$incomplete"); do
		grep -q "^appkg-verify: '$incomplete': warning: input '$k' is not used by the package" \
			"$W/stderr" || fail "no warning for the unused key $k" || return 1
	done
	step "$n" "$B/appkg-verify" --bindings "$complete" "$pkg" && expect_rc 0
}

# appkg plan PKG TARGET --bindings COMPLETE --json equals the expected plan (jq -S), exit 1
# since every expected plan has changes. It runs in $W on NAME.appkg and a copy of the target
# export, NAME.target, so that the report's "package" and "target" (the inputs as given) are
# the same on every run.
plan_equals() { # plan_equals NAME PKG TARGET COMPLETE
	[ "$2" = "$W/$1.appkg" ] && cp -r "$3" "$W/$1.target" || return 1
	(cd "$W" && step "$1" "$B/appkg-plan" --json --bindings "$4" "$1.appkg" "$1.target" &&
		expect_rc 1) || return 1
	jq -S . "$W/stdout" >"$W/$1.plan" && jq -S . "$EXP/$1/plan.json" >"$W/$1.plan.want" ||
		fail "plan: not JSON" || return 1
	diff "$W/$1.plan.want" "$W/$1.plan" || fail "plan differs from $EXP/$1/plan.json"
}

# unpack --bindings --bind-secrets: no placeholder left but the intended literal text (in
# parts-tracker's Stock page, "[[appkg:literal]]bin:ROW-SHELF]]" becomes "[[appkg:bin:..."), the
# resources byte for byte as expected, the manifest as expected but for what each run draws
# anew (the sealed secrets' size and digest) and the resources' sizes and digests (those of
# the package's members), and every file holding a bound secret mode 0600.
bind_equals() { # bind_equals NAME PKG COMPLETE [LITERAL_FILE]
	out=$W/$1.bound
	step "$1" "$B/appkg-unpack" --bindings "$3" --bind-secrets --password-file "$W/pw" "$2" \
		-C "$out" && expect_rc 0 || return 1
	grep -rl '\[\[appkg:' "$out/resources" | sed "s|^$out/||" >"$W/$1.left"
	[ "$(cat "$W/$1.left")" = "${4:-}" ] || fail "placeholders left in: $(cat "$W/$1.left")" ||
		return 1
	if [ -n "${4:-}" ]; then
		[ "$(grep -o '\[\[appkg:[^"]*' "$out/$4")" = "[[appkg:bin:ROW-SHELF]] tags." ] ||
			fail "the literal did not become its text" || return 1
	fi
	diff -r "$EXP/$1/bound/resources" "$out/resources" || fail "bound resources differ" || return 1
	jq -S 'del(.secrets) | .resources |= map(del(.size, .digest))' "$out/manifest.json" \
		>"$W/$1.manifest" && jq -S . "$EXP/$1/bound/manifest.json" >"$W/$1.manifest.want" ||
		return 1
	diff "$W/$1.manifest.want" "$W/$1.manifest" || fail "bound manifest differs" || return 1
	grep -rlF -f "$W/$1.secrets" "$out/resources" >"$W/$1.secret.files"
	[ -s "$W/$1.secret.files" ] || fail "no resource holds a bound secret" || return 1
	while read -r f; do
		[ "$(stat -c %a "$f")" = 600 ] || fail "$f holds a secret, mode $(stat -c %a "$f")" ||
			return 1
	done <"$W/$1.secret.files"
}

# One example's workflow after its package is made: one PASS/FAIL line per stage.
workflow() { # workflow NAME PKG DIR COMPLETE EDIT CHANGES LITERAL_FILE MISSING...
	ex=$1 pkg=$2 dir=$3 complete=$4 edit=$5 changes=$6 literal=$7
	shift 7
	id=workflow_$(echo "$ex" | tr - _)
	t "${id}_verify_info" verify_and_info "$ex" "$pkg"
	t "${id}_mount_edit_diff" mount_edit_diff "$ex" "$pkg" "$edit" "$changes"
	t "${id}_verify_bindings" verify_bindings "$ex" "$pkg" "$complete" \
		"$dir/targets/incomplete.json" "$@"
	t "${id}_plan" plan_equals "$ex" "$pkg" "$dir/target-export" "$complete"
	t "${id}_bind" bind_equals "$ex" "$pkg" "$complete" "$literal"
	t "${id}_no_secret_printed" expect_no_secret_values "$W/$ex.secrets.json" "$W/$ex.printed"
}

# The secrets of an example (one or more secrets.json): their union as JSON, and the values
# one a line for grep -F.
secrets_of() { # secrets_of NAME SECRETS_JSON...
	n=$1
	shift
	jq -s add "$@" >"$W/$n.secrets.json" && jq -r '.[]' "$W/$n.secrets.json" >"$W/$n.secrets"
}

# a. An app with pages, queries and datasources; hosts are inputs, credentials secrets.
edit_parts_tracker() {
	sed -i 's/"page_size": 20/"page_size": 50/' resources/pages/Stock.json &&
		jq '.cache_seconds = 60' resources/queries/list_parts.json >resources/queries/lp.tmp &&
		mv resources/queries/lp.tmp resources/queries/list_parts.json
}
D=$EX/parts-tracker
secrets_of parts-tracker "$D/secrets.json"
t workflow_parts_tracker_pack pack_it parts-tracker "$D" "$W/parts-tracker.appkg"
workflow parts-tracker "$W/parts-tracker.appkg" "$D" "$D/targets/staging.json" edit_parts_tracker '[
	{"kind": "changed", "type": "pages", "name": "Stock", "pointer": "/widgets/1/page_size",
	 "old": "20", "new": "50"},
	{"kind": "added", "type": "queries", "name": "list_parts", "pointer": "/cache_seconds",
	 "old": null, "new": "60"}]' resources/pages/Stock.json inventory_db_host supplier_api_host

# b. An environment's topology: nodes, versions, environment variables, no data.
edit_shop_environment() {
	sed -i 's/"disk_gb": 40/"disk_gb": 60/' resources/nodes/db.json &&
		jq '.cloudlets.dynamic = 6' resources/nodes/cache.json >resources/nodes/c.tmp &&
		mv resources/nodes/c.tmp resources/nodes/cache.json
}
D=$EX/shop-environment
secrets_of shop-environment "$D/secrets.json"
t workflow_shop_environment_pack pack_it shop-environment "$D" "$W/shop-environment.appkg"
workflow shop-environment "$W/shop-environment.appkg" "$D" "$D/targets/new-cloud.json" \
	edit_shop_environment '[
	{"kind": "changed", "type": "nodes", "name": "cache", "pointer": "/cloudlets/dynamic",
	 "old": "4", "new": "6"},
	{"kind": "changed", "type": "nodes", "name": "db", "pointer": "/disk_gb",
	 "old": "40", "new": "60"}]' "" public_domain region

# c. A deployment project exported from two servers: merged (the project differs: refused,
# then the last server wins), then the same workflow against a third server.
D=$EX/deploy-project
secrets_of deploy-project "$D/server-a/secrets.json" "$D/server-b/secrets.json"
merge_servers() {
	pack_it deploy-project "$D/server-a" "$W/server-a.appkg" &&
		pack_it deploy-project "$D/server-b" "$W/server-b.appkg" &&
		step deploy-project "$B/appkg-verify" "$W/server-a.appkg" && expect_rc 0 &&
		step deploy-project "$B/appkg-verify" "$W/server-b.appkg" && expect_rc 0 || return 1
	step deploy-project "$B/appkg-merge" --json --password-file "$W/pw" \
		--new-password-file "$W/pw" --kdf interactive \
		"$W/server-a.appkg" "$W/server-b.appkg" -o "$W/deploy-project.appkg"
	expect_rc 1 || return 1
	[ ! -e "$W/deploy-project.appkg" ] || fail "merge wrote a package despite the conflict" ||
		return 1
	jq -e '.ok == false and ([.conflicts[] | [.kind, .what, .path]] ==
		[["resource", "content", "resources/projects/checkout-service.json"]])' \
		"$W/stdout" >/dev/null || fail "merge: not the one conflict: $(cat "$W/stdout")" ||
		return 1
	step deploy-project "$B/appkg-merge" --password-file "$W/pw" --new-password-file "$W/pw" \
		--kdf interactive "$W/server-a.appkg" "$W/server-b.appkg" -o "$W/deploy-project.appkg"
	expect_rc 1 && grep -q "resources/projects/checkout-service.json" "$W/stderr" ||
		fail "merge: the conflict is not named" || return 1
	step deploy-project "$B/appkg-merge" --prefer last --password-file "$W/pw" \
		--new-password-file "$W/pw" --kdf interactive \
		"$W/server-a.appkg" "$W/server-b.appkg" -o "$W/deploy-project.appkg"
	expect_rc 0 || return 1
	# the smoke test step only server B has
	"$B/appkg-unpack" "$W/deploy-project.appkg" -C "$W/merged" &&
		cmp "$D/server-b/resources/projects/checkout-service.json" \
			"$W/merged/resources/projects/checkout-service.json" ||
		fail "--prefer last did not keep server B's project"
}
edit_deploy_project() {
	sed -i 's/"timeout_minutes": 30/"timeout_minutes": 45/' \
		resources/projects/checkout-service.json &&
		jq '.members["zoe.m"] = {"role": "member"}' resources/teams/checkout-devs.json \
			>resources/teams/d.tmp && mv resources/teams/d.tmp resources/teams/checkout-devs.json
}
t workflow_deploy_project_merge_servers merge_servers
workflow deploy-project "$W/deploy-project.appkg" "$D" "$D/targets/server-c.json" \
	edit_deploy_project '[
	{"kind": "changed", "type": "projects", "name": "checkout-service",
	 "pointer": "/timeout_minutes", "old": "30", "new": "45"},
	{"kind": "added", "type": "teams", "name": "checkout-devs", "pointer": "/members/zoe.m",
	 "old": null, "new": "{\"role\":\"member\"}"}]' "" acme_region northwind_region

# d. An app package: app, flow, entity customisations, connections that need input.
edit_inspection_app() {
	sed -i 's/"recurrence_minutes": 15/"recurrence_minutes": 30/' \
		"resources/flows/Notify inspector.json" &&
		jq '.parameters.encrypt = true' resources/connections/sql-inspections.json \
			>resources/connections/s.tmp &&
		mv resources/connections/s.tmp resources/connections/sql-inspections.json
}
D=$EX/inspection-app
secrets_of inspection-app "$D/secrets.json"
t workflow_inspection_app_pack pack_it inspection-app "$D" "$W/inspection-app.appkg"
workflow inspection-app "$W/inspection-app.appkg" "$D" "$D/targets/production.json" \
	edit_inspection_app '[
	{"kind": "added", "type": "connections", "name": "sql-inspections",
	 "pointer": "/parameters/encrypt", "old": null, "new": "true"},
	{"kind": "changed", "type": "flows", "name": "Notify inspector",
	 "pointer": "/trigger/recurrence_minutes", "old": "15", "new": "30"}]' "" \
	app_banner photo_share sharepoint_site_url
