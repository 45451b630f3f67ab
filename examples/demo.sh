#!/bin/sh
# SPDX-License-Identifier: MIT
# appkg demo: pack examples/crm-console, look at the package with stock tar and zstd, unpack it
# with its secrets, and show that the round trip loses nothing and a re-pack is byte-identical.
# Then move examples/parts-tracker to a staging environment: check what the target must supply
# (verify --bindings), preview the import against what staging holds now (plan), and write the
# import-ready tree for staging (unpack --bindings).
#
# Usage: examples/demo.sh BIN_DIR      (e.g. examples/demo.sh build/bin; `make demo` runs this)
# Exits non-zero as soon as a step fails or anything differs.
set -eu

if [ "$#" -ne 1 ]; then
	echo "usage: $0 BIN_DIR   (the directory holding appkg-pack and appkg-unpack)" >&2
	exit 2
fi

bin=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
src=$root/examples/crm-console
password=demo-password

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

for tool in appkg-pack appkg-unpack appkg-verify appkg-plan; do
	[ -x "$bin/$tool" ] || fail "$bin/$tool not found; run 'make all' first"
done
for tool in tar zstd diff cmp; do
	command -v "$tool" >/dev/null 2>&1 || fail "'$tool' is not installed"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/appkg-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pkg=$tmp/crm-console.appkg
out=$tmp/unpacked
repkg=$tmp/crm-console.repacked.appkg

echo "== 1. pack $src"
APPKG_PASSWORD=$password "$bin/appkg-pack" --kdf interactive "$src" -o "$pkg" ||
	fail "appkg-pack failed"
size=$(wc -c <"$pkg" | tr -d ' ')
srcsize=$(find "$src" -type f -exec cat {} + | wc -c | tr -d ' ')
echo "ok: packed crm-console.appkg, $size bytes (source files: $srcsize bytes)"

echo
echo "== 2. list it with stock tar"
tar --zstd -tvf "$pkg" || fail "tar could not list the package"
echo "ok: the package is a plain zstd-compressed tar"

echo
echo "== 3. check the compression with zstd -t"
zstd -q -t "$pkg" || fail "zstd -t reported an error"
echo "ok: every zstd frame checks out"

echo
echo "== 4. unpack with the password"
APPKG_PASSWORD=$password "$bin/appkg-unpack" --secrets "$pkg" -C "$out" ||
	fail "appkg-unpack failed"
echo "ok: unpacked into $out"

echo
echo "== 5. compare with the source"
diff -r "$src/resources" "$out/resources" || fail "resources/ differ after the round trip"
echo "ok: resources/ are byte-identical"
cmp "$src/secrets.json" "$out/secrets.json" || fail "secrets.json differs after the round trip"
echo "ok: secrets.json decrypts to the original bytes"
[ -f "$out/secrets.enc" ] || fail "unpack did not keep secrets.enc"
echo "ok: secrets.enc kept beside secrets.json (a re-pack reuses its salt and KDF parameters)"

echo
echo "== 6. re-pack the unpacked directory"
APPKG_PASSWORD=$password "$bin/appkg-pack" "$out" -o "$repkg" || fail "re-pack failed"
cmp "$pkg" "$repkg" || fail "the re-packed package differs from the first one"
echo "ok: the re-packed package is byte-identical to the first"

echo
echo "ok: pack, inspect, unpack and re-pack all round-trip exactly"

# Part two: moving an app between environments. The package says what a target must supply
# (its inputs); the target's bindings file supplies it.
cd "$root"
app=examples/parts-tracker
apppkg=$tmp/parts-tracker.appkg
import=$tmp/import-staging

echo
echo "== 7. pack $app (its resources name inputs and secrets as [[appkg:...]] placeholders)"
APPKG_PASSWORD=$password "$bin/appkg-pack" --kdf interactive "$app" -o "$apppkg" ||
	fail "appkg-pack failed"
echo "ok: packed parts-tracker.appkg; the manifest lists the inputs each resource uses"

echo
echo "== 8. check a bindings file that leaves inputs out: targets/incomplete.json"
rc=0
"$bin/appkg-verify" --bindings "$app/targets/incomplete.json" "$apppkg" || rc=$?
[ "$rc" -eq 1 ] || fail "verify --bindings with missing inputs exited $rc, not 1"
echo "ok: every missing input is named above (exit 1), before anything is imported"

echo
echo "== 9. the complete bindings for staging: targets/staging.json"
"$bin/appkg-verify" --bindings "$app/targets/staging.json" "$apppkg" ||
	fail "verify --bindings with every input supplied failed"
echo "ok: staging supplies every required input"

echo
echo "== 10. plan the import against what staging holds now (target-export/)"
rc=0
"$bin/appkg-plan" --bindings "$app/targets/staging.json" "$apppkg" "$app/target-export" || rc=$?
[ "$rc" -eq 1 ] || fail "appkg-plan exited $rc, not 1 (the import changes things)"
echo "ok: each resource's action under its import mode, in dependency order"

echo
echo "== 11. write the import-ready tree for staging, secrets bound"
APPKG_PASSWORD=$password "$bin/appkg-unpack" --bindings "$app/targets/staging.json" \
	--bind-secrets "$apppkg" -C "$import" || fail "appkg-unpack --bindings failed"
grep -F '"host": "inv-db.staging.workshop.example"' \
	"$import/resources/datasources/inventory-db.json" ||
	fail "the staging database host is not in the bound datasource"
left=$(grep -rl '[[]appkg:input:\|[[]appkg:secret:' "$import/resources" || true)
[ -z "$left" ] || fail "placeholders left in $left"
mode=$(stat -c %a "$import/resources/datasources/inventory-db.json")
[ "$mode" = 600 ] || fail "the datasource holding the database password has mode $mode"
echo "ok: no placeholder left; files holding a secret are mode 0600"

echo
echo "demo passed: round trip exact; parts-tracker checked, planned and bound for staging"
