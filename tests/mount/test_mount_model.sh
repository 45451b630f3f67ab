# Mount model test: random operations on the mount and on a shadow directory agree step by
# step; after a commit and a remount the committed files still agree. MODEL_OPS and MODEL_SEED
# change the run (`make stress` runs more operations).
. "$(dirname "$0")/lib.sh"
OPS=${MODEL_OPS:-6000}
SEED=${MODEL_SEED:-1}

# The shadow without side files: what a remount of the committed package shows.
committed_view() {
	(cd "$1" && find resources -type f -name '*.json' ! -name '.*' | sort | xargs -d '\n' sha256sum)
}

model() {
	make_package mo 30 --no-secrets || return 1
	cp -r "$W/mo.ref" "$W/shadow"
	mount_up "$W/mo.appkg" "$W/m" || return 1
	python3 "$TOP/tests/mount/model.py" "$SEED" "$OPS" "$W/m" "$W/shadow" final || return 1
	run "$B/appkg-mount" -u "$W/m" && expect_rc 0 || return 1
	run "$B/appkg-verify" "$W/mo.appkg" && expect_rc 0 || return 1
	mount_up "$W/mo.appkg" "$W/m" || return 1
	committed_view "$W/shadow" >"$W/expected"
	committed_view "$W/m" >"$W/got"
	"$B/appkg-mount" -u "$W/m" || return 1
	diff "$W/expected" "$W/got" || fail "remounted package differs from the shadow"
}

t "model_${OPS}_ops_seed_$SEED" model
