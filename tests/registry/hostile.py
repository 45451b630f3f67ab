#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A small OCI registry for the tests of appkg push/pull/info (issue 14), on 127.0.0.1.

It serves the artifact of one package (--pkg, with its manifest.json given as --config) laid
out as spec §22 says, and lies on demand. The lie is chosen by the last component of the
repository name, so one server answers every case: /v2/t1/digest/manifests/1.0 serves the
artifact whose layer has one byte flipped. Repositories under push/ are a plain in-memory
registry instead, which accepts uploads (monolithic and chunked) and serves them back.

Every request is written to --log as one JSON line once it has been answered: the listener
("main", or "alt" for the second listener on 127.0.0.2), method, path, status, the request
body bytes read ("in"), the response body bytes sent ("out"), the authorization scheme it
carried ("auth"), and the lie served ("lie"). A connection that opens with a TLS handshake
is logged as {"tls_hello": true} and closed. The tests read the log with jq.

Lies (last component of the repository name):
  ok          the correct artifact
  digest      the layer with one byte flipped (same size; the descriptor keeps the true digest)
  short       the layer 100 bytes short, with a matching Content-Length
  long        the layer with 100 bytes more, with a matching Content-Length
  truncated   Content-Length of the true size, half the body, then the connection is closed
  config      a config blob whose name differs from the package's manifest.json (its
              descriptor matches it)
  arttype     an artifactType that is not appkg's
  layertype   a layer media type that is not appkg's
  mandigest   the manifest fetched by digest is another manifest (one more annotation)
  twolayers   two layers (the package twice)
  nolayers    no layer at all
  hugesize    a layer descriptor of 1 TiB (the body is the package, then the connection ends)
  baddigest   a layer digest that is a path, sha256:../../../../../../token?x= (/token?x=
              once the dot segments are resolved)
  redirfile   a blob GET redirects to file:///etc/passwd
  bigman      an OCI manifest of 5 MiB (valid JSON; a client bounds manifests at 4 MiB)
  redirloop   every blob GET redirects to the same blob with one more ?hop
  endless     the layer without Content-Length, then bytes until the client hangs up
  endlessman  the manifest without Content-Length, endless
  endlesscfg  the config blob without Content-Length, endless
  stall       half the layer, then no byte for --stall seconds
  drip        the layer 2 bytes every 0.5 s (never 30 s without a byte, done in 8 hours)
  retry       the first request of a path answers 429 (Retry-After: 1), then 503 for
              the first blob request, then the truth
  retrylong   the first manifest request answers 429 with Retry-After: 3600, then the truth
  unavailable every request of the repository answers 503
  notfound    404 for its manifests
  redirect    a blob GET answers 307 to the second listener, http://127.0.0.2:ALT/blob/D,
              which logs whether it received an Authorization header
  pages       the tags list in pages of 2 (Link: <…>; rel="next"), 6 tags in all
  pagesloop   the tags list in pages that never end (a Link to one more page each time)

Auth (--auth, for the whole server): none; basic (--user/--password); bearer: 401 with a
Bearer challenge whose realm is http://127.0.0.1:PORT/token and whose scope is
repository:REPO:pull, or repository:REPO:pull,push for POST, PUT and PATCH; the token endpoint
answers {"token": …}, asking for basic credentials first when --user is given, and a token is
good only for the scopes it was asked for (so a push needs a token with push).

With --tls CERT KEY the main listener speaks HTTPS (the second one stays plain HTTP, so a
redirect to it is a downgrade a client must refuse without --plain-http).

Usage: hostile.py --pkg PKG --config MANIFEST_JSON --log LOG --ports FILE
       [--auth none|basic|bearer] [--user U --password P] [--stall SECONDS] [--tls CERT KEY]

