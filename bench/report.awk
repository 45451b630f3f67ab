# SPDX-License-Identifier: MIT
# bench/RESULTS.md from bench/run.sh's files: META ("KEY VALUE..." lines: machine, date, one
# "corpus SIZE N AVG BYTES" and one "subset SIZE FILES TOTAL" per size) and SAMPLES ("SIZE ROW
# SIDE VALUE", SIDE a for appkg, p for the peer; seconds, bytes or KiB). One table per size:
# median (min-max) of each side, ratio of the medians (appkg / peer), the issue's target, and
# whether it is met ("n/a" where the issue sets that target for other sizes only).
# Usage: awk -f bench/report.awk META SAMPLES

function row(id, unit, rule, scope, target, what, peer) {
	nrows++
	ids[nrows] = id; units[id] = unit; rules[id] = rule; scopes[id] = " " scope " "
	targets[id] = target; whats[id] = what; peers[id] = peer
}

BEGIN {
	tar = "`tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - . \\| zstd -3 -T0`"
	row("pack", "s", "r<=1", "M L", "≤ 1.0× (must)", "pack, every check included (`appkg-pack`)", tar)
	row("threads", "s", "r<1", "M", "faster, same bytes (must)", "`appkg-pack -T N` (N = cores)", "`appkg-pack -T 1`")
	row("unpack_ext4", "s", "r<=1", "M", "≤ 1.0×", "unpack, every check included, fresh directory on disk",
		"`zstd -dc \\| tar -x`, fresh directory on disk")
	row("unpack_tmpfs", "s", "r<=1", "M", "≤ 1.0×", "the same on tmpfs", "the same on tmpfs")
	row("verify", "s", "r<=0.8", "M", "≤ 0.8×", "verify, no password (`appkg-verify`)",
		"`zstd -dc \\| sha256sum` of the tar.zst")
	row("size", "B", "r<=1.05", "M", "≤ 1.05×", "package size", "`zstd -3` of the deterministic tar")
	row("member", "s", "a<=0.001", "M", "≤ 1 ms",
		"one resource read after open (library; median of 1,000 random reads per run)", "—")
	row("cat", "s", "r<=1", "M", "≤ 1.0× (must: ≤ 1.5×)",
		"`cat` of every file through a fresh mount (package in the page cache)",
		"`zstd -dc \\| tar -x` to tmpfs + `cat` of every file")
	row("cat2", "s", "r<=0.3", "M", "≤ 0.3×", "the same, second pass", "the first pass (same mount)")
	row("acat", "s", "", "", "—", "`cat` of every file through a fresh mount", "archivemount")
	row("ready", "s", "r<=0.3", "L", "≤ 0.3×", "mount ready + `ls` of the root", "archivemount")
	row("commit_am", "s", "r<=0.1", "M", "≤ 0.1× (must)", "commit after editing one resource (`appkg-mount --commit`)",
		"archivemount write-back at unmount")
	row("commit_cp", "s", "cp", "M L", "≤ 3× or 0.2 s, whichever is more (must)", "the same commit",
		"`cp PKG NEW && sync NEW`")
	row("rss_pack", "KiB", "a<=65536", "L", "≤ 64 MiB (must)", "peak RSS of pack (GNU time %M)",
		"tar + zstd (largest process)")
	row("rss_unpack_ext4", "KiB", "a<=65536", "L", "≤ 64 MiB (must)", "peak RSS of unpack", "zstd + tar (largest process)")
	row("rss_verify", "KiB", "a<=65536", "L", "≤ 64 MiB (must)", "peak RSS of verify", "zstd + sha256sum (largest process)")
	row("rss_mount", "KiB", "r<=2", "L", "≤ 2× (must)", "peak RSS (VmHWM) of the mount daemon through a commit",
		"its RSS (VmRSS) at open")
}

FNR == NR {
	key = $1
	$1 = ""
	sub(/^ /, "")
	if (key == "corpus") { sizes[++nsizes] = $1; corpus[$1] = $0 }
	else if (key == "subset") subset[$1] = $0
	else meta[key] = $0
	next
}
{ n = ++count[$1, $2, $3]; val[$1, $2, $3, n] = $4 }
$2 == "threads" && $3 == "same" { same[$1] = $4 }

# sorted(size, id, side): sorts that side's samples into s[1..k]; returns k
function sorted(size, id, side,    k, i, j, v) {
	k = count[size, id, side] + 0
	for (i = 1; i <= k; i++) {
		v = val[size, id, side, i] + 0
		for (j = i - 1; j >= 1 && s[j] > v; j--)
			s[j + 1] = s[j]
		s[j + 1] = v
	}
	return k
}

