# SPDX-License-Identifier: MIT
# Helpers for the registry tests (issue 14), on top of the CLI test library: a real registry
# (Debian's docker-registry, the CNCF distribution registry) started on 127.0.0.1 on a free port
# with a temporary config and storage directory, with or without htpasswd basic auth and TLS
# from a throw-away CA; the hostile test registry (hostile.py); packages to push. Every server
# started here is stopped when the test file exits. Without docker-registry, htpasswd, openssl,
# curl or the client the tests are skipped, except in CI (CI=true) where that is a failure.
. "$(dirname "$0")/../cli/lib.sh"
REG_PIDS=
trap 'registry_stop_all; final_reports; chmod -R u+w "$W" 2>/dev/null; rm -rf "$W"' EXIT
export SOURCE_DATE_EPOCH=1767225600
# No credentials and no proxy of the user's: each test says which it uses.
export DOCKER_CONFIG="$W/docker-none" HOME="$W/home"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
mkdir -p "$HOME"
HERE=$(cd "$(dirname "$0")" && pwd)

# registry_need SUITE: skip (or, in CI, fail) the whole file when something it needs is missing.
registry_need() {
	missing=
	for p in docker-registry htpasswd openssl curl python3 jq zstd tar; do
		command -v "$p" >/dev/null || missing="$missing $p"
	done
	for p in appkg-push appkg-pull appkg-info; do
		[ -x "$B/$p" ] || missing="$missing $B/$p"
	done
	[ -z "$missing" ] && return 0
	if [ "${CI:-}" = true ]; then
		echo "FAIL: $1: missing$missing"
		exit 1
	fi
	echo "SKIP: $1: missing$missing"
	exit 0
}

registry_stop_all() {
	for p in $REG_PIDS; do kill "$p" 2>/dev/null; done
	for p in $REG_PIDS; do wait "$p" 2>/dev/null; done
	REG_PIDS=
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# make_ca DIR: DIR/ca.pem, a throw-away CA, and DIR/server.pem and DIR/server.key, a certificate
# it signed for 127.0.0.1 and localhost (subjectAltName). EC keys: fast to make.
make_ca() {
	mkdir -p "$1" && (
		cd "$1" &&
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
				-subj "/CN=appkg test CA" -keyout ca.key -out ca.pem &&
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
				-subj "/CN=localhost" -keyout server.key -out server.csr &&
			printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >ext &&
			openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
				-extfile ext -out server.pem
	) >"$W/.openssl" 2>&1 || { cat "$W/.openssl"; return 1; }
}

# registry_start NAME [--auth USER PASSWORD] [--tls CADIR]: docker-registry serving from
# $W/NAME, listening on 127.0.0.1 on a free port. Sets REG_HOST (127.0.0.1:PORT), REG_URL
# (http:// or https://), REG_LOG (its log, access lines included) and REG_CURL (curl options
# that reach it: the CA, the credentials).
registry_start() {
	name=$1
	shift
	d=$W/$name auth= tls=
	REG_CURL="-sS"
	while [ $# -gt 0 ]; do
		case $1 in
		--auth) auth="$2:$3" && shift 2 ;;
		--tls) tls=$2 && shift ;;
		esac
		shift
	done
	mkdir -p "$d/storage" || return 1
	REG_LOG=$d/log
	tries=0
	while [ $tries -lt 3 ]; do
		tries=$((tries + 1))
		port=$(free_port) || return 1
		REG_HOST=127.0.0.1:$port REG_URL=http://127.0.0.1:$port
		{
			echo "version: 0.1"
			echo "log: {level: info, formatter: text, accesslog: {disabled: false}}"
			echo "storage: {filesystem: {rootdirectory: $d/storage}, delete: {enabled: true}}"
			echo "http:"
			echo "  addr: 127.0.0.1:$port"
			echo "  secret: appkg-test-secret"
			if [ -n "$tls" ]; then
				echo "  tls: {certificate: $tls/server.pem, key: $tls/server.key}"
				REG_URL=https://127.0.0.1:$port
			fi
			if [ -n "$auth" ]; then
				echo "auth: {htpasswd: {realm: appkg-test, path: $d/htpasswd}}"
			fi
		} >"$d/config.yml"
		if [ -n "$auth" ]; then
			htpasswd -Bbn "${auth%%:*}" "${auth#*:}" >"$d/htpasswd" 2>/dev/null || return 1
		fi
		REG_CURL="-sS"
		[ -n "$tls" ] && REG_CURL="$REG_CURL --cacert $tls/ca.pem"
		: >"$REG_LOG"
		docker-registry serve "$d/config.yml" >>"$REG_LOG" 2>&1 &
		pid=$!
		REG_PIDS="$REG_PIDS $pid"
		i=0
		while [ $i -lt 100 ] && kill -0 "$pid" 2>/dev/null; do
			code=$(curl $REG_CURL -o /dev/null -w '%{http_code}' "$REG_URL/v2/" 2>/dev/null)
			case $code in 200 | 401)
				[ -n "$auth" ] && REG_CURL="$REG_CURL -u $auth"
				return 0 ;;
			esac
			i=$((i + 1))
			sleep 0.1
		done
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	echo "docker-registry did not start:"
	tail -5 "$REG_LOG"
	return 1
}

