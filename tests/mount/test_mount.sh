# appkg-mount, mounted for real: ordinary tools edit the package, commits are validated and
# atomic, refused edits are kept, secrets never reach the disk.
. "$(dirname "$0")/lib.sh"

# The same edit, made by the same tool, in the mount and in the reference tree.
edit_both() { # edit_both FUNCTION RELATIVE-PATH
	"$1" "$W/m/$2" && "$1" "$W/e.ref/$2"
}
with_vim() { vim -es -i NONE -u NONE -c '1s/{/{"edited_by": "vim",/' -c wq "$1"; }
with_sed() { sed -i 's/^{/{"edited_by": "sed",/' "$1"; }
with_jq() { jq '.edited_by = "jq"' "$1" >"$1.tmp" && mv "$1.tmp" "$1"; }
with_python() { python3 -c 'import sys; open(sys.argv[1], "w").write("{\"edited_by\": \"python\"}\n")' "$1"; }
with_truncate() { printf '{"edited_by": "truncate"}          ' >"$1" && truncate -s 25 "$1"; }
with_cp() { cp "$TOP/examples/crm-console/resources/pages/dashboard.json" "$1"; }
with_mkdir() { mkdir "$(dirname "$1")" && echo '{"new": "type"}' >"$1"; }

nth_resource() { # nth_resource TREE N: the Nth resource path, relative to TREE
	(cd "$1" && find resources -type f -name '*.json' | sort | sed -n "$2p")
}

ordinary_tools() {
	make_package e 40 || return 1
	cp -r "$W/e.ref" "$W/e.ref.orig"
	mount_up --password-file "$W/pw" "$W/e.appkg" "$W/m" || return 1
	edit_both with_vim "$(nth_resource "$W/e.ref.orig" 1)" &&
		edit_both with_sed "$(nth_resource "$W/e.ref.orig" 2)" &&
		edit_both with_jq "$(nth_resource "$W/e.ref.orig" 3)" &&
		edit_both with_python "$(nth_resource "$W/e.ref.orig" 4)" &&
		edit_both with_truncate "$(nth_resource "$W/e.ref.orig" 5)" &&
		edit_both with_cp resources/pages/copied.json &&
		edit_both with_mkdir resources/brandnew/first.json || fail "an edit failed" || return 1
	victim=$(nth_resource "$W/e.ref.orig" 6)
	rm "$W/m/$victim" "$W/e.ref/$victim" || return 1
	run "$B/appkg-mount" -u "$W/m" && expect_rc 0 || return 1
	! mountpoint -q "$W/m" || fail "still mounted" || return 1
	run "$B/appkg-verify" "$W/e.appkg" && expect_rc 0 || return 1
	"$B/appkg-unpack" --password-file "$W/pw" "$W/e.appkg" -C "$W/e.out" || return 1
	diff -r "$W/e.ref/resources" "$W/e.out/resources" || fail "unpack differs from the edits" || return 1
	cmp "$W/e.ref/secrets.json" "$W/e.out/secrets.json" || return 1
	[ "$(diff -r "$W/e.ref.orig/resources" "$W/e.out/resources" | grep -c '^diff\|^Only')" -eq 8 ] ||
		fail "expected exactly 8 changed files" || return 1
	tar --zstd -tf "$W/e.appkg" >/dev/null && zstd -tq "$W/e.appkg"
}

no_edits_byte_identical() {
	make_package n 30 || return 1
	cp "$W/n.appkg" "$W/n.orig"
	mount_up --password-file "$W/pw" "$W/n.appkg" "$W/m" || return 1
	find "$W/m" -type f -exec cat {} + >/dev/null || return 1
	(cd "$W/m" && find . -type f | sort | xargs -d '\n' sha256sum) >"$W/n.sums"
	(cd "$W/n.ref" && find . -type f ! -name secrets.enc ! -name manifest.json.minisig | sort |
		xargs -d '\n' sha256sum) >"$W/n.refsums"
	diff "$W/n.refsums" "$W/n.sums" || fail "mounted view differs from unpack" || return 1
	run "$B/appkg-mount" -u "$W/m" && expect_rc 0 || return 1
	cmp "$W/n.appkg" "$W/n.orig" || return 1
	# a plain fusermount3 -u commits too; with nothing edited nothing is written
	mount_up "$W/n.appkg" "$W/m" || return 1
	pid=$(mount_pid "$W/m")
	fusermount3 -u "$W/m" && wait_gone "$pid" && cmp "$W/n.appkg" "$W/n.orig"
}