function median(k) { return k % 2 ? s[(k + 1) / 2] : (s[k / 2] + s[k / 2 + 1]) / 2 }

# number v in the unit chosen for m (the median)
function num(v, unit, m) {
	if (unit == "B") return sprintf("%.3f", v / 1e6)
	if (unit == "KiB") return sprintf("%.1f", v / 1024)
	if (m >= 99.5) return sprintf("%.0f", v)
	if (m >= 0.9995) return sprintf("%.2f", v)
	v *= 1000
	return v >= 100 ? sprintf("%.0f", v) : v >= 10 ? sprintf("%.1f", v) : v >= 1 ? sprintf("%.2f", v) : sprintf("%.3g", v)
}

function unit_name(unit, m) { return unit == "B" ? "MB" : unit == "KiB" ? "MiB" : m >= 0.9995 ? "s" : "ms" }

# cell(size, id, side): "median unit (min–max)", sets med[side]
function cell(size, id, side,    k, u) {
	k = sorted(size, id, side)
	if (k == 0) { med[side] = ""; return "not run" }
	med[side] = median(k)
	u = units[id]
	if (k == 1) return num(med[side], u, med[side]) " " unit_name(u, med[side])
	return num(med[side], u, med[side]) " " unit_name(u, med[side]) " (" num(s[1], u, med[side]) "–" num(s[k], u, med[side]) ")"
}

function verdict(size, id, r,    ok, rule, v) {
	rule = rules[id]
	if (rule == "" || med["a"] == "") return "—"
	if (rule ~ /^r/ && r == "") return "—"
	if (rule == "cp") ok = med["a"] <= (3 * med["p"] > 0.2 ? 3 * med["p"] : 0.2)
	else if (rule ~ /^r<=/) ok = r <= substr(rule, 4) + 0
	else if (rule ~ /^r</) ok = r < substr(rule, 3) + 0
	else if (rule ~ /^a<=/) ok = med["a"] <= substr(rule, 4) + 0
	if (id == "threads") ok = ok && same[size] == 1
	v = ok ? "met" : "**not met**"
	return index(scopes[id], " " size " ") ? v : "n/a (" (ok ? "met" : "not met") ")"
}

function peer_text(size, id,    f) {
	if (id != "acat") return peers[id]
	split(subset[size], f, " ")
	if (f[2] == f[3]) return "archivemount"
	return sprintf("archivemount, **est.** from %d of %d files", f[2], f[3])
}

function table(size,    f, i, id, a, p, r, note) {
	split(corpus[size], f, " ")
	printf "\n## %s: %d resources of about %g KiB (%.1f MB on disk)\n\n", size, f[2], f[3] / 1024, f[4] / 1e6
	print "| measure | appkg: median (min–max) | peer | peer: median (min–max) | ratio | target | |"
	print "|---|---|---|---|---|---|---|"
	for (i = 1; i <= nrows; i++) {
		id = ids[i]
		a = cell(size, id, "a")
		p = id == "member" ? "—" : cell(size, id, "p")
		r = med["a"] != "" && med["p"] > 0 && id != "member" ? med["a"] / med["p"] : ""
		note = id == "threads" ? (same[size] == 1 ? ", same bytes" : ", **bytes differ**") : ""
		if (id == "commit_am" && p == "not run") p = "not run (archivemount on " size ": too slow)"
		printf "| %s | %s | %s | %s | %s | %s | %s |\n", whats[id], a, peer_text(size, id), p,
			(r == "" ? "—" : sprintf(r >= 0.1 ? "%.2f×" : "%.2g×", r)) note, targets[id], verdict(size, id, r)
	}
}

END {
	print "# appkg benchmark results"
	print ""
	print "Written by `make bench` (bench/run.sh); bench/README.md says how to read it."
	print ""
	printf "- machine: %s, %s cores, %s; load average at start %s, at end %s\n", meta["cpu"],
		meta["cores"], meta["kernel"], meta["load"], meta["loadend"]
	printf "- date: %s; appkg at %s\n", meta["date"], meta["commit"]
	printf "- %s runs per row, appkg and peer alternating; ratio = appkg median / peer median\n", meta["runs"]
	printf "- corpus: tests/tools/gen-corpus.py --seed 1 --no-secrets (sizes below); disk: %s; tmpfs: %s\n",
		meta["disk"], meta["tmpfs"]
	printf "- targets from issue 13; \"n/a\" where the issue sets that target for another size\n"
	for (i = 1; i <= nsizes; i++)
		table(sizes[i])
}
