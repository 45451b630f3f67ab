#!/bin/sh
# SPDX-License-Identifier: MIT
# appkg demo: pack examples/crm-console, look at the package with stock tar and zstd, unpack it
# with its secrets, and show that the round trip loses nothing and a re-pack is byte-identical.
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

for tool in appkg-pack appkg-unpack; do
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
echo "demo passed: pack, inspect, unpack and re-pack all round-trip exactly"
