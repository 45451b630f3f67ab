# Sourced by manifestdiff.sh and readerdiff.sh: format/*.c of commit $REV and of the work tree,
# each built as a shared object with ASan and UBSan ($out/old.so, $out/new.so); $1 adds flags.
build_old_and_new() {
	mkdir "$out/old"
	for f in $(git ls-tree --name-only "$REV" format/); do
		git show "$REV:$f" >"$out/old/$(basename "$f")"
	done
	flags="-std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -O1 -g -fPIC -shared -Wl,-Bsymbolic $1
		-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
		-Iinclude"
	libs="$(pkg-config --libs libzstd jansson libsodium libcurl) -lunistring -lpthread"
	# shellcheck disable=SC2086
	gcc $flags -I"$out/old" "$out"/old/*.c $libs -o "$out/old.so"
	# shellcheck disable=SC2086
	gcc $flags -Iformat format/*.c $libs -o "$out/new.so"
}