read_only_mode() {
	make_package r 10 || return 1
	cp "$W/r.appkg" "$W/r.orig"
	mount_up -o ro "$W/r.appkg" "$W/m" || return 1
	f="$W/m/$(nth_resource "$W/r.ref" 1)"
	python3 - "$f" "$W/m" <<'EOF' || return 1
import errno, os, sys
for op in (lambda: open(sys.argv[1], "w"), lambda: os.unlink(sys.argv[1]),
           lambda: os.mkdir(sys.argv[2] + "/resources/x"),
           lambda: open(sys.argv[2] + "/resources/new.json", "w")):
    try:
        op()
        sys.exit("write allowed")
    except OSError as e:
        if e.errno != errno.EROFS:
            sys.exit("errno %d, expected EROFS" % e.errno)
EOF
	[ -r "$W/m/secrets.enc" ] && [ ! -e "$W/m/secrets.json" ] || fail "ro without password shows secrets.enc" || return 1
	run "$B/appkg-mount" -u "$W/m" && expect_rc 0 && cmp "$W/r.appkg" "$W/r.orig"
}

invalid_json_refused_and_kept() {
	make_package i 20 || return 1
	cp "$W/i.appkg" "$W/i.orig"
	bad=$(nth_resource "$W/i.ref" 3)
	mount_up --password-file "$W/pw" "$W/i.appkg" "$W/m" || return 1
	printf '{\n  "a": 1,\n  oops\n}\n' >"$W/m/$bad"
	echo '{"good": true}' >"$W/m/resources/pages/fine.json"
	run "$B/appkg-mount" -u "$W/m" && expect_rc 1 && expect_stderr "$bad: line 3" || return 1
	cmp "$W/i.appkg" "$W/i.orig" || fail "package changed" || return 1
	mountpoint -q "$W/m" && grep -q oops "$W/m/$bad" || fail "edits not kept in the mount" || return 1
	# fixed in place, the same mount commits
	echo '{"a": 2}' >"$W/m/$bad"
	run "$B/appkg-mount" -u "$W/m" && expect_rc 0 || return 1
	"$B/appkg-unpack" "$W/i.appkg" -C "$W/i.out" && grep -q '"a": 2' "$W/i.out/$bad" &&
		[ -f "$W/i.out/resources/pages/fine.json" ]
}

refused_at_plain_unmount_recovered() {
	make_package p 20 || return 1
	cp "$W/p.appkg" "$W/p.orig"
	bad=$(nth_resource "$W/p.ref" 2)
	mount_up --password-file "$W/pw" --log "$W/p.log" "$W/p.appkg" "$W/m" || return 1
	printf '{"broken": \n' >"$W/m/$bad"
	python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d["ADDED_SECRET"]="x"; json.dump(d, open(p, "w"))' "$W/m/secrets.json"
	pid=$(mount_pid "$W/m")
	fusermount3 -u "$W/m" && wait_gone "$pid" || return 1
	cmp "$W/p.appkg" "$W/p.orig" || fail "package changed" || return 1
	grep -q "$bad: line 2" "$W/p.log" && grep -q "edits kept in '$W/p.appkg.edits'" "$W/p.log" ||
		fail "log lacks the refusal" || return 1
	[ ! -e "$W/p.appkg.edits/secrets.json" ] || fail "plaintext secrets written" || return 1
	# recover: fix the file in the kept directory and pack it
	echo '{"fixed": true}' >"$W/p.appkg.edits/$bad"
	"$B/appkg-pack" --password-file "$W/pw" "$W/p.appkg.edits" -o "$W/p.appkg" &&
		"$B/appkg-unpack" --password-file "$W/pw" "$W/p.appkg" -C "$W/p.out" || return 1
	grep -q fixed "$W/p.out/$bad" && grep -q ADDED_SECRET "$W/p.out/secrets.json"
}