Under --auth bearer, two more repositories lie about auth: a repository ending in /deny
answers 401 to every token, and the token endpoint sends an endless token for a scope on a
repository ending in /endlesstoken.
FILE receives "PORT ALTPORT" once both listeners accept connections.
"""
import argparse
import base64
import hashlib
import json
import os
import secrets
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
ARTIFACT_TYPE = "application/vnd.appkg.package.v1"
CONFIG_TYPE = "application/vnd.appkg.manifest.v1+json"
LAYER_TYPE = "application/vnd.appkg.package.v1.tar+zstd"
MAX_BODY = 1 << 30

LOCK = threading.Lock()
STATE = {"hits": {}, "uploads": {}, "blobs": {}, "manifests": {}}


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def oci_manifest(config, layer, title, meta, artifact_type=ARTIFACT_TYPE, layer_type=LAYER_TYPE,
                 extra=None):
    """The OCI image manifest of spec §22 for these config and layer bytes."""
    notes = {"org.opencontainers.image.title": str(meta.get("name", ""))}
    if "version" in meta:
        notes["org.opencontainers.image.version"] = str(meta["version"])
    if "created" in meta:
        notes["org.opencontainers.image.created"] = str(meta["created"])
    if "source" in meta:
        notes["org.opencontainers.image.source"] = str(meta["source"])
    notes.update(extra or {})
    return canonical({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "artifactType": artifact_type,
        "config": {"mediaType": CONFIG_TYPE, "digest": digest_of(config), "size": len(config)},
        "layers": [{"mediaType": layer_type, "digest": digest_of(layer), "size": len(layer),
                    "annotations": {"org.opencontainers.image.title": title}}],
        "annotations": notes,
    })


class Artifact:
    """The true artifact and the lying variants, built once at start."""

    def __init__(self, pkg_path, config_path):
        with open(pkg_path, "rb") as f:
            self.layer = f.read()
        with open(config_path, "rb") as f:
            self.config = f.read()
        self.title = os.path.basename(pkg_path)
        self.meta = json.loads(self.config)
        self.manifest = oci_manifest(self.config, self.layer, self.title, self.meta)
        other = dict(self.meta)
        other["name"] = str(self.meta.get("name", "")) + "-not-this"
        self.other_config = json.dumps(other, indent=2, sort_keys=True).encode() + b"\n"
        flipped = bytearray(self.layer)
        flipped[len(flipped) // 2] ^= 0x01
        self.flipped = bytes(flipped)

    def manifest_for(self, lie):
        if lie == "config":
            return oci_manifest(self.other_config, self.layer, self.title, self.meta)
        if lie == "arttype":
            return oci_manifest(self.config, self.layer, self.title, self.meta,
                                artifact_type="application/vnd.example.other.v1")
        if lie == "layertype":
            return oci_manifest(self.config, self.layer, self.title, self.meta,
                                layer_type="application/vnd.oci.image.layer.v1.tar+gzip")
        if lie in ("twolayers", "nolayers", "hugesize", "baddigest"):
            m = json.loads(self.manifest)
            if lie == "twolayers":
                m["layers"] = m["layers"] * 2
            elif lie == "nolayers":
                m["layers"] = []
            elif lie == "hugesize":
                m["layers"][0]["size"] = 1 << 40
            else:
                m["layers"][0]["digest"] = "sha256:../../../../../../token?x="
            return canonical(m)
        if lie == "bigman":
            return oci_manifest(self.config, self.layer, self.title, self.meta,
                                extra={"dev.example.padding": "x" * (5 << 20)})
        return self.manifest


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hostile-registry/1"
    timeout = 20

    def log_message(self, fmt, *args):  # quiet: the JSON log is the record
        pass

    # --- plumbing -------------------------------------------------------------------------
    def handle(self):
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (OSError, ssl.SSLError) as e:
                self.record({"tls_failed": str(e), "srv": self.server.name})
                return
            first = b""
        else:
            try:
                first = self.connection.recv(1, socket.MSG_PEEK)
            except OSError:
                return
        if first == b"\x16":  # a TLS handshake record: this listener speaks plain HTTP
            self.record({"tls_hello": True, "srv": self.server.name})
            return
        try:
            super().handle()
        except (ConnectionError, socket.timeout, TimeoutError):
            pass

    def record(self, entry):
        line = json.dumps(entry, sort_keys=True) + "\n"
        with LOCK:
            with open(self.server.opts.log, "a") as f:
                f.write(line)

    def read_body(self):
        """The request body (Content-Length or chunked); counts it in self.inbytes."""
        data = bytearray()
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                if len(data) + size > MAX_BODY:
                    raise ConnectionError("body too large")
                data += self.rfile.read(size)
                self.rfile.readline()
        else:
            n = int(self.headers.get("Content-Length") or 0)
            if n > MAX_BODY:
                raise ConnectionError("body too large")
            while len(data) < n:
                chunk = self.rfile.read(min(1 << 20, n - len(data)))
                if not chunk:
                    break
                data += chunk
        self.inbytes += len(data)
        return bytes(data)

    def respond(self, status, body=b"", headers=None, ctype="application/json", length=None):
        self.status = status
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
            self.outbytes += len(body)

    def error(self, status, code, message, headers=None):
        body = canonical({"errors": [{"code": code, "message": message}]})
        self.respond(status, body, headers)

    def auth_scheme(self):
        value = self.headers.get("Authorization", "")
        return value.split(" ", 1)[0].lower() if value else "none"

    def dispatch(self):
        self.status, self.inbytes, self.outbytes, self.lie, self.issued = 0, 0, 0, "", ""
        url = urllib.parse.urlsplit(self.path)
        self.query = urllib.parse.parse_qs(url.query)
        body = b""
        try:
            if self.command in ("POST", "PUT", "PATCH"):
                body = self.read_body()
            if self.server.name == "alt":
                self.serve_alt(url.path)
            else:
                self.serve_main(url.path, body)
        except (BrokenPipeError, ConnectionResetError, socket.timeout, TimeoutError):
            self.close_connection = True
        finally:
            self.record({"srv": self.server.name, "method": self.command, "path": self.path,
                         "status": self.status, "in": self.inbytes, "out": self.outbytes,
                         "auth": self.auth_scheme(), "lie": self.lie, "issued": self.issued,
                         "host": self.headers.get("Host", ""), "t": round(time.time(), 3)})

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = dispatch

    # --- auth -----------------------------------------------------------------------------
    def basic_ok(self):
        o = self.server.opts
        want = "Basic " + base64.b64encode(f"{o.user}:{o.password}".encode()).decode()
        return self.headers.get("Authorization", "") == want

    def authorized(self, repo):
        o = self.server.opts
        if o.auth == "basic":
            if self.basic_ok():
                return True
            self.error(401, "UNAUTHORIZED", "authentication required",
                       {"WWW-Authenticate": 'Basic realm="hostile"'})
            return False
        if o.auth == "bearer":
            value = self.headers.get("Authorization", "")
            actions = "pull,push" if self.command in ("POST", "PUT", "PATCH") else "pull"
            granted = self.server.tokens.get(value[7:]) if value.startswith("Bearer ") else None
            if granted is not None and set(actions.split(",")) <= granted.get(repo, set()) | (
                    {"pull", "push"} if not repo else set()) and not repo.endswith("/deny"):
                return True
            if repo.endswith("/deny"):
                self.lie = "deny"
            scheme = "https" if self.server.opts.tls else "http"
            realm = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/token"
            challenge = f'Bearer realm="{realm}",service="hostile.test"'
            if repo:
                challenge += f',scope="repository:{repo}:{actions}"'
            self.error(401, "UNAUTHORIZED", "authentication required",
                       {"WWW-Authenticate": challenge})
            return False
        return True

    def serve_token(self):
        o = self.server.opts
        scope = " ".join(self.query.get("scope", []))
        if "/endlesstoken:" in scope:
            self.lie = "endlesstoken"
            self.send_endless(b'{"token":"', b"t" * 65536)
            return
        if o.user and not self.basic_ok():
            self.error(401, "UNAUTHORIZED", "bad credentials for the token",
                       {"WWW-Authenticate": 'Basic realm="hostile-token"'})
            return
        token = "tok-" + secrets.token_hex(8)
        scopes = " ".join(self.query.get("scope", []))
        granted = {}  # a token is good for the scopes it was asked for: {repo: {actions}}
        for scope in scopes.split():
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind == "repository":
                granted.setdefault(name, set()).update(actions.split(","))
        self.server.tokens[token] = granted
        self.lie = "token:" + scopes
        self.issued = token  # logged, so a test can look for it in a client's output
        self.respond(200, canonical({"token": token, "expires_in": 300}))

    # --- routing --------------------------------------------------------------------------
    def serve_main(self, path, body):
        if path == "/token":
            self.serve_token()
            return
        if path in ("/v2", "/v2/"):
            if self.authorized(""):
                self.respond(200, b"{}")
            return
        if not path.startswith("/v2/"):
            self.error(404, "NOT_FOUND", "no such path")
            return
        rest = path[4:]
        for kind in ("/manifests/", "/blobs/uploads/", "/blobs/", "/tags/list"):
            i = rest.rfind(kind)
            if i > 0:
                repo, tail = rest[:i], rest[i + len(kind):]
                break
        else:
            self.error(404, "NAME_UNKNOWN", "no such path")
            return
        if not self.authorized(repo):
            return
        if repo.startswith("push/"):
            self.serve_store(repo, kind, tail, body)
        else:
            self.serve_lie(repo, repo.rsplit("/", 1)[-1], kind, tail)

    # --- the in-memory registry under push/ -----------------------------------------------
    def serve_store(self, repo, kind, tail, body):
        st, cmd = STATE, self.command
        blobs = st["blobs"].setdefault(repo, {})
        mans = st["manifests"].setdefault(repo, {})
        if kind == "/blobs/uploads/" and cmd == "POST":
            if "digest" in self.query:
                self.finish_upload(repo, bytearray(body), self.query["digest"][0])
                return
            uid = secrets.token_hex(8)
            st["uploads"][uid] = bytearray(body)
            self.respond(202, b"", {"Location": f"/v2/{repo}/blobs/uploads/{uid}",
                                    "Docker-Upload-UUID": uid, "Range": "0-0"})
        elif kind == "/blobs/uploads/" and cmd in ("PATCH", "PUT"):
            buf = st["uploads"].get(tail)
            if buf is None:
                self.error(404, "BLOB_UPLOAD_UNKNOWN", "no such upload")
                return
            rng = self.headers.get("Content-Range")
            if cmd == "PATCH" and rng and int(rng.split("-")[0]) != len(buf):
                self.error(416, "BLOB_UPLOAD_INVALID", "range does not start at the end")
                return
            buf += body
            if cmd == "PATCH":
                self.respond(202, b"", {"Location": f"/v2/{repo}/blobs/uploads/{tail}",
                                        "Range": f"0-{len(buf) - 1}"})
            else:
                del st["uploads"][tail]
                self.finish_upload(repo, buf, self.query.get("digest", [""])[0])
        elif kind == "/blobs/" and cmd in ("GET", "HEAD"):
            data = blobs.get(tail)
            if data is None:
                self.error(404, "BLOB_UNKNOWN", "no such blob")
            else:
                self.respond(200, data, {"Docker-Content-Digest": tail},
                             "application/octet-stream")
        elif kind == "/manifests/" and cmd == "PUT":
            try:
                m = json.loads(body)
                refs = [m["config"]] + list(m["layers"])
                missing = [d["digest"] for d in refs if d["digest"] not in blobs]
            except (ValueError, KeyError, TypeError):
                self.error(400, "MANIFEST_INVALID", "not an OCI image manifest")
                return
            if missing:
                self.error(400, "MANIFEST_BLOB_UNKNOWN", "blob unknown: " + missing[0])
                return
            d = digest_of(body)
            mans[tail] = mans[d] = (body, self.headers.get("Content-Type", MANIFEST_TYPE))
            self.respond(201, b"", {"Location": f"/v2/{repo}/manifests/{d}",
                                    "Docker-Content-Digest": d})
        elif kind == "/manifests/" and cmd in ("GET", "HEAD"):
            if tail not in mans:
                self.error(404, "MANIFEST_UNKNOWN", "no such manifest")
                return
            data, ctype = mans[tail]
            self.respond(200, data, {"Docker-Content-Digest": digest_of(data)}, ctype)
        elif kind == "/tags/list" and cmd == "GET":
            tags = sorted(t for t in mans if not t.startswith("sha256:"))
            self.respond(200, canonical({"name": repo, "tags": tags}))
        else:
            self.error(405, "UNSUPPORTED", "not supported here")

    def finish_upload(self, repo, data, digest):
        if digest != digest_of(data):
            self.error(400, "DIGEST_INVALID", "digest does not match the upload")
            return
        STATE["blobs"].setdefault(repo, {})[digest] = bytes(data)
        self.respond(201, b"", {"Location": f"/v2/{repo}/blobs/{digest}",
                                "Docker-Content-Digest": digest})

    # --- the lying registry ---------------------------------------------------------------
    def first_hits(self):
        """How many times this method and path were asked before (for retry)."""
        key = (self.command, self.path)
        with LOCK:
            n = STATE["hits"].get(key, 0)
            STATE["hits"][key] = n + 1
        return n

    def serve_lie(self, repo, lie, kind, tail):
        art = self.server.art
        if self.command not in ("GET", "HEAD"):
            self.error(405, "UNSUPPORTED", "this repository is read-only")
            return
        if lie == "unavailable":
            self.lie = lie
            self.error(503, "UNAVAILABLE", "try later")
            return
        if lie == "retrylong" and kind == "/manifests/" and self.first_hits() == 0:
            self.lie = lie
            self.error(429, "TOOMANYREQUESTS", "slow down", {"Retry-After": "3600"})
            return
        if lie == "retry":
            n = self.first_hits()
            if n == 0:
                self.lie = "429"
                self.error(429, "TOOMANYREQUESTS", "slow down", {"Retry-After": "1"})
                return
            if n == 1 and kind == "/blobs/":
                self.lie = "503"
                self.error(503, "UNAVAILABLE", "try later")
                return
        if kind == "/tags/list":
            self.serve_tags(repo, lie)
            return
        if kind == "/manifests/":
            self.serve_lie_manifest(art, lie, tail)
            return
        config_digest = digest_of(art.other_config if lie == "config" else art.config)
        if tail == config_digest:
            self.serve_lie_config(art, lie)
        elif tail == digest_of(art.layer):
            self.serve_lie_layer(art, lie, tail)
        else:
            self.error(404, "BLOB_UNKNOWN", "no such blob")

    def serve_tags(self, repo, lie):
        last = self.query.get("last", [""])[0]
        if lie == "pages":
            tags = ["1.0", "1.1", "1.2", "1.3", "1.4", "latest"]
            start = tags.index(last) + 1 if last in tags else 0
            page, head = tags[start:start + 2], {}
            if start + 2 < len(tags):
                head["Link"] = f'</v2/{repo}/tags/list?n=2&last={page[-1]}>; rel="next"'
            self.lie = lie
            self.respond(200, canonical({"name": repo, "tags": page}), head)
        elif lie == "pagesloop":
            n = int(last[1:]) + 1 if last.startswith("p") else 0
            self.lie = lie
            self.respond(200, canonical({"name": repo, "tags": [f"p{n}"]}),
                         {"Link": f'</v2/{repo}/tags/list?n=1&last=p{n}>; rel="next"'})
        else:
            self.respond(200, canonical({"name": repo, "tags": ["1.0", "latest"]}))

    def serve_lie_manifest(self, art, lie, tail):
        if lie == "notfound":
            self.lie = lie
            self.error(404, "MANIFEST_UNKNOWN", "no such manifest")
            return
        manifest = art.manifest_for(lie)
        if tail.startswith("sha256:") and tail != digest_of(art.manifest_for(lie)):
            self.error(404, "MANIFEST_UNKNOWN", "no such manifest")
            return
        if lie == "mandigest" and tail.startswith("sha256:"):
            self.lie = lie
            other = oci_manifest(art.config, art.layer, art.title, art.meta,
                                 extra={"dev.example.lie": "yes"})
            self.respond(200, other, {"Docker-Content-Digest": tail}, MANIFEST_TYPE)
            return
        if lie == "endlessman" and self.command == "GET":
            self.lie = lie
            self.send_endless(b'{"schemaVersion":2,"annotations":{"x":"', b"x" * 65536)
            return
        if lie in ("config", "arttype", "layertype", "bigman", "twolayers", "nolayers", "hugesize",
                   "baddigest"):
            self.lie = lie
        self.respond(200, manifest, {"Docker-Content-Digest": digest_of(manifest)}, MANIFEST_TYPE)

    def serve_lie_config(self, art, lie):
        if lie == "endlesscfg" and self.command == "GET":
            self.lie = lie
            self.send_endless(art.config.rstrip().rstrip(b"}") + b',"pad":"', b" " * 65536)
            return
        data = art.other_config if lie == "config" else art.config
        self.respond(200, data, {"Docker-Content-Digest": digest_of(data)}, CONFIG_TYPE)

    def serve_lie_layer(self, art, lie, digest):
        data, head = art.layer, {"Docker-Content-Digest": digest}
        octet = "application/octet-stream"
        if lie == "redirect":
            self.lie = lie
            alt = self.server.alt_port
            self.respond(307, b"", {"Location": f"http://127.0.0.2:{alt}/blob/{digest}"}, None)
            return
        if lie == "redirfile":
            self.lie = lie
            self.respond(302, b"", {"Location": "file:///etc/passwd"}, None)
            return
        if lie == "redirloop":
            self.lie = lie
            hop = int(self.query.get("hop", ["0"])[0]) + 1
            where = self.path.split("?")[0] + f"?hop={hop}"
            self.respond(302, b"", {"Location": where}, None)
            return
        if self.command == "HEAD":
            self.respond(200, b"", head, octet, length=len(data))
            return
        if lie == "digest":
            self.lie = lie
            data = art.flipped
        elif lie == "short":
            self.lie = lie
            data = data[:-100]
        elif lie == "long":
            self.lie = lie
            data = data + b"\0" * 100
        elif lie == "truncated":
            self.lie = lie
            self.send_partial(data, close=True)
            return
        elif lie == "stall":
            self.lie = lie
            self.send_partial(data, close=False)
            return
        elif lie == "endless":
            self.lie = lie
            self.send_endless(data, b"\0" * 65536)
            return
        elif lie == "drip":
            self.lie = lie
            self.send_drip(data)
            return
        self.respond(200, data, head, octet)

    def send_partial(self, data, close):
        """Headers for all of data, half of it, then a closed connection or a long silence."""
        self.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        half = data[:len(data) // 2]
        self.wfile.write(half)
        self.wfile.flush()
        self.outbytes += len(half)
        if not close:  # logged now too: the full record comes only after the silence
            self.record({"srv": self.server.name, "method": self.command, "path": self.path,
                         "status": 200, "out": self.outbytes, "lie": self.lie, "stalling": True,
                         "t": round(time.time(), 3)})
            time.sleep(self.server.opts.stall)
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def send_drip(self, data):
        """All of data, 2 bytes every 0.5 s, until the client hangs up."""
        self.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.flush()
        self.record({"srv": self.server.name, "method": self.command, "path": self.path,
                     "status": 200, "lie": self.lie, "dripping": True, "t": round(time.time(), 3)})
        for i in range(0, len(data), 2):
            self.wfile.write(data[i:i + 2])
            self.wfile.flush()
            self.outbytes += len(data[i:i + 2])
            time.sleep(0.5)

    def send_endless(self, first, filler):
        """first, then filler again and again, without a length, until the client hangs up."""
        self.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        self.wfile.write(first)
        self.outbytes += len(first)
        while self.outbytes < MAX_BODY * 4:
            self.wfile.write(filler)
            self.outbytes += len(filler)

    # --- the second listener, on 127.0.0.2 ------------------------------------------------
    def serve_alt(self, path):
        art = self.server.art
        self.lie = "alt-auth" if self.headers.get("Authorization") else "alt-noauth"
        if path == "/blob/" + digest_of(art.layer):
            self.respond(200, art.layer, {}, "application/octet-stream")
        else:
            self.error(404, "BLOB_UNKNOWN", "no such blob")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls = None  # an ssl.SSLContext: the handshake then runs in the handler's thread

    def get_request(self):
        sock, addr = super().get_request()
        if self.tls:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pkg", required=True)
    p.add_argument("--config", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--ports", required=True)
    p.add_argument("--auth", choices=("none", "basic", "bearer"), default="none")
    p.add_argument("--user", default="")
    p.add_argument("--password", default="")
    p.add_argument("--stall", type=float, default=60)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    opts = p.parse_args()
    art = Artifact(opts.pkg, opts.config)
    servers = []
    for name, host in (("main", "127.0.0.1"), ("alt", "127.0.0.2")):
        s = Server((host, 0), Handler)
        s.name, s.opts, s.art, s.tokens = name, opts, art, {}
        servers.append(s)
    servers[0].alt_port = servers[1].server_address[1]
    if opts.tls:
        servers[0].tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        servers[0].tls.load_cert_chain(*opts.tls)
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    tmp = opts.ports + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{servers[0].server_address[1]} {servers[1].server_address[1]}\n")
    os.rename(tmp, opts.ports)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
