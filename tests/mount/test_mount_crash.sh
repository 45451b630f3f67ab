# appkg-mount commits under kill -9 and a full disk: the package is always the old or the new
# one, it verifies, and no temporary file outlives the next commit.
# The crash hook is in the test builds of the tools only (make crash-tools).
APPKG_BIN=${APPKG_CRASH_BIN:?run through tests/run.sh}
. "$(dirname "$0")/lib.sh"

edit_one() { sed -i 's/^{/{"crash_test": 1,/' "$W/m/$(cd "$W/k.ref" && find resources -type f | sort | head -1)"; }

kill_during_commit() {
	make_package k 1500 --no-secrets || return 1
	cp "$W/k.appkg" "$W/k.old"
	mount_up "$W/k.appkg" "$W/m" && edit_one || return 1
	t0=$(date +%s%N)
	"$B/appkg-mount" --commit "$W/m" || return 1
	ms=$((($(date +%s%N) - t0) / 1000000 + 1)) # how long a commit takes here (valgrind: far longer)
	"$B/appkg-mount" -u "$W/m" || return 1
	cp "$W/k.appkg" "$W/k.new"
	cmp -s "$W/k.old" "$W/k.new" && fail "the edit changed nothing" && return 1
	old=0 new=0
	for i in $(seq 1 24); do
		cp "$W/k.old" "$W/k.appkg"
		mount_up "$W/k.appkg" "$W/m" && edit_one || return 1
		pid=$(mount_pid "$W/m")
		"$B/appkg-mount" --commit "$W/m" 2>/dev/null &
		delay=$(((i - 1) * ms / 23)) # spread evenly over the time a commit takes
		sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
		kill -9 "$pid"
		wait
		fusermount3 -uz "$W/m"
		if cmp -s "$W/k.appkg" "$W/k.old"; then
			old=$((old + 1))
		elif cmp -s "$W/k.appkg" "$W/k.new"; then
			new=$((new + 1))
		else
			fail "kill $i: package is neither the old nor the new one"
			return 1
		fi
		"$B/appkg-verify" "$W/k.appkg" || fail "kill $i: package does not verify" || return 1
	done
	echo "old $old, new $new (kills 0-$ms ms after the commit began)"
	[ "$old" -gt 0 ] && [ "$new" -gt 0 ] || fail "kills did not land both before and after the rename" || return 1
	# the next commit cleans what the killed ones left
	cp "$W/k.old" "$W/k.appkg"
	mount_up "$W/k.appkg" "$W/m" && edit_one && "$B/appkg-mount" -u "$W/m" || return 1
	[ "$(temps_beside "$W/k.appkg")" -eq 0 ] || fail "temporary files left: $(ls "$W")"
}

# The I/O layer's crash hook (APPKG_CRASH_AFTER, tests/README.md) in the mount daemon: a crash
# after each counted operation of a commit, until the commit completes.
crash_points() {
	[ -f "$W/k.new" ] || { make_package k 1500 --no-secrets && cp "$W/k.appkg" "$W/k.old" &&
		mount_up "$W/k.appkg" "$W/m" && edit_one && "$B/appkg-mount" -u "$W/m" &&
		cp "$W/k.appkg" "$W/k.new"; } || return 1
	n=0 old=0
	while :; do
		n=$((n + 1))
		cp "$W/k.old" "$W/k.appkg"
		APPKG_CRASH_AFTER=$n "$B/appkg-mount" "$W/k.appkg" "$W/m" && edit_one || return 1
		"$B/appkg-mount" --commit "$W/m" 2>/dev/null
		if mountpoint -q "$W/m" && ls "$W/m" >/dev/null 2>&1; then
			"$B/appkg-mount" -u "$W/m" && cmp -s "$W/k.appkg" "$W/k.new" || fail "completed commit wrong" || return 1
			break
		fi
		fusermount3 -uz "$W/m"
		if cmp -s "$W/k.appkg" "$W/k.old"; then
			old=$((old + 1))
		else
			cmp -s "$W/k.appkg" "$W/k.new" || fail "crash point $n: neither old nor new" || return 1
		fi
		"$B/appkg-verify" "$W/k.appkg" || fail "crash point $n: does not verify" || return 1
		[ $n -lt 100 ] || fail "the commit never completed" || return 1
	done
	echo "$((n - 1)) crash points, $old left the old package"
	[ $n -gt 3 ] && [ "$(temps_beside "$W/k.appkg")" -eq 0 ] || fail "too few crash points or temporaries left"
}

disk_full() {
	make_package d 100 --no-secrets || return 1
	mkdir -p "$W/small"
	if ! mount -t tmpfs -o size=4m tmpfs "$W/small" 2>/dev/null; then
		[ "${CI:-}" != true ] && [ "$(id -u)" -ne 0 ] && echo "SKIP: needs root for tmpfs" && return 0
		fail "cannot mount a tmpfs"
		return 1
	fi
	cp "$W/d.appkg" "$W/small/d.appkg" && cp "$W/d.appkg" "$W/d.orig"
	avail=$(df --output=avail -B1 "$W/small" | tail -1)
	fallocate -l $((avail - 64 * 1024)) "$W/small/filler" || { umount "$W/small"; return 1; }
	mount_up "$W/small/d.appkg" "$W/m" || { umount "$W/small"; return 1; }
	python3 -c 'import base64,os,sys; open(sys.argv[1],"w").write("{\"blob\": \"%s\"}" % base64.b64encode(os.urandom(600000)).decode())' "$W/m/resources/pages/big.json"
	run "$B/appkg-mount" -u "$W/m"
	ok=1
	expect_rc 4 && expect_stderr "o space left on device" || ok=0
	cmp "$W/small/d.appkg" "$W/d.orig" || ok=0
	[ "$(temps_beside "$W/small/d.appkg")" -eq 0 ] || { ok=0; echo "temporary file left"; }
	mountpoint -q "$W/m" || { ok=0; echo "mount gone after a failed commit"; }
	rm -f "$W/small/filler"
	[ $ok = 1 ] && run "$B/appkg-mount" -u "$W/m" && expect_rc 0 || ok=0
	[ $ok = 1 ] && "$B/appkg-verify" "$W/small/d.appkg" || ok=0
	fusermount3 -uz "$W/m" 2>/dev/null
	umount "$W/small"
	[ $ok = 1 ]
}

t kill_9_during_commit_old_or_new kill_during_commit
t crash_point_in_every_commit_operation crash_points
t disk_full_during_commit_exit_4 disk_full