commit_without_unmount_and_output() {
	make_package o 20 || return 1
	cp "$W/o.appkg" "$W/o.orig"
	mount_up --password-file "$W/pw" --output "$W/o.new.appkg" "$W/o.appkg" "$W/m" || return 1
	echo '{"v": 1}' >"$W/m/resources/pages/committed.json"
	run "$B/appkg-mount" --commit "$W/m" && expect_rc 0 && mountpoint -q "$W/m" || return 1
	"$B/appkg-unpack" "$W/o.new.appkg" -C "$W/o.out1" && [ -f "$W/o.out1/resources/pages/committed.json" ] || return 1
	echo '{"v": 2}' >"$W/m/resources/pages/committed.json"
	run "$B/appkg-mount" -u "$W/m" && expect_rc 0 || return 1
	"$B/appkg-unpack" "$W/o.new.appkg" -C "$W/o.out2" && grep -q '"v": 2' "$W/o.out2/resources/pages/committed.json" &&
		cmp "$W/o.appkg" "$W/o.orig"
}

side_files_not_committed() {
	make_package s 10 --no-secrets || return 1
	mount_up "$W/s.appkg" "$W/m" || return 1
	for f in .home.json.swp home.json~ 4913 sedAbC123 '#home.json#' .#home.json notes.txt; do
		echo x >"$W/m/resources/pages/$f" || return 1
	done
	echo '{"k": 1}' >"$W/m/resources/pages/kept.json"
	run "$B/appkg-mount" -u "$W/m" && expect_rc 0 || return 1
	[ "$(tar --zstd -tf "$W/s.appkg" | grep -c 'resources/pages/')" -eq \
	  $(($(find "$W/s.ref/resources/pages" -type f | wc -l) + 1)) ] || fail "side files committed" || return 1
	run "$B/appkg-verify" "$W/s.appkg" && expect_rc 0
}

secrets_never_on_disk() {
	make_package x 20 || return 1
	canary="canary-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
	edited="edited-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
	python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d["CANARY"]=sys.argv[2]; json.dump(d, open(p,"w"), indent=2)' "$W/x.src/secrets.json" "$canary"
	"$B/appkg-pack" --kdf interactive --password-file "$W/pw" "$W/x.src" -o "$W/x.appkg" || return 1
	rm -rf "$W/x.src" "$W/x.ref"
	touch "$W/start"
	mount_up --password-file "$W/pw" --log "$W/x.log" "$W/x.appkg" "$W/m" || return 1
	grep -q "$canary" "$W/m/secrets.json" || fail "secrets.json not readable" || return 1
	vim -es -i NONE -u NONE -c "%s/$canary/$edited/" -c wq "$W/m/secrets.json" || return 1
	run "$B/appkg-mount" -u "$W/m" && expect_rc 0 || return 1
	"$B/appkg-unpack" --password-file "$W/pw" "$W/x.appkg" -C "$W/explicit" &&
		grep -q "$edited" "$W/explicit/secrets.json" || fail "edit not committed" || return 1
	rm -rf "$W/explicit"
	for v in "$canary" "$edited"; do
		if find "$W" /tmp /var/tmp -xdev -type f -newer "$W/start" 2>/dev/null |
			xargs -d '\n' grep -lF "$v" 2>/dev/null | grep .; then
			fail "plaintext secret found on disk"
			return 1
		fi
	done
}