# access_lines METHOD PATTERN: the registry's access log lines of METHOD whose path matches
# PATTERN (an extended regex), since the last access_mark.
access_mark() { REG_MARK=$(wc -l <"$REG_LOG"); }
access_lines() {
	tail -n +$((REG_MARK + 1)) "$REG_LOG" | grep -E "\"$1 /v2/[^ ]*$2[^ ]* HTTP/[0-9.]+\" [0-9]+ "
}

# access_bytes: the response body bytes the registry's access log counts since access_mark.
access_bytes() {
	tail -n +$((REG_MARK + 1)) "$REG_LOG" |
		sed -nE 's/.*"[A-Z]+ [^ ]+ HTTP\/[0-9.]+" [0-9]+ ([0-9]+) .*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}

# hostile_start NAME PKG [hostile.py options]: the hostile registry serving PKG's artifact.
# Sets H_HOST (127.0.0.1:PORT), H_ALT (the second listener's port on 127.0.0.2) and H_LOG.
hostile_start() {
	name=$1 pkg=$2
	shift 2
	mkdir -p "$W/$name" && H_LOG=$W/$name/log && : >"$H_LOG" || return 1
	pkg_config "$pkg" "$W/$name/config.json" || return 1
	python3 "$HERE/hostile.py" --pkg "$pkg" --config "$W/$name/config.json" --log "$H_LOG" \
		--ports "$W/$name/ports" "$@" 2>"$W/$name/stderr" &
	REG_PIDS="$REG_PIDS $!"
	i=0
	while [ ! -s "$W/$name/ports" ]; do
		i=$((i + 1))
		[ $i -lt 100 ] && kill -0 $! 2>/dev/null || { cat "$W/$name/stderr"; return 1; }
		sleep 0.05
	done
	read -r port H_ALT <"$W/$name/ports"
	H_HOST=127.0.0.1:$port
}

# hlog LOG JQ_FILTER: the entries of a hostile log (one JSON object a line) through jq -c.
# hlog_mark LOG, then hlog_since LOG JQ_FILTER: the same over the entries added since the mark.
hlog() { jq -c "$2" "$1"; }
hlog_mark() { H_MARK=$(wc -l <"$1"); }
hlog_since() { tail -n +$((H_MARK + 1)) "$1" | jq -c "$2"; }

# pkg_config PKG OUT: the exact bytes of PKG's manifest.json (the artifact's config blob).
pkg_config() {
	zstd -dcq "$1" | tar -xOf - manifest.json >"$2"
}

# make_pkg NAME N VERSION [KB_OF_NOISE]: $W/NAME.appkg packed from a corpus of N resources
# whose manifest has VERSION, plus a resource of random base64 text of about KB kilobytes
# (which zstd cannot shrink much) when given.
make_pkg() {
	corpus "$W/$1.src" "$2" plain --no-secrets || return 1
	jq --arg v "$3" '. + {version: $v}' "$W/$1.src/manifest.json" >"$W/$1.m" &&
		mv "$W/$1.m" "$W/$1.src/manifest.json" || return 1
	if [ -n "${4:-}" ]; then
		python3 -c 'import base64, json, os, sys
json.dump({"name": "noise", "data": base64.b64encode(os.urandom(int(sys.argv[1]) * 768)).decode()},
          open(sys.argv[2], "w"))' "$4" "$W/$1.src/resources/datasources/noise.json" || return 1
	fi
	"$B/appkg-pack" -q "$W/$1.src" -o "$W/$1.appkg" >"$W/.pack" 2>&1 || { cat "$W/.pack"; return 1; }
}

# listing DIR: the names in DIR, one a line, dot files included.
listing() { ls -A "$1"; }

# elapsed_since T0: whole seconds since T0 (date +%s).
elapsed_since() { echo $(($(date +%s) - $1)); }

# sha256_of FILE: sha256:HEX, an OCI digest.
sha256_of() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }

# curl_blob_push BASE_URL REPO FILE: FILE uploaded by plain curl as the distribution spec says
# (POST an upload, then PUT it whole with ?digest=), with the options in $REG_CURL.
curl_blob_push() {
	dg=$(sha256_of "$3")
	loc=$(curl $REG_CURL -f -X POST -D - -o /dev/null "$1/v2/$2/blobs/uploads/" |
		tr -d '\r' | sed -n 's/^[Ll]ocation: //p') || return 1
	case $loc in /*) loc=$1$loc ;; esac
	case $loc in *\?*) sep='&' ;; *) sep='?' ;; esac
	curl $REG_CURL -f -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$3" \
		-o /dev/null "$loc${sep}digest=$dg"
}

# spec_manifest PKG CONFIG: the OCI image manifest of spec §22 for PKG (its layer) and CONFIG
# (its manifest.json), written here from the spec with jq (canonical: sorted keys, compact).
spec_manifest() {
	jq -cS --arg cd "$(sha256_of "$2")" --argjson cs "$(wc -c <"$2")" \
		--arg ld "$(sha256_of "$1")" --argjson ls "$(wc -c <"$1")" --arg title "${1##*/}" '
		{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		 artifactType: "application/vnd.appkg.package.v1",
		 config: {mediaType: "application/vnd.appkg.manifest.v1+json", digest: $cd, size: $cs},
		 layers: [{mediaType: "application/vnd.appkg.package.v1.tar+zstd", digest: $ld,
		           size: $ls, annotations: {"org.opencontainers.image.title": $title}}],
		 annotations: ({"org.opencontainers.image.title": .name}
		   + (if .version then {"org.opencontainers.image.version": .version} else {} end)
		   + (if .created then {"org.opencontainers.image.created": .created} else {} end)
		   + (if .source then {"org.opencontainers.image.source": .source} else {} end))}' "$2"
}

# curl_push BASE_URL REPO TAG PKG: PKG pushed as an appkg artifact by curl alone (config blob,
# layer blob, then the manifest); prints the manifest digest the registry answered.
curl_push() {
	pkg_config "$4" "$W/.curl-config" && curl_blob_push "$1" "$2" "$W/.curl-config" &&
		curl_blob_push "$1" "$2" "$4" && spec_manifest "$4" "$W/.curl-config" | tr -d '\n' >"$W/.curl-manifest" &&
		curl $REG_CURL -f -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
			--data-binary "@$W/.curl-manifest" -D - -o /dev/null "$1/v2/$2/manifests/$3" |
		tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'
}

# curl_manifest BASE_URL REPO REF OUT: the OCI manifest, asked for with the spec's Accept header.
curl_manifest() {
	curl $REG_CURL -f -H 'Accept: application/vnd.oci.image.manifest.v1+json' -o "$4" "$1/v2/$2/manifests/$3"
}

# curl_blob BASE_URL REPO DIGEST OUT: a blob (redirects followed, as the spec allows).
curl_blob() {
	curl $REG_CURL -f -L -o "$4" "$1/v2/$2/blobs/$3"
}