parallel_readers_and_writer() {
	make_package q 600 --no-secrets || return 1
	mount_up "$W/q.appkg" "$W/m" || return 1
	(cd "$W/q.ref" && find resources -type f | sort | xargs -d '\n' sha256sum) >"$W/q.sums"
	for i in 1 2 3 4 5 6 7 8; do
		(cd "$W/m" && find resources -path resources/writer -prune -o -type f -print | sort |
			xargs -d '\n' sha256sum >"$W/q.read$i") &
	done
	mkdir "$W/m/resources/writer"
	for i in $(seq 1 200); do
		echo "{\"n\": $i}" >"$W/m/resources/writer/.w$i.tmp" &&
			mv "$W/m/resources/writer/.w$i.tmp" "$W/m/resources/writer/w$i.json" || return 1
	done
	wait
	for i in 1 2 3 4 5 6 7 8; do
		cmp "$W/q.sums" "$W/q.read$i" || fail "reader $i saw wrong contents" || return 1
	done
	[ "$(cat "$W/m/resources/writer/w"*.json | wc -l)" -eq 200 ] || return 1
	run "$B/appkg-mount" -u "$W/m" && expect_rc 0 || return 1
	run "$B/appkg-verify" "$W/q.appkg" && expect_rc 0 &&
		[ "$(tar --zstd -tf "$W/q.appkg" | grep -c resources/writer/)" -eq 200 ]
}

usage() {
	run "$B/appkg-mount" --help && expect_rc 0 && grep -q -- "--commit" "$W/stdout" &&
		grep -q "FUSE options" "$W/stdout" || return 1
	run "$B/appkg" mount --version && expect_rc 0 && grep -q "appkg-mount" "$W/stdout" || return 1
	run "$B/appkg-mount" && expect_rc 2 || return 1
	run "$B/appkg-mount" -u "$W" && expect_rc 2 && expect_stderr "not an appkg mount" || return 1
	echo junk >"$W/junk.appkg" && mkdir -p "$W/mj"
	run "$B/appkg-mount" "$W/junk.appkg" "$W/mj" && expect_rc 1 && expect_one_line appkg-mount &&
		! mountpoint -q "$W/mj"
}

# A resource whose frame is several MiB compressed: read in chunks (never whole), and copied
# as it is by a commit that does not touch it.
large_frame_kept_by_commit() {
	make_package lf 10 --no-secrets || return 1
	python3 -c 'import base64, json, os, sys
json.dump({"blob": base64.b64encode(os.urandom(8 << 20)).decode()}, open(sys.argv[1], "w"))' \
		"$W/lf.src/resources/pages/large.json" || return 1
	"$B/appkg-pack" "$W/lf.src" -o "$W/lf.appkg" && "$B/appkg-verify" "$W/lf.appkg" || return 1
	mount_up "$W/lf.appkg" "$W/m" || return 1
	cmp "$W/m/resources/pages/large.json" "$W/lf.src/resources/pages/large.json" || return 1
	echo '{"small": "edit"}' >"$W/m/resources/pages/small.json" || return 1
	run "$B/appkg-mount" -u "$W/m" && expect_rc 0 || return 1
	run "$B/appkg-verify" "$W/lf.appkg" && expect_rc 0 || return 1
	"$B/appkg-unpack" "$W/lf.appkg" -C "$W/lf.out" || return 1
	cmp "$W/lf.src/resources/pages/large.json" "$W/lf.out/resources/pages/large.json" &&
		[ "$(cat "$W/lf.out/resources/pages/small.json")" = '{"small": "edit"}' ]
}

t usage usage
t ordinary_tools_edit_and_commit ordinary_tools
t no_edits_byte_identical no_edits_byte_identical
t read_only_mode_erofs read_only_mode
t invalid_json_refused_edits_stay_in_mount invalid_json_refused_and_kept
t refused_at_plain_unmount_edits_recovered refused_at_plain_unmount_recovered
t commit_without_unmount_and_output commit_without_unmount_and_output
t side_files_not_committed side_files_not_committed
t secrets_never_on_disk secrets_never_on_disk
t parallel_readers_and_writer parallel_readers_and_writer
t large_frame_kept_by_commit large_frame_kept_by_commit
